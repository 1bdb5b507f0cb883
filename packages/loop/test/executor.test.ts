// executor.ts: CPython 3.11 test_asyncio/test_base_events.py
// (test_set_default_executor, test_set_default_executor_error) and
// test_events.py (test_run_in_executor), plus the default executor's
// contract: fn runs after the call returns, its errors come back through
// the promise, shutdown waits and then refuses work, close() shuts it down.
import t from 'tap';
import { EventLoop, ImmediateExecutor, isExecutor, type Executor } from '@iomux/loop';
import { RuntimeError } from '@iomux/core-native/error-classes';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { sleep } from './helpers.js';

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
