/**
 * kqueue(): Python's select.kqueue object (BSD and macOS natively; Linux
 * through the addon's emulation, whose descriptor is a real epoll one).
 *
 * The kqueue descriptor is owned by an fd handle from the addon, as epoll's
 * is: close() closes it, and so do garbage collection and the end of the
 * thread that made it. control() packs the changelist into one reused
 * buffer of struct kevent and reads the events from another, so a call
 * costs one native call plus the result array.
 */
import { fromErrno, pyTypeName } from '@iomux/core-native';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { OwnedFd } from './internal/owned-fd.js';
import { B, toCInt } from './internal/native.js';
import { EBADF, isEintr, rethrow } from './internal/errors.js';
import { toNanoseconds, now } from './internal/timeout.js';
import { PendingWait, checkWaitOptions, isOptions, type AsyncWaitOptions, type InFlightWait } from './internal/async.js';
import { Kevent, LAYOUT, getI64, getU64, makeKevent, put64, type Int64 } from './kevent.js';
import { FEEDS, SIGNAL, feedsGone, hasFeeds, syncFeed, unfeed } from './kqueue-signals.js';

const STRIDE = LAYOUT.stride;
const { identLo: ID_LO, identHi: ID_HI, filter: FILTER, flags: FLAGS, fflags: FFLAGS } = LAYOUT;
const { dataLo: DATA_LO, dataHi: DATA_HI, udataLo: UD_LO, udataHi: UD_HI } = LAYOUT;
/**
 * The most events one control() returns, whatever maxEvents asks: the
 * buffer is preallocated, and the kernel keeps the rest for the next call,
 * so a huge maxEvents cannot exhaust memory.
 */
const MAX_EVENTS_PER_CALL = 65536;
const CLOSED = 'I/O operation on closed kqueue object';
const NOT_KEVENTS = 'changelist must be an iterable of select.kevent objects';
const NO_EVENTS: number[] = Object.freeze([]) as unknown as number[];
const TOKEN = Symbol('iomux.kqueue');

/** `visit` of controlEach(): one event's fields, as kevent objects hold them. */
export type KeventVisitor = (ident: Int64, filter: number, flags: number, fflags: number, data: Int64, udata: Int64) => void;

/** A checked control() call: the changes packed, the wait's bounds. */
interface Parsed {
  nchanges: number;
  max: number;
  /** Nanoseconds; -1 blocks. */
  ns: number;
}

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

/** Milliseconds for PendingWait's timer, rounded up; -1 blocks. */
const nsToMs = (ns: number): number => (ns < 0 ? -1 : Math.ceil(ns / 1e6));

/** A kqueue object; make one with `kqueue()` or `kqueue.fromfd(fd)`. */
export class Kqueue implements Disposable {
  #own: OwnedFd;
  #out = new Int32Array(STRIDE * 64);
  #changes = new Int32Array(STRIDE * 8);
  #inFlight: InFlightWait | null = null;
  /** A controlEach() visit is running: #out must not be overwritten under it. */
  #visiting = false;
  /** The packed changes hold a SIGNAL filter: its listeners need a look. */
  #signalChange = false;
  /** feedsGone holds this object (close() unregisters it). */
  #feeding = false;

  /** @internal Use `kqueue()` or `kqueue.fromfd()`. */
  constructor(token: unknown, fd: number) {
    if (token !== TOKEN) throw new TypeError('use select.kqueue() or select.kqueue.fromfd() to make a kqueue object');
    this.#own = new OwnedFd(fd);
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
    this.#inFlight?.cancel(new ValueError(CLOSED));
    if (hasFeeds() && this.#own.fd >= 0) unfeed(this.#own.fd);
    if (this.#feeding) feedsGone.unregister(this);
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
    this.#notWaiting(p.max);
    return this.#collect(this.#kevent(p.nchanges, p.max, p.ns));
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
      const look = (): Kevent[] => this.#collect(this.#kevent(0, p.max, 0));
      return this.#start(p, signal, options?.assumeNotReady === true, look, (first) => this.#collect(first));
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
    this.#notWaiting(p.max);
    const n = this.#kevent(p.nchanges, p.max, p.ns);
    this.#visit(n, visit);
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
        this.#visit(n, visit);
        return [n];
      };
      const look = (): number[] => seen(this.#kevent(0, p.max, 0));
      return this.#start(p, signal, options?.assumeNotReady === true, look, seen, countOf);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: ends a controlAsync() in flight now, resolving it with
   * [] (no error). Returns whether a wait was in flight.
   */
  interruptWait(): boolean {
    return this.#inFlight?.interrupt() ?? false;
  }

  /**
   * Applies the changes with a first non-blocking look, then, if nothing
   * was found and the timeout allows, waits on this kqueue's own descriptor
   * through PendingWait. `first` turns the first look's count into the
   * wait's result type.
   */
  #start<T, R>(
    p: Parsed,
    signal: AbortSignal | undefined,
    assumeNotReady: boolean,
    look: () => T[],
    first: (n: number) => T[],
    map?: (list: T[]) => R,
  ): Promise<R> {
    this.#notWaiting(p.max);
    // An aborted signal settles before any change is applied.
    const early = signal?.aborted === true;
    // The changes go in now whatever follows; so does the first look unless
    // the caller has just looked (assumeNotReady), there are no changes and
    // there is a wait to come (timeout 0 always looks, as PendingWait does).
    const skipLook = early || (assumeNotReady && p.nchanges === 0 && p.ns !== 0);
    const found: T[] = skipLook ? [] : first(this.#kevent(p.nchanges, p.max, 0));
    if (!early && (found.length > 0 || p.ns === 0 || p.max === 0)) {
      return Promise.resolve(map === undefined ? (found as unknown as R) : map(found));
    }
    // PendingWait rejects at once with an aborted signal's reason.
    const wait = new PendingWait<T, R>(look, nsToMs(p.ns), signal, () => (this.#inFlight = null), false, map);
    if (!wait.done) {
      this.#inFlight = wait;
      wait.arm(this.#own.handle!);
    }
    return wait.promise;
  }

  /**
   * A second wait while one is in flight is RuntimeError; a call with
   * maxEvents 0 only applies changes, and is allowed then (as epoll's
   * register() is during pollAsync()).
   */
  #notWaiting(max: number): void {
    if (max > 0 && this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
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
    const nchanges = changelist === null || changelist === undefined ? 0 : this.#pack(changelist);
    return { nchanges, max, ns };
  }

  /** Packs the changelist into #changes as struct kevent[]; returns its length. */
  #pack(changelist: unknown): number {
    let list: unknown[];
    if (Array.isArray(changelist)) list = changelist;
    else if (typeof (changelist as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] === 'function') {
      // PySequence_Fast: the whole iterable first, then the type check.
      list = Array.from(changelist as Iterable<unknown>);
    } else throw new TypeError('changelist is not iterable');
    const n = list.length;
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) if (!Kevent.isKevent(list[i])) throw new TypeError(NOT_KEVENTS);
    let a = this.#changes;
    if (a.length < STRIDE * n) a = this.#changes = new Int32Array(STRIDE * n);
    for (let i = 0, j = 0; i < n; i++, j += STRIDE) {
      const ev = list[i] as Kevent;
      if (ev.filter === SIGNAL) this.#signalChange = FEEDS;
      put64(a, j + ID_LO, j + ID_HI, ev.ident);
      a[j + FILTER] = ev.filter;
      a[j + FLAGS] = ev.flags;
      a[j + FFLAGS] = ev.fflags;
      put64(a, j + DATA_LO, j + DATA_HI, ev.data);
      put64(a, j + UD_LO, j + UD_HI, ev.udata);
    }
    return n;
  }

  /** #wait, then (on the emulation) the SIGNAL listeners brought up to date. */
  #kevent(nchanges: number, max: number, ns: number): number {
    // A report may delete a SIGNAL filter (EV_ONESHOT): look after each call.
    if (!((nchanges > 0 && this.#signalChange) || (FEEDS && hasFeeds(this.#own.fd)))) return this.#wait(nchanges, max, ns);
    try {
      return this.#wait(nchanges, max, ns);
    } finally {
      this.#signalChange = false;
      if (this.#own.fd >= 0 && syncFeed(this.#own.fd, this)) this.#feeding = true;
    }
  }

  /** kevent(2) into #out with the PEP 475 retry: the number of events. */
  #wait(nchanges: number, max: number, ns: number): number {
    const kq = this.#own.fd;
    if (kq < 0) throw new ValueError(CLOSED);
    // maxEvents 0 only applies changes: allowed in a visit (it leaves #out alone).
    if (max > 0 && this.#visiting) throw new RuntimeError('concurrent poll() invocation');
    let out = this.#out;
    if (out.length < STRIDE * max) out = this.#out = new Int32Array(STRIDE * max);
    const deadline = ns > 0 ? now() + ns / 1e6 : 0;
    for (;;) {
      try {
        return B.kevent!(kq, nchanges === 0 ? null : this.#changes, nchanges, out, max, ns < 0 ? -1 : Math.floor(ns / 1e9), ns < 0 ? 0 : ns % 1e9);
      } catch (e) {
        if (!isEintr(e)) rethrow(e);
        // The changes were applied before the wait was interrupted: the
        // retry only waits (CPython passes them again).
        nchanges = 0;
        if (ns > 0) ns = Math.max(0, Math.ceil((deadline - now()) * 1e6));
      }
    }
  }

  /** The first `n` events in #out as kevent objects. */
  #collect(n: number): Kevent[] {
    const out = this.#out;
    const result: Kevent[] = new Array(n);
    for (let i = 0, j = 0; i < n; i++, j += STRIDE) {
      result[i] = makeKevent(
        getU64(out[j + ID_LO]!, out[j + ID_HI]!),
        (out[j + FILTER]! << 16) >> 16,
        out[j + FLAGS]! & 0xffff,
        out[j + FFLAGS]! >>> 0,
        getI64(out[j + DATA_LO]!, out[j + DATA_HI]!),
        getU64(out[j + UD_LO]!, out[j + UD_HI]!),
      );
    }
    return result;
  }

  /** Calls `visit` for the first `n` events in #out. */
  #visit(n: number, visit: KeventVisitor): void {
    if (n === 0) return;
    const out = this.#out;
    this.#visiting = true;
    try {
      for (let i = 0, j = 0; i < n; i++, j += STRIDE) {
        visit(
          getU64(out[j + ID_LO]!, out[j + ID_HI]!),
          (out[j + FILTER]! << 16) >> 16,
          out[j + FLAGS]! & 0xffff,
          out[j + FFLAGS]! >>> 0,
          getI64(out[j + DATA_LO]!, out[j + DATA_HI]!),
          getU64(out[j + UD_LO]!, out[j + UD_HI]!),
        );
      }
    } finally {
      this.#visiting = false;
    }
  }
}

/** controlEachAsync's look results ([n] or []) as the count of events. */
function countOf(found: number[]): number {
  return found.length === 0 ? 0 : found[0]!;
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
