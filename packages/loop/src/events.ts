/**
 * Event loop primitives: CPython 3.11 Lib/asyncio/events.py. `Handle` and
 * `TimerHandle` (what callSoon/callLater return), the exception-handler
 * context, and the running loop (`getRunningLoop`), one per thread as in
 * asyncio.
 */
import { RuntimeError } from '@iomux/core-native/error-classes';

/** asyncio's exception-handler context. */
export interface ExceptionContext {
  /** What went wrong, in words. */
  message: string;
  /** The exception thrown, if any. */
  exception?: unknown;
  /** The callback handle that threw, if any. */
  handle?: Handle;
  /** The promise concerned, if any (asyncio's future). */
  future?: Promise<unknown>;
  /** The transport concerned, if any. */
  transport?: unknown;
  /** The protocol concerned, if any. */
  protocol?: unknown;
  /** The socket concerned, if any. */
  socket?: unknown;
  [key: string]: unknown;
}

/** What a Handle needs from its loop. */
export interface HandleOwner {
  callExceptionHandler(context: ExceptionContext): void;
  _timerHandleCancelled(handle: TimerHandle): void;
}

type Callback = (...args: any[]) => unknown;

/** A callback scheduled by callSoon; `cancel()` stops it from running. */
export class Handle {
  /** @internal The callback; null once cancelled. */
  _callback: Callback | null;
  /** @internal Its arguments; null once cancelled. */
  _args: unknown[] | null;
  /** @internal cancel() has run. */
  _cancelled = false;
  /** @internal The loop that runs it. */
  readonly _loop: HandleOwner;
  /**
   * @internal A transport whose reader this is: the loop may receive its
   * data in one batch with the other ready transports' before it runs.
   */
  _reads: object | null = null;

  constructor(callback: Callback, args: unknown[], loop: HandleOwner) {
    this._callback = callback;
    this._args = args;
    this._loop = loop;
  }

  /** Cancels the callback; it will not run. Safe to call more than once. */
  cancel(): void {
    if (!this._cancelled) {
      this._cancelled = true;
      this._callback = null;
      this._args = null;
    }
  }

  /** Python's `handle.cancelled()`: true once cancel() has run. */
  cancelled(): boolean {
    return this._cancelled;
  }

  /** Runs the callback; an exception goes to the loop's exception handler. */
  _run(): void {
    const cb = this._callback;
    if (cb === null) return;
    try {
      const r = this._args!.length === 0 ? cb() : cb(...this._args!);
      // An async callback's rejection is an exception in the callback too.
      if (r instanceof Promise) r.catch((exc: unknown) => this.#report(exc));
    } catch (exc) {
      this.#report(exc);
    }
  }

  #report(exc: unknown): void {
    this._loop.callExceptionHandler({
      message: `Exception in callback ${this.toString()}`,
      exception: exc,
      handle: this,
    });
  }

  /** A repr such as `<Handle cb()>` or `<TimerHandle cancelled>`. */
  toString(): string {
    const name = this._callback?.name || 'anonymous';
    return `<${this.constructor.name} ${this._cancelled ? 'cancelled' : name + '()'}>`;
  }
}

let seq = 0;

/** A callback scheduled by callLater/callAt, due at `when()` (loop time). */
export class TimerHandle extends Handle {
  /** @internal When it is due, in loop time (seconds). */
  readonly _when: number;
  /** @internal Scheduling order, so equal times run first-come first-served. */
  readonly _seq: number;
  /** @internal In the loop's timer heap. */
  _scheduled = false;

  constructor(when: number, callback: Callback, args: unknown[], loop: HandleOwner) {
    super(callback, args, loop);
    this._when = when;
    this._seq = seq++;
  }

  /** The absolute loop time (seconds) the callback is due. */
  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (!this._cancelled) this._loop._timerHandleCancelled(this);
    super.cancel();
  }
}

let running: unknown = null;

/**
 * The loop running in this thread.
 * @throws {RuntimeError} 'no running event loop'
 */
export function getRunningLoop<L = unknown>(): L {
  if (running === null) throw new RuntimeError('no running event loop');
  return running as L;
}

/** @internal Set by a loop as it starts and stops running. */
export function _setRunningLoop(loop: unknown): void {
  running = loop;
}

/** @internal The running loop or null. */
export function _getRunningLoop(): unknown {
  return running;
}
