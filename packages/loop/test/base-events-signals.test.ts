// base-events.ts: signal handlers. CPython 3.11 test_asyncio/test_events.py's
// signal cases, case by case, on a real loop and real signals.
import t from 'tap';
import { EventLoop } from '@iomux/loop';
import { socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, runUntil } from './helpers.js';
import { noop } from './base-events-support.js';

checkNoFdLeak(t);

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
