#!/usr/bin/env bash
# scripts/check-types.sh: the emitted .d.ts of every package compile for a
# consumer (scripts/smoke/consumer.ts) on TypeScript 5.0 (the oldest the
# READMEs promise) and on the repository's own TypeScript, with `module:
# node16` (CommonJS and ESM) and with `moduleResolution: bundler`, strict and
# without skipLibCheck (which would skip our .d.ts too).
#
# It packs the four packages with `npm pack` and installs the tarballs, with
# typescript@5.0 and @types/node@20 from the registry, into a temporary app
# (never into the repository). Install scripts are skipped there: types need
# no addon, and scripts/test-install.sh installs the addon for real.
# Environment: IOMUX_TS_FLOOR (default 5.0), KEEP_TMP=1 (keep the app).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLOOR=${IOMUX_TS_FLOOR:-5.0}
PACKAGES=(core-native select selectors loop)
START=$SECONDS

say() { echo "check-types: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iomux-check-types.XXXXXX")
if [[ ${KEEP_TMP:-} == 1 ]]; then
  say "keeping $TMP"
else
  trap 'rm -rf "$TMP"' EXIT
fi

say "building the TypeScript (tsc -b)"
(cd "$ROOT" && npx tsc -b packages/loop) || die "tsc -b failed"

mkdir -p "$TMP/packs" "$TMP/app"
for p in "${PACKAGES[@]}"; do
  (cd "$ROOT/packages/$p" && npm pack --silent --pack-destination "$TMP/packs" >/dev/null) || die "npm pack failed in packages/$p"
done

cd "$TMP/app"
echo '{ "name": "iomux-types-consumer", "private": true }' >package.json
say "installing typescript@$FLOOR, @types/node@20 and the tarballs"
npm install --silent --no-audit --no-fund --ignore-scripts \
  "typescript@$FLOOR" "@types/node@20" "$TMP"/packs/*.tgz || die "npm install failed"

# The consumer test:install type-checks too (scripts/smoke), compiled as
# CommonJS (.ts), as ESM (.mts) and for a bundler.
cp "$ROOT"/scripts/smoke/consumer.ts "$ROOT"/scripts/smoke/tsconfig.*.json . || die "cannot copy the consumer"
cp consumer.ts consumer.mts

FAILED=0
for tsc in "$TMP/app/node_modules/.bin/tsc" "$ROOT/node_modules/.bin/tsc"; do
  version=$("$tsc" -v)
  for config in node16-cjs node16-esm bundler; do
    if out=$("$tsc" -p "tsconfig.$config.json" 2>&1); then
      say "ok: $version, $config"
    else
      say "not ok: $version, $config"
      echo "$out" | head -n 40 >&2
      FAILED=$((FAILED + 1))
    fi
  done
done
((FAILED == 0)) || die "$FAILED of 6 compilations failed"
say "passed: the packed types compile on TypeScript $FLOOR and $("$ROOT/node_modules/.bin/tsc" -v | cut -d' ' -f2) ($((SECONDS - START)) s)"
