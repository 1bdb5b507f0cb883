/**
 * Event loop primitives: CPython 3.11 Lib/asyncio/events.py. `Handle` and
 * `TimerHandle` (what callSoon/callLater return), the exception-handler
 * context, and the running loop (`getRunningLoop`), one per thread as in
 * asyncio.
 */
import { RuntimeError } from '@iomux/select';

/** asyncio's exception-handler context. */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  handle?: Handle;
  future?: Promise<unknown>;
  transport?: unknown;
  protocol?: unknown;
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
  _callback: Callback | null;
  _args: unknown[] | null;
  _cancelled = false;
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

  toString(): string {
    const name = this._callback?.name || 'anonymous';
    return `<${this.constructor.name} ${this._cancelled ? 'cancelled' : name + '()'}>`;
  }
}

let seq = 0;

/** A callback scheduled by callLater/callAt, due at `when()` (loop time). */
export class TimerHandle extends Handle {
  readonly _when: number;
  readonly _seq: number;
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
