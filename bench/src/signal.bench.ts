/**
 * `node bench/dist/signal.bench.js`: what a `{ signal }` costs a StreamReader
 * read that never aborts (bench/README.md SIGNAL-COST). No sockets: the
 * reader is fed by hand, so only the reader's own work is timed. Each round
 * times every case with and without a signal back to back (order
 * alternating); figures are medians over rounds, in ns per read.
 *
 * Cases:
 *   buffered   feedData(line) then readline(): the line is there already
 *   waiting    readline() then feedData(line): the read waits (a waiter)
 *   read       read(64) then feedData(64 B): read's one-promise wait
 */
import { StreamReader } from '@iomux/loop';
import { envNumber } from './env.js';

const ROUNDS = Math.max(1, Math.round(envNumber('BENCH_REPEATS', 15)));
const N = Math.max(1000, Math.round(envNumber('BENCH_ITERATIONS', 100000)));
const LINE = Buffer.from('x'.repeat(63) + '\n');

type Case = (r: StreamReader, opts: { signal: AbortSignal } | undefined) => Promise<void>;

const CASES: Record<string, Case> = {
  async buffered(r, opts) {
    for (let i = 0; i < N; i++) {
      r.feedData(LINE);
      await r.readline(opts);
    }
  },
  async waiting(r, opts) {
    for (let i = 0; i < N; i++) {
      const p = r.readline(opts);
      r.feedData(LINE);
      await p;
    }
  },
  async read(r, opts) {
    for (let i = 0; i < N; i++) {
      const p = r.read(64, opts);
      r.feedData(LINE);
      await p;
    }
  },
};

async function time(c: Case, withSignal: boolean): Promise<number> {
  const r = new StreamReader();
  const opts = withSignal ? { signal: new AbortController().signal } : undefined;
  const t0 = process.hrtime.bigint();
  await c(r, opts);
  return Number(process.hrtime.bigint() - t0) / N;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function main(): Promise<void> {
  console.log(`SIGNAL-COST: ns per read, median of ${ROUNDS} rounds of ${N} reads (node ${process.version})`);
  console.log('case       no signal   { signal }   extra');
  for (const [name, c] of Object.entries(CASES)) {
    await time(c, false); // warm-up
    await time(c, true);
    const plain: number[] = [];
    const signalled: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        plain.push(await time(c, false));
        signalled.push(await time(c, true));
      } else {
        signalled.push(await time(c, true));
        plain.push(await time(c, false));
      }
    }
    const a = median(plain);
    const b = median(signalled);
    console.log(`${name.padEnd(10)} ${a.toFixed(0).padStart(9)} ${b.toFixed(0).padStart(12)} ${(b - a).toFixed(0).padStart(7)}`);
  }
}

void main();
