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
 */
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import { binding, os, FD_SETSIZE } from '@iomux/core-native';
import { select, selectAsync, poll, epoll, kqueue, kevent, devpoll, POLLIN, EPOLLIN as EPOLLIN_OR_UNDEFINED, KQ_FILTER_READ, type Epoll } from '@iomux/select';
import {
  DefaultSelector,
  EpollSelector,
  KqueueSelector,
  PollSelector,
  SelectSelector,
  EVENT_READ,
  type BaseSelector,
} from '@iomux/selectors';
import { CPythonWorker, type CPythonInfo } from './cpython.js';
import { runLatency, stats, type LatencyResult } from './latency.js';
import { envNumber } from './env.js';
import { benchAddon } from './bench-addon.js';

// ---------------------------------------------------------------- settings

const NS = [1, 100, 1000, 10000] as const;
/** N for the selectors table (each must be in NS: CPython's raw calls exist for NS only). */
const SEL_NS = [1, 1000] as const;
const MAX_N = 10000;
/** register+unregister is measured over this many descriptors per iteration. */
const REG_N = 1000;
const REPEATS = Math.max(1, Math.round(envNumber('BENCH_REPEATS', 7)));
const TARGET_NS = envNumber('BENCH_TARGET_MS', 50) * 1e6;
/** Calibration stops growing the iteration count once a run takes this long. */
const CALIBRATE_NS = Math.min(10e6, TARGET_NS / 4);
const PYTHON = process.env.BENCH_PYTHON ?? 'python3';
/** Wake-up latency: samples per path, and a cap on the whole section. */
const LAT_SAMPLES = Math.max(1, Math.round(envNumber('BENCH_LATENCY_SAMPLES', 2000)));
const LAT_MAX_MS = envNumber('BENCH_LATENCY_MAX_S', 60) * 1000;
/** CPython's epoll.poll() default (maxevents=-1 means FD_SETSIZE - 1). */
const MAXEVENTS = FD_SETSIZE - 1;
/** Linux ABI values (<sys/epoll.h>); Python's select module does not export them. */
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;

/** EPOLLIN where the platform has epoll (only used there). */
const EPOLLIN = EPOLLIN_OR_UNDEFINED ?? 0;

function newEpoll(): Epoll {
  if (epoll === undefined) throw new Error('epoll is not available on this platform');
  return epoll();
}

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});
const hrnow = process.hrtime.bigint;

// ---------------------------------------------------------------- helpers

/** fd -> what it points at, or null where /proc is missing. */
function openFds(): Map<number, string> | null {
  let names: string[];
  try {
    names = fs.readdirSync('/proc/self/fd');
  } catch {
    return null;
  }
  const m = new Map<number, string>();
  for (const name of names) {
    try {
      m.set(Number(name), fs.readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the directory handle readdirSync used, already closed
    }
  }
  return m;
}

/**
 * Descriptors open now that were not open at `before`. Node itself keeps a
 * /dev/null open after its first child_process spawn (libuv), so that one is
 * not counted against the benchmark.
 */
function leakedFds(before: Map<number, string> | null): string[] | null {
  const after = openFds();
  if (!before || !after) return null;
  const leaked: string[] = [];
  for (const [fd, target] of after) {
    if (before.get(fd) !== target && target !== '/dev/null') leaked.push(`${fd} -> ${target}`);
  }
  return leaked;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function assertEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`scenario check failed for ${what}: got ${a}, expected ${e}`);
}

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

/** Defeats dead-code elimination of results; printed nowhere. */
let sink = 0;

// ---------------------------------------------------------------- contenders

/**
 * Table columns: c, raw, iomux, py. Selectors table: selraw (the @iomux/select
 * call), sel (the selector), pyraw, pysel. Other keys are breakdown-only.
 */
type Kind =
  | 'c' | 'raw' | 'iomux' | 'py' | 'noop' | 'c0' | 'c1' | 'once' | 'arg' | 'argc' | 'raw256' | 'rawg'
  | 'selraw' | 'sel' | 'pyraw' | 'pysel' | 'inner' | 'inner0' | 'ready' | 'sync0' | 'twin';

interface Contender {
  kind: Kind;
  /** Runs `iters` iterations; resolves to the elapsed nanoseconds. */
  run(iters: number): number | Promise<number>;
  /** Calls per iteration (REG_N for register+unregister). */
  perIter: number;
  iters: number;
  /** ns per call, one per repeat. */
  samples: number[];
  /** Checked once after calibration (throws when the scenario is wrong). */
  check?: () => void;
}

interface Row {
  label: string;
  n: string;
  contenders: Partial<Record<Kind, Contender>>;
  note?: string;
  /** Selectors table: the raw @iomux/select call the selector is compared with. */
  rawCall?: string;
}

async function calibrate(c: Contender): Promise<void> {
  let k = 1;
  for (;;) {
    const ns = await c.run(k);
    if (ns >= CALIBRATE_NS || k >= 1e8) {
      c.iters = Math.max(1, Math.round((k * TARGET_NS) / Math.max(ns, 1)));
      break;
    }
    k = ns < CALIBRATE_NS / 20 ? k * 10 : k * 2;
  }
  c.check?.();
}

async function measure(c: Contender): Promise<void> {
  const ns = await c.run(c.iters);
  c.samples.push(ns / (c.iters * c.perIter));
}

function js(run: (iters: number) => number): (iters: number) => number {
  return (iters) => {
    gc();
    return run(iters);
  };
}

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
  const rows: Row[] = [];
  const closers: Array<() => void> = [];
  const mk = (kind: Kind, run: Contender['run'], perIter = 1, check?: () => void): Contender => ({
    kind,
    run,
    perIter,
    iters: 0,
    samples: [],
    check,
  });
  const pyContender = (what: string, n: number, perIter = 1, kind: Kind = 'py'): Contender | undefined =>
    pyInfo ? mk(kind, (k) => py.run(what, n, k), perIter) : undefined;
  const expectOneReady = (what: string) => () => assertEqual(cbench.bench_last_result(), 1, `${what}: ready count`);

  const jsLoop = (body: () => number) =>
    js((k) => {
      let s = 0;
      const t0 = hrnow();
      for (let i = 0; i < k; i++) s += body();
      const t = Number(hrnow() - t0);
      sink ^= s;
      return t;
    });
  // Every JS loop below calls a function reference taken once, outside the
  // loop (except `rawg`), so none of them pays the per-call property lookups.
  const breakdownContenders = (epfd: number, out: Int32Array): Partial<Record<Kind, Contender>> => {
    const noopFn = cbench.bench_noop;
    const argFn = cbench.bench_arg_int32array;
    const argcFn = cbench.bench_arg_int32array_capi;
    const helperFn = cbench.bench_epoll_wait!;
    const onceFn = cbench.bench_epoll_wait_once!;
    const waitFn = binding.epoll_wait!;
    return {
      // bare N-API crossing: an empty native function, one argument
      noop: mk('noop', jsLoop(() => noopFn(out))),
      // args.h's checked Int32Array conversion alone, and the same check done
      // with one napi_get_typedarray_info call
      arg: mk('arg', jsLoop(() => argFn(out))),
      argc: mk('argc', jsLoop(() => argcFn(out))),
      // the C helper called from JS with 0 and with 1 iteration: the difference
      // is one epoll_wait made between JS calls rather than in a tight C loop
      c0: mk('c0', jsLoop(() => helperFn(epfd, MAXEVENTS, 0))),
      c1: mk('c1', jsLoop(() => helperFn(epfd, MAXEVENTS, 1))),
      // the cheapest possible binding: two int args, stack buffer, one syscall
      once: mk('once', jsLoop(() => onceFn(epfd, MAXEVENTS)), 1, expectOneReady('bench_epoll_wait_once')),
      // the real binding with maxevents 256 (its stack buffer) instead of 1023
      raw256: mk('raw256', jsLoop(() => waitFn(epfd, out, 256, 0))),
      // the real binding looked up on every call, as the library's compiled
      // code does (`core_native_1.binding.epoll_wait(...)`): the package's
      // re-export getter, then a property of the addon's exports object
      rawg: mk('rawg', jsLoop(() => binding.epoll_wait!(epfd, out, MAXEVENTS, 0))),
    };
  };

  // ---- epoll.poll(0)
  if (hasEpoll) {
    for (const n of NS) {
      const fds = fdsFor(n);
      const ep = newEpoll();
      closers.push(() => ep.close());
      for (const fd of fds) ep.register(fd, EPOLLIN);
      assertEqual(ep.poll(0), [[rr, EPOLLIN]], `epoll.poll(0) N=${n}`);
      const epfd = ep.fileno();
      const out = new Int32Array((binding.epoll_event_layout?.stride ?? 3) * MAXEVENTS);
      const waitFn = binding.epoll_wait!;
      assertEqual(waitFn(epfd, out, MAXEVENTS, 0), 1, `raw epoll_wait N=${n}`);
      rows.push({
        label: 'epoll.poll(0)',
        n: String(n),
        contenders: {
          c: mk('c', (k) => cbench.bench_epoll_wait!(epfd, MAXEVENTS, k), 1, expectOneReady('C epoll_wait')),
          raw: mk('raw', js((k) => {
            let s = 0;
            const t0 = hrnow();
            for (let i = 0; i < k; i++) s += waitFn(epfd, out, MAXEVENTS, 0);
            const t = Number(hrnow() - t0);
            sink ^= s;
            return t;
          })),
          iomux: mk('iomux', js((k) => {
            let s = 0;
            const t0 = hrnow();
            for (let i = 0; i < k; i++) s += ep.poll(0).length;
            const t = Number(hrnow() - t0);
            sink ^= s;
            return t;
          })),
          py: pyInfo?.epoll.includes(n) ? pyContender('epoll', n) : undefined,
          // Breakdown of the N=1 figure, interleaved with the contenders above.
          ...(n === 1 ? breakdownContenders(epfd, out) : {}),
        },
      });
    }
  }

  // ---- kqueue.control(None, n, 0): native kqueue, or the Linux emulation
  if (kqueue !== undefined) {
    for (const n of NS) {
      const fds = fdsFor(n);
      const kq = kqueue();
      closers.push(() => kq.close());
      kq.control(fds.map((fd) => kevent!(fd, KQ_FILTER_READ!)), 0, 0);
      const got = kq.control(null, n, 0).map((ev) => [ev.ident, ev.filter]);
      assertEqual(got, [[rr, KQ_FILTER_READ]], `kqueue.control(None, ${n}, 0)`);
      rows.push({
        label: kqueue.emulated ? 'kqueue.control(None, n, 0) (emulated)' : 'kqueue.control(None, n, 0)',
        n: String(n),
        contenders: {
          iomux: mk('iomux', jsLoop(() => kq.control(null, n, 0).length)),
        },
      });
    }
  }

  // ---- devpoll.poll(0): native /dev/poll, or the Linux emulation
  if (devpoll !== undefined) {
    for (const n of NS) {
      const fds = fdsFor(n);
      const dp = devpoll();
      closers.push(() => dp.close());
      for (const fd of fds) dp.register(fd, POLLIN);
      assertEqual(dp.poll(0), [[rr, POLLIN]], `devpoll.poll(0) N=${n}`);
      rows.push({
        label: 'devpoll.poll(0)',
        n: String(n),
        contenders: {
          iomux: mk('iomux', jsLoop(() => dp.poll(0).length)),
        },
      });
    }
  }

  // ---- poll.poll(0)
  for (const n of NS) {
    const fds = fdsFor(n);
    const p = poll();
    for (const fd of fds) p.register(fd, POLLIN);
    assertEqual(p.poll(0), [[rr, POLLIN]], `poll.poll(0) N=${n}`);
    const pollfds = new Int32Array(2 * n);
    fds.forEach((fd, i) => {
      pollfds[2 * i] = fd;
      pollfds[2 * i + 1] = POLLIN; // events in the low half, revents 0
    });
    const out = new Int32Array(2 * n);
    const pollFn = binding.poll;
    assertEqual(pollFn(pollfds, n, 0, out), 1, `raw poll N=${n}`);
    rows.push({
      label: 'poll.poll(0)',
      n: String(n),
      contenders: {
        c: mk('c', (k) => cbench.bench_poll(pollfds, n, k), 1, expectOneReady('C poll')),
        raw: mk('raw', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) s += pollFn(pollfds, n, 0, out);
          const t = Number(hrnow() - t0);
          sink ^= s;
          return t;
        })),
        iomux: mk('iomux', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) s += p.poll(0).length;
          const t = Number(hrnow() - t0);
          sink ^= s;
          return t;
        })),
        py: pyContender('poll', n),
      },
    });
  }

  // ---- select()
  for (const n of NS) {
    if (n > 1000) continue;
    const fds = fdsFor(n);
    if (Math.max(...fds) >= FD_SETSIZE) {
      rows.push({
        label: 'select()',
        n: String(n),
        contenders: {},
        note: `skipped: descriptors reach ${Math.max(...fds)} >= FD_SETSIZE`,
      });
      continue;
    }
    const empty: number[] = [];
    assertEqual(select(fds, empty, empty, 0), [[rr], [], []], `select() N=${n}`);
    const template = Int32Array.from(fds);
    const r = new Int32Array(n);
    const none = new Int32Array(0);
    const selectFn = binding.select;
    r.set(template);
    assertEqual(selectFn(r, none, none, 0), 1, `raw select N=${n}`);
    rows.push({
      label: 'select()',
      n: String(n),
      contenders: {
        c: mk('c', (k) => cbench.bench_select(template, k), 1, expectOneReady('C select')),
        raw: mk('raw', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            r.set(template); // select() overwrites its sets, as in C
            s += selectFn(r, none, none, 0);
          }
          const t = Number(hrnow() - t0);
          sink ^= s;
          return t;
        })),
        iomux: mk('iomux', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) s += select(fds, empty, empty, 0)[0].length;
          const t = Number(hrnow() - t0);
          sink ^= s;
          return t;
        })),
        py: pyInfo?.select.includes(n) ? pyContender('select', n) : undefined,
      },
    });
  }

  // ---- register + unregister, per descriptor
  const regFds = idle.slice(0, REG_N);
  const regArr = Int32Array.from(regFds);
  if (hasEpoll) {
    const regEp = newEpoll();
    closers.push(() => regEp.close());
    const cEpfd = binding.epoll_create1!(0);
    closers.push(() => binding.close(cEpfd));
    const ctl = binding.epoll_ctl!;
    rows.push({
      label: 'epoll register+unregister',
      n: `${REG_N} fds`,
      contenders: {
        c: mk('c', (k) => cbench.bench_epoll_ctl!(cEpfd, regArr, k), REG_N),
        raw: mk('raw', js((k) => {
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < regFds.length; j++) ctl(cEpfd, EPOLL_CTL_ADD, regFds[j]!, EPOLLIN);
            for (let j = 0; j < regFds.length; j++) ctl(cEpfd, EPOLL_CTL_DEL, regFds[j]!, 0);
          }
          return Number(hrnow() - t0);
        }), REG_N),
        iomux: mk('iomux', js((k) => {
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < regFds.length; j++) regEp.register(regFds[j]!, EPOLLIN);
            for (let j = 0; j < regFds.length; j++) regEp.unregister(regFds[j]!);
          }
          return Number(hrnow() - t0);
        }), REG_N),
        py: pyInfo?.epoll.length ? pyContender('epollreg', 0, REG_N) : undefined,
      },
    });
  }
  {
    const regP = poll();
    rows.push({
      label: 'poll register+unregister',
      n: `${REG_N} fds`,
      note: 'no syscall: poll() keeps its set in process memory, so there is no C loop to compare with',
      contenders: {
        iomux: mk('iomux', js((k) => {
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < regFds.length; j++) regP.register(regFds[j]!, POLLIN);
            for (let j = 0; j < regFds.length; j++) regP.unregister(regFds[j]!);
          }
          return Number(hrnow() - t0);
        }), REG_N),
        py: pyContender('pollreg', 0, REG_N),
      },
    });
  }

  // ---- selectors: selector.select(0) beside the @iomux/select call it wraps,
  // on the same descriptors, and CPython's selectors beside its select module
  type Backend = 'select' | 'poll' | 'epoll' | 'kqueue';
  const selRows: Row[] = [];
  const defaultBackend = DefaultSelector.backend;
  const selectorSpecs: Array<{ label: string; make: () => BaseSelector; backend: Backend; py: string }> = [
    { label: 'SelectSelector', make: () => new SelectSelector(), backend: 'select', py: 'selselect' },
    { label: 'PollSelector', make: () => new PollSelector(), backend: 'poll', py: 'selpoll' },
  ];
  if (EpollSelector !== undefined && hasEpoll) {
    const Cls = EpollSelector;
    selectorSpecs.push({ label: 'EpollSelector', make: () => new Cls(), backend: 'epoll', py: 'selepoll' });
  }
  if (KqueueSelector !== undefined) {
    const Cls = KqueueSelector;
    selectorSpecs.push({ label: 'KqueueSelector', make: () => new Cls(), backend: 'kqueue', py: 'selkqueue' });
  }
  if (defaultBackend === 'select' || defaultBackend === 'poll' || (defaultBackend === 'epoll' && hasEpoll)) {
    selectorSpecs.push({ label: `DefaultSelector (${defaultBackend})`, make: () => new DefaultSelector(), backend: defaultBackend, py: 'seldefault' });
  }
  const pyRawName: Record<Backend, string> = { select: 'select', poll: 'poll', epoll: 'epoll', kqueue: 'kqueue' };
  // CPython has no kqueue on Linux, where this runs.
  const pyHasRaw = (b: Backend, n: number): boolean =>
    pyInfo !== null && b !== 'kqueue' && (b === 'poll' || (b === 'select' ? pyInfo.select : pyInfo.epoll).includes(n));
  for (const spec of selectorSpecs) {
    for (const n of SEL_NS) {
      const fds = fdsFor(n);
      const rawCall =
        spec.backend === 'epoll' ? 'epoll.poll(0)' : spec.backend === 'poll' ? 'poll.poll(0)' : spec.backend === 'kqueue' ? 'kqueue.control(None, n, 0)' : 'select(r, [], [], 0)';
      if (spec.backend === 'select' && Math.max(...fds) >= FD_SETSIZE) {
        selRows.push({ label: spec.label, n: String(n), rawCall, contenders: {}, note: `skipped: descriptors reach ${Math.max(...fds)} >= FD_SETSIZE` });
        continue;
      }
      const sel = spec.make();
      closers.push(() => sel.close());
      for (const fd of fds) sel.register(fd, EVENT_READ);
      const got = sel.select(0);
      assertEqual(got.map(([k, e]) => [k.fd, e]), [[rr, EVENT_READ]], `${spec.label}.select(0) N=${n}`);
      let rawFn: () => number;
      if (spec.backend === 'epoll') {
        const ep = newEpoll();
        closers.push(() => ep.close());
        for (const fd of fds) ep.register(fd, EPOLLIN);
        assertEqual(ep.poll(0), [[rr, EPOLLIN]], `${rawCall} N=${n} (selectors table)`);
        rawFn = () => ep.poll(0).length;
      } else if (spec.backend === 'kqueue') {
        const kq = kqueue!();
        closers.push(() => kq.close());
        kq.control(fds.map((fd) => kevent!(fd, KQ_FILTER_READ!)), 0, 0);
        rawFn = () => kq.control(null, n, 0).length;
      } else if (spec.backend === 'poll') {
        const p = poll();
        closers.push(() => p.close());
        for (const fd of fds) p.register(fd, POLLIN);
        assertEqual(p.poll(0), [[rr, POLLIN]], `${rawCall} N=${n} (selectors table)`);
        rawFn = () => p.poll(0).length;
      } else {
        const empty: number[] = [];
        assertEqual(select(fds, empty, empty, 0), [[rr], [], []], `${rawCall} N=${n} (selectors table)`);
        rawFn = () => select(fds, empty, empty, 0)[0].length;
      }
      const contenders: Row['contenders'] = {
        selraw: mk('selraw', jsLoop(rawFn)),
        sel: mk('sel', jsLoop(() => sel.select(0).length)),
        pyraw: pyHasRaw(spec.backend, n) ? pyContender(pyRawName[spec.backend], n, 1, 'pyraw') : undefined,
        pysel: pyInfo?.selectors?.[spec.py]?.includes(n) ? pyContender(spec.py, n, 1, 'pysel') : undefined,
      };
      // Breakdown at N=1 (EpollSelector, PollSelector): the poller call exactly
      // as the selector makes it, on the selector's own poller, and the
      // selector's _ready() conversion alone on a fixed one-entry list.
      if (n === 1 && (spec.label === 'EpollSelector' || spec.label === 'PollSelector')) {
        const inside = sel as unknown as {
          _selector: { poll(timeout: number, maxevents?: number): Array<[number, number]> };
          _ready(list: Array<[number, number]>): unknown[];
        };
        const poller = inside._selector;
        const one: Array<[number, number]> = [[rr, spec.backend === 'epoll' ? EPOLLIN : POLLIN]];
        assertEqual(inside._ready(one).length, 1, `${spec.label}._ready`);
        contenders.inner = mk('inner', jsLoop(spec.backend === 'epoll' ? () => poller.poll(0, n).length : () => poller.poll(0).length));
        // epoll: the same poller without the maxevents argument (as the raw call)
        if (spec.backend === 'epoll') contenders.inner0 = mk('inner0', jsLoop(() => poller.poll(0).length));
        contenders.ready = mk('ready', jsLoop(() => inside._ready(one).length));
      }
      selRows.push({ label: spec.label, n: String(n), rawCall, contenders });
    }
  }

  // ---- promise twins with an event ready (issue 22): `await twin()` beside
  // the sync call with timeout 0, on the same object, N=1
  const asyncRows: Row[] = [];
  {
    // The twin's own promise is awaited (no then() of ours in between).
    const awaitLoop = (body: () => Promise<number | { length: number }>): Contender['run'] => async (k) => {
      gc();
      let s = 0;
      const t0 = hrnow();
      for (let i = 0; i < k; i++) {
        const r = await body();
        s += typeof r === 'number' ? r : r.length;
      }
      const t = Number(hrnow() - t0);
      sink ^= s;
      return t;
    };
    const twinRow = (label: string, sync0: () => number, twin: () => Promise<number | { length: number }>): void => {
      assertEqual(sync0(), 1, `${label}: sync call, one ready`);
      asyncRows.push({ label, n: '1', contenders: { sync0: mk('sync0', jsLoop(sync0)), twin: mk('twin', awaitLoop(twin)) } });
    };
    const one = fdsFor(1);
    if (EpollSelector !== undefined && hasEpoll) {
      const es = new EpollSelector();
      closers.push(() => es.close());
      es.register(rr, EVENT_READ);
      twinRow('EpollSelector: selectAsync() / select(0)', () => es.select(0).length, () => es.selectAsync());
      const ep = newEpoll();
      closers.push(() => ep.close());
      ep.register(rr, EPOLLIN);
      twinRow('epoll: pollAsync() / poll(0)', () => ep.poll(0).length, () => ep.pollAsync());
      // The wake-up through Node's loop: told not to look first, the wait arms
      // the watch, Node's loop polls, the callback looks (the loop's own path).
      const visit = (): void => {};
      const NOT_READY = { assumeNotReady: true };
      twinRow('epoll: pollEachAsync(assumeNotReady), via Node\'s loop / pollEach(0)', () => ep.pollEach(0, 1, visit),
        () => ep.pollEachAsync(null, 1, visit, NOT_READY));
      twinRow('EpollSelector: selectEachAsync(assumeNotReady), via Node\'s loop / selectEach(0)', () => es.selectEach(0, visit),
        () => es.selectEachAsync(null, visit, NOT_READY));
      twinRow('a setImmediate turn of Node\'s loop / an empty call', () => 1,
        () => new Promise((resolve) => setImmediate(resolve, 1)));
    }
    const ps = new PollSelector();
    closers.push(() => ps.close());
    ps.register(rr, EVENT_READ);
    twinRow('PollSelector: selectAsync() / select(0)', () => ps.select(0).length, () => ps.selectAsync());
    const p = poll();
    closers.push(() => p.close());
    p.register(rr, POLLIN);
    twinRow('poll: pollAsync() / poll(0)', () => p.poll(0).length, () => p.pollAsync());
    const ss = new SelectSelector();
    closers.push(() => ss.close());
    ss.register(rr, EVENT_READ);
    twinRow('SelectSelector: selectAsync() / select(0)', () => ss.select(0).length, () => ss.selectAsync());
    const none: number[] = [];
    twinRow('selectAsync(r, [], []) / select(r, [], [], 0)', () => select(one, none, none, 0)[0].length, () => selectAsync(one, none, none));
  }

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
  const fmtNs = (c: Contender | undefined): string => {
    if (!c) return '-';
    const m = median(c.samples);
    return m >= 100 ? Math.round(m).toLocaleString('en-US') : m.toFixed(1);
  };
  const ratio = (a: Contender | undefined, b: Contender | undefined): number | undefined => {
    if (!a || !b) return undefined;
    return median(a.samples.map((x, i) => x / b.samples[i]!));
  };
  const diff = (a: Contender | undefined, b: Contender | undefined): string => {
    if (!a || !b) return '-';
    const d = median(a.samples.map((x, i) => x - b.samples[i]!));
    return Math.abs(d) >= 100 ? Math.round(d).toLocaleString('en-US') : d.toFixed(0);
  };
  const fmtRatio = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(2)}x`);
  const spread = (c: Contender | undefined): number => {
    if (!c || c.samples.length < 2) return 0;
    const s = [...c.samples].sort((a, b) => a - b);
    return (s[s.length - 1]! - s[0]!) / median(s);
  };

  const cpu = nodeOs.cpus()[0]?.model ?? 'unknown CPU';
  const out: string[] = [];
  out.push(`# iomux select/poll/epoll benchmark`);
  out.push('');
  out.push(
    `node ${process.version}, CPython ${pyInfo?.version ?? 'n/a'}, ${nodeOs.type()} ${nodeOs.release()} ${nodeOs.arch()}, ` +
      `${cpu} x${nodeOs.cpus().length}; median of ${REPEATS} repeats, ~${TARGET_NS / 1e6} ms per run; ` +
      `one ready descriptor among N; epoll maxevents ${MAXEVENTS}.`,
  );
  out.push('');
  out.push('| call | N | C loop ns | raw binding ns | raw / C | iomux ns | iomux / C | iomux - raw ns | CPython ns | CPython / C | iomux / CPython |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const notes: string[] = [];
  const noisy: string[] = [];
  for (const row of rows) {
    const { c, raw, iomux, py: cpy } = row.contenders;
    out.push(
      `| ${row.label} | ${row.n} | ${fmtNs(c)} | ${fmtNs(raw)} | ${fmtRatio(ratio(raw, c))} | ${fmtNs(iomux)} | ` +
        `${fmtRatio(ratio(iomux, c))} | ${diff(iomux, raw)} | ${fmtNs(cpy)} | ${fmtRatio(ratio(cpy, c))} | ${fmtRatio(ratio(iomux, cpy))} |`,
    );
    if (row.note) notes.push(`- ${row.label} ${row.n}: ${row.note}`);
    for (const x of [c, raw, iomux, cpy]) {
      if (x && spread(x) > 0.5) noisy.push(`${row.label} N=${row.n} ${x.kind} ${(spread(x) * 100).toFixed(0)}%`);
    }
  }
  out.push('');
  out.push('C loop: the syscall looped in C (bench/addon/bench.cc). raw binding: the addon\'s syscall function called');
  out.push('from a JS loop, no iomux JS layer. iomux: the public @iomux/select call; iomux - raw is its JS layer\'s cost per call.');
  out.push('Ratios and differences are medians of the per-repeat ratios and differences.');
  out.push(
    'CPython runs single-threaded, so the kernel skips a file refcount get/put per descriptor in poll()/select();',
  );
  out.push('Node always has helper threads, so its poll()/select() (the C loop included) pays them: CPython / C < 1 at large N.');
  if (noisy.length) notes.push(`- noisy (max-min over repeats > 50% of the median): ${noisy.join('; ')}`);
  if (notes.length) {
    out.push('');
    out.push(...notes);
  }

  // Breakdown of epoll.poll(0) at N=1: where the time above the syscall goes.
  const ep1 = rows.find((r) => r.label === 'epoll.poll(0)' && r.n === '1');
  if (ep1) {
    const k = ep1.contenders;
    const m = (c: Contender | undefined): number => (c ? median(c.samples) : NaN);
    const vsC = (c: Contender | undefined): string => fmtRatio(ratio(c, k.c));
    const line = (step: string, ns: number, r = ''): string =>
      `| ${step} | ${Number.isNaN(ns) ? '-' : ns.toFixed(0)} | ${r} |`;
    const syscallInJs = median(k.c1!.samples.map((x, i) => x - k.c0!.samples[i]!));
    out.push('');
    out.push('### epoll.poll(0), N=1: where the time goes');
    out.push('');
    out.push('| step (all measured in this run, interleaved with the epoll N=1 row) | ns/call | vs C loop |');
    out.push('|---|---:|---:|');
    out.push(line(`epoll_wait(epfd, ev, ${MAXEVENTS}, 0) in a tight C loop (bench_epoll_wait)`, m(k.c), '1.00x'));
    out.push(line('one epoll_wait made between JS calls: C helper called from JS with 1 iteration minus with 0', syscallInJs,
      `${(syscallInJs / m(k.c)).toFixed(2)}x`));
    out.push(line('minimal binding from JS: 2 int args, stack buffer, 1 epoll_wait, Number back (bench_epoll_wait_once)', m(k.once), vsC(k.once)));
    out.push(line(`raw binding.epoll_wait(epfd, out, ${MAXEVENTS}, 0) from JS`, m(k.raw), vsC(k.raw)));
    out.push(line('iomux ep.poll(0)', m(k.iomux), vsC(k.iomux)));
    if (k.py) out.push(line('CPython ep.poll(0)', m(k.py), vsC(k.py)));
    out.push('');
    out.push('| component (measured separately, same run) | ns/call |');
    out.push('|---|---:|');
    const row2 = (what: string, ns: number): string => `| ${what} | ${Number.isNaN(ns) ? '-' : ns.toFixed(0)} |`;
    out.push(row2('empty N-API call from JS, 1 argument (bench_noop)', m(k.noop)));
    out.push(row2('args.h Int32ArrayArg on `out`, above the empty call', m(k.arg) - m(k.noop)));
    out.push(row2('the same check with one napi_get_typedarray_info, above the empty call', m(k.argc) - m(k.noop)));
    out.push(row2('binding.epoll_wait heap buffer for maxevents 1023 (> 256 on the stack): maxevents 1023 minus 256', m(k.raw) - m(k.raw256)));
    out.push(row2('C helper from JS with 0 iterations (call, 3 int checks, 12 KB new/delete, 2 clock reads)', m(k.c0)));
    out.push(row2('`binding.epoll_wait` looked up per call as compiled library code does (re-export getter + addon exports lookup) minus a hoisted reference', m(k.rawg) - m(k.raw)));
    out.push('');
    const argCost = m(k.arg) - m(k.noop);
    const heapCost = m(k.raw) - m(k.raw256);
    const bindingExtra = m(k.raw) - m(k.once);
    const lookupCost = m(k.rawg) - m(k.raw);
    const jsLayer = m(k.iomux) - m(k.raw);
    out.push(
      `Above the C loop: ${(syscallInJs - m(k.c)).toFixed(0)} ns is the syscall itself running colder between JS calls; ` +
        `${(m(k.once) - syscallInJs).toFixed(0)} ns the cheapest N-API call around it; ` +
        `${bindingExtra.toFixed(0)} ns the real binding's extra work (Int32ArrayArg ~${argCost.toFixed(0)}, ` +
        `heap buffer ~${heapCost.toFixed(0)}, rest ~${(bindingExtra - argCost - heapCost).toFixed(0)}: two more arguments, ` +
        `timeout check, copy-out); ${jsLayer.toFixed(0)} ns the iomux JS layer (of which ~${lookupCost.toFixed(0)} ns ` +
        `is looking binding.epoll_wait up on every call; the rest argument parsing, timeout conversion, result arrays).`,
    );
  }

  // Verdicts.
  out.push('');
  if (ep1) {
    const r1 = ratio(ep1.contenders.iomux, ep1.contenders.c)!;
    out.push(`epoll.poll(0) N=1: ${r1.toFixed(2)}x C (target <= 1.2x): ${r1 <= 1.2 ? 'PASS' : 'FAIL'}`);
    const ep10k = rows.find((r) => r.label === 'epoll.poll(0)' && r.n === '10000');
    if (ep10k) {
      const r2 = ratio(ep10k.contenders.iomux, ep1.contenders.iomux)!;
      out.push(`epoll N=10000 / N=1: ${r2.toFixed(2)}x (target <= 1.5x): ${r2 <= 1.5 ? 'PASS' : 'FAIL'}`);
    }
  } else {
    out.push('epoll: not available on this platform (no verdicts)');
  }
  const dp1 = rows.find((r) => r.label === 'devpoll.poll(0)' && r.n === '1');
  const dp10k = rows.find((r) => r.label === 'devpoll.poll(0)' && r.n === '10000');
  if (dp1 && dp10k) {
    const r = ratio(dp10k.contenders.iomux, dp1.contenders.iomux)!;
    out.push(`devpoll N=10000 / N=1: ${r.toFixed(2)}x (target <= 1.5x): ${r <= 1.5 ? 'PASS' : 'FAIL'}`);
  }
  const kq1 = rows.find((r) => r.label.startsWith('kqueue.control') && r.n === '1');
  if (kq1 && ep1) {
    const r = ratio(kq1.contenders.iomux, ep1.contenders.iomux)!;
    out.push(`${kq1.label} N=1 / epoll.poll(0) N=1: ${r.toFixed(2)}x (target <= 1.5x): ${r <= 1.5 ? 'PASS' : 'FAIL'}`);
  }

  // ---- selectors table
  const selNoisy: string[] = [];
  const selNotes: string[] = [];
  if (selRows.length) {
    out.push('');
    out.push('### selectors: selector.select(0) vs the @iomux/select call it wraps');
    out.push('');
    out.push(
      `One ready descriptor among N registered for EVENT_READ (same scenario); @iomux/selectors vs @iomux/select on the same ` +
        `descriptors, CPython ${pyInfo?.version ?? 'n/a'} selectors (DefaultSelector = ${pyInfo?.defaultSelector ?? 'n/a'}) vs its select module; ns per call.`,
    );
    out.push('');
    out.push('| selector.select(0) | N | raw call | raw ns | selector ns | selector / raw | selector - raw ns | CPython raw ns | CPython selector ns | CPython selector / raw | selector / CPython selector |');
    out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of selRows) {
      const { selraw, sel, pyraw, pysel } = row.contenders;
      out.push(
        `| ${row.label} | ${row.n} | ${row.rawCall ?? '-'} | ${fmtNs(selraw)} | ${fmtNs(sel)} | ${fmtRatio(ratio(sel, selraw))} | ` +
          `${diff(sel, selraw)} | ${fmtNs(pyraw)} | ${fmtNs(pysel)} | ${fmtRatio(ratio(pysel, pyraw))} | ${fmtRatio(ratio(sel, pysel))} |`,
      );
      if (row.note) selNotes.push(`- ${row.label} N=${row.n}: ${row.note}`);
      for (const x of [selraw, sel, pyraw, pysel]) {
        if (x && spread(x) > 0.5) selNoisy.push(`${row.label} N=${row.n} ${x.kind} ${(spread(x) * 100).toFixed(0)}%`);
      }
    }
    out.push('');
    out.push('raw: the @iomux/select call on an object of its own with the same descriptors (epoll/poll: default maxevents).');
    out.push('selector: the @iomux/selectors select(0), which returns [key, events] pairs. Ratios and differences: medians of per-repeat values.');
    if (selNoisy.length) selNotes.push(`- noisy (max-min over repeats > 50% of the median): ${selNoisy.join('; ')}`);
    if (selNotes.length) {
      out.push('');
      out.push(...selNotes);
    }

    // Where the selector layer's time goes, at N=1.
    const bd = ['EpollSelector', 'PollSelector']
      .map((label) => selRows.find((r) => r.label === label && r.n === '1'))
      .filter((r): r is Row => r !== undefined && r.contenders.inner !== undefined);
    if (bd.length) {
      const m = (c: Contender | undefined): number => (c ? median(c.samples) : NaN);
      const f0 = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(0));
      out.push('');
      out.push('### selector.select(0), N=1: where the time goes');
      out.push('');
      out.push(`| step (measured in this run, interleaved with the N=1 rows) | ${bd.map((r) => `${r.label} ns`).join(' | ')} |`);
      out.push(`|---|${bd.map(() => '---:').join('|')}|`);
      const line = (what: string, f: (r: Row) => number): void => {
        out.push(`| ${what} | ${bd.map((r) => f0(f(r))).join(' | ')} |`);
      };
      line('raw call on its own object: ep.poll(0) / p.poll(0)', (r) => m(r.contenders.selraw));
      line("the selector's own poller called as the raw call is: poll(0) (epoll: default maxevents)", (r) => m(r.contenders.inner0 ?? r.contenders.inner));
      line("the poller call as the selector makes it, on the selector's own poller: poll(0, maxevents = 1) / poll(0)", (r) => m(r.contenders.inner));
      line('of which passing maxevents (the two lines above; median of per-repeat differences)', (r) =>
        r.contenders.inner0 ? median(r.contenders.inner!.samples.map((x, i) => x - r.contenders.inner0!.samples[i]!)) : 0);
      line('_ready() alone on a fixed one-entry list: key lookup, result array, [key, events] pair', (r) => m(r.contenders.ready));
      line('selector.select(0)', (r) => m(r.contenders.sel));
      line('selector - raw (median of per-repeat differences)', (r) =>
        median(r.contenders.sel!.samples.map((x, i) => x - r.contenders.selraw!.samples[i]!)));
      line('rest: select(0) - poller call - _ready() (timeout conversion, maxevents, the calls; median of per-repeat values)', (r) =>
        median(r.contenders.sel!.samples.map((x, i) => x - r.contenders.inner!.samples[i]! - r.contenders.ready!.samples[i]!)));
      if (pyInfo) {
        line('CPython: raw ep.poll(0) / p.poll(0)', (r) => m(r.contenders.pyraw));
        line('CPython: selector.select(0)', (r) => m(r.contenders.pysel));
      }
    }

    out.push('');
    // Issue 19's target for epoll; poll keeps its earlier one.
    for (const [label, rawCall, target] of [['EpollSelector', 'epoll.poll(0)', 1.2], ['PollSelector', 'poll.poll(0)', 1.3]] as const) {
      const rs = selRows.filter((r) => r.label === label && r.contenders.sel && r.contenders.selraw);
      if (!rs.length) continue;
      const per = rs.map((r) => ({ n: r.n, x: ratio(r.contenders.sel, r.contenders.selraw)! }));
      const worst = per.reduce((a, b) => (b.x > a.x ? b : a));
      out.push(`${label}.select(0) / ${rawCall}: ${worst.x.toFixed(2)}x (target <= ${target}x): ${worst.x <= target ? 'PASS' : 'FAIL'}`);
      out.push(`  (worst of ${per.map((p) => `N=${p.n} ${p.x.toFixed(2)}x`).join(', ')})`);
    }
  }

  // ---- promise twins with an event ready
  if (asyncRows.length) {
    out.push('');
    out.push('### promise twins with an event ready: `await twin()` vs the sync call with timeout 0');
    out.push('');
    out.push('One ready descriptor, N=1, the same object for both; ns per call (the twin\'s includes its `await`).');
    out.push('');
    out.push('| twin / sync call | sync ns | twin ns | twin / sync | twin - sync ns |');
    out.push('|---|---:|---:|---:|---:|');
    for (const row of asyncRows) {
      const { sync0, twin } = row.contenders;
      out.push(`| ${row.label} | ${fmtNs(sync0)} | ${fmtNs(twin)} | ${fmtRatio(ratio(twin, sync0))} | ${diff(twin, sync0)} |`);
    }
    out.push('');
    // Issue 22's target, read on EpollSelector (DefaultSelector on Linux) and on epoll itself.
    for (const label of ['EpollSelector: selectAsync() / select(0)', 'epoll: pollAsync() / poll(0)']) {
      const row = asyncRows.find((r) => r.label === label);
      if (!row) continue;
      const x = ratio(row.contenders.twin, row.contenders.sync0)!;
      out.push(`${label.replace(': ', '.').replace(' / ', ' ready / ')}: ${x.toFixed(2)}x (target <= 1.3x): ${x <= 1.3 ? 'PASS' : 'FAIL'}`);
    }
  }

  // ---- wake-up latency table
  {
    out.push('');
    out.push('### selectAsync wake-up latency: a worker thread writes 1 byte, the main thread resumes');
    out.push('');
    const net = lat.paths.find((p) => p.key === 'net');
    const netP50 = net ? stats(net.samples).p50 : NaN;
    out.push(
      `Per sample: the main thread arms the wait, posts 'go'; the worker sleeps a random 0.2-1 ms, stores process.hrtime.bigint() ` +
        `in a SharedArrayBuffer and writes; latency = main's hrtime where the wait resumes minus that stamp. ` +
        `${lat.blocks} rounds of ${lat.paths.length} paths x 100-sample blocks (rotating order) after one warm-up block each; ` +
        `${(lat.elapsedMs / 1000).toFixed(1)} s${lat.capped ? ', STOPPED BY THE TIME CAP' : ''}.`,
    );
    out.push('');
    out.push('| wake-up path | samples | min µs | p50 µs | p99 µs | p50 / net p50 |');
    out.push('|---|---:|---:|---:|---:|---:|');
    const us = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(1));
    for (const p of lat.paths) {
      const st = stats(p.samples);
      out.push(`| ${p.label} | ${p.samples.length} | ${us(st.min)} | ${us(st.p50)} | ${us(st.p99)} | ${fmtRatio(st.p50 / netP50)} |`);
    }
    out.push('');
    out.push(
      `Clock check (one CLOCK_MONOTONIC for both threads): post < writer's stamp < wake held in ` +
        `${lat.checked - lat.clockViolations} of ${lat.checked} samples (warm-up included).`,
    );
    if (lat.splits.length) {
      out.push('');
      out.push(
        `Where the promise twins' wake-up goes: a second, instrumented pass (the addon's watcher callback, the timeout-0 ` +
          `epoll_wait/poll binding and fdhandle_unwatch wrapped on the shared binding object to stamp entry and return; ` +
          `${lat.splits[0]!.total.length} samples each, interleaved). p50 of each segment, µs (segment p50s need not add up to the total's p50):`,
      );
      out.push('');
      out.push(
        '| path (instrumented) | write -> callback enters JS | JS to the timeout-0 syscall | timeout-0 syscall | result, #finish to unwatch | ' +
          'fdhandle_unwatch | onSettle, resolve | callback return -> await resumes | total |',
      );
      out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const sp of lat.splits) {
        const segs = [sp.toCallback, sp.preSyscall, sp.syscall, sp.preUnwatch, sp.unwatch, sp.postUnwatch, sp.toResume, sp.total];
        out.push(`| ${sp.label} | ${segs.map((x) => us(stats(x).p50)).join(' | ')} |`);
      }
    }
    out.push('');
    const sels = lat.paths.filter((p) => p.key === 'epsel' || p.key === 'pollsel').map((p) => ({ p, r: stats(p.samples).p50 / netP50 }));
    if (sels.length && net) {
      const worst = sels.reduce((a, b) => (b.r > a.r ? b : a));
      out.push(`selectAsync wake-up p50 vs Node net 'data' p50: ${worst.r.toFixed(2)}x (target <= 1.0x): ${worst.r <= 1.0 ? 'PASS' : 'FAIL'}`);
      out.push(`  (worst of ${sels.map(({ p, r }) => `${p.label.replace('.selectAsync()', '')} ${r.toFixed(2)}x`).join(', ')})`);
    }
  }

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
  if (sink === 0.5) log('unreachable');
  if (leaked && leaked.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
