#!/usr/bin/env bash
# scripts/check-readme.sh [FILE.md ...]: every ```ts block of the root
# README (or of the files named) type-checks as its own ES module, strict,
# with the repository's TypeScript against the built packages, so a snippet
# a reader copies compiles as printed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
START=$SECONDS
say() { echo "check-readme: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

FILES=("$@")
((${#FILES[@]} > 0)) || FILES=("$ROOT/README.md")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iomux-check-readme.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# The workspace links resolve @iomux/* to the packages' built types.
ln -s "$ROOT/node_modules" "$TMP/node_modules"

say "building the TypeScript (tsc -b)"
(cd "$ROOT" && npx tsc -b packages/loop) || die "tsc -b failed"

# Each block becomes snippet-<file index>-<line>.mts, named after where it starts.
COUNT=0
for i in "${!FILES[@]}"; do
  f=${FILES[$i]}
  [[ -f $f ]] || die "no such file: $f"
  n=$(awk -v dir="$TMP" -v idx="$i" '
    /^```ts[[:space:]]*$/ { out = sprintf("%s/snippet-%d-%d.mts", dir, idx, NR); n++; next }
    /^```/ && out != "" { close(out); out = ""; next }
    out != "" { print > out }
    END { print n + 0 }
  ' "$f")
  say "$f: $n TypeScript block(s)"
  COUNT=$((COUNT + n))
done
((COUNT > 0)) || die "no \`\`\`ts block found in ${FILES[*]}"

cat >"$TMP/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "strict": true, "target": "ES2022", "lib": ["ES2022", "ESNext.Disposable"], "types": ["node"],
    "module": "nodenext", "moduleResolution": "nodenext", "noEmit": true, "skipLibCheck": true
  },
  "include": ["*.mts"]
}
EOF
if ! out=$(cd "$TMP" && "$ROOT/node_modules/.bin/tsc" -p . 2>&1); then
  # Errors point at the README's own lines: snippet line k is fence line + k.
  echo "$out" | FILES="$(printf '%s\n' "${FILES[@]}")" perl -pe \
    'BEGIN { @f = split /\n/, $ENV{FILES} } s/^snippet-(\d+)-(\d+)\.mts\((\d+),(\d+)\)/"$f[$1]:" . ($2 + $3) . ":$4"/e' >&2
  die "a README snippet does not type-check"
fi
say "passed: $COUNT block(s) type-check under strict ($((SECONDS - START)) s)"
