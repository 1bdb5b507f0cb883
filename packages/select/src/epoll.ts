/**
 * epoll(): Python's select.epoll object (Linux).
 *
 * The epoll descriptor is an OwnedFd (internal/owned-fd.ts): close(), garbage
 * collection or the end of its thread closes it. poll() reuses one output
 * buffer per object, so a call costs one native call plus the result array
 * (internal/epoll-events.ts: the buffer, the visits and the waits).
 */
import { fromErrno } from '@iomux/core-native';
import { OSError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { pyTypeName } from '@iomux/core-native';
import { OwnedFd } from './internal/owned-fd.js';
import { B, C, SETSIZE, toCInt } from './internal/native.js';
import { fdOf } from './internal/fileobj.js';
import { EBADF, rethrow } from './internal/errors.js';
import { toPollMs } from './internal/timeout.js';
import { checkWaitOptions, isOptions, type AsyncWaitOptions } from './internal/async.js';
import { CLOSED, EpollEvents, countOf } from './internal/epoll-events.js';

// From the addon; absent without epoll, where no Epoll is ever made.
const CTL_ADD = C.EPOLL_CTL_ADD!;
const CTL_DEL = C.EPOLL_CTL_DEL!;
const CTL_MOD = C.EPOLL_CTL_MOD!;
const EPOLL_CLOEXEC = C.EPOLL_CLOEXEC!;
const DEFAULT_MASK = C.EPOLLIN! | C.EPOLLPRI! | C.EPOLLOUT!;
/**
 * The most events one poll() returns, whatever maxevents asks: the buffer is
 * preallocated, and epoll hands the rest to the next call (ready lists are
 * round-robin), so a huge maxevents cannot exhaust memory.
 */
const MAX_EVENTS_PER_CALL = 65536;

const TOKEN = Symbol('iomux.epoll');

/**
 * An event mask as CPython's epoll takes it ("unsigned int", bitwise): any
 * integer, reduced modulo 2**32; a float is a TypeError.
 */
function toEventMask(x: unknown): number {
  if (typeof x === 'number' && Number.isInteger(x)) return x >>> 0;
  if (typeof x === 'bigint') return Number(BigInt.asUintN(32, x));
  throw new TypeError(`'${pyTypeName(x)}' object cannot be interpreted as an integer`);
}


/** `epoll()`'s arguments (Python's keywords `sizehint`, `flags`) as one options object. */
export interface EpollOptions {
  /** Ignored by the kernel; -1 (the default) or a positive number, else ValueError. */
  sizehint?: number;
  /** 0 (the default) or EPOLL_CLOEXEC; anything else is OSError. */
  flags?: number;
}

/** `Epoll.poll()`'s arguments (Python's keywords `timeout`, `maxevents`) as one options object. */
export interface EpollPollOptions {
  /** In seconds (floats allowed, rounded up to the millisecond); omitted, null or negative blocks. */
  timeout?: number | null;
  /** The most events to return; -1 (the default) means FD_SETSIZE - 1. */
  maxevents?: number;
}

/** An epoll object; make one with `epoll()` or `epoll.fromfd(fd)`. */
export class Epoll implements Disposable {
  #own: OwnedFd;
  /** The output buffer, the visits and the waits in flight (internal/epoll-events.ts). */
  #ev: EpollEvents;

  /** @internal Use `epoll()` or `epoll.fromfd()`. */
  constructor(token: unknown, fd: number) {
    if (token !== TOKEN) throw new TypeError('use select.epoll() or select.epoll.fromfd() to make an epoll object');
    this.#own = new OwnedFd(fd);
    this.#ev = new EpollEvents(this.#own);
  }

  /** Wraps an existing epoll descriptor, which this object then owns. */
  static fromfd(fd: number): Epoll {
    if (arguments.length !== 1) throw new TypeError(`epoll.fromfd() takes exactly one argument (${arguments.length} given)`);
    const f = toCInt(fd);
    // CPython quirk kept: -1 means "make a new one".
    if (f === -1) return create(-1, 0);
    // Differs from CPython: it raises OSError with a stale errno here.
    if (f < 0) throw fromErrno(EBADF);
    return new Epoll(TOKEN, f);
  }

  /** True once close() has run. */
  get closed(): boolean {
    return this.#own.fd < 0;
  }

  /** Closes the epoll descriptor; later calls do nothing. */
  close(): void {
    // Settle a wait in flight first: its watcher must let go of the
    // descriptor before the descriptor is closed.
    this.#ev.inFlight?.cancel(new ValueError(CLOSED));
    this.#own.release();
  }

  /** The epoll descriptor; ValueError once closed. */
  fileno(): number {
    return this.#own.get(CLOSED);
  }

  /** Closes the epoll object at the end of a `using` block, as Python's `with` does. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Registers `fd` for `eventmask` (default EPOLLIN | EPOLLPRI | EPOLLOUT). */
  register(fd: unknown, eventmask?: number): void {
    const n = arguments.length;
    if (n < 1) throw new TypeError("register() missing required argument 'fd' (pos 1)");
    if (n > 2) throw new TypeError(`register() takes at most 2 arguments (${n} given)`);
    const f = fdOf(fd);
    const mask = eventmask === undefined ? DEFAULT_MASK : toEventMask(eventmask);
    this.#ctl(CTL_ADD, f, mask);
  }

  /** Changes the mask of a registered `fd`. */
  modify(fd: unknown, eventmask: number): void {
    const n = arguments.length;
    if (n < 1) throw new TypeError("modify() missing required argument 'fd' (pos 1)");
    if (n < 2) throw new TypeError("modify() missing required argument 'eventmask' (pos 2)");
    if (n > 2) throw new TypeError(`modify() takes at most 2 arguments (${n} given)`);
    const f = fdOf(fd);
    this.#ctl(CTL_MOD, f, toEventMask(eventmask));
  }

  /** Removes `fd`. */
  unregister(fd: unknown): void {
    const n = arguments.length;
    if (n < 1) throw new TypeError("unregister() missing required argument 'fd' (pos 1)");
    if (n > 1) throw new TypeError(`unregister() takes at most 1 argument (${n} given)`);
    this.#ctl(CTL_DEL, fdOf(fd), 0);
  }

  #ctl(op: number, fd: number, mask: number): void {
    const epfd = this.#own.fd;
    if (epfd < 0) throw new ValueError(CLOSED);
    try {
      B.epoll_ctl!(epfd, op, fd, mask);
    } catch (e) {
      rethrow(e);
    }
  }

  /**
   * Waits for events. `timeout` is in seconds (floats allowed, rounded up to
   * the millisecond); omitted, null or negative blocks. `maxevents` -1 means
   * FD_SETSIZE - 1. Returns `[fd, events]` pairs. Also takes one options
   * object: `poll({ timeout, maxevents })`.
   */
  poll(timeout?: number | null | EpollPollOptions, maxevents?: number): Array<[number, number]> {
    if (arguments.length > 2) throw new TypeError(`poll() takes at most 2 arguments (${arguments.length} given)`);
    if (isOptions(timeout)) {
      if (arguments.length > 1) throw new TypeError('poll() takes an options object or positional arguments, not both');
      ({ timeout, maxevents } = timeout as EpollPollOptions);
    }
    const [ms, max] = this.#parse(timeout, maxevents);
    if (this.#ev.inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    return this.#ev.wait(ms, max);
  }

  /**
   * The promise twin of poll(): waits without blocking the JS thread, so
   * Node's timers, sockets and fs keep running. `signal` aborts the wait
   * (rejecting with its reason) and leaves the object usable; a second wait
   * while one is in flight is `RuntimeError('concurrent poll() invocation')`;
   * close() during the wait rejects it with ValueError. Also
   * `pollAsync({ timeout, maxevents, signal })`.
   */
  pollAsync(
    timeout?: number | null | (EpollPollOptions & AsyncWaitOptions),
    maxevents?: number | AsyncWaitOptions,
    options?: AsyncWaitOptions,
  ): Promise<Array<[number, number]>> {
    let opts: AsyncWaitOptions | undefined;
    try {
      if (isOptions(timeout)) {
        opts = timeout as EpollPollOptions & AsyncWaitOptions;
        ({ timeout, maxevents } = opts as EpollPollOptions);
      } else if (isOptions(maxevents)) {
        opts = maxevents as AsyncWaitOptions;
        maxevents = undefined;
      } else {
        opts = options;
      }
      const signal = checkWaitOptions(opts, 'pollAsync');
      const [ms, max] = this.#parse(timeout, maxevents as number | undefined);
      const ev = this.#ev;
      if (ev.inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
      // The first look, with no wait object: what it throws rejects (catch below).
      const looked = opts?.assumeNotReady === true || signal?.aborted === true;
      if (!looked) {
        const found = ev.wait(0, max);
        if (found.length > 0 || ms === 0) return Promise.resolve(found);
      }
      return ev.start(() => ev.wait(0, max), ms, signal, true, undefined, ev.look(max, ev.pairsLook));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: ends a pollAsync() in flight now, resolving it with []
   * (no error). For an event loop woken by work from elsewhere; cheaper
   * than an AbortSignal. Returns whether a wait was in flight.
   */
  interruptWait(): boolean {
    return this.#ev.inFlight?.interrupt() ?? false;
  }

  /** Python's argument order: maxevents as a C int, closed, timeout, range. */
  #parse(timeout: unknown, maxevents: unknown): [ms: number, max: number] {
    let max = maxevents === undefined ? -1 : toCInt(maxevents);
    // CPython checks for a closed object after parsing maxevents as a C int
    // but before it converts the timeout or range-checks maxevents.
    if (this.#own.fd < 0) throw new ValueError(CLOSED);
    const ms = toPollMs(timeout, 1e9);
    if (max === -1) max = SETSIZE - 1;
    else if (max < 1) throw new ValueError(`maxevents must be greater than 0, got ${max}`);
    // Differs from CPython: at most MAX_EVENTS_PER_CALL events per call.
    if (max > MAX_EVENTS_PER_CALL) max = MAX_EVENTS_PER_CALL;
    return [ms, max];
  }

  /**
   * Beyond Python: poll() that calls `visit(fd, events)` for each event
   * instead of returning `[fd, events]` pairs (for loops that must not
   * allocate per event); returns how many events there were. Arguments and
   * errors as poll()'s; `visit` may not poll this object again (that is
   * RuntimeError), but may register, modify and unregister.
   */
  pollEach(timeout: number | null | undefined, maxevents: number | undefined, visit: (fd: number, events: number) => void): number {
    if (typeof visit !== 'function') throw new TypeError(`pollEach() visit must be a function, not '${pyTypeName(visit)}'`);
    const [ms, max] = this.#parse(timeout, maxevents);
    const ev = this.#ev;
    if (ev.inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    const n = ev.waitRaw(ms, max);
    ev.visit(n, visit);
    return n;
  }

  /**
   * Beyond Python: the promise twin of pollEach(), as pollAsync() is
   * poll()'s. `visit` runs for each event once the wait finds some (during
   * the call itself when they are there at once), then the promise
   * resolves with their number; 0 on a timeout or interruptWait(). A visit
   * that throws rejects the promise (the rest of that batch is not visited).
   */
  pollEachAsync(
    timeout: number | null | undefined,
    maxevents: number | undefined,
    visit: (fd: number, events: number) => void,
    options?: AsyncWaitOptions,
  ): Promise<number> {
    try {
      if (typeof visit !== 'function') throw new TypeError(`pollEachAsync() visit must be a function, not '${pyTypeName(visit)}'`);
      const signal = checkWaitOptions(options, 'pollEachAsync');
      const [ms, max] = this.#parse(timeout, maxevents);
      const ev = this.#ev;
      if (ev.inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
      // The first look, as pollAsync's: no closure or wait object when it finds events.
      const looked = options?.assumeNotReady === true || signal?.aborted === true;
      if (!looked) {
        const n = ev.waitRaw(0, max);
        if (n > 0 || ms === 0) {
          ev.visit(n, visit);
          return Promise.resolve(n);
        }
      }
      ev.eachMax = max;
      ev.eachVisit = visit;
      // The wait's results are [n] or []: resolved as the count.
      return ev.start(ev.lookEach, ms, signal, true, countOf, ev.look(max, ev.eachFound));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

function create(sizehint: number, flags: number): Epoll {
  if (sizehint !== -1 && sizehint <= 0) throw new ValueError('negative sizehint');
  if (flags !== 0 && flags !== EPOLL_CLOEXEC) throw new OSError('invalid flags');
  let fd: number;
  try {
    fd = B.epoll_create1!(0);
  } catch (e) {
    rethrow(e);
  }
  return new Epoll(TOKEN, fd);
}

/**
 * Python's `select.epoll(sizehint=-1, flags=0)`: a new epoll object, its
 * descriptor close-on-exec. Also `epoll({ sizehint, flags })`.
 */
function epollFactory(sizehint?: number | EpollOptions, flags?: number): Epoll {
  const n = arguments.length;
  if (n > 2) throw new TypeError(`epoll() takes at most 2 arguments (${n} given)`);
  if (isOptions(sizehint)) {
    if (n > 1) throw new TypeError('epoll() takes an options object or positional arguments, not both');
    for (const k of Object.keys(sizehint)) {
      if (k !== 'sizehint' && k !== 'flags') throw new TypeError(`'${k}' is an invalid keyword argument for epoll()`);
    }
    ({ sizehint, flags } = sizehint as EpollOptions);
  }
  const s = sizehint === undefined ? -1 : toCInt(sizehint);
  const f = flags === undefined ? 0 : toCInt(flags);
  return create(s, f);
}

export const epoll: {
  (sizehint?: number, flags?: number): Epoll;
  (options: EpollOptions): Epoll;
  fromfd(fd: number): Epoll;
  readonly prototype: Epoll;
} = Object.assign(epollFactory, { fromfd: Epoll.fromfd }) as never;
// `ep instanceof epoll` holds, as isinstance(ep, select.epoll) does.
Object.defineProperty(epoll, 'prototype', { value: Epoll.prototype });
