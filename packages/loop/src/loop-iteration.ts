/**
 * The loop's iteration, the hot half of base-events.ts's BaseEventLoop (its
 * base class): the ready queue and the timer heap, and _runOnce, which
 * flushes the write batch, looks at I/O or waits for it through Node's loop
 * (see base-events.ts on living inside Node), queues due timers and runs
 * the callbacks. The public API (scheduling, running, signals, errors,
 * debug mode) is BaseEventLoop's.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToNode } from 'node:timers/promises';
import { Deque } from './internal/deque.js';
import { Heap } from './internal/heap.js';
import type { Handle, TimerHandle } from './events.js';
import { runTimed, type Logger } from './exceptions.js';

/** asyncio: _MIN_SCHEDULED_TIMER_HANDLES and the cancelled fraction. */
const MIN_SCHEDULED_TIMER_HANDLES = 100;
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;
/** asyncio: MAXIMUM_SELECT_TIMEOUT (one day). */
const MAXIMUM_SELECT_TIMEOUT = 24 * 3600;
/**
 * performance.now, bound once: the global `performance` is an accessor
 * (Node defines it lazily), so every `performance.now()` through it calls a
 * getter first; the loop reads the clock two or three times per iteration.
 */
export const now: () => number = performance.now.bind(performance);
/** Empty quick looks in a row after which the loop stops looking first. */
const QUICK_LOOK_MISSES = 2;
/** While it does not look first, it still does every this many waits. */
const QUICK_LOOK_PROBE = 8;
/** Longest stretch of queued work before the loop lets Node's loop run. */
const YIELD_MS = 1;
/** Most promise-job turns the loop waits before its next flush (see _settleHops). */
const MAX_SETTLE_HOPS = 4;
/** Iterations with callbacks and no late write after which it waits one turn less. */
const SETTLE_DECAY = 1024;
export const SETTLED = Promise.resolve();

/** One iteration's wait: null blocks; a number is seconds. */
export type Timeout = number | null;

/**
 * @internal BaseEventLoop's base: the iteration (see the module comment).
 * Not exported from the package: use BaseEventLoop or EventLoop.
 */
export abstract class LoopIteration {
  /** Debug mode's slow-callback threshold and log (BaseEventLoop's). */
  abstract slowCallbackDuration: number;
  abstract logger: Logger;
  /** @internal Callbacks ready to run this iteration. */
  _ready = new Deque<Handle>();
  /** @internal Timers, earliest first. */
  _scheduled = new Heap<TimerHandle>();
  /** @internal Cancelled timers still in the heap. */
  _timerCancelledCount = 0;
  /** @internal stop() was called: the loop ends after this iteration. */
  _stopping = false;
  /** @internal close() has run. */
  _closed = false;
  /**
   * @internal True while the loop runs callbacks (or the promise jobs they
   * queue) and will flush queued writes before it next waits: a transport
   * may then queue a write (see _flushWrites) instead of sending at once.
   */
  _batchOpen = false;
  /** @internal Between runForever()'s start and its end. */
  _running = false;
  /** @internal Debug mode (setDebug): callbacks are timed. */
  _debug = false;
  /** @internal When the loop last let Node's loop run (now(), ms). */
  _lastYield = 0;
  /**
   * Quick looks (select(0) before a wait) that found nothing, in a row. A
   * quick look under load finds work without a trip through Node's loop;
   * with one busy connection in request-response across CPUs it finds
   * nothing almost every time and is a syscall wasted per message.
   * After QUICK_LOOK_MISSES empty ones the loop waits at once and looks
   * first only every QUICK_LOOK_PROBE-th wait, until a look finds something.
   * Skipping one misses nothing: the wait is level-triggered, so what is
   * ready already wakes it at once (a trip through Node's loop).
   */
  #emptyLooks = 0;
  #skippedLooks = 0;
  /**
   * @internal Promise-job turns the loop lets pass after an iteration that
   * ran callbacks, before it flushes the write batch and looks at I/O. What
   * a coroutine writes after an await (a streams handler: `await
   * reader.read()`, then write) runs in a promise job one or more turns
   * after the callback that resolved it, while the loop's next iteration
   * starts one turn after the last callback. Without the wait such a write
   * comes after the loop has looked and gone to wait: it is sent alone, and
   * the look was wasted (bench/README.md, LATE-WRITES). Learned: each write that comes while the loop waits (_lateWrite)
   * adds a turn, up to MAX_SETTLE_HOPS; SETTLE_DECAY iterations without one
   * take a turn away, so a loop whose protocols write from their callbacks
   * settles at none.
   */
  _settleHops = 0;
  #settleCalm = 0;
  #ranCallbacks = false;
  /** Set while the loop waits; wakes it when work arrives from outside. */
  #wake: (() => void) | null = null;
  /** Monotonic time in seconds, the clock of callAt/callLater. */
  time(): number {
    return now() / 1000;
  }

  /**
   * Waits for I/O (seconds; 0 only looks, null blocks), queues the ready
   * readers' and writers' callbacks, and returns how many events it found:
   * a number for timeout 0, else a promise of it. The only I/O hook of an
   * iteration: a subclass may override it to watch or change every look.
   */
  protected abstract _select(timeout: Timeout): number | Promise<number>;
  /**
   * Sends the writes that transports queued since the last flush (one call
   * into the addon for all of them, as uvloop writes its queued writes once
   * per iteration). Called before every look at I/O and when the loop
   * stops; the default has nothing queued.
   */
  _flushWrites(): void {}
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
   * far. This is the only place where callbacks are called. Returns a
   * promise only when it has to wait (for Node's loop, or for promise jobs
   * to settle); otherwise it has done the whole iteration when it returns.
   */
  _runOnce(): Promise<void> | undefined {
    // Let Node's loop run now and then, whether the loop is busy with
    // callbacks or with I/O that is always ready (a quick look that finds
    // events never waits). First, so that the timeout below sees whatever
    // Node code scheduled meanwhile. Before it, what the last callbacks (and
    // the promise jobs after them) wrote goes out.
    if (this.#ranCallbacks) {
      this.#ranCallbacks = false;
      if (this._settleHops > 0) return this.#settleThenRun();
    }
    return this.#runFromFlush();
  }

  /** _runOnce after the promise jobs the last callbacks started had their turns. */
  async #settleThenRun(): Promise<void> {
    for (let i = this._settleHops; i > 0; i--) await SETTLED;
    const rest = this.#runFromFlush();
    if (rest !== undefined) await rest;
  }

  /** _runOnce from its flush on. */
  #runFromFlush(): Promise<void> | undefined {
    this._flushWrites();
    if (now() - this._lastYield >= YIELD_MS) return this.#yieldThenRun();
    return this.#runFromLook();
  }

  /** _runOnce after a turn of Node's loop. */
  async #yieldThenRun(): Promise<void> {
    // A write from Node's callbacks meanwhile goes out at once.
    this._batchOpen = false;
    try {
      await yieldToNode();
    } finally {
      this._batchOpen = this._running;
    }
    this._lastYield = now();
    const rest = this.#runFromLook();
    if (rest !== undefined) await rest;
  }

  /** _runOnce from its look at I/O on: a promise only when it waits. */
  #runFromLook(): Promise<void> | undefined {
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

    if (timeout === 0) {
      // Busy: poll without waiting.
      this._select(0);
    } else {
      // A quick look first (see #emptyLooks): under load something is
      // usually ready.
      let look = true;
      if (this.#emptyLooks >= QUICK_LOOK_MISSES) {
        if (++this.#skippedLooks < QUICK_LOOK_PROBE) look = false;
        else this.#skippedLooks = 0;
      }
      let found = 0;
      if (look) {
        found = this._select(0) as number;
        this.#emptyLooks = found === 0 ? Math.min(this.#emptyLooks + 1, QUICK_LOOK_MISSES) : 0;
      }
      if (found === 0) return this.#waitThenRun(timeout);
    }
    this.#runReady();
    return undefined;
  }

  /**
   * Waits for I/O or for work from outside the loop (callSoon from a Node
   * callback, stop(), a new timer), whichever comes first; then the rest of
   * the iteration.
   */
  async #waitThenRun(timeout: Timeout): Promise<void> {
    if (!this._hasWaiters() && timeout === null) {
      // Nothing to wait on: a plain promise, which does not keep the
      // process alive; callSoon/callAt/addReader/stop resolve it.
      this._batchOpen = false;
      try {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      } finally {
        this._batchOpen = this._running;
      }
    } else {
      this.#wake = this.#interrupt;
      this._batchOpen = false;
      try {
        await this._select(timeout);
      } finally {
        this.#wake = null;
        this._batchOpen = this._running;
      }
    }
    // The wait went through Node's loop: its turn is fresh.
    this._lastYield = now();
    this.#runReady();
  }

  /** Queues the due timers, then runs the callbacks queued so far. */
  #runReady(): void {
    // Handle 'later' callbacks that are ready (no clock read without any).
    const sched = this._scheduled;
    const endTime = sched.length > 0 ? this.time() : 0;
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
    if (ntodo > 0) {
      this.#ranCallbacks = true;
      if (this._settleHops > 0 && ++this.#settleCalm >= SETTLE_DECAY) {
        this.#settleCalm = 0;
        this._settleHops--;
      }
    }
    const debug = this._debug;
    for (let i = 0; i < ntodo; i++) {
      const h = ready.shift()!;
      if (h._cancelled) continue;
      if (debug) runTimed(this, h);
      else h._run();
    }
  }

  /**
   * @internal A transport wrote outside the batch: when the loop is waiting
   * for I/O, it is a promise job that came too late for the last flush
   * (see _settleHops).
   */
  _lateWrite(): void {
    if (this.#wake === this.#interrupt && this._settleHops < MAX_SETTLE_HOPS) {
      this._settleHops++;
      this.#settleCalm = 0;
    }
  }

  /** Cancels the wait in flight: _wakeup() while _select waits. */
  readonly #interrupt = (): void => this._interruptSelect();
}
