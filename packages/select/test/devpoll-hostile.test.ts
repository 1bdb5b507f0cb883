// Hostile input for devpoll: every case asserts the error class and exact
// message CPython 3.11's select.devpoll gives (selectmodule.c: the
// "unsigned short" mask converter, PyObject_AsFileDescriptor, devpoll's
// millisecond timeout), and that nothing crashes or leaks a descriptor.
import t, { type Test } from 'tap';
import * as select from '@iomux/select';
import { OverflowError, RuntimeError, ValueError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

type ErrorClass = abstract new (...args: any[]) => Error;
const bad = (x: unknown): any => x;
const skip = select.devpoll ? false : 'needs /dev/poll (illumos, Solaris, or the Linux emulation)';
const devpoll = select.devpoll!;
const NOT_A_FILEOBJ = 'argument must be an int, or have a fileno() method.';
const NO_INT = 'an integer is required';
const TIMEOUT_TYPE = 'timeout must be an integer or None';
const TOO_LARGE = 'timeout is too large';

/** Asserts that `fn` throws `cls` (by instanceof and name) with exactly `message`. */
function raises(t: Test, fn: () => unknown, cls: ErrorClass, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof cls, `instanceof ${cls.name} (${String(caught)})`);
  t.match(caught, { name: cls.name });
  t.equal((caught as Error | undefined)?.message, message, 'exact message');
}

/** One named subtest per case, on a fresh devpoll object. */
function bad1(name: string, fn: (dp: select.Devpoll) => unknown, cls: ErrorClass, message: string): void {
  t.test(name, { skip }, async (t) => {
    const dp = devpoll();
    t.teardown(() => dp.close());
    raises(t, () => fn(dp), cls, message);
  });
}

bad1('devpoll() takes no arguments', () => bad(devpoll)(1), TypeError, 'select.devpoll() takes no arguments (1 given)');
bad1('new Devpoll() directly', () => new (select.Devpoll as any)(), TypeError, "cannot create 'select.devpoll' instances");
bad1('register(): fd missing', (dp) => bad(dp.register)(), TypeError, 'register expected at least 1 argument, got 0');
bad1('register(): a string fd', (dp) => dp.register('0'), TypeError, NOT_A_FILEOBJ);
bad1('register(): a float fd', (dp) => dp.register(1.5), TypeError, NOT_A_FILEOBJ);
bad1('register(): a negative fd', (dp) => dp.register(-1), ValueError, 'file descriptor cannot be a negative integer (-1)');
bad1('register(): an fd past a C int', (dp) => dp.register(2 ** 31), OverflowError, 'Python int too large to convert to C int');
bad1('register(): a float mask', (dp) => dp.register(0, 1.5), TypeError, NO_INT);
bad1('register(): a string mask', (dp) => dp.register(0, bad('1')), TypeError, NO_INT);
bad1('register(): a NaN mask', (dp) => dp.register(0, NaN), TypeError, NO_INT);
bad1('register(): a negative mask', (dp) => dp.register(0, -1), ValueError, 'value must be positive');
bad1('register(): a mask past unsigned short', (dp) => dp.register(0, 65536), OverflowError, 'Python int too large for C unsigned short');
bad1('register(): a mask past unsigned long', (dp) => dp.register(0, bad(2n ** 64n)), OverflowError, 'Python int too large to convert to C unsigned long');
bad1('register(): three arguments', (dp) => bad(dp.register)(0, 1, 2), TypeError, 'register expected at most 2 arguments, got 3');
bad1('modify(): an object whose fileno() is not an int', (dp) => dp.modify({ fileno: () => 'x' }, 1), TypeError, 'fileno() returned a non-integer');
bad1('modify(): a mask past unsigned short', (dp) => dp.modify(0, 2 ** 40), OverflowError, 'Python int too large for C unsigned short');
bad1('unregister(): no fd', (dp) => bad(dp.unregister)(), TypeError, 'devpoll.unregister() takes exactly one argument (0 given)');
bad1('unregister(): two arguments', (dp) => bad(dp.unregister)(0, 1), TypeError, 'devpoll.unregister() takes exactly one argument (2 given)');
bad1('unregister(): null', (dp) => dp.unregister(null), TypeError, NOT_A_FILEOBJ);
bad1('poll(): a string timeout', (dp) => dp.poll(bad('1')), TypeError, TIMEOUT_TYPE);
bad1('poll(): a NaN timeout', (dp) => dp.poll(NaN), ValueError, 'Invalid value NaN (not a number)');
bad1('poll(): an infinite timeout', (dp) => dp.poll(Infinity), OverflowError, 'timestamp out of range for platform time_t');
bad1('poll(): -2 ms', (dp) => dp.poll(-2), OverflowError, TOO_LARGE);
bad1('poll(): -1.5 ms rounds away from zero, to -2', (dp) => dp.poll(-1.5), OverflowError, TOO_LARGE);
bad1('poll(): 2**31 ms', (dp) => dp.poll(2 ** 31), OverflowError, TOO_LARGE);
bad1('poll(): two arguments', (dp) => bad(dp.poll)(0, 1), TypeError, 'poll expected at most 1 argument, got 2');
bad1('pollEach(): visit not a function', (dp) => dp.pollEach(0, bad('f')), TypeError, "pollEach() visit must be a function, not 'str'");

t.test('a closed object checked before a bad timeout, a bad mask before a closed object', { skip }, async (t) => {
  const dp = devpoll();
  dp.close();
  raises(t, () => dp.poll(-2), ValueError, 'I/O operation on closed devpoll object');
  raises(t, () => dp.poll(bad('x')), ValueError, 'I/O operation on closed devpoll object');
  raises(t, () => dp.register(0, -1), ValueError, 'value must be positive');
});

t.test('pollAsync(): hostile arguments reject, never throw', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  await t.rejects(dp.pollAsync(-2), { name: 'OverflowError', message: TOO_LARGE });
  await t.rejects(dp.pollAsync(0, bad(1)), { name: 'TypeError', message: "pollAsync() options must be an object, not 'int'" });
  await t.rejects(dp.pollAsync(0, bad({ signal: 1 })), { name: 'TypeError' });
  await t.rejects(dp.pollEachAsync(bad('x'), () => {}), { name: 'TypeError', message: TIMEOUT_TYPE });
  const p = dp.pollAsync(-1);
  raises(t, () => dp.pollEach(0, () => {}), RuntimeError, 'concurrent poll() invocation');
  dp.interruptWait();
  t.same(await p, []);
});
