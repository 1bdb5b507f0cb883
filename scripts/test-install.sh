#!/usr/bin/env bash
# npm run test:install: the four packages as a user gets them. Packs them
# with npm pack, checks the tarballs (scripts/check-tarballs.cjs, as
# release:dry does), then installs them into fresh temporary apps:
#   A  a PATH with no compiler (only node, npm, npx, sh): installed with
#      npm's default policy (core-native's install script runs, with a
#      warning) and again with the script denied (not run); smoke.cjs and
#      smoke.mjs must load the linux-x64 prebuild each time; a copy without
#      that prebuild must fail to install and to load with a message naming
#      the platform, the prebuilds and what to install; the TypeScript
#      consumer (shared with check:types) type-checks under module node16,
#      as CommonJS and as ESM, and under moduleResolution bundler.
#   B  the system PATH (a compiler), the script approved (--strict-allow-scripts)
#      and npm_config_build_from_source=true: a source build with npm's own
#      node-gyp (the app has none); the smoke must load build/Release.
# Makes what it needs first: the prebuilds (scripts/prebuild.sh, when
# missing or older than native/) and the workspaces' dist (npm run build).
# Every step has a time limit; temporary directories are removed at exit.
#   bash scripts/test-install.sh [--no-arm64] [--keep] [--node BIN]
# --node BIN: the apps' installs and smokes run on that Node (and the npm
# on PATH runs on it too), e.g. a Node 22 or 24 from the npm registry;
# packing and building stay on the system Node.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=$ROOT/packages/core-native
SMOKE=$ROOT/scripts/smoke
TSC=$ROOT/node_modules/.bin/tsc
ARM64=1 KEEP=0 APP_NODE=$(command -v node)
while (( $# > 0 )); do
  case $1 in
    --no-arm64) ARM64=0 ;;
    --keep) KEEP=1 ;;
    --node) APP_NODE=${2:-}; shift ;;
    *) echo "usage: bash scripts/test-install.sh [--no-arm64] [--keep] [--node BIN]" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $APP_NODE ]] || { echo "test:install: --node: '$APP_NODE' is not an executable" >&2; exit 2; }
APP_NODE=$(cd "$(dirname "$APP_NODE")" && pwd)/$(basename "$APP_NODE")
NODE_VERSION=$("$APP_NODE" -p process.version)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iomux-install.XXXXXX")
cleanup() { if (( KEEP )); then echo "test:install: kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
mkdir -p "$WORK/logs" "$WORK/tarballs" "$WORK/nocc"

RESULTS=() FAILED=0 START=$SECONDS
say() { printf 'test:install: %s\n' "$*" >&2; }
summary() {
  echo
  echo "test:install summary (Node $NODE_VERSION, $((SECONDS - START)) s):"
  printf '  %s\n' "${RESULTS[@]}"
  if (( FAILED )); then echo "test:install: FAIL ($FAILED failed)"; exit 1; fi
  echo "test:install: PASS"
  exit 0
}
# step NAME LIMIT_S CMD...: runs CMD (a command or an exported function) in
# bash under `timeout`, its output in logs/NAME.log; shown on failure.
step() {
  local name=$1 limit=$2 t0=$SECONDS rc=0
  shift 2
  say "$name"
  timeout --kill-after=10 "$limit" bash -euo pipefail -c '"$@"' _ "$@" >"$WORK/logs/$name.log" 2>&1 </dev/null || rc=$?
  if (( rc == 0 )); then
    RESULTS+=("PASS  $name ($((SECONDS - t0)) s)")
    return 0
  fi
  local why="exit $rc"
  (( rc == 124 || rc == 137 )) && why="timed out after $limit s"
  RESULTS+=("FAIL  $name ($why)")
  FAILED=$((FAILED + 1))
  echo "---- $name: $why; last lines of its output:" >&2
  tail -n 40 "$WORK/logs/$name.log" >&2
  echo "----" >&2
  return 1
}
# must NAME LIMIT CMD...: a step the rest depends on; stops here when it fails.
must() { step "$@" || summary; }

# ---- what the packages need: prebuilds and dist
stale_prebuild() { # stale_prebuild ARCH: missing, or older than a native source
  local f=("$PKG"/prebuilds/linux-"$1"/*.node)
  [[ ! -e ${f[0]} ]] && return 0
  [[ -n $(find "$PKG/native" "$PKG/binding.gyp" -newer "${f[0]}" -print -quit) ]]
}
ARCHES=()
stale_prebuild x64 && ARCHES+=(x64)
(( ARM64 )) && stale_prebuild arm64 && ARCHES+=(arm64)
if (( ${#ARCHES[@]} > 0 )); then
  must prebuild 1200 bash "$ROOT/scripts/prebuild.sh" "${ARCHES[@]}"
else
  RESULTS+=("PASS  prebuild (up to date)")
fi
(( ARM64 )) || RESULTS+=("SKIP  linux-arm64 prebuild and its tarball check (--no-arm64)")
export ROOT PKG SMOKE TSC WORK ARM64 NODE_VERSION
build_all() { cd "$ROOT" && npm run build; }
export -f build_all
must build 900 build_all

# ---- pack and check the tarballs
pack() {
  cd "$ROOT"
  npm pack --ignore-scripts --pack-destination "$WORK/tarballs" \
    -w @iomux/core-native -w @iomux/select -w @iomux/selectors -w @iomux/loop
  ls -l "$WORK/tarballs"
  for p in core-native select selectors loop; do
    mkdir -p "$WORK/x/@iomux/$p"
    tar -xzf "$WORK"/tarballs/iomux-"$p"-*.tgz -C "$WORK/x/@iomux/$p" --strip-components=1
  done
}
# The prebuilds' ELF class and machine are checked there too.
check_tarballs() {
  local flags=()
  (( ARM64 )) || flags=(--no-arm64)
  node "$ROOT/scripts/check-tarballs.cjs" "${flags[@]}" "$ROOT" "$WORK"/x/@iomux/*
}
export -f pack check_tarballs
must pack 120 pack
step tarball-contents 60 check_tarballs || true

# ---- app A: no compiler on PATH
ln -s "$APP_NODE" "$WORK/nocc/node"
for t in npm npx sh; do ln -s "$(command -v "$t")" "$WORK/nocc/$t"; done
NOCC=$WORK/nocc
no_compiler() { # the PATH really has none of them
  local t
  for t in cc gcc g++ c++ clang clang++ make gmake python3 python; do
    if PATH=$NOCC command -v "$t" >/dev/null; then echo "$t is on the no-compiler PATH"; return 1; fi
  done
}
export NOCC
export -f no_compiler
must no-compiler-path 10 no_compiler

make_app() { # make_app DIR NAME: package.json with the four tarballs (+ TypeScript's node types)
  mkdir -p "$1"
  node -e '
    const [dir, name, tarballs] = process.argv.slice(1);
    const fs = require("fs"), path = require("path");
    const dep = (p) => "file:" + fs.readdirSync(tarballs).filter((f) => f.startsWith("iomux-" + p + "-")).map((f) => path.join(tarballs, f))[0];
    const pkg = { name, version: "1.0.0", private: true, dependencies: {}, devDependencies: { "@types/node": "^20.19.0" } };
    for (const p of ["core-native", "select", "selectors", "loop"]) pkg.dependencies["@iomux/" + p] = dep(p);
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  ' "$1" "$2" "$WORK/tarballs"
  cp "$SMOKE"/* "$1/"
  cp "$SMOKE/consumer.ts" "$1/consumer.mts"
}
# policy DIR true|false: core-native's install script approved or denied, as `npm install-scripts approve|deny` write it.
policy() {
  node -e '
    const fs = require("fs"), file = process.argv[1] + "/package.json";
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    pkg.allowScripts = { [pkg.dependencies["@iomux/core-native"]]: process.argv[2] === "true" };
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
  ' "$1" "$2"
}
A=$WORK/app-nocc
make_app "$A" iomux-install-nocc
inA() { cd "$A" && env PATH="$NOCC" "$@"; }
export A
export -f inA
export NPM_FLAGS='--no-audit --no-fund --prefer-offline --foreground-scripts'
# npm's default policy (npm 11): an unreviewed install script runs, with a warning.
# With no compiler it must succeed through node-gyp-build and the prebuild.
# (--foreground-scripts prints "> node scripts/build-native.js" when it runs.)
install_default() { inA npm install $NPM_FLAGS 2>&1 | tee "$WORK/install-a.log"; grep -qx "> node scripts/build-native.js" "$WORK/install-a.log"; }
export -f install_default
must A-install 300 install_default
step A-smoke-require 60 inA SMOKE_EXPECT_ADDON=prebuild SMOKE_EXPECT_NODE="$NODE_VERSION" node smoke.cjs || true
step A-smoke-import 60 inA SMOKE_EXPECT_ADDON=prebuild SMOKE_EXPECT_NODE="$NODE_VERSION" node smoke.mjs || true
# The script denied (npm install-scripts deny, or --ignore-scripts): nothing runs at install, the prebuild still loads.
policy "$A" false
install_denied() {
  rm -rf "$A/node_modules" "$A/package-lock.json"
  inA npm install $NPM_FLAGS 2>&1 | tee "$WORK/install-a2.log"
  if grep -qx "> node scripts/build-native.js" "$WORK/install-a2.log"; then echo "the denied install script ran"; return 1; fi
  inA SMOKE_EXPECT_ADDON=prebuild SMOKE_EXPECT_NODE="$NODE_VERSION" node smoke.cjs
}
export -f install_denied
step A-install-script-denied 300 install_denied || true

# Without a prebuild for this platform (a copy with linux-x64 removed), install and load must say why and what to do.
cp -r "$A/node_modules/@iomux/core-native" "$A/noprebuild"
rm -rf "$A/noprebuild/prebuilds/linux-x64" "$A/noprebuild/build"
expect_message() { # expect_message WHAT CMD...: CMD fails, its stderr names the platform, the prebuilds shipped and the tools
  local what=$1 out rc=0
  shift
  out=$("$@" 2>&1) && rc=0 || rc=$?
  printf '%s\n' "$out"
  (( rc != 0 )) || { echo "$what: exited 0 with no prebuild and no compiler"; return 1; }
  local want
  for want in "linux-x64 (glibc" "linux-arm64" "apt-get install -y g++ make python3" "npm rebuild @iomux/core-native"; do
    [[ $out == *"$want"* ]] || { echo "$what: the message lacks '$want'"; return 1; }
  done
}
export -f expect_message
step A-no-prebuild-install-message 60 expect_message "install script" inA node noprebuild/scripts/build-native.js || true
step A-no-prebuild-load-message 60 expect_message "require" inA node -e 'require("./noprebuild")' || true

for config in node16-cjs node16-esm bundler; do
  step "A-types-$config" 180 inA "$TSC" -p "tsconfig.$config.json" || true
done

# ---- app B: a compiler on PATH, a source build through npm's own node-gyp
B=$WORK/app-source
make_app "$B" iomux-install-source
policy "$B" true
inB() { cd "$B" && env PATH="$(dirname "$APP_NODE"):$PATH" "$@"; }
export B APP_NODE
export -f inB
# Approved, and strict: an unreviewed script would fail the install.
if step B-install-from-source 600 inB npm_config_build_from_source=true npm install $NPM_FLAGS --strict-allow-scripts; then
  step B-no-node-gyp-dependency 10 test ! -e "$B/node_modules/node-gyp" || true
  step B-smoke-require 60 inB SMOKE_EXPECT_ADDON=build SMOKE_EXPECT_NODE="$NODE_VERSION" node smoke.cjs || true
  step B-smoke-import 60 inB SMOKE_EXPECT_ADDON=build SMOKE_EXPECT_NODE="$NODE_VERSION" node smoke.mjs || true
fi

summary
