// base-events.ts: exception handlers. CPython 3.11
// test_asyncio/test_base_events.py (BaseEventLoopTests: the default and
// custom exception handlers, broken ones), case by case, on a real loop.
import t from 'tap';
import { EventLoop, Handle, ValueError, type ExceptionContext } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { newLoop, recordingLogger, runBriefly, runUntil, sleep } from './helpers.js';

checkNoFdLeak(t);

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
