/**
 * devpoll(): Python's select.devpoll object (/dev/poll: Solaris, illumos;
 * on Linux the addon's emulation over a level-triggered epoll).
 *
 * As CPython does, register(), modify() and unregister() only buffer
 * `struct pollfd` records; the buffer is written to the descriptor before
 * the next poll, or at once when it is full. So register() takes a number
 * that is not open, and poll() reports it as POLLNVAL.
 */
import { pyTypeName, resource } from '@iomux/core-native';
import { OverflowError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { OwnedFd } from './internal/owned-fd.js';
import { B, C } from './internal/native.js';
import { fdOf } from './internal/fileobj.js';
import { isEintr, rethrow } from './internal/errors.js';
import { toNanoseconds, now, remainingMs } from './internal/timeout.js';
import { PendingWait, checkWaitOptions, type AsyncWaitOptions, type InFlightWait } from './internal/async.js';

const DEFAULT_MASK = C.POLLIN! | C.POLLPRI! | C.POLLOUT!;
/** illumos' POLLREMOVE (the emulation's too); CPython does not export it, so neither do we. */
const POLLREMOVE = C.POLLREMOVE ?? 0x0800;
const USHRT_MAX = 65535;
const INT_MAX = 2147483647;
/**
 * The capacity when RLIMIT_NOFILE is unlimited (or above it): CPython would
 * try to allocate that many records; 2**20 is Linux's default ceiling.
 */
const MAX_CAPACITY = 2 ** 20;
/** The write buffer's and the result room's first size; each doubles up to the capacity. */
const FIRST_RECORDS = 64;
const CLOSED = 'I/O operation on closed devpoll object';
const NO_EVENTS: number[] = Object.freeze([]) as unknown as number[];
const TOKEN = Symbol('iomux.devpoll');

/** The "unsigned short" event mask converter of CPython 3.11 (as poll's). */
function toMask(x: unknown): number {
  let v: number;
  if (typeof x === 'number' && Number.isInteger(x)) v = x;
  else if (typeof x === 'bigint') v = x >= 2n ** 64n ? Infinity : x < 0n ? -1 : Number(x);
  else throw new TypeError('an integer is required');
  if (v < 0) throw new ValueError('value must be positive');
  if (v >= 2 ** 64) throw new OverflowError('Python int too large to convert to C unsigned long');
  if (v > USHRT_MAX) throw new OverflowError('Python int too large for C unsigned short');
  return v;
}

/**
 * devpoll.poll()'s timeout: milliseconds (floats allowed, rounded away from
 * zero as _PyTime_ROUND_TIMEOUT does); null or undefined blocks, -1 too;
 * anything under -1 or over INT_MAX is OverflowError.
 */
function toDevpollMs(t: unknown): number {
  if (t === undefined || t === null) return -1;
  if (t === 0) return 0;
  const ns = toNanoseconds(t, 1e6, 'timeout must be an integer or None');
  const ms = ns >= 0 ? Math.ceil(ns / 1e6) : Math.floor(ns / 1e6);
  if (ms < -1 || ms > INT_MAX) throw new OverflowError('timeout is too large');
  return ms;
}

/** A /dev/poll object; make one with `devpoll()`. */
export class Devpoll implements Disposable {
  #own: OwnedFd;
  /**
   * RLIMIT_NOFILE's soft limit at creation, as CPython's max_n_fds: the
   * records buffered before a write, and every poll's nfds (the device
   * refuses it once the limit is lower).
   */
  #capacity: number;
  /** Buffered struct pollfd records, [fd, events] int32 pairs. */
  #buf: Int32Array;
  #n = 0;
  /** A poll's results: room for every registered fd, up to the capacity (the rest come next poll). */
  #out: Int32Array;
  /** The registered fds, as the device's table has them: they size #out. */
  #registered = new Set<number>();
  #inFlight: InFlightWait | null = null;
  /** A pollEach() visit is running: #out must not be overwritten under it. */
  #visiting = false;

  /** @internal Use `devpoll()`. */
  constructor(token: unknown, fd: number, capacity: number) {
    if (token !== TOKEN) throw new TypeError("cannot create 'select.devpoll' instances");
    this.#capacity = capacity;
    this.#buf = new Int32Array(2 * Math.min(FIRST_RECORDS, capacity));
    this.#out = new Int32Array(2 * Math.min(FIRST_RECORDS, capacity));
    this.#own = new OwnedFd(fd);
  }

  /** True once close() has run. */
  get closed(): boolean {
    return this.#own.fd < 0;
  }

  /** Closes the /dev/poll descriptor (buffered records are dropped); later calls do nothing. */
  close(): void {
    this.#inFlight?.cancel(new ValueError(CLOSED));
    this.#n = 0;
    this.#registered.clear();
    this.#own.release();
  }

  /** The /dev/poll descriptor; ValueError once closed. */
  fileno(): number {
    return this.#own.get(CLOSED);
  }

  /** Beyond Python (CPython's devpoll has no `with`): closes at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Registers `fd` for `eventmask` (default POLLIN | POLLPRI | POLLOUT).
   * As /dev/poll does, registering an fd already registered ORs the masks;
   * use modify() to replace a mask.
   */
  register(fd: unknown, eventmask?: number): void {
    const n = arguments.length;
    if (n < 1) throw new TypeError('register expected at least 1 argument, got 0');
    if (n > 2) throw new TypeError(`register expected at most 2 arguments, got ${n}`);
    const f = fdOf(fd);
    const mask = eventmask === undefined ? DEFAULT_MASK : toMask(eventmask);
    this.#checkOpen();
    this.#registered.add(f);
    this.#push(f, mask);
  }

  /** Replaces the mask of `fd` (a remove, then an add, as CPython writes it); registers it if it was not. */
  modify(fd: unknown, eventmask?: number): void {
    const n = arguments.length;
    if (n < 1) throw new TypeError('modify expected at least 1 argument, got 0');
    if (n > 2) throw new TypeError(`modify expected at most 2 arguments, got ${n}`);
    const f = fdOf(fd);
    const mask = eventmask === undefined ? DEFAULT_MASK : toMask(eventmask);
    this.#checkOpen();
    this.#registered.add(f);
    this.#push(f, POLLREMOVE);
    this.#push(f, mask);
  }

  /** Removes `fd`; an fd that is not registered is ignored (no KeyError, unlike poll). */
  unregister(fd: unknown): void {
    const n = arguments.length;
    if (n !== 1) throw new TypeError(`devpoll.unregister() takes exactly one argument (${n} given)`);
    const f = fdOf(fd);
    this.#checkOpen();
    this.#registered.delete(f);
    this.#push(f, POLLREMOVE);
  }

  #checkOpen(): void {
    if (this.#own.fd < 0) throw new ValueError(CLOSED);
  }

  /**
   * Buffers one record; a full buffer is written at once, as CPython does,
   * and so is every record while a pollAsync() waits (its watch must see it).
   */
  #push(fd: number, events: number): void {
    const i = 2 * this.#n;
    if (i === this.#buf.length) this.#grow();
    this.#buf[i] = fd;
    this.#buf[i + 1] = events;
    if (++this.#n === this.#capacity || this.#inFlight !== null) this.#flush();
  }

  /** Doubles the write buffer, up to the capacity. */
  #grow(): void {
    const next = new Int32Array(2 * Math.min(this.#capacity, 2 * (this.#buf.length >> 1)));
    next.set(this.#buf);
    this.#buf = next;
  }

  /** Writes the buffered records; the buffer is emptied first, even if the write fails. */
  #flush(): void {
    const n = this.#n;
    if (n === 0) return;
    this.#n = 0;
    try {
      B.devpoll_write!(this.#own.fd, this.#buf, n);
    } catch (e) {
      rethrow(e);
    }
  }

  /**
   * Waits for events. `timeoutMs` is in milliseconds (as CPython's devpoll
   * takes it; floats rounded away from zero); omitted, null or -1 blocks,
   * below -1 is OverflowError. Returns `[fd, revents]` pairs. Beyond
   * CPython (whose devpoll has no async twin): RuntimeError while a
   * pollAsync() is in flight.
   */
  poll(timeoutMs?: number | null): Array<[number, number]> {
    if (arguments.length > 1) throw new TypeError(`poll expected at most 1 argument, got ${arguments.length}`);
    const ms = this.#parse(timeoutMs);
    if (this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    return this.#pairs(this.#waitRaw(ms));
  }

  /** The first `n` ready records of #out as [fd, revents] pairs; revents a C short, as CPython reads it. */
  #pairs(n: number): Array<[number, number]> {
    const out = this.#out;
    const result: Array<[number, number]> = new Array(n);
    for (let i = 0; i < n; i++) result[i] = [out[2 * i]!, (out[2 * i + 1]! << 16) >> 16];
    return result;
  }

  /**
   * The promise twin of poll(): waits without blocking the JS thread, its
   * own descriptor watched by Node. `signal` aborts the wait (rejecting with
   * its reason); a second wait while one is in flight is
   * `RuntimeError('concurrent poll() invocation')`; close() during the wait
   * rejects it with ValueError.
   */
  pollAsync(timeoutMs?: number | null, options?: AsyncWaitOptions): Promise<Array<[number, number]>> {
    try {
      const signal = checkWaitOptions(options, 'pollAsync');
      const ms = this.#parse(timeoutMs);
      return this.#start(() => this.#pairs(this.#waitRaw(0)), ms, signal, options?.assumeNotReady === true);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: poll() that calls `visit(fd, revents)` for each ready
   * descriptor instead of returning pairs; returns how many there were.
   * `visit` may not poll this object again (RuntimeError), but may
   * register, modify and unregister.
   */
  pollEach(timeoutMs: number | null | undefined, visit: (fd: number, revents: number) => void): number {
    if (typeof visit !== 'function') throw new TypeError(`pollEach() visit must be a function, not '${pyTypeName(visit)}'`);
    const ms = this.#parse(timeoutMs);
    if (this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    const n = this.#waitRaw(ms);
    this.#visit(n, visit);
    return n;
  }

  /**
   * Beyond Python: the promise twin of pollEach(). `visit` runs for each
   * ready descriptor once the wait finds some, then the promise resolves
   * with their number; 0 on a timeout or interruptWait(). A visit that
   * throws rejects the promise.
   */
  pollEachAsync(
    timeoutMs: number | null | undefined,
    visit: (fd: number, revents: number) => void,
    options?: AsyncWaitOptions,
  ): Promise<number> {
    try {
      if (typeof visit !== 'function') throw new TypeError(`pollEachAsync() visit must be a function, not '${pyTypeName(visit)}'`);
      const signal = checkWaitOptions(options, 'pollEachAsync');
      const ms = this.#parse(timeoutMs);
      const look = (): number[] => {
        const n = this.#waitRaw(0);
        if (n === 0) return NO_EVENTS;
        this.#visit(n, visit);
        return [n];
      };
      return this.#start(look, ms, signal, options?.assumeNotReady === true, countOf);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: ends a pollAsync() or pollEachAsync() in flight now,
   * resolving it as a timeout would. Returns whether a wait was in flight.
   */
  interruptWait(): boolean {
    return this.#inFlight?.interrupt() ?? false;
  }

  /** CPython's order: the closed check, then the timeout's conversion. */
  #parse(timeoutMs: unknown): number {
    this.#checkOpen();
    return toDevpollMs(timeoutMs);
  }

  #start<T, R>(attempt: () => T[], ms: number, signal: AbortSignal | undefined, assumeNotReady: boolean, map?: (l: T[]) => R): Promise<R> {
    if (this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    // The watched descriptor must see the buffered registrations.
    this.#flush();
    const wait = new PendingWait<T, R>(attempt, ms, signal, () => {
      this.#inFlight = null;
    }, !assumeNotReady, map);
    if (!wait.done) {
      this.#inFlight = wait;
      wait.arm(this.#own.handle!);
    }
    return wait.promise;
  }

  #visit(n: number, visit: (fd: number, revents: number) => void): void {
    if (n === 0) return;
    const out = this.#out;
    this.#visiting = true;
    try {
      for (let i = 0; i < n; i++) visit(out[2 * i]!, (out[2 * i + 1]! << 16) >> 16);
    } finally {
      this.#visiting = false;
    }
  }

  /** Flush, then ioctl(DP_POLL) into #out with the PEP 475 retry: how many are ready. */
  #waitRaw(ms: number): number {
    this.#checkOpen();
    if (this.#visiting) throw new RuntimeError('concurrent poll() invocation');
    this.#flush();
    const room = Math.min(this.#registered.size, this.#capacity);
    // Doubling, so that registering one at a time reallocates rarely.
    if (2 * room > this.#out.length) this.#out = new Int32Array(2 * Math.min(this.#capacity, 2 ** Math.ceil(Math.log2(room))));
    const out = this.#out;
    // nfds is the capacity, as CPython's: the device fails it once RLIMIT_NOFILE is lower.
    const nfds = this.#capacity;
    const deadline = ms > 0 ? now() + ms : 0;
    for (;;) {
      try {
        return B.devpoll_poll!(this.#own.fd, out, nfds, ms);
      } catch (e) {
        if (!isEintr(e)) rethrow(e);
        if (ms > 0) ms = remainingMs(deadline);
      }
    }
  }
}

function countOf(found: number[]): number {
  return found.length === 0 ? 0 : found[0]!;
}

/** Python's `select.devpoll()`: a new /dev/poll object, its descriptor close-on-exec. */
function devpollFactory(): Devpoll {
  if (arguments.length > 0) throw new TypeError(`select.devpoll() takes no arguments (${arguments.length} given)`);
  // As CPython: the limit first, then the device.
  const soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0];
  const capacity = soft === resource.RLIM_INFINITY || soft > MAX_CAPACITY ? MAX_CAPACITY : Math.max(1, soft);
  let fd: number;
  try {
    fd = B.devpoll_open!();
  } catch (e) {
    rethrow(e);
  }
  return new Devpoll(TOKEN, fd, capacity);
}

export const devpoll: {
  (): Devpoll;
  readonly prototype: Devpoll;
  /** True on Linux, where the addon emulates /dev/poll over epoll. */
  readonly emulated: boolean;
} = Object.assign(devpollFactory, { emulated: typeof B.devpoll_count === 'function' }) as never;
// `dp instanceof devpoll` holds, as isinstance(dp, select.devpoll) does.
Object.defineProperty(devpoll, 'prototype', { value: Devpoll.prototype });
