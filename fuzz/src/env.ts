/**
 * One episode's world: the descriptors and objects the child made (the only
 * ones a call may close, adopt or write to), the argument generators, and
 * what must be closed, settled and awaited before the episode's descriptor
 * count is compared.
 */
import * as fs from 'node:fs';
import { types } from 'node:util';
import { binding, os, socket, type Socket } from '@iomux/core-native';
import { type V, Rng, FuzzAbort, FuzzBoom, hostileList } from './values.js';

/** The descriptors this process holds now. */
export function fdSet(): Set<number> {
  const s = new Set<number>();
  for (const n of fs.readdirSync('/proc/self/fd')) s.add(Number(n));
  return s;
}

export function fdLink(fd: number): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return 'gone';
  }
}

export function fdKind(fd: number): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/\d+/g, 'N');
  } catch {
    return 'gone';
  }
}

/** A promise a call returned, and how long it may take to settle by itself. */
export interface Pending {
  entry: string;
  desc: string;
  promise: Promise<unknown>;
  /** ms after `start` by which it settles on its own (timeout, abort, readiness); null: only after the settlers run. */
  bound: number | null;
  start: number;
  settled: boolean;
}

interface Closer {
  close(): void;
}

/** Descriptor numbers the child never opens (the open-file limit is 20,000 at most). */
const FAR_FDS = [15001, 17777, 19999];

export class Env {
  readonly rng: Rng;
  readonly hostile: V[];
  /** Raw descriptors the episode owns: pipe ends and a /dev/null. */
  readonly raw: number[] = [];
  /** Numbers this episode closed (never handed to a call that closes or adopts). */
  readonly stale: number[] = [];
  readonly sockets: Socket[] = [];
  listener!: Socket;
  listenPort = 0;
  /** A pipe with a byte in it: its read end is always readable (it bounds synchronous waits). */
  readyR = -1;
  readyW = -1;
  /** A raw epoll descriptor for the binding's epoll calls. */
  epfd = -1;
  /** Objects by kind ('epoll', 'poll', 'selector', 'reader', ...), as calls return them. */
  readonly objs = new Map<string, V[]>();
  readonly closers: Array<() => void> = [];
  /** Servers (loop): closed, then waited for until their connections are gone. */
  readonly servers: Array<{ waitClosed(): Promise<void> }> = [];
  readonly settlers: Array<() => void> = [];
  readonly pending: Pending[] = [];
  /** Sockets with a loop operation in flight: calls that could close them leave them alone. */
  readonly busy = new WeakSet<object>();
  /** The loop died under the episode (a call closed a descriptor its selector waits on): its objects cannot all be closed. */
  brokenLoop = false;
  readonly tmpdir: string;
  #baseline: Set<number>;

  constructor(seed: number, tmpdir: string, baseline: Set<number>) {
    this.rng = new Rng(seed);
    this.hostile = hostileList();
    this.tmpdir = tmpdir;
    this.#baseline = baseline;
  }

  setup(): void {
    [this.readyR, this.readyW] = os.pipe();
    os.write(this.readyW, Buffer.from('r'));
    this.closers.push(() => os.close(this.readyR), () => os.close(this.readyW));
    for (let i = 0; i < 2; i++) {
      const [r, w] = os.pipe();
      this.raw.push(r, w);
    }
    this.raw.push(fs.openSync('/dev/null', 'r+'));
    this.epfd = binding.epoll_create1!(0);
    this.raw.push(this.epfd);
    for (const fd of this.raw) {
      os.setBlocking(fd, false);
      this.closers.push(() => this.closeRaw(fd));
    }
    const [a, b] = socket.socketpair();
    const udp = new socket.Socket(socket.AF_INET, socket.SOCK_DGRAM);
    this.listener = socket.createServer(['127.0.0.1', 0], { backlog: 4096 });
    this.listenPort = (this.listener.getsockname() as [string, number])[1];
    const client = socket.createConnection(['127.0.0.1', this.listenPort]);
    for (const s of [a, b, udp, this.listener, client]) this.addSocket(s);
  }

  addSocket(s: Socket): void {
    this.nb(s);
    this.sockets.push(s);
    this.closers.push(() => s.close());
  }

  /** Makes a socket non-blocking before a call that could block on it. */
  nb(s: unknown): void {
    try {
      if (s instanceof socket.Socket && !s.closed) s.setblocking(false);
    } catch {
      // A socket a call closed or broke: the call will say so.
    }
  }

  /** Puts O_NONBLOCK back on every raw descriptor (after calls that change it). */
  resetBlocking(): void {
    for (const fd of this.raw) {
      try {
        binding.set_blocking(fd, false);
      } catch {
        // Closed by a call.
      }
    }
    for (const s of this.sockets) this.nb(s);
  }

  /** Puts the always-readable descriptor on the raw epoll descriptor; false if that fails (it was closed). */
  ensureReadyEpfd(): boolean {
    try {
      binding.epoll_ctl!(this.epfd, 1, this.readyR, 1);
      return true;
    } catch {
      try {
        binding.epoll_ctl!(this.epfd, 3, this.readyR, 1);
        return true;
      } catch {
        return false;
      }
    }
  }

  /** Accepts and closes what queued on the listener, so a blocking connect to it never waits. */
  drainListener(): void {
    for (let i = 0; i < 64; i++) {
      try {
        this.listener.setblocking(false);
        this.listener.accept()[0].close();
      } catch {
        return;
      }
    }
  }

  put(kind: string, x: V): void {
    let l = this.objs.get(kind);
    if (l === undefined) this.objs.set(kind, (l = []));
    if (l.length < 12) l.push(x);
  }

  obj(kind: string): V | undefined {
    const l = this.objs.get(kind);
    return l === undefined || l.length === 0 ? undefined : this.rng.pick(l);
  }

  /** Registers a value a call returned for closing at the episode's end, and pools it. */
  track(x: unknown, d: string, fdNums: boolean, depth = 0): void {
    // A value whose traps throw cannot be looked into (the caller's own Proxy, handed back).
    if (depth > 2 || x === null || x === undefined || types.isProxy(x)) return;
    if (typeof x === 'number') {
      if (fdNums && Number.isInteger(x) && x >= 0 && !this.#baseline.has(x)) {
        // New descriptors block by default: a later read of one would hang the child.
        try {
          binding.set_blocking(x, false);
        } catch {
          return;
        }
        this.raw.push(x);
        this.closers.push(() => this.closeRaw(x));
      }
      return;
    }
    if (Array.isArray(x)) {
      if (x.length <= 8) x.forEach((y, i) => this.track(y, `${d}[${i}]`, fdNums, depth + 1));
      return;
    }
    if (typeof x !== 'object') return;
    if (x instanceof socket.Socket) {
      this.addSocket(x);
      return;
    }
    const c = x as Partial<Closer> & { abort?: () => void };
    if (typeof c.abort === 'function' && typeof c.close === 'function') {
      this.closers.push(() => c.abort!());
      this.put('transport', { v: x, d });
      return;
    }
    if (typeof c.close === 'function') {
      this.closers.push(() => c.close!());
      if (typeof (x as { waitClosed?: unknown }).waitClosed === 'function' && x.constructor?.name === 'Server') this.servers.push(x as never);
      this.put(x.constructor?.name ?? 'object', { v: x, d });
      return;
    }
    if (isFdHandle(x)) {
      this.closers.push(() => binding.fdhandle_close(x as never));
      this.put('fdhandle', { v: x, d });
    }
  }

  closeRaw(fd: number): void {
    const i = this.raw.indexOf(fd);
    if (i < 0) return;
    this.raw.splice(i, 1);
    this.stale.push(fd);
    try {
      binding.close(fd);
    } catch {
      // Already closed by a call.
    }
  }

  // ------------------------------------------------------------ generators

  /** Any hostile value. */
  h(): V {
    return this.rng.pick(this.hostile);
  }

  /**
   * A hostile value that names no open descriptor when converted (-0 is
   * descriptor 0): for arguments that are descriptors, so that no call
   * closes, adopts or writes to one of Node's own.
   */
  hFd(): V {
    for (;;) {
      const h = this.h();
      const n = typeof h.v === 'number' || typeof h.v === 'bigint' ? Number(h.v) : NaN;
      if (!(Number.isInteger(n) && n >= 0 && n < 15000)) return h;
    }
  }

  /** This call goes deep: nearly every argument valid, so that the one hostile value reaches the later checks. */
  deep = false;

  /** A valid value with probability p (0.92 in a deep call), else a hostile one. */
  or(p: number, valid: () => V): V {
    return this.rng.chance(this.deep ? Math.max(p, 0.92) : p) ? valid() : this.h();
  }

  int(valid: readonly number[], p = 0.5): V {
    return this.or(p, () => {
      const n = this.rng.pick(valid);
      return { v: n, d: String(n) };
    });
  }

  /** A descriptor number no call may close or adopt: the episode's own, a closed one, or hostile. */
  fd(): V {
    const r = this.deep ? this.rng.next() * 0.7 : this.rng.next();
    if (r < 0.35 && this.raw.length > 0) {
      const fd = this.rng.pick(this.raw);
      return { v: fd, d: `rawfd(${fd})` };
    }
    if (r < 0.6) {
      const s = this.rng.pick(this.sockets);
      return { v: fdOf(s), d: `sockfd(${fdOf(s)})` };
    }
    if (r < 0.7) {
      const fd = this.stale.length > 0 && this.rng.chance(0.5) ? this.rng.pick(this.stale) : this.rng.pick(FAR_FDS);
      return { v: fd, d: `closedfd(${fd})` };
    }
    return this.hFd();
  }

  /** A descriptor the callee may close (the episode's raw ones are then dropped from the pool). */
  fdToClose(): V {
    if (this.rng.chance(0.6) && this.raw.length > 0) {
      const fd = this.rng.pick(this.raw);
      this.closeRawLater(fd);
      return { v: fd, d: `rawfd(${fd})` };
    }
    return this.rng.chance(0.3) ? { v: this.rng.pick(FAR_FDS), d: 'closedfd' } : this.hFd();
  }

  /** Stops handing out `fd` (a call is about to close it) and closes it at the end if it is still open. */
  closeRawLater(fd: number): void {
    const i = this.raw.indexOf(fd);
    if (i >= 0) this.raw.splice(i, 1);
    const was = fdLink(fd);
    this.closers.push(() => {
      // Only the same descriptor: once a call closed it, its number may be another's (a wait's private epoll).
      if (fdLink(fd) !== was) return;
      this.raw.push(fd);
      this.closeRaw(fd);
    });
  }

  /** A descriptor handed over for adoption: a fresh dup (see Adopt). */
  fdToAdopt(): V & { adopt?: number } {
    if (this.rng.chance(0.65)) {
      const src = this.rng.chance(0.5) && this.raw.length > 0 ? this.rng.pick(this.raw) : fdOf(this.rng.pick(this.sockets));
      try {
        const fd = binding.dup(src);
        return { v: fd, d: `dup(${src})`, adopt: fd };
      } catch {
        // The source was closed by a call: hand a hostile value instead.
      }
    }
    return this.rng.chance(0.3) ? { v: this.rng.pick(FAR_FDS), d: 'closedfd' } : this.hFd();
  }

  /** "An int or an object with fileno()": descriptors, sockets, epoll objects, hostile. */
  fileobj(): V {
    const r = this.rng.next();
    if (r < 0.2) {
      const s = this.rng.pick(this.sockets);
      return { v: s, d: `Socket(${fdOf(s)})` };
    }
    if (r < 0.3) {
      const fd = this.rng.chance(0.5) && this.raw.length > 0 ? this.rng.pick(this.raw) : this.rng.pick(FAR_FDS);
      return { v: { fileno: () => fd }, d: `{ fileno: () => ${fd} }` };
    }
    return this.fd();
  }

  /** A byte buffer, mostly valid. */
  buf(p = 0.6): V {
    return this.or(p, () => {
      const n = this.rng.pick([0, 1, 7, 100, 4096, 65536]);
      const b = Buffer.alloc(n + 8, 0x62);
      return this.rng.chance(0.3) ? { v: b.subarray(3, 3 + n), d: `Buffer(${n}) at offset 3` } : { v: b.subarray(0, n), d: `Buffer(${n})` };
    });
  }

  /**
   * A callback: valid, throwing, rejecting, or hostile. Only a loop (which
   * hands a callback's error to its exception handler) gets a rejecting
   * one; a callback the addon calls from Node's loop gets none that throws
   * (its error would escape as any callback's does: the caller's bug).
   */
  fn(mode: 'loop' | 'sync' | 'native' = 'loop'): V {
    const choices: Array<() => V> = [() => ({ v: () => {}, d: '() => {}' })];
    if (mode !== 'native') choices.push(() => ({ v: () => { throw new FuzzBoom('callback'); }, d: '() => { throw }' }));
    if (mode === 'loop') choices.push(() => ({ v: async () => { throw new FuzzBoom('async callback'); }, d: 'async () => { throw }' }));
    choices.push(() => {
      for (;;) {
        const h = this.h();
        if (mode !== 'native' || typeof h.v !== 'function') return h;
      }
    });
    return this.rng.pick(choices)();
  }

  /** An AbortSignal the fuzzer aborts after `ms`, and the options object that carries it. */
  abortAfter(ms: number): V {
    const c = new AbortController();
    const t = setTimeout(() => c.abort(new FuzzAbort('fuzz abort')), ms);
    this.settlers.push(() => {
      clearTimeout(t);
      c.abort(new FuzzAbort('fuzz abort'));
    });
    return { v: { signal: c.signal }, d: `{ signal: aborted after ${ms} ms }` };
  }

  /** Records a promise a call returned, to await (bounded) before the episode ends. */
  pend(entry: string, desc: string, p: unknown, bound: number | null): void {
    if (!(p instanceof Promise)) return;
    const rec: Pending = { entry, desc, promise: p, bound, start: performance.now(), settled: false };
    this.pending.push(rec);
  }
}

export function fdOf(s: Socket): number {
  try {
    return s.fileno();
  } catch {
    return -1;
  }
}

export function isFdHandle(x: unknown): boolean {
  try {
    binding.fdhandle_fd(x as never);
    return true;
  } catch {
    return false;
  }
}
