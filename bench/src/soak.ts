/**
 * `npm run soak`: many echo connections held for a long time against each
 * loop server and Node net, one server at a time, checking that nothing
 * leaks, dies or loses a byte.
 *
 *   npm run soak -- [--servers protocol,buffered,streams,node-net]
 *                   [--duration 60] [--connections 1000] [--size 64]
 *
 * For each server: start it (servers.ts, as echo.bench.ts does; on CPU 0
 * with the load generator on CPU 1 where taskset and both CPUs exist), one
 * probe echo, count its descriptors (/proc/PID/fd), then run
 * bench/native/echo-load.c for --duration seconds: --connections ping-pong
 * connections of --size bytes, every echoed byte verified. While it runs the
 * server's RSS is sampled every 250 ms: "start" is the first sample with
 * every connection accepted, "end" the last one before they close. After
 * the load generator exits, wait (up to 10 s) for the server's descriptors
 * to fall back, then a second probe echo.
 *
 * A server FAILS (exit status 1) when it died or stopped answering, when
 * bytes were lost or corrupted (echo-load errors, a connection without an
 * echo in the whole run, or an echo outstanding longer than 5 s at the end),
 * when it ends with more descriptors than it had before the clients
 * connected, or when its end RSS is over 2x its start RSS.
 */
import * as fs from 'node:fs';
import {
  ALL_SERVERS, compile, crossPinning, fdCount, fmt, log, probeEcho, rssOf, runLoad, sleep, startServer, stopServer, type LoadResult, type ServerDef,
} from './servers.js';
import { runMain } from './run-main.js';

const USAGE = 'usage: npm run soak -- [--servers protocol,buffered,streams,node-net] [--duration SECONDS] [--connections N] [--size BYTES]';
/** An echo still outstanding this long when the run ends counts as lost. */
const LOST_AFTER_MS = 3000;
const RSS_LIMIT = 2;
const SAMPLE_MS = 250;
const FD_SETTLE_MS = 10000;
/** A soak server writes stderr for minutes: its first 64 KiB are kept. */
const MAX_STDERR = 65536;
/** The servers a soak can run, in their default order (echo.bench.ts's, without C and the opt-in ones). */
const SERVERS = ['protocol', 'buffered', 'streams', 'node-net'].map((k) => ALL_SERVERS.find((s) => s.key === k)!);

interface Options {
  servers: ServerDef[];
  duration: number;
  connections: number;
  size: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { servers: SERVERS, duration: 60, connections: 1000, size: 64 };
  const num = (name: string, v: string | undefined, min: number, max: number, int: boolean): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !(n >= min && n <= max) || (int && !Number.isInteger(n))) {
      throw new Error(`${name} must be ${int ? 'an integer' : 'a number'} from ${min} to ${max}, not '${v ?? ''}'\n${USAGE}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (name === '--help' || name === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (name === '--servers') {
      const keys = (value() ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      const unknown = keys.filter((k) => !SERVERS.some((s) => s.key === k));
      if (keys.length === 0 || unknown.length > 0) throw new Error(`--servers: unknown '${unknown.join(',')}' (${SERVERS.map((s) => s.key).join(', ')})\n${USAGE}`);
      o.servers = keys.map((k) => SERVERS.find((s) => s.key === k)!);
    } else if (name === '--duration') o.duration = num(name, value(), 1, 86400, false);
    else if (name === '--connections') o.connections = num(name, value(), 1, 10000, true);
    else if (name === '--size') o.size = num(name, value(), 1, 1 << 20, true);
    else throw new Error(`unknown option ${name}\n${USAGE}`);
  }
  return o;
}

const mb = (b: number): string => (Number.isFinite(b) ? (b / 1048576).toFixed(1) : '-');

interface Outcome {
  def: ServerDef;
  load: LoadResult | null;
  rssStart: number;
  rssEnd: number;
  rssMax: number;
  fdsBefore: number;
  fdsAfter: number;
  /** How long after the load generator exited the descriptors were counted. */
  fdsSettleMs: number;
  /** Percent of the two CPUs busy but not with the server or the load generator (other processes, softirqs), pinned runs only. */
  other: number;
  verified: number;
  /** Whether every byte sent came back intact. */
  bytesOk: boolean;
  flags: string[];
}

/** The server's descriptor count once it has not changed for 500 ms (at most 3 s): the probe's socket closes as the server sees EOF. */
async function settledFds(pid: number): Promise<number> {
  const t0 = Date.now();
  let last = fdCount(pid);
  let since = Date.now();
  while (Date.now() - since < 500 && Date.now() - t0 < 3000) {
    await sleep(50);
    const n = fdCount(pid);
    if (n !== last) [last, since] = [n, Date.now()];
  }
  return last;
}

async function soakOne(def: ServerDef, o: Options, loadBin: string, pin: { server: string; load: string } | null): Promise<Outcome> {
  const out: Outcome = { def, load: null, rssStart: NaN, rssEnd: NaN, rssMax: NaN, fdsBefore: NaN, fdsAfter: NaN, fdsSettleMs: NaN, other: NaN, verified: 0, bytesOk: false, flags: [] };
  const srv = await startServer(def, pin?.server ?? null, MAX_STDERR);
  try {
    // One echo first: descriptors a server opens lazily on its first
    // connection, and keeps, are not a leak.
    const fdsListening = fdCount(srv.pid);
    const first = await probeEcho(srv.port, o.size);
    if (first !== null) out.flags.push(`probe before the run failed: ${first}`);
    out.fdsBefore = await settledFds(srv.pid);
    log(`  descriptors: ${fdsListening} when listening, ${out.fdsBefore} after one probe echo`);
    const t0 = Date.now();
    let loadDone = false;
    const cpus = pin === null ? [] : [pin.server, pin.load];
    // No warm-up: every message after connecting is counted and verified; 120 s of slack for connecting.
    const loadP = runLoad(loadBin, pin?.load ?? null, srv.port, srv.pid, o.connections, o.size, cpus, { warmup: 0, seconds: o.duration, slack: 120 }).finally(() => (loadDone = true));
    loadP.catch(() => undefined); // awaited below, after sampling stops
    let nextReport = 10000;
    while (!loadDone && srv.exited() === null) {
      const fds = fdCount(srv.pid);
      const rss = rssOf(srv.pid);
      if (fds >= out.fdsBefore + o.connections) {
        if (Number.isNaN(out.rssStart)) {
          out.rssStart = rss;
          log(`  ${o.connections} connections accepted after ${((Date.now() - t0) / 1000).toFixed(1)} s: RSS ${mb(rss)} MB, ${fds} descriptors`);
        }
        out.rssEnd = rss;
      }
      if (!(rss <= out.rssMax)) out.rssMax = rss;
      if (Date.now() - t0 >= nextReport) {
        log(`  ${Math.round((Date.now() - t0) / 1000)} s: RSS ${mb(rss)} MB, ${fds} descriptors`);
        nextReport += 10000;
      }
      await sleep(SAMPLE_MS);
    }
    try {
      out.load = await loadP;
    } catch (e) {
      out.flags.push(`load generator: ${(e as Error).message}`);
    }
    // The clients are gone; the server closes its ends as it sees EOF.
    const tClosed = Date.now();
    for (;;) {
      out.fdsAfter = fdCount(srv.pid);
      if (!(out.fdsAfter > out.fdsBefore) || Date.now() - tClosed >= FD_SETTLE_MS) break;
      await sleep(100);
    }
    out.fdsSettleMs = Date.now() - tClosed;
    const l = out.load;
    if (l !== null) {
      // Every completed message was checked byte for byte, plus each
      // connection's first echo, made while connecting.
      out.verified = (l.messages + (l.errors === 0 ? o.connections : 0)) * o.size;
      if (l.errors > 0) out.flags.push(`bytes lost or corrupted: ${l.errors} connection errors, first: ${l.error ?? '?'}`);
      if (l.stalled > 0) out.flags.push(`${l.stalled} connections had no echo in the whole run`);
      if (l.max_inflight_us / 1000 > LOST_AFTER_MS) out.flags.push(`an echo was outstanding for ${fmt(l.max_inflight_us / 1000)} ms at the end (lost)`);
      const window = l.seconds * 1e6 * (pin === null ? 0 : 2);
      if (window > 0 && l.server_cpu_us >= 0) out.other = Math.max(0, (100 * (l.cpus_busy_us + l.cpus_steal_us - l.server_cpu_us - l.load_cpu_us)) / window);
      out.bytesOk = l.errors === 0 && l.stalled === 0 && l.max_inflight_us / 1000 <= LOST_AFTER_MS;
    }
    if (Number.isNaN(out.rssStart)) out.flags.push(`never held all ${o.connections} connections at once`);
    if (out.fdsAfter > out.fdsBefore) out.flags.push(`descriptors: ${out.fdsBefore} before, ${out.fdsAfter} ${FD_SETTLE_MS / 1000} s after the clients left`);
    if (out.rssEnd > RSS_LIMIT * out.rssStart) out.flags.push(`RSS grew ${(out.rssEnd / out.rssStart).toFixed(2)}x (over ${RSS_LIMIT}x)`);
    const died = srv.exited();
    if (died !== null) out.flags.push(`server died (exit ${died}); stderr: ${srv.stderr().trim().slice(-2000)}`);
    else {
      const after = await probeEcho(srv.port, o.size);
      if (after !== null) out.flags.push(`probe after the run failed: ${after}`);
    }
  } finally {
    await stopServer(srv);
  }
  return out;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  for (const s of o.servers) {
    if (!fs.existsSync(s.args[0]!)) throw new Error(`${s.args[0]} is missing: build first (npm run build)`);
  }
  const loadBin = compile('echo-load');
  const pin = crossPinning();
  log('# soak');
  log('');
  log(
    `${o.servers.length} servers x ${o.duration} s, ${o.connections} connections of ${o.size} B ping-pong ` +
      `(bench/native/echo-load.c), ${pin === null ? 'unpinned' : `server on CPU ${pin.server}, load generator on CPU ${pin.load}`}; ` +
      `about ${Math.ceil((o.servers.length * (o.duration + 5)) / 60)} min`,
  );
  const t0 = Date.now();
  const results: Outcome[] = [];
  for (const def of o.servers) {
    log('');
    log(`## ${def.label} (${def.key})`);
    let r: Outcome;
    try {
      r = await soakOne(def, o, loadBin, pin);
    } catch (e) {
      r = { def, load: null, rssStart: NaN, rssEnd: NaN, rssMax: NaN, fdsBefore: NaN, fdsAfter: NaN, fdsSettleMs: NaN, other: NaN, verified: 0, bytesOk: false, flags: [(e as Error).message] };
    }
    results.push(r);
    const l = r.load;
    if (l !== null) {
      log(`  ${fmt(l.rps)} req/s, p50 ${fmt(l.p50_us / 1000, 2)} ms, p99 ${fmt(l.p99_us / 1000, 2)} ms over ${l.seconds.toFixed(1)} s (connecting took ${fmt(l.connect_ms)} ms)`);
      if (Number.isFinite(r.other)) log(`  other load ${fmt(r.other)}% (time on both CPUs not charged to the server or the load generator)`);
      log(`  messages per connection ${fmt(l.conn_min)}-${fmt(l.conn_max)}; oldest echo outstanding at the end ${fmt(l.max_inflight_us / 1000, 1)} ms`);
    }
    log(`  RSS ${mb(r.rssStart)} MB at the start, ${mb(r.rssEnd)} MB at the end (${(r.rssEnd / r.rssStart).toFixed(2)}x), ${mb(r.rssMax)} MB at most`);
    log(`  descriptors ${fmt(r.fdsBefore)} before the clients connected, ${fmt(r.fdsAfter)} after they left (counted ${fmt(r.fdsSettleMs / 1000, 1)} s after)`);
    log(`  ${fmt(r.verified)} B echoed and verified, ${r.bytesOk ? '0 lost or corrupted' : 'SOME LOST OR CORRUPTED (see FLAG)'}`);
    for (const f of r.flags) log(`  FLAG: ${f}`);
    log(`  ${r.flags.length === 0 ? 'PASS' : 'FAIL'}`);
  }

  log('');
  log(`## Summary (${o.connections} connections x ${o.size} B, ${o.duration} s each)`);
  log('');
  log('| server | req/s | p50 ms | p99 ms | RSS start MB | RSS end MB | end/start | fds before | fds after | bytes verified | other load % | verdict |');
  log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|');
  for (const r of results) {
    const l = r.load;
    log(
      `| ${r.def.key} | ${fmt(l?.rps ?? NaN)} | ${fmt((l?.p50_us ?? NaN) / 1000, 2)} | ${fmt((l?.p99_us ?? NaN) / 1000, 2)} | ${mb(r.rssStart)} | ${mb(r.rssEnd)} | ` +
        `${(r.rssEnd / r.rssStart).toFixed(2)}x | ${fmt(r.fdsBefore)} | ${fmt(r.fdsAfter)} | ${fmt(r.verified)} | ${fmt(r.other)} | ${r.flags.length === 0 ? 'PASS' : 'FAIL'} |`,
    );
  }
  const failed = results.filter((r) => r.flags.length > 0);
  log('');
  log(`soak took ${((Date.now() - t0) / 1000).toFixed(0)} s; ${failed.length === 0 ? 'every server passed' : `FAILED: ${failed.map((r) => r.def.key).join(', ')}`}`);
  return failed.length === 0 ? 0 : 1;
}

runMain(main);
