// Hostile input, epoll(): every bad argument and a closed epoll object,
// with CPython 3.11's error class and message (hostile-input-support.ts).
import t from 'tap';
import * as fs from 'node:fs';
import * as select from '@iomux/select';
import { os, Socket, OSError, ValueError, OverflowError, FileExistsError, FileNotFoundError, PermissionError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import {
  bad,
  epoll,
  EPOLLIN,
  EPOLLOUT,
  raises,
  bad1,
  closedPipe,
  withEpoll,
  fileno,
  NOT_FILEOBJ,
  NEG,
  TOO_BIG_INT,
  EBADF,
  EBADF_MSG,
} from './hostile-input-support.js';

checkNoFdLeak(t);

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

