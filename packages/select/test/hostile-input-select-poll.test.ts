// Hostile input, select() and poll(): every bad argument, with CPython
// 3.11's error class and message (hostile-input-support.ts says how).
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as select from '@iomux/select';
import { os, OSError, ValueError, OverflowError, KeyError, FileNotFoundError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import {
  bad,
  POLLIN,
  POLLOUT,
  raises,
  bad1,
  closedPipe,
  withPipe,
  fileno,
  NOT_FILEOBJ,
  NEG,
  TOO_BIG_INT,
  EBADF,
  EBADF_MSG,
} from './hostile-input-support.js';

checkNoFdLeak(t);

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

