// Hostile input: every bad argument iomux can be handed, at the Python-level
// API (select, poll, epoll, os, socket) and directly at the native binding.
// Each case asserts the error class and message; the expected values are
// CPython 3.11's, checked case by case with python3 (the snippet is in the
// comment where it is not obvious). Where iomux deliberately differs from
// Python, the case says so and asserts iomux's documented behaviour.
//
// Afterwards the process is still alive and /proc/self/fd holds exactly the
// descriptors it held before (checkNoFdLeak, plus the final subtest).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as select from '@iomux/select';
import {
  binding,
  BlockingIOError,
  fromNative,
  os,
  socket,
  Socket,
  OSError,
  ValueError,
  OverflowError,
  KeyError,
  FileExistsError,
  FileNotFoundError,
  PermissionError,
} from '@iomux/core-native';
import { checkNoFdLeak, openFds } from '../../../test/support/fds.js';

checkNoFdLeak(t);
const initialFds = openFds();

type ErrorClass = abstract new (...args: any[]) => Error;

/** Lets a case pass what the types forbid. */
const bad = (x: unknown): any => x;
const epoll = select.epoll!;
const EPOLLIN = select.EPOLLIN!;
const EPOLLOUT = select.EPOLLOUT!;
const { POLLIN, POLLOUT } = select;

/**
 * Asserts that `fn` throws an instance of `cls` whose name is the class's
 * Python name and whose message is exactly `message` (t.throws alone matches
 * a substring), plus any `extra` fields (errno, code).
 */
function raises(t: Test, fn: () => unknown, cls: ErrorClass, message: string, extra: Record<string, unknown> = {}): unknown {
  let caught: unknown;
  t.throws(
    () => {
      try {
        fn();
      } catch (e) {
        caught = e;
        throw e;
      }
    },
    { name: cls.name, message, ...extra },
  );
  t.ok(caught instanceof cls, `instanceof ${cls.name}`);
  t.equal((caught as Error | undefined)?.message, message, 'exact message');
  return caught;
}

/** One named subtest per case. */
function bad1(name: string, fn: () => unknown, cls: ErrorClass, message: string, extra: Record<string, unknown> = {}): void {
  t.test(name, async (t) => {
    raises(t, fn, cls, message, extra);
  });
}

/** Runs `fn` on the raw binding and maps what it throws as the TS layer does. */
const nat =
  (fn: () => unknown) =>
  (): unknown => {
    try {
      return fn();
    } catch (e) {
      throw fromNative(e);
    }
  };

/** A pipe closed again at once: its numbers are descriptors that were open. */
function closedPipe(): [number, number] {
  const [r, w] = os.pipe();
  os.close(r);
  os.close(w);
  return [r, w];
}

/** Runs `body` with a fresh pipe, closed afterwards whatever happens. */
function withPipe<T>(body: (r: number, w: number) => T): T {
  const [r, w] = os.pipe();
  try {
    return body(r, w);
  } finally {
    os.close(r);
    os.close(w);
  }
}

function withEpoll<T>(body: (ep: select.Epoll, r: number, w: number) => T): T {
  return withPipe((r, w) => {
    const ep = epoll();
    try {
      return body(ep, r, w);
    } finally {
      ep.close();
    }
  });
}

const fileno = (v: unknown) => ({
  fileno(): unknown {
    if (v instanceof Error) throw v;
    return v;
  },
});

const NOT_FILEOBJ = 'argument must be an int, or have a fileno() method.';
const NEG = (n: number) => `file descriptor cannot be a negative integer (${n})`;
const TOO_BIG_INT = 'Python int too large to convert to C int';
const EBADF = { errno: 9, code: 'EBADF' };
const EBADF_MSG = '[Errno 9] Bad file descriptor';

// ---------------------------------------------------------------- select()

bad1('select: rlist not a sequence (int)', () => select.select(bad(1), [], []), TypeError, 'arguments 1-3 must be sequences');
bad1('select: rlist None', () => select.select(bad(null), [], [], 0), TypeError, 'arguments 1-3 must be sequences');
// A string is iterable in both languages; its items are not descriptors.
bad1('select: rlist a string', () => select.select(bad('abc'), [], [], 0), TypeError, NOT_FILEOBJ);
bad1('select: element a string', () => select.select(bad(['3']), [], [], 0), TypeError, NOT_FILEOBJ);
bad1('select: element a float', () => select.select([3.5], [], [], 0), TypeError, NOT_FILEOBJ);
bad1('select: element None', () => select.select([null], [], [], 0), TypeError, NOT_FILEOBJ);
bad1('select: element a symbol', () => select.select([Symbol('fd')], [], [], 0), TypeError, NOT_FILEOBJ);
bad1('select: element an object without fileno()', () => select.select([{}], [], [], 0), TypeError, NOT_FILEOBJ);
// Deviation: Python's True is the int 1; a JS boolean is not a number.
bad1('select: element a boolean (iomux: not an int)', () => select.select([true], [], [], 0), TypeError, NOT_FILEOBJ);
bad1('select: -1 in rlist', () => select.select([-1], [], [], 0), ValueError, NEG(-1));
bad1('select: -1 in wlist', () => select.select([], [-1], [], 0), ValueError, NEG(-1));
bad1('select: -1 in xlist', () => select.select([], [], [-1], 0), ValueError, NEG(-1));
bad1('select: FD_SETSIZE (1024) in rlist', () => select.select([1024], [], [], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: FD_SETSIZE (1024) in wlist', () => select.select([], [1024], [], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: FD_SETSIZE (1024) in xlist', () => select.select([], [], [1024], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: 5000 in rlist', () => select.select([5000], [], [], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: 5000 in wlist', () => select.select([], [5000], [], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: 5000 in xlist', () => select.select([], [], [5000], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: fileno() returning 1024', () => select.select([fileno(1024)], [], [], 0), ValueError, 'filedescriptor out of range in select()');
bad1('select: 2**31', () => select.select([2 ** 31], [], [], 0), OverflowError, TOO_BIG_INT);
bad1('select: -(2**31) - 1', () => select.select([-(2 ** 31) - 1], [], [], 0), OverflowError, TOO_BIG_INT);
bad1('select: 2n**64n', () => select.select([2n ** 64n], [], [], 0), OverflowError, TOO_BIG_INT);
bad1('select: Number.MAX_VALUE', () => select.select([Number.MAX_VALUE], [], [], 0), OverflowError, TOO_BIG_INT);
t.test('select: 1025 entries is too many; 1024 is not', async (t) => {
  withPipe((r) => {
    raises(t, () => select.select(new Array(1025).fill(r), [], [], 0), ValueError, 'too many file descriptors in select()');
    t.same(
      select.select(new Array(1024).fill(r), [], [], 0).map((l) => l.length),
      [0, 0, 0],
    );
  });
});
bad1('select: a closed descriptor', () => select.select([closedPipe()[0]], [], [], 0), OSError, EBADF_MSG, EBADF);
bad1('select: timeout NaN', () => select.select([], [], [], NaN), ValueError, 'Invalid value NaN (not a number)');
bad1('select: timeout -1', () => select.select([], [], [], -1), ValueError, 'timeout must be non-negative');
bad1('select: timeout -0.001', () => select.select([], [], [], -0.001), ValueError, 'timeout must be non-negative');
bad1('select: timeout 1e300', () => select.select([], [], [], 1e300), OverflowError, 'timestamp out of range for platform time_t');
bad1('select: timeout Infinity', () => select.select([], [], [], Infinity), OverflowError, 'timestamp out of range for platform time_t');
bad1('select: timeout -Infinity', () => select.select([], [], [], -Infinity), OverflowError, 'timestamp out of range for platform time_t');
bad1('select: timeout 2n**63n', () => select.select([], [], [], bad(2n ** 63n)), OverflowError, 'timestamp too large to convert to C _PyTime_t');
bad1('select: timeout a string', () => select.select([], [], [], bad('1')), TypeError, 'timeout must be a float or None');
bad1('select: two arguments', () => bad(select.select)([], []), TypeError, 'select expected at least 3 arguments, got 2');
bad1('select: five arguments', () => bad(select.select)([], [], [], 0, 1), TypeError, 'select expected at most 4 arguments, got 5');
t.test('select: a fileno() that throws propagates the same error object', async (t) => {
  const boom = new Error('boom');
  t.equal(t.throws(() => select.select([fileno(boom)], [], [], 0)), boom);
  t.equal(t.throws(() => select.select([], [fileno(boom)], [], 0)), boom);
  t.equal(t.throws(() => select.select([], [], [fileno(boom)], 0)), boom);
});
bad1("select: fileno() returning '3'", () => select.select([fileno('3')], [], [], 0), TypeError, 'fileno() returned a non-integer');
bad1('select: fileno() returning 3.5', () => select.select([fileno(3.5)], [], [], 0), TypeError, 'fileno() returned a non-integer');
bad1('select: fileno() returning -1', () => select.select([fileno(-1)], [], [], 0), ValueError, NEG(-1));
bad1('select: fileno() returning 2**31', () => select.select([fileno(2 ** 31)], [], [], 0), OverflowError, TOO_BIG_INT);
bad1('select: fileno() returning 2n**31n', () => select.select([fileno(2n ** 31n)], [], [], 0), OverflowError, TOO_BIG_INT);
t.test('select: fileno() returning a bigint in range is accepted (a Python int)', async (t) => {
  withPipe((r, w) => {
    const o = fileno(BigInt(w));
    t.same(select.select([], [o], [], 0), [[], [o], []]);
    t.equal(select.select([], [o], [], 0)[1][0], o, 'identity preserved');
  });
});
t.test('select: a fileno() that empties the list mid-scan (CPython issue 16230)', async (t) => {
  withPipe((r, w) => {
    const list: unknown[] = [];
    const shrinker = { fileno: () => ((list.length = 0), w) };
    list.push(shrinker, w, w, w);
    t.same(select.select([], list, [], 0), [[], [shrinker], []]);
  });
});
// Deviation (documented): Node handles are file objects. A net.Socket with
// no handle yet counts as descriptor -1, as a closed Python socket does.
bad1('select: an unconnected net.Socket (iomux: Node handle, fd -1)', () => select.select([new net.Socket()], [], [], 0), ValueError, NEG(-1));
t.test('select: a closed fs.promises.FileHandle is descriptor -1', async (t) => {
  const fh = await fs.promises.open(__filename, 'r');
  t.same(select.select([fh], [], [], 0), [[fh], [], []], 'an open FileHandle is a file object');
  await fh.close();
  raises(t, () => select.select([fh], [], [], 0), ValueError, NEG(-1));
});

// ------------------------------------------------------------------ poll()

bad1('poll: poll() takes no arguments', () => bad(select.poll)(1), TypeError, 'select.poll() takes no arguments (1 given)');
bad1('poll: new Poll() cannot be instantiated', () => new select.Poll(), TypeError, "cannot create 'select.poll' instances");
bad1('poll: register a string', () => select.poll().register('3'), TypeError, NOT_FILEOBJ);
bad1('poll: register a float', () => select.poll().register(3.5), TypeError, NOT_FILEOBJ);
bad1('poll: register None', () => select.poll().register(null), TypeError, NOT_FILEOBJ);
bad1('poll: register -1', () => select.poll().register(-1), ValueError, NEG(-1));
bad1('poll: register 2**31', () => select.poll().register(2 ** 31), OverflowError, TOO_BIG_INT);
bad1('poll: register with no argument', () => bad(select.poll()).register(), TypeError, 'register expected at least 1 argument, got 0');
bad1('poll: register with three arguments', () => bad(select.poll()).register(0, 1, 2), TypeError, 'register expected at most 2 arguments, got 3');
bad1('poll: mask -1', () => select.poll().register(0, -1), ValueError, 'value must be positive');
bad1('poll: mask 65536 overflows unsigned short', () => select.poll().register(0, 65536), OverflowError, 'Python int too large for C unsigned short');
bad1('poll: mask 2**64 overflows unsigned long', () => select.poll().register(0, 2 ** 64), OverflowError, 'Python int too large to convert to C unsigned long');
bad1('poll: mask 2n**64n overflows unsigned long', () => select.poll().register(0, bad(2n ** 64n)), OverflowError, 'Python int too large to convert to C unsigned long');
bad1('poll: mask a float', () => select.poll().register(0, 1.5), TypeError, 'an integer is required');
bad1('poll: mask a string', () => select.poll().register(0, bad('1')), TypeError, 'an integer is required');
// Deviation: Python's True is 1; a JS boolean is not an integer.
bad1('poll: mask a boolean (iomux: not an int)', () => select.poll().register(0, bad(true)), TypeError, 'an integer is required');
t.test('poll: registering twice is allowed and replaces the mask', async (t) => {
  withPipe((r, w) => {
    const p = select.poll();
    p.register(w, POLLIN);
    t.same(p.poll(0), [], 'a pipe write end is never readable');
    p.register(w, POLLOUT);
    t.same(p.poll(0), [[w, POLLOUT]], 'the second registration replaced the mask');
  });
});
bad1('poll: modify an unregistered fd', () => select.poll().modify(0, POLLIN), FileNotFoundError, '[Errno 2] No such file or directory', { errno: 2, code: 'ENOENT' });
bad1('poll: modify with mask 65536', () => select.poll().modify(0, 65536), OverflowError, 'Python int too large for C unsigned short');
bad1('poll: modify with one argument', () => bad(select.poll()).modify(0), TypeError, 'modify expected 2 arguments, got 1');
bad1('poll: unregister an unknown fd', () => select.poll().unregister(104), KeyError, '104', { key: 104 });
t.test('poll: unregister twice', async (t) => {
  const p = select.poll();
  p.register(0);
  p.unregister(0);
  raises(t, () => p.unregister(0), KeyError, '0', { key: 0 });
});
bad1('poll: unregister -1', () => select.poll().unregister(-1), ValueError, NEG(-1));
bad1('poll: unregister with no argument', () => bad(select.poll()).unregister(), TypeError, 'poll.unregister() takes exactly one argument (0 given)');
bad1('poll: timeout NaN', () => select.poll().poll(NaN), ValueError, 'Invalid value NaN (not a number)');
bad1('poll: timeout a string', () => select.poll().poll(bad('1')), TypeError, 'timeout must be an integer or None');
bad1('poll: timeout 1e300 ms', () => select.poll().poll(1e300), OverflowError, 'timestamp out of range for platform time_t');
bad1('poll: timeout 2**31 ms', () => select.poll().poll(2 ** 31), OverflowError, 'timeout is too large');
bad1('poll: timeout 2n**63n ms', () => select.poll().poll(bad(2n ** 63n)), OverflowError, 'timestamp too large to convert to C _PyTime_t');
bad1('poll: timeout -Infinity', () => select.poll().poll(-Infinity), OverflowError, 'timestamp out of range for platform time_t');
bad1('poll: poll() with two arguments', () => bad(select.poll()).poll(1, 2), TypeError, 'poll expected at most 1 argument, got 2');
t.test('poll: a fileno() that throws propagates the same error object', async (t) => {
  const boom = new Error('boom');
  t.equal(t.throws(() => select.poll().register(fileno(boom))), boom);
  t.equal(t.throws(() => select.poll().modify(fileno(boom), POLLIN)), boom);
  t.equal(t.throws(() => select.poll().unregister(fileno(boom))), boom);
});
bad1("poll: fileno() returning '3'", () => select.poll().register(fileno('3')), TypeError, 'fileno() returned a non-integer');
bad1('poll: fileno() returning 3.5', () => select.poll().register(fileno(3.5)), TypeError, 'fileno() returned a non-integer');
bad1('poll: fileno() returning -1', () => select.poll().register(fileno(-1)), ValueError, NEG(-1));
bad1('poll: fileno() returning 2**31', () => select.poll().register(fileno(2 ** 31)), OverflowError, TOO_BIG_INT);
t.test('poll: a descriptor closed after registration reports POLLNVAL', async (t) => {
  const [r, w] = os.pipe();
  os.close(w);
  const p = select.poll();
  p.register(r, POLLIN);
  os.close(r);
  t.same(p.poll(0), [[r, select.POLLNVAL]]);
});

// ----------------------------------------------------------------- epoll()

bad1('epoll: sizehint 0', () => epoll(0), ValueError, 'negative sizehint');
bad1('epoll: sizehint -2', () => epoll(-2), ValueError, 'negative sizehint');
bad1('epoll: flags 1', () => epoll(-1, 1), OSError, 'invalid flags');
bad1('epoll: sizehint a string', () => epoll(bad('a')), TypeError, "'str' object cannot be interpreted as an integer");
bad1('epoll: sizehint 1.5', () => epoll(1.5), TypeError, "'float' object cannot be interpreted as an integer");
bad1('epoll: sizehint 2**31', () => epoll(2 ** 31), OverflowError, TOO_BIG_INT);
bad1('epoll: an unknown keyword in the options object', () => epoll(bad({ foo: 1 })), TypeError, "'foo' is an invalid keyword argument for epoll()");
bad1('epoll: sizehint 0 in the options object', () => epoll({ sizehint: 0 }), ValueError, 'negative sizehint');
// iomux only: the class cannot wrap an arbitrary descriptor behind the factories' back.
bad1('epoll: new Epoll() directly', () => new (select.Epoll as any)(Symbol('forged'), 1), TypeError, 'use select.epoll() or select.epoll.fromfd() to make an epoll object');
bad1('epoll: three arguments', () => bad(epoll)(1, 0, 3), TypeError, 'epoll() takes at most 2 arguments (3 given)');
bad1('epoll: fromfd a string', () => epoll.fromfd(bad('3')), TypeError, "'str' object cannot be interpreted as an integer");
bad1('epoll: fromfd 2**31', () => epoll.fromfd(2 ** 31), OverflowError, TOO_BIG_INT);
bad1('epoll: fromfd with no argument', () => bad(epoll.fromfd)(), TypeError, 'epoll.fromfd() takes exactly one argument (0 given)');
bad1('epoll: register a string', () => withEpoll((ep) => ep.register('3')), TypeError, NOT_FILEOBJ);
bad1('epoll: register -1', () => withEpoll((ep) => ep.register(-1)), ValueError, NEG(-1));
bad1('epoll: register 2**31', () => withEpoll((ep) => ep.register(2 ** 31)), OverflowError, TOO_BIG_INT);
bad1('epoll: register with no argument', () => withEpoll((ep) => bad(ep).register()), TypeError, "register() missing required argument 'fd' (pos 1)");
bad1('epoll: register with three arguments', () => withEpoll((ep, r) => bad(ep).register(r, 1, 2)), TypeError, 'register() takes at most 2 arguments (3 given)');
bad1('epoll: mask a float', () => withEpoll((ep, r) => ep.register(r, 1.5)), TypeError, "'float' object cannot be interpreted as an integer");
bad1('epoll: mask a string', () => withEpoll((ep, r) => ep.register(r, bad('1'))), TypeError, "'str' object cannot be interpreted as an integer");
// Deviation: Python's True is 1; a JS boolean is not an integer.
bad1('epoll: mask a boolean (iomux: not an int)', () => withEpoll((ep, r) => ep.register(r, bad(true))), TypeError, "'bool' object cannot be interpreted as an integer");
// CPython passes -1 on as 0xffffffff, whose EPOLLEXCLUSIVE bit the kernel
// refuses in combination: [Errno 22].
bad1('epoll: mask -1', () => withEpoll((ep, r) => ep.register(r, -1)), OSError, '[Errno 22] Invalid argument', { errno: 22, code: 'EINVAL' });
t.test('epoll: masks past 32 bits wrap modulo 2**32, as in CPython', async (t) => {
  withEpoll((ep, r, w) => {
    ep.register(w, 2 ** 32 + EPOLLOUT);
    t.same(ep.poll(0), [[w, EPOLLOUT]], '2**32 + EPOLLOUT is EPOLLOUT');
    ep.modify(w, 2n ** 64n + BigInt(EPOLLIN) as never);
    t.same(ep.poll(0), [], '2n**64n + EPOLLIN is EPOLLIN (never on a write end)');
    ep.modify(w, 2 ** 64);
    t.same(ep.poll(0), [], '2**64 is 0');
  });
});
bad1('epoll: register twice', () => withEpoll((ep, r) => (ep.register(r), ep.register(r))), FileExistsError, '[Errno 17] File exists', { errno: 17, code: 'EEXIST' });
bad1('epoll: unregister an unknown fd', () => withEpoll((ep, r) => ep.unregister(r)), FileNotFoundError, '[Errno 2] No such file or directory', { errno: 2, code: 'ENOENT' });
bad1('epoll: unregister twice', () => withEpoll((ep, r) => (ep.register(r), ep.unregister(r), ep.unregister(r))), FileNotFoundError, '[Errno 2] No such file or directory');
bad1('epoll: modify an unknown fd', () => withEpoll((ep, r) => ep.modify(r, EPOLLIN)), FileNotFoundError, '[Errno 2] No such file or directory');
bad1('epoll: modify with one argument', () => withEpoll((ep, r) => bad(ep).modify(r)), TypeError, "modify() missing required argument 'eventmask' (pos 2)");
bad1('epoll: unregister with no argument', () => withEpoll((ep) => bad(ep).unregister()), TypeError, "unregister() missing required argument 'fd' (pos 1)");
bad1('epoll: unregister with two arguments', () => withEpoll((ep, r) => bad(ep).unregister(r, 1)), TypeError, 'unregister() takes at most 1 argument (2 given)');
bad1('epoll: register a closed descriptor', () => withEpoll((ep) => ep.register(closedPipe()[0])), OSError, EBADF_MSG, EBADF);
bad1('epoll: unregister a closed descriptor', () => withEpoll((ep) => ep.unregister(closedPipe()[0])), OSError, EBADF_MSG, EBADF);
bad1('epoll: register itself', () => withEpoll((ep) => ep.register(ep.fileno())), OSError, '[Errno 22] Invalid argument', { errno: 22 });
t.test('epoll: register a regular file', async (t) => {
  const fd = fs.openSync(__filename, 'r');
  try {
    withEpoll((ep) => raises(t, () => ep.register(fd), PermissionError, '[Errno 1] Operation not permitted', { errno: 1, code: 'EPERM' }));
  } finally {
    fs.closeSync(fd);
  }
});
bad1('epoll: timeout NaN', () => withEpoll((ep) => ep.poll(NaN)), ValueError, 'Invalid value NaN (not a number)');
bad1('epoll: timeout a string', () => withEpoll((ep) => ep.poll(bad('1'))), TypeError, 'timeout must be an integer or None');
bad1('epoll: timeout 1e300 s', () => withEpoll((ep) => ep.poll(1e300)), OverflowError, 'timestamp out of range for platform time_t');
bad1('epoll: timeout Infinity', () => withEpoll((ep) => ep.poll(Infinity)), OverflowError, 'timestamp out of range for platform time_t');
bad1('epoll: timeout 2**31 s', () => withEpoll((ep) => ep.poll(2 ** 31)), OverflowError, 'timeout is too large');
bad1('epoll: timeout 2n**63n s', () => withEpoll((ep) => ep.poll(bad(2n ** 63n))), OverflowError, 'timestamp too large to convert to C _PyTime_t');
bad1('epoll: maxevents 0', () => withEpoll((ep) => ep.poll(0, 0)), ValueError, 'maxevents must be greater than 0, got 0');
bad1('epoll: maxevents -2', () => withEpoll((ep) => ep.poll(0, -2)), ValueError, 'maxevents must be greater than 0, got -2');
bad1('epoll: maxevents 2**31', () => withEpoll((ep) => ep.poll(0, 2 ** 31)), OverflowError, TOO_BIG_INT);
bad1('epoll: maxevents 1.5', () => withEpoll((ep) => ep.poll(0, 1.5)), TypeError, "'float' object cannot be interpreted as an integer");
bad1('epoll: maxevents in the options object, 0', () => withEpoll((ep) => ep.poll({ timeout: 0, maxevents: 0 })), ValueError, 'maxevents must be greater than 0, got 0');
bad1('epoll: poll with three arguments', () => withEpoll((ep) => bad(ep).poll(0, 1, 2)), TypeError, 'poll() takes at most 2 arguments (3 given)');
t.test('epoll: maxevents -1 and huge maxevents are accepted', async (t) => {
  withEpoll((ep, r, w) => {
    ep.register(w, EPOLLOUT);
    t.same(ep.poll(0, -1), [[w, EPOLLOUT]], '-1 means the default');
    // Deviation (documented): CPython allocates maxevents events; iomux
    // asks for at most 65536 per call, so 2**30 costs no memory.
    t.same(ep.poll(0, 2 ** 30), [[w, EPOLLOUT]]);
  });
});
t.test('epoll: a fileno() that throws propagates the same error object', async (t) => {
  const boom = new Error('boom');
  withEpoll((ep) => {
    t.equal(t.throws(() => ep.register(fileno(boom))), boom);
    t.equal(t.throws(() => ep.modify(fileno(boom), EPOLLIN)), boom);
    t.equal(t.throws(() => ep.unregister(fileno(boom))), boom);
  });
});
bad1("epoll: fileno() returning '3'", () => withEpoll((ep) => ep.register(fileno('3'))), TypeError, 'fileno() returned a non-integer');
bad1('epoll: fileno() returning 3.5', () => withEpoll((ep) => ep.register(fileno(3.5))), TypeError, 'fileno() returned a non-integer');
bad1('epoll: fileno() returning -1', () => withEpoll((ep) => ep.register(fileno(-1))), ValueError, NEG(-1));
bad1('epoll: fileno() returning 2**31', () => withEpoll((ep) => ep.register(fileno(2 ** 31))), OverflowError, TOO_BIG_INT);
bad1('epoll: fileno() returning 2n**40n', () => withEpoll((ep) => ep.register(fileno(2n ** 40n))), OverflowError, TOO_BIG_INT);

// A closed epoll object: every method.
const CLOSED = 'I/O operation on closed epoll object';
function closedEpoll(): select.Epoll {
  const ep = epoll();
  ep.close();
  return ep;
}
bad1('closed epoll: fileno()', () => closedEpoll().fileno(), ValueError, CLOSED);
bad1('closed epoll: register()', () => closedEpoll().register(0), ValueError, CLOSED);
bad1('closed epoll: modify()', () => closedEpoll().modify(0, EPOLLIN), ValueError, CLOSED);
bad1('closed epoll: unregister()', () => closedEpoll().unregister(0), ValueError, CLOSED);
bad1('closed epoll: poll()', () => closedEpoll().poll(0), ValueError, CLOSED);
// CPython checks "closed" before it converts the timeout or range-checks
// maxevents, but after it parses the arguments' types.
bad1('closed epoll: poll(NaN) is still "closed"', () => closedEpoll().poll(NaN), ValueError, CLOSED);
bad1('closed epoll: poll(0, 0) is still "closed"', () => closedEpoll().poll(0, 0), ValueError, CLOSED);
bad1("closed epoll: poll('x') is still \"closed\"", () => closedEpoll().poll(bad('x')), ValueError, CLOSED);
bad1('closed epoll: poll(0, 1.5) is a TypeError first', () => closedEpoll().poll(0, 1.5), TypeError, "'float' object cannot be interpreted as an integer");
bad1("closed epoll: register('x') is a TypeError first", () => closedEpoll().register('x'), TypeError, NOT_FILEOBJ);
t.test('closed epoll: close(), dispose and closed are fine', async (t) => {
  const ep = closedEpoll();
  t.doesNotThrow(() => ep.close());
  t.doesNotThrow(() => ep[Symbol.dispose]());
  t.equal(ep.closed, true);
});
t.test('closed epoll: close() after its descriptor was closed behind its back', async (t) => {
  const ep = epoll();
  os.close(ep.fileno());
  t.doesNotThrow(() => ep.close(), 'EBADF is ignored, as CPython does');
  t.equal(ep.closed, true);
});
// CPython's epoll.fromfd(-2) raises OSError with whatever errno is lying
// around ("[Errno 0] Error"); iomux names the real problem, EBADF.
bad1('epoll.fromfd(-2)', () => epoll.fromfd(-2), OSError, '[Errno 9] Bad file descriptor', { errno: 9 });
bad1('epoll: register a closed iomux Socket', () => {
  const s = new Socket();
  s.close();
  return withEpoll((ep) => ep.register(s));
}, ValueError, NEG(-1));

// -------------------------------------------------------------------- os

bad1('os.read(-1, 1)', () => os.read(-1, 1), OSError, EBADF_MSG, EBADF);
bad1('os.read(2**31, 1)', () => os.read(2 ** 31, 1), OverflowError, TOO_BIG_INT);
bad1('os.read(closed, 1)', () => os.read(closedPipe()[0], 1), OSError, EBADF_MSG, EBADF);
bad1('os.read(fd, -1)', () => withPipe((r) => os.read(r, -1)), OSError, '[Errno 22] Invalid argument', { errno: 22 });
bad1('os.read(fd, 2**63)', () => withPipe((r) => os.read(r, 2 ** 63)), OverflowError, 'Python int too large to convert to C ssize_t');
bad1("os.read('3', 1)", () => os.read(bad('3'), 1), TypeError, "'str' object cannot be interpreted as an integer");
bad1('os.read(3.5, 1)', () => os.read(3.5, 1), TypeError, "'float' object cannot be interpreted as an integer");
bad1('os.read(NaN, 1)', () => os.read(NaN, 1), TypeError, "'float' object cannot be interpreted as an integer");
bad1('os.write(-1, b)', () => os.write(-1, Buffer.from('x')), OSError, EBADF_MSG, EBADF);
bad1('os.write(2**31, b)', () => os.write(2 ** 31, Buffer.from('x')), OverflowError, TOO_BIG_INT);
bad1('os.write(closed, b)', () => os.write(closedPipe()[1], Buffer.from('x')), OSError, EBADF_MSG, EBADF);
bad1("os.write(fd, 'x')", () => withPipe((r, w) => os.write(w, 'x')), TypeError, "a bytes-like object is required, not 'str'");
bad1('os.write(fd, [1])', () => withPipe((r, w) => os.write(w, bad([1]))), TypeError, "a bytes-like object is required, not 'list'");
bad1('os.close(-1)', () => os.close(-1), OSError, EBADF_MSG, EBADF);
bad1('os.close(2**31)', () => os.close(2 ** 31), OverflowError, TOO_BIG_INT);
bad1('os.close(1e300)', () => os.close(1e300), OverflowError, TOO_BIG_INT);
bad1('os.close(closed)', () => os.close(closedPipe()[0]), OSError, EBADF_MSG, EBADF);
bad1("os.close('3')", () => os.close(bad('3')), TypeError, "'str' object cannot be interpreted as an integer");
bad1('os.close(3.5)', () => os.close(3.5), TypeError, "'float' object cannot be interpreted as an integer");
bad1('os.dup(-1)', () => os.dup(-1), OSError, EBADF_MSG, EBADF);
bad1('os.dup(closed)', () => os.dup(closedPipe()[0]), OSError, EBADF_MSG, EBADF);
bad1('os.getInheritable(-1)', () => os.getInheritable(-1), OSError, EBADF_MSG, EBADF);
bad1('os.getInheritable(2**31)', () => os.getInheritable(2 ** 31), OverflowError, TOO_BIG_INT);
bad1('os.getBlocking(closed)', () => os.getBlocking(closedPipe()[0]), OSError, EBADF_MSG, EBADF);
bad1("os.setBlocking(fd, 'x')", () => withPipe((r) => os.setBlocking(r, bad('x'))), TypeError, "'str' object cannot be interpreted as an integer");
bad1('os.setInheritable(closed, true)', () => os.setInheritable(closedPipe()[0], true), OSError, EBADF_MSG, EBADF);
bad1('os.strerror(2**31)', () => os.strerror(2 ** 31), OverflowError, TOO_BIG_INT);

// ---------------------------------------------------------------- socket

bad1('socket: unknown family', () => new Socket(12345, socket.SOCK_STREAM), OSError, '[Errno 97] Address family not supported by protocol', { errno: 97, code: 'EAFNOSUPPORT' });
bad1('socket: unknown type', () => new Socket(socket.AF_INET, 12345), OSError, '[Errno 22] Invalid argument', { errno: 22 });
bad1('socket: family a string', () => new Socket(bad('x')), TypeError, "'str' object cannot be interpreted as an integer");
t.test('socket: family 2**31', async (t) => {
  // CPython 3.11 parses family with Argument Clinic's int converter
  // ("Python int too large to convert to C int"); src/socket/ uses the "i"
  // format's wording. Class asserted; the message is a known difference.
  t.throws(() => new Socket(2 ** 31), { name: 'OverflowError' });
  t.throws(() => new Socket(2 ** 31), { name: 'OverflowError', message: TOO_BIG_INT }, 'CPython 3.11 message');
});
bad1('socket: fileno -1', () => new Socket({ fileno: -1 }), ValueError, 'negative file descriptor');
function withSocket<T>(body: (s: Socket) => T): T {
  const s = new Socket();
  try {
    return body(s);
  } finally {
    s.close();
  }
}
bad1('socket: bind port 70000', () => withSocket((s) => s.bind(['127.0.0.1', 70000])), OverflowError, 'bind(): port must be 0-65535.');
bad1('socket: bind port -1', () => withSocket((s) => s.bind(['127.0.0.1', -1])), OverflowError, 'bind(): port must be 0-65535.');
bad1("socket: bind port '80'", () => withSocket((s) => s.bind(['127.0.0.1', bad('80')])), TypeError, "'str' object cannot be interpreted as an integer");
bad1('socket: bind a bare string', () => withSocket((s) => s.bind('127.0.0.1')), TypeError, 'bind(): AF_INET address must be tuple, not str');
bad1('socket: bind a 3-tuple', () => withSocket((s) => s.bind(bad(['127.0.0.1', 0, 1]))), TypeError, 'AF_INET address must be a pair (host, port)');
bad1('socket: connect port 70000', () => withSocket((s) => s.connect(['127.0.0.1', 70000])), OverflowError, 'connect(): port must be 0-65535.');
bad1('socket: recv(-1)', () => withSocket((s) => s.recv(-1)), ValueError, 'negative buffersize in recv');

// A closed Socket: every method is [Errno 9], as CPython's (fileno -1).
function closedSocket(): Socket {
  const s = new Socket();
  s.close();
  return s;
}
const closedSocketCalls: Array<[string, (s: Socket) => unknown]> = [
  ['bind', (s) => s.bind(['127.0.0.1', 0])],
  ['listen', (s) => s.listen()],
  ['accept', (s) => s.accept()],
  ['connect', (s) => s.connect(['127.0.0.1', 1])],
  ['recv', (s) => s.recv(1)],
  ['recvInto', (s) => s.recvInto(Buffer.alloc(1))],
  ['send', (s) => s.send(Buffer.from('x'))],
  ['sendall', (s) => s.sendall(Buffer.from('x'))],
  ['shutdown', (s) => s.shutdown(socket.SHUT_RDWR)],
  ['setblocking', (s) => s.setblocking(false)],
  ['getsockname', (s) => s.getsockname()],
  ['getpeername', (s) => s.getpeername()],
  ['setsockopt', (s) => s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)],
  ['getsockopt', (s) => s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)],
];
for (const [name, call] of closedSocketCalls) {
  bad1(`closed socket: ${name}()`, () => call(closedSocket()), OSError, EBADF_MSG, EBADF);
}
t.test('closed socket: fileno() is -1, connectEx() returns EBADF, close() is a no-op', async (t) => {
  const s = closedSocket();
  t.equal(s.fileno(), -1);
  t.equal(s.connectEx(['127.0.0.1', 1]), 9);
  t.doesNotThrow(() => s.close());
});
bad1('closed socket: select() on it', () => select.select([closedSocket()], [], [], 0), ValueError, NEG(-1));
bad1('closed socket: poll.register() on it', () => select.poll().register(closedSocket()), ValueError, NEG(-1));

// ----------------------------------------------- native backstops (binding)
// The TypeScript layer never sends these; the addon must still refuse them
// (TypeError / ValueError / OverflowError), never crash or touch memory it
// does not own.

const I32 = (n: number) => new Int32Array(n);
const raw = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
const detached = <T extends ArrayBufferView>(make: (ab: ArrayBuffer) => T): T => {
  const ab = new ArrayBuffer(16);
  const view = make(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
};

bad1('binding.select: a Uint32Array', () => nat(() => raw.select!(new Uint32Array(1), I32(0), I32(0), 0))(), TypeError, 'rlist must be an Int32Array');
bad1('binding.select: a plain array', () => nat(() => raw.select!(I32(0), [1], I32(0), 0))(), TypeError, 'wlist must be an Int32Array');
bad1('binding.select: no arguments', () => nat(() => raw.select!())(), TypeError, 'rlist must be an Int32Array');
bad1('binding.select: fd 1024 (FD_SET would write out of bounds)', nat(() => raw.select!(Int32Array.of(1024), I32(0), I32(0), 0)), ValueError, 'filedescriptor out of range in select()');
bad1('binding.select: fd INT_MAX in xlist', nat(() => raw.select!(I32(0), I32(0), Int32Array.of(2 ** 31 - 1), 0)), ValueError, 'filedescriptor out of range in select()');
bad1('binding.select: fd -1', nat(() => raw.select!(I32(0), Int32Array.of(-1), I32(0), 0)), ValueError, 'filedescriptor out of range in select()');
bad1('binding.select: timeout NaN', nat(() => raw.select!(I32(0), I32(0), I32(0), NaN)), TypeError, 'timeout must be an integer number of microseconds');
bad1('binding.select: timeout -2', nat(() => raw.select!(I32(0), I32(0), I32(0), -2)), OverflowError, 'timeout must be an integer number of microseconds');
bad1('binding.select: timeout 1e300', nat(() => raw.select!(I32(0), I32(0), I32(0), 1e300)), OverflowError, 'timeout must be an integer number of microseconds');
t.test('binding.select: SharedArrayBuffer-backed and detached arrays are safe', async (t) => {
  withPipe((r) => {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    shared[0] = r;
    t.equal(raw.select!(shared, I32(0), I32(0), 0), 0, 'a shared Int32Array is an Int32Array');
    t.equal(shared[0], -1, 'not ready: overwritten with -1');
    const gone = detached((ab) => new Int32Array(ab));
    t.equal(gone.length, 0);
    t.equal(raw.select!(gone, I32(0), I32(0), 0), 0, 'a detached array is empty');
  });
});
bad1('binding.poll: nfds larger than the array', nat(() => raw.poll!(I32(2), 2, 0, I32(4))), ValueError, 'nfds exceeds the pollfd array');
bad1('binding.poll: nfds past a subarray view', nat(() => raw.poll!(I32(8).subarray(6), 2, 0, I32(4))), ValueError, 'nfds exceeds the pollfd array');
bad1('binding.poll: nfds on a detached array', nat(() => raw.poll!(detached((ab) => new Int32Array(ab)), 1, 0, I32(2))), ValueError, 'nfds exceeds the pollfd array');
bad1('binding.poll: nfds -1', nat(() => raw.poll!(I32(2), -1, 0, I32(4))), OverflowError, 'nfds must be a non-negative integer');
bad1('binding.poll: nfds 2**31', nat(() => raw.poll!(I32(2), 2 ** 31, 0, I32(4))), OverflowError, 'nfds must be a non-negative integer');
bad1('binding.poll: nfds NaN', nat(() => raw.poll!(I32(2), NaN, 0, I32(4))), TypeError, 'nfds must be a non-negative integer');
bad1('binding.poll: timeout -2', nat(() => raw.poll!(I32(2), 0, -2, I32(4))), OverflowError, 'timeout must be an integer in [-1, INT_MAX] ms');
bad1('binding.poll: timeout 2**31', nat(() => raw.poll!(I32(2), 0, 2 ** 31, I32(4))), OverflowError, 'timeout must be an integer in [-1, INT_MAX] ms');
bad1('binding.poll: timeout 1.5', nat(() => raw.poll!(I32(2), 0, 1.5, I32(4))), TypeError, 'timeout must be an integer in [-1, INT_MAX] ms');
bad1('binding.poll: a Uint8Array pollfd array', nat(() => raw.poll!(new Uint8Array(8), 1, 0, I32(4))), TypeError, 'pollfds must be an Int32Array');
bad1('binding.poll: a Float32Array out', nat(() => raw.poll!(I32(2), 0, 0, new Float32Array(4))), TypeError, 'out must be an Int32Array');
t.test('binding.poll: an out array too small is truncated, never overrun', async (t) => {
  withPipe((r, w) => {
    const pfds = Int32Array.of(w, POLLOUT, w, POLLOUT);
    const out = new Int32Array(new ArrayBuffer(16), 8, 2); // one pair, at an offset
    const guard = new Int32Array(out.buffer, 0, 2);
    t.equal(raw.poll!(pfds, 2, 0, out), 1, 'one pair fits');
    t.same([...guard], [0, 0], 'bytes before the view untouched');
    t.equal(raw.poll!(pfds, 2, 0, I32(0)), 0, 'an empty out gets nothing');
    const shared = new Int32Array(new SharedArrayBuffer(8));
    t.equal(raw.poll!(Int32Array.of(w, POLLOUT), 1, 0, shared), 1, 'SharedArrayBuffer-backed out works');
    t.same([...shared], [w, POLLOUT]);
  });
});
bad1('binding.epoll_wait: maxevents larger than the out array', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 2, 0))()), ValueError, 'maxevents exceeds the output array');
bad1('binding.epoll_wait: a detached out array', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), detached((ab) => new Int32Array(ab)), 1, 0))()), ValueError, 'maxevents exceeds the output array');
bad1('binding.epoll_wait: maxevents 0', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 0, 0))()), OverflowError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: maxevents -1', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), -1, 0))()), OverflowError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: maxevents 2**31', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 2 ** 31, 0))()), OverflowError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: maxevents NaN', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), NaN, 0))()), TypeError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: epfd 2**31', nat(() => raw.epoll_wait!(2 ** 31, I32(2), 1, 0)), OverflowError, 'file descriptor is too large');
bad1('binding.epoll_wait: epfd 1e300', nat(() => raw.epoll_wait!(1e300, I32(2), 1, 0)), OverflowError, 'file descriptor is too large');
bad1('binding.epoll_wait: epfd -1', nat(() => raw.epoll_wait!(-1, I32(2), 1, 0)), ValueError, 'file descriptor cannot be a negative integer');
bad1('binding.epoll_wait: epfd NaN', nat(() => raw.epoll_wait!(NaN, I32(2), 1, 0)), TypeError, 'file descriptor must be an integer');
bad1('binding.epoll_wait: epfd a pipe', () => withPipe((r) => nat(() => raw.epoll_wait!(r, I32(4), 1, 0))()), OSError, '[Errno 22] Invalid argument', { errno: 22 });
bad1('binding.epoll_wait: a BigInt64Array out', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), new BigInt64Array(2), 1, 0))()), TypeError, 'out must be an Int32Array');
bad1('binding.epoll_wait: timeout -5', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 1, -5))()), OverflowError, 'timeout must be an integer in [-1, INT_MAX] ms');
t.test('binding.epoll_wait: a SharedArrayBuffer-backed out array works', async (t) => {
  withEpoll((ep, r, w) => {
    ep.register(w, EPOLLOUT);
    // One struct epoll_event, laid out as the kernel writes it.
    const layout = binding.epoll_event_layout!;
    const shared = new Int32Array(new SharedArrayBuffer(4 * layout.stride));
    t.equal(raw.epoll_wait!(ep.fileno(), shared, 1, 0), 1);
    t.equal(shared[layout.fd], w);
    t.equal(shared[layout.events], EPOLLOUT);
  });
});
bad1('binding.epoll_ctl: events -1', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, r, -1))()), OverflowError, 'events must be a 32-bit unsigned integer');
bad1('binding.epoll_ctl: events 2**32', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, r, 2 ** 32))()), OverflowError, 'events must be a 32-bit unsigned integer');
bad1('binding.epoll_ctl: events missing', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, r))()), TypeError, 'events must be a 32-bit unsigned integer');
bad1('binding.epoll_ctl: op 99', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 99, r, 1))()), OSError, '[Errno 22] Invalid argument', { errno: 22 });
bad1('binding.epoll_ctl: op 2**31', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 2 ** 31, r, 1))()), OverflowError, 'op must be an integer');
bad1('binding.epoll_ctl: fd 2**31', () => withEpoll((ep) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, 2 ** 31, 1))()), OverflowError, 'file descriptor is too large');
bad1('binding.epoll_ctl: fd -1', () => withEpoll((ep) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, -1, 1))()), ValueError, 'file descriptor cannot be a negative integer');
bad1("binding.epoll_ctl: epfd '3'", nat(() => raw.epoll_ctl!('3', 1, 0, 1)), TypeError, 'file descriptor must be an integer');
bad1('binding.epoll_create1: flags NaN', nat(() => raw.epoll_create1!(NaN)), TypeError, 'flags must be an integer');
bad1('binding.epoll_create1: flags 2**31', nat(() => raw.epoll_create1!(2 ** 31)), OverflowError, 'flags must be an integer');
bad1('binding.read: offset + length past the buffer', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 2, 3))()), ValueError, 'buffer window out of range');
bad1('binding.read: offset past the buffer', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 5, 0))()), ValueError, 'buffer window out of range');
bad1('binding.read: length 2**53', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 0, 2 ** 53))()), ValueError, 'buffer window out of range');
bad1('binding.read: length 1e300', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 0, 1e300))()), OverflowError, 'length must be a non-negative integer');
bad1('binding.read: offset -1', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), -1, 1))()), OverflowError, 'offset must be a non-negative integer');
bad1('binding.read: length NaN', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 0, NaN))()), TypeError, 'length must be a non-negative integer');
bad1('binding.read: a Float64Array window counts bytes', () => withPipe((r) => nat(() => raw.read!(r, new Float64Array(1), 0, 9))()), ValueError, 'buffer window out of range');
bad1('binding.read: a DataView window', () => withPipe((r) => nat(() => raw.read!(r, new DataView(new ArrayBuffer(4), 2), 0, 3))()), ValueError, 'buffer window out of range');
bad1('binding.read: a detached buffer', () => withPipe((r) => nat(() => raw.read!(r, detached((ab) => new Uint8Array(ab)), 0, 1))()), ValueError, 'buffer window out of range');
bad1('binding.read: a string buffer', () => withPipe((r) => nat(() => raw.read!(r, 'abcd', 0, 1))()), TypeError, 'buffer must be a Buffer or TypedArray');
bad1('binding.read: a bare ArrayBuffer', () => withPipe((r) => nat(() => raw.read!(r, new ArrayBuffer(4), 0, 1))()), TypeError, 'buffer must be a Buffer or TypedArray');
bad1('binding.read: fd 2**31', nat(() => raw.read!(2 ** 31, Buffer.alloc(4), 0, 1)), OverflowError, 'file descriptor is too large');
bad1('binding.read: fd -1', nat(() => raw.read!(-1, Buffer.alloc(4), 0, 1)), ValueError, 'file descriptor cannot be a negative integer');
bad1('binding.write: offset + length past the buffer', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(4), 3, 2))()), ValueError, 'buffer window out of range');
bad1('binding.write: length past a subarray view', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(16).subarray(8, 12), 0, 5))()), ValueError, 'buffer window out of range');
bad1('binding.write: a detached buffer', () => withPipe((r, w) => nat(() => raw.write!(w, detached((ab) => new Uint8Array(ab)), 0, 1))()), ValueError, 'buffer window out of range');
bad1('binding.write: length NaN', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(4), 0, NaN))()), TypeError, 'length must be a non-negative integer');
// 2**63 is (double)INT64_MAX: it passed the range check and its cast to
// int64_t was undefined behaviour (UBSan, npm run test:asan).
bad1('binding.write: offset 2**63', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(4), 2 ** 63, 1))()), OverflowError, 'offset must be a non-negative integer');
bad1('binding.write: fd 1e300', nat(() => raw.write!(1e300, Buffer.alloc(4), 0, 1)), OverflowError, 'file descriptor is too large');
t.test('binding.write: a SharedArrayBuffer-backed buffer works', async (t) => {
  withPipe((r, w) => {
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    shared.set([1, 2, 3, 4]);
    t.equal(raw.write!(w, shared, 1, 3), 3);
    t.same([...os.read(r, 10)], [2, 3, 4]);
  });
});
/** Runs `body` with a fresh non-blocking AF_UNIX stream socket pair, closed afterwards. */
function withSocketpair<T>(body: (a: number, b: number) => T): T {
  const [a, b] = socket.socketpair();
  try {
    a.setblocking(false);
    b.setblocking(false);
    return body(a.fileno(), b.fileno());
  } finally {
    a.close();
    b.close();
  }
}
for (const name of ['recv_view', 'send_view'] as const) {
  const what = name === 'recv_view' ? 'buffer' : 'data';
  bad1(`binding.${name}: fd NaN`, nat(() => raw[name]!(NaN, Buffer.alloc(4))), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: fd 1.5`, nat(() => raw[name]!(1.5, Buffer.alloc(4))), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: fd '3'`, nat(() => raw[name]!('3', Buffer.alloc(4))), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: no arguments`, nat(() => raw[name]!()), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: fd -1`, nat(() => raw[name]!(-1, Buffer.alloc(4))), ValueError, 'file descriptor cannot be a negative integer');
  bad1(`binding.${name}: fd 2**31`, nat(() => raw[name]!(2 ** 31, Buffer.alloc(4))), OverflowError, 'file descriptor is too large');
  bad1(`binding.${name}: fd 1e300`, nat(() => raw[name]!(1e300, Buffer.alloc(4))), OverflowError, 'file descriptor is too large');
  bad1(`binding.${name}: no view`, () => withSocketpair((a) => nat(() => raw[name]!(a))()), TypeError, `${what} must be a Buffer or TypedArray`);
  bad1(`binding.${name}: a string view`, () => withSocketpair((a) => nat(() => raw[name]!(a, 'abcd'))()), TypeError, `${what} must be a Buffer or TypedArray`);
  bad1(`binding.${name}: a bare ArrayBuffer`, () => withSocketpair((a) => nat(() => raw[name]!(a, new ArrayBuffer(4)))()), TypeError, `${what} must be a Buffer or TypedArray`);
  bad1(`binding.${name}: a pipe is not a socket`, () => withPipe((r, w) => nat(() => raw[name]!(name === 'recv_view' ? r : w, Buffer.alloc(4)))()), OSError, '[Errno 88] Socket operation on non-socket', { errno: 88, code: 'ENOTSOCK' });
  bad1(`binding.${name}: a closed descriptor`, () => nat(() => raw[name]!(closedPipe()[0], Buffer.alloc(4)))(), OSError, '[Errno 9] Bad file descriptor', { errno: 9, code: 'EBADF' });
}
t.test('binding.recv_view/send_view: whole views of every kind, extra arguments ignored', async (t) => {
  withSocketpair((a, b) => {
    t.equal(raw.send_view!(a, new Float64Array([1.5])), 8, 'a Float64Array sends its 8 bytes');
    const got = new Float64Array(1);
    t.equal(raw.recv_view!(b, got), 8, 'and a Float64Array receives them');
    t.equal(got[0], 1.5);
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    shared.set([1, 2, 3, 4]);
    t.equal(raw.send_view!(a, shared.subarray(1, 3), 0, 99), 2, 'a subarray sends its window only; a third and fourth argument are ignored');
    const into = new DataView(new ArrayBuffer(8), 4);
    t.equal(raw.recv_view!(b, into), 2, 'a DataView receives');
    t.same([into.getUint8(0), into.getUint8(1)], [2, 3]);
    raises(t, nat(() => raw.recv_view!(b, Buffer.alloc(4))), BlockingIOError, '[Errno 11] Resource temporarily unavailable', { errno: 11, code: 'EAGAIN' });
  });
});
t.test('binding.recv_view/send_view: a detached view is empty, nothing is touched', async (t) => {
  withSocketpair((a, b) => {
    t.equal(raw.send_view!(a, detached((ab) => new Uint8Array(ab))), 0, 'sends nothing');
    t.equal(raw.send_view!(a, Buffer.from('xy')), 2);
    t.equal(raw.recv_view!(b, detached((ab) => new Uint8Array(ab))), 0, 'receives nothing');
    const rest = Buffer.alloc(4);
    t.equal(raw.recv_view!(b, rest), 2, 'the bytes are still queued');
    t.equal(rest.toString('latin1', 0, 2), 'xy');
  });
});
bad1('binding.close: fd NaN', nat(() => raw.close!(NaN)), TypeError, 'file descriptor must be an integer');
bad1('binding.close: fd 2**31', nat(() => raw.close!(2 ** 31)), OverflowError, 'file descriptor is too large');
bad1('binding.set_blocking: a non-boolean flag', () => withPipe((r) => nat(() => raw.set_blocking!(r, 'yes'))()), TypeError, 'blocking must be a boolean');
bad1('binding.fdhandle_close: not a handle', nat(() => raw.fdhandle_close!({})), TypeError, 'expected an fd handle');

// ------------------------------------------------------------- afterwards

t.test('afterwards: the process is alive and /proc/self/fd is as before', async (t) => {
  t.equal(process.kill(process.pid, 0), true, 'alive');
  let now = openFds();
  for (let i = 0; i < 20 && now.join() !== initialFds.join(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    now = openFds();
  }
  t.same(now, initialFds, 'same descriptors, by number');
});
