// executor.ts: CPython 3.11 test_asyncio/test_base_events.py
// (test_set_default_executor, test_set_default_executor_error) and
// test_events.py (test_run_in_executor), plus the default executor's
// contract: fn runs after the call returns, its errors come back through
// the promise, shutdown waits and then refuses work, close() shuts it down.
import t from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { EventLoop, run, DefaultExecutor, ImmediateExecutor, ThreadPoolExecutor, isExecutor, workerFunction, type Executor } from '@iomux/loop';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { sleep } from './helpers.js';

const bad = (x: unknown): any => x;

checkNoFdLeak(t);

t.test('test_run_in_executor: the default executor runs fn later and returns its result', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  const order: string[] = [];
  const res = await loop.runUntilComplete(async () => {
    const p = loop.runInExecutor(null, (a: string, b: number) => {
      order.push('fn');
      return `${a}${b}`;
    }, 'yo', 1);
    order.push('after call');
    return p;
  });
  t.equal(res, 'yo1');
  t.same(order, ['after call', 'fn'], 'fn never runs inside runInExecutor()');
});

t.test('an fn that throws or rejects rejects the promise; a promise is awaited', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  await loop.runUntilComplete(async () => {
    await t.rejects(loop.runInExecutor(null, () => { throw new RangeError('sync'); }), new RangeError('sync'));
    await t.rejects(loop.runInExecutor(null, async () => { throw new RangeError('async'); }), new RangeError('async'));
    t.equal(await loop.runInExecutor(null, async (x: number) => {
      await sleep(loop, 0.01);
      return x * 2;
    }, 21), 42);
  });
});

t.test('the loop keeps running while an async fn waits; a CPU-bound fn holds it', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  await loop.runUntilComplete(async () => {
    let ticks = 0;
    const h = setInterval(() => ticks++, 1);
    const t0 = Date.now();
    await loop.runInExecutor(null, () => {
      while (Date.now() - t0 < 30) {
        // busy: nothing else on the JS thread runs meanwhile
      }
    });
    clearInterval(h);
    t.ok(ticks <= 2, `a CPU-bound fn blocks Node's timers too (${ticks} ticks)`);
  });
});

t.test('hostile arguments', async (t) => {
  const loop = new EventLoop();
  await loop.runUntilComplete(async () => {
    await t.rejects(loop.runInExecutor(null, 'nope' as never), new TypeError('a callable object was expected by run_in_executor(), got str'));
    await t.rejects(loop.runInExecutor({} as never, () => 1), TypeError, 'an executor with no submit()');
    await t.rejects(loop.runInExecutor(42 as never, () => 1), TypeError);
    await t.rejects(new ImmediateExecutor().submit(null as never), TypeError);
  });
  loop.close();
  await t.rejects(loop.runInExecutor(null, () => 1), new RuntimeError('Event loop is closed'));
});

t.test('test_set_default_executor and a custom executor', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  const seen: unknown[][] = [];
  const executor: Executor = {
    submit(fn, ...args) {
      seen.push(args);
      return Promise.resolve(fn(...args));
    },
  };
  t.ok(isExecutor(executor));
  loop.setDefaultExecutor(executor);
  t.equal(await loop.runInExecutor(null, (x: number) => x + 1, 1), 2);
  t.equal(await loop.runInExecutor(executor, (x: number) => x + 2, 1), 3);
  t.same(seen, [[1], [1]]);
  // Any executor may be passed for one call, the default staying.
  t.equal(await loop.runInExecutor(new ImmediateExecutor(), () => 'own'), 'own');
  t.equal(seen.length, 2);
});

t.test('test_set_default_executor_error', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  for (const bad of [null, undefined, 1, 'x', {}, { submit: 1 }]) {
    t.throws(() => loop.setDefaultExecutor(bad as never), new TypeError('executor must be an Executor instance (an object with a submit() method)'));
  }
});

t.test('shutdownDefaultExecutor waits for pending work, then runInExecutor(null) refuses', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  await loop.runUntilComplete(async () => {
    let done = false;
    const p = loop.runInExecutor(null, async () => {
      await new Promise((r) => setTimeout(r, 20));
      done = true;
    });
    await loop.shutdownDefaultExecutor();
    t.ok(done, 'the pending function finished first');
    await p;
    await t.rejects(loop.runInExecutor(null, () => 1), new RuntimeError('Executor shutdown has been called'));
    // An explicit executor still works.
    t.equal(await loop.runInExecutor(new ImmediateExecutor(), () => 1), 1);
    await loop.shutdownDefaultExecutor(); // twice is fine
  });
});

t.test('run() waits for the default executor before it closes the loop, as asyncio.run', async (t) => {
  let done = false;
  let loopClosedInside = true;
  const result = await run(async (loop) => {
    void loop.runInExecutor(null, async () => {
      await new Promise((r) => setTimeout(r, 30));
      loopClosedInside = loop.isClosed();
      done = true;
    });
    return 7;
  });
  t.equal(result, 7);
  t.ok(done, 'the work main left behind finished before run() returned');
  t.notOk(loopClosedInside, 'while the loop was still open');
});

t.test('shutdownDefaultExecutor with no default executor made', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  await loop.shutdownDefaultExecutor();
  await t.rejects(loop.runInExecutor(null, () => 1), RuntimeError);
});

t.test('ImmediateExecutor.shutdown refuses new work; close() shuts the default down', async (t) => {
  const ex = new ImmediateExecutor();
  const p = ex.submit(() => 5);
  t.equal(ex.pending, 1);
  await ex.shutdown(false);
  await t.rejects(ex.submit(() => 1), new RuntimeError('cannot schedule new futures after shutdown'));
  t.equal(await p, 5, 'work submitted before shutdown(false) still runs');

  let shutdownWith: unknown[] | null = null;
  const loop = new EventLoop();
  loop.setDefaultExecutor({
    submit: (fn, ...args) => Promise.resolve(fn(...args)),
    shutdown: (...a: unknown[]) => {
      shutdownWith = a;
      return Promise.reject(new Error('ignored'));
    },
  });
  loop.close();
  t.same(shutdownWith, [false], 'close() calls shutdown(false), as asyncio');
});

// ThreadPoolExecutor: workerFunction()s in worker threads.
const modDir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-executor-'));
t.teardown(() => fs.rmSync(modDir, { recursive: true, force: true }));
const MOD = path.join(modDir, 'work.cjs');
fs.writeFileSync(
  MOD,
  `const { threadId } = require('node:worker_threads');
exports.add = (a, b) => a + b;
exports.thread = () => threadId;
exports.spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end); return threadId; };
exports.fail = () => { throw new RangeError('in the worker'); };
exports.later = async (v) => { await new Promise((r) => setTimeout(r, 20)); return v; };
exports.notAFunction = 42;
`,
);

t.test('ThreadPoolExecutor runs a workerFunction in another thread', async (t) => {
  const loop = new EventLoop();
  const pool = new ThreadPoolExecutor(2);
  t.teardown(() => {
    loop.close();
    return pool.shutdown();
  });
  const add = workerFunction<[number, number], number>(MOD, 'add');
  const thread = workerFunction<[], number>(pathToFileURL(MOD), 'thread');
  await loop.runUntilComplete(async () => {
    t.equal(await loop.runInExecutor(pool, add, 2, 3), 5);
    t.not(await loop.runInExecutor(pool, thread), threadId, 'not this thread');
    t.equal(await add(1, 1), 2, 'called directly, it runs here');
    t.equal(await loop.runInExecutor(pool, workerFunction(MOD, 'later'), { deep: [1, 'x'] }).then((v) => JSON.stringify(v)), '{"deep":[1,"x"]}', 'structured clone both ways');
    await t.rejects(loop.runInExecutor(pool, workerFunction(MOD, 'fail')), new RangeError('in the worker'));
    await t.rejects(loop.runInExecutor(pool, workerFunction(MOD, 'notAFunction')), TypeError);
    await t.rejects(loop.runInExecutor(pool, workerFunction(MOD, 'missing')), TypeError);
    await t.rejects(loop.runInExecutor(pool, workerFunction(path.join(modDir, 'none.cjs'), 'x')), { code: 'ERR_MODULE_NOT_FOUND' });
    await t.rejects(loop.runInExecutor(pool, add, bad(() => 1), 1), { name: 'DataCloneError' }, 'an argument that cannot be cloned');
    await t.rejects(loop.runInExecutor(pool, (() => 1) as never), TypeError, 'a closure');
    t.equal(await loop.runInExecutor(pool, add, 1, 2), 3, 'still usable after errors');
  });
});

t.test('the default executor: a workerFunction on a worker thread, a closure on this one', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  const thread = workerFunction<[], number>(MOD, 'thread');
  await loop.runUntilComplete(async () => {
    t.not(await loop.runInExecutor(null, thread), threadId, 'workerFunction: another thread');
    t.equal(await loop.runInExecutor(null, () => threadId), threadId, 'closure: this thread');
    await t.rejects(loop.runInExecutor(null, workerFunction(MOD, 'fail')), new RangeError('in the worker'));
    await loop.shutdownDefaultExecutor();
  });
  await t.rejects(loop.runInExecutor(null, thread), new RuntimeError('Executor shutdown has been called'));
  const ex = new DefaultExecutor();
  t.equal(ex.pool, null, 'no thread until a workerFunction comes');
  t.equal(await ex.submit(workerFunction<[number, number], number>(MOD, 'add'), 2, 3), 5);
  t.equal(ex.pool?.threads, 1);
  await ex.shutdown();
  t.equal(ex.pool?.threads, 0, 'shutdown ends the threads');
  await t.rejects(ex.submit(() => 1), new RuntimeError('cannot schedule new futures after shutdown'));
});

t.test('ThreadPoolExecutor frees the loop from CPU-bound work, maxWorkers at a time', async (t) => {
  const loop = new EventLoop();
  const pool = new ThreadPoolExecutor(2);
  t.teardown(() => loop.close());
  const spin = workerFunction<[number], number>(MOD, 'spin');
  await loop.runUntilComplete(async () => {
    let ticks = 0;
    const h = setInterval(() => ticks++, 5);
    const ids = await Promise.all([loop.runInExecutor(pool, spin, 200), loop.runInExecutor(pool, spin, 200), loop.runInExecutor(pool, spin, 200)]);
    clearInterval(h);
    t.ok(ticks >= 10, `Node's timers ran meanwhile (${ticks} ticks)`);
    t.equal(new Set(ids).size, 2, 'two threads');
    t.equal(pool.threads, 2);
  });
  let finished = false;
  const pending = loop.runInExecutor(pool, spin, 50).then(() => {
    finished = true;
  });
  await pool.shutdown();
  t.ok(finished, 'submitted work finished before shutdown resolved');
  await pending;
  t.equal(pool.threads, 0);
  await t.rejects(pool.submit(spin, 1), new RuntimeError('cannot schedule new futures after shutdown'));
});

t.test('ThreadPoolExecutor and workerFunction hostile arguments', async (t) => {
  t.throws(() => new ThreadPoolExecutor(0), new ValueError('max_workers must be greater than 0'));
  t.throws(() => new ThreadPoolExecutor(-1), ValueError);
  t.throws(() => new ThreadPoolExecutor(bad('2')), TypeError);
  t.throws(() => new ThreadPoolExecutor(1.5), TypeError);
  t.throws(() => workerFunction('relative.js', 'x'), ValueError);
  t.throws(() => workerFunction(MOD, bad(3)), TypeError);
  const pool = new ThreadPoolExecutor(1);
  t.equal(pool.threads, 0, 'threads start with the work');
  await pool.shutdown();
  const loop = new EventLoop();
  loop.setDefaultExecutor(new ThreadPoolExecutor(1));
  await t.rejects(loop.runInExecutor(null, () => 1), TypeError, 'a closure on a thread pool default');
  await loop.shutdownDefaultExecutor();
  loop.close();
});
