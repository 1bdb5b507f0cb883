/**
 * The echo benchmark's verdict lines (echo.bench.ts): the issues' targets,
 * per pinning mode, each a median of per-round ratios (the servers of one
 * round ran back to back) with the ratio of the medians as a second reading.
 */
import { fmt } from './servers.js';
import { med, ofMedians, pairedRatio, ratio, sizeLabel, type Sample } from './echo-stats.js';

/** The samples of one pinning mode x connections x size x server. */
export type Get = (pin: string, conns: number, size: number, server: string) => Sample[];

/**
 * Whether a configuration is one the verdicts read, which gets the verdict
 * rounds: 64 connections x 64 B, and one connection x 64 B on one CPU.
 */
export function isVerdictConfig(pin: string, conns: number, size: number): boolean {
  return size === 64 && (conns === 64 || (conns === 1 && pin === 'same'));
}

/** `label: X.XXx (target OP T): PASS|FAIL (ratio of medians Y.YYx)`. */
function line(label: string, a: Sample[], b: Sample[], f: (s: Sample) => number, op: '>=' | '<=', target: number, extra = ''): string {
  const r = pairedRatio(a, b, f);
  const pass = op === '>=' ? r >= target : r <= target;
  return `${label}: ${ratio(r)} (target ${op} ${Number.isInteger(target) ? target.toFixed(1) : target}x): ${pass ? 'PASS' : 'FAIL'}${ofMedians(a, b, f)}${extra}`;
}

const rps = (s: Sample): number => s.rps;
const cpu = (s: Sample): number => s.serverCpu;

/** Every verdict line of pinning mode `pin`, for the servers that ran (`has`). */
export function verdictsFor(pin: string, get: Get, has: (key: string) => boolean, sizes: readonly number[]): string[] {
  const verdicts: string[] = [];
  /**
   * The reference servers' own req/s ratios to Node net at 64 conns 64 B in
   * the same rounds: C (the practical limit) and, when run, uvloop (whose
   * lead over Node the 1.8x target is measured against).
   */
  const referenceRatios = (): string => {
    const net = get(pin, 64, 64, 'node-net');
    const known = [
      ['c', 'C epoll'],
      ['uvloop', 'uvloop'],
    ] as const;
    const refs = known
      .filter(([k]) => get(pin, 64, 64, k).length > 0 && net.length > 0)
      .map(([k, label]) => `${label} ${ratio(pairedRatio(get(pin, 64, 64, k), net, rps))}`);
    return refs.length === 0 ? '' : ` [in the same rounds: ${refs.join(', ')}]`;
  };

  if (has('node-net')) {
    const net = get(pin, 64, 64, 'node-net');
    // The protocol targets, for the Protocol (dataReceived) server and
    // the BufferedProtocol one.
    for (const k of ['protocol', 'buffered']) {
      if (!has(k) || net.length === 0) continue;
      const p = get(pin, 64, 64, k);
      verdicts.push(line(`${pin}: ${k} req/s vs Node net, 64 conns 64 B`, p, net, rps, '>=', 1.8, referenceRatios()));
      if (has('c')) verdicts.push(line(`${pin}: ${k} server CPU/msg vs C, 64 conns 64 B`, p, get(pin, 64, 64, 'c'), cpu, '<=', 1.2));
    }
    if (has('streams') && net.length > 0) {
      verdicts.push(line(`${pin}: streams req/s vs Node net, 64 conns 64 B`, get(pin, 64, 64, 'streams'), net, rps, '>=', 1.2, referenceRatios()));
    }
    for (const size of sizes) {
      const n = get(pin, 1000, size, 'node-net');
      if (n.length === 0) continue;
      const np99 = med(n, (s) => s.p99);
      for (const k of ['protocol', 'buffered', 'streams']) {
        if (!has(k)) continue;
        const xs = get(pin, 1000, size, k);
        // Paired by round, as the other verdicts: a p99 follows the
        // machine's speed in its round as req/s does.
        const r = pairedRatio(xs, n, (s) => s.p99);
        verdicts.push(
          `${pin}: ${k} p99 at 1000 conns ${sizeLabel(size)}: ${ratio(r)} Node net's (target: < 1x): ${r < 1 ? 'PASS' : 'FAIL'}` +
            ` (medians ${fmt(med(xs, (s) => s.p99))} us vs ${fmt(np99)} us; per round ${xs.map((s, i) => `${fmt(s.p99)}/${fmt(n[i]?.p99 ?? NaN)}`).join(', ')})`,
        );
      }
    }
  }

  // Python-style code on iomux against the same code on CPython (issue 22):
  // the example awaiting selectAsync(), and with the docs' blocking select().
  const py = get(pin, 64, 64, 'py-selectors');
  const py1 = get(pin, 1, 64, 'py-selectors');
  for (const k of ['selectors', 'selectors-blocking']) {
    const sel = get(pin, 64, 64, k);
    if (sel.length > 0 && py.length > 0) {
      verdicts.push(line(`${pin}: ${k} req/s vs CPython selectors, 64 conns 64 B`, sel, py, rps, '>=', 1.2));
      verdicts.push(line(`${pin}: ${k} server CPU/msg vs CPython selectors, 64 conns 64 B`, sel, py, cpu, '<=', 0.85));
    }
    const sel1 = get(pin, 1, 64, k);
    if (pin === 'same' && sel1.length > 0 && py1.length > 0) {
      verdicts.push(line(`${pin}: ${k} req/s vs CPython selectors, 1 conn 64 B`, sel1, py1, rps, '>=', 1.0));
    }
  }
  if (pin === 'same') {
    // One connection on the loop: the wait path's cost, with nothing to batch.
    const p1 = get(pin, 1, 64, 'protocol');
    const net1 = get(pin, 1, 64, 'node-net');
    const c1 = get(pin, 1, 64, 'c');
    if (p1.length > 0 && net1.length > 0) verdicts.push(line(`${pin}: protocol req/s vs Node net, 1 conn 64 B`, p1, net1, rps, '>=', 1.15));
    if (p1.length > 0 && c1.length > 0) verdicts.push(line(`${pin}: protocol req/s vs C, 1 conn 64 B`, p1, c1, rps, '>=', 0.9));
  }
  return verdicts;
}
