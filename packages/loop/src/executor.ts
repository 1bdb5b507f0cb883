/**
 * Executors: CPython 3.11 Lib/asyncio/base_events.py `run_in_executor`,
 * `set_default_executor`, `shutdown_default_executor` and the default
 * executor's shutdown in `close()`, with the part of
 * `concurrent.futures.Executor` they use (`submit`, `shutdown`).
 *
 * Differs from CPython: a JavaScript function cannot run on another thread
 * (a closure cannot cross to a worker), so the default executor,
 * `ImmediateExecutor`, runs `fn` on the JS thread in a later macrotask
 * (`setImmediate`), not in a thread pool. That keeps asyncio's contract
 * (`fn` never runs inside the call, and its result or exception comes back
 * through the promise) but not its parallelism: a CPU-bound `fn` still holds
 * the loop, and Node, until it returns. Only what `fn` itself hands off
 * (async fs, crypto, zlib, a worker of its own) runs elsewhere; an `fn` that
 * returns a promise is awaited. Any object with `submit(fn, ...args) =>
 * Promise` may be given instead, such as a worker_threads pool that takes
 * module-path tasks.
 */
import { pyTypeName } from '@iomux/core-native';
import { RuntimeError } from '@iomux/core-native/error-classes';

/**
 * What `loop.runInExecutor()` takes: the part of Python's
 * `concurrent.futures.Executor` that asyncio uses.
 */
export interface Executor {
  /** Schedules `fn(...args)`; the promise settles with its result or exception. */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>>;
  /**
   * Refuses new work; with `wait` (default true) resolves once the work
   * already submitted has settled.
   */
  shutdown?(wait?: boolean): void | Promise<void>;
}

/** Whether `x` has an Executor's submit(). */
export function isExecutor(x: unknown): x is Executor {
  return typeof x === 'object' && x !== null && typeof (x as { submit?: unknown }).submit === 'function';
}

/**
 * The default executor: runs each function on the JS thread in a later
 * macrotask (setImmediate), one at a time in submission order. It frees
 * the caller from running `fn` now; it does not free the loop from a
 * CPU-bound `fn` (see the module comment).
 */
export class ImmediateExecutor implements Executor {
  readonly #pending = new Set<Promise<unknown>>();
  #shutdown = false;

  /** How many submitted functions have not settled yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Schedules `fn(...args)` after the current macrotask.
   * @throws {RuntimeError} (as a rejection) 'cannot schedule new futures after shutdown'
   * @throws {TypeError} (as a rejection) if `fn` is not a function
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    if (this.#shutdown) return Promise.reject(new RuntimeError('cannot schedule new futures after shutdown'));
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`'${pyTypeName(fn)}' object is not callable`));
    const p = new Promise<Awaited<R>>((resolve, reject) => {
      setImmediate(() => {
        try {
          resolve(fn(...args) as Awaited<R>);
        } catch (e) {
          reject(e);
        }
      });
    });
    const tracked = p.then(
      () => {},
      () => {},
    );
    this.#pending.add(tracked);
    void tracked.then(() => this.#pending.delete(tracked));
    return p;
  }

  /** Refuses new work; with `wait` (default true) resolves once all submitted work settled. */
  async shutdown(wait = true): Promise<void> {
    this.#shutdown = true;
    if (wait) await Promise.all([...this.#pending]);
  }
}

/** The callback check of asyncio's `_check_callback`, for `method`. */
function checkCallback(fn: unknown, method: string): void {
  if (typeof fn !== 'function') throw new TypeError(`a callable object was expected by ${method}(), got ${pyTypeName(fn)}`);
}

/**
 * A loop's default executor and whether shutdownDefaultExecutor() was
 * called: base_events.py's `_default_executor` and
 * `_executor_shutdown_called`, behind the loop's methods.
 */
export class ExecutorSlot {
  #default: Executor | null = null;
  #shutdownCalled = false;

  /** loop.runInExecutor(): `executor` null or undefined means the default. */
  run<A extends unknown[], R>(executor: Executor | null | undefined, fn: (...args: A) => R, args: A): Promise<Awaited<R>> {
    checkCallback(fn, 'run_in_executor');
    if (executor === null || executor === undefined) {
      // Only check when the default executor is being used
      if (this.#shutdownCalled) throw new RuntimeError('Executor shutdown has been called');
      executor = this.#default ??= new ImmediateExecutor();
    } else if (!isExecutor(executor)) {
      throw new TypeError(`executor must be an Executor (an object with a submit() method), not '${pyTypeName(executor)}'`);
    }
    return executor.submit(fn, ...args);
  }

  /** loop.setDefaultExecutor(). */
  setDefault(executor: Executor): void {
    if (!isExecutor(executor)) throw new TypeError('executor must be an Executor instance (an object with a submit() method)');
    this.#default = executor;
  }

  /** loop.shutdownDefaultExecutor(): refuses the default from now on, and waits for its work. */
  async shutdownDefault(): Promise<void> {
    this.#shutdownCalled = true;
    const executor = this.#default;
    if (executor === null) return;
    await executor.shutdown?.(true);
  }

  /** loop.close(): the default executor shuts down without waiting. */
  close(): void {
    const executor = this.#default;
    if (executor === null) return;
    this.#default = null;
    const r = executor.shutdown?.(false);
    // Nobody awaits it: a failure is the executor's own to report.
    if (r instanceof Promise) r.catch(() => {});
  }
}
