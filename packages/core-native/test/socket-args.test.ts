// Bad arguments to the socket primitives (src/socket/ over native/socket.cc):
// Python's error classes and messages, the binding's own checks, and no
// descriptor or copy left behind by a failed call. Expected messages are
// CPython 3.11's (checked with python3).
import t from 'tap';
import * as path from 'node:path';
import {
  binding, os, socket, Socket, socketpair, createConnection, gaierror, errnoConstants as E, OSError,
} from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { caught } from '../../../test/support/caught.js';
import { msg, bad, HAVE_V6, makeTmpRoot } from './socket-support.js';

checkNoFdLeak(t);

const { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR } = socket;

const tmpRoot = makeTmpRoot(t);

t.test('address argument errors, with Python\'s messages', async (t) => {
  const s = new Socket();
  t.throws(() => s.bind(bad('x')), { name: 'TypeError', message: 'bind(): AF_INET address must be tuple, not str' });
  t.throws(() => s.bind(bad(null)), { name: 'TypeError', message: 'bind(): AF_INET address must be tuple, not NoneType' });
  t.throws(() => s.connect(bad(null)), { name: 'TypeError', message: 'connect(): AF_INET address must be tuple, not NoneType' });
  t.throws(() => s.connectEx(bad('x')), { name: 'TypeError', message: 'connect_ex(): AF_INET address must be tuple, not str' });
  t.throws(() => s.bind(bad(['x'])), { name: 'TypeError', message: 'AF_INET address must be a pair (host, port)' });
  t.throws(() => s.bind(bad(['127.0.0.1', 1, 2])), { name: 'TypeError', message: 'AF_INET address must be a pair (host, port)' });
  t.throws(() => s.bind(bad([1, 1])), { name: 'TypeError', message: 'str, bytes or bytearray expected, not int' });
  t.throws(() => s.bind(bad(['127.0.0.1', '1'])), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => s.bind(['127.0.0.1', 1.5]), { name: 'TypeError', message: "'float' object cannot be interpreted as an integer" });
  for (const port of [-1, 65536, 2 ** 40, bad(2n ** 70n)]) {
    t.throws(() => s.bind(['127.0.0.1', port]), { name: 'OverflowError', message: 'bind(): port must be 0-65535.' }, `port ${port}`);
  }
  t.throws(() => s.connect(['127.0.0.1', 70000]), { name: 'OverflowError', message: 'connect(): port must be 0-65535.' });
  const g = caught(t, () => s.bind(['nonexist.invalid', 0]));
  t.ok(g instanceof gaierror && g instanceof OSError);
  t.match(g, { name: 'gaierror', errno: socket.EAI_NONAME });
  if (process.platform === 'linux') t.equal(g.message, '[Errno -2] Name or service not known', "glibc's text, as Python");
  t.throws(() => s.bind(['1.2.3.4.5', 0]), gaierror);
  t.throws(() => s.bind(['::1', 0]), { name: 'gaierror', errno: socket.EAI_ADDRFAMILY ?? socket.EAI_FAMILY },
    'an IPv6 address on AF_INET');
  t.notOk(new OSError(1, 'x') instanceof gaierror, 'a plain OSError is not a gaierror');
  s.bind([Buffer.from('127.0.0.1'), 0]);
  t.equal((s.getsockname() as [string, number])[0], '127.0.0.1', 'a bytes host works');
  s.close();
  const l = new Socket();
  l.bind(['localhost', 0]);
  t.equal((l.getsockname() as [string, number])[0], '127.0.0.1', 'localhost');
  l.close();

  const s6 = new Socket(AF_INET6);
  t.throws(() => s6.bind(bad(['::1'])), { name: 'TypeError', message: 'AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])' });
  t.throws(() => s6.bind(bad(['::1', 0, 0, 0, 0])), { name: 'TypeError', message: 'AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])' });
  t.throws(() => s6.bind(bad('::1')), { name: 'TypeError', message: 'bind(): AF_INET6 address must be tuple, not str' });
  t.throws(() => s6.bind(['::1', 0, -1]), { name: 'OverflowError', message: 'bind(): flowinfo must be 0-1048575.' });
  t.throws(() => s6.bind(['::1', 0, 2 ** 20]), { name: 'OverflowError', message: 'bind(): flowinfo must be 0-1048575.' });
  t.throws(() => s6.bind(['::1', 0, 1.5]), TypeError);
  t.throws(() => s6.bind(['127.0.0.1', 0]), { name: 'gaierror', errno: socket.EAI_ADDRFAMILY ?? socket.EAI_FAMILY },
    'an IPv4 address on AF_INET6');
  if (HAVE_V6) {
    s6.bind(['', 0]);
    t.equal((s6.getsockname() as [string, number])[0], '::', "'' is in6addr_any");
  }
  s6.close();

  const u = new Socket(AF_UNIX);
  t.throws(() => u.bind(bad(['a', 1])), { name: 'TypeError', message: "a bytes-like object is required, not 'tuple'" });
  t.throws(() => u.bind(bad(5)), { name: 'TypeError', message: "a bytes-like object is required, not 'int'" });
  t.throws(() => u.connect(path.join(tmpRoot, 'nothing-here')), { name: 'FileNotFoundError', errno: E.ENOENT });
  u.close();
});

t.test('other argument errors, with Python\'s messages', async (t) => {
  const [s, peer] = socketpair();
  t.throws(() => s.recv(-1), { name: 'ValueError', message: 'negative buffersize in recv' });
  t.throws(() => s.recv(1.5), { name: 'TypeError', message: "'float' object cannot be interpreted as an integer" });
  t.throws(() => s.recv(bad('a')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => s.recv(1, bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => s.recvInto(bad('x')), { name: 'TypeError', message: 'recv_into() argument 1 must be read-write bytes-like object, not str' });
  t.throws(() => s.recvInto(new Uint8Array(3), -1), { name: 'ValueError', message: 'negative buffersize in recv_into' });
  t.throws(() => s.recvInto(new Uint8Array(3), 5), { name: 'ValueError', message: 'buffer too small for requested bytes' });
  for (const [v, ty] of [['str', 'str'], [null, 'NoneType'], [5, 'int'], [[1], 'list']] as const) {
    t.throws(() => s.send(bad(v)), { name: 'TypeError', message: `a bytes-like object is required, not '${ty}'` });
    t.throws(() => s.sendall(bad(v)), { name: 'TypeError', message: `a bytes-like object is required, not '${ty}'` });
  }
  // recvInto fills typed arrays by bytes, and honours nbytes.
  peer.sendall(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 9, 9]));
  const ints = new Int32Array(2);
  t.equal(s.recvInto(ints), 8);
  t.same(Array.from(ints), new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? [1, 2] : [16777216, 33554432]);
  const two = new Uint8Array(4);
  t.equal(s.recvInto(two, 1), 1, 'nbytes limits the read');
  t.equal(s.send(new Float64Array([1.5])), 8, 'any TypedArray is bytes-like');
  t.equal(peer.recv(8).readDoubleLE(0), 1.5);
  s.close();
  peer.close();

  const tcp = new Socket();
  t.throws(() => tcp.recv(1), { name: 'OSError', errno: E.ENOTCONN, message: msg(E.ENOTCONN!) });
  t.throws(() => tcp.send(Buffer.from('x')), { name: 'BrokenPipeError', errno: E.EPIPE });
  t.throws(() => tcp.getpeername(), { name: 'OSError', errno: E.ENOTCONN });
  t.same(tcp.getsockname(), ['0.0.0.0', 0], 'an unbound AF_INET socket');
  t.throws(() => tcp.accept(), { name: 'OSError', errno: E.EINVAL }, 'accept on a socket that does not listen');
  t.throws(() => tcp.listen(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => tcp.listen(2 ** 40), { name: 'OverflowError', message: 'signed integer is greater than maximum' });
  tcp.close();
  const neg = new Socket();
  neg.bind(['127.0.0.1', 0]);
  neg.listen(-5);
  const nc = createConnection(neg.getsockname() as [string, number]);
  const [na] = neg.accept();
  t.same(na.getpeername(), nc.getsockname(), 'a negative backlog is taken as 0: still listening');
  na.close();
  nc.close();
  neg.close();

  t.throws(() => new Socket(999), { name: 'OSError', errno: E.EAFNOSUPPORT, message: msg(E.EAFNOSUPPORT!) });
  t.throws(() => new Socket(AF_INET, 999), { name: 'OSError', errno: E.EINVAL });
  t.throws(() => new Socket(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => new Socket(AF_INET, bad(1.5)), TypeError);
  t.throws(() => new Socket(2 ** 40), { name: 'OverflowError', message: 'Python int too large to convert to C int' });
});

t.test('the binding re-checks every argument itself', async (t) => {
  const b = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  const [x, y] = binding.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const buf = Buffer.alloc(8);
  t.throws(() => b.recv!(x, buf, 4, 5, 0), { message: 'buffer window out of range' });
  t.throws(() => b.recv!(x, buf, -1, 1, 0), RangeError);
  t.throws(() => b.send!(x, buf, 0, 2 ** 60, 0), { message: 'buffer window out of range' });
  t.throws(() => b.send!(x, 'str', 0, 1, 0), TypeError);
  t.throws(() => b.recv!(x, {}, 0, 1, 0), TypeError);
  t.throws(() => b.recv!('3', buf, 0, 1, 0), TypeError);
  t.throws(() => b.recv!(-1, buf, 0, 1, 0), { pyType: 'ValueError', message: 'file descriptor cannot be a negative integer' });
  t.throws(() => b.recv!(x, buf, 0, 1, 2 ** 40), { pyType: 'OverflowError', message: 'flags must be an integer' });
  t.throws(() => b.bind!(x, AF_INET, '127.0.0.1', 70000), { pyType: 'OverflowError', message: 'port must be 0-65535' });
  t.throws(() => b.bind!(x, AF_INET, 'not an ip', 0), { message: 'illegal IPv4 address string' });
  t.throws(() => b.bind!(x, AF_INET, '127.0.0.1\0junk', 0), { message: 'illegal IPv4 address string' });
  t.throws(() => b.bind!(x, AF_INET6, '::1%', 0), { message: 'illegal IPv6 address string' });
  t.throws(() => b.bind!(x, AF_INET6, '::1%99999999999', 0), { message: 'IPv6 scope id out of range' });
  t.throws(() => b.bind!(x, AF_INET6, '::1%no-such-if0', 0), { message: 'unknown IPv6 zone' });
  t.throws(() => b.bind!(x, AF_INET, 5, 0), TypeError);
  t.throws(() => b.bind!(x, AF_UNIX, 5, 0), TypeError);
  t.throws(() => b.bind!(x, AF_UNIX, '\0\u0100', 0), { message: 'abstract AF_UNIX name must be Latin-1' });
  t.throws(() => b.bind!(x, 12345, 'x', 0), { errno: E.EAFNOSUPPORT, syscall: 'bind', message: msg(E.EAFNOSUPPORT!) });
  t.throws(() => b.connect!(x, AF_INET, '::1', 1), { message: 'illegal IPv4 address string' });
  t.throws(() => b.setsockopt_int!(x, SOL_SOCKET, SO_REUSEADDR, 2 ** 40), { pyType: 'OverflowError', message: 'value must be an integer' });
  t.throws(() => b.socket!(AF_INET, SOCK_STREAM, 'x'), TypeError);
  t.throws(() => b.accept!(), TypeError);
  t.throws(() => b.getsockname!(2 ** 31), { pyType: 'OverflowError', message: 'file descriptor is too large' });
  t.throws(() => b.shutdown!(x, NaN), TypeError);
  binding.close(x);
  binding.close(y);
  t.throws(() => b.getpeername!(x), { errno: E.EBADF, syscall: 'getpeername', message: msg(E.EBADF!) });
  t.pass('still alive');
});

// Issue 17, defect 2: a failed fromfd() closes the duplicate it made.
t.test('fromfd() that fails leaks no descriptor', async (t) => {
  const [r, w] = os.pipe();
  const before = fdCount();
  for (let i = 0; i < 100; i++) {
    // -1 asks the kernel for the family: a pipe is ENOTSOCK.
    t.throws(() => socket.fromfd(r, -1, -1, -1), { name: 'OSError', errno: E.ENOTSOCK });
    t.throws(() => socket.fromfd(r, AF_UNIX, bad('x')), TypeError);
  }
  t.equal(fdCount(), before, '100 failed calls leave the descriptor count as it was');
  os.close(r);
  os.close(w);
});

// Issue 17, defect 4: Python's `host, port = address` stops at the third
// item; a huge or endless address fails at once instead of being copied.
t.test('createConnection(address) never copies a huge address', async (t) => {
  const huge = new Array(2 ** 32 - 1);
  let start = performance.now();
  t.throws(() => createConnection(bad(huge)), { name: 'ValueError', message: 'too many values to unpack (expected 2)' });
  t.ok(performance.now() - start < 1000, `a length 2**32-1 array fails at once (${(performance.now() - start).toFixed(1)} ms)`);
  let gets = 0;
  const lying = new Proxy(['127.0.0.1', 1], {
    get(target, key, recv) {
      if (key === 'length') return 2 ** 32 - 1;
      gets++;
      return Reflect.get(target, key, recv);
    },
  });
  start = performance.now();
  t.throws(() => createConnection(bad(lying)), { name: 'ValueError', message: 'too many values to unpack (expected 2)' });
  t.ok(gets < 20, `a Proxy reporting a huge length is read only a few times (${gets} gets)`);
  t.throws(() => createConnection(bad(['127.0.0.1'])), { name: 'ValueError', message: 'not enough values to unpack (expected 2, got 1)' });
  t.throws(() => createConnection(bad(5)), { name: 'TypeError', message: 'cannot unpack non-iterable int object' });
});
