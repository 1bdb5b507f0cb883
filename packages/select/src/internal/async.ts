/**
 * The promise twins' engine: a wait that never blocks the JS thread.
 *
 * Every wait has one descriptor of its own to wake on: an epoll object's own
 * descriptor, or the handle of a wake source (wakeup.ts) watching a poll
 * object's or a select() call's descriptors. The addon watches it with a
 * libuv poll watcher (native/wait.cc), so Node's loop wakes us when
 * something is ready; we then run the real non-blocking call (timeout 0) and
 * settle with its result, or re-arm if the wake-up was spurious (an epoll
 * object's own wait has the addon make that epoll_wait, see arm()). A source
 * with no descriptor (no mechanism on this platform, or EMFILE) is looked at
 * on a timer instead (lookEvery). Nothing runs on the libuv threadpool (a
 * parked thread there would starve fs and keep the process alive), and no
 * watcher is put on a user's descriptor (it would take events away from
 * Node's own handle on it).
 *
 * While a wait is pending its watcher and timer keep the process alive; once
 * it settles nothing is left behind.
 */
import { fromErrno, fromNative, pyTypeName, type FdHandle } from '@iomux/core-native';
import { B, E } from './native.js';
import { now } from './timeout.js';
import type { WakeSource } from './wakeup.js';

/** Options of every promise twin (`selectAsync`, `pollAsync`): what asyncio's loop passes. */
export interface AsyncWaitOptions {
  /** Rejects the wait with the signal's reason when aborted. */
  signal?: AbortSignal;
  /**
   * The caller has just polled with timeout 0 and found nothing (an event
   * loop does): skip the wait's own first look. Nothing is missed: the
   * watch is level-triggered, so what became ready meanwhile wakes it.
   */
  assumeNotReady?: boolean;
}

/** The look the addon makes on a wake (epoll): see PendingWait.arm(). */
export interface AddonLook<T> {
  /** Where epoll_wait() writes its events (struct epoll_event[]). */
  readonly out: Int32Array;
  readonly maxevents: number;
  /** The result from the n > 0 events the addon found. */
  found(n: number): T[];
}

/** Node's setTimeout takes at most 2**31 - 1 ms; longer waits re-arm. */
const MAX_TIMER_MS = 2147483647;

export class PendingWait<T, R = T[]> {
  readonly promise: Promise<R>;
  #resolve!: (v: R) => void;
  #reject!: (e: unknown) => void;
  #done = false;
  #handle: FdHandle | null = null;
  /** Armed in the addon: a one-shot watch that has not fired yet. */
  #watching = false;
  #timer: NodeJS.Timeout | undefined;
  /** lookEvery()'s timer, when there is no descriptor to watch. */
  #interval: NodeJS.Timeout | undefined;
  #deadline = 0;
  #signal: AbortSignal | undefined;
  readonly #attempt: () => T[];
  readonly #onSettle: () => void;
  readonly #map: ((v: T[]) => R) | undefined;
  /** The abort listener, made only when there is a signal to listen to. */
  #onAbort: (() => void) | undefined;

  /**
   * `attempt` is the non-blocking call (timeout 0). `timeoutMs` -1 waits
   * forever. `onSettle` runs once, just before the promise settles.
   * `map`, if given, turns the result into what the promise resolves with
   * (a selector's [key, events] list): one promise per wait instead of a
   * second one from then().
   */
  constructor(
    attempt: () => T[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    onSettle: () => void,
    firstLook = true,
    map?: (v: T[]) => R,
  ) {
    this.#map = map;
    this.#attempt = attempt;
    this.#onSettle = onSettle;
    // Settled before it waits (aborted, or the first look found something):
    // an already-settled promise, with no executor, resolvers or watch.
    if (signal?.aborted) {
      this.promise = this.#settled(undefined, abortReason(signal));
      return;
    }
    if (firstLook || timeoutMs === 0) {
      let first: T[];
      try {
        first = attempt();
      } catch (e) {
        this.promise = this.#settled(undefined, e);
        return;
      }
      if (first.length > 0 || timeoutMs === 0) {
        this.promise = this.#settled(first);
        return;
      }
    }
    this.promise = new Promise<R>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // The listener before the timer: if the signal refuses it, nothing is armed.
    if (signal !== undefined) {
      const onAbort = (): void => this.#finish(undefined, abortReason(signal));
      try {
        signal.addEventListener('abort', onAbort, { once: true });
      } catch (e) {
        this.#finish(undefined, e);
        return;
      }
      this.#signal = signal;
      this.#onAbort = onAbort;
    }
    if (timeoutMs > 0) {
      this.#deadline = now() + timeoutMs;
      this.#timer = setTimeout(() => this.#onTimer(), Math.min(timeoutMs, MAX_TIMER_MS));
    }
  }

  get done(): boolean {
    return this.#done;
  }

  /** The constructor's early end: done, onSettle run, and the promise it settles with. */
  #settled(value: T[] | undefined, error?: unknown): Promise<R> {
    this.#done = true;
    this.#onSettle();
    if (value === undefined) return Promise.reject(error);
    const map = this.#map;
    if (map === undefined) return Promise.resolve(value as unknown as R);
    try {
      return Promise.resolve(map(value));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Starts (or re-starts) watching `handle`, the descriptor to wake on.
   * For an epoll descriptor the addon can also make the wait's look:
   * `look` gives the array epoll_wait() writes into, maxevents, and what
   * turns its n > 0 events into the result (a wake that finds nothing
   * then never enters JS).
   */
  arm(handle: FdHandle, look?: AddonLook<T>): void {
    if (this.#done) return;
    this.#handle = handle;
    if (look !== undefined) this.#addonLook = look;
    try {
      const onReadable = (this.#onReadable ??= (status: number, found?: number): void => this.#readable(status, found));
      const l = this.#addonLook;
      if (l === undefined) B.fdhandle_watch(handle, onReadable);
      else B.fdhandle_watch(handle, onReadable, l.out, l.maxevents);
      this.#watching = true;
    } catch (e) {
      // The watch needs a descriptor of its own (native/wait.cc).
      if (isScarce(e)) this.lookEvery(SCARCE_LOOK_MS);
      else this.#finish(undefined, fromNative(e));
    }
  }

  /**
   * Waits on `source`: arms its handle, or looks on a timer when it has
   * none (see wakeup.ts), so that callers take one path either way.
   */
  watch(source: WakeSource): void {
    if (source.handle !== null) this.arm(source.handle);
    else this.lookEvery(SCARCE_LOOK_MS);
  }

  /**
   * Looks every `ms` milliseconds instead of waiting on a descriptor: the
   * fallback when there is none to wait on (no mechanism, or EMFILE).
   */
  lookEvery(ms: number): void {
    if (this.#done || this.#interval !== undefined) return;
    this.#interval = setInterval(() => this.poke(), ms);
  }

  /** Runs the non-blocking call now and settles if it found something. */
  poke(): void {
    if (!this.#done) this.#look(false);
  }

  /**
   * The non-blocking call: settles with its result when it found something
   * (or always, when `last`), rejects with what it throws.
   */
  #look(last: boolean): void {
    let r: T[];
    try {
      r = this.#attempt();
    } catch (e) {
      this.#finish(undefined, e);
      return;
    }
    if (last || r.length > 0) this.#finish(r);
  }

  /** Rejects the wait (close() during a wait, for one). */
  cancel(reason: unknown): void {
    this.#finish(undefined, reason);
  }

  /**
   * Settles the wait at once with an empty result (a wake-up, not an
   * error). Returns true, so owners can write `inFlight?.interrupt() ?? false`.
   */
  interrupt(): true {
    this.#finish([]);
    return true;
  }

  /** The addon's callback: made at the first arm, not for a wait settled at once. */
  #onReadable: ((status: number, found?: number) => void) | undefined;
  /** The look the addon makes for this wait, if any (see arm()). */
  #addonLook: AddonLook<T> | undefined;

  #readable(status: number, found?: number): void {
    // The addon stopped the one-shot watch before calling us.
    this.#watching = false;
    if (this.#done) return;
    if (found !== undefined && found > 0) {
      // The addon has looked: `found` events are in the look's array.
      let r: T[];
      try {
        r = this.#addonLook!.found(found);
      } catch (e) {
        this.#finish(undefined, e);
        return;
      }
      this.#finish(r);
      return;
    }
    // found < 0 (-errno): the look below throws what it is.
    if (status < 0) {
      // libuv reported an error on our own epoll descriptor: let the
      // non-blocking call say what it is (it throws), or give up.
      this.poke();
      // A libuv status is -errno on Unix.
      if (!this.#done) this.#finish(undefined, fromErrno(-status, undefined, { syscall: 'uv_poll' }));
      return;
    }
    this.poke();
    if (!this.#done && this.#handle !== null) this.arm(this.#handle);
  }

  #onTimer(): void {
    if (this.#done) return;
    // Node's timers run on the loop's cached millisecond clock and may fire
    // a little early; a timeout is never shorter than asked.
    const left = this.#deadline - now();
    if (left > 0) {
      this.#timer = setTimeout(() => this.#onTimer(), Math.min(Math.ceil(left), MAX_TIMER_MS));
      return;
    }
    this.#look(true);
  }

  #finish(value: T[] | undefined, error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#handle !== null) {
      if (this.#watching) B.fdhandle_unwatch(this.#handle);
      this.#watching = false;
      this.#handle = null;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#interval !== undefined) clearInterval(this.#interval);
    if (this.#onAbort !== undefined) {
      try {
        this.#signal!.removeEventListener('abort', this.#onAbort);
      } catch {
        // a signal-like object that throws here must not stop the wait settling
      }
    }
    this.#onSettle();
    if (value === undefined) {
      this.#reject(error);
      return;
    }
    const map = this.#map;
    if (map === undefined) {
      this.#resolve(value as unknown as R);
      return;
    }
    let mapped: R;
    try {
      mapped = map(value);
    } catch (e) {
      this.#reject(e);
      return;
    }
    this.#resolve(mapped);
  }
}

const SCARCE = new Set([E.EMFILE, E.ENFILE, E.ENOMEM]);

/** How often a wait with no descriptor to watch looks (milliseconds). */
export const SCARCE_LOOK_MS = 10;

/**
 * Whether a wake-up descriptor could not be had (EMFILE, ENFILE, ENOMEM):
 * the wait then looks on a timer instead (lookEvery), as select(2), poll(2)
 * and epoll_wait(2) need no further descriptor.
 */
export function isScarce(e: unknown): boolean {
  return SCARCE.has((e as { errno?: number } | null)?.errno as number);
}

/** The signal's reason; what its getter throws, if it throws. */
function abortReason(signal: AbortSignal): unknown {
  try {
    return signal.reason;
  } catch (e) {
    return e;
  }
}

/**
 * Beyond Python: checks a promise twin's options (`undefined`, `null` or an
 * object whose `signal`, if present, is an AbortSignal) before any wait is
 * armed, and returns the signal, read once.
 * @throws {TypeError} if `options` is not an object or `signal` not an AbortSignal
 */
export function checkWaitOptions(options: unknown, fname: string): AbortSignal | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object' && typeof options !== 'function') {
    throw new TypeError(`${fname}() options must be an object, not '${pyTypeName(options)}'`);
  }
  const signal = (options as AsyncWaitOptions).signal;
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(`${fname}() option 'signal' must be an AbortSignal, not '${pyTypeName(signal)}'`);
}

/** What an owner keeps of the wait in flight, whatever its result type. */
export type InFlightWait = Pick<PendingWait<unknown>, 'cancel' | 'interrupt' | 'done'>;

/**
 * Splits `(timeout?, ..., { signal }?)`: the trailing options object. Only a
 * plain object is one; an array, Map, Buffer or class instance is a bad
 * positional argument (a TypeError there), never options read as empty.
 */
export function isOptions(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
