/**
 * An epoll object's event buffer and waits: epoll_wait into one reused
 * output buffer (struct epoll_event[], native/epoll.cc), the visits of
 * pollEach(), and the promise twins' wait machinery (PendingWait). The
 * public class (epoll.ts) checks the arguments and calls in here; it holds
 * the one EpollEvents of each object privately.
 */
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import type { OwnedFd } from './owned-fd.js';
import { B } from './native.js';
import { isEintr, rethrow } from './errors.js';
import { now, remainingMs } from './timeout.js';
import { PendingWait, type AddonLook, type InFlightWait } from './async.js';

const LAYOUT = B.epoll_event_layout ?? { stride: 0, events: 0, fd: 0 };
const STRIDE = LAYOUT.stride;
const EV_AT = LAYOUT.events;
const FD_AT = LAYOUT.fd;
export const CLOSED = 'I/O operation on closed epoll object';
const NO_EVENTS: number[] = Object.freeze([]) as unknown as number[];

export class EpollEvents {
  readonly own: OwnedFd;
  #out = new Int32Array(STRIDE * 64);
  inFlight: InFlightWait | null = null;
  /** A pollEach() visit is running: #out must not be overwritten under it. */
  #visiting = false;

  constructor(own: OwnedFd) {
    this.own = own;
  }

  /** The wait in flight's look, for pollEachAsync(): its maxevents and visit. */
  eachMax = 1;
  eachVisit: (fd: number, events: number) => void = noVisit;

  /** pollEachAsync()'s look, made once per object: [n] after visiting, or []. */
  readonly lookEach = (): number[] => {
    const n = this.waitRaw(0, this.eachMax);
    return n === 0 ? NO_EVENTS : this.eachFound(n);
  };

  /** After the addon's look (n > 0 events in #out): pollEachAsync's result, and pollAsync's. */
  readonly eachFound = (n: number): number[] => {
    this.visit(n, this.eachVisit);
    return [n];
  };
  readonly pairsLook = (n: number): Array<[number, number]> => this.pairsOf(n);

  /**
   * The look the addon makes when the wait wakes (PendingWait.arm): into
   * #out, grown first to hold `max` events. One record per object.
   */
  look<T>(max: number, found: (n: number) => T[]): AddonLook<T> {
    if (this.#out.length < STRIDE * max) this.#out = new Int32Array(STRIDE * max);
    const l = (this.#addonLook ??= { out: this.#out, maxevents: max, found });
    l.out = this.#out;
    l.maxevents = max;
    l.found = found;
    return l as AddonLook<T>;
  }
  #addonLook: { out: Int32Array; maxevents: number; found: (n: number) => unknown[] } | undefined;

  /** The first `n` events in #out as [fd, events] pairs. */
  pairsOf(n: number): Array<[number, number]> {
    const out = this.#out;
    const result: Array<[number, number]> = new Array(n);
    for (let i = 0, j = 0; i < n; i++, j += STRIDE) result[i] = [out[j + FD_AT]!, out[j + EV_AT]! >>> 0];
    return result;
  }

  /** Every wait's onSettle, made once per object. */
  readonly #settle = (): void => {
    this.inFlight = null;
    this.eachVisit = noVisit;
  };

  /** Starts a wait whose non-blocking look is `attempt` (see PendingWait). */
  start<T, R>(
    attempt: () => T[],
    ms: number,
    signal: AbortSignal | undefined,
    assumeNotReady: boolean,
    map?: (list: T[]) => R,
    look?: AddonLook<T>,
  ): Promise<R> {
    if (this.inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    const wait = new PendingWait<T, R>(attempt, ms, signal, this.#settle, !assumeNotReady, map);
    if (!wait.done) {
      this.inFlight = wait;
      wait.arm(this.own.handle!, look);
    }
    return wait.promise;
  }

  /** Calls `visit` for the first `n` events in #out (struct epoll_event[], native/epoll.cc). */
  visit(n: number, visit: (fd: number, events: number) => void): void {
    if (n === 0) return;
    const out = this.#out;
    this.#visiting = true;
    try {
      for (let i = 0, j = 0; i < n; i++, j += STRIDE) visit(out[j + FD_AT]!, out[j + EV_AT]! >>> 0);
    } finally {
      this.#visiting = false;
    }
  }

  /** epoll_wait with the PEP 475 retry; the result as [fd, events] pairs. */
  wait(ms: number, max: number): Array<[number, number]> {
    const n = this.waitRaw(ms, max);
    const out = this.#out;
    const result: Array<[number, number]> = new Array(n);
    // out holds struct epoll_event[] as the kernel wrote it (native/epoll.cc).
    for (let i = 0, j = 0; i < n; i++, j += STRIDE) result[i] = [out[j + FD_AT]!, out[j + EV_AT]! >>> 0];
    return result;
  }

  /** epoll_wait into #out with the PEP 475 retry: the number of events. */
  waitRaw(ms: number, max: number): number {
    const epfd = this.own.fd;
    if (epfd < 0) throw new ValueError(CLOSED);
    if (this.#visiting) throw new RuntimeError('concurrent poll() invocation');
    let out = this.#out;
    if (out.length < STRIDE * max) out = this.#out = new Int32Array(STRIDE * max);
    const deadline = ms > 0 ? now() + ms : 0;
    for (;;) {
      try {
        return B.epoll_wait!(epfd, out, max, ms);
      } catch (e) {
        if (!isEintr(e)) rethrow(e);
        if (ms > 0) ms = remainingMs(deadline);
      }
    }
  }
}

function noVisit(): void {}

/** pollEachAsync's look results ([n] or []) as the count of events. */
export function countOf(found: number[]): number {
  return found.length === 0 ? 0 : found[0]!;
}
