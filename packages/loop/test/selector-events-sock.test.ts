// selector-events.ts: the sock_* methods on every selector backend. Ports
// of CPython 3.11 test_asyncio test_sock_lowlevel.py (sock_connect/
// sendall/recv/recv_into/accept, huge content, unix sockets). CPython's
// test HTTP server is a Node net server.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoConstants, socket, socketpair, Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, testHttpServer } from './helpers.js';
import { backendKit, noop, unusedPort } from './selector-events-support.js';

checkNoFdLeak(t);

/** A Node net echo server on 127.0.0.1. */
async function nodeEchoServer(t: Test): Promise<number> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', noop);
    c.pipe(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const { newLoop, pair } = backendKit(t, backend);

    // ------------------------------------------------------------ sock_*

    t.test('test_sock_client_ops', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const addr: [string, number] = [httpd.host, httpd.port];
      // In debug mode, socket operations must fail if the socket is blocking.
      loop.setDebug(true);
      const sock = new Socket();
      sock.setblocking(true);
      await loop.runUntilComplete(async () => {
        const msg = { name: 'ValueError', message: 'the socket must be non-blocking' };
        await t.rejects(loop.sockConnect(sock, addr), msg);
        await t.rejects(loop.sockSendall(sock, Buffer.from('GET / HTTP/1.0\r\n\r\n')), msg);
        await t.rejects(loop.sockRecv(sock, 1024), msg);
        await t.rejects(loop.sockRecvInto(sock, Buffer.alloc(0)), msg);
        await t.rejects(loop.sockAccept(sock), msg);
      });
      loop.setDebug(false);
      // in non-blocking mode
      sock.setblocking(false);
      const data = await loop.runUntilComplete(async () => {
        await loop.sockConnect(sock, addr);
        await loop.sockSendall(sock, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
        const d = await loop.sockRecv(sock, 1024);
        // consume data
        await loop.sockRecv(sock, 1024);
        return d;
      });
      sock.close();
      t.ok(data.toString('latin1').startsWith('HTTP/1.0 200 OK'));

      // same, with sockRecvInto
      const sock2 = new Socket();
      sock2.setblocking(false);
      const buf = Buffer.alloc(1024);
      await loop.runUntilComplete(async () => {
        await loop.sockConnect(sock2, addr);
        await loop.sockSendall(sock2, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
        const nbytes = await loop.sockRecvInto(sock2, buf.subarray(0, 1024));
        // consume data
        await loop.sockRecvInto(sock2, buf.subarray(nbytes));
      });
      sock2.close();
      t.ok(buf.toString('latin1').startsWith('HTTP/1.0 200 OK'));
    });

    t.test('test_unix_sock_client_ops', async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-loop-'));
      const sockPath = path.join(dir, 'sock');
      const server = net.createServer((c) => {
        c.on('error', noop);
        c.once('data', () => c.end('HTTP/1.0 200 OK\r\n\r\nTest message'));
      });
      await new Promise<void>((r) => server.listen(sockPath, r));
      t.teardown(
        () =>
          new Promise<void>((r) =>
            server.close(() => {
              fs.rmSync(dir, { recursive: true, force: true });
              r();
            }),
          ),
      );
      const loop = newLoop();
      const sock = new Socket(socket.AF_UNIX);
      sock.setblocking(false);
      const data = await loop.runUntilComplete(async () => {
        await loop.sockConnect(sock, sockPath);
        await loop.sockSendall(sock, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
        const chunks: Buffer[] = [];
        for (;;) {
          const d = await loop.sockRecv(sock, 1024);
          if (d.length === 0) break;
          chunks.push(d);
        }
        return Buffer.concat(chunks);
      });
      sock.close();
      t.ok(data.toString().startsWith('HTTP/1.0 200 OK'));
      t.ok(data.toString().endsWith('Test message'));
    });

    t.test('test_huge_content: sockSendall of 1 MB while sockRecv reads the echo', async (t) => {
      const port = await nodeEchoServer(t);
      const loop = newLoop();
      const DATA_SIZE = 1_000_000;
      const chunk = Buffer.alloc(DATA_SIZE);
      for (let i = 0; i < DATA_SIZE; i++) chunk[i] = 0x30 + (i % 10);
      const sock = new Socket();
      sock.setblocking(false);
      const got = await loop.runUntilComplete(async () => {
        await loop.sockConnect(sock, ['127.0.0.1', port]);
        const sending = loop.sockSendall(sock, chunk);
        const parts: Buffer[] = [];
        let n = 0;
        while (n < DATA_SIZE) {
          const d = await loop.sockRecv(sock, DATA_SIZE);
          if (d.length === 0) break;
          parts.push(d);
          n += d.length;
        }
        await sending;
        return Buffer.concat(parts);
      });
      sock.close();
      t.equal(got.length, DATA_SIZE);
      t.ok(got.equals(chunk), 'every byte came back in order');
    });

    t.test('test_huge_content_recvinto', async (t) => {
      const port = await nodeEchoServer(t);
      const loop = newLoop();
      const DATA_SIZE = 1_000_000;
      const chunk = randomBytes(DATA_SIZE);
      const sock = new Socket();
      sock.setblocking(false);
      const out = Buffer.alloc(DATA_SIZE);
      await loop.runUntilComplete(async () => {
        await loop.sockConnect(sock, ['127.0.0.1', port]);
        const sending = loop.sockSendall(sock, chunk);
        let n = 0;
        while (n < DATA_SIZE) {
          const k = await loop.sockRecvInto(sock, out.subarray(n, Math.min(n + 65536, DATA_SIZE)));
          if (k === 0) break;
          n += k;
        }
        await sending;
      });
      sock.close();
      t.ok(out.equals(chunk));
    });

    t.test('sockSendall and sockRecv over a socketpair, larger than the socket buffers', async (t) => {
      const loop = newLoop();
      const [a, b] = pair();
      a.setblocking(false);
      b.setblocking(false);
      const payload = randomBytes(4 << 20);
      const got = await loop.runUntilComplete(async () => {
        const sending = loop.sockSendall(a, payload).then(() => a.shutdown(socket.SHUT_WR));
        const parts: Buffer[] = [];
        for (;;) {
          const d = await loop.sockRecv(b, 1 << 16);
          if (d.length === 0) break;
          parts.push(d);
        }
        await sending;
        return Buffer.concat(parts);
      });
      t.ok(got.equals(payload));
      t.equal(loop._selector.getMap()!.size, 0, 'no reader or writer left behind');
    });

    t.test('sockSendall to a peer that closed rejects with a connection error', async (t) => {
      const loop = newLoop();
      const [a, b] = socketpair();
      t.teardown(() => a.close());
      a.setblocking(false);
      b.close();
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.sockSendall(a, Buffer.alloc(1 << 20)), { name: /BrokenPipeError|ConnectionResetError/ });
      });
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('test_sock_client_fail', async (t) => {
      const loop = newLoop();
      const port = unusedPort();
      const sock = new Socket();
      sock.setblocking(false);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.sockConnect(sock, ['127.0.0.1', port]), {
          name: 'ConnectionRefusedError',
          errno: errnoConstants.ECONNREFUSED,
        });
      });
      sock.close();
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('test_sock_accept', async (t) => {
      const loop = newLoop();
      const listener = new Socket();
      listener.setblocking(false);
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      const client = new Socket();
      client.connect(listener.getsockname() as [string, number]);
      const [conn, addr] = await loop.runUntilComplete(loop.sockAccept(listener));
      t.equal(conn.gettimeout(), 0);
      t.same(addr, client.getsockname());
      t.same(client.getpeername(), listener.getsockname());
      client.close();
      conn.close();
      listener.close();
    });

    t.test('test_cancel_sock_accept: a connect to a closed listener is refused', async (t) => {
      const loop = newLoop();
      const listener = new Socket();
      listener.setblocking(false);
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      const sockaddr = listener.getsockname() as [string, number];
      listener.close();
      const client = new Socket();
      client.setblocking(false);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.sockConnect(client, sockaddr), { name: 'ConnectionRefusedError' });
      });
      client.close();
    });

    t.test('sockAccept waits for a connection made later', async (t) => {
      const loop = newLoop();
      const listener = new Socket();
      listener.setblocking(false);
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      const [, port] = listener.getsockname() as [string, number];
      let client: net.Socket | null = null;
      const [conn] = await loop.runUntilComplete(async () => {
        loop.callLater(0.02, () => {
          client = net.connect(port, '127.0.0.1');
          client.on('error', noop);
        });
        return loop.sockAccept(listener);
      });
      t.equal(conn.gettimeout(), 0);
      conn.close();
      listener.close();
      client!.destroy();
    });
  });
}

for (const backend of BACKENDS) suite(backend);
