/**
 * kqueue(): Python's select.kqueue object (BSD and macOS natively; Linux
 * through the addon's emulation, whose descriptor is a real epoll one).
 *
 * The kqueue descriptor is owned by an fd handle from the addon, as epoll's
 * is: close() closes it, and so do garbage collection and the end of the
 * thread that made it. control() packs the changelist into one reused
 * buffer of struct kevent and reads the events from another, so a call
 * costs one native call plus the result array (internal/kqueue-events.ts:
 * the buffers, the visits and the waits).
 */
import { fromErrno, pyTypeName } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import { OwnedFd } from './internal/owned-fd.js';
import { B, toCInt } from './internal/native.js';
import { EBADF, rethrow } from './internal/errors.js';
import { toNanoseconds } from './internal/timeout.js';
import { checkWaitOptions, isOptions, type AsyncWaitOptions } from './internal/async.js';
import { CLOSED, KqueueEvents, countOf, type Parsed } from './internal/kqueue-events.js';
import { type Kevent, type Int64 } from './kevent.js';
import { feedsGone, hasFeeds, unfeed } from './kqueue-signals.js';

/**
 * The most events one control() returns, whatever maxEvents asks: the
 * buffer is preallocated, and the kernel keeps the rest for the next call,
 * so a huge maxEvents cannot exhaust memory.
 */
const MAX_EVENTS_PER_CALL = 65536;
const NO_EVENTS: number[] = Object.freeze([]) as unknown as number[];
const TOKEN = Symbol('iomux.kqueue');

/** `visit` of controlEach(): one event's fields, as kevent objects hold them. */
export type KeventVisitor = (ident: Int64, filter: number, flags: number, fflags: number, data: Int64, udata: Int64) => void;

/** control()'s timeout (seconds) as CPython 3.11 converts it: nanoseconds, -1 for None. */
function toTimeoutNs(t: unknown): number {
  if (t === undefined || t === null) return -1;
  if (t === 0) return 0;
  let ns: number;
  try {
    ns = toNanoseconds(t, 1e9, '');
  } catch {
    // CPython replaces any conversion error (NaN, overflow) with this one.
    throw new TypeError(`timeout argument must be a number or None, got ${pyTypeName(t)}`);
  }
  if (ns < 0) throw new ValueError('timeout must be positive or None');
  return ns;
}

/** A kqueue object; make one with `kqueue()` or `kqueue.fromfd(fd)`. */
export class Kqueue implements Disposable {
  #own: OwnedFd;
  /** The buffers, the visits and the waits in flight (internal/kqueue-events.ts). */
  #ev: KqueueEvents;

  /** @internal Use `kqueue()` or `kqueue.fromfd()`. */
  constructor(token: unknown, fd: number) {
    if (token !== TOKEN) throw new TypeError('use select.kqueue() or select.kqueue.fromfd() to make a kqueue object');
    this.#own = new OwnedFd(fd);
    this.#ev = new KqueueEvents(this.#own);
  }

  /** Wraps an existing kqueue descriptor, which this object then owns. */
  static fromfd(fd: number): Kqueue {
    if (arguments.length !== 1) throw new TypeError(`kqueue.fromfd() takes exactly one argument (${arguments.length} given)`);
    const f = toCInt(fd);
    // CPython quirk kept: -1 means "make a new one".
    if (f === -1) return create();
    // Differs from CPython: it raises OSError with a stale errno here.
    if (f < 0) throw fromErrno(EBADF);
    return new Kqueue(TOKEN, f);
  }

  /** True once close() has run. */
  get closed(): boolean {
    return this.#own.fd < 0;
  }

  /** Closes the kqueue descriptor; later calls do nothing. */
  close(): void {
    // A wait in flight lets go of the descriptor before it is closed.
    this.#ev.inFlight?.cancel(new ValueError(CLOSED));
    if (hasFeeds() && this.#own.fd >= 0) unfeed(this.#own.fd);
    if (this.#ev.feeding) feedsGone.unregister(this.#ev);
    this.#own.release();
  }

  /** The kqueue descriptor; ValueError once closed. */
  fileno(): number {
    return this.#own.get(CLOSED);
  }

  /** Closes the kqueue object at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Python's `control(changelist, maxevents, timeout=None)`: applies
   * `changelist` (an iterable of kevent objects, or null), then waits up to
   * `timeout` seconds (floats allowed, rounded up to the nanosecond; null or
   * omitted blocks) for at most `maxEvents` events, returned as kevent
   * objects. An error on a change comes back as the platform gives it: an
   * OSError, or an event with KQ_EV_ERROR and the errno in `data`.
   */
  control(changelist: Iterable<Kevent> | null, maxEvents: number, timeout?: number | null): Kevent[] {
    const n = arguments.length;
    if (n < 2) throw new TypeError(`control expected at least 2 arguments, got ${n}`);
    if (n > 3) throw new TypeError(`control expected at most 3 arguments, got ${n}`);
    const p = this.#parse(changelist, maxEvents, timeout);
    this.#ev.notWaiting(p.max);
    return this.#ev.collect(this.#ev.kevent(p.nchanges, p.max, p.ns));
  }

  /**
   * The promise twin of control(): applies the changes at once, then waits
   * without blocking the JS thread. `signal` aborts the wait (rejecting with
   * its reason; an already aborted one applies no change) and leaves the
   * object usable; a second wait while one is in flight is
   * `RuntimeError('concurrent poll() invocation')`; close() during the
   * wait rejects it with ValueError. The options may also stand in the
   * place of `timeout`: `controlAsync(null, 1, { signal })`.
   */
  controlAsync(
    changelist: Iterable<Kevent> | null,
    maxEvents: number,
    timeout?: number | null | AsyncWaitOptions,
    options?: AsyncWaitOptions,
  ): Promise<Kevent[]> {
    try {
      if (isOptions(timeout)) {
        if (options !== undefined) throw new TypeError('controlAsync() takes the options once, after timeout');
        options = timeout as AsyncWaitOptions;
        timeout = undefined;
      }
      const signal = checkWaitOptions(options, 'controlAsync');
      const p = this.#parse(changelist, maxEvents, timeout);
      const look = (): Kevent[] => this.#ev.collect(this.#ev.kevent(0, p.max, 0));
      return this.#ev.start(p, signal, options?.assumeNotReady === true, look, (first) => this.#ev.collect(first));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: control() that calls `visit(ident, filter, flags,
   * fflags, data, udata)` for each event instead of making kevent objects
   * (for loops that must not allocate per event); returns how many events
   * there were. The 64-bit fields are numbers, or bigints past 2**53, as
   * kevent's attributes are. Arguments and errors as control()'s; `visit`
   * may call control() with maxEvents 0 to change registrations, but not
   * wait on this object (RuntimeError).
   */
  controlEach(changelist: Iterable<Kevent> | null, maxEvents: number, timeout: number | null | undefined, visit: KeventVisitor): number {
    if (typeof visit !== 'function') throw new TypeError(`controlEach() visit must be a function, not '${pyTypeName(visit)}'`);
    const p = this.#parse(changelist, maxEvents, timeout);
    this.#ev.notWaiting(p.max);
    const n = this.#ev.kevent(p.nchanges, p.max, p.ns);
    this.#ev.visit(n, visit);
    return n;
  }

  /**
   * Beyond Python: the promise twin of controlEach(), as controlAsync() is
   * control()'s. `visit` runs for each event once the wait finds some
   * (during the call itself when they are there at once), then the promise
   * resolves with their number; 0 on a timeout or interruptWait(). A visit
   * that throws rejects the promise.
   */
  controlEachAsync(
    changelist: Iterable<Kevent> | null,
    maxEvents: number,
    timeout: number | null | undefined,
    visit: KeventVisitor,
    options?: AsyncWaitOptions,
  ): Promise<number> {
    try {
      if (typeof visit !== 'function') throw new TypeError(`controlEachAsync() visit must be a function, not '${pyTypeName(visit)}'`);
      const signal = checkWaitOptions(options, 'controlEachAsync');
      const p = this.#parse(changelist, maxEvents, timeout);
      const seen = (n: number): number[] => {
        if (n === 0) return NO_EVENTS;
        this.#ev.visit(n, visit);
        return [n];
      };
      const look = (): number[] => seen(this.#ev.kevent(0, p.max, 0));
      return this.#ev.start(p, signal, options?.assumeNotReady === true, look, seen, countOf);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: ends a controlAsync() in flight now, resolving it with
   * [] (no error). Returns whether a wait was in flight.
   */
  interruptWait(): boolean {
    return this.#ev.inFlight?.interrupt() ?? false;
  }

  /**
   * CPython's order: maxevents as a C int, closed, maxevents' range, the
   * timeout, then the changelist (packed into #changes).
   */
  #parse(changelist: unknown, maxEvents: unknown, timeout: unknown): Parsed {
    let max = toCInt(maxEvents);
    if (this.#own.fd < 0) throw new ValueError(CLOSED);
    if (max < 0) throw new ValueError(`Length of eventlist must be 0 or positive, got ${max}`);
    // Differs from CPython: at most MAX_EVENTS_PER_CALL events per call.
    if (max > MAX_EVENTS_PER_CALL) max = MAX_EVENTS_PER_CALL;
    const ns = toTimeoutNs(timeout);
    const nchanges = changelist === null || changelist === undefined ? 0 : this.#ev.pack(changelist);
    return { nchanges, max, ns };
  }
}

function create(): Kqueue {
  let fd: number;
  try {
    fd = B.kqueue_create!();
  } catch (e) {
    rethrow(e);
  }
  return new Kqueue(TOKEN, fd);
}

/** Python's `select.kqueue()`: a new kqueue object, its descriptor close-on-exec. */
function kqueueFactory(): Kqueue {
  if (arguments.length > 0) throw new TypeError(`kqueue() takes no arguments (${arguments.length} given)`);
  return create();
}

export const kqueue: {
  (): Kqueue;
  fromfd(fd: number): Kqueue;
  /** True where kqueue is the addon's emulation (Linux), false where it is the kernel's. */
  readonly emulated: boolean;
  readonly prototype: Kqueue;
} = Object.assign(kqueueFactory, { fromfd: Kqueue.fromfd, emulated: typeof B.epoll_create1 === 'function' }) as never;
// `kq instanceof kqueue` holds, as isinstance(kq, select.kqueue) does.
Object.defineProperty(kqueue, 'prototype', { value: Kqueue.prototype });
