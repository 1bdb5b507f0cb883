#!/usr/bin/env bash
# npm run test:asan: builds the addon with AddressSanitizer and UBSan into
# build/asan/ (packages/core-native/build/, which the normal tests load, is
# never touched) and runs the core-native, select and selectors tests
# against it. Exits non-zero on any test failure or sanitizer report.
#
# Environment: IOMUX_ASAN_DIR (default <repo>/build/asan), CXX (default
# g++), IOMUX_ASAN_FILES (test files to run instead of the three packages'),
# IOMUX_ASAN_NATIVE (sources instead of packages/core-native/native, e.g. a
# scratch copy with a planted bug; give it its own IOMUX_ASAN_DIR too).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PKG=$ROOT/packages/core-native
OUT=${IOMUX_ASAN_DIR:-$ROOT/build/asan}
ADDON_DIR=$OUT/core-native
LOGS=$OUT/logs
NATIVE=${IOMUX_ASAN_NATIVE:-$PKG/native}
CXX=${CXX:-g++}
SAN_FLAGS=(-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)

say() { printf 'test:asan: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The compiler's own runtime: a libasan of another version would not match
# the instrumentation.
find_runtime() { # $1: asan | ubsan
  local f
  f=$("$CXX" -print-file-name="lib$1.so" 2>/dev/null) || return 1
  [[ $f == /* && -e $f ]] || return 1
  readlink -f "$f"
}

# Installs a missing Debian/Ubuntu package: $1 package, $2 what it is for.
apt_install() {
  local sudo=()
  command -v apt-get >/dev/null || die "$2 is missing and there is no apt-get: install it with your package manager"
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "$2 is missing: install $1 (needs root)"
    sudo=(sudo)
  fi
  say "$2 is missing; installing it: apt-get install -y $1"
  "${sudo[@]}" apt-get install -y "$1" >&2 ||
    { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y "$1" >&2; } ||
    die "apt-get install -y $1 failed"
}

command -v "$CXX" >/dev/null || { [[ $CXX == g++ ]] && apt_install g++ "the C++ compiler g++"; } ||
  die "no C++ compiler '$CXX'"
# libgcc-N-dev holds the linker's libasan.so and libubsan.so for GCC N.
GCC_DEV="libgcc-$("$CXX" -dumpversion | cut -d. -f1)-dev"
LIBASAN=$(find_runtime asan) || { apt_install "$GCC_DEV" "$CXX's libasan.so"; LIBASAN=$(find_runtime asan); } ||
  die "still no libasan.so for $CXX"
LIBUBSAN=$(find_runtime ubsan) || { apt_install "$GCC_DEV" "$CXX's libubsan.so"; LIBUBSAN=$(find_runtime ubsan); } ||
  die "still no libubsan.so for $CXX"
say "runtimes: $LIBASAN $LIBUBSAN"

# The TypeScript and the compiled tests (incremental: quick when current).
say "compiling TypeScript and tests (tsc -b)"
(cd "$ROOT" && npx tsc -b && npx tsc -b tsconfig.tests.json) || die "tsc failed"

# The sanitized build: binding.gyp with the sanitizer flags added, the
# sources through a symlink (so includes and object paths stay as in the
# normal build), node-gyp's output in $ADDON_DIR/build/Release.
mkdir -p "$ADDON_DIR" "$LOGS" || die "cannot create $ADDON_DIR"
# Other sources may be older than the objects: a switch rebuilds everything.
if [[ $(cat "$ADDON_DIR/native.src" 2>/dev/null) != "$NATIVE" ]]; then
  rm -rf "$ADDON_DIR/build" && printf '%s\n' "$NATIVE" >"$ADDON_DIR/native.src" || die "cannot reset $ADDON_DIR"
fi
ln -sfn "$NATIVE" "$ADDON_DIR/native"
node "$PKG/scripts/asan-gyp.js" "$PKG" "$ADDON_DIR/binding.gyp" "${SAN_FLAGS[@]}" || die "cannot write $ADDON_DIR/binding.gyp"

GYP=$(cd "$PKG" && node -p 'require.resolve("node-gyp/bin/node-gyp.js")') || die "node-gyp not installed (npm install)"
GYP_ARGS=(--release)
[[ -z ${npm_config_nodedir:-} && -e /usr/include/node/node_api.h ]] && GYP_ARGS+=(--nodedir=/usr)
[[ -n ${npm_config_nodedir:-} ]] && GYP_ARGS+=("--nodedir=$npm_config_nodedir")
say "building the sanitized addon in $ADDON_DIR (${SAN_FLAGS[*]})"
(
  cd "$ADDON_DIR" || exit 1
  if [[ ! -e build/Makefile || binding.gyp -nt build/Makefile ]]; then
    CXX=$CXX node "$GYP" configure "${GYP_ARGS[@]}" >&2 || exit 1
  fi
  CXX=$CXX node "$GYP" build "${GYP_ARGS[@]}" -j max >&2
) || die "sanitized build failed"
ADDON=$ADDON_DIR/build/Release/iomux.node
[[ -e $ADDON ]] || die "no $ADDON after the build"
(( $(nm -D --undefined-only "$ADDON" | grep -c __asan_) > 0 )) || die "$ADDON has no ASan instrumentation"

# Everything below runs with the sanitizer runtimes preloaded (Node itself is
# not instrumented, so libasan must come first) and this addon.
rm -f "$LOGS"/asan.* "$LOGS"/probe.jsonl
export IOMUX_ADDON_DIR=$ADDON_DIR
export IOMUX_ASAN_PROBE_LOG=$LOGS/probe.jsonl
# detect_leaks=0: Node's own allocations at exit are not the addon's leaks.
# allocator_may_return_null=1: a test's huge Buffer fails as in Node, not as
# an ASan report. ASan reports go to a file per process (a child's stderr may
# be a pipe nobody prints); UBSan ignores log_path with libasan loaded, so its
# reports go to stderr (tap.out) and the process exits 1 (no recovery).
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1:log_path=$LOGS/asan:log_exe_name=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
SAN_ENV=(LD_PRELOAD="$LIBASAN $LIBUBSAN${LD_PRELOAD:+ $LD_PRELOAD}" NODE_OPTIONS="--require=$PKG/scripts/asan-probe.js${NODE_OPTIONS:+ $NODE_OPTIONS}")

# A probe first: a plain process must map this addon and libasan.
env "${SAN_ENV[@]}" node -e '
  const { binding } = require(process.argv[1]);
  const maps = require("fs").readFileSync("/proc/self/maps", "utf8");
  if (!maps.includes(process.argv[2]) || !/libasan/.test(maps) || typeof binding.select !== "function") process.exit(1);
' "$PKG" "$ADDON" || die "a probe process did not load $ADDON with libasan"
say "probe: $ADDON and libasan are mapped in a Node process"
: >"$IOMUX_ASAN_PROBE_LOG"

if [[ -n ${IOMUX_ASAN_FILES:-} ]]; then
  read -r -a FILES <<<"$IOMUX_ASAN_FILES"
else
  FILES=()
  for p in core-native select selectors; do FILES+=("$ROOT"/build/tests/packages/$p/test/*.test.js); done
fi
[[ -e ${FILES[0]} ]] || die "no compiled tests in build/tests (npm run build:tests)"

say "running ${#FILES[@]} test files under ASan+UBSan"
START=$SECONDS
# The whole TAP stream goes to tap.out; the terminal gets each file's line,
# every failure and the summary.
(cd "$ROOT" && env "${SAN_ENV[@]}" npx tap --reporter=tap --disable-coverage --timeout=600 "${FILES[@]}" 2>&1) |
  tee "$LOGS/tap.out" | grep -E '^(not ok|ok|# [{]|# time)|^ +not ok|ERROR: [A-Za-z]+Sanitizer|runtime error:'
TAP_STATUS=${PIPESTATUS[0]}
say "tap exited $TAP_STATUS after $((SECONDS - START)) s"

# tap runs each file in a child process: trust the reports, not exit codes.
fail=0
shopt -s nullglob
REPORTS=("$LOGS"/asan.*)
for r in "${REPORTS[@]}"; do
  say "sanitizer report $r:"
  cat "$r" >&2
done
OUT_HITS=$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOGS/tap.out")
say "sanitizer reports: ${#REPORTS[@]} files, $OUT_HITS lines in the output"
((${#REPORTS[@]} == 0 && OUT_HITS == 0)) || fail=1
((TAP_STATUS == 0)) || { say "tests failed"; fail=1; }

# Every process that mapped an iomux addon mapped only the sanitized one,
# and at least one process per test file did.
node -e '
  const fs = require("fs");
  const [log, addon, files] = process.argv.slice(1);
  const entries = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  let sanitized = 0;
  const wrong = [];
  for (const e of entries) {
    const addons = e.mapped.filter((m) => m.endsWith("iomux.node"));
    if (addons.some((a) => a !== addon)) wrong.push(e);
    else if (addons.length) sanitized++;
  }
  console.error(`test:asan: ${entries.length} Node processes; ${sanitized} loaded the sanitized addon; ${wrong.length} loaded another`);
  for (const e of wrong) console.error("  " + JSON.stringify(e));
  process.exit(wrong.length || sanitized < Number(files) ? 1 : 0);
' "$IOMUX_ASAN_PROBE_LOG" "$ADDON" "${#FILES[@]}" || { say "the tests did not all run the sanitized addon"; fail=1; }

if ((fail)); then
  say "FAILED (logs in $LOGS)"
  exit 1
fi
say "passed: 0 sanitizer reports, $((SECONDS)) s in all"
