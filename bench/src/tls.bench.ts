/**
 * TLS echo, iomux's loop against Node's `tls`, in the same run
 * (`node bench/dist/tls.bench.js`; bench/README.md, TLS-ECHO):
 *
 * - servers (bench/src/tls-echo-servers.ts, a fresh process per run): the
 *   loop's createServer with `ssl` (sslproto.ts) against `tls.createServer`,
 *   both with the committed 2048-bit RSA test certificate;
 * - the client: bench/native/tls-load.c (OpenSSL, one thread, epoll;
 *   compiled with `cc -O2 ... -lssl -lcrypto` into bench/build at the start
 *   of the run), or where that does not compile (no libssl headers, say)
 *   the Node client bench/src/tls-load.ts, with a note saying why; both
 *   open CONNS TLS connections, each keeping one SIZE-byte request in
 *   flight and checking every byte. Both servers face the same client.
 *
 * For every round x size the two servers run back to back (their order
 * alternates), the server under `taskset -c 0` and the client under
 * `taskset -c 1` where both CPUs are there. Figures are medians over
 * rounds; the ratio is the median of per-round ratios. Besides req/s, the
 * server's CPU time per request (from /proc, over the measured window) is
 * shown: it does not depend on how fast the client is.
 *
 * Verdicts, in echo.bench.ts's format: iomux >= 1.2x Node tls's req/s
 * (issue 24's target), 64 connections, at 64 B and 1 KiB.
 *
 * Settings (environment): BENCH_TLS_SECONDS (2), BENCH_TLS_WARMUP (1),
 * BENCH_TLS_ROUNDS (5), BENCH_TLS_CONNS (64), BENCH_TLS_SIZES ("64,1024"),
 * BENCH_TLS_CLIENT (c or node; default c, falling back to node).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envList, envNumber } from './env.js';
import { median, ratio, sizeLabel } from './echo-stats.js';
import { CC, crossPinning, fmt, log, ROOT, startServer, stopServer, type ServerDef } from './servers.js';
import { runMain, saveResults } from './run-main.js';

const SECONDS = envNumber('BENCH_TLS_SECONDS', 2);
const WARMUP = envNumber('BENCH_TLS_WARMUP', 1);
const ROUNDS = Math.max(1, Math.round(envNumber('BENCH_TLS_ROUNDS', 5)));
const CONNS = Math.round(envNumber('BENCH_TLS_CONNS', 64));
const SIZES = envList('BENCH_TLS_SIZES', '64,1024').map(Number);
const TARGET = 1.2;

const SERVERS_JS = path.join(__dirname, 'tls-echo-servers.js');
const LOAD_JS = path.join(__dirname, 'tls-load.js');
const LOAD_C = path.join(ROOT, 'bench', 'native', 'tls-load.c');
const LOAD_BIN = path.join(ROOT, 'bench', 'build', 'tls-load');
const CA = path.join(ROOT, 'examples', 'fixtures', 'tls', 'ca.pem');

const SERVERS: ServerDef[] = [
  { key: 'iomux', label: 'iomux loop createServer(ssl)', cmd: process.execPath, args: [SERVERS_JS, 'iomux', '--port', '0'] },
  { key: 'node', label: 'Node tls.createServer', cmd: process.execPath, args: [SERVERS_JS, 'node', '--port', '0'] },
];

interface TlsSample {
  rps: number;
  serverCpu: number; // us per request
  loadCpu: number; // us per request
  errors: number;
  error?: string;
}

type Client = 'c' | 'node';

/**
 * The client to run: BENCH_TLS_CLIENT, else the C one if it compiles, else
 * Node's (with the reason printed). An explicit `c` that fails to compile throws.
 */
function pickClient(): Client {
  const want = process.env.BENCH_TLS_CLIENT ?? '';
  if (want !== '' && want !== 'c' && want !== 'node') throw new Error(`BENCH_TLS_CLIENT must be c or node, got ${want}`);
  if (want === 'node') return 'node';
  fs.mkdirSync(path.dirname(LOAD_BIN), { recursive: true });
  const r = spawnSync(CC, ['-O2', '-Wall', '-o', LOAD_BIN, LOAD_C, '-lssl', '-lcrypto'], { encoding: 'utf8' });
  if (r.error === undefined && r.status === 0) return 'c';
  const why = `${CC} -O2 -o ${LOAD_BIN} ${LOAD_C} -lssl -lcrypto failed: ${(r.error?.message ?? r.stderr).trim().split('\n').slice(0, 3).join(' / ')}`;
  if (want === 'c') throw new Error(why);
  log(`NOTE: using the Node TLS client (bench/src/tls-load.ts), as ${why}`);
  return 'node';
}

/** One run of the client against `port`: its JSON line (the C client's or the Node one's fields). */
function runLoad(client: Client, port: number, pid: number, cpu: string | null, size: number): Promise<TlsSample> {
  const common = ['--port', String(port), '--conns', String(CONNS), '--size', String(size), '--warmup', String(WARMUP), '--server-pid', String(pid)];
  const [bin, args] =
    client === 'c'
      ? [LOAD_BIN, [...common, '--duration', String(SECONDS), '--ca', CA, '--servername', 'localhost']]
      : [process.execPath, [LOAD_JS, ...common, '--seconds', String(SECONDS)]];
  const [cmd, argv] = cpu === null ? [bin, args] : ['taskset', ['-c', cpu, bin, ...args]];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    // Both clients end themselves; this is the last resort (connecting 64 may take a while under load).
    const timer = setTimeout(() => child.kill('SIGKILL'), (WARMUP + SECONDS + 90) * 1000);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as { reqs?: number; messages?: number; rps: number; errors: number; error?: string; server_cpu_us: number; load_cpu_us: number };
        const reqs = r.messages ?? r.reqs ?? 0;
        resolve({
          rps: r.rps,
          serverCpu: reqs > 0 && r.server_cpu_us >= 0 ? r.server_cpu_us / reqs : NaN,
          loadCpu: reqs > 0 ? r.load_cpu_us / reqs : NaN,
          errors: r.errors,
          ...(r.errors > 0 ? { error: r.error ?? err.slice(0, 300) } : {}),
        });
      } catch {
        resolve({ rps: NaN, serverCpu: NaN, loadCpu: NaN, errors: 1, error: `client exited ${code ?? sig}: ${err.slice(0, 300)}` });
      }
    });
  });
}

async function runOne(client: Client, def: ServerDef, pin: { server: string; load: string } | null, size: number): Promise<TlsSample> {
  try {
    const srv = await startServer(def, pin?.server ?? null);
    try {
      return await runLoad(client, srv.port, srv.pid, pin?.load ?? null, size);
    } finally {
      await stopServer(srv);
    }
  } catch (e) {
    return { rps: NaN, serverCpu: NaN, loadCpu: NaN, errors: 1, error: (e as Error).message };
  }
}

function medOf(xs: TlsSample[], f: (s: TlsSample) => number): number {
  return median(xs.map(f).filter(Number.isFinite));
}

async function main(): Promise<number> {
  const t0 = Date.now();
  for (const f of [SERVERS_JS, LOAD_JS]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: build first (npm run build)`);
  log('# TLS echo benchmark (TLS-ECHO)');
  log('');
  const client = pickClient();
  log(client === 'c' ? 'client: bench/native/tls-load.c (OpenSSL)' : 'client: bench/src/tls-load.ts (Node tls)');
  const pin = crossPinning();
  log(pin === null ? 'taskset or CPUs 0 and 1 missing: UNPINNED' : `cross-CPU: server on CPU ${pin.server}, client on CPU ${pin.load}`);
  log(`${SIZES.length} sizes x 2 servers x ${ROUNDS} rounds, ${CONNS} TLS connections, ${WARMUP} s warm-up + ${SECONDS} s measured`);
  log('');
  const results = new Map<string, TlsSample[]>();
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      const order = round % 2 === 0 ? SERVERS : [SERVERS[1]!, SERVERS[0]!];
      const parts: string[] = [];
      for (const def of order) {
        const s = await runOne(client, def, pin, size);
        if (s.errors > 0) {
          failures++;
          log(`  ERROR ${def.label} ${sizeLabel(size)}: ${s.errors} errors ${s.error ?? ''}`);
        }
        const k = `${size}|${def.key}`;
        if (!results.has(k)) results.set(k, []);
        results.get(k)!.push(s);
        parts.push(`${def.key} ${fmt(s.rps / 1000, 1)}k (${fmt(s.serverCpu, 1)} us/req)`);
      }
      log(`round ${round + 1} ${sizeLabel(size)}: ${parts.join(', ')}`);
    }
  }
  const verdicts: string[] = [];
  const pinKey = pin === null ? 'unpinned' : 'cross';
  for (const size of SIZES) {
    const [iomux, node] = SERVERS.map((d) => results.get(`${size}|${d.key}`) ?? []) as [TlsSample[], TlsSample[]];
    log('');
    log(`## TLS echo, ${CONNS} connections, ${sizeLabel(size)} ping-pong`);
    log('');
    log('| server | req/s | server CPU us/req | client CPU us/req | rounds (req/s) |');
    log('|---|--:|--:|--:|---|');
    for (const [def, xs] of [[SERVERS[0]!, iomux], [SERVERS[1]!, node]] as const) {
      log(`| ${def.label} | ${fmt(medOf(xs, (s) => s.rps))} | ${fmt(medOf(xs, (s) => s.serverCpu), 1)} | ${fmt(medOf(xs, (s) => s.loadCpu), 1)} | ${xs.map((s) => fmt(s.rps / 1000, 1) + 'k').join(' ')} |`);
    }
    const per: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < Math.min(iomux.length, node.length); i++) {
      per.push(iomux[i]!.rps / node[i]!.rps);
      cpu.push(node[i]!.serverCpu / iomux[i]!.serverCpu);
    }
    const r = median(per.filter(Number.isFinite));
    verdicts.push(
      `${pinKey}: TLS echo req/s vs Node tls, ${CONNS} conns ${sizeLabel(size)}: ${ratio(r)} (target >= ${TARGET}x): ${r >= TARGET ? 'PASS' : 'FAIL'}` +
        ` (ratio of medians ${ratio(medOf(iomux, (s) => s.rps) / medOf(node, (s) => s.rps))}; server CPU per request, Node/iomux, ${ratio(median(cpu.filter(Number.isFinite)))})` +
        ` [medians ${fmt(medOf(iomux, (s) => s.rps))} vs ${fmt(medOf(node, (s) => s.rps))} req/s, ${per.length} paired rounds;` +
        ` ${client} client ${fmt(medOf([...iomux, ...node], (s) => s.loadCpu), 1)} us CPU/req]`,
    );
  }
  log('');
  log('## Verdicts');
  log('');
  for (const v of verdicts) log(v);
  if (failures > 0) log(`${failures} runs had errors (see ERROR lines above)`);
  log(`TLS echo benchmark took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  saveResults(ROOT, 'tls', { settings: { SECONDS, WARMUP, ROUNDS, CONNS, SIZES, pinned: pin !== null, client }, results: Object.fromEntries(results), verdicts }, log);
  return failures > 0 ? 1 : 0;
}

runMain(main);
