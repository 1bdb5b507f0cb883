#!/usr/bin/env bash
# npm run docs: the API reference of the four packages, from their TSDoc
# comments, into docs/api/ (generated; not committed). An exported name with
# no doc comment, or a broken {@link}, is an error (typedoc.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/typedoc ]; then
  echo "docs: typedoc is not installed; run npm ci first" >&2
  exit 1
fi

start=$(date +%s)
rm -rf docs/api
# One program over every package's src/ (docs/tsconfig.json maps @iomux/* to
# source), so a class re-exported by several packages is documented once.
if ! node_modules/.bin/typedoc --options typedoc.json "$@"; then
  echo "docs: typedoc failed; every exported name needs a /** doc comment */ (see the warnings above)" >&2
  exit 1
fi
echo "docs: API reference in docs/api/index.html ($(( $(date +%s) - start ))s)"
