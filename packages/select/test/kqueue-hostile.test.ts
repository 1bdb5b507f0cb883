// Hostile input for kqueue and kevent: every case asserts the error class
// and exact message CPython 3.11 gives (its getargs formats for struct
// kevent on LP64, "O|hHILK", and selectmodule.c's control()), and that
// nothing crashes or leaks a descriptor. Where iomux differs on purpose
// (maxEvents capped, the options objects), the case says so.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as select from '@iomux/select';
import { os, errnoConstants as E, OSError, FileNotFoundError, ProcessLookupError, ValueError, OverflowError, RuntimeError } from '@iomux/core-native';
import { checkNoFdLeak, openFds } from '../../../test/support/fds.js';

checkNoFdLeak(t);
const initialFds = openFds();

type ErrorClass = abstract new (...args: any[]) => Error;
const bad = (x: unknown): any => x;
const skip = select.kqueue ? false : 'needs kqueue (BSD, macOS, or the Linux emulation)';
const kqueue = select.kqueue!;
const kevent = select.kevent!;
const READ = select.KQ_FILTER_READ!;
const ADD = select.KQ_EV_ADD!;
const ERROR = select.KQ_EV_ERROR!;

/** Asserts that `fn` throws `cls` (by instanceof and name) with exactly `message`. */
function raises(t: Test, fn: () => unknown, cls: ErrorClass, message: string | RegExp, extra: Record<string, unknown> = {}): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof cls, `instanceof ${cls.name} (${String(caught)})`);
  t.match(caught, { name: cls.name, ...extra });
  if (typeof message === 'string') t.equal((caught as Error | undefined)?.message, message, 'exact message');
  else t.match((caught as Error | undefined)?.message, message);
}

/** One named subtest per case. */
function bad1(name: string, fn: () => unknown, cls: ErrorClass, message: string | RegExp, extra: Record<string, unknown> = {}, only = skip): void {
  t.test(name, { skip: only }, async (t) => raises(t, fn, cls, message, extra));
}

/** Cases whose error is the emulation's (FreeBSD's, where a native kqueue may differ). */
const emulatedOnly = skip || (select.kqueue?.emulated ? false : "the emulation's error; a native kqueue may differ");

/** Runs `body` with a fresh pipe, closed afterwards. */
function withPipe<T>(body: (r: number, w: number) => T): T {
  const [r, w] = os.pipe();
  try {
    return body(r, w);
  } finally {
    os.close(r);
    os.close(w);
  }
}

/** Runs `body` with a fresh kqueue, closed afterwards. */
/** A descriptor of a new temporary file, closed and removed after `body`. */
function withTemp<T>(body: (fd: number) => T): T {
  const dir = fs.mkdtempSync(`${tmpdir()}/iomux-hostile-`);
  const fd = fs.openSync(`${dir}/f`, 'w');
  try {
    return body(fd);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true });
  }
}

function withKq<T>(body: (kq: select.Kqueue) => T): T {
  const kq = kqueue();
  try {
    return body(kq);
  } finally {
    kq.close();
  }
}

const notInt = (type: string): string => `'${type}' object cannot be interpreted as an integer`;

// ------------------------------------------------------------ kevent()

bad1('kevent(): no ident', () => bad(kevent)(), TypeError, "kevent() missing required argument 'ident' (pos 1)");
bad1('kevent(): seven arguments', () => bad(kevent)(1, 2, 3, 4, 5, 6, 7), TypeError, 'kevent() takes at most 6 arguments (7 given)');
bad1('kevent(): a float ident', () => kevent(1.5), TypeError, 'argument must be an int, or have a fileno() method.');
bad1('kevent(): a string ident', () => kevent('3'), TypeError, 'argument must be an int, or have a fileno() method.');
bad1('kevent(): a negative ident', () => kevent(-1), OverflowError, "can't convert negative value to size_t");
bad1('kevent(): ident 2**64', () => kevent(2n ** 64n), OverflowError, 'Python int too large to convert to C size_t');
bad1('kevent(): fileno() returning -1', () => kevent({ fileno: () => -1 }), ValueError, 'file descriptor cannot be a negative integer (-1)');
bad1('kevent(): fileno() returning a string', () => kevent({ fileno: () => 'x' }), TypeError, 'fileno() returned a non-integer');
bad1(
  'kevent(): fileno() that throws propagates',
  () =>
    kevent({
      fileno: () => {
        throw new RangeError('boom');
      },
    }),
  RangeError,
  'boom',
);
bad1('kevent(): filter 32768 (a C short)', () => kevent(0, 32768), OverflowError, 'signed short integer is greater than maximum');
bad1('kevent(): filter -32769', () => kevent(0, -32769), OverflowError, 'signed short integer is less than minimum');
bad1('kevent(): filter 2**63', () => kevent(0, bad(2n ** 63n)), OverflowError, 'Python int too large to convert to C long');
bad1('kevent(): a float filter', () => kevent(0, 1.5), TypeError, notInt('float'));
bad1('kevent(): a null filter', () => kevent(0, bad(null)), TypeError, notInt('NoneType'));
bad1('kevent(): a float flags', () => kevent(0, READ, 0.5), TypeError, notInt('float'));
bad1('kevent(): a string fflags', () => kevent(0, READ, ADD, bad('1')), TypeError, notInt('str'));
bad1('kevent(): data 2**63 (a C long long)', () => kevent(0, READ, ADD, 0, 2n ** 63n), OverflowError, 'int too big to convert');
bad1('kevent(): data -2**63 - 1', () => kevent(0, READ, ADD, 0, -(2n ** 63n) - 1n), OverflowError, 'int too big to convert');
bad1('kevent(): a float data', () => kevent(0, READ, ADD, 0, 0.25), TypeError, notInt('float'));
bad1('kevent(): a float udata ("K" takes ints only)', () => kevent(0, READ, ADD, 0, 0, 0.25), TypeError, 'kevent() argument 6 must be int, not float');
bad1('kevent(): a boolean udata', () => kevent(0, READ, ADD, 0, 0, bad(true)), TypeError, 'kevent() argument 6 must be int, not bool');
bad1('kevent(): udata as a keyword, an array', () => kevent(0, { udata: bad([]) }), TypeError, "kevent() argument 'udata' must be int, not list");
bad1('kevent(): an unknown keyword', () => kevent(0, bad({ filterr: 1 })), TypeError, "'filterr' is an invalid keyword argument for kevent()");
bad1('kevent(): options and positional arguments', () => bad(kevent)(0, {}, 1), TypeError, 'kevent() takes an options object or positional arguments, not both');
bad1('kevent(): new on the class itself', () => new (select.Kevent as any)(0), TypeError, 'use select.kevent() to make a kevent object');
bad1('kevent.compare() with a non-kevent', () => kevent.compare(kevent(0), bad({ ident: 0 })), TypeError, "'<' not supported between instances of 'select.kevent' and 'dict'");

t.test('kevent(): flags, fflags and udata wrap as CPython\'s "H", "I" and "K" do (no error)', { skip }, async (t) => {
  t.equal(kevent(0, READ, 0x10001).flags, 1);
  t.equal(kevent(0, READ, -1).flags, 0xffff);
  t.equal(kevent(0, READ, 0, bad(2n ** 40n + 5n)).fflags, 5);
  t.equal(kevent(0, READ, 0, -1).fflags, 0xffffffff);
  t.equal(kevent(0, READ, 0, 0, 0, 2n ** 64n + 3n).udata, 3);
});

// ------------------------------------------------------------ kqueue()

bad1('kqueue(): an argument', () => bad(kqueue)(1), TypeError, 'kqueue() takes no arguments (1 given)');
bad1('kqueue.fromfd(): no argument', () => bad(kqueue.fromfd)(), TypeError, 'kqueue.fromfd() takes exactly one argument (0 given)');
bad1('kqueue.fromfd(): a float', () => kqueue.fromfd(1.5), TypeError, notInt('float'));
bad1('kqueue.fromfd(-5): EBADF (CPython: a stale errno)', () => kqueue.fromfd(-5), OSError, '[Errno 9] Bad file descriptor', { errno: E.EBADF });
bad1('new Kqueue() directly', () => new (select.Kqueue as any)(0, 3), TypeError, 'use select.kqueue() or select.kqueue.fromfd() to make a kqueue object');

// ------------------------------------------------------------ control()

bad1('control(): one argument', () => withKq((kq) => bad(kq.control)(null)), TypeError, 'control expected at least 2 arguments, got 1');
bad1('control(): four arguments', () => withKq((kq) => bad(kq.control)(null, 1, 1, 1)), TypeError, 'control expected at most 3 arguments, got 4');
bad1('control(): a non-iterable changelist', () => withKq((kq) => kq.control(bad(5), 0)), TypeError, 'changelist is not iterable');
bad1('control(): a plain object as changelist', () => withKq((kq) => kq.control(bad({}), 0)), TypeError, 'changelist is not iterable');
bad1('control(): a non-kevent entry', () => withKq((kq) => kq.control(bad([kevent(0), 1]), 0)), TypeError, 'changelist must be an iterable of select.kevent objects');
bad1('control(): a string changelist (iterable, of str)', () => withKq((kq) => kq.control(bad('ab'), 0)), TypeError, 'changelist must be an iterable of select.kevent objects');
bad1('control(): a kevent look-alike', () => withKq((kq) => kq.control(bad([{ ...kevent(0), ident: 0 }]), 0)), TypeError, 'changelist must be an iterable of select.kevent objects');
bad1(
  'control(): an iterator that throws propagates',
  () =>
    withKq((kq) =>
      kq.control(
        bad({
          *[Symbol.iterator]() {
            yield kevent(0);
            throw new SyntaxError('iter');
          },
        }),
        0,
      ),
    ),
  SyntaxError,
  'iter',
);
bad1('control(): maxEvents -1', () => withKq((kq) => kq.control(null, -1)), ValueError, 'Length of eventlist must be 0 or positive, got -1');
bad1('control(): maxEvents 1.5', () => withKq((kq) => kq.control(null, 1.5)), TypeError, notInt('float'));
bad1('control(): maxEvents 2**31', () => withKq((kq) => kq.control(null, 2 ** 31)), OverflowError, 'Python int too large to convert to C int');
bad1('control(): maxEvents null', () => withKq((kq) => kq.control(null, bad(null))), TypeError, notInt('NoneType'));
bad1('control(): timeout -1', () => withKq((kq) => kq.control(null, 1, -1)), ValueError, 'timeout must be positive or None');
bad1('control(): timeout -1e-10 (rounds away from zero)', () => withKq((kq) => kq.control(null, 1, -1e-10)), ValueError, 'timeout must be positive or None');
bad1('control(): timeout a string', () => withKq((kq) => kq.control(null, 1, bad('1'))), TypeError, 'timeout argument must be a number or None, got str');
bad1('control(): timeout NaN', () => withKq((kq) => kq.control(null, 1, NaN)), TypeError, 'timeout argument must be a number or None, got float');
bad1('control(): timeout Infinity', () => withKq((kq) => kq.control(null, 1, Infinity)), TypeError, 'timeout argument must be a number or None, got float');
// JS has one number type: 1e300 is an integer, so the message says int.
bad1('control(): timeout 1e300', () => withKq((kq) => kq.control(null, 1, 1e300)), TypeError, 'timeout argument must be a number or None, got int');
bad1('control(): timeout 2n ** 80n', () => withKq((kq) => kq.control(null, 1, bad(2n ** 80n))), TypeError, 'timeout argument must be a number or None, got int');
bad1('control(): timeout an options object (control has none)', () => withKq((kq) => kq.control(null, 1, bad({ timeout: 1 }))), TypeError, 'timeout argument must be a number or None, got dict');
bad1(
  'control(): closed is checked after maxEvents is parsed, before its range',
  () => {
    const kq = kqueue();
    kq.close();
    return kq.control(null, -1);
  },
  ValueError,
  'I/O operation on closed kqueue object',
);
bad1(
  'control(): a closed kqueue with a bad changelist still says closed',
  () => {
    const kq = kqueue();
    kq.close();
    return kq.control(bad([1]), 0);
  },
  ValueError,
  'I/O operation on closed kqueue object',
);
bad1(
  'control(): a closed descriptor as ident, maxEvents 0: OSError EBADF',
  () => {
    return withKq((kq) => {
      // Made after the kqueue, whose own descriptors would reuse the numbers.
      const [r, w] = os.pipe();
      os.close(r);
      os.close(w);
      return kq.control([kevent(r)], 0);
    });
  },
  OSError,
  '[Errno 9] Bad file descriptor',
  { errno: E.EBADF },
);
bad1('control(): ident past any descriptor, maxEvents 0: OSError EBADF', () => withKq((kq) => kq.control([kevent(2n ** 40n)], 0)), OSError, '[Errno 9] Bad file descriptor', { errno: E.EBADF });
bad1(
  'control() on a foreign descriptor (a pipe, through fromfd)',
  () => {
    const [r, w] = os.pipe();
    const kq = kqueue.fromfd(r);
    try {
      return kq.control(null, 1, 0);
    } finally {
      kq.close();
      os.close(w);
    }
  },
  OSError,
  /^\[Errno \d+\]/,
);

t.test('control(): the kqueue itself, a regular file, a huge timer id as idents: no crash', { skip }, async (t) => {
  withKq((kq) => {
    let caught: unknown;
    try {
      kq.control([kevent(kq.fileno())], 0);
    } catch (e) {
      caught = e;
    }
    // BSD may take a kqueue in itself; the emulation refuses (EINVAL).
    t.ok(caught === undefined || caught instanceof OSError, `the kqueue's own descriptor: ${String(caught)}`);
    const fd = fs.openSync(__filename, 'r');
    try {
      const [ev] = kq.control([kevent(fd)], 1, 0);
      t.equal(ev?.ident, fd, 'a regular file is always readable, as on BSD');
      // Deleted before the close: the emulation keeps a closed file's filter.
      kq.control([kevent(fd, READ, select.KQ_EV_DELETE!)], 0);
    } finally {
      fs.closeSync(fd);
    }
    const [timer] = kq.control([kevent(2n ** 64n - 1n, select.KQ_FILTER_TIMER!, ADD | select.KQ_EV_ONESHOT!, 0, 1)], 1, 1);
    t.equal(timer?.ident, 2n ** 64n - 1n, 'a timer id is any 64-bit value');
  });
});

const EINVAL = { errno: E.EINVAL };
bad1('control(): a negative timer period', () => withKq((kq) => kq.control([kevent(1, select.KQ_FILTER_TIMER!, ADD, 0, -1)], 0)), OSError, '[Errno 22] Invalid argument', EINVAL, emulatedOnly);
bad1('control(): an unknown fflags unit for a timer', () => withKq((kq) => kq.control([kevent(1, select.KQ_FILTER_TIMER!, ADD, 0x100, 5)], 0)), OSError, '[Errno 22] Invalid argument', EINVAL, emulatedOnly);
bad1(
  'control(): deleting a filter never added',
  () => withKq((kq) => withPipe((r) => kq.control([kevent(r, READ, select.KQ_EV_DELETE!)], 0))),
  FileNotFoundError,
  '[Errno 2] No such file or directory',
  { errno: E.ENOENT },
);
bad1(
  'control(): PROC with NOTE_FORK is not emulated: EINVAL, not silence',
  () => withKq((kq) => kq.control([kevent(process.pid, select.KQ_FILTER_PROC!, ADD, (select.KQ_NOTE_EXIT! | select.KQ_NOTE_FORK!) >>> 0)], 0)),
  OSError,
  '[Errno 22] Invalid argument',
  EINVAL,
  emulatedOnly,
);

// PROC, VNODE and SIGNAL: what the emulation refuses, and how.
const PROC = select.KQ_FILTER_PROC!;
const VNODE = select.KQ_FILTER_VNODE!;
const SIGNAL = select.KQ_FILTER_SIGNAL!;
const EXIT = select.KQ_NOTE_EXIT!;
const EINVAL_MSG = '[Errno 22] Invalid argument';
bad1('control(): PROC for a pid that does not exist', () => withKq((kq) => kq.control([kevent(2 ** 31 - 1, PROC, ADD, EXIT)], 0)), ProcessLookupError, '[Errno 3] No such process', { errno: E.ESRCH });
bad1('control(): PROC for pid 0', () => withKq((kq) => kq.control([kevent(0, PROC, ADD, EXIT)], 0)), ProcessLookupError, '[Errno 3] No such process', { errno: E.ESRCH }, emulatedOnly);
bad1('control(): PROC with NOTE_TRACK', () => withKq((kq) => kq.control([kevent(process.pid, PROC, ADD, (EXIT | select.KQ_NOTE_TRACK!) >>> 0)], 0)), OSError, EINVAL_MSG, EINVAL, emulatedOnly);
bad1('control(): VNODE with NOTE_REVOKE', () => withKq((kq) => withTemp((fd) => kq.control([kevent(fd, VNODE, ADD, select.KQ_NOTE_REVOKE!)], 0))), OSError, EINVAL_MSG, EINVAL, emulatedOnly);
bad1('control(): VNODE with an unknown note', () => withKq((kq) => withTemp((fd) => kq.control([kevent(fd, VNODE, ADD, 0x1000)], 0))), OSError, EINVAL_MSG, EINVAL, emulatedOnly);
bad1('control(): VNODE on a pipe', () => withKq((kq) => withPipe((r) => kq.control([kevent(r, VNODE, ADD, select.KQ_NOTE_WRITE!)], 0))), OSError, EINVAL_MSG, EINVAL);
bad1('control(): VNODE on a descriptor not open', () => withKq((kq) => kq.control([kevent(100_000, VNODE, ADD, select.KQ_NOTE_WRITE!)], 0)), OSError, '[Errno 9] Bad file descriptor', { errno: E.EBADF });
bad1('control(): SIGNAL for SIGKILL', () => withKq((kq) => kq.control([kevent(9, SIGNAL, ADD)], 0)), OSError, EINVAL_MSG, EINVAL, emulatedOnly);
bad1('control(): SIGNAL for signal 0', () => withKq((kq) => kq.control([kevent(0, SIGNAL, ADD)], 0)), OSError, EINVAL_MSG, EINVAL, emulatedOnly);
bad1('control(): SIGNAL for a real-time signal', () => withKq((kq) => kq.control([kevent(40, SIGNAL, ADD)], 0)), OSError, EINVAL_MSG, EINVAL, emulatedOnly);
bad1('control(): SIGNAL deleted, never added', () => withKq((kq) => kq.control([kevent(10, SIGNAL, select.KQ_EV_DELETE!)], 0)), FileNotFoundError, '[Errno 2] No such file or directory', { errno: E.ENOENT });

t.test('control(): an unknown filter fails as the platform fails, never silently', { skip }, async (t) => {
  withKq((kq) => {
    const [r, w] = os.pipe();
    try {
      raises(t, () => kq.control([kevent(r, -100)], 0), OSError, '[Errno 22] Invalid argument', { errno: E.EINVAL });
      const [ev] = kq.control([kevent(r, -100)], 1, 0);
      t.ok(ev !== undefined && ev.flags & ERROR, 'with room for events: a KQ_EV_ERROR event');
      t.equal(ev?.data, E.EINVAL);
    } finally {
      os.close(r);
      os.close(w);
    }
  });
});

t.test('control(): a huge maxEvents is capped, not allocated (differs from CPython)', { skip }, async (t) => {
  withKq((kq) => {
    t.same(kq.control(null, 2 ** 31 - 1, 0), [], 'INT_MAX events asked: nothing allocated past the cap');
  });
});

// --------------------------------------------- controlAsync's options

async function rejects(t: Test, p: Promise<unknown>, cls: ErrorClass, message: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof cls, `instanceof ${cls.name} (${String(caught)})`);
  t.equal((caught as Error | undefined)?.message, message);
}

t.test('controlAsync(): hostile options reject the promise, never throw', { skip }, async (t) => {
  const kq = kqueue();
  t.teardown(() => kq.close());
  await rejects(t, kq.controlAsync(null, 1, 0, bad(5)), TypeError, "controlAsync() options must be an object, not 'int'");
  await rejects(t, kq.controlAsync(null, 1, 0, bad({ signal: {} })), TypeError, "controlAsync() option 'signal' must be an AbortSignal, not 'dict'");
  await rejects(t, kq.controlAsync(null, 1, 0, bad({ signal: 'x' })), TypeError, "controlAsync() option 'signal' must be an AbortSignal, not 'str'");
  await rejects(t, kq.controlAsync(null, 1, {}, bad({})), TypeError, 'controlAsync() takes the options once, after timeout');
  await rejects(t, kq.controlAsync(null, -1), ValueError, 'Length of eventlist must be 0 or positive, got -1');
  await rejects(t, kq.controlAsync(bad([0]), 1), TypeError, 'changelist must be an iterable of select.kevent objects');
  await rejects(t, kq.controlEachAsync(null, 1, 0, bad('f')), TypeError, "controlEachAsync() visit must be a function, not 'str'");
  const getterThrows = Object.defineProperty({}, 'signal', {
    get() {
      throw new EvalError('getter');
    },
  });
  let caught: unknown;
  try {
    await kq.controlAsync(null, 1, 0, getterThrows);
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof EvalError, 'a throwing signal getter rejects with its error');
  // A signal whose reason getter throws.
  const ac = new AbortController();
  ac.abort();
  t.ok(await kq.controlAsync(null, 1, 0, { signal: ac.signal }).then(() => false, () => true), 'an aborted signal rejects');
  const p = kq.controlAsync(null, 1, 5);
  await rejects(t, kq.controlAsync(null, 1, 5), RuntimeError, 'concurrent poll() invocation');
  kq.interruptWait();
  t.same(await p, []);
});

t.test('afterwards: the process is alive and holds what it held at the start', async (t) => {
  t.equal(process.kill(process.pid, 0), true, 'alive');
  let now = openFds();
  for (let i = 0; i < 20 && now.length !== initialFds.length; i++) {
    await new Promise((r) => setTimeout(r, 10));
    now = openFds();
  }
  t.same(now, initialFds);
});
