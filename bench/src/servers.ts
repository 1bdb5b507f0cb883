/**
 * Process plumbing for `npm run soak` (soak.ts): the echo servers it starts,
 * the C load generator it drives, and what it reads of a server from /proc
 * (resident memory, open descriptors).
 *
 * The server definitions and start/stop steps follow bench/src/echo.bench.ts
 * (same command lines, same `listening on` handshake, same pinning with
 * taskset); echo.bench.ts keeps its own copies because it runs on import.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'bench', 'build');
const NATIVE = path.join(ROOT, 'bench', 'native');
const RUN = path.join(ROOT, 'examples', 'dist', 'run.js');

export interface ServerDef {
  key: string;
  label: string;
  cmd: string;
  args: string[];
}

/** The servers a soak can run, in their default order. */
export const SERVERS: ServerDef[] = [
  { key: 'protocol', label: 'iomux loop protocol', cmd: process.execPath, args: [RUN, 'loop-protocol-echo-server', '--port', '0', '--backend', 'epoll'] },
  { key: 'buffered', label: 'iomux loop BufferedProtocol', cmd: process.execPath, args: [RUN, 'loop-protocol-echo-server', '--port', '0', '--backend', 'epoll', '--buffered'] },
  { key: 'streams', label: 'iomux loop streams', cmd: process.execPath, args: [RUN, 'loop-streams-echo-server', '--port', '0', '--backend', 'epoll'] },
  { key: 'node-net', label: 'Node net', cmd: process.execPath, args: [path.join(__dirname, 'node-net-echo-server.js'), '--port', '0'] },
];

/** Compiles bench/native/NAME.c with `$CC -O2` into bench/build/NAME. */
export function compile(name: string): string {
  const cc = process.env.CC ?? 'cc';
  const out = path.join(BUILD, name);
  const src = path.join(NATIVE, `${name}.c`);
  fs.mkdirSync(BUILD, { recursive: true });
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(`${cc} -O2 -o ${out} ${src} failed: ${r.error?.message ?? r.stderr}`);
  return out;
}

/**
 * The two CPUs of echo.bench.ts's cross-CPU mode (server on 0, load
 * generator on 1), or null where taskset or either CPU is missing.
 */
export function crossPinning(): { server: string; load: string } | null {
  const t = spawnSync('taskset', ['-c', '0', 'true']);
  if (t.error !== undefined || t.status !== 0) return null;
  try {
    const m = /^Cpus_allowed_list:\s*(.+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    const cpus = new Set<number>();
    for (const part of (m?.[1] ?? '').trim().split(',')) {
      const [a, b] = part.split('-').map(Number);
      for (let c = a!; c <= (b ?? a!); c++) cpus.add(c);
    }
    return cpus.has(0) && cpus.has(1) ? { server: '0', load: '1' } : null;
  } catch {
    return null;
  }
}

function withCpu(cpu: string | null, cmd: string, args: string[]): [string, string[]] {
  return cpu === null ? [cmd, args] : ['taskset', ['-c', cpu, cmd, ...args]];
}

export interface RunningServer {
  child: ChildProcess;
  pid: number;
  port: number;
  stderr: () => string;
  /** Set once the process has exited: its code or signal. */
  exited: () => string | null;
}

/** Starts a server (taskset execs it, so the child's pid is the server's) and waits for its listening line. */
export function startServer(def: ServerDef, cpu: string | null): Promise<RunningServer> {
  const [cmd, args] = withCpu(cpu, def.cmd, def.args);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exit: string | null = null;
  child.once('exit', (code, sig) => (exit = String(code ?? sig)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d.length + err.length > 65536 ? '' : d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${def.label}: no listening line within 15 s; stderr: ${err}`));
    }, 15000);
    const onData = (d: string): void => {
      out += d;
      const m = /listening on (\S+):(\d+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining
      resolve({ child, pid: child.pid!, port: Number(m[2]), stderr: () => err, exited: () => exit });
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${def.label} exited (${code ?? sig}) before listening; stderr: ${err}`));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export function stopServer(s: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 5000);
    s.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    s.child.kill('SIGTERM');
  });
}

/** The JSON line bench/native/echo-load.c prints (the fields soak.ts reads). */
export interface LoadResult {
  rps: number;
  p50_us: number;
  p99_us: number;
  messages: number;
  errors: number;
  connect_ms: number;
  conn_min: number;
  conn_max: number;
  stalled: number;
  max_inflight_us: number;
  seconds: number;
  server_cpu_us: number;
  load_cpu_us: number;
  cpus_busy_us: number;
  cpus_steal_us: number;
  error?: string;
}

/**
 * Runs echo-load for `seconds` with no warm-up (every message after the
 * connections are made is counted and verified), reading the busy time of
 * `cpus` too; rejects if it prints no
 * result or outlives its deadline (the run plus 120 s for connecting).
 */
export function runLoad(bin: string, cpu: string | null, port: number, pid: number, conns: number, size: number, seconds: number, cpus: string[]): Promise<LoadResult> {
  const [cmd, args] = withCpu(cpu, bin, [
    '--port', String(port),
    '--conns', String(conns),
    '--size', String(size),
    '--warmup', '0',
    '--duration', String(seconds),
    '--server-pid', String(pid),
    ...(cpus.length > 0 ? ['--cpus', cpus.join(',')] : []),
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);
    child.once('error', reject);
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as LoadResult);
      } catch {
        reject(new Error(`echo-load exited ${code ?? sig}: ${err.trim() || out.trim()}`));
      }
    });
  });
}

/** Resident memory of a process in bytes (VmRSS), or NaN once it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s*(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Number of open descriptors of a process (/proc/PID/fd), or NaN once it is gone. */
export function fdCount(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/**
 * One message over a fresh connection, its echo checked byte for byte
 * within 5 s: whether the server still serves. Never rejects.
 */
export function probeEcho(port: number, size: number): Promise<string | null> {
  const msg = Buffer.alloc(size, 0);
  for (let i = 0; i < size; i++) msg[i] = (i * 13 + 7) & 255;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    let done = false;
    const finish = (err: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => finish(`no complete echo of ${size} B within 5 s (${got} B back)`), 5000);
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write(msg));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got < size) return;
      finish(got === size && Buffer.concat(chunks).equals(msg) ? null : `echo differs from the ${size} B sent`);
    });
    sock.on('error', (e) => finish(e.message));
    sock.on('close', () => finish(`closed after ${got} of ${size} B`));
  });
}
