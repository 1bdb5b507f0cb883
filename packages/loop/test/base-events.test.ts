// base-events.ts: CPython 3.11 test_asyncio/test_base_events.py
// (BaseEventLoopTests, RunningLoopTests) and the scheduling, timer,
// stop/close and signal cases of test_events.py, case by case, on a real
// loop. Where CPython mocks the selector, a loop subclass records the
// timeouts `_select` is asked for and answers at once.
import t from 'tap';
import { EventLoop, Handle, TimerHandle, RuntimeError, ValueError, getRunningLoop, type ExceptionContext } from '@iomux/loop';
import { socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, recordingLogger, runBriefly, runUntil, sleep, tick } from './helpers.js';

checkNoFdLeak(t);

/** CPython's mocked selector: records each timeout and reports no I/O at once. */
class RecordingLoop extends EventLoop {
  timeouts: Array<number | null> = [];
  protected override _select(timeout: number | null): number {
    this.timeouts.push(timeout);
    return super._select(0) as number;
  }
}

const noop = (): void => {};

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

t.test('test_run_until_complete', async (t) => {
  const loop = newLoop(t);
  const delay = 0.1;
  const t0 = loop.time();
  t.equal(await loop.runUntilComplete(async () => (await sleep(loop, delay), 42)), 42);
  t.ok(loop.time() - t0 >= delay);
  t.equal(await loop.runUntilComplete(Promise.resolve('value')), 'value', 'a promise');
  t.equal(loop.isRunning(), false);
});

t.test('test_run_until_complete_type_error', async (t) => {
  const loop = newLoop(t);
  await t.rejects(loop.runUntilComplete('blah' as any), {
    name: 'TypeError',
    message: 'An asyncio.Future, a coroutine or an awaitable is required',
  });
  t.notOk(loop.isRunning());
});

t.test('test_run_until_complete_nesting', async (t) => {
  const loop = newLoop(t);
  await t.rejects(
    loop.runUntilComplete(async () => {
      t.ok(loop.isRunning());
      await loop.runUntilComplete(async () => {
        await tick(loop);
      });
    }),
    { name: 'RuntimeError', message: 'This event loop is already running' },
  );
});

t.test('test_run_until_complete_stopped', async (t) => {
  const loop = newLoop(t);
  await t.rejects(
    loop.runUntilComplete(async () => {
      loop.stop();
      await sleep(loop, 0.1);
    }),
    { name: 'RuntimeError', message: 'Event loop stopped before Future completed.' },
  );
});

t.test('test_run_until_complete_loop_orphan_future_close_loop', async (t) => {
  // The first run ends early (here: stopped); when its future settles
  // later, during the second run, it must not stop that run.
  const loop = newLoop(t);
  const foo = (delay: number) => async () => {
    await sleep(loop, delay);
  };
  loop.callSoon(() => loop.stop());
  await t.rejects(loop.runUntilComplete(foo(0.1)), { name: 'RuntimeError' });
  // This call fails if runUntilComplete does not clean up its callback for
  // the previous future.
  await t.resolves(loop.runUntilComplete(foo(0.2)));
});

t.test('runUntilComplete rejects as the future does, and the loop stays usable', async (t) => {
  const loop = newLoop(t);
  await t.rejects(
    loop.runUntilComplete(async () => {
      await tick(loop);
      throw new ValueError('spam');
    }),
    { name: 'ValueError', message: 'spam' },
  );
  t.equal(await loop.runUntilComplete(async () => 1), 1);
});

t.test('test_default_exc_handler_callback', async (t) => {
  const loop = newLoop(t);
  const log = recordingLogger();
  loop.logger = log.logger;
  const zeroError = function zero_error(fut: () => void): void {
    fut();
    throw new RangeError('division by zero');
  };
  // call_soon (events.Handle)
  loop.callSoon(zeroError, () => loop.callSoon(() => loop.stop()));
  await loop.runForever();
  t.equal(log.error.length, 1);
  t.match(String(log.error[0]![0]), /Exception in callback.*zero/);
  t.type(log.error[0]!.at(-1), RangeError);
  // call_later (events.TimerHandle)
  loop.callLater(0.01, zeroError, () => loop.callSoon(() => loop.stop()));
  await loop.runForever();
  t.equal(log.error.length, 2);
  t.match(String(log.error[1]![0]), /Exception in callback.*zero/);
  t.type(log.error[1]!.at(-1), RangeError);
});

t.test('test_default_exc_handler_coro: an async callback that rejects', async (t) => {
  const loop = newLoop(t);
  const log = recordingLogger();
  loop.logger = log.logger;
  loop.callSoon(async function zero_error_coro() {
    await sleep(loop, 0.01);
    throw new RangeError('division by zero');
  });
  await runUntil(loop, () => log.error.length > 0);
  t.match(String(log.error[0]![0]), /Exception in callback.*zero_error_coro/);
  t.type(log.error[0]!.at(-1), RangeError);
});

t.test('test_set_exc_handler_invalid', async (t) => {
  const loop = newLoop(t);
  t.throws(() => loop.setExceptionHandler('spam' as any), { name: 'TypeError', message: /A callable object or None/ });
});

t.test('test_set_exc_handler_custom', async (t) => {
  const loop = newLoop(t);
  const log = recordingLogger();
  loop.logger = log.logger;
  const zeroError = function zero_error(): void {
    throw new RangeError('division by zero');
  };
  const runLoop = async (): Promise<Handle> => {
    const handle = loop.callSoon(zeroError);
    await runBriefly(loop);
    return handle;
  };
  loop.setDebug(true);
  t.equal(loop.getExceptionHandler(), null);
  const calls: Array<[unknown, ExceptionContext]> = [];
  const mockHandler = (l: unknown, ctx: ExceptionContext): void => {
    calls.push([l, ctx]);
  };
  loop.setExceptionHandler(mockHandler);
  t.equal(loop.getExceptionHandler(), mockHandler);
  const handle = await runLoop();
  t.equal(calls.length, 1);
  t.equal(calls[0]![0], loop);
  const ctx = calls[0]![1];
  t.match(ctx.message, /Exception in callback.*zero_error/);
  t.type(ctx.exception, RangeError);
  t.equal(ctx.handle, handle);
  calls.length = 0;

  loop.setExceptionHandler(null);
  await runLoop();
  t.equal(log.error.length, 1);
  t.match(String(log.error[0]![0]), /Exception in callback.*zero/);
  t.type(log.error[0]!.at(-1), RangeError);
  t.equal(calls.length, 0, 'the removed handler was not called');
});

t.test('test_set_exc_handler_broken', async (t) => {
  const loop = newLoop(t);
  const log = recordingLogger();
  loop.logger = log.logger;
  loop.setExceptionHandler(() => {
    throw new TypeError('spam');
  });
  loop.callSoon(function zero_error() {
    throw new RangeError('division by zero');
  });
  await runBriefly(loop);
  t.equal(log.error.length, 1);
  t.match(String(log.error[0]![0]), /Unhandled error in exception handler/);
  const exc = log.error[0]!.at(-1) as Error;
  t.type(exc, TypeError);
  t.equal(exc.message, 'spam');
});

t.test('test_default_exc_handler_broken', async (t) => {
  let context: ExceptionContext | null = null;
  class Loop extends EventLoop {
    override defaultExceptionHandler(ctx: ExceptionContext): void {
      context = ctx;
      // Simulates a custom buggy defaultExceptionHandler.
      throw new ValueError('spam');
    }
  }
  const loop = new Loop();
  t.teardown(() => loop.close());
  const log = recordingLogger();
  loop.logger = log.logger;
  const runLoop = async (): Promise<void> => {
    loop.callSoon(function zero_error() {
      throw new RangeError('division by zero');
    });
    await runBriefly(loop);
  };
  await runLoop();
  t.equal(log.error.length, 1);
  t.equal(log.error[0]![0], 'Exception in default exception handler');

  loop.setExceptionHandler(() => {
    throw new ValueError('ham');
  });
  context = null;
  await runLoop();
  t.equal(log.error.length, 2);
  t.match(String(log.error[1]![0]), /Exception in default exception.*while handling.*in custom/);
  // The original context was passed to the default exception handler.
  t.ok(context !== null && 'context' in context!);
  t.type(((context as unknown as ExceptionContext).context as ExceptionContext).exception, RangeError);
});

t.test('an exception in a callback never stops the loop', async (t) => {
  const loop = newLoop(t);
  const seen: unknown[] = [];
  loop.setExceptionHandler((_l, ctx) => seen.push(ctx.exception));
  const calls: number[] = [];
  for (let i = 0; i < 5; i++) {
    loop.callSoon(() => {
      calls.push(i);
      if (i % 2 === 0) throw new Error(`boom ${i}`);
    });
  }
  loop.callLater(0.01, () => loop.stop());
  await loop.runForever();
  t.same(calls, [0, 1, 2, 3, 4]);
  t.same(
    seen.map((e) => (e as Error).message),
    ['boom 0', 'boom 2', 'boom 4'],
  );
});

t.test('callExceptionHandler: the context reaches the handler as given', async (t) => {
  const loop = newLoop(t);
  const seen: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => seen.push(ctx));
  const ctx = { message: 'custom', exception: new Error('x'), extra: 1 };
  loop.callExceptionHandler(ctx);
  t.equal(seen[0], ctx);
  // and the default handler logs message, extra keys and exception
  const log = recordingLogger();
  loop.logger = log.logger;
  loop.setExceptionHandler(null);
  loop.callExceptionHandler(ctx);
  t.equal(log.error[0]![0], 'custom');
  t.ok(log.error[0]!.includes('extra: 1'));
  t.equal(log.error[0]!.at(-1), ctx.exception);
  loop.callExceptionHandler({ message: '' });
  t.equal(log.error[1]![0], 'Unhandled exception in event loop');
});

t.test('test_run_once', async (t) => {
  // The idiom: loop.callSoon(loop.stop); loop.runForever()
  const loop = newLoop(t);
  let count = 0;
  loop.callSoon(() => count++);
  await runBriefly(loop);
  t.equal(count, 1);
});

t.test('test_run_forever_pre_stopped', async (t) => {
  // The old idiom for pre-stopping the loop works.
  const loop = new RecordingLoop();
  t.teardown(() => loop.close());
  loop.stop();
  await loop.runForever();
  t.same(loop.timeouts, [0], 'select was called once, with 0');
  t.notOk(loop.isRunning());
});

t.test('test_single_selecter_event_callback_after_stopping', async (t) => {
  // Python issue #25593: a stopped event loop may cause event callbacks to
  // run more than once.
  const loop = newLoop(t);
  const [r, w] = socketpair();
  t.teardown(() => {
    r.close();
    w.close();
  });
  w.send(Buffer.from('x'));
  let callcount = 0;
  loop.addReader(r.fileno(), () => {
    callcount++;
    loop.removeReader(r.fileno());
  });
  for (let i = 1; i < 3; i++) {
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    t.equal(callcount, 1, `loop ${i}/2`);
  }
});

t.test('stop(): the callbacks already queued run; those they queue run on the next run', async (t) => {
  const loop = newLoop(t);
  const calls: string[] = [];
  loop.callSoon(() => {
    calls.push('a');
    loop.stop();
    loop.callSoon(() => calls.push('c'));
  });
  loop.callSoon(() => calls.push('b'));
  await loop.runForever();
  t.same(calls, ['a', 'b']);
  await runBriefly(loop);
  t.same(calls, ['a', 'b', 'c']);
});

t.test('stop() from outside the loop (a Node timer) wakes a loop waiting on a long timer', async (t) => {
  for (const backend of BACKENDS) {
    const loop = newLoop(t, backend);
    loop.callLater(60, noop);
    const t0 = loop.time();
    setTimeout(() => loop.stop(), 20);
    await loop.runForever();
    t.ok(loop.time() - t0 < 30, `${backend}: stopped in ${(loop.time() - t0).toFixed(3)} s`);
  }
});

t.test('callSoon from outside the loop wakes an idle loop', async (t) => {
  const loop = newLoop(t);
  setTimeout(() => loop.callSoon(() => loop.stop()), 10);
  await loop.runForever();
  t.pass('woke');
});

t.test('test_close_running_event_loop', async (t) => {
  const loop = newLoop(t);
  await t.rejects(
    loop.runUntilComplete(async () => {
      loop.close();
    }),
    { name: 'RuntimeError', message: 'Cannot close a running event loop' },
  );
  t.notOk(loop.isClosed());
});

t.test('runForever while running is RuntimeError', async (t) => {
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    await t.rejects(loop.runForever(), { name: 'RuntimeError', message: 'This event loop is already running' });
  });
});

t.test('test_running_loop_within_a_loop', async (t) => {
  const loop = newLoop(t);
  const outer = newLoop(t);
  await t.rejects(
    outer.runUntilComplete(async () => {
      await loop.runForever();
    }),
    { name: 'RuntimeError', message: /while another loop is running/ },
  );
});

t.test('getRunningLoop inside and outside the loop', async (t) => {
  const loop = newLoop(t);
  t.throws(() => getRunningLoop(), { name: 'RuntimeError', message: 'no running event loop' });
  const inside = await loop.runUntilComplete(async () => {
    await tick(loop);
    return getRunningLoop();
  });
  t.equal(inside, loop);
  t.throws(() => getRunningLoop(), { name: 'RuntimeError', message: 'no running event loop' });
});

t.test('test_log_slow_callbacks', async (t) => {
  const loop = newLoop(t);
  const log = recordingLogger();
  loop.logger = log.logger;
  loop.setDebug(true);
  loop.slowCallbackDuration = 0.0;
  loop.callSoon(function stop_loop_cb(l: EventLoop) {
    l.stop();
  }, loop);
  await loop.runForever();
  t.ok(log.warn.length >= 1);
  t.match(String(log.warn.at(-1)![0]), /^Executing <Handle.*stop_loop_cb.*> took .* seconds$/);
  // not in debug mode: nothing
  log.warn.length = 0;
  loop.setDebug(false);
  await runBriefly(loop);
  t.equal(log.warn.length, 0);
});

t.test('debug mode reports only callbacks slower than slowCallbackDuration', async (t) => {
  const loop = newLoop(t);
  const log = recordingLogger();
  loop.logger = log.logger;
  loop.setDebug(true);
  loop.slowCallbackDuration = 0.05;
  loop.callSoon(function fast() {});
  loop.callSoon(function slow() {
    const end = performance.now() + 80;
    while (performance.now() < end);
  });
  await runBriefly(loop);
  t.equal(log.warn.length, 1);
  t.match(String(log.warn[0]![0]), /^Executing <Handle slow\(\)> took 0\.\d{3} seconds$/);
});

t.test('a running loop leaves Node timers running beside it', async (t) => {
  const loop = newLoop(t);
  let ticks = 0;
  const iv = setInterval(() => ticks++, 5);
  t.teardown(() => clearInterval(iv));
  // busy: a callback that reschedules itself forever
  const spin = (): void => {
    loop.callSoon(spin);
  };
  loop.callSoon(spin);
  await loop.runUntilComplete(sleep(loop, 0.2));
  t.ok(ticks >= 5, `${ticks} Node timer ticks while the loop spun for 0.2 s`);
});

// ------------------------------------------------------------------ signals

t.test('test_add_signal_handler', async (t) => {
  const loop = newLoop(t);
  let caught = 0;
  const myHandler = (): void => {
    caught++;
  };
  // Check error behavior first.
  t.throws(() => loop.addSignalHandler({} as any, myHandler), { name: 'TypeError' });
  t.throws(() => loop.removeSignalHandler({} as any), { name: 'TypeError' });
  t.throws(() => loop.addSignalHandler('boom' as any, myHandler), { name: 'ValueError', message: 'invalid signal name "boom"' });
  t.throws(() => loop.removeSignalHandler('boom' as any), { name: 'ValueError' });
  t.throws(() => loop.addSignalHandler(65 + 1, myHandler), { name: 'ValueError', message: 'invalid signal number 66' });
  t.throws(() => loop.removeSignalHandler(65 + 1), { name: 'ValueError' });
  t.throws(() => loop.addSignalHandler(0, myHandler), { name: 'ValueError', message: 'invalid signal number 0' });
  t.throws(() => loop.removeSignalHandler(0), { name: 'ValueError' });
  t.throws(() => loop.addSignalHandler(-1, myHandler), { name: 'ValueError', message: 'invalid signal number -1' });
  t.throws(() => loop.removeSignalHandler(-1), { name: 'ValueError' });
  t.throws(() => loop.addSignalHandler('SIGKILL', myHandler), { name: 'RuntimeError', message: 'sig SIGKILL cannot be caught' });
  t.throws(() => loop.addSignalHandler(9, myHandler), { name: 'RuntimeError', message: 'sig 9 cannot be caught' });
  t.equal(process.listenerCount('SIGKILL'), 0);
  // Removing SIGKILL doesn't raise.
  t.equal(loop.removeSignalHandler('SIGKILL'), false);
  // Now set a handler and handle it.
  const before = process.listenerCount('SIGUSR2');
  loop.addSignalHandler('SIGUSR2', myHandler);
  t.equal(process.listenerCount('SIGUSR2'), before + 1);
  process.kill(process.pid, 'SIGUSR2');
  await runUntil(loop, () => caught > 0);
  t.equal(caught, 1);
  // Removing it restores Node's handling.
  t.equal(loop.removeSignalHandler('SIGUSR2'), true);
  t.equal(process.listenerCount('SIGUSR2'), before);
  // Removing again returns false.
  t.equal(loop.removeSignalHandler('SIGUSR2'), false);
});

t.test('addSignalHandler: a number, replacing, and close() removing them all', async (t) => {
  const loop = new EventLoop();
  const calls: string[] = [];
  const before = process.listenerCount('SIGUSR2');
  const SIGUSR2 = (await import('node:os')).constants.signals.SIGUSR2;
  loop.addSignalHandler(SIGUSR2, () => calls.push('first'));
  loop.addSignalHandler('SIGUSR2', () => calls.push('second'));
  t.equal(process.listenerCount('SIGUSR2'), before + 1, 'the second replaced the first');
  process.kill(process.pid, 'SIGUSR2');
  await runUntil(loop, () => calls.length > 0);
  t.same(calls, ['second']);
  loop.addSignalHandler('SIGWINCH', noop);
  loop.close();
  t.equal(process.listenerCount('SIGUSR2'), before, 'close() removed the SIGUSR2 handler');
  t.equal(process.listenerCount('SIGWINCH'), 0, 'and the SIGWINCH one');
});

t.test('test_signal_handling_while_selecting', async (t) => {
  // A signal arriving while the loop waits on the selector.
  for (const backend of BACKENDS) {
    const loop = newLoop(t, backend);
    const [r, w] = socketpair();
    loop.addReader(r.fileno(), noop); // so the loop waits in the selector
    let caught = 0;
    loop.addSignalHandler('SIGUSR2', () => {
      caught++;
      loop.stop();
    });
    setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 10);
    loop.callLater(60, () => loop.stop());
    const t0 = loop.time();
    await loop.runForever();
    t.equal(caught, 1, backend);
    t.ok(loop.time() - t0 < 30, `${backend}: woke for the signal`);
    loop.removeReader(r.fileno());
    t.ok(loop.removeSignalHandler('SIGUSR2'));
    r.close();
    w.close();
  }
});

t.test('test_signal_handling_args', async (t) => {
  const loop = newLoop(t);
  const someArgs = [42];
  let caught = 0;
  loop.addSignalHandler(
    'SIGUSR2',
    (...args: unknown[]) => {
      caught++;
      t.same(args, someArgs);
      loop.stop();
    },
    ...someArgs,
  );
  setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 50);
  loop.callLater(60, () => loop.stop());
  await loop.runForever();
  t.equal(caught, 1);
  loop.removeSignalHandler('SIGUSR2');
});
