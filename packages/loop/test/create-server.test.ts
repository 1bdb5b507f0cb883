// create-server.ts and server.ts: loop.createServer on every family (null or
// ''), on a list of hosts, on a socket of your own, and the Server's
// startServing, serveForever, isServing, sockets, getLoop and async
// disposal, on every selector backend. Ports of CPython 3.11
// test_asyncio/test_base_events.py (test_create_server_*), test_events.py
// (test_create_server_dual_stack, _multiple_hosts, _sock, _addr_in_use) and
// test_server.py (test_start_server_1), on 127.0.0.1 and ::1.
import t from 'tap';
import * as net from 'node:net';
import { socket, socketConstants as C, Socket, errnoConstants as E } from '@iomux/core-native';
import { OSError, RuntimeError, ValueError, startServer, openConnection, type EventLoop, type Protocol, type Server, type Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, sleep } from './helpers.js';

checkNoFdLeak(t);

const INET = C.AF_INET!;
const INET6 = C.AF_INET6!;
const STREAM = C.SOCK_STREAM!;

function hasIpv6Loopback(): boolean {
  try {
    using s = new Socket(INET6, STREAM);
    s.bind(['::1', 0]);
    return true;
  } catch {
    return false;
  }
}
const NO_IPV6 = hasIpv6Loopback() ? false : 'needs an IPv6 loopback (::1) to bind';

class Proto implements Protocol {
  transport: Transport | null = null;
  data = '';
  connectionMade(tr: Transport): void {
    this.transport = tr;
  }
  dataReceived(d: Buffer): void {
    this.data += d.toString();
  }
}

/** Connects with Node's net to `host`:`port`, sends 'xxx' and waits until `proto` got it. */
async function poke(loop: EventLoop, host: string, port: number, got: () => string): Promise<void> {
  const c = net.connect(port, host);
  c.on('error', () => {});
  c.write('xxx');
  while (!got().includes('xxx')) await sleep(loop, 0.005);
  c.destroy();
}

async function closeServer(loop: EventLoop, server: Server): Promise<void> {
  server.close();
  await loop.runUntilComplete(server.waitClosed());
}

for (const backend of BACKENDS) {
  t.test(`backend ${backend}`, async (t) => {
    t.test('test_create_server_dual_stack: host null listens on IPv6 (V6ONLY) and IPv4', { skip: NO_IPV6 }, async (t) => {
      const loop = newLoop(t, backend);
      const protos: Proto[] = [];
      const server = await loop.runUntilComplete(loop.createServer(() => {
        const p = new Proto();
        protos.push(p);
        return p;
      }, null, 0));
      const families = server.sockets.map((s) => s.family).sort();
      t.same(families, [INET, INET6].sort());
      for (const s of server.sockets) {
        if (s.family === INET6) t.equal(s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY!), 1, 'IPV6_V6ONLY');
        t.equal((s.getsockname() as [string, number])[0], s.family === INET6 ? '::' : '0.0.0.0');
      }
      await loop.runUntilComplete(async () => {
        for (const s of server.sockets) {
          const [, port] = s.getsockname() as [string, number];
          const n = protos.length;
          await poke(loop, s.family === INET6 ? '::1' : '127.0.0.1', port, () => protos[n]?.data ?? '');
          protos[n]!.transport!.close();
        }
      });
      // '' is every interface too (test_create_server_empty_host).
      const server2 = await loop.runUntilComplete(loop.createServer(() => new Proto(), '', 0));
      t.equal(server2.sockets.length, 2);
      await closeServer(loop, server2);
      await closeServer(loop, server);
    });

    t.test('test_create_server_ipv6: IPv6 only, and a connection to it by family', { skip: NO_IPV6 }, async (t) => {
      const loop = newLoop(t, backend);
      const proto = new Proto();
      const server = await loop.runUntilComplete(loop.createServer(() => proto, '::1', 0));
      t.equal(server.sockets.length, 1);
      t.same(server.address(), { address: '::1', family: 'IPv6', port: server.address()!.port });
      const { port } = server.address()!;
      // Nothing listens on 127.0.0.1 at that port; AF_INET6 finds it by name.
      await t.rejects(loop.runUntilComplete(loop.createConnection(() => new Proto(), '127.0.0.1', port)), { name: 'ConnectionRefusedError' });
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Proto(), null, port, { family: INET6 }));
      t.same(tr.getExtraInfo('peername'), ['::1', port, 0, 0]);
      tr.close();
      await loop.runUntilComplete(sleep(loop, 0.001));
      proto.transport?.close();
      await closeServer(loop, server);
    });

    t.test('test_create_server_multiple_hosts: a list of hosts, duplicates bound once', async (t) => {
      const loop = newLoop(t, backend);
      const hosts = NO_IPV6 ? ['127.0.0.1', 'localhost', '127.0.0.1'] : ['127.0.0.1', '::1', '127.0.0.1'];
      const server = await loop.runUntilComplete(loop.createServer(() => new Proto(), hosts, 0));
      const names = server.sockets.map((s) => (s.getsockname() as [string, number])[0]).sort();
      t.same(names, NO_IPV6 ? ['127.0.0.1'] : ['127.0.0.1', '::1']);
      await closeServer(loop, server);
    });

    t.test('createServer resolves names', async (t) => {
      const loop = newLoop(t, backend);
      const server = await loop.runUntilComplete(loop.createServer(() => new Proto(), 'localhost', 0));
      t.ok(server.sockets.length >= 1);
      t.equal(server.address()!.address, '127.0.0.1');
      await t.rejects(loop.runUntilComplete(loop.createServer(() => new Proto(), 'nonexistent.invalid', 0)), { name: 'gaierror', code: 'EAI_NONAME' });
      await closeServer(loop, server);
    });

    t.test('test_create_server_sock: a socket of your own, or its descriptor', async (t) => {
      const loop = newLoop(t, backend);
      for (const asFd of [false, true]) {
        const sock = new Socket();
        sock.bind(['127.0.0.1', 0]);
        const port = (sock.getsockname() as [string, number])[1];
        const proto = new Proto();
        const server = await loop.runUntilComplete(loop.createServer(() => proto, null, null, { sock: asFd ? sock.detach() : sock }));
        t.equal(server.sockets.length, 1);
        t.equal(server.address()!.port, port);
        t.equal(server.sockets[0]!.gettimeout(), 0, 'made non-blocking');
        await loop.runUntilComplete(poke(loop, '127.0.0.1', port, () => proto.data));
        proto.transport!.close();
        await closeServer(loop, server);
      }
    });

    t.test('test_create_server_host_port_sock, no_host_port_sock, wrong_sock, ssl', async (t) => {
      const loop = newLoop(t, backend);
      using sock = new Socket();
      using dgram = new Socket(INET, C.SOCK_DGRAM!);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.createServer(() => new Proto(), '127.0.0.1', 0, { sock }), new ValueError('host/port and sock can not be specified at the same time'));
        await t.rejects(loop.createServer(() => new Proto()), new ValueError('Neither host/port nor sock were specified'));
        await t.rejects(loop.createServer(() => new Proto(), null, null, { sock: dgram }), { name: 'ValueError', message: /^A Stream Socket was expected, got/ });
        await t.rejects(loop.createServer(() => new Proto(), null, null, { sock: dgram.fileno() }), ValueError);
        t.ok(dgram.getsockname(), 'a refused descriptor stays open');
        await t.rejects(loop.createServer(() => new Proto(), '127.0.0.1', 0, { ssl: true }), new TypeError('ssl argument must be an SSLContext or None'));
        await t.rejects(loop.createServer(() => new Proto(), '127.0.0.1', 0, { ssl: {}, sslHandshakeTimeout: 0 }), new ValueError('ssl_handshake_timeout should be a positive number, got 0'));
      });
    });

    t.test('test_create_server_addr_in_use: the message names the address', async (t) => {
      const loop = newLoop(t, backend);
      const server = await loop.runUntilComplete(loop.createServer(() => new Proto(), '127.0.0.1', 0));
      const { port } = server.address()!;
      await t.rejects(loop.runUntilComplete(loop.createServer(() => new Proto(), '127.0.0.1', port, { reuseAddress: false })), {
        name: 'OSError',
        errno: E.EADDRINUSE,
        message: `[Errno ${E.EADDRINUSE}] error while attempting to bind on address ('127.0.0.1', ${port}): address already in use`,
      });
      await closeServer(loop, server);
    });

    t.test('hostile hosts, ports, families and backlogs', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const c = (host: unknown, port: unknown, opts = {}) => loop.createServer(() => new Proto(), host as never, port as never, opts);
        await t.rejects(c('127.0.0.1', 70000), { name: 'OverflowError' });
        await t.rejects(c('127.0.0.1', -1), { name: 'OverflowError' });
        await t.rejects(c('127.0.0.1', 'nosuchsvc'), { name: 'gaierror', code: 'EAI_SERVICE' });
        await t.rejects(c('127.0.0.1', 0, { family: 12345 }), { name: 'gaierror', code: 'EAI_FAMILY' });
        await t.rejects(c('::1', 0, { family: INET }), { name: 'gaierror', code: 'EAI_ADDRFAMILY' });
        await t.rejects(c('localhost', 0, { flags: -1 }), { name: 'gaierror', code: 'EAI_BADFLAGS' });
        await t.rejects(c('192.0.2.1', 0), { name: 'OSError', errno: E.EADDRNOTAVAIL });
        await t.rejects(c([5], 0), TypeError);
        await t.rejects(c('127.0.0.1', 0, { backlog: 2 ** 40 }), { name: 'OverflowError' });
        await t.rejects(c('127.0.0.1', 0, { backlog: 'x' }), TypeError);
      });
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('test_start_server_1: startServing false, startServing(), serveForever()', async (t) => {
      const loop = newLoop(t, backend);
      const proto = new Proto();
      const server = await loop.runUntilComplete(loop.createServer(() => proto, '127.0.0.1', 0, { startServing: false }));
      t.notOk(server.isServing());
      t.equal(server.getLoop(), loop);
      await loop.runUntilComplete(server.startServing());
      t.ok(server.isServing());
      await loop.runUntilComplete(server.startServing());
      const { port } = server.address()!;
      await loop.runUntilComplete(async () => {
        const forever = server.serveForever();
        await t.rejects(server.serveForever(), RuntimeError, 'already being awaited on serve_forever()');
        await poke(loop, '127.0.0.1', port, () => proto.data);
        proto.transport!.close();
        loop.callLater(0.01, () => server.close());
        await forever;
      });
      t.notOk(server.isServing());
      t.same(server.sockets, []);
      await t.rejects(server.serveForever(), new RuntimeError(`server ${String(server)} is closed`));
    });

    t.test('serveForever with a signal: an abort closes the server', async (t) => {
      const loop = newLoop(t, backend);
      const server = await loop.runUntilComplete(loop.createServer(() => new Proto(), '127.0.0.1', 0, { startServing: false }));
      const ac = new AbortController();
      const err = await loop.runUntilComplete(async () => {
        loop.callLater(0.01, () => ac.abort(new Error('stop')));
        return server.serveForever({ signal: ac.signal }).catch((e: unknown) => e);
      });
      t.match(err, { message: 'stop' });
      t.same(server.sockets, []);
      t.equal(server.address(), null);
    });

    t.test('await using: async disposal closes the server', async (t) => {
      const loop = newLoop(t, backend);
      let sock: Socket | null = null;
      await loop.runUntilComplete(async () => {
        await using server = await loop.createServer(() => new Proto(), '127.0.0.1', 0);
        sock = server.sockets[0]!;
        t.ok(server.isServing());
      });
      t.equal(sock!.fileno(), -1, 'the listening socket is closed');
    });

    t.test('streams: startServer and openConnection with names', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const server = await startServer(async (r, w) => {
          w.write(await r.readline());
          await w.drain();
          w.close();
        }, 'localhost', 0, { limit: 1024 });
        const [r, w] = await openConnection('localhost', server.address()!.port, { limit: 1024 });
        w.write('hello\n');
        t.equal((await r.readline()).toString(), 'hello\n');
        w.close();
        await w.waitClosed();
        server.close();
        await server.waitClosed();
        await t.rejects(startServer(() => {}, null, null), new ValueError('Neither host/port nor sock were specified'));
        await t.rejects(startServer(() => {}, '127.0.0.1', 0, { limit: 0 }), ValueError);
      });
    });
  });
}
