/**
 * `npm run bench`: what iomux's select(), poll.poll(0) and epoll.poll(0) cost
 * per call with exactly one ready descriptor among N registered, and what
 * register+unregister costs per descriptor, next to the same syscalls looped
 * in C (bench/addon/bench.cc, the benchmarks' own addon), a raw binding call from JS, and CPython's
 * select module doing the same thing, all measured in this one run. Then
 * every @iomux/selectors backend's select(0) beside the @iomux/select call it
 * wraps (and CPython's selectors beside CPython's select), and the wake-up
 * latency of selectAsync() against Node's own 'data' events (latency.ts).
 *
 * Method: every contender is calibrated to take about BENCH_TARGET_MS
 * (default 50 ms) per repeat; the repeats (BENCH_REPEATS, default 7)
 * interleave all contenders of one scenario back to back (in a rotating
 * order), so machine noise hits them alike. Figures are medians over repeats;
 * ratios are medians of the per-repeat ratios (paired samples).
 *
 * Scenario, identical on the Node and the CPython side: one pipe holding a
 * byte (its read end is the one ready descriptor, registered last), one idle
 * pipe whose write end stays open, and N-1 dups of the idle read end.
 * select() is limited to descriptors below FD_SETSIZE, so it runs at
 * N <= 1000 only.
 *
 * The rows are built in select-raw-rows.ts and select-selector-rows.ts, the
 * machinery is in select-common.ts, and select-report.ts prints the tables.
 */
import { os } from '@iomux/core-native';
import { epoll } from '@iomux/select';
import { CPythonWorker, type CPythonInfo } from './cpython.js';
import { runLatency, type LatencyResult } from './latency.js';
import { benchAddon } from './bench-addon.js';
import {
  NS, SEL_NS, MAX_N, REG_N, REPEATS, TARGET_NS, PYTHON, LAT_SAMPLES, LAT_MAX_MS,
  openFds, leakedFds, assertEqual, log, sinkValue, calibrate, measure, mk,
  type Contender, type Kind, type SelectCtx,
} from './select-common.js';
import { rawRows } from './select-raw-rows.js';
import { selectorRows, twinRows } from './select-selector-rows.js';
import { reportRaw, reportSelectors, reportTwins, reportLatency } from './select-report.js';

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = Date.now();
  if (!(globalThis as { gc?: unknown }).gc) log('note: run with --expose-gc so collections are triggered between runs');

  // Allocate first, while descriptor numbers are low: select() needs the
  // N=1000 set below FD_SETSIZE.
  const fdsBefore = openFds();
  const [rr, rw] = os.pipe();
  os.write(rw, Buffer.from('x'));
  const [ir, iw] = os.pipe();
  const idle: number[] = [];
  for (let i = 0; i < MAX_N - 1; i++) idle.push(os.dup(ir));
  const fdsFor = (n: number): number[] => [...idle.slice(0, n - 1), rr];
  const owned = [rr, rw, ir, iw, ...idle];

  const py = new CPythonWorker(PYTHON, MAX_N, NS, REG_N, SEL_NS);
  let pyInfo: CPythonInfo | null = null;
  try {
    pyInfo = await py.info();
  } catch (e) {
    log(`CPython column disabled: ${(e as Error).message}`);
  }

  const cbench = benchAddon();
  const hasEpoll = epoll !== undefined && typeof cbench.bench_epoll_wait === 'function';
  const closers: Array<() => void> = [];
  const pyContender = (what: string, n: number, perIter = 1, kind: Kind = 'py'): Contender | undefined =>
    pyInfo ? mk(kind, (k) => py.run(what, n, k), perIter) : undefined;
  const expectOneReady = (what: string) => () => assertEqual(cbench.bench_last_result(), 1, `${what}: ready count`);
  const ctx: SelectCtx = { rr, fdsFor, idle, cbench, hasEpoll, pyInfo, closers, pyContender, expectOneReady };
  const rows = rawRows(ctx);
  const selRows = selectorRows(ctx);
  const asyncRows = twinRows(ctx);

  // ---- calibrate, then the interleaved repeats
  const measured = [...rows, ...selRows, ...asyncRows];
  const all = measured.flatMap((row) => Object.values(row.contenders).filter((c): c is Contender => c !== undefined));
  log(`calibrating ${all.length} contenders to ~${TARGET_NS / 1e6} ms per run ...`);
  for (const c of all) await calibrate(c);
  const estimate = all.length * REPEATS * (TARGET_NS / 1e9);
  log(`measuring: ${REPEATS} repeats x ${all.length} runs (~${Math.round(estimate)} s)`);
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const row of measured) {
      const cs = Object.values(row.contenders).filter((c): c is Contender => c !== undefined);
      for (let i = 0; i < cs.length; i++) await measure(cs[(i + rep) % cs.length]!);
    }
    log(`  repeat ${rep + 1}/${REPEATS} done`);
  }
  // CPython is done: let it go before the latency section.
  await py.quit();

  // ---- wake-up latency (a worker thread writes, the main thread wakes)
  log(`wake-up latency: ${LAT_SAMPLES} samples per path, interleaved in blocks (cap ${LAT_MAX_MS / 1000} s) ...`);
  const lat: LatencyResult = await runLatency({ samples: LAT_SAMPLES, maxMs: LAT_MAX_MS, log });

  // ---- report
  const out = reportRaw(rows, pyInfo);
  reportSelectors(out, selRows, pyInfo);
  reportTwins(out, asyncRows);
  reportLatency(out, lat);

  // ---- clean up: every descriptor this run opened
  for (const close of closers) close();
  for (const fd of owned) os.close(fd);
  const leaked = leakedFds(fdsBefore);
  out.push('');
  out.push(
    (leaked === null
      ? 'descriptors: /proc/self/fd unavailable, not checked'
      : leaked.length === 0
        ? `descriptors: all ${owned.length + closers.length} opened by the benchmark are closed`
        : `descriptors: LEAKED ${leaked.join(', ')}`) + `; total run time ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  process.stdout.write(out.join('\n') + '\n');
  if (sinkValue() === 0.5) log('unreachable');
  if (leaked && leaked.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
