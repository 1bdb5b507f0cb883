/**
 * Timeouts: CPython 3.11 Lib/asyncio/timeouts.py (`timeout`, `timeout_at`,
 * `Timeout`) and tasks.py `wait_for`, on AbortSignals. asyncio cancels the
 * task; here a `Timeout` aborts its `signal` with a `TimeoutError`, and every
 * read or sock* call given that signal rejects with it and stops waiting.
 *
 *   const t = timeout(0.5);
 *   try { line = await reader.readline({ signal: t.signal }); } finally { t.close(); }
 *   const data = await waitFor((signal) => reader.readexactly(4, { signal }), 0.5);
 *
 * Differs from CPython: there is no task to enter, so a Timeout is active
 * from the start and `close()` (or `using`) is its `__aexit__`; and it works
 * outside a loop. Inside a running loop it expires through the loop's
 * callAt, ordered with the loop's other timers as asyncio's call_at; outside
 * one, through a Node timer, unref'd as Node's AbortSignal.timeout() (it
 * never keeps the process alive alone). Both clocks are loop.time()'s
 * (performance.now() in seconds), so `when` means the same either way.
 */
import { performance } from 'node:perf_hooks';
import { pyTypeName } from '@iomux/core-native';
import { RuntimeError, TimeoutError, ValueError } from '@iomux/core-native/error-classes';
import { _getRunningLoop, type Handle } from './events.js';
import type { BaseEventLoop } from './base-events.js';

/** setTimeout's longest delay (2^31-1 ms); a later deadline is reached in steps. */
const MAX_NODE_DELAY_MS = 2 ** 31 - 1;

type State = 'active' | 'expired' | 'finished';

/**
 * A deadline in seconds of loop time, checked: null (or Infinity) never
 * expires; a time in the past expires at once, as asyncio's.
 * @throws {TypeError} if it is neither a number nor null
 * @throws {ValueError} if it is NaN
 */
function checkTime(value: unknown, name: string): number | null {
  if (value === null) return null;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number or null, not '${pyTypeName(value)}'`);
  // CPython's _PyTime text for a NaN timeout.
  if (Number.isNaN(value)) throw new ValueError('Invalid value NaN (not a number)');
  return value === Infinity ? null : value;
}

/**
 * asyncio's `Timeout`: a deadline that aborts `signal` with a `TimeoutError`
 * when it passes. Made by {@link timeout} and {@link timeoutAt}.
 */
export class Timeout {
  /** Aborted, with a `TimeoutError` as its reason, when the deadline passes. */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #loop: BaseEventLoop | null;
  readonly #ref: boolean;
  #when: number | null;
  #state: State = 'active';
  #handle: Handle | null = null;
  #timer: NodeJS.Timeout | null = null;

  /** @internal Use timeout() or timeoutAt(). `ref`: a Node timer keeps the process alive (waitFor). */
  constructor(when: number | null, ref = false) {
    this.signal = this.#controller.signal;
    this.#loop = _getRunningLoop() as BaseEventLoop | null;
    this.#ref = ref;
    this.#when = when;
    this.#schedule(when);
  }

  /** Python's `when()`: the deadline in seconds of loop time, or null. */
  when(): number | null {
    return this.#when;
  }

  /** Python's `expired()`: true once the deadline has passed and `signal` is aborted. */
  expired(): boolean {
    return this.#state === 'expired';
  }

  /**
   * Python's `reschedule(when)`: moves the deadline (seconds of loop time;
   * null: never).
   * @throws {RuntimeError} 'Cannot change state of expired Timeout' (or finished)
   */
  reschedule(when: number | null): void {
    if (this.#state !== 'active') throw new RuntimeError(`Cannot change state of ${this.#state} Timeout`);
    const w = checkTime(when, 'when');
    this.#cancelTimer();
    this.#when = w;
    this.#schedule(w);
  }

  /** asyncio's `__aexit__`: stops the timer; `signal` is left as it is. */
  close(): void {
    this.#cancelTimer();
    if (this.#state === 'active') this.#state = 'finished';
  }

  /** `using t = timeout(1)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Python's repr: `<Timeout [active] when=12.345>`. */
  toString(): string {
    const when = this.#state === 'active' ? ` when=${this.#when === null ? 'None' : Math.round(this.#when * 1000) / 1000}` : '';
    return `<Timeout [${this.#state}]${when}>`;
  }

  #schedule(when: number | null): void {
    if (when === null) return;
    const loop = this.#loop;
    if (loop !== null && !loop.isClosed()) {
      const fire = (): void => this.#onTimeout();
      this.#handle = when <= loop.time() ? loop.callSoon(fire) : loop.callAt(when, fire);
      return;
    }
    const ms = Math.max(0, when * 1000 - performance.now());
    this.#timer = setTimeout(() => (ms > MAX_NODE_DELAY_MS ? this.#schedule(when) : this.#onTimeout()), Math.min(ms, MAX_NODE_DELAY_MS));
    if (!this.#ref) this.#timer.unref();
  }

  #cancelTimer(): void {
    this.#handle?.cancel();
    this.#handle = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onTimeout(): void {
    this.#handle = null;
    this.#timer = null;
    if (this.#state !== 'active') return;
    this.#state = 'expired';
    // asyncio 3.11 raises the builtin TimeoutError, with no message.
    this.#controller.abort(new TimeoutError());
  }
}

/**
 * asyncio's `timeout(delay)`: a {@link Timeout} that expires `delay`
 * seconds from now (null: never; 0 or less: at once, on the next turn).
 * @throws {TypeError} if `delay` is neither a number nor null
 * @throws {ValueError} if `delay` is NaN
 */
export function timeout(delay: number | null): Timeout {
  const d = checkTime(delay, 'delay');
  return new Timeout(d === null ? null : now() + d);
}

/**
 * asyncio's `timeout_at(when)`: a {@link Timeout} that expires at `when`,
 * seconds of loop time (`loop.time()`'s clock; null: never).
 * @throws {TypeError} if `when` is neither a number nor null
 * @throws {ValueError} if `when` is NaN
 */
export function timeoutAt(when: number | null): Timeout {
  return new Timeout(checkTime(when, 'when'));
}

/** What waitFor waits on: a promise, or a function that starts the work with the signal it must obey. */
export type Awaitable<T> = PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T> | T);

const EXPIRED: unique symbol = Symbol('expired');

/**
 * asyncio's `wait_for(aw, timeout)`: resolves as `aw` does, or rejects with
 * a `TimeoutError` once `timeout` seconds have passed (null: never). Given
 * a function, calls it with an AbortSignal that the timeout aborts, and, as
 * wait_for waits for the cancelled task, waits for its promise to settle
 * before rejecting: the reads it passed the signal to have stopped, and the
 * next read works. A function that ignores its signal delays the
 * TimeoutError until it settles (asyncio's task that ignores its
 * cancellation does too); if it resolves anyway, waitFor resolves with it.
 * A plain promise cannot be stopped: waitFor rejects and leaves it be.
 * @throws {TypeError} if `aw` is neither a promise nor a function, or `timeout` not a number or null
 * @throws {ValueError} if `timeout` is NaN
 * @throws {TimeoutError} when the time runs out
 */
export async function waitFor<T>(aw: Awaitable<T>, timeout: number | null): Promise<T> {
  const delay = checkTime(timeout, 'timeout');
  const isFactory = typeof aw === 'function';
  if (!isFactory && typeof (aw as { then?: unknown } | null)?.then !== 'function') {
    throw new TypeError('An asyncio.Future, a coroutine or an awaitable is required');
  }
  if (delay === null) return isFactory ? await aw(new AbortController().signal) : await aw;
  if (delay <= 0) {
    // The function never runs (asyncio cancels the task before its first
    // step); a promise already settled gives its result.
    if (isFactory) throw new TimeoutError();
    const r = await Promise.race([aw, Promise.resolve(EXPIRED)]);
    if (r === EXPIRED) throw new TimeoutError();
    return r as T;
  }
  const scope = new Timeout(now() + delay, true);
  const { signal } = scope;
  const expired = new Promise<typeof EXPIRED>((resolve) => signal.addEventListener('abort', () => resolve(EXPIRED), { once: true }));
  let p: PromiseLike<T>;
  try {
    p = isFactory ? Promise.resolve(aw(signal)) : aw;
  } catch (e) {
    scope.close();
    throw e;
  }
  try {
    const r = await Promise.race([p, expired]);
    if (r !== EXPIRED) return r as T;
  } finally {
    scope.close();
  }
  if (!isFactory) throw new TimeoutError();
  // bpo-32751: the work must not go on after waitFor() returns. It rejects
  // with the signal's TimeoutError, or with its own error (bpo-40607).
  return await p;
}

/** loop.time()'s clock: performance.now() in seconds. */
function now(): number {
  const loop = _getRunningLoop() as BaseEventLoop | null;
  return loop !== null ? loop.time() : performance.now() / 1000;
}
