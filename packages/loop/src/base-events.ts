/**
 * The event loop without I/O: CPython 3.11 Lib/asyncio/base_events.py
 * (scheduling, timers, running, stopping, closing, the exception handler,
 * debug mode). Subclasses supply I/O through `_select`
 * (selector-events.ts). The iteration itself (_runOnce) is the base class's,
 * in loop-iteration.ts; signal handlers are in signals.ts, the exception
 * handler and debug mode's slow-callback warning in exceptions.ts.
 *
 * Living inside Node: the loop never blocks Node's thread. When it has to
 * wait, it awaits the selector's promise twin (selectEachAsync), so Node's own
 * timers, sockets and promises run meanwhile; when it has work queued it
 * still yields to Node's loop (setImmediate) at least every YIELD_MS, so a
 * Node server in the same process keeps serving under load. With nothing
 * to wait on (no readers, writers or timers) it waits on a plain promise,
 * which does not keep the process alive; if Node then ends the process
 * with the loop still running, internal/exit-watch.ts says why on stderr.
 */
import { describe } from '@iomux/core-native';
import { RuntimeError } from '@iomux/core-native/error-classes';
import { Heap } from './internal/heap.js';
import { LoopIteration, now, SETTLED } from './loop-iteration.js';
import { Handle, TimerHandle, _getRunningLoop, _setRunningLoop, type ExceptionContext } from './events.js';
import { callExceptionHandler, checkExceptionHandler, logContext, type ExceptionHandler, type Logger } from './exceptions.js';
import { SignalHandlers, signalName, type Signal } from './signals.js';
import { exitReport, watchExit } from './internal/exit-watch.js';

export type { ExceptionHandler, Logger } from './exceptions.js';
export type { Signal } from './signals.js';
export type { Timeout } from './loop-iteration.js';

type Callback = (...args: any[]) => unknown;

/**
 * asyncio's `BaseEventLoop` (CPython 3.11 Lib/asyncio/base_events.py): callbacks,
 * timers, running and stopping, signal handlers, the exception handler and
 * debug mode. Times are in seconds of the loop's monotonic clock (`time()`).
 * The I/O half is {@link SelectorEventLoop}.
 */
export abstract class BaseEventLoop extends LoopIteration {
  #exceptionHandler: ExceptionHandler | null = null;
  /** Seconds: debug mode reports callbacks slower than this. */
  slowCallbackDuration = 0.1;
  /** Where the default exception handler and debug mode write. */
  logger: Logger = console;
  /** addSignalHandler's handlers. */
  readonly #signals = new SignalHandlers(this);

  // ------------------------------------------------------------- scheduling

  /** Runs `callback(...args)` soon, in FIFO order. */
  callSoon(callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this.#checkCallback(callback, 'callSoon');
    const h = new Handle(callback, args, this);
    this._ready.push(h);
    this._wakeup();
    return h;
  }

  /** Runs `callback(...args)` after `delay` seconds (never earlier). */
  callLater(delay: number, callback: Callback, ...args: unknown[]): TimerHandle {
    if (typeof delay !== 'number' || Number.isNaN(delay)) throw new TypeError('delay must be a number');
    return this.callAt(this.time() + delay, callback, ...args);
  }

  /** Runs `callback(...args)` at loop time `when` (seconds, see time()). */
  callAt(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    if (typeof when !== 'number' || Number.isNaN(when)) throw new TypeError('when must be a number');
    this._checkClosed();
    this.#checkCallback(callback, 'callAt');
    const h = new TimerHandle(when, callback, args, this);
    this._scheduled.push(h);
    h._scheduled = true;
    this._wakeup();
    return h;
  }

  #checkCallback(callback: unknown, method: string): void {
    if (typeof callback !== 'function') throw new TypeError(`a callable object was expected by ${method}(), got ${describe(callback)}`);
  }

  /** @internal */
  _timerHandleCancelled(handle: TimerHandle): void {
    if (handle._scheduled) this._timerCancelledCount++;
  }

  // ---------------------------------------------------------------- running

  /** Python's `loop.is_running()`: true between runForever()'s start and its end. */
  isRunning(): boolean {
    return this._running;
  }

  /** Python's `loop.is_closed()`: true once close() has run. */
  isClosed(): boolean {
    return this._closed;
  }

  /** @internal RuntimeError `Event loop is closed` once closed. */
  _checkClosed(): void {
    if (this._closed) throw new RuntimeError('Event loop is closed');
  }

  #checkRunning(): void {
    if (this._running) throw new RuntimeError('This event loop is already running');
    if (_getRunningLoop() !== null) throw new RuntimeError('Cannot run the event loop while another loop is running');
  }

  /** Runs until stop() is called; resolves then. */
  async runForever(): Promise<void> {
    this._checkClosed();
    this.#checkRunning();
    this._running = true;
    _setRunningLoop(this);
    this._lastYield = now();
    this._batchOpen = true;
    const unwatch = watchExit(() => (this._running ? exitReport(this._hasWaiters(), this._scheduled.length) : null));
    try {
      for (;;) {
        // One promise-job turn per iteration either way (asyncio's tasks
        // step between iterations); no promise made when it did not wait.
        const waited = this._runOnce();
        await (waited === undefined ? SETTLED : waited);
        if (this._stopping) break;
      }
    } finally {
      unwatch();
      this._batchOpen = false;
      try {
        this._flushWrites();
      } finally {
        this._stopping = false;
        this._running = false;
        _setRunningLoop(null);
      }
    }
  }

  /**
   * Runs until `future` (a promise, or an async function called once the
   * loop runs) settles; resolves or rejects as it does.
   */
  async runUntilComplete<T>(future: Promise<T> | (() => Promise<T> | T)): Promise<T> {
    this._checkClosed();
    this.#checkRunning();
    let settled = false;
    let promise: Promise<T>;
    if (typeof future === 'function') {
      // Call it with this loop as the running loop, as asyncio's
      // run_until_complete(coro) runs the coroutine inside the loop.
      let started: (v?: unknown) => void = () => {};
      const gate = new Promise((r) => (started = r));
      promise = gate.then(() => future());
      this.callSoon(() => started());
    } else if (future instanceof Promise || typeof (future as { then?: unknown } | null)?.then === 'function') {
      promise = Promise.resolve(future);
    } else {
      // asyncio.ensure_future's TypeError, before the loop starts.
      throw new TypeError('An asyncio.Future, a coroutine or an awaitable is required');
    }
    // Only this run may be stopped by this future (asyncio removes its done
    // callback): if the run ends first, a later settling stops nothing.
    let active = true;
    const onSettled = (): void => {
      settled = true;
      if (active) this.stop();
    };
    const done = promise.then(onSettled, onSettled);
    try {
      await this.runForever();
    } finally {
      active = false;
    }
    if (!settled) throw new RuntimeError('Event loop stopped before Future completed.');
    await done;
    return promise;
  }

  /** Stops the loop after the callbacks already queued have run. */
  stop(): void {
    this._stopping = true;
    this._wakeup();
  }

  /** Closes the loop; it must not be running. Clears the queues. */
  close(): void {
    if (this._running) throw new RuntimeError('Cannot close a running event loop');
    if (this._closed) return;
    this._closed = true;
    this._ready.clear();
    this._scheduled = new Heap<TimerHandle>();
    for (const sig of this.#signals.names()) this.removeSignalHandler(sig);
  }

  // --------------------------------------------------------------- signals

  /**
   * unix_events.py add_signal_handler: calls `callback(...args)` from the
   * loop (as callSoon does) whenever the process receives `sig` (a name such
   * as 'SIGINT', or a number). Replaces this loop's earlier handler for
   * `sig`; while installed, Node's default action for `sig` does not happen.
   * An async callback is allowed, as in callSoon (its rejection goes to the
   * exception handler).
   * @throws {TypeError} a sig that is no signal, or a callback that is no function
   * @throws {ValueError} 'invalid signal number N'
   * @throws {RuntimeError} 'sig N cannot be caught' (SIGKILL, SIGSTOP), or
   *   'Event loop is closed'
   */
  addSignalHandler(sig: Signal, callback: Callback, ...args: unknown[]): void {
    const name = signalName(sig);
    this._checkClosed();
    this.#checkCallback(callback, 'addSignalHandler');
    this.#signals.add(name, sig, new Handle(callback, args, this));
  }

  /**
   * unix_events.py remove_signal_handler: removes this loop's handler for
   * `sig`; true if there was one.
   * @throws {TypeError} | {ValueError} as addSignalHandler
   */
  removeSignalHandler(sig: Signal): boolean {
    return this.#signals.remove(signalName(sig));
  }

  // ---------------------------------------------------------------- errors

  /**
   * Python's `loop.set_exception_handler(handler)`: null restores the default.
   * @throws {TypeError} if `handler` is neither a function nor null
   */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    checkExceptionHandler(handler);
    this.#exceptionHandler = handler;
  }

  /** Python's `loop.get_exception_handler()`: the handler set, or null for the default. */
  getExceptionHandler(): ExceptionHandler | null {
    return this.#exceptionHandler;
  }

  /** asyncio's default handler: logs the message and the exception. */
  defaultExceptionHandler(context: ExceptionContext): void {
    logContext(this.logger, context);
  }

  /**
   * Hands `context` to the exception handler (or the default one). Never
   * throws: an exception in the handler is logged, and the loop goes on.
   */
  callExceptionHandler(context: ExceptionContext): void {
    callExceptionHandler(this, this.#exceptionHandler, context);
  }

  // ------------------------------------------------------------ debug mode

  /** Python's `loop.get_debug()`. */
  getDebug(): boolean {
    return this._debug;
  }

  /**
   * Python's `loop.set_debug(enabled)`: debug mode logs callbacks slower than
   * `slowCallbackDuration` seconds.
   */
  setDebug(enabled: boolean): void {
    this._debug = Boolean(enabled);
  }

}
