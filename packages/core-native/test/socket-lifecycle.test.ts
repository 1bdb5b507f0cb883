// A socket's state and lifetime (src/socket/ over native/socket.cc), on real
// sockets: non-blocking mode, connect_ex, refused connections, shutdown and
// EPIPE, socket options, close-on-exec, use after close, detach/fromfd and
// disposal. Expected messages are CPython 3.11's (checked with python3).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import {
  os, socket, Socket, socketpair, createServer, createConnection, errnoConstants as E, BlockingIOError,
  BrokenPipeError, ConnectionRefusedError,
} from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectUntil } from '../../../test/support/gc.js';
import { expectNoSigpipeThenControl, watchSigpipe } from '../../../test/support/sigpipe.js';
import { caught } from '../../../test/support/caught.js';
import { msg, isOpen, bad, waitWritable, tcpTrio } from './socket-support.js';

checkNoFdLeak(t);

const {
  AF_INET, AF_UNIX, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT, SO_ERROR, SO_KEEPALIVE, SO_RCVBUF,
  IPPROTO_TCP, TCP_NODELAY, SHUT_WR, SHUT_RDWR,
} = socket;

t.test('non-blocking sockets: BlockingIOError (EAGAIN), as Python', async (t) => {
  const [a, b] = socketpair();
  a.setblocking(false);
  t.equal(a.getblocking(), false);
  t.equal(a.gettimeout(), 0);
  t.equal(os.getBlocking(a.fileno()), false, 'O_NONBLOCK is set on the descriptor');
  t.throws(() => a.recv(10), { name: 'BlockingIOError', errno: E.EAGAIN, code: 'EAGAIN', message: msg(E.EAGAIN!) });
  t.throws(() => a.recvInto(new Uint8Array(4)), BlockingIOError);
  t.equal(a.recv(0).length, 0, 'recv(0) returns at once, as CPython');
  t.equal(a.recvInto(new Uint8Array(0)), 0, 'so does recvInto of an empty buffer');
  b.send(Buffer.from('x'));
  t.equal(a.recv(10).toString(), 'x');
  a.setblocking(true);
  t.equal(a.getblocking(), true);
  t.equal(a.gettimeout(), null);
  t.equal(os.getBlocking(a.fileno()), true);
  a.setblocking(0 as unknown as boolean);
  t.equal(a.getblocking(), false, 'an int works as in Python');
  a.close();
  b.close();

  const srv = createServer(['127.0.0.1', 0]);
  srv.setblocking(false);
  t.throws(() => srv.accept(), { name: 'BlockingIOError', errno: E.EAGAIN });
  srv.close();

  if (socket.SOCK_NONBLOCK !== undefined) {
    const s = new Socket(AF_INET, SOCK_STREAM | socket.SOCK_NONBLOCK);
    t.equal(s.gettimeout(), 0, 'SOCK_NONBLOCK makes a non-blocking socket');
    t.equal(s.type, SOCK_STREAM, 'type hides SOCK_NONBLOCK, as Python 3.7+');
    t.equal(os.getBlocking(s.fileno()), false);
    s.close();
  }
});

t.test('connectEx: EINPROGRESS when non-blocking, then SO_ERROR 0', async (t) => {
  const srv = createServer(['127.0.0.1', 0]);
  const addr = srv.getsockname() as [string, number];
  const c = new Socket();
  c.setblocking(false);
  t.equal(c.connectEx(addr), E.EINPROGRESS, 'a non-blocking connect is in progress');
  t.ok(waitWritable(c.fileno(), 5000), 'becomes writable once connected');
  t.equal(c.getsockopt(SOL_SOCKET, SO_ERROR), 0, 'no pending error');
  // Linux reports the completed connection to the next connect() once, then
  // EISCONN (CPython sees the same).
  t.equal(c.connectEx(addr), 0, 'the pending connection completed');
  t.throws(() => c.connect(addr), { name: 'OSError', errno: E.EISCONN, message: msg(E.EISCONN!) });
  t.equal(c.connectEx(addr), E.EISCONN);
  const [acc] = srv.accept();
  t.same(acc.getpeername(), c.getsockname());
  acc.close();
  const c2 = new Socket();
  c2.setblocking(false);
  const inprog = caught(t, () => c2.connect(addr));
  t.ok(inprog instanceof BlockingIOError, 'a connection in progress is BlockingIOError');
  t.match(inprog, { errno: E.EINPROGRESS, code: 'EINPROGRESS', message: msg(E.EINPROGRESS!) });
  c2.close();
  c.close();
  srv.close();
});

t.test('ECONNREFUSED: ConnectionRefusedError; connectEx returns the errno', async (t) => {
  // A bound socket that never listens refuses connections, deterministically.
  const holder = new Socket();
  holder.bind(['127.0.0.1', 0]);
  const addr = holder.getsockname() as [string, number];
  const c = new Socket();
  t.throws(() => c.connect(addr), {
    name: 'ConnectionRefusedError', errno: E.ECONNREFUSED, code: 'ECONNREFUSED', message: msg(E.ECONNREFUSED!),
  });
  c.close();
  const c2 = new Socket();
  t.equal(c2.connectEx(addr), E.ECONNREFUSED);
  c2.close();
  const c3 = new Socket();
  c3.setblocking(false);
  const r = c3.connectEx(addr);
  if (r === E.EINPROGRESS) {
    waitWritable(c3.fileno(), 5000);
    t.equal(c3.getsockopt(SOL_SOCKET, SO_ERROR), E.ECONNREFUSED, 'the failure arrives through SO_ERROR');
  } else {
    t.equal(r, E.ECONNREFUSED);
  }
  c3.close();
  t.throws(() => createConnection(addr), ConnectionRefusedError);
  holder.close();
});

t.test('shutdown: the peer reads EOF; writing after SHUT_WR is EPIPE', async (t) => {
  const { cli, acc, close } = tcpTrio(AF_INET, '127.0.0.1');
  cli.sendall(Buffer.from('last words'));
  cli.shutdown(SHUT_WR);
  t.equal(acc.recv(100).toString(), 'last words');
  const eof = acc.recv(100);
  t.ok(Buffer.isBuffer(eof) && eof.length === 0, 'recv returns an empty Buffer at EOF');
  t.equal(acc.recvInto(new Uint8Array(8)), 0);
  t.throws(() => cli.send(Buffer.from('x')), { name: 'BrokenPipeError', errno: E.EPIPE, message: msg(E.EPIPE!) });
  acc.sendall(Buffer.from('still open'));
  t.equal(cli.recv(100).toString(), 'still open', 'the other half stays open');
  acc.shutdown(SHUT_RDWR);
  t.throws(() => acc.shutdown(5), { name: 'OSError', errno: E.EINVAL, message: msg(E.EINVAL!) });
  t.throws(() => acc.shutdown(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  close();
  const lone = new Socket();
  t.throws(() => lone.shutdown(0), { name: 'OSError', errno: E.ENOTCONN, message: msg(E.ENOTCONN!) });
  lone.close();
});

t.test('EPIPE is BrokenPipeError and sends no SIGPIPE', async (t) => {
  const signals = watchSigpipe(t);
  const [a, b] = socketpair();
  b.close();
  t.throws(() => a.send(Buffer.from('x')), { name: 'BrokenPipeError', errno: E.EPIPE });
  t.throws(() => a.sendall(Buffer.alloc(1 << 16)), BrokenPipeError);
  a.close();
  await expectNoSigpipeThenControl(t, signals, 'send');
});

t.test('setsockopt/getsockopt round trips', async (t) => {
  const s = new Socket();
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  t.not(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 0);
  t.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, true);
  t.not(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0, 'a boolean is an int, as in Python');
  s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  t.not(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
  s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 0);
  t.equal(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
  s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
  t.not(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 0);
  const one = new Uint8Array(new Int32Array([1]).buffer);
  s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 0);
  s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, one);
  t.not(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 0, 'a 4-byte buffer holds a native int');
  s.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536);
  t.ok(s.getsockopt(SOL_SOCKET, SO_RCVBUF) >= 65536, 'SO_RCVBUF at least what was asked');
  if (SO_REUSEPORT !== undefined) {
    s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    t.not(s.getsockopt(SOL_SOCKET, SO_REUSEPORT), 0);
  }
  t.equal(s.getsockopt(SOL_SOCKET, SO_ERROR), 0);
  t.throws(() => s.setsockopt(SOL_SOCKET, 9999, 1), { name: 'OSError', errno: E.ENOPROTOOPT, message: msg(E.ENOPROTOOPT!) });
  t.throws(() => s.getsockopt(SOL_SOCKET, 9999), { name: 'OSError', errno: E.ENOPROTOOPT });
  for (const [v, ty] of [['x', 'str'], [null, 'NoneType'], [2 ** 40, 'int'], [1.5, 'float']] as const) {
    t.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, bad(v)),
      { name: 'TypeError', message: `a bytes-like object is required, not '${ty}'` }, `value ${String(v)}`);
  }
  t.throws(() => s.getsockopt(bad('x'), 1), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, new Uint8Array(3)), TypeError);
  s.close();
});

t.test('new descriptors are close-on-exec (socket, accept, socketpair, dup)', async (t) => {
  const { srv, cli, acc, close } = tcpTrio(AF_INET, '127.0.0.1');
  const [a, b] = socketpair();
  const d = a.dup();
  for (const [name, s] of [['socket', cli], ['listening', srv], ['accept', acc], ['socketpair', a],
    ['socketpair 2', b], ['dup', d]] as const) {
    t.equal(os.getInheritable(s.fileno()), false, `${name}: FD_CLOEXEC set`);
    t.equal(s.getInheritable(), false);
  }
  if (process.platform === 'linux') {
    const probe = (fd: number): number | null =>
      spawnSync('/bin/sh', ['-c', `test -e /proc/$$/fd/${fd}`], { stdio: 'ignore' }).status;
    t.equal(probe(cli.fileno()), 1, 'a child process does not get the socket');
    cli.setInheritable(true);
    t.equal(cli.getInheritable(), true);
    t.equal(probe(cli.fileno()), 0, 'control: once inheritable, the child gets it');
  }
  d.close();
  a.close();
  b.close();
  close();
});

t.test('use after close: EBADF as Python; close is idempotent', async (t) => {
  const s = new Socket();
  const fd = s.fileno();
  t.ok(fd >= 0);
  t.equal(s.closed, false);
  s.close();
  t.equal(s.closed, true);
  t.equal(s.fileno(), -1, 'fileno() is -1 after close');
  t.notOk(isOpen(fd), 'the descriptor is closed');
  s.close();
  t.pass('second close is a no-op');
  const ebadf = { name: 'OSError', errno: E.EBADF, code: 'EBADF', message: msg(E.EBADF!) };
  t.equal(msg(E.EBADF!), '[Errno 9] Bad file descriptor', "Python's text");
  t.throws(() => s.recv(1), ebadf);
  t.throws(() => s.recvInto(new Uint8Array(1)), ebadf);
  t.throws(() => s.send(Buffer.from('x')), ebadf);
  t.throws(() => s.sendall(Buffer.from('x')), ebadf);
  t.throws(() => s.bind(['127.0.0.1', 0]), ebadf);
  t.throws(() => s.listen(), ebadf);
  t.throws(() => s.accept(), ebadf);
  t.throws(() => s.connect(['127.0.0.1', 1]), ebadf);
  t.equal(s.connectEx(['127.0.0.1', 1]), E.EBADF, 'connectEx returns EBADF, as Python');
  t.throws(() => s.shutdown(0), ebadf);
  t.throws(() => s.getsockname(), ebadf);
  t.throws(() => s.getpeername(), ebadf);
  t.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), ebadf);
  t.throws(() => s.getsockopt(SOL_SOCKET, SO_REUSEADDR), ebadf);
  t.throws(() => s.setblocking(false), ebadf);
  t.throws(() => s.settimeout(1), ebadf);
  t.throws(() => s.dup(), ebadf);
  t.throws(() => s.getInheritable(), ebadf);
  t.equal(s.detach(), -1, 'detach after close is -1');
  t.throws(() => s.recv(-1), { name: 'ValueError' }, 'argument errors come first, as in Python');
  t.match(String(s), /^<socket\.socket \[closed\] fd=-1, family=\d+, type=\d+, proto=0>$/);
});

t.test('detach gives the descriptor away; fileno wraps it again', async (t) => {
  const [a, b] = socketpair();
  const fd = a.detach();
  t.equal(a.closed, true);
  t.equal(a.fileno(), -1);
  t.ok(isOpen(fd), 'detach does not close');
  const w = new Socket(undefined, undefined, undefined, fd);
  t.equal(w.family, AF_UNIX, 'family read from the descriptor');
  t.equal(w.type, SOCK_STREAM, 'type read from the descriptor');
  w.sendall(Buffer.from('again'));
  t.equal(b.recv(10).toString(), 'again');
  const w2 = new Socket({ fileno: os.dup(b.fileno()) });
  t.equal(w2.family, AF_UNIX, 'options-object form');
  w2.close();
  w.close();
  t.notOk(isOpen(fd), 'the new owner closed it');
  b.close();
  const [orig, other] = socketpair();
  const f = socket.fromfd(orig.fileno(), AF_UNIX, SOCK_STREAM);
  t.not(f.fileno(), orig.fileno(), 'fromfd duplicates');
  t.equal(os.getInheritable(f.fileno()), false);
  f.sendall(Buffer.from('dup'));
  t.equal(other.recv(10).toString(), 'dup', 'the duplicate is the same socket');
  f.close();
  t.ok(isOpen(orig.fileno()), 'fromfd leaves the original open');
  orig.close();
  other.close();
  t.throws(() => new Socket(undefined, undefined, undefined, -5), { name: 'ValueError', message: 'negative file descriptor' });
  t.throws(() => new Socket(undefined, undefined, undefined, bad('x')), TypeError);
  const [r, wfd] = os.pipe();
  t.throws(() => new Socket(undefined, undefined, undefined, r), { name: 'OSError', errno: E.ENOTSOCK, message: msg(E.ENOTSOCK!) });
  os.close(r);
  os.close(wfd);
  t.throws(() => new Socket(undefined, undefined, undefined, r), { name: 'OSError', errno: E.EBADF }, 'a closed descriptor');
});

t.test('Symbol.dispose closes; the garbage collector closes an abandoned socket', async (t) => {
  let fd = -1;
  {
    using s = new Socket();
    fd = s.fileno();
    t.ok(isOpen(fd));
  }
  t.notOk(isOpen(fd), 'closed at the end of the using block');
  const fds: number[] = [];
  (() => {
    for (let i = 0; i < 10; i++) fds.push(new Socket().fileno());
  })();
  t.ok(fds.every(isOpen));
  await collectUntil(() => fds.every((n) => !isOpen(n)));
  t.pass('every abandoned socket was closed');
});
