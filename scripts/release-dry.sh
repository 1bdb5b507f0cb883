#!/usr/bin/env bash
# npm run release:dry: what a release would publish, without publishing.
#   1. lerna run build: every package, in dependency order.
#   2. npm pack of every public package; scripts/check-tarballs.cjs (also
#      test:install's) checks each tarball: types, README, LICENSE, the
#      sources its maps name, no tests or benchmarks, lockstep versions,
#      publishConfig, and for @iomux/core-native what a source build needs
#      and the linux-x64 and linux-arm64 prebuilds.
#   3. `lerna publish from-package` with npm's --dry-run, in a throwaway
#      copy of the repository (lerna writes gitHead into package.json files
#      and then `git checkout`s them: never in a tree others edit) and with
#      no npm credentials, so it cannot publish even if dry-run were ignored.
#      --ignore-scripts: the only script is the root's prepare, step 1's
#      build. A package the registry does not know (or no registry) counts
#      as unpublished.
#   4. `lerna version` in that copy: every version moves in lockstep.
# Environment: KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LERNA=(node "$ROOT/node_modules/lerna/dist/cli.js")
PKG=$ROOT/packages/core-native
START=$SECONDS

say() { echo "release:dry: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[[ -e $ROOT/node_modules/lerna/dist/cli.js ]] || die "lerna is not installed (npm ci at the repository root)"
command -v git >/dev/null || die "git is needed (the copy lerna works in is a git repository)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iomux-release-dry.XXXXXX")
if [[ ${KEEP_TMP:-} == 1 ]]; then
  say "keeping $TMP"
else
  trap 'rm -rf "$TMP"' EXIT
fi

say "1/4 lerna run build"
(cd "$ROOT" && "${LERNA[@]}" run build --loglevel warn) || die "lerna run build failed"

# The prebuilds come from npm run prebuildify; one older than a native
# source would ship stale code.
shopt -s nullglob
for plat in linux-x64 linux-arm64; do
  nodes=("$PKG/prebuilds/$plat"/*.node)
  ((${#nodes[@]} > 0)) || die "no prebuild in packages/core-native/prebuilds/$plat: run npm run prebuildify first"
  newer=$(find "$PKG/native" "$PKG/binding.gyp" -newer "${nodes[0]}" -print -quit)
  [[ -z $newer ]] || die "packages/core-native/prebuilds/$plat is older than ${newer#"$ROOT"/}: run npm run prebuildify"
done
shopt -u nullglob

say "2/4 npm pack and check every tarball"
PUBLIC=$(cd "$ROOT" && "${LERNA[@]}" ls --json --loglevel silent)
mapfile -t LOCATIONS < <(node -e 'for (const p of JSON.parse(process.argv[1])) console.log(p.location)' "$PUBLIC")
((${#LOCATIONS[@]} > 0)) || die "lerna ls found no public package"
mkdir -p "$TMP/packs" "$TMP/unpacked"
for loc in "${LOCATIONS[@]}"; do
  tgz=$(cd "$loc" && npm pack --silent --pack-destination "$TMP/packs") || die "npm pack failed in ${loc#"$ROOT"/}"
  name=${tgz%.tgz}
  mkdir -p "$TMP/unpacked/$name"
  tar -xzf "$TMP/packs/$tgz" -C "$TMP/unpacked/$name"
  say "  $tgz: $(du -k "$TMP/packs/$tgz" | cut -f1) KiB"
done
node "$ROOT/scripts/check-tarballs.cjs" "$ROOT" "$TMP"/unpacked/*/package || die "a tarball is not fit to publish (above)"

say "3/4 lerna publish from-package, dry run, in a copy of the repository"
COPY=$TMP/repo
mkdir -p "$COPY"
# The packages as they are now (built, with prebuilds), without what no
# package ships and lerna does not read.
(cd "$ROOT" && tar -cf - --exclude=node_modules --exclude='*.tsbuildinfo' \
  --exclude=./packages/core-native/build --exclude='./packages/*/test' --exclude=./examples/test \
  package.json package-lock.json lerna.json LICENSE README.md packages examples) | tar -xf - -C "$COPY"
git -C "$COPY" init -q -b main
git -C "$COPY" add -A
git -C "$COPY" -c user.name=release-dry -c user.email=release-dry@localhost commit -q -m "release:dry copy"
# No npm credentials at all: an empty user and global config.
: >"$TMP/user.npmrc"
: >"$TMP/global.npmrc"
export npm_config_userconfig=$TMP/user.npmrc npm_config_globalconfig=$TMP/global.npmrc
if ! (cd "$COPY" && npm_config_dry_run=true "${LERNA[@]}" publish from-package --yes --no-private --ignore-scripts 2>&1) | tee "$TMP/publish.log"; then
  die "lerna publish from-package (dry run) failed"
fi
for loc in "${LOCATIONS[@]}"; do
  name=$(node -p 'require(process.argv[1]).name' "$loc/package.json")
  grep -q -- "- $name =>" "$TMP/publish.log" || die "lerna would not publish $name (see above; already on the registry?)"
done

say "4/4 lerna version in the copy: every version moves in lockstep"
OLD=$(node -p 'require(process.argv[1]).version' "$COPY/lerna.json")
NEW=$OLD-dry.0
(cd "$COPY" && "${LERNA[@]}" version "$NEW" --yes --no-push --force-publish --loglevel warn 2>&1) >"$TMP/version.log" ||
  { cat "$TMP/version.log" >&2; die "lerna version failed"; }
node - "$COPY" "$NEW" <<'EOF' || die "lerna version did not move every version in lockstep"
const fs = require('node:fs');
const path = require('node:path');
const [copy, version] = process.argv.slice(2);
const root = JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(copy, 'package-lock.json'), 'utf8'));
let bad = 0;
for (const ws of root.workspaces) {
  const pkg = JSON.parse(fs.readFileSync(path.join(copy, ws, 'package.json'), 'utf8'));
  const deps = Object.entries(pkg.dependencies ?? {}).filter(([d]) => d.startsWith('@iomux/'));
  const off = [pkg.version, lock.packages[ws]?.version, ...deps.map(([, r]) => r)].filter((v) => v !== version);
  if (off.length > 0) { bad++; console.error(`  ${pkg.name}: ${off.join(', ')} instead of ${version}`); }
}
const tag = require('node:child_process').execFileSync('git', ['-C', copy, 'tag', '--points-at', 'HEAD'], { encoding: 'utf8' }).trim();
if (tag !== `v${version}`) { bad++; console.error(`  tag ${JSON.stringify(tag)}, not v${version}`); }
process.exit(bad ? 1 : 0);
EOF
say "  $OLD -> $NEW in every package.json, their @iomux dependencies and package-lock.json; tag v$NEW (in the copy only)"
say "passed ($((SECONDS - START)) s): lerna publish from-package would publish ${#LOCATIONS[@]} packages at $OLD"
