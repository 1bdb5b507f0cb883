// base-events.ts: running and stopping. CPython 3.11
// test_asyncio/test_base_events.py (BaseEventLoopTests, RunningLoopTests)
// and test_events.py's run_until_complete, run_forever, stop and close
// cases, case by case, on a real loop. Where CPython mocks the selector, a
// loop subclass records the timeouts `_select` is asked for and answers at once.
import t from 'tap';
import { EventLoop, ValueError, getRunningLoop } from '@iomux/loop';
import { socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, recordingLogger, runBriefly, sleep, tick } from './helpers.js';
import { RecordingLoop, noop } from './base-events-support.js';

checkNoFdLeak(t);

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
