/**
 * A kqueue object's buffers and waits: the changelist packed into one reused
 * buffer of struct kevent, kevent(2) into another with the PEP 475 retry, the
 * events read back as kevent objects or visits, and the promise twins' wait
 * (PendingWait). The public class (kqueue.ts) checks the arguments and calls
 * in here; it holds the one KqueueEvents of each object privately.
 */
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import type { OwnedFd } from './owned-fd.js';
import { B } from './native.js';
import { isEintr, rethrow } from './errors.js';
import { now } from './timeout.js';
import { PendingWait, type InFlightWait } from './async.js';
import { Kevent, LAYOUT, getI64, getU64, makeKevent, put64 } from '../kevent.js';
import { FEEDS, SIGNAL, hasFeeds, syncFeed } from '../kqueue-signals.js';
import type { KeventVisitor } from '../kqueue.js';

const STRIDE = LAYOUT.stride;
const { identLo: ID_LO, identHi: ID_HI, filter: FILTER, flags: FLAGS, fflags: FFLAGS } = LAYOUT;
const { dataLo: DATA_LO, dataHi: DATA_HI, udataLo: UD_LO, udataHi: UD_HI } = LAYOUT;
export const CLOSED = 'I/O operation on closed kqueue object';
const NOT_KEVENTS = 'changelist must be an iterable of select.kevent objects';

/** A checked control() call: the changes packed, the wait's bounds. */
export interface Parsed {
  nchanges: number;
  max: number;
  /** Nanoseconds; -1 blocks. */
  ns: number;
}

/** Milliseconds for PendingWait's timer, rounded up; -1 blocks. */
const nsToMs = (ns: number): number => (ns < 0 ? -1 : Math.ceil(ns / 1e6));

export class KqueueEvents {
  readonly own: OwnedFd;
  #out = new Int32Array(STRIDE * 64);
  #changes = new Int32Array(STRIDE * 8);
  inFlight: InFlightWait | null = null;
  /** A controlEach() visit is running: #out must not be overwritten under it. */
  #visiting = false;
  /** The packed changes hold a SIGNAL filter: its listeners need a look. */
  #signalChange = false;
  /** feedsGone holds this object (close() unregisters it). */
  feeding = false;

  constructor(own: OwnedFd) {
    this.own = own;
  }

  /**
   * Applies the changes with a first non-blocking look, then, if nothing
   * was found and the timeout allows, waits on this kqueue's own descriptor
   * through PendingWait. `first` turns the first look's count into the
   * wait's result type.
   */
  start<T, R>(
    p: Parsed,
    signal: AbortSignal | undefined,
    assumeNotReady: boolean,
    look: () => T[],
    first: (n: number) => T[],
    map?: (list: T[]) => R,
  ): Promise<R> {
    this.notWaiting(p.max);
    // An aborted signal settles before any change is applied.
    const early = signal?.aborted === true;
    // The changes go in now whatever follows; so does the first look unless
    // the caller has just looked (assumeNotReady), there are no changes and
    // there is a wait to come (timeout 0 always looks, as PendingWait does).
    const skipLook = early || (assumeNotReady && p.nchanges === 0 && p.ns !== 0);
    const found: T[] = skipLook ? [] : first(this.kevent(p.nchanges, p.max, 0));
    if (!early && (found.length > 0 || p.ns === 0 || p.max === 0)) {
      return Promise.resolve(map === undefined ? (found as unknown as R) : map(found));
    }
    // PendingWait rejects at once with an aborted signal's reason.
    const wait = new PendingWait<T, R>(look, nsToMs(p.ns), signal, () => (this.inFlight = null), false, map);
    if (!wait.done) {
      this.inFlight = wait;
      wait.arm(this.own.handle!);
    }
    return wait.promise;
  }

  /**
   * A second wait while one is in flight is RuntimeError; a call with
   * maxEvents 0 only applies changes, and is allowed then (as epoll's
   * register() is during pollAsync()).
   */
  notWaiting(max: number): void {
    if (max > 0 && this.inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
  }

  /** Packs the changelist into #changes as struct kevent[]; returns its length. */
  pack(changelist: unknown): number {
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
  kevent(nchanges: number, max: number, ns: number): number {
    // A report may delete a SIGNAL filter (EV_ONESHOT): look after each call.
    if (!((nchanges > 0 && this.#signalChange) || (FEEDS && hasFeeds(this.own.fd)))) return this.#wait(nchanges, max, ns);
    try {
      return this.#wait(nchanges, max, ns);
    } finally {
      this.#signalChange = false;
      if (this.own.fd >= 0 && syncFeed(this.own.fd, this)) this.feeding = true;
    }
  }

  /** kevent(2) into #out with the PEP 475 retry: the number of events. */
  #wait(nchanges: number, max: number, ns: number): number {
    const kq = this.own.fd;
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
  collect(n: number): Kevent[] {
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
  visit(n: number, visit: KeventVisitor): void {
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
export function countOf(found: number[]): number {
  return found.length === 0 ? 0 : found[0]!;
}
