// The socket primitives (src/socket/ over native/socket.cc), on real
// sockets: loopback TCP over IPv4 and IPv6, UDP, AF_UNIX stream and datagram,
// socketpair. Expected messages are CPython 3.11's (checked with python3);
// errno texts come from the C library through os.strerror.
import t from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import {
  binding, os, socket, Socket, socketpair, createServer, createConnection, gaierror,
  errnoConstants as E, selectConstants, OSError, ValueError, OverflowError, BlockingIOError,
  BrokenPipeError, ConnectionRefusedError, TimeoutError,
} from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { collectUntil } from '../../../test/support/gc.js';
import { expectNoSigpipeThenControl, watchSigpipe } from '../../../test/support/sigpipe.js';
import { caught } from '../../../test/support/caught.js';

checkNoFdLeak(t);

const {
  AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT,
  SO_ERROR, SO_KEEPALIVE, SO_RCVBUF, SO_TYPE, IPPROTO_TCP, IPPROTO_IPV6, IPV6_V6ONLY, TCP_NODELAY,
  SHUT_WR, SHUT_RDWR, MSG_PEEK, MSG_DONTWAIT,
} = socket;

/** Python's OSError text for an errno: `[Errno 9] Bad file descriptor`. */
const msg = (errno: number): string => `[Errno ${errno}] ${os.strerror(errno)}`;
const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);
const bad = (x: unknown): any => x;

/** poll(2) one descriptor for POLLOUT through the binding; true if ready. */
function waitWritable(fd: number, ms: number): boolean {
  const fds = new Int32Array(2);
  fds[0] = fd;
  new Int16Array(fds.buffer)[2] = selectConstants.POLLOUT!;
  return binding.poll(fds, 1, ms, new Int32Array(2)) > 0;
}

/** A listening server, a connected client and the accepted peer. */
function tcpTrio(family: number, host: string): { srv: Socket; cli: Socket; acc: Socket; close(): void } {
  const srv = createServer([host, 0], { family });
  const cli = new Socket(family, SOCK_STREAM);
  cli.connect(srv.getsockname() as [string, number]);
  const [acc] = srv.accept();
  return {
    srv, cli, acc,
    close() {
      acc.close();
      cli.close();
      srv.close();
    },
  };
}

function ipv6Available(): boolean {
  try {
    const s = new Socket(AF_INET6, SOCK_STREAM);
    try {
      s.bind(['::1', 0]);
      return true;
    } finally {
      s.close();
    }
  } catch {
    return false;
  }
}
const HAVE_V6 = ipv6Available();
const NO_V6 = HAVE_V6 ? false : 'IPv6 loopback (::1) is not available on this machine';

const tmpRoot = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-sock-'));
t.teardown(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

t.test('constants come from the platform and match what the kernel reports', async (t) => {
  for (const name of ['AF_INET', 'AF_INET6', 'AF_UNIX', 'SOCK_STREAM', 'SOCK_DGRAM', 'SOL_SOCKET',
    'SO_REUSEADDR', 'SO_ERROR', 'SO_KEEPALIVE', 'SO_RCVBUF', 'SO_SNDBUF', 'IPPROTO_TCP', 'TCP_NODELAY',
    'SHUT_RD', 'SHUT_WR', 'SHUT_RDWR', 'MSG_PEEK', 'SOMAXCONN'] as const) {
    t.ok(Number.isInteger(socket[name]), `${name} is an integer`);
  }
  t.not(AF_INET, AF_INET6);
  t.not(SOCK_STREAM, SOCK_DGRAM);
  for (const [fam, typ] of [[AF_INET, SOCK_STREAM], [AF_INET, SOCK_DGRAM], [AF_UNIX, SOCK_STREAM]] as const) {
    const s = new Socket(fam, typ);
    t.equal(s.getsockopt(SOL_SOCKET, SO_TYPE), typ, 'SO_TYPE is the type asked for');
    if (socket.SO_DOMAIN !== undefined) t.equal(s.getsockopt(SOL_SOCKET, socket.SO_DOMAIN), fam);
    t.equal(s.family, fam);
    t.equal(s.type, typ);
    s.close();
  }
  t.equal(socket.error, OSError, 'socket.error is OSError');
  t.equal(socket.timeout, TimeoutError, 'socket.timeout is TimeoutError');
});

t.test('TCP over IPv4: connect, accept, send, recv, addresses', async (t) => {
  const { srv, cli, acc, close } = tcpTrio(AF_INET, '127.0.0.1');
  const local = srv.getsockname();
  t.ok(Array.isArray(local) && local.length === 2, 'AF_INET address is a pair');
  const [host, port] = local as [string, number];
  t.equal(host, '127.0.0.1');
  t.ok(port > 0 && port <= 65535, 'a real port was assigned');
  t.same(cli.getpeername(), local, "client's peer is the server");
  t.same(acc.getsockname(), local);
  t.same(acc.getpeername(), cli.getsockname(), "accepted peer is the client's address");
  t.equal(cli.send(Buffer.from('hello')), 5);
  t.equal(acc.recv(100).toString(), 'hello');
  acc.sendall(new Uint8Array([1, 2, 3]));
  const into = new Uint8Array(10);
  t.equal(cli.recvInto(into), 3);
  t.same(Array.from(into.subarray(0, 3)), [1, 2, 3]);
  t.equal(acc.family, AF_INET);
  t.equal(acc.type, SOCK_STREAM);
  t.equal(acc.gettimeout(), null, 'accepted socket blocks');
  t.ok(os.getBlocking(acc.fileno()));
  close();
});

t.test('TCP over IPv6 on ::1', { skip: NO_V6 }, async (t) => {
  const { srv, cli, acc, close } = tcpTrio(AF_INET6, '::1');
  const local = srv.getsockname() as [string, number, number, number];
  t.equal(local.length, 4, 'AF_INET6 address is a 4-tuple');
  t.equal(local[0], '::1');
  t.ok(local[1] > 0);
  t.equal(local[2], 0, 'flowinfo');
  t.equal(local[3], 0, 'scope id');
  t.same(cli.getpeername(), local);
  t.same(acc.getpeername(), cli.getsockname());
  cli.sendall(Buffer.from('over v6'));
  t.equal(acc.recv(64).toString(), 'over v6');
  t.equal(acc.family, AF_INET6);
  close();
  // The 2-tuple form connects too, and flowinfo/scope id may be passed.
  const s2 = createServer(['::1', 0], { family: AF_INET6 });
  const c2 = new Socket(AF_INET6);
  c2.connect(['::1', (s2.getsockname() as [string, number])[1], 0, 0]);
  const [a2, addr2] = s2.accept();
  t.equal((addr2 as unknown[]).length, 4);
  a2.close();
  c2.close();
  s2.close();
});

t.test('AF_UNIX stream on a path', async (t) => {
  const p = path.join(tmpRoot, 'stream.sock');
  const srv = new Socket(AF_UNIX, SOCK_STREAM);
  srv.bind(p);
  srv.listen();
  t.equal(srv.getsockname(), p, 'a path name comes back as the string');
  t.ok(fs.statSync(p).isSocket(), 'bind created the socket file');
  const cli = new Socket(AF_UNIX);
  cli.connect(p);
  const [acc, addr] = srv.accept();
  t.equal(addr, '', 'an unbound client has an empty address');
  t.equal(cli.getpeername(), p);
  t.equal(cli.getsockname(), '');
  cli.sendall(Buffer.from('unix'));
  t.equal(acc.recv(10).toString(), 'unix');
  acc.close();
  cli.close();
  srv.close();
  fs.unlinkSync(p);
  const again = new Socket(AF_UNIX);
  t.throws(() => again.connect(p), { name: 'FileNotFoundError', errno: E.ENOENT, message: msg(E.ENOENT!) });
  t.equal(again.connectEx(p), E.ENOENT, 'connectEx returns the errno');
  again.close();
});

t.test('AF_UNIX path length: Python\'s limits, no overflow', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'l'));
  const max = process.platform === 'linux' ? 108 : 104;
  const fill = (n: number): string => path.join(dir, 'x'.repeat(n - dir.length - 1));
  const ok = fill(max - 1);
  t.equal(Buffer.byteLength(ok), max - 1);
  const s = new Socket(AF_UNIX);
  s.bind(ok);
  t.equal(s.getsockname(), ok, 'the longest path that fits round-trips');
  s.close();
  for (const n of [max, max + 1, 4096]) {
    const s2 = new Socket(AF_UNIX);
    t.throws(() => s2.bind(fill(n)), { name: 'OSError', message: 'AF_UNIX path too long' }, `${n} bytes`);
    t.throws(() => s2.connect(fill(n)), { name: 'OSError', message: 'AF_UNIX path too long' });
    s2.close();
  }
  // Multi-byte characters count as their UTF-8 bytes.
  const s3 = new Socket(AF_UNIX);
  t.throws(() => s3.bind(path.join(dir, 'é'.repeat(60))), { message: 'AF_UNIX path too long' });
  s3.close();
  t.throws(() => binding.bind(0, AF_UNIX, '/'.repeat(200), 0), { message: 'AF_UNIX path too long' },
    'the binding checks the length itself');
});

t.test('AF_UNIX abstract names (Linux)', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const srv = new Socket(AF_UNIX);
  srv.bind('');
  const name = srv.getsockname();
  t.ok(Buffer.isBuffer(name), 'an abstract name is bytes, as in Python');
  t.equal((name as Buffer)[0], 0, 'it starts with a NUL byte');
  t.ok((name as Buffer).length > 1, 'autobind chose a name');
  srv.listen();
  const cli = new Socket(AF_UNIX);
  cli.connect(name);
  const [acc] = srv.accept();
  cli.sendall(Buffer.from('abstract'));
  t.equal(acc.recv(20).toString(), 'abstract');
  acc.close();
  cli.close();
  srv.close();
  const named = '\0iomux-test-' + process.pid + '-é';
  const s2 = new Socket(AF_UNIX);
  s2.bind(named);
  t.same(s2.getsockname(), Buffer.from(named, 'utf8'), 'a chosen abstract name round-trips as bytes');
  s2.close();
});

t.test('socketpair', async (t) => {
  const [a, b] = socketpair();
  t.equal(a.family, AF_UNIX, 'AF_UNIX by default');
  t.equal(a.type, SOCK_STREAM);
  t.equal(a.getsockname(), '');
  t.equal(b.getpeername(), '');
  a.sendall(Buffer.from('ping'));
  t.equal(b.recv(10).toString(), 'ping');
  b.sendall(Buffer.from('pong'));
  t.equal(a.recv(10).toString(), 'pong');
  a.close();
  t.equal(b.recv(10).length, 0, 'EOF once the other end closes');
  b.close();
  const [d1, d2] = socketpair(AF_UNIX, SOCK_DGRAM);
  t.equal(d1.type, SOCK_DGRAM);
  d1.send(Buffer.from('one'));
  d1.send(Buffer.from('two'));
  t.equal(d2.recv(100).toString(), 'one', 'datagram boundaries are kept');
  t.equal(d2.recv(100).toString(), 'two');
  d1.close();
  d2.close();
  t.throws(() => socketpair(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  if (process.platform === 'linux') {
    t.throws(() => socketpair(AF_INET), { name: 'OSError', errno: E.EOPNOTSUPP, message: msg(E.EOPNOTSUPP!) });
  }
});

t.test('UDP datagrams over IPv4', async (t) => {
  const srv = new Socket(AF_INET, SOCK_DGRAM);
  srv.bind(['127.0.0.1', 0]);
  const cli = new Socket(AF_INET, SOCK_DGRAM);
  cli.connect(srv.getsockname() as [string, number]);
  t.equal(cli.send(Buffer.from('hello world')), 11);
  t.equal(srv.recv(5).toString(), 'hello', 'a short recv truncates the datagram');
  t.equal(cli.send(Buffer.alloc(0)), 0);
  t.equal(srv.recv(5).length, 0, 'an empty datagram is an empty Buffer');
  cli.send(Buffer.from('peek'));
  t.equal(srv.recv(10, MSG_PEEK).toString(), 'peek', 'MSG_PEEK leaves it queued');
  t.equal(srv.recv(10).toString(), 'peek');
  if (MSG_DONTWAIT !== undefined) {
    t.throws(() => srv.recv(10, MSG_DONTWAIT), { name: 'BlockingIOError', errno: E.EAGAIN });
  }
  cli.close();
  srv.close();
});

t.test('UDP datagrams over IPv6', { skip: NO_V6 }, async (t) => {
  const srv = new Socket(AF_INET6, SOCK_DGRAM);
  srv.bind(['::1', 0]);
  const cli = new Socket(AF_INET6, SOCK_DGRAM);
  cli.connect(srv.getsockname() as [string, number]);
  cli.send(Buffer.from('v6 datagram'));
  t.equal(srv.recv(100).toString(), 'v6 datagram');
  cli.close();
  srv.close();
});

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

t.test('timeouts: settimeout, TimeoutError, default timeout', async (t) => {
  const [a, b] = socketpair();
  a.settimeout(0.05);
  t.equal(a.gettimeout(), 0.05);
  t.equal(a.getblocking(), true, 'getblocking() is gettimeout() != 0');
  t.equal(os.getBlocking(a.fileno()), false, 'the descriptor is non-blocking underneath');
  const t0 = performance.now();
  t.throws(() => a.recv(10), { name: 'TimeoutError', message: 'timed out' });
  const waited = performance.now() - t0;
  t.ok(waited >= 49, `waited the timeout (${waited.toFixed(1)} ms), never less`);
  b.send(Buffer.from('in time'));
  t.equal(a.recv(10).toString(), 'in time', 'data within the timeout is received');
  a.settimeout(null);
  t.equal(a.gettimeout(), null);
  t.equal(os.getBlocking(a.fileno()), true);
  a.settimeout(0);
  t.equal(a.getblocking(), false);
  t.throws(() => a.settimeout(-1), { name: 'ValueError', message: 'Timeout value out of range' });
  t.throws(() => a.settimeout(NaN), { name: 'ValueError', message: 'Invalid value NaN (not a number)' });
  t.throws(() => a.settimeout(Infinity), { name: 'OverflowError', message: 'timestamp out of range for platform time_t' });
  t.throws(() => a.settimeout(1e300), OverflowError);
  t.throws(() => a.settimeout(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => bad(a).settimeout(), { name: 'TypeError' });
  t.throws(() => a.setblocking(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => a.setblocking(bad(null)), { name: 'TypeError', message: "'NoneType' object cannot be interpreted as an integer" });
  a.close();
  b.close();

  const srv = createServer(['127.0.0.1', 0]);
  srv.settimeout(0.03);
  t.throws(() => srv.accept(), { name: 'TimeoutError', message: 'timed out' });
  const c = createConnection(srv.getsockname() as [string, number]);
  const [acc] = srv.accept();
  t.equal(acc.gettimeout(), null, 'bpo-7995: accepted socket blocks despite the listener timeout');
  t.equal(os.getBlocking(acc.fileno()), true);
  acc.close();
  c.close();
  srv.close();

  t.equal(socket.getdefaulttimeout(), null);
  socket.setdefaulttimeout(2.5);
  try {
    const s = new Socket();
    t.equal(s.gettimeout(), 2.5, 'new sockets take the default timeout');
    t.equal(os.getBlocking(s.fileno()), false);
    s.close();
    t.throws(() => socket.setdefaulttimeout(-1), { name: 'ValueError', message: 'Timeout value out of range' });
  } finally {
    socket.setdefaulttimeout(null);
  }
  const s2 = new Socket();
  t.equal(s2.gettimeout(), null);
  s2.close();
});

t.test('a socket with a timeout still connects, sends and receives', async (t) => {
  const srv = createServer(['127.0.0.1', 0]);
  const c = new Socket();
  c.settimeout(5);
  c.connect(srv.getsockname() as [string, number]);
  const [acc] = srv.accept();
  c.sendall(Buffer.from('timed'));
  t.equal(acc.recv(10).toString(), 'timed');
  acc.sendall(Buffer.from('reply'));
  t.equal(c.recv(10).toString(), 'reply');
  acc.close();
  c.close();
  srv.close();
});

t.test('createServer', async (t) => {
  const srv = createServer(['127.0.0.1', 0]);
  t.not(srv.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0, 'SO_REUSEADDR is on by default (POSIX)');
  t.equal(srv.type, SOCK_STREAM);
  const addr = srv.getsockname() as [string, number];
  const c = createConnection(addr);
  const [acc, peer] = srv.accept();
  t.same(peer, c.getsockname());
  acc.close();
  c.close();
  // A second server on the same port fails, naming the address.
  t.throws(() => createServer(addr), {
    name: 'OSError',
    errno: E.EADDRINUSE,
    message: `[Errno ${E.EADDRINUSE}] ${os.strerror(E.EADDRINUSE!)} (while attempting to bind on address ('127.0.0.1', ${addr[1]}))`,
  });
  srv.close();
  const s2 = createServer(['', 0], { backlog: 1 });
  t.equal((s2.getsockname() as [string, number])[0], '0.0.0.0', "'' is INADDR_ANY");
  s2.close();
  if (SO_REUSEPORT !== undefined) {
    const r1 = createServer(['127.0.0.1', 0], { reusePort: true });
    t.not(r1.getsockopt(SOL_SOCKET, SO_REUSEPORT), 0);
    const r2 = createServer(r1.getsockname() as [string, number], { reusePort: true });
    t.same(r2.getsockname(), r1.getsockname(), 'SO_REUSEPORT lets two servers share the port');
    r2.close();
    r1.close();
  }
  t.throws(() => createServer(['127.0.0.1', 0], { dualstackIpv6: true }),
    { name: 'ValueError', message: 'dualstack_ipv6 requires AF_INET6 family' });
  t.throws(() => createServer(['127.0.0.1', 0], { family: AF_UNIX }),
    { name: 'TypeError', message: "a bytes-like object is required, not 'tuple'" });
  const p = path.join(tmpRoot, 'server.sock');
  const u = createServer(p, { family: AF_UNIX });
  t.equal(u.getsockname(), p);
  u.close();
  fs.unlinkSync(p);
  const gaiBind = caught(t, () => createServer(['nonexist.invalid', 0]));
  t.ok(gaiBind instanceof OSError);
  t.match(gaiBind.message, /\(while attempting to bind on address \('nonexist\.invalid', 0\)\)$/);
});

t.test('createServer over IPv6 and dual-stack', { skip: NO_V6 }, async (t) => {
  const v6 = createServer(['::1', 0], { family: AF_INET6 });
  t.equal(v6.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY!), 1, 'IPV6_V6ONLY set unless dual-stack');
  v6.close();
  if (!socket.hasDualstackIpv6()) return;
  const ds = createServer(['', 0], { family: AF_INET6, dualstackIpv6: true });
  t.equal(ds.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY!), 0);
  const port = (ds.getsockname() as [string, number])[1];
  const c4 = createConnection(['127.0.0.1', port]);
  const [a4, addr4] = ds.accept();
  t.match((addr4 as [string, number])[0], /^::ffff:127\.0\.0\.1$/, 'an IPv4 client arrives as a mapped address');
  a4.close();
  c4.close();
  const c6 = createConnection(['::1', port]);
  const [a6] = ds.accept();
  t.equal(c6.family, AF_INET6);
  a6.close();
  c6.close();
  ds.close();
});

t.test('createConnection', async (t) => {
  const srv = createServer(['127.0.0.1', 0]);
  const [, port] = srv.getsockname() as [string, number];
  const accept = (): void => srv.accept()[0].close();

  const c1 = createConnection(['127.0.0.1', port]);
  t.equal(c1.gettimeout(), null, 'no timeout: blocking');
  t.equal(c1.proto, IPPROTO_TCP);
  t.same(c1.getpeername(), ['127.0.0.1', port]);
  accept();
  c1.close();

  const c2 = createConnection(['127.0.0.1', port], 5);
  t.equal(c2.gettimeout(), 5, 'the socket keeps the timeout, as Python');
  accept();
  c2.close();

  const c3 = createConnection(['localhost', String(port)], { timeout: null });
  t.same(c3.getpeername(), ['127.0.0.1', port], 'localhost and a numeric port string');
  accept();
  c3.close();

  // A port the kernel just handed out (and took back) is free to bind,
  // unless another process's connect() takes it first (the other test files
  // run in parallel): then try another, a bounded number of times.
  let c4: Socket | null = null;
  let srcPort = 0;
  for (let attempt = 0; c4 === null && attempt < 20; attempt++) {
    const probe = new Socket();
    probe.bind(['127.0.0.1', 0]);
    srcPort = (probe.getsockname() as [string, number])[1];
    probe.close();
    try {
      c4 = createConnection(['127.0.0.1', port], { sourceAddress: ['127.0.0.1', srcPort] });
    } catch (e) {
      if ((e as OSError).errno !== E.EADDRINUSE) throw e;
    }
  }
  if (c4 === null) throw new Error('no free source port in 20 tries');
  t.same(c4.getsockname(), ['127.0.0.1', srcPort], 'bound to the source address first');
  accept();
  c4.close();

  const holder = new Socket();
  holder.bind(['127.0.0.1', 0]);
  const refused = holder.getsockname() as [string, number];
  t.throws(() => createConnection(refused), { name: 'ConnectionRefusedError', errno: E.ECONNREFUSED });
  const all = caught(t, () => createConnection(refused, { allErrors: true }));
  t.ok(all instanceof AggregateError, 'allErrors: an AggregateError (Python\'s ExceptionGroup)');
  t.equal(all.message, 'create_connection failed');
  t.equal(all.errors.length, 1);
  t.ok(all.errors[0] instanceof ConnectionRefusedError);
  holder.close();

  t.throws(() => createConnection(bad('x')), { name: 'ValueError', message: 'not enough values to unpack (expected 2, got 1)' });
  t.throws(() => createConnection(bad(['127.0.0.1'])), { name: 'ValueError', message: 'not enough values to unpack (expected 2, got 1)' });
  t.throws(() => createConnection(bad(['127.0.0.1', 1, 2])), { name: 'ValueError', message: 'too many values to unpack (expected 2)' });
  t.throws(() => createConnection(bad(5)), { name: 'TypeError', message: 'cannot unpack non-iterable int object' });
  t.throws(() => createConnection(['127.0.0.1', 'x']), { name: 'gaierror', errno: socket.EAI_SERVICE });
  const noname = caught(t, () => createConnection(['nonexist.invalid', port]));
  t.ok(noname instanceof gaierror && noname instanceof OSError, 'gaierror is an OSError');
  t.equal(noname.errno, socket.EAI_NONAME);
  t.throws(() => createConnection(['', port]), gaierror);
  t.throws(() => createConnection(['127.0.0.1', port], -1), { name: 'ValueError', message: 'Timeout value out of range' });
  t.throws(() => createConnection(['127.0.0.1', port], bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => createConnection(['127.0.0.1', 70000]), { name: 'OverflowError', message: 'connect(): port must be 0-65535.' });
  srv.close();
});

const readerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { os } = require(workerData.core);
  const hash = require('node:crypto').createHash('sha256');
  let total = 0, reads = 0;
  parentPort.postMessage({ ready: true });
  for (;;) {
    const chunk = os.read(workerData.fd, 65536);
    if (chunk.length === 0) break;
    hash.update(chunk);
    total += chunk.length;
    reads++;
  }
  parentPort.postMessage({ total, reads, digest: hash.digest('hex') });
`;

for (const mode of ['blocking', 'with a timeout'] as const) {
  t.test(`sendall (${mode}): 4 MiB through a socketpair to a reader thread draining in chunks`, async (t) => {
    const [a, b] = socketpair();
    const data = crypto.randomBytes(4 << 20);
    const worker = new Worker(readerSource, {
      eval: true,
      workerData: { core: require.resolve('@iomux/core-native'), fd: b.fileno() },
    });
    // events.once() rejects if the worker emits 'error' instead.
    await once(worker, 'message');
    // Listen for the result and the exit before this thread blocks: when
    // the worker's exit is handled before its last message, Node delivers
    // that message and emits 'exit' in one synchronous step, and an 'exit'
    // listener attached only after the message had been awaited would never
    // run (the test then ends unfinished).
    const result = once(worker, 'message') as Promise<[{ total: number; reads: number; digest: string }]>;
    const exited = once(worker, 'exit');
    // The reader runs on its own thread, so this thread may block in send().
    if (mode === 'with a timeout') a.settimeout(60);
    a.sendall(data);
    a.shutdown(SHUT_WR);
    const [got] = await result;
    await exited;
    t.equal(got.total, data.length, 'every byte arrived');
    t.equal(got.digest, crypto.createHash('sha256').update(data).digest('hex'), 'in order, unchanged');
    t.ok(got.reads > 1, `drained in ${got.reads} chunks`);
    a.close();
    b.close();
  });
}

t.test('non-blocking send/recv pump moves 4 MiB in one thread; sendall on a full buffer is BlockingIOError', async (t) => {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  const data = crypto.randomBytes(4 << 20);
  const chunks: Buffer[] = [];
  let sent = 0;
  let received = 0;
  let partial = 0;
  while (received < data.length) {
    while (sent < data.length) {
      let n: number;
      try {
        n = a.send(data.subarray(sent, Math.min(sent + (1 << 20), data.length)));
      } catch (e) {
        if (e instanceof BlockingIOError) break;
        throw e;
      }
      if (n < Math.min(1 << 20, data.length - sent)) partial++;
      sent += n;
    }
    for (;;) {
      let got: Buffer;
      try {
        got = b.recv(1 << 16);
      } catch (e) {
        if (e instanceof BlockingIOError) break;
        throw e;
      }
      chunks.push(got);
      received += got.length;
    }
  }
  t.ok(Buffer.concat(chunks).equals(data), 'the data arrived intact');
  t.ok(partial > 0, `send returned short counts (${partial} times)`);
  t.throws(() => a.sendall(Buffer.alloc(16 << 20)), { name: 'BlockingIOError', errno: E.EAGAIN },
    'a non-blocking sendall throws once the buffer fills, as Python');
  a.close();
  b.close();
});

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
