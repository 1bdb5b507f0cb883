// base-events.ts: scheduling. CPython 3.11 test_asyncio/test_base_events.py
// (BaseEventLoopTests) and test_events.py's call_soon/call_later/call_at
// and timer cases, case by case, on a real loop. Where CPython mocks the
// selector, a loop subclass records the timeouts `_select` is asked for
// and answers at once.
import t from 'tap';
import { EventLoop, Handle, TimerHandle } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, runBriefly, sleep } from './helpers.js';
import { RecordingLoop, noop } from './base-events-support.js';

checkNoFdLeak(t);

t.test('test_close', async (t) => {
  const loop = new EventLoop();
  t.notOk(loop.isClosed());
  loop.close();
  t.ok(loop.isClosed());
  // it should be possible to call close() more than once
  loop.close();
  loop.close();
  // operation blocked when the loop is closed
  await t.rejects(loop.runForever(), { name: 'RuntimeError', message: 'Event loop is closed' });
  await t.rejects(loop.runUntilComplete(Promise.resolve()), { name: 'RuntimeError', message: 'Event loop is closed' });
  t.throws(() => loop.callSoon(noop), { name: 'RuntimeError', message: 'Event loop is closed' });
  t.throws(() => loop.callLater(1.0, noop), { name: 'RuntimeError', message: 'Event loop is closed' });
  t.throws(() => loop.callAt(loop.time() + 0.0, noop), { name: 'RuntimeError', message: 'Event loop is closed' });
  t.throws(() => loop.addSignalHandler('SIGTERM', noop), { name: 'RuntimeError', message: 'Event loop is closed' });
});

t.test('test_call_soon', async (t) => {
  const loop = newLoop(t);
  const cb = (): void => {};
  const h = loop.callSoon(cb);
  t.equal(h._callback, cb);
  t.type(h, Handle);
  t.notOk(h instanceof TimerHandle);
  t.equal(loop._ready.length, 1);
  t.equal(loop._ready.shift(), h, 'h is in loop._ready');
});

t.test('test_call_soon (events): runs with its arguments', async (t) => {
  const loop = newLoop(t);
  const results: unknown[] = [];
  loop.callSoon(
    (a: string, b: string) => {
      results.push([a, b]);
      loop.stop();
    },
    'hello',
    'world',
  );
  await loop.runForever();
  t.same(results, [['hello', 'world']]);
});

t.test('the ready queue keeps FIFO order as it wraps around and grows', async (t) => {
  const loop = newLoop(t);
  const order: number[] = [];
  let next = 0;
  // Each run adds more than it takes, in an irregular pattern, so the ring
  // wraps at many offsets before and after each growth (64 -> 128 -> ...).
  const step = (i: number): void => {
    order.push(i);
    const more = i % 3 === 0 ? 2 : i % 7 === 0 ? 0 : 1;
    for (let k = 0; k < more && next < 3000; k++) loop.callSoon(step, next++);
    if (order.length === 3000) loop.stop();
  };
  for (let k = 0; k < 50; k++) loop.callSoon(step, next++);
  await loop.runForever();
  t.equal(order.length, 3000);
  t.ok(order.every((v, i) => v === i), 'every callback ran once, in the order it was scheduled');
});

t.test('test_call_soon_non_callable', async (t) => {
  const loop = newLoop(t);
  loop.setDebug(true);
  t.throws(() => loop.callSoon(1 as any), { name: 'TypeError', message: /a callable object/ });
  t.throws(() => loop.callLater(0, 'x' as any), { name: 'TypeError', message: /a callable object/ });
  t.throws(() => loop.callAt(0, null as any), { name: 'TypeError', message: /a callable object/ });
});

t.test('test_call_later', async (t) => {
  const loop = newLoop(t);
  const cb = (): void => {};
  const h = loop.callLater(10.0, cb);
  t.type(h, TimerHandle);
  t.ok(loop._scheduled.items.includes(h), 'h is in loop._scheduled');
  t.equal(loop._ready.length, 0, 'h is not in loop._ready');
  t.throws(() => loop.callLater(null as any, cb), { name: 'TypeError' }, 'delay must not be None');
  t.throws(() => loop.callLater(NaN, cb), { name: 'TypeError' });
});

t.test('test_call_later (events): runs after the delay, never early', async (t) => {
  for (const backend of BACKENDS) {
    const loop = newLoop(t, backend);
    const results: string[] = [];
    const t0 = loop.time();
    let t1 = 0;
    loop.callLater(
      0.1,
      (arg: string) => {
        t1 = loop.time();
        results.push(arg);
        loop.stop();
      },
      'hello world',
    );
    await loop.runForever();
    t.same(results, ['hello world'], backend);
    t.ok(t1 - t0 >= 0.1, `${backend}: ran after ${(t1 - t0).toFixed(4)} s >= 0.1 s`);
  }
});

t.test('test_call_later_negative_delays', async (t) => {
  const loop = newLoop(t);
  const calls: string[] = [];
  const cb = (arg: string): void => {
    calls.push(arg);
  };
  loop.callLater(-1, cb, 'a');
  loop.callLater(-2, cb, 'b');
  await runBriefly(loop);
  t.same(calls, ['b', 'a']);
});

t.test('test_time_and_call_at', async (t) => {
  for (const backend of BACKENDS) {
    const loop = newLoop(t, backend);
    const delay = 0.1;
    // t0 before `when` (CPython reads it after, and allows 50 ms of slack):
    // a timer that never runs early then makes dt >= delay exactly.
    const t0 = loop.time();
    const when = loop.time() + delay;
    let ranAt = 0;
    loop.callAt(when, () => {
      ranAt = loop.time();
      loop.stop();
    });
    await loop.runForever();
    const dt = loop.time() - t0;
    t.ok(dt >= delay - 1e-9, `${backend}: dt ${dt.toFixed(4)} >= ${delay}`);
    t.ok(ranAt >= when, `${backend}: the callback ran at or after its time`);
    t.throws(() => loop.callAt(null as any, noop), { name: 'TypeError' }, 'when cannot be None');
  }
});

t.test('timers never run early, and run in order of their time', async (t) => {
  for (const backend of BACKENDS) {
    const loop = newLoop(t, backend);
    const early: string[] = [];
    const order: number[] = [];
    const delays = Array.from({ length: 60 }, (_, i) => ((i * 37) % 60) / 1000 + (i % 3) * 1e-4);
    for (const d of delays) {
      const h: TimerHandle = loop.callLater(d, () => {
        if (loop.time() < h.when()) early.push(`${d}: ${loop.time()} < ${h.when()}`);
        order.push(h.when());
      });
    }
    // tiny delays, as test_timeout_rounding's sleeps
    for (const d of [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]) {
      const h: TimerHandle = loop.callLater(d, () => {
        if (loop.time() < h.when()) early.push(`${d}`);
        order.push(h.when());
      });
    }
    await loop.runUntilComplete(sleep(loop, 0.1));
    t.same(early, [], `${backend}: no timer ran before its time`);
    t.equal(order.length, delays.length + 5);
    t.same(
      order,
      [...order].sort((a, b) => a - b),
      `${backend}: timers ran in time order`,
    );
  }
});

t.test('timers due at the same time run in the order they were scheduled', async (t) => {
  const loop = newLoop(t);
  const when = loop.time() + 0.01;
  const calls: number[] = [];
  for (let i = 0; i < 20; i++) loop.callAt(when, () => calls.push(i));
  await loop.runUntilComplete(sleep(loop, 0.02));
  t.same(
    calls,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

t.test('cancel: a cancelled Handle or TimerHandle does not run', async (t) => {
  const loop = newLoop(t);
  const calls: string[] = [];
  const h1 = loop.callSoon(() => calls.push('soon'));
  const h2 = loop.callLater(0.01, () => calls.push('later'));
  const h3 = loop.callAt(loop.time() + 0.01, () => calls.push('at'));
  loop.callSoon(() => calls.push('kept'));
  h1.cancel();
  h2.cancel();
  h3.cancel();
  h3.cancel(); // twice is fine
  t.ok(h1.cancelled() && h2.cancelled() && h3.cancelled());
  t.equal(loop._timerCancelledCount, 2, 'each timer counted once');
  // one that cancels another queued in the same iteration
  let h5: Handle | null = null;
  loop.callSoon(() => h5!.cancel());
  h5 = loop.callSoon(() => calls.push('cancelled by a sibling'));
  await loop.runUntilComplete(sleep(loop, 0.03));
  t.same(calls, ['kept']);
});

t.test('test_timeout_rounding: few iterations for tiny sleeps', async (t) => {
  let iterations = 0;
  class CountingLoop extends EventLoop {
    override async _runOnce(): Promise<void> {
      iterations++;
      return super._runOnce();
    }
  }
  const loop = new CountingLoop();
  t.teardown(() => loop.close());
  await loop.runUntilComplete(async () => {
    await sleep(loop, 1e-2);
    await sleep(loop, 1e-4);
    await sleep(loop, 1e-6);
    await sleep(loop, 1e-8);
    await sleep(loop, 1e-10);
  });
  // The ideal number of calls is 12; tolerate a few useless ones.
  t.ok(iterations <= 20, `${iterations} iterations`);
});

t.test('test__run_once', async (t) => {
  const loop = new RecordingLoop();
  t.teardown(() => loop.close());
  const h1 = new TimerHandle(loop.time() + 5.0, () => true, [], loop);
  const h2 = new TimerHandle(loop.time() + 10.0, () => true, [], loop);
  h1.cancel();
  loop._scheduled.push(h1);
  loop._scheduled.push(h2);
  await loop._runOnce();
  const waited = loop.timeouts.filter((x) => x !== 0);
  t.equal(waited.length, 1, 'one wait');
  t.ok(waited[0]! > 9.5 && waited[0]! < 10.5, `waited for ${waited[0]}`);
  t.same(loop._scheduled.items, [h2]);
});

t.test('test_set_debug', async (t) => {
  const loop = newLoop(t);
  t.equal(loop.getDebug(), false);
  loop.setDebug(true);
  t.ok(loop.getDebug());
  loop.setDebug(false);
  t.notOk(loop.getDebug());
});

t.test('test__run_once_schedule_handle', async (t) => {
  const loop = new RecordingLoop();
  t.teardown(() => loop.close());
  let handle: Handle | null = null;
  let processed = false;
  const cb = (l: EventLoop): void => {
    processed = true;
    handle = l.callSoon(() => true);
  };
  const h = new TimerHandle(loop.time() - 1, cb, [loop], loop);
  loop._scheduled.push(h);
  await loop._runOnce();
  t.ok(processed);
  t.equal(loop._ready.length, 1);
  t.equal(loop._ready.shift(), handle);
});

t.test('test__run_once_cancelled_event_cleanup', async (t) => {
  const loop = new RecordingLoop();
  t.teardown(() => loop.close());
  const MIN_SCHEDULED_TIMER_HANDLES = 100;
  const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;
  const cb = (): void => {};
  // One "blocking" event that will not be cancelled, so that later
  // cancelled events do not make it to the head of the queue and get cleaned.
  let notCancelledCount = 1;
  loop.callLater(3000, cb);
  // Less than the threshold of cancelled handles: they aren't removed.
  let cancelledCount = 2;
  for (let x = 0; x < 2; x++) loop.callLater(3600, cb).cancel();
  // Some cancelled events that will be at the head and removed.
  cancelledCount += 2;
  for (let x = 0; x < 2; x++) loop.callLater(100, cb).cancel();
  t.ok(cancelledCount + notCancelledCount <= MIN_SCHEDULED_TIMER_HANDLES);
  t.equal(loop._timerCancelledCount, cancelledCount);
  await loop._runOnce();
  cancelledCount -= 2;
  t.equal(loop._timerCancelledCount, cancelledCount);
  t.equal(loop._scheduled.length, cancelledCount + notCancelledCount);

  // Enough events to pass the cancelled fraction, so that deletion of
  // cancelled events happens on the next _runOnce.
  const addCancelCount = Math.ceil(MIN_SCHEDULED_TIMER_HANDLES * MIN_CANCELLED_TIMER_HANDLES_FRACTION) + 1;
  const addNotCancelCount = Math.max(MIN_SCHEDULED_TIMER_HANDLES - addCancelCount, 0);
  notCancelledCount += addNotCancelCount;
  for (let x = 0; x < addNotCancelCount; x++) loop.callLater(3600, cb);
  cancelledCount += addCancelCount;
  for (let x = 0; x < addCancelCount; x++) loop.callLater(3600, cb).cancel();
  t.equal(loop._scheduled.length, cancelledCount + notCancelledCount, 'all handles still scheduled');
  await loop._runOnce();
  t.equal(loop._scheduled.length, notCancelledCount, 'cancelled events were removed');
  t.ok(
    loop._scheduled.items.every((x) => !x._cancelled),
    'only uncancelled events remain scheduled',
  );
});
