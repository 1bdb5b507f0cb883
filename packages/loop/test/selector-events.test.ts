// selector-events.ts: readers and writers, the sock_* methods, createServer
// and createConnection, on every selector backend. Ports of CPython 3.11
// test_asyncio: test_selector_events.py BaseSelectorEventLoopTests (with
// real socketpairs where CPython mocks the selector), test_events.py
// (reader/writer callbacks, servers, connections, closing) and
// test_sock_lowlevel.py (sock_connect/sendall/recv/recv_into/accept, huge
// content, unix sockets). CPython's test HTTP server is a Node net server.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EventLoop, Handle, type Protocol, type Transport } from '@iomux/loop';
import { EVENT_READ, EVENT_WRITE, selectorBackend } from '@iomux/selectors';
import { errnoConstants, socket, socketpair, Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, future, runBriefly, runUntil, sleep, testHttpServer } from './helpers.js';

checkNoFdLeak(t);

const noop = (): void => {};

/** test_events.py MyBaseProto: a protocol that checks its state machine. */
class MyProto implements Protocol {
  transport: Transport | null = null;
  state = 'INITIAL';
  nbytes = 0;
  data: Buffer[] = [];
  connected = future();
  done = future();
  errors: string[] = [];
  constructor(readonly request: Buffer | null = null) {}
  #assertState(...expected: string[]): void {
    if (!expected.includes(this.state)) this.errors.push(`state: ${this.state}, expected: ${expected.join('|')}`);
  }
  connectionMade(transport: Transport): void {
    this.transport = transport;
    this.#assertState('INITIAL');
    this.state = 'CONNECTED';
    this.connected.resolve();
    if (this.request !== null) transport.write(this.request);
  }
  dataReceived(data: Buffer): void {
    this.#assertState('CONNECTED');
    this.nbytes += data.length;
    this.data.push(data);
  }
  eofReceived(): void {
    this.#assertState('CONNECTED');
    this.state = 'EOF';
  }
  connectionLost(_exc: Error | null): void {
    this.#assertState('CONNECTED', 'EOF');
    this.state = 'CLOSED';
    this.done.resolve();
  }
}

/** A free TCP port on 127.0.0.1 (bound, then closed). */
function unusedPort(): number {
  const s = new Socket();
  s.bind(['127.0.0.1', 0]);
  const port = (s.getsockname() as [string, number])[1];
  s.close();
  return port;
}

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

function keyData(loop: EventLoop, fd: number): [Handle | null, Handle | null] | undefined {
  return loop._selector.getMap()!.get(fd)?.data ?? undefined;
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const newLoop = (): EventLoop => {
      const loop = new EventLoop({ selector: backend });
      t.teardown(() => {
        if (!loop.isClosed() && !loop.isRunning()) loop.close();
      });
      return loop;
    };
    const pair = (): [Socket, Socket] => {
      const p = socketpair();
      t.teardown(() => {
        p[0].close();
        p[1].close();
      });
      return p;
    };

    t.test('the loop uses the backend asked for', async (t) => {
      const loop = newLoop();
      t.equal(selectorBackend(loop._selector), backend);
    });

    t.test('request-response on one descriptor: the quick look before a wait stops while it finds nothing, and comes back', async (t) => {
      const loop = newLoop();
      const [a, b] = pair();
      a.setblocking(false);
      b.setblocking(false);
      const sel = loop._selector;
      // The loop looks through selectEach (the selectors' public visiting API).
      const selectEach = sel.selectEach.bind(sel);
      let looks = 0;
      sel.selectEach = (timeout, visit) => {
        if (timeout === 0) looks++;
        return selectEach(timeout, visit);
      };
      const N = 100;
      let rounds = 0;
      let answerAtOnce = false;
      let looksInPhase1 = 0;
      const done = future();
      let bytes = 0;
      loop.addReader(a.fileno(), () => {
        bytes += a.recv(16).length;
        rounds++;
        if (rounds === N) {
          // Phase 1 over: the peer answered a millisecond later, from a
          // Node timer, so no look could find its answer. Now it answers
          // at once, and a look always finds data.
          looksInPhase1 = looks;
          looks = 0;
          answerAtOnce = true;
        }
        if (rounds === 2 * N) {
          loop.removeReader(a.fileno());
          done.resolve();
          return;
        }
        if (answerAtOnce) b.send(Buffer.from('x'));
        else setTimeout(() => b.send(Buffer.from('x')), 1);
      });
      b.send(Buffer.from('x'));
      await loop.runUntilComplete(done.promise);
      t.equal(bytes, 2 * N, 'one byte read per round');
      // Looking first before every wait would be N looks; after two empty
      // ones the loop looks first only every 8th wait.
      t.ok(looksInPhase1 < N / 3, `${looksInPhase1} quick looks in ${N} waits for a peer that answers later`);
      // Back to looking first within 8 waits, then every look finds data.
      t.ok(looks > N - 20, `${looks} quick looks in ${N} rounds with data always ready`);
    });

    // ------------------------------------------------ readers and writers

    t.test('test_add_reader', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      const cb = (): void => {};
      loop.addReader(r.fileno(), cb);
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_READ);
      const [reader, writer] = key.data!;
      t.type(reader, Handle);
      t.equal(reader!._callback, cb);
      t.equal(writer, null);
    });

    t.test('test_add_reader_existing', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      loop.addWriter(r.fileno(), noop);
      loop.addReader(r.fileno(), noop);
      const oldReader = keyData(loop, r.fileno())![0]!;
      const cb = (): void => {};
      loop.addReader(r.fileno(), cb);
      t.ok(oldReader.cancelled(), 'the replaced reader is cancelled');
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_READ | EVENT_WRITE);
      t.equal(key.data![0]!._callback, cb);
    });

    t.test('test_add_reader_existing_writer', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      const wcb = (): void => {};
      loop.addWriter(r.fileno(), wcb);
      const writer = keyData(loop, r.fileno())![1]!;
      loop.addReader(r.fileno(), noop);
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_READ | EVENT_WRITE);
      t.equal(key.data![1], writer, 'the writer is kept');
      t.notOk(writer.cancelled());
    });

    t.test('test_remove_reader', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      loop.addReader(r.fileno(), noop);
      const reader = keyData(loop, r.fileno())![0]!;
      t.equal(loop.removeReader(r.fileno()), true);
      t.ok(reader.cancelled());
      t.equal(loop._selector.getMap()!.get(r.fileno()), undefined, 'unregistered');
    });

    t.test('test_remove_reader_read_write', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      loop.addReader(r.fileno(), noop);
      loop.addWriter(r.fileno(), noop);
      const writer = keyData(loop, r.fileno())![1];
      t.equal(loop.removeReader(r.fileno()), true);
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_WRITE);
      t.same(key.data, [null, writer]);
    });

    t.test('test_remove_reader_unknown', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      t.equal(loop.removeReader(r.fileno()), false);
      loop.addWriter(r.fileno(), noop);
      t.equal(loop.removeReader(r.fileno()), false, 'only a writer');
    });

    t.test('test_add_writer', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      const cb = (): void => {};
      loop.addWriter(w.fileno(), cb);
      const key = loop._selector.getKey(w.fileno());
      t.equal(key.events, EVENT_WRITE);
      t.equal(key.data![0], null);
      t.equal(key.data![1]!._callback, cb);
    });

    t.test('test_add_writer_existing', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      loop.addReader(w.fileno(), noop);
      loop.addWriter(w.fileno(), noop);
      const oldWriter = keyData(loop, w.fileno())![1]!;
      const reader = keyData(loop, w.fileno())![0];
      const cb = (): void => {};
      loop.addWriter(w.fileno(), cb);
      t.ok(oldWriter.cancelled());
      const key = loop._selector.getKey(w.fileno());
      t.equal(key.events, EVENT_READ | EVENT_WRITE);
      t.equal(key.data![0], reader);
      t.equal(key.data![1]!._callback, cb);
    });

    t.test('test_remove_writer', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      loop.addWriter(w.fileno(), noop);
      t.equal(loop.removeWriter(w.fileno()), true);
      t.equal(loop._selector.getMap()!.get(w.fileno()), undefined);
    });

    t.test('test_remove_writer_read_write', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      loop.addReader(w.fileno(), noop);
      const reader = keyData(loop, w.fileno())![0];
      loop.addWriter(w.fileno(), noop);
      t.equal(loop.removeWriter(w.fileno()), true);
      const key = loop._selector.getKey(w.fileno());
      t.equal(key.events, EVENT_READ);
      t.same(key.data, [reader, null]);
    });

    t.test('test_remove_writer_unknown', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      t.equal(loop.removeWriter(w.fileno()), false);
    });

    t.test('readers and writers take a socket object as well as its fd', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      let got = 0;
      loop.addReader(r, () => {
        got += r.recv(100).length;
      });
      loop.addWriter(r, noop);
      t.equal(loop._selector.getKey(r.fileno()).events, EVENT_READ | EVENT_WRITE);
      t.equal(loop.removeWriter(r), true);
      w.send(Buffer.from('abc'));
      await runUntil(loop, () => got === 3);
      t.equal(loop.removeReader(r), true);
      t.equal(loop.removeReader(r), false);
    });

    t.test('test_process_events_read / _write, and their _cancelled forms', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      const calls: string[] = [];
      w.send(Buffer.from('x'));
      loop.addReader(r.fileno(), () => calls.push('read'));
      loop.addWriter(w.fileno(), () => calls.push('write'));
      await runBriefly(loop);
      t.ok(calls.includes('read') && calls.includes('write'), 'both ran');
      // A cancelled handle is removed when its event comes.
      keyData(loop, r.fileno())![0]!.cancel();
      keyData(loop, w.fileno())![1]!.cancel();
      calls.length = 0;
      await runBriefly(loop);
      t.same(calls, []);
      t.equal(loop._selector.getMap()!.get(r.fileno()), undefined, 'the cancelled reader was removed');
      t.equal(loop._selector.getMap()!.get(w.fileno()), undefined, 'the cancelled writer was removed');
    });

    t.test('test_reader_callback', async (t) => {
      const loop = newLoop();
      const [r, w] = socketpair();
      t.teardown(() => w.close());
      r.setblocking(false);
      const bytesRead: Buffer[] = [];
      let total = 0;
      let closed = false;
      const reader = (): void => {
        let data: Buffer;
        try {
          data = r.recv(1024);
        } catch (e) {
          // Spurious readiness notifications are possible.
          if ((e as Error).name === 'BlockingIOError') return;
          throw e;
        }
        if (data.length > 0) {
          bytesRead.push(data);
          total += data.length;
        } else {
          t.ok(loop.removeReader(r.fileno()));
          r.close();
          closed = true;
        }
      };
      loop.addReader(r.fileno(), reader);
      loop.callSoon(() => w.send(Buffer.from('abc')));
      await runUntil(loop, () => total >= 3);
      loop.callSoon(() => w.send(Buffer.from('def')));
      await runUntil(loop, () => total >= 6);
      loop.callSoon(() => w.close());
      await runUntil(loop, () => closed);
      t.equal(Buffer.concat(bytesRead).toString(), 'abcdef');
    });

    t.test('test_writer_callback', async (t) => {
      const loop = newLoop();
      const [r, w] = socketpair();
      w.setblocking(false);
      const data = Buffer.alloc(1024, 'x');
      loop.addWriter(
        w.fileno(),
        (d: Buffer) => {
          w.send(d);
          loop.stop();
        },
        data,
      );
      await loop.runForever();
      t.equal(loop.removeWriter(w.fileno()), true);
      t.equal(loop.removeWriter(w.fileno()), false);
      w.close();
      const read = r.recv(data.length * 2);
      r.close();
      t.ok(read.equals(data));
    });

    t.test('a reader runs again while its fd stays readable (level-triggered)', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      w.send(Buffer.from('x'));
      let calls = 0;
      loop.addReader(r.fileno(), () => {
        calls++;
        if (calls === 3) loop.removeReader(r.fileno());
      });
      await loop.runUntilComplete(sleep(loop, 0.05));
      t.equal(calls, 3);
    });

    t.test('test_remove_fds_after_closing', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      loop.addReader(r, noop);
      loop.addWriter(w, noop);
      loop.close();
      t.equal(loop.removeReader(r), false);
      t.equal(loop.removeWriter(w), false);
    });

    t.test('test_add_fds_after_closing', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      loop.close();
      t.throws(() => loop.addReader(r, noop), { name: 'RuntimeError', message: 'Event loop is closed' });
      t.throws(() => loop.addWriter(w, noop), { name: 'RuntimeError', message: 'Event loop is closed' });
    });

    t.test('test_close: closing the loop closes its selector', async (t) => {
      const loop = newLoop();
      loop.close();
      t.equal(loop._selector.getMap(), null);
      loop.close();
    });

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

    // ------------------------------------------------- servers and clients

    t.test('test_create_server', async (t) => {
      const loop = newLoop();
      const errors = collectExceptions(loop);
      const proto = new MyProto();
      const server = await loop.runUntilComplete(loop.createServer(() => proto, '0.0.0.0', 0));
      t.equal(server.sockets.length, 1);
      const [host, port] = server.sockets[0]!.getsockname() as [string, number];
      t.equal(host, '0.0.0.0');
      t.same(server.address(), { address: '0.0.0.0', family: 'IPv4', port });
      t.ok(server.isServing());
      const connections: Transport[] = [];
      server.on('connection', (tr: Transport) => connections.push(tr));
      const client = new Socket();
      client.connect(['127.0.0.1', port]);
      client.sendall(Buffer.from('xxx'));
      await loop.runUntilComplete(proto.connected.promise);
      t.equal(proto.state, 'CONNECTED');
      await runUntil(loop, () => proto.nbytes > 0);
      t.equal(proto.nbytes, 3);
      t.equal(connections.length, 1);
      t.equal(connections[0], proto.transport, "the 'connection' event carries the transport");
      // extra info is available
      t.not(proto.transport!.getExtraInfo('sockname'), null);
      t.equal((proto.transport!.getExtraInfo('peername') as [string, number])[0], '127.0.0.1');
      // close connection
      proto.transport!.close();
      await loop.runUntilComplete(proto.done.promise);
      t.equal(proto.state, 'CLOSED');
      // the client socket must be closed after, to avoid ECONNRESET
      client.close();
      let closeEvent = false;
      server.on('close', () => (closeEvent = true));
      server.close();
      t.ok(closeEvent);
      t.notOk(server.isServing());
      t.equal(server.address(), null);
      await loop.runUntilComplete(server.waitClosed());
      t.same(proto.errors, []);
      t.same(errors, []);
    });

    t.test('test_create_server_reuse_port', async (t) => {
      const loop = newLoop();
      let server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0));
      t.equal(server.sockets.length, 1);
      t.notOk(server.sockets[0]!.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT!));
      server.close();
      await runBriefly(loop);
      server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0, { reusePort: true }));
      t.equal(server.sockets.length, 1);
      t.ok(server.sockets[0]!.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT!));
      server.close();
    });

    t.test('test_create_server_empty_host: null and "" listen on every interface', async (t) => {
      const loop = newLoop();
      for (const host of [null, '']) {
        const server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), host, 0));
        t.equal(server.address()!.address, '0.0.0.0');
        server.close();
      }
    });

    t.test('test_create_server_addr_in_use', async (t) => {
      const loop = newLoop();
      const server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0));
      const { port } = server.address()!;
      await t.rejects(loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', port)), {
        name: 'OSError',
        errno: errnoConstants.EADDRINUSE,
      });
      server.close();
    });

    t.test('test_server_close', async (t) => {
      const loop = newLoop();
      const server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0));
      const { port } = server.address()!;
      const client = new Socket();
      client.connect(['127.0.0.1', port]);
      client.send(Buffer.from('xxx'));
      client.close();
      server.close();
      const client2 = new Socket();
      t.throws(() => client2.connect(['127.0.0.1', port]), { name: 'ConnectionRefusedError' });
      client2.close();
      // the connection accepted before close() (if any) ends by itself
      await runBriefly(loop);
    });

    t.test('waitClosed resolves once the server is closed and its connections are gone', async (t) => {
      const loop = newLoop();
      const proto = new MyProto();
      const server = await loop.runUntilComplete(loop.createServer(() => proto, '127.0.0.1', 0));
      const client = net.connect(server.address()!.port, '127.0.0.1');
      client.on('error', noop);
      await loop.runUntilComplete(proto.connected.promise);
      let waited = false;
      await loop.runUntilComplete(async () => {
        const w = server.waitClosed().then(() => (waited = true));
        server.close();
        await sleep(loop, 0.02);
        t.notOk(waited, 'not while a connection is open');
        proto.transport!.close();
        await w;
      });
      t.ok(waited);
      t.equal(await server.waitClosed(), undefined, 'and again at once');
      client.destroy();
    });

    t.test('test_accept_connection_multiple: many clients at once are all accepted', async (t) => {
      const loop = newLoop();
      const protos: MyProto[] = [];
      const server = await loop.runUntilComplete(
        loop.createServer(
          () => {
            const p = new MyProto();
            protos.push(p);
            return p;
          },
          '127.0.0.1',
          0,
          { backlog: 100 },
        ),
      );
      const port = server.address()!.port;
      const clients: Socket[] = [];
      for (let i = 0; i < 50; i++) {
        const c = new Socket();
        c.connect(['127.0.0.1', port]);
        clients.push(c);
      }
      await runUntil(loop, () => protos.length === 50 && protos.every((p) => p.state === 'CONNECTED'));
      t.equal(protos.length, 50);
      for (const c of clients) c.close();
      await runUntil(loop, () => protos.every((p) => p.state === 'CLOSED'));
      server.close();
      await loop.runUntilComplete(server.waitClosed());
      t.ok(protos.every((p) => p.errors.length === 0));
    });

    t.test('test_create_connection', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const errors = collectExceptions(loop);
      const [tr, pr] = await loop.runUntilComplete(
        loop.createConnection(() => new MyProto(Buffer.from('GET / HTTP/1.0\r\nHost: example.com\r\n\r\n')), httpd.host, httpd.port),
      );
      t.equal(pr.transport, tr, 'connectionMade ran before createConnection resolved');
      t.not(tr.getExtraInfo('sockname'), null);
      t.same(tr.getExtraInfo('peername'), [httpd.host, httpd.port]);
      await loop.runUntilComplete(pr.done.promise);
      t.ok(pr.nbytes > 0);
      t.match(Buffer.concat(pr.data).toString(), /^HTTP\/1\.0 200 OK[^]*Test message$/);
      tr.close();
      t.same(pr.errors, []);
      t.same(errors, []);
    });

    t.test('test_create_connection_connect_err: refused', async (t) => {
      const loop = newLoop();
      const port = unusedPort();
      await t.rejects(loop.runUntilComplete(loop.createConnection(() => new MyProto(), '127.0.0.1', port)), {
        name: 'ConnectionRefusedError',
      });
      // with every address of 'localhost' refused: one error, or all of them
      const err = await loop.runUntilComplete(loop.createConnection(() => new MyProto(), 'localhost', port)).then(
        () => null,
        (e: Error) => e,
      );
      t.ok(err !== null);
      t.ok(err!.name === 'ConnectionRefusedError' || /^Multiple exceptions: /.test(err!.message), `${err}`);
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('createConnection and createServer talk to each other', async (t) => {
      const loop = newLoop();
      const errors = collectExceptions(loop);
      const payload = randomBytes(300_000);
      const server = await loop.runUntilComplete(
        loop.createServer(
          () => ({
            connectionMade(tr: Transport) {
              tr.on('data', (d: Buffer) => tr.write(d));
              tr.on('end', () => tr.close());
            },
            eofReceived: () => true,
          }),
          '127.0.0.1',
          0,
        ),
      );
      const got: Buffer[] = [];
      let n = 0;
      const [tr, pr] = await loop.runUntilComplete(
        loop.createConnection(
          () => ({
            done: future(),
            dataReceived(d: Buffer) {
              got.push(d);
              n += d.length;
            },
            eofReceived() {},
            connectionLost(this: { done: ReturnType<typeof future> }) {
              this.done.resolve(undefined);
            },
          }),
          '127.0.0.1',
          server.address()!.port,
        ),
      );
      tr.write(payload);
      tr.writeEof();
      await loop.runUntilComplete(pr.done.promise);
      t.equal(n, payload.length);
      t.ok(Buffer.concat(got).equals(payload));
      server.close();
      await loop.runUntilComplete(server.waitClosed());
      t.same(errors, []);
    });
  });
}

for (const backend of BACKENDS) suite(backend);
