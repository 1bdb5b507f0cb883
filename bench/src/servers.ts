/**
 * Process plumbing shared by `npm run bench:echo` (echo.bench.ts) and
 * `npm run soak` (soak.ts): the echo servers they start (same command lines,
 * same `listening on` handshake, same pinning with taskset), the C tools of
 * bench/native they compile, the load generator they drive, and what soak.ts
 * reads of a server from /proc (resident memory, open descriptors).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'bench', 'build');
const NATIVE = path.join(ROOT, 'bench', 'native');
const RUN = path.join(ROOT, 'examples', 'dist', 'run.js');
export const CC = process.env.CC ?? 'cc';
/** The pinned modes' CPUs: the server on 0, and across CPUs the load generator on 1. */
export const SERVER_CPU = '0';
export const LOAD_CPU_CROSS = '1';

export function log(msg: string): void {
  process.stdout.write(msg + '\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface ServerDef {
  key: string;
  label: string;
  cmd: string;
  args: string[];
  /** A Python server: the module its interpreter must import ('selectors', 'asyncio' or 'uvloop'). */
  python?: string;
  /** Environment variables set for the server on top of this process's. */
  env?: Record<string, string>;
}

/** Every echo server, in echo.bench.ts's default order; the opt-in ones last. */
export const ALL_SERVERS: ServerDef[] = [
  {
    key: 'protocol',
    label: 'iomux loop protocol',
    cmd: process.execPath,
    args: [RUN, 'loop-protocol-echo-server', '--port', '0', '--backend', 'epoll'],
  },
  {
    // The same server on asyncio's BufferedProtocol (getBuffer/bufferUpdated).
    key: 'buffered',
    label: 'iomux loop BufferedProtocol',
    cmd: process.execPath,
    args: [RUN, 'loop-protocol-echo-server', '--port', '0', '--backend', 'epoll', '--buffered'],
  },
  {
    // Opt-in: the protocol server with its read and write batches making a
    // syscall per socket instead of one io_uring call per batch (core-native
    // batch_io; what the loop does where io_uring is refused).
    key: 'protocol-syscalls',
    label: 'iomux loop protocol, batches without io_uring',
    cmd: process.execPath,
    args: [RUN, 'loop-protocol-echo-server', '--port', '0', '--backend', 'epoll'],
    env: { IOMUX_URING: '0' },
  },
  {
    key: 'streams',
    label: 'iomux loop streams',
    cmd: process.execPath,
    args: [RUN, 'loop-streams-echo-server', '--port', '0', '--backend', 'epoll'],
  },
  {
    key: 'node-net',
    label: 'Node net',
    cmd: process.execPath,
    args: [path.join(__dirname, 'node-net-echo-server.js'), '--port', '0'],
  },
  { key: 'c', label: 'C epoll', cmd: path.join(BUILD, 'echo-server'), args: ['--port', '0'] },
  {
    // Python's selectors docs' echo server ported onto @iomux/selectors.
    key: 'selectors',
    label: 'iomux selectors-echo-server',
    cmd: process.execPath,
    args: [RUN, 'selectors-echo-server', '--port', '0'],
  },
  {
    // The same port with the docs' own loop: a select() that blocks, as CPython's.
    key: 'selectors-blocking',
    label: 'iomux selectors-echo-server --blocking',
    cmd: process.execPath,
    args: [RUN, 'selectors-echo-server', '--port', '0', '--blocking'],
  },
  {
    // The same docs' code on CPython (bench/python/selectors_echo_server.py).
    key: 'py-selectors',
    label: 'CPython selectors',
    cmd: 'python3',
    args: [path.join(ROOT, 'bench', 'python', 'selectors_echo_server.py'), '--port', '0'],
    python: 'selectors',
  },
  // Opt-in references (BENCH_ECHO_SERVERS=...,uvloop,asyncio): the same
  // protocol echo on CPython's asyncio and on uvloop (bench/python/echo_server.py),
  // run by the first Python that has the loop (see pythonFor).
  ...(['uvloop', 'asyncio'] as const).map((loop) => ({
    key: loop,
    label: loop === 'uvloop' ? 'uvloop' : 'CPython asyncio',
    cmd: 'python3',
    args: [path.join(ROOT, 'bench', 'python', 'echo_server.py'), '--loop', loop, '--port', '0'],
    python: loop,
  })),
];

/**
 * The Python that can import `mod`: BENCH_PYTHON if set, else the first of
 * `python3` on the PATH and /usr/bin/python3 (Debian's python3-uvloop
 * installs for the latter), or null.
 */
export function pythonFor(mod: string): string | null {
  const env = process.env.BENCH_PYTHON;
  for (const py of env !== undefined && env !== '' ? [env] : ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', `import ${mod}`]);
    if (r.error === undefined && r.status === 0) return py;
  }
  return null;
}

/** "(Python 3.11.2, uvloop 0.17.0)": what the table's label names. */
export function pythonVersions(py: string, mod: string): string {
  const code = `import sys, ${mod} as m; print(sys.version.split()[0], getattr(m, '__version__', ''))`;
  const [v, mv] = spawnSync(py, ['-c', code], { encoding: 'utf8' }).stdout.trim().split(' ');
  return `(Python ${v ?? '?'}${mv !== undefined && mv !== '' ? `, ${mod} ${mv}` : ''})`;
}

/** Compiles bench/native/NAME.c with `$CC -O2` into bench/build/NAME. */
export function compile(name: string): string {
  const out = path.join(BUILD, name);
  const src = path.join(NATIVE, `${name}.c`);
  fs.mkdirSync(BUILD, { recursive: true });
  const r = spawnSync(CC, ['-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`${CC} -O2 -o ${out} ${src} failed: ${r.error?.message ?? r.stderr}`);
  }
  return out;
}

export function hasTaskset(): boolean {
  const r = spawnSync('taskset', ['-c', '0', 'true']);
  return r.error === undefined && r.status === 0;
}

/** CPUs this process may run on (from /proc/self/status), or null. */
export function allowedCpus(): number[] | null {
  try {
    const m = /^Cpus_allowed_list:\s*(.+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m === null) return null;
    const cpus: number[] = [];
    for (const part of m[1]!.trim().split(',')) {
      const [a, b] = part.split('-').map(Number);
      for (let c = a!; c <= (b ?? a!); c++) cpus.push(c);
    }
    return cpus;
  } catch {
    return null;
  }
}

/**
 * The two CPUs of echo.bench.ts's cross-CPU mode (server on 0, load
 * generator on 1), or null where taskset or either CPU is missing (or the
 * allowed CPUs cannot be read).
 */
export function crossPinning(): { server: string; load: string } | null {
  if (!hasTaskset()) return null;
  const cpus = allowedCpus();
  return cpus !== null && cpus.includes(0) && cpus.includes(1) ? { server: SERVER_CPU, load: LOAD_CPU_CROSS } : null;
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

/**
 * Starts a server (taskset execs it, so the child's pid is the server's) and
 * waits for its listening line. Its stderr is kept up to `maxStderr`
 * characters (soak.ts's servers run for minutes), then dropped.
 */
export function startServer(def: ServerDef, cpu: string | null, maxStderr = Infinity): Promise<RunningServer> {
  const [cmd, args] = withCpu(cpu, def.cmd, def.args);
  const env = def.env !== undefined ? { ...process.env, ...def.env } : process.env;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  let exit: string | null = null;
  child.once('exit', (code, sig) => (exit = String(code ?? sig)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d.length + err.length > maxStderr ? '' : d));
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

/** The JSON line bench/native/echo-load.c prints. */
export interface LoadResult {
  rps: number;
  p50_us: number;
  p99_us: number;
  messages: number;
  errors: number;
  server_cpu_us: number;
  load_cpu_us: number;
  cpus_busy_us: number;
  cpus_steal_us: number;
  connect_ms: number;
  conn_min: number;
  conn_max: number;
  stalled: number;
  max_inflight_us: number;
  seconds: number;
  error?: string;
}

/** How long echo-load runs, and how much longer it may take before it is killed. */
export interface LoadTiming {
  /** Seconds of load before the counted window (0: every message after connecting counts). */
  warmup: number;
  /** Seconds counted. */
  seconds: number;
  /** Seconds past warmup + seconds (connecting included) before echo-load is killed. */
  slack: number;
}

/**
 * Runs echo-load against the server (pid: whose CPU time it reads), reading
 * the busy time of `cpus` too; rejects if it prints no result (killed past
 * its deadline, say). `extra`: more echo-load options (`--udp`, `--unix PATH`).
 */
export function runLoad(
  loadBin: string,
  cpu: string | null,
  port: number,
  pid: number,
  conns: number,
  size: number,
  cpus: string[],
  t: LoadTiming,
  extra: string[] = [],
): Promise<LoadResult> {
  const [cmd, args] = withCpu(cpu, loadBin, [
    '--port', String(port),
    '--conns', String(conns),
    '--size', String(size),
    '--warmup', String(t.warmup),
    '--duration', String(t.seconds),
    '--server-pid', String(pid),
    ...(cpus.length > 0 ? ['--cpus', cpus.join(',')] : []),
    ...extra,
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (t.warmup + t.seconds + t.slack) * 1000);
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
