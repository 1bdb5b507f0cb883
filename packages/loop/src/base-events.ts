/**
 * The event loop without I/O: CPython 3.11 Lib/asyncio/base_events.py
 * (scheduling, timers, running, stopping, closing, the exception handler,
 * debug mode). Subclasses supply I/O through `_select` and
 * `_processEvents` (selector-events.ts).
 *
 * Living inside Node: the loop never blocks Node's thread. When it has to
 * wait, it awaits the selector's promise twin (selectAsync), so Node's own
 * timers, sockets and promises run meanwhile; when it has work queued it
 * still yields to Node's loop (setImmediate) at least every YIELD_MS, so a
 * Node server in the same process keeps serving under load. With nothing
 * to wait on (no readers, writers or timers) it waits on a plain promise,
 * which does not keep the process alive.
 */
import { setImmediate as yieldToNode } from 'node:timers/promises';
import { RuntimeError } from '@iomux/select';
import { Deque } from './internal/deque.js';
import { Heap } from './internal/heap.js';
import { Handle, TimerHandle, _getRunningLoop, _setRunningLoop, type ExceptionContext } from './events.js';

/** asyncio: _MIN_SCHEDULED_TIMER_HANDLES and the cancelled fraction. */
const MIN_SCHEDULED_TIMER_HANDLES = 100;
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;
/** asyncio: MAXIMUM_SELECT_TIMEOUT (one day). */
const MAXIMUM_SELECT_TIMEOUT = 24 * 3600;
/** Longest stretch of queued work before the loop lets Node's loop run. */
const YIELD_MS = 1;

export type ExceptionHandler = (loop: BaseEventLoop, context: ExceptionContext) => void;

export interface Logger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

type Callback = (...args: any[]) => unknown;

/** One iteration's wait: null blocks; a number is seconds. */
export type Timeout = number | null;

export abstract class BaseEventLoop {
  _ready = new Deque<Handle>();
  _scheduled = new Heap<TimerHandle>();
  _timerCancelledCount = 0;
  _stopping = false;
  _closed = false;
  #running = false;
  #exceptionHandler: ExceptionHandler | null = null;
  #debug = false;
  /** Seconds: debug mode reports callbacks slower than this. */
  slowCallbackDuration = 0.1;
  /** Where the default exception handler and debug mode write. */
  logger: Logger = console;
  #lastYield = 0;
  /** Set while the loop waits; wakes it when work arrives from outside. */
  #wake: (() => void) | null = null;

  /** Monotonic time in seconds, the clock of callAt/callLater. */
  time(): number {
    return performance.now() / 1000;
  }

  // ------------------------------------------------------------- scheduling

  /** Runs `callback(...args)` soon, in FIFO order. */
  callSoon(callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this.#checkCallback(callback, 'callSoon');
    const h = new Handle(callback, args, this);
    this._ready.push(h);
    if (this.#wake !== null) this._wakeup();
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
    if (this.#wake !== null) this._wakeup();
    return h;
  }

  #checkCallback(callback: unknown, method: string): void {
    if (typeof callback !== 'function') throw new TypeError(`a callable object was expected by ${method}(), got ${String(callback)}`);
  }

  /** @internal */
  _timerHandleCancelled(handle: TimerHandle): void {
    if (handle._scheduled) this._timerCancelledCount++;
  }

  // ---------------------------------------------------------------- running

  isRunning(): boolean {
    return this.#running;
  }

  isClosed(): boolean {
    return this._closed;
  }

  _checkClosed(): void {
    if (this._closed) throw new RuntimeError('Event loop is closed');
  }

  #checkRunning(): void {
    if (this.#running) throw new RuntimeError('This event loop is already running');
    if (_getRunningLoop() !== null) throw new RuntimeError('Cannot run the event loop while another loop is running');
  }

  /** Runs until stop() is called; resolves then. */
  async runForever(): Promise<void> {
    this._checkClosed();
    this.#checkRunning();
    this.#running = true;
    _setRunningLoop(this);
    this.#lastYield = performance.now();
    try {
      for (;;) {
        await this._runOnce();
        if (this._stopping) break;
      }
    } finally {
      this._stopping = false;
      this.#running = false;
      _setRunningLoop(null);
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
    } else {
      promise = Promise.resolve(future);
    }
    const done = promise.then(
      () => {
        settled = true;
        this.stop();
      },
      () => {
        settled = true;
        this.stop();
      },
    );
    await this.runForever();
    if (!settled) throw new RuntimeError('Event loop stopped before Future completed.');
    await done;
    return promise;
  }

  /** Stops the loop after the callbacks already queued have run. */
  stop(): void {
    this._stopping = true;
    if (this.#wake !== null) this._wakeup();
  }

  /** Closes the loop; it must not be running. Clears the queues. */
  close(): void {
    if (this.#running) throw new RuntimeError('Cannot close a running event loop');
    if (this._closed) return;
    this._closed = true;
    this._ready.clear();
    this._scheduled = new Heap<TimerHandle>();
  }

  // ---------------------------------------------------------------- errors

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== 'function') {
      throw new TypeError(`A callable object or None is expected, got ${String(handler)}`);
    }
    this.#exceptionHandler = handler;
  }

  getExceptionHandler(): ExceptionHandler | null {
    return this.#exceptionHandler;
  }

  /** asyncio's default handler: logs the message and the exception. */
  defaultExceptionHandler(context: ExceptionContext): void {
    const { message, exception, ...rest } = context;
    const extra = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${String(v)}`);
    this.logger.error(message || 'Unhandled exception in event loop', ...extra, ...(exception !== undefined ? [exception] : []));
  }

  /**
   * Hands `context` to the exception handler (or the default one). Never
   * throws: an exception in the handler is logged, and the loop goes on.
   */
  callExceptionHandler(context: ExceptionContext): void {
    const handler = this.#exceptionHandler;
    if (handler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch {
        // The logger itself failed: nothing better to do than go on.
      }
      return;
    }
    try {
      handler(this, context);
    } catch (exc) {
      try {
        this.defaultExceptionHandler({
          message: 'Unhandled error in exception handler',
          exception: exc,
          context,
        });
      } catch {
        // as above
      }
    }
  }

  // ------------------------------------------------------------ debug mode

  getDebug(): boolean {
    return this.#debug;
  }

  setDebug(enabled: boolean): void {
    this.#debug = Boolean(enabled);
  }

  // ------------------------------------------------------------- iteration

  /** Waits for I/O (seconds; null blocks) and returns the ready events. */
  protected abstract _select(timeout: Timeout): unknown[] | Promise<unknown[]>;
  /** Queues the callbacks for what _select returned. */
  protected abstract _processEvents(events: unknown[]): void;
  /** Whether anything (a reader or writer) could make _select return. */
  protected abstract _hasWaiters(): boolean;
  /** Cancels a pending _select (work arrived from outside the loop). */
  protected abstract _interruptSelect(): void;

  /** @internal Wakes a waiting loop (asyncio's _write_to_self). */
  _wakeup(): void {
    const w = this.#wake;
    if (w !== null) {
      this.#wake = null;
      w();
    }
  }

  /**
   * One full iteration: wait for I/O (no longer than the next timer), queue
   * the ready callbacks and due timers, then run the callbacks queued so
   * far. This is the only place where callbacks are called.
   */
  async _runOnce(): Promise<void> {
    const sched = this._scheduled;
    const schedCount = sched.length;
    if (schedCount > MIN_SCHEDULED_TIMER_HANDLES && this._timerCancelledCount / schedCount > MIN_CANCELLED_TIMER_HANDLES_FRACTION) {
      // Remove delayed calls that were cancelled if their number is too high.
      const keep: TimerHandle[] = [];
      for (const h of sched.items) {
        if (h._cancelled) h._scheduled = false;
        else keep.push(h);
      }
      sched.heapify(keep);
      this._timerCancelledCount = 0;
    } else {
      // Remove delayed calls that were cancelled from head of queue.
      while (sched.length > 0 && sched.peek()!._cancelled) {
        this._timerCancelledCount--;
        sched.pop()!._scheduled = false;
      }
    }

    let timeout: Timeout = null;
    if (this._ready.length > 0 || this._stopping) {
      timeout = 0;
    } else if (sched.length > 0) {
      timeout = Math.min(Math.max(0, sched.peek()!._when - this.time()), MAXIMUM_SELECT_TIMEOUT);
    }

    let events: unknown[];
    if (timeout === 0) {
      // Busy: poll without waiting, but let Node's loop run now and then.
      const now = performance.now();
      if (now - this.#lastYield >= YIELD_MS) {
        await yieldToNode();
        this.#lastYield = performance.now();
      }
      events = this._select(0) as unknown[];
    } else {
      // A quick look first: under load something is usually ready.
      events = this._select(0) as unknown[];
      if (events.length === 0) {
        events = await this.#wait(timeout);
        this.#lastYield = performance.now();
      }
    }
    this._processEvents(events);

    // Handle 'later' callbacks that are ready.
    const endTime = this.time();
    while (sched.length > 0) {
      const h = sched.peek()!;
      if (h._when > endTime) break;
      sched.pop();
      h._scheduled = false;
      this._ready.push(h);
    }

    // Run the callbacks queued so far; those they queue run next time,
    // after another look at I/O.
    const ready = this._ready;
    const ntodo = ready.length;
    const debug = this.#debug;
    for (let i = 0; i < ntodo; i++) {
      const h = ready.shift()!;
      if (h._cancelled) continue;
      if (debug) {
        const t0 = this.time();
        h._run();
        const dt = this.time() - t0;
        if (dt >= this.slowCallbackDuration) {
          this.logger.warn(`Executing ${h.toString()} took ${dt.toFixed(3)} seconds`);
        }
      } else {
        h._run();
      }
    }
  }

  /**
   * Waits for I/O or for work from outside the loop (callSoon from a Node
   * callback, stop(), a new timer), whichever comes first.
   */
  async #wait(timeout: Timeout): Promise<unknown[]> {
    if (!this._hasWaiters() && timeout === null) {
      // Nothing to wait on: a plain promise, which does not keep the
      // process alive; callSoon/callAt/addReader/stop resolve it.
      await new Promise<void>((resolve) => (this.#wake = resolve));
      return [];
    }
    this.#wake = () => this._interruptSelect();
    try {
      return await this._select(timeout);
    } finally {
      this.#wake = null;
    }
  }
}
