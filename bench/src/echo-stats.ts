/**
 * The echo benchmark's (echo.bench.ts) samples and the arithmetic on them:
 * medians, paired ratios, and the pinned CPUs' busy time.
 */
import * as fs from 'node:fs';
import { sleep } from './servers.js';

/** One run of one server in one configuration. */
export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  serverCpu: number; // us per message
  loadCpu: number; // us per message
  other: number; // % of the pinned CPUs busy with other processes
  steal: number; // % of the pinned CPUs stolen by the hypervisor
  errors: number;
  error?: string;
  messages: number;
  stalled: number; // connections without a completed message in the window
  connectMs: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function ratio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}x` : '-';
}

export function sizeLabel(size: number): string {
  return size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
}

/** Median over rounds of a per-round ratio a/b (rounds paired by index). */
export function pairedRatio(a: Sample[], b: Sample[], f: (s: Sample) => number): number {
  const rs: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = f(a[i]!) / f(b[i]!);
    if (Number.isFinite(x)) rs.push(x);
  }
  return median(rs);
}

/** The median of f over the samples where it is a number. */
export function med(xs: Sample[], f: (s: Sample) => number): number {
  return median(xs.map(f).filter(Number.isFinite));
}

/** The same comparison as a ratio of the two medians: a second reading, when single runs swing more than rounds drift. */
export function ofMedians(a: Sample[], b: Sample[], f: (s: Sample) => number): string {
  return ` (ratio of medians ${ratio(med(a, f) / med(b, f))})`;
}

/** Busy and total jiffies of the given CPUs, from /proc/stat. */
function cpuJiffies(cpus: string[]): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  try {
    for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (m === null || !cpus.includes(m[1]!)) continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal
      busy += f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
      total += f[0]! + f[1]! + f[2]! + f[3]! + f[4]! + f[5]! + f[6]! + f[7]!;
    }
  } catch {
    // no /proc: report quiet
  }
  return { busy, total };
}

/** Waits (at most maxMs) until the CPUs have been under maxOther % busy for 250 ms; returns the time waited. */
export async function waitQuiet(cpus: string[], maxMs: number, maxOther: number): Promise<number> {
  const start = Date.now();
  if (cpus.length === 0) return 0;
  for (;;) {
    const a = cpuJiffies(cpus);
    await sleep(250);
    const b = cpuJiffies(cpus);
    const total = b.total - a.total;
    if (total <= 0 || (100 * (b.busy - a.busy)) / total < maxOther || Date.now() - start >= maxMs) return Date.now() - start;
  }
}
