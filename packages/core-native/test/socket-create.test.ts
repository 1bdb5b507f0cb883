// socket.create_server and socket.create_connection (src/socket/ over
// native/socket.cc), on loopback IPv4, IPv6 and AF_UNIX. Expected messages
// are CPython 3.11's (checked with python3).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  os, socket, Socket, createServer, createConnection, gaierror, errnoConstants as E, OSError, ConnectionRefusedError,
} from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { caught } from '../../../test/support/caught.js';
import { bad, NO_V6, makeTmpRoot } from './socket-support.js';

checkNoFdLeak(t);

const {
  AF_INET6, AF_UNIX, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT, IPPROTO_TCP, IPPROTO_IPV6, IPV6_V6ONLY,
} = socket;

const tmpRoot = makeTmpRoot(t);

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
