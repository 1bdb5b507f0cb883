// timeouts.ts: CPython 3.11 test_asyncio/test_timeouts.py (timeout,
// timeout_at, reschedule, expired, repr) and test_waitfor.py /
// test_tasks.py's wait_for cases (bpo-32751: the cancelled work has stopped
// when wait_for returns; bpo-40607: an error raised during the cancellation
// comes through), on the loop's clock, plus the same outside a loop (Node
// timers) and hostile arguments.
import t, { type Test } from 'tap';
import { EventLoop, RuntimeError, TimeoutError, ValueError, timeout, timeoutAt, waitFor } from '@iomux/loop';
import { sleep } from './helpers.js';

const bad = (x: unknown): any => x;

/** asyncio.sleep(delay) on the running loop that an abort of `signal` ends early. */
function sleepSig(loop: EventLoop, delay: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const h = loop.callLater(delay, resolve);
    signal.addEventListener('abort', () => (h.cancel(), reject(signal.reason)), { once: true });
  });
}

function newLoop(t: Test): EventLoop {
  const loop = new EventLoop();
  t.teardown(() => {
    if (!loop.isClosed()) loop.close();
  });
  return loop;
}

t.test('test_timeouts.py', async (t) => {
  t.test('test_timeout_basic', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      const cm = timeout(0.01);
      const t0 = loop.time();
      await t.rejects(sleepSig(loop, 10, cm.signal), TimeoutError);
      cm.close();
      t.ok(cm.expired());
      t.ok(loop.time() - t0 < 5, 'it did not sleep 10 s');
      t.ok(cm.signal.reason instanceof TimeoutError, 'the reason is TimeoutError');
      t.equal(String(cm), '<Timeout [expired]>');
    });
  });

  t.test('test_timeout_at_basic', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      const deadline = loop.time() + 0.01;
      const cm = timeoutAt(deadline);
      await t.rejects(sleepSig(loop, 10, cm.signal), TimeoutError);
      t.ok(cm.expired());
      t.equal(cm.when(), deadline);
    });
  });

  t.test('test_timeout_zero', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      for (const d of [0, -1]) {
        const cm = timeout(d);
        t.notOk(cm.signal.aborted, 'not before the next iteration');
        await t.rejects(sleepSig(loop, 10, cm.signal), TimeoutError);
        t.ok(cm.expired());
      }
    });
  });

  t.test('test_timeout_not_triggered / test_repr_finished', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      const cm = timeout(10);
      t.match(String(cm), /^<Timeout \[active\] when=\d+(\.\d+)?>$/);
      await sleep(loop, 0);
      cm.close();
      t.notOk(cm.expired());
      t.notOk(cm.signal.aborted);
      t.equal(String(cm), '<Timeout [finished]>');
      t.throws(() => cm.reschedule(null), new RuntimeError('Cannot change state of finished Timeout'));
    });
  });

  t.test('test_timeout_disabled / test_timeout_at_disabled', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      for (const cm of [timeout(null), timeoutAt(null), timeout(Infinity)]) {
        await sleepSig(loop, 0.02, cm.signal);
        t.notOk(cm.expired());
        t.equal(cm.when(), null);
        t.equal(String(cm), '<Timeout [active] when=None>');
        cm.close();
      }
    });
  });

  t.test('test_reschedule', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      const cm = timeout(0.01);
      cm.reschedule(null);
      t.equal(cm.when(), null);
      await sleepSig(loop, 0.05, cm.signal);
      t.notOk(cm.expired(), 'rescheduled to never');
      const when = loop.time() + 0.01;
      cm.reschedule(when);
      t.equal(cm.when(), when);
      await t.rejects(sleepSig(loop, 10, cm.signal), TimeoutError);
      t.throws(() => cm.reschedule(loop.time() + 1), new RuntimeError('Cannot change state of expired Timeout'));
    });
  });

  t.test('outside a loop: a Node timer, unref\'d', async (t) => {
    const cm = timeout(0.01);
    const t0 = performance.now();
    // A ref'd timer keeps this test alive: the unref'd one alone would not.
    await new Promise<void>((resolve) => {
      const keep = setTimeout(resolve, 5000);
      cm.signal.addEventListener('abort', () => (clearTimeout(keep), resolve()), { once: true });
    });
    t.ok(cm.expired());
    t.ok(performance.now() - t0 < 4000);
    const never = timeout(1e9); // past setTimeout's 2^31-1 ms
    t.notOk(never.expired());
    never.close();
  });

  t.test('hostile arguments', async (t) => {
    t.throws(() => timeout(bad('1')), TypeError);
    t.throws(() => timeout(bad(undefined)), TypeError);
    t.throws(() => timeout(bad(1n)), TypeError);
    t.throws(() => timeout(NaN), new ValueError('Invalid value NaN (not a number)'));
    t.throws(() => timeoutAt(bad({})), TypeError);
    t.throws(() => timeoutAt(NaN), ValueError);
    const cm = timeout(10);
    t.throws(() => cm.reschedule(NaN), ValueError);
    t.throws(() => cm.reschedule(bad('x')), TypeError);
    cm.close();
  });
});

t.test('wait_for', async (t) => {
  t.test('test_wait_for_timeout_less_then_0_or_0_future_done', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      t.equal(await waitFor(Promise.resolve('done'), 0), 'done');
      t.equal(await waitFor(Promise.resolve('done'), -1), 'done');
    });
  });

  t.test('test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      let started = false;
      for (const d of [0, -1]) {
        await t.rejects(
          waitFor(async () => {
            started = true;
          }, d),
          TimeoutError,
        );
      }
      t.notOk(started, 'the function never ran');
      await t.rejects(waitFor(new Promise(() => {}), 0), TimeoutError);
    });
  });

  t.test('test_wait_for: the work is aborted and waitFor rejects early', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      const t0 = loop.time();
      let seen: unknown = null;
      await t.rejects(
        waitFor((signal) => sleepSig(loop, 10, signal).catch((e) => Promise.reject((seen = e))), 0.01),
        TimeoutError,
      );
      t.ok(seen instanceof TimeoutError, 'the work saw the abort');
      t.ok(loop.time() - t0 < 5);
      t.equal(await waitFor((signal) => sleepSig(loop, 0.001, signal).then(() => 'ok'), 5), 'ok');
      t.equal(await waitFor(sleep(loop, 0.001).then(() => 'p'), 5), 'p');
      t.equal(await waitFor(Promise.resolve(7), null), 7);
      t.equal(await waitFor((signal) => (signal.aborted ? 0 : 8), null), 8);
      await t.rejects(waitFor(Promise.reject(new Error('own')), 1), /own/);
      await t.rejects(waitFor(new Promise(() => {}), 0.01), TimeoutError, 'a plain promise is left be');
    });
  });

  t.test('test_wait_for_waits_for_task_cancellation (bpo-32751)', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      let stopped = false;
      const work = async (signal: AbortSignal): Promise<never> => {
        try {
          await sleepSig(loop, 10, signal);
        } finally {
          await sleep(loop, 0.05);
          stopped = true;
        }
        throw new Error('unreachable');
      };
      await t.rejects(waitFor(work, 0.01), TimeoutError);
      t.ok(stopped, 'the work had finished its cleanup');
    });
  });

  t.test('test_wait_for_race_condition and bpo-40607', async (t) => {
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      // The work completes anyway: its result.
      const stubborn = (signal: AbortSignal): Promise<string> => new Promise((resolve) => signal.addEventListener('abort', () => resolve('result')));
      t.equal(await waitFor(stubborn, 0.01), 'result');
      // The work fails otherwise while being cancelled: that error.
      const failing = (signal: AbortSignal): Promise<string> =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new ZeroDivisionError())));
      await t.rejects(waitFor(failing, 0.01), { name: 'ZeroDivisionError' });
    });
  });

  t.test('hostile arguments', async (t) => {
    await t.rejects(waitFor(bad(5), 1), new TypeError('An asyncio.Future, a coroutine or an awaitable is required'));
    await t.rejects(waitFor(bad(null), 1), TypeError);
    await t.rejects(waitFor(Promise.resolve(1), bad('1')), TypeError);
    await t.rejects(waitFor(Promise.resolve(1), NaN), ValueError);
    await t.rejects(
      waitFor(() => {
        throw new Error('sync');
      }, 1),
      /sync/,
    );
  });
});

class ZeroDivisionError extends Error {
  override name = 'ZeroDivisionError';
}
