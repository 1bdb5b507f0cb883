/**
 * select.bench.ts's settings, helpers and contender machinery: every
 * contender is calibrated to about BENCH_TARGET_MS per run, then measured in
 * interleaved repeats (the method is in select.bench.ts's header).
 */
import * as fs from 'node:fs';
import { FD_SETSIZE } from '@iomux/core-native';
import { epoll, EPOLLIN as EPOLLIN_OR_UNDEFINED, type Epoll } from '@iomux/select';
import type { CPythonInfo } from './cpython.js';
import { envNumber } from './env.js';
import type { BenchAddon } from './bench-addon.js';

// ---------------------------------------------------------------- settings

export const NS = [1, 100, 1000, 10000] as const;
/** N for the selectors table (each must be in NS: CPython's raw calls exist for NS only). */
export const SEL_NS = [1, 1000] as const;
export const MAX_N = 10000;
/** register+unregister is measured over this many descriptors per iteration. */
export const REG_N = 1000;
export const REPEATS = Math.max(1, Math.round(envNumber('BENCH_REPEATS', 7)));
export const TARGET_NS = envNumber('BENCH_TARGET_MS', 50) * 1e6;
/** Calibration stops growing the iteration count once a run takes this long. */
const CALIBRATE_NS = Math.min(10e6, TARGET_NS / 4);
export const PYTHON = process.env.BENCH_PYTHON ?? 'python3';
/** Wake-up latency: samples per path, and a cap on the whole section. */
export const LAT_SAMPLES = Math.max(1, Math.round(envNumber('BENCH_LATENCY_SAMPLES', 2000)));
export const LAT_MAX_MS = envNumber('BENCH_LATENCY_MAX_S', 60) * 1000;
/** CPython's epoll.poll() default (maxevents=-1 means FD_SETSIZE - 1). */
export const MAXEVENTS = FD_SETSIZE - 1;
/** Linux ABI values (<sys/epoll.h>); Python's select module does not export them. */
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;

/** EPOLLIN where the platform has epoll (only used there). */
export const EPOLLIN = EPOLLIN_OR_UNDEFINED ?? 0;

export function newEpoll(): Epoll {
  if (epoll === undefined) throw new Error('epoll is not available on this platform');
  return epoll();
}

export const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});
export const hrnow = process.hrtime.bigint;
// ---------------------------------------------------------------- helpers

/** fd -> what it points at, or null where /proc is missing. */
export function openFds(): Map<number, string> | null {
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
export function leakedFds(before: Map<number, string> | null): string[] | null {
  const after = openFds();
  if (!before || !after) return null;
  const leaked: string[] = [];
  for (const [fd, target] of after) {
    if (before.get(fd) !== target && target !== '/dev/null') leaked.push(`${fd} -> ${target}`);
  }
  return leaked;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`scenario check failed for ${what}: got ${a}, expected ${e}`);
}

export function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

/** Defeats dead-code elimination of results; printed nowhere. */
let sink = 0;

/** Folds a loop's result into `sink` (the loops in other modules cannot assign it). */
export function drain(s: number): void {
  sink ^= s;
}

/** `sink`, read once at the end. */
export function sinkValue(): number {
  return sink;
}

// ---------------------------------------------------------------- contenders

/**
 * Table columns: c, raw, iomux, py. Selectors table: selraw (the @iomux/select
 * call), sel (the selector), pyraw, pysel. Other keys are breakdown-only.
 */
export type Kind =
  | 'c' | 'raw' | 'iomux' | 'py' | 'noop' | 'c0' | 'c1' | 'once' | 'arg' | 'argc' | 'raw256' | 'rawg'
  | 'selraw' | 'sel' | 'pyraw' | 'pysel' | 'inner' | 'inner0' | 'ready' | 'sync0' | 'twin';

export interface Contender {
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

export interface Row {
  label: string;
  n: string;
  contenders: Partial<Record<Kind, Contender>>;
  note?: string;
  /** Selectors table: the raw @iomux/select call the selector is compared with. */
  rawCall?: string;
}

export async function calibrate(c: Contender): Promise<void> {
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

export async function measure(c: Contender): Promise<void> {
  const ns = await c.run(c.iters);
  c.samples.push(ns / (c.iters * c.perIter));
}

export function js(run: (iters: number) => number): (iters: number) => number {
  return (iters) => {
    gc();
    return run(iters);
  };
}

export const mk = (kind: Kind, run: Contender['run'], perIter = 1, check?: () => void): Contender => ({
  kind,
  run,
  perIter,
  iters: 0,
  samples: [],
  check,
});

export const jsLoop = (body: () => number) =>
  js((k) => {
    let s = 0;
    const t0 = hrnow();
    for (let i = 0; i < k; i++) s += body();
    const t = Number(hrnow() - t0);
    sink ^= s;
    return t;
  });

/** What the row builders share with main(): the scenario's descriptors, the C helpers, CPython. */
export interface SelectCtx {
  /** The ready descriptor (a pipe's read end holding a byte). */
  rr: number;
  /** N-1 idle descriptors and `rr`, registered last. */
  fdsFor: (n: number) => number[];
  idle: number[];
  cbench: BenchAddon;
  hasEpoll: boolean;
  pyInfo: CPythonInfo | null;
  /** Every object a builder opens; main() closes them at the end. */
  closers: Array<() => void>;
  pyContender: (what: string, n: number, perIter?: number, kind?: Kind) => Contender | undefined;
  expectOneReady: (what: string) => () => void;
}

// ---------------------------------------------------------------- report helpers

export const fmtNs = (c: Contender | undefined): string => {
  if (!c) return '-';
  const m = median(c.samples);
  return m >= 100 ? Math.round(m).toLocaleString('en-US') : m.toFixed(1);
};
export const ratio = (a: Contender | undefined, b: Contender | undefined): number | undefined => {
  if (!a || !b) return undefined;
  return median(a.samples.map((x, i) => x / b.samples[i]!));
};
export const diff = (a: Contender | undefined, b: Contender | undefined): string => {
  if (!a || !b) return '-';
  const d = median(a.samples.map((x, i) => x - b.samples[i]!));
  return Math.abs(d) >= 100 ? Math.round(d).toLocaleString('en-US') : d.toFixed(0);
};
export const fmtRatio = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(2)}x`);
export const spread = (c: Contender | undefined): number => {
  if (!c || c.samples.length < 2) return 0;
  const s = [...c.samples].sort((a, b) => a - b);
  return (s[s.length - 1]! - s[0]!) / median(s);
};
