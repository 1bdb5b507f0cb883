// Hostile input, os and socket: every bad argument and a closed Socket,
// with CPython 3.11's error class and message (hostile-input-support.ts).
import t from 'tap';
import * as select from '@iomux/select';
import { os, socket, Socket, OSError, ValueError, OverflowError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import {
  bad,
  bad1,
  closedPipe,
  withPipe,
  NEG,
  TOO_BIG_INT,
  EBADF,
  EBADF_MSG,
} from './hostile-input-support.js';

checkNoFdLeak(t);

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

