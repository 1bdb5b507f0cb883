/**
 * `npm run bench:calls`: what one call of core-native's `Socket` and `os`
 * costs, beside CPython making the same calls in the same run (issue 22,
 * "per call"). A persistent python3 worker (its own socketpair, pipe and
 * AF_UNIX listener) times each case with time.perf_counter_ns; Node times its
 * twin with process.hrtime. Each round runs every case on both sides back to
 * back (order alternating); figures are medians over rounds, and ratios are
 * medians of the per-round ratios (paired samples).
 *
 * Cases (ns per iteration, 64 B messages on an AF_UNIX socketpair, blocking):
 *   sr1024    send(64 B) + recv(1024)
 *   sr65536   send(64 B) + recv(65536)
 *   srinto    send(64 B) + recvInto(1024-byte buffer)
 *   sendall   sendall(64 B) + recv(1024)
 *   osrw      os.write(64 B) + os.read(1024) on a pipe
 *   setblock  setblocking(true) on a blocking socket (no change)
 *   toggle    setblocking(false) + setblocking(true) (two changes)
 *   fileno    fileno()
 *   accept    AF_UNIX connect + accept + close both
 *   srraw     the floor under sr1024: the binding's send_view + recv_view
 *             into one fixed buffer, no Socket, no copy (CPython: sr1024)
 *   osraw     the floor under osrw: binding.write + binding.read (CPython: osrw)
 */
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { binding, os, Socket, socketpair, socketConstants } from '@iomux/core-native';
import { envNumber } from './env.js';

const ROUNDS = Math.max(1, Math.round(envNumber('BENCH_REPEATS', 15)));
const TARGET_NS = envNumber('BENCH_TARGET_MS', 30) * 1e6;
const PYTHON = process.env.BENCH_PYTHON ?? 'python3';
const AF_UNIX = socketConstants.AF_UNIX!;
const SOCK_STREAM = socketConstants.SOCK_STREAM!;

const CASES = ['sr1024', 'sr65536', 'srinto', 'sendall', 'osrw', 'setblock', 'toggle', 'fileno', 'accept', 'srraw', 'osraw'] as const;
type Case = (typeof CASES)[number];

const SCRIPT = String.raw`
import os, socket, sys, time
pc = time.perf_counter_ns
upath = sys.argv[1]
a, b = socket.socketpair()
data = b'x' * 64
buf = bytearray(1024)
pr, pw = os.pipe()
lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lsn.bind(upath)
lsn.listen(128)

def t_sr1024(n):
    send, recv = a.send, b.recv
    t0 = pc()
    for _ in range(n):
        send(data); recv(1024)
    return pc() - t0

def t_sr65536(n):
    send, recv = a.send, b.recv
    t0 = pc()
    for _ in range(n):
        send(data); recv(65536)
    return pc() - t0

def t_srinto(n):
    send, recv_into = a.send, b.recv_into
    t0 = pc()
    for _ in range(n):
        send(data); recv_into(buf)
    return pc() - t0

def t_sendall(n):
    sendall, recv = a.sendall, b.recv
    t0 = pc()
    for _ in range(n):
        sendall(data); recv(1024)
    return pc() - t0

def t_osrw(n):
    w, r = os.write, os.read
    t0 = pc()
    for _ in range(n):
        w(pw, data); r(pr, 1024)
    return pc() - t0

def t_setblock(n):
    f = b.setblocking
    t0 = pc()
    for _ in range(n):
        f(True)
    return pc() - t0

def t_toggle(n):
    f = b.setblocking
    t0 = pc()
    for _ in range(n):
        f(False); f(True)
    return pc() - t0

def t_fileno(n):
    f = b.fileno
    t0 = pc()
    for _ in range(n):
        f()
    return pc() - t0

def t_accept(n):
    S, acc = socket.socket, lsn.accept
    t0 = pc()
    for _ in range(n):
        c = S(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(upath)
        s, _ = acc()
        s.close(); c.close()
    return pc() - t0

T = {k[2:]: v for k, v in globals().items() if k.startswith('t_')}
T['srraw'], T['osraw'] = t_sr1024, t_osrw
for line in sys.stdin:
    p = line.split()
    if not p or p[0] == 'quit':
        break
    try:
        sys.stdout.write('%d\n' % T[p[0]](int(p[1])))
    except Exception as e:
        sys.stdout.write('ERR %s: %s\n' % (type(e).__name__, e))
    sys.stdout.flush()
`;

/** The python3 worker: one "<case> <iters>" line in, one "<ns>" line out. */
class PyWorker {
  private readonly waiting: Array<(line: string) => void> = [];
  private readonly child;
  private stderr = '';
  constructor(upath: string) {
    this.child = spawn(PYTHON, ['-c', SCRIPT, upath], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => (this.stderr += s));
    this.child.on('error', (e) => this.fail(`cannot run ${PYTHON}: ${e.message}`));
    this.child.on('close', (code) => this.fail(`worker exited (${code}): ${this.stderr.trim()}`));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }
  private fail(msg: string): void {
    for (const w of this.waiting.splice(0)) w(`ERR ${msg}`);
  }
  run(what: Case, iters: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => (line.startsWith('ERR') ? reject(new Error(`python3: ${line}`)) : resolve(Number(line))));
      this.child.stdin.write(`${what} ${iters}\n`);
    });
  }
  quit(): void {
    this.child.stdin.end('quit\n');
  }
}

const hrnow = process.hrtime.bigint;
// A collection before every timed run, so one case's garbage (accept's
// sockets) is not collected inside the next case's timing.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
let sink = 0;

/** The Node twins of the worker's cases: each runs `n` iterations, returns ns. */
function nodeCases(upath: string): { run: Record<Case, (n: number) => number>; close: () => void } {
  const [a, b] = socketpair();
  const data = Buffer.alloc(64, 0x78);
  const buf = Buffer.alloc(1024);
  const [pr, pw] = os.pipe();
  const lsn = new Socket(AF_UNIX, SOCK_STREAM);
  lsn.bind(upath);
  lsn.listen(128);
  const [fa, fb] = [a.fileno(), b.fileno()];
  const { send_view: sendView, recv_view: recvView, write: writeFn, read: readFn } = binding;
  const timed = (body: () => number) => (n: number): number => {
    let s = 0;
    gc();
    const t0 = hrnow();
    for (let i = 0; i < n; i++) s += body();
    const t = Number(hrnow() - t0);
    sink ^= s;
    return t;
  };
  const run: Record<Case, (n: number) => number> = {
    sr1024: timed(() => a.send(data) + b.recv(1024).length),
    sr65536: timed(() => a.send(data) + b.recv(65536).length),
    srinto: timed(() => a.send(data) + b.recvInto(buf)),
    sendall: timed(() => {
      a.sendall(data);
      return b.recv(1024).length;
    }),
    osrw: timed(() => os.write(pw, data) + os.read(pr, 1024).length),
    setblock: timed(() => {
      b.setblocking(true);
      return 1;
    }),
    toggle: timed(() => {
      b.setblocking(false);
      b.setblocking(true);
      return 1;
    }),
    fileno: timed(() => b.fileno()),
    srraw: timed(() => sendView(fa, data) + recvView(fb, buf)),
    osraw: timed(() => writeFn(pw, data, 0, 64) + readFn(pr, buf, 0, 1024)),
    accept: timed(() => {
      const c = new Socket(AF_UNIX, SOCK_STREAM);
      c.connect(upath);
      const [s] = lsn.accept();
      s.close();
      c.close();
      return 1;
    }),
  };
  return {
    run,
    close: () => {
      for (const s of [a, b, lsn]) s.close();
      os.close(pr);
      os.close(pw);
    },
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function calibrate(run: (n: number) => number): number {
  let k = 16;
  for (;;) {
    const ns = run(k);
    if (ns >= TARGET_NS / 4 || k >= 1e8) return Math.max(1, Math.round((k * TARGET_NS) / Math.max(ns, 1)));
    k *= ns < TARGET_NS / 80 ? 10 : 2;
  }
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(0).padStart(8) : '       -');
const fx = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-calls-'));
  const node = nodeCases(path.join(dir, 'node.sock'));
  const py = new PyWorker(path.join(dir, 'py.sock'));
  let havePy = true;
  try {
    await py.run('fileno', 1);
  } catch (e) {
    havePy = false;
    process.stderr.write(`CPython column disabled: ${(e as Error).message}\n`);
  }
  const iters = {} as Record<Case, number>;
  for (const c of CASES) iters[c] = calibrate(node.run[c]);
  const ns: Record<Case, { node: number[]; py: number[]; ratio: number[] }> = {} as never;
  for (const c of CASES) ns[c] = { node: [], py: [], ratio: [] };
  const rel65536: number[] = [];
  const relPy65536: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order, so no case always runs first or after accept.
    for (let j = 0; j < CASES.length; j++) {
      const c = CASES[(j + r) % CASES.length]!;
      const k = iters[c];
      let tn = 0;
      let tp = NaN;
      // Alternate which side goes first, so drift hits both alike.
      if (r % 2 === 0 || !havePy) tn = node.run[c](k);
      if (havePy) tp = await py.run(c, k);
      if (r % 2 === 1 && havePy) tn = node.run[c](k);
      ns[c].node.push(tn / k);
      ns[c].py.push(tp / k);
      ns[c].ratio.push(tn / tp);
    }
    // recv(65536) against recv(1024), back to back in A-B-B-A order so a
    // drifting machine load weighs on both alike (the rotation above can
    // put the two cases a whole round apart).
    const h = Math.max(1, iters.sr1024 >> 1);
    const run = node.run;
    const a1 = run.sr1024(h), b1 = run.sr65536(h), b2 = run.sr65536(h), a2 = run.sr1024(h);
    rel65536.push((b1 + b2) / (a1 + a2));
    relPy65536.push(ns.sr65536.py[r]! / ns.sr1024.py[r]!);
  }
  node.close();
  py.quit();
  fs.rmSync(dir, { recursive: true, force: true });

  console.log(`Per-call cost, ns per iteration (median of ${ROUNDS} paired rounds; ratio = iomux / CPython, median of per-round ratios)`);
  console.log(`${'case'.padEnd(10)}${'iomux'.padStart(8)}${'CPython'.padStart(8)}  ratio`);
  for (const c of CASES) {
    console.log(`${c.padEnd(10)}${fmt(median(ns[c].node))}${fmt(median(ns[c].py))}  ${fx(median(ns[c].ratio))}`);
  }
  console.log(`recv(65536) / recv(1024) with 64 B waiting (send+recv): iomux ${fx(median(rel65536))}, CPython ${fx(median(relPy65536))}`);
  const verdicts: Array<[string, number, number]> = [
    ['per call: send(64) + recv(1024), iomux / CPython', median(ns.sr1024.ratio), 1.0],
    ['per call: recv(65536) with 64 B waiting, / recv(1024)', median(rel65536), 1.1],
  ];
  for (const [what, x, max] of verdicts) {
    const verdict = Number.isFinite(x) ? (x <= max ? 'PASS' : 'FAIL') : 'SKIP';
    console.log(`verdict: ${what}: ${fx(x)} (target <= ${max.toFixed(1)}x) ${verdict}`);
  }
  if (sink === 0.5) console.log('');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
