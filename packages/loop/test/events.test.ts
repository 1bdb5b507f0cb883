// events.ts: CPython 3.11 test_asyncio/test_events.py HandleTests and
// TimerTests (Handle, TimerHandle), and the running-loop functions
// (getRunningLoop). CPython's mock loop is a plain object that records
// what the handle reports.
import t from 'tap';
import { EventLoop, Handle, TimerHandle, getRunningLoop, run, type ExceptionContext } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { newLoop, tick } from './helpers.js';

checkNoFdLeak(t);

/** CPython's mock.Mock() loop: records exception-handler calls and cancellations. */
function mockLoop(): { contexts: ExceptionContext[]; cancelled: TimerHandle[]; callExceptionHandler(c: ExceptionContext): void; _timerHandleCancelled(h: TimerHandle): void } {
  const contexts: ExceptionContext[] = [];
  const cancelled: TimerHandle[] = [];
  return {
    contexts,
    cancelled,
    callExceptionHandler: (c) => contexts.push(c),
    _timerHandleCancelled: (h) => cancelled.push(h),
  };
}

function noop(..._args: unknown[]): void {}

t.test('test_handle', async (t) => {
  const callback = (...args: unknown[]): unknown[] => args;
  const args: unknown[] = [];
  const h = new Handle(callback, args, mockLoop());
  t.equal(h._callback, callback);
  t.equal(h._args, args);
  t.notOk(h.cancelled());
  h.cancel();
  t.ok(h.cancelled());
  t.equal(h._callback, null);
  t.equal(h._args, null);
  // running a cancelled handle does nothing
  h._run();
});

t.test('test_callback_with_exception', async (t) => {
  const loop = mockLoop();
  const err = new TypeError('boom');
  const h = new Handle(
    () => {
      throw err;
    },
    [],
    loop,
  );
  h._run();
  t.equal(loop.contexts.length, 1);
  t.match(loop.contexts[0]!.message, /^Exception in callback.*/);
  t.equal(loop.contexts[0]!.exception, err);
  t.equal(loop.contexts[0]!.handle, h);
});

t.test('a callback returning a rejected promise reports like one that throws', async (t) => {
  const loop = mockLoop();
  const err = new Error('async boom');
  const h = new Handle(
    async function failing() {
      throw err;
    },
    [],
    loop,
  );
  h._run();
  await new Promise((r) => setImmediate(r));
  t.equal(loop.contexts.length, 1);
  t.match(loop.contexts[0]!.message, /^Exception in callback <Handle failing\(\)>$/);
  t.equal(loop.contexts[0]!.exception, err);
});

t.test('test_handle_repr', async (t) => {
  const h = new Handle(noop, [1, 2], mockLoop());
  t.equal(h.toString(), '<Handle noop()>');
  h.cancel();
  t.equal(h.toString(), '<Handle cancelled>');
  const anon = new Handle(
    (() => () => {})(),
    [],
    mockLoop(),
  );
  t.equal(anon.toString(), '<Handle anonymous()>');
});

t.test('test_when', async (t) => {
  const when = performance.now() / 1000;
  const h = new TimerHandle(when, () => false, [], mockLoop());
  t.equal(h.when(), when);
});

t.test('test_timer', async (t) => {
  const callback = (...args: unknown[]): unknown[] => args;
  const args = [1, 2, 3];
  const when = performance.now() / 1000;
  const loop = mockLoop();
  const h = new TimerHandle(when, callback, args, loop);
  t.equal(h._callback, callback);
  t.equal(h._args, args);
  t.notOk(h.cancelled());
  // cancel
  h.cancel();
  t.ok(h.cancelled());
  t.equal(h._callback, null);
  t.equal(h._args, null);
  t.same(loop.cancelled, [h], 'the loop was told once');
  h.cancel();
  t.equal(loop.cancelled.length, 1, 'and only once');
});

t.test('test_timer_repr', async (t) => {
  const h = new TimerHandle(123, noop, [], mockLoop());
  t.equal(h.toString(), '<TimerHandle noop()>');
  h.cancel();
  t.equal(h.toString(), '<TimerHandle cancelled>');
});

t.test('test_timer_comparison: the loop orders timers by when, then by creation', async (t) => {
  // asyncio orders TimerHandles with < and ==; here the loop's heap does.
  const loop = newLoop(t);
  const order: string[] = [];
  const when = loop.time() + 0.01;
  loop.callAt(when + 0.01, () => order.push('h2 (later)'));
  loop.callAt(when, () => order.push('h1a'));
  loop.callAt(when, () => order.push('h1b'));
  await loop.runUntilComplete(new Promise<void>((r) => loop.callAt(when + 0.02, r)));
  t.same(order, ['h1a', 'h1b', 'h2 (later)']);
});

t.test('callLater returns a TimerHandle whose when() is time() + delay', async (t) => {
  const loop = newLoop(t);
  const before = loop.time();
  const h = loop.callLater(5, noop);
  const after = loop.time();
  t.ok(h.when() >= before + 5 && h.when() <= after + 5);
  t.equal(loop.callAt(1234.5, noop).when(), 1234.5);
  t.ok(loop.time() > 0, 'time() is monotonic seconds');
});

t.test('test_get_running_loop', async (t) => {
  t.throws(() => getRunningLoop(), { name: 'RuntimeError', message: 'no running event loop' });
  const loop = new EventLoop();
  let seen: unknown = null;
  loop.callSoon(() => {
    seen = getRunningLoop();
    loop.stop();
  });
  await loop.runForever();
  t.equal(seen, loop, 'a callback sees its loop');
  t.throws(() => getRunningLoop(), { name: 'RuntimeError' }, 'not after the loop stopped');
  loop.close();
  t.equal(
    await run(async (l) => {
      await tick(l);
      return getRunningLoop() === l;
    }),
    true,
    'run(main): main runs on the running loop',
  );
});
