#!/usr/bin/env bash
# Instructions per echoed message in an echo server's own process, counted by
# valgrind's callgrind: repeatable to a few instructions from one run to the
# next, where CPU times on this kind of machine swing by tens of percent. For
# comparing builds of the hot path; not part of `npm test` or `npm run bench`.
#
#   bash bench/callgrind-echo.sh [SERVER ARGS...]
#
# The server (default: the loop's protocol echo server on epoll) runs under
# callgrind with instrumentation off; echo-load drives it (64 connections of
# 64 B ping-pong, or CONNS/SIZE from the environment); instrumentation is on
# for WINDOW seconds (default 6) once WARMUP seconds (default 7) have passed,
# so the JIT has settled. The count covers user space only (the kernel's
# side of send/recv is not in it) and is divided by the server's send()
# calls in the window, one per echoed message (the C library's send(), or
# syscall() from the addon's send functions, which bypass the C library's
# wrappers on Linux). It does that RUNS times
# (default 3: now and then a run is a hundred or more instructions higher, a
# compilation or a collection inside its window, or fewer messages in it on
# a busy machine), prints each run and the median; the last profile stays in OUT (default
# bench/build/callgrind-echo.out) for callgrind_annotate.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v valgrind >/dev/null || { echo "needs valgrind (Debian: apt install valgrind)" >&2; exit 2; }
mkdir -p bench/build
[ -x bench/build/echo-load ] || "${CC:-cc}" -O2 -Wall -o bench/build/echo-load bench/native/echo-load.c
OUT=${OUT:-bench/build/callgrind-echo.out}
WARMUP=${WARMUP:-7}
WINDOW=${WINDOW:-6}
if [ $# -eq 0 ]; then set -- examples/dist/run.js loop-protocol-echo-server --port 0 --backend epoll; fi
# Messages are counted by the server's send() calls, and io_uring's one call
# per batch leaves none to count by: the server's batches make a syscall per
# socket here (IOMUX_URING=0; see packages/core-native). What the JavaScript
# does per message is the same either way.
export IOMUX_URING=0
one_run() {
  rm -f "$OUT"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" node "$@" >"$LOG" 2>/dev/null &
  VPID=$!
  for _ in $(seq 600); do grep -q '^listening on' "$LOG" && break; sleep 0.1; done
  PORT=$(grep -o 'listening on [^ ]*' "$LOG" | sed 's/.*://')
  [ -n "$PORT" ] || { echo "the server did not start" >&2; kill "$VPID"; exit 1; }
  bench/build/echo-load --port "$PORT" --conns "${CONNS:-64}" --size "${SIZE:-64}" \
    --warmup "$((WARMUP - 1))" --duration "$((WINDOW + 2))" >/dev/null &
  LPID=$!
  sleep "$WARMUP"
  callgrind_control -i on "$VPID" >/dev/null 2>&1
  sleep "$WINDOW"
  callgrind_control -i off "$VPID" >/dev/null 2>&1
  wait "$LPID" || true
  kill -INT "$VPID"
  wait "$VPID" || true
  python3 - "$OUT" "$PER" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
total = int(re.search(r'^totals: (\d+)', text, re.M).group(1))
names = {m.group(1): m.group(2) for m in re.finditer(r'^c?fn=\((\d+)\) (.+)$', text, re.M)}
calls = {}
# The addon sends and receives through syscall(2) on Linux (FastSend and
# FastRecv in native/socket.cc): those calls count by their caller.
raw = {'send': 0, 'recv': 0}
caller = ''
lines = text.split('\n')
for i, line in enumerate(lines):
    f = re.match(r'fn=\((\d+)\)', line)
    if f:
        caller = names.get(f.group(1), '?')
        continue
    m = re.match(r'cfn=\((\d+)\)', line)
    if m and i + 1 < len(lines) and lines[i + 1].startswith('calls='):
        name = names.get(m.group(1), '?')
        n = int(lines[i + 1].split('=')[1].split()[0])
        calls[name] = calls.get(name, 0) + n
        if name == 'syscall':
            if 'SendBatch' in caller or 'WholeView<true>' in caller:
                raw['send'] += n
            elif 'RecvBatch' in caller or 'WholeView<false>' in caller:
                raw['recv'] += n
sends = calls.get('send', 0) + calls.get('__send', 0) + raw['send']
recvs = calls.get('recv', 0) + calls.get('__libc_recv', 0) + raw['recv']
waits = calls.get('epoll_wait', 0)
if sends == 0:
    sys.exit('no send() calls in the window: did the load generator connect (or do the sends go through io_uring)?')
print(f'instructions {total}, send() {sends}, recv() {recvs}, epoll_wait() {waits}: {total / sends:.0f} instructions per message')
open(sys.argv[2], 'a').write(f'{total / sends}\n')
PY
}
LOG=$(mktemp)
PER=$(mktemp)
trap 'rm -f "$LOG" "$PER"' EXIT
for _ in $(seq "${RUNS:-3}"); do one_run "$@"; done
python3 -c 'import statistics, sys; xs = [float(l) for l in open(sys.argv[1])]; print(f"median of {len(xs)} runs: {statistics.median(xs):.0f} instructions per message")' "$PER"
