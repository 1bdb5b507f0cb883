// The socket primitives (src/socket/ over native/socket.cc), on real
// sockets: constants, and loopback TCP over IPv4 and IPv6, UDP, AF_UNIX stream
// and datagram, socketpair. Expected messages are CPython 3.11's (checked
// with python3); errno texts come from the C library through os.strerror.
// The other socket*.test.ts files test the rest, by concern.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  binding, os, socket, Socket, socketpair, createServer, errnoConstants as E, OSError, TimeoutError,
} from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { msg, bad, tcpTrio, NO_V6, makeTmpRoot } from './socket-support.js';

checkNoFdLeak(t);

const { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_TYPE, MSG_PEEK, MSG_DONTWAIT } = socket;

const tmpRoot = makeTmpRoot(t);

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
