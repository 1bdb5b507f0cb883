/**
 * Executors: CPython 3.11 Lib/asyncio/base_events.py `run_in_executor`,
 * `set_default_executor`, `shutdown_default_executor` and the default
 * executor's shutdown in `close()`, with the part of
 * `concurrent.futures.Executor` they use (`submit`, `shutdown`).
 *
 * The default executor, as asyncio's, is a thread pool: `DefaultExecutor`
 * runs a function named by module path and export name
 * (`workerFunction(path, name)`) on a worker_threads pool
 * (`ThreadPoolExecutor`), since only such a name, and structured-clonable
 * arguments and results, can cross to another thread.
 *
 * Differs from CPython: a plain JavaScript function (a closure) cannot run
 * on another thread, so the default executor runs it as `ImmediateExecutor`
 * does, on the JS thread in a later macrotask (`setImmediate`). That keeps
 * asyncio's contract (`fn` never runs inside the call, and its result or
 * exception comes back through the promise) but not its parallelism: a
 * CPU-bound closure still holds the loop, and Node, until it returns. Any
 * object with `submit(fn, ...args) => Promise` may be given instead.
 */
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pyTypeName } from '@iomux/core-native';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';

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

/**
 * The default executor (asyncio's default `ThreadPoolExecutor`): a
 * workerFunction() runs on a worker_threads pool, started on first use; any
 * other function, which cannot cross to a thread, runs as ImmediateExecutor
 * runs it.
 */
export class DefaultExecutor implements Executor {
  readonly #immediate = new ImmediateExecutor();
  #pool: ThreadPoolExecutor | null = null;
  #shutdown = false;

  /** The worker_threads pool, once a workerFunction() was submitted. */
  get pool(): ThreadPoolExecutor | null {
    return this.#pool;
  }

  /**
   * Schedules `fn(...args)`: on a worker thread for a workerFunction(), else
   * on this thread after the current macrotask.
   * @throws {RuntimeError} (as a rejection) 'cannot schedule new futures after shutdown'
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    if (this.#shutdown) return Promise.reject(new RuntimeError('cannot schedule new futures after shutdown'));
    if (typeof fn === 'function' && WORKER_FUNCTION in fn) return (this.#pool ??= new ThreadPoolExecutor()).submit(fn, ...args);
    return this.#immediate.submit(fn, ...args);
  }

  /** Refuses new work; with `wait` (default true) resolves once all submitted work settled and the threads ended. */
  async shutdown(wait = true): Promise<void> {
    this.#shutdown = true;
    await Promise.all([this.#immediate.shutdown(wait), this.#pool?.shutdown(wait)]);
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
      executor = this.#default ??= new DefaultExecutor();
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

/** Where a worker function lives: its module's URL and its export's name. */
const WORKER_FUNCTION = Symbol('iomux.workerFunction');

/** A function `ThreadPoolExecutor` can run: made by workerFunction(). */
export interface WorkerFunction<A extends unknown[] = unknown[], R = unknown> {
  (...args: A): Promise<Awaited<R>>;
  /** Where the function lives. */
  readonly [WORKER_FUNCTION]: WorkerFunctionSource;
}

/** A worker function's module and export. */
export interface WorkerFunctionSource {
  /** The module's file: URL. */
  readonly url: string;
  /** The export's name. */
  readonly name: string;
}

/**
 * Names the function `name` exported by the module at `modulePath` (an
 * absolute path or a file: URL), for ThreadPoolExecutor, which imports the
 * module in a worker thread and calls it there. Called directly, it runs on
 * this thread (after the same import).
 * @throws {ValueError} if `modulePath` is neither an absolute path nor a file: URL
 */
export function workerFunction<A extends unknown[] = unknown[], R = unknown>(modulePath: string | URL, name = 'default'): WorkerFunction<A, R> {
  const spec = String(modulePath);
  let url: string;
  if (modulePath instanceof URL || spec.startsWith('file:')) url = new URL(spec).href;
  else if (path.isAbsolute(spec)) url = pathToFileURL(spec).href;
  else throw new ValueError(`module path must be absolute or a file: URL, not '${spec}'`);
  if (typeof name !== 'string') throw new TypeError(`export name must be a str, not '${pyTypeName(name)}'`);
  const fn = async (...args: A): Promise<Awaited<R>> => exportOf(await import(url), url, name)(...args) as Awaited<R>;
  return Object.assign(fn, { [WORKER_FUNCTION]: { url, name } }) as WorkerFunction<A, R>;
}

function exportOf(mod: Record<string, unknown>, url: string, name: string): (...a: unknown[]) => unknown {
  const f = mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name];
  if (typeof f !== 'function') throw new TypeError(`${url} has no function export '${name}'`);
  return f as (...a: unknown[]) => unknown;
}

// What each worker runs: import, call, post the result or the error back.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ id, url, name, args }) => {
  try {
    const mod = await import(url);
    const f = mod[name] ?? (mod.default ? mod.default[name] : undefined);
    if (typeof f !== 'function') throw new TypeError(url + " has no function export '" + name + "'");
    parentPort.postMessage({ id, ok: true, value: await f(...args) });
  } catch (error) {
    // Structured clone keeps an Error's class and message, not its own fields.
    const own = {};
    if (error !== null && typeof error === 'object') {
      for (const k of ['code', 'errno', 'syscall', 'path']) if (k in error) own[k] = error[k];
    }
    parentPort.postMessage({ id, ok: false, error, own });
  }
});`;

interface Job {
  id: number;
  url: string;
  name: string;
  args: unknown[];
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Python's `concurrent.futures.ThreadPoolExecutor` on worker_threads: up to
 * `maxWorkers` threads (Python's default, min(32, CPUs + 4)), started as
 * work arrives, each running one function at a time. Only
 * workerFunction()s can be submitted; arguments and results are
 * structured-cloned (an error comes back as an Error of the same built-in
 * class, with its message). Idle workers do not keep Node alive.
 */
export class ThreadPoolExecutor implements Executor {
  /** The most threads it runs at once. */
  readonly maxWorkers: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #queue: Job[] = [];
  #nextId = 0;
  #shutdown = false;
  #drained: (() => void) | null = null;

  /** @throws {ValueError} 'max_workers must be greater than 0' */
  constructor(maxWorkers: number | null = null) {
    const n = maxWorkers ?? Math.min(32, nodeOs.availableParallelism() + 4);
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`max_workers must be an int, not '${pyTypeName(n)}'`);
    if (n <= 0) throw new ValueError('max_workers must be greater than 0');
    this.maxWorkers = n;
  }

  /**
   * Runs `fn(...args)` in a worker thread.
   * @throws {TypeError} (as a rejection) if `fn` is no workerFunction()
   * @throws {RuntimeError} (as a rejection) 'cannot schedule new futures after shutdown'
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    if (this.#shutdown) return Promise.reject(new RuntimeError('cannot schedule new futures after shutdown'));
    const where = (fn as Partial<WorkerFunction>)?.[WORKER_FUNCTION];
    if (typeof fn !== 'function' || where === undefined) {
      return Promise.reject(new TypeError(`ThreadPoolExecutor runs workerFunction(modulePath, name) only (a closure cannot cross to a thread), not '${pyTypeName(fn)}'`));
    }
    return new Promise<Awaited<R>>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, url: where.url, name: where.name, args, resolve: resolve as (v: unknown) => void, reject });
      this.#dispatch();
    });
  }

  /** How many threads are running. */
  get threads(): number {
    return this.#idle.length + this.#busy.size;
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let w = this.#idle.pop();
      if (w === undefined) {
        if (this.#busy.size >= this.maxWorkers) return;
        w = this.#spawn();
      }
      const job = this.#queue.shift()!;
      this.#busy.set(w, job);
      w.ref();
      try {
        w.postMessage({ id: job.id, url: job.url, name: job.name, args: job.args });
      } catch (e) {
        // Arguments that cannot be cloned.
        this.#done(w);
        job.reject(e);
      }
    }
    if (this.#busy.size === 0) this.#onDrained();
  }

  #spawn(): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: unknown; own?: object }) => {
      const job = this.#busy.get(w);
      if (job === undefined || job.id !== m.id) return;
      this.#done(w);
      if (m.ok) job.resolve(m.value);
      else job.reject(m.error !== null && typeof m.error === 'object' ? Object.assign(m.error, m.own) : m.error);
      this.#dispatch();
    });
    w.on('error', (e) => this.#lost(w, e));
    w.on('exit', (code) => this.#lost(w, new RuntimeError(`a worker thread exited (code ${code})`)));
    return w;
  }

  /** A worker is free again (or gone): idle and unreferenced, or terminated after shutdown. */
  #done(w: Worker): void {
    this.#busy.delete(w);
    w.unref();
    if (this.#shutdown && this.#queue.length === 0) void w.terminate();
    else this.#idle.push(w);
  }

  /** A worker died: its job fails, the others go on. */
  #lost(w: Worker, e: unknown): void {
    const job = this.#busy.get(w);
    this.#busy.delete(w);
    const i = this.#idle.indexOf(w);
    if (i >= 0) this.#idle.splice(i, 1);
    job?.reject(e);
    this.#dispatch();
  }

  #onDrained(): void {
    const d = this.#drained;
    if (this.#shutdown && d !== null && this.#queue.length === 0 && this.#busy.size === 0) {
      this.#drained = null;
      d();
    }
  }

  /**
   * Refuses new work; the work submitted still runs, then the threads end.
   * With `wait` (default true) resolves once it has.
   */
  async shutdown(wait = true): Promise<void> {
    this.#shutdown = true;
    for (const w of this.#idle.splice(0)) void w.terminate();
    if (this.#busy.size === 0 && this.#queue.length === 0) return;
    const drained = new Promise<void>((resolve) => {
      const prev = this.#drained;
      this.#drained = () => {
        prev?.();
        resolve();
      };
    });
    if (wait) await drained;
  }
}
