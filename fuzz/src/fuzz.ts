/**
 * `npm run fuzz`: calls every export of the four iomux packages with
 * hostile values, in child processes (fuzz/src/child.ts), and counts per
 * entry point: crashes (a child died by a signal or an escaped exception),
 * hangs (a child stopped making progress, or a promise never settled),
 * errors outside the documented classes, and leaked descriptors. Exits 1
 * on any finding.
 *
 *   node fuzz/dist/fuzz.js [--seed S] [--calls N] [--smoke] [--batch-calls B] [--jobs J]
 *
 * `--smoke` is the CI run: seed 1, 20,000 calls.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
  return v;
};
const SMOKE = argv.includes('--smoke');
const SEED = opt('seed', 1);
const CALLS = opt('calls', SMOKE ? 20000 : 150000);
const PER_CHILD = opt('batch-calls', 3000);
const JOBS = Math.max(1, opt('jobs', 1));
/** A child that starts no new call for this long is hung (the call in flight blocks). */
const STALL_MS = opt('stall-ms', 15000);
const CHILD = path.join(__dirname, 'child.js');

interface Finding {
  kind: 'crash' | 'hang' | 'undocumented' | 'leak';
  entry: string;
  desc: string;
  what: string;
  batch: number;
  call: number;
  fds?: number;
}

interface Row {
  calls: number;
  crash: number;
  hang: number;
  undocumented: number;
  leak: number;
}

const rows = new Map<string, Row>();
const row = (e: string): Row => {
  let r = rows.get(e);
  if (r === undefined) rows.set(e, (r = { calls: 0, crash: 0, hang: 0, undocumented: 0, leak: 0 }));
  return r;
};
const distinct = new Map<string, { f: Finding; n: number }>();
const notes = new Map<string, { entry: string; desc: string; what: string; n: number }>();
const harness: string[] = [];
let totalCalls = 0;
/** Loop episodes a call ended by closing a descriptor under the loop's selector (asyncio's behaviour; their leak check is skipped). */
let brokenLoops = 0;
let children = 0;

/** Numbers, fds and addresses out of a message, so that one defect is one line. */
const norm = (s: string): string => s.replace(/0x[0-9a-f]+/gi, 'X').replace(/\d+/g, 'N').slice(0, 200);

function add(f: Finding): void {
  const r = row(f.entry);
  if (f.kind === 'leak') r.leak += f.fds ?? 1;
  else r[f.kind]++;
  const key = `${f.kind}|${f.entry}|${norm(f.what)}`;
  const d = distinct.get(key);
  if (d === undefined) distinct.set(key, { f, n: 1 });
  else d.n++;
}

function readJsonl(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function runChild(batch: number, calls: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `iomux-fuzz-${batch}-`));
  children++;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, '--seed', String(SEED), '--batch', String(batch), '--calls', String(calls), '--dir', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-8000);
    });
    let last = '';
    let lastChange = Date.now();
    let stalled = false;
    const watch = setInterval(() => {
      let now = '';
      try {
        now = fs.readFileSync(path.join(dir, 'current.json'), 'utf8');
      } catch {
        // Not written yet.
      }
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > STALL_MS) {
        stalled = true;
        child.kill('SIGKILL');
      }
    }, 500);
    child.on('exit', (code, signal) => {
      clearInterval(watch);
      const recs = readJsonl(path.join(dir, 'findings.jsonl'));
      const cur = readJson(path.join(dir, 'current.json')) as { entry?: string; desc?: string; call?: number } | null;
      const cnt = readJson(path.join(dir, 'counts.json')) as { done?: number; counts?: Record<string, number> } | null;
      for (const [e, n] of Object.entries(cnt?.counts ?? {})) row(e).calls += n;
      let ran = Math.max(cnt?.done ?? 0, (cur?.call ?? -1) + 1);
      for (const r of recs) {
        if (r.t === 'finding') add({ ...(r as unknown as Finding), batch });
        else if (r.t === 'note' && String(r.what).startsWith("the loop episode's")) brokenLoops++;
        else if (r.t === 'note') {
          const key = `${String(r.entry)}|${norm(String(r.what))}`;
          const n = notes.get(key);
          if (n === undefined) notes.set(key, { entry: String(r.entry), desc: String(r.desc), what: String(r.what), n: 1 });
          else n.n++;
        } else if (r.t === 'harness') harness.push(`batch ${batch}: ${String(r.entry)}: ${String(r.what)}\n${String(r.stack ?? '')}`);
      }
      const doneRec = recs.find((r) => r.t === 'done');
      if (doneRec !== undefined) ran = Number(doneRec.calls);
      else if (code !== 3) {
        const escaped = recs.filter((r) => r.t === 'escaped').pop() as
          | { what: string; stack: string; origin: string; current: { entry: string; desc: string; call: number }; lastAsync: string[] }
          | undefined;
        const entry = cur?.entry ?? '(unknown)';
        if (stalled) {
          add({ kind: 'hang', entry, desc: cur?.desc ?? '', what: `the call never returned (no progress for ${STALL_MS / 1000} s)`, batch, call: cur?.call ?? -1 });
        } else if (escaped !== undefined) {
          const frames = escaped.stack.split('\n').slice(1, 4).map((s) => s.trim()).join(' < ');
          add({
            kind: 'crash',
            entry,
            desc: cur?.desc ?? '',
            what: `${escaped.origin}: ${escaped.what} at ${frames}; recent async calls: ${escaped.lastAsync.join(' | ')}`,
            batch,
            call: cur?.call ?? -1,
          });
        } else {
          const tail = stderr.trim().split('\n').slice(-3).join(' / ');
          add({ kind: 'crash', entry, desc: cur?.desc ?? '', what: `child died (${signal ?? `exit ${code}`}): ${tail}`, batch, call: cur?.call ?? -1 });
        }
      }
      totalCalls += ran;
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(ran);
    });
  });
}

function summary(seconds: number): number {
  const totals: Row = { calls: totalCalls, crash: 0, hang: 0, undocumented: 0, leak: 0 };
  for (const r of rows.values()) {
    totals.crash += r.crash;
    totals.hang += r.hang;
    totals.undocumented += r.undocumented;
    totals.leak += r.leak;
  }
  const pad = (s: string | number, n: number): string => String(s).padStart(n);
  console.log(`\niomux fuzz: seed ${SEED}, ${totalCalls} calls to ${rows.size} entry points in ${children} child processes, ${seconds.toFixed(1)} s`);
  const bad = [...rows].filter(([, r]) => r.crash + r.hang + r.undocumented + r.leak > 0).sort(([a], [b]) => a.localeCompare(b));
  if (bad.length > 0) {
    console.log(`\n${'entry point'.padEnd(44)}${pad('calls', 8)}${pad('crash', 7)}${pad('hang', 6)}${pad('undoc', 7)}${pad('leaked fds', 12)}`);
    for (const [e, r] of bad) console.log(`${e.padEnd(44)}${pad(r.calls, 8)}${pad(r.crash, 7)}${pad(r.hang, 6)}${pad(r.undocumented, 7)}${pad(r.leak, 12)}`);
  }
  if (distinct.size > 0) {
    console.log(`\ndistinct findings (${distinct.size}); reproduce a batch with: node fuzz/dist/child.js --seed ${SEED} --batch B --calls C --trace`);
    let i = 0;
    for (const { f, n } of [...distinct.values()].sort((a, b) => a.f.entry.localeCompare(b.f.entry))) {
      console.log(`${++i}. [${f.kind}] ${f.entry}: ${f.desc.slice(0, 300)} -> ${f.what.slice(0, 500)} (x${n}; first: batch ${f.batch}, call ${f.call})`);
    }
  }
  if (notes.size > 0) {
    console.log(`\nnotes, not counted (${notes.size}): built-in TypeErrors whose text suggests an engine error rather than an argument check`);
    for (const n of notes.values()) console.log(`  ${n.entry}: ${n.desc.slice(0, 160)} -> ${n.what.slice(0, 200)} (x${n.n})`);
  }
  if (brokenLoops > 0) console.log(`\n${brokenLoops} loop episode(s) ended early: a call closed or broke a descriptor the loop's selector waited on, which ends the loop with OSError/ValueError as in asyncio; their descriptors were not counted`);
  for (const h of harness) console.log(`\nfuzzer error (not an iomux finding): ${h}`);
  console.log(
    `\ntotals: calls ${totals.calls}, crashes ${totals.crash}, hangs ${totals.hang}, undocumented errors ${totals.undocumented}, leaked fds ${totals.leak}${harness.length > 0 ? `, fuzzer errors ${harness.length}` : ''}`,
  );
  return totals.crash + totals.hang + totals.undocumented + totals.leak + harness.length > 0 ? 1 : 0;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let started = 0;
  let batch = 0;
  const worker = async (): Promise<void> => {
    while (started < CALLS) {
      const n = Math.min(PER_CHILD, CALLS - started);
      started += n;
      const b = batch++;
      const ran = await runChild(b, n);
      // A child that died early leaves its calls to the next one.
      started -= n - Math.min(ran, n);
      if (ran === 0) started += n; // no progress at all: do not loop forever
      if (process.stderr.isTTY) process.stderr.write(`\r${totalCalls}/${CALLS} calls`);
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.exitCode = summary((Date.now() - t0) / 1000);
}

void main();
