// streams.ts: CPython 3.11 test_asyncio/test_streams.py, case by case:
// the connection cases (open_connection, start_server, drain, wait_closed)
// on every backend, against a Node net server standing in for CPython's
// test HTTP server.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  EventLoop,
  StreamReader,
  StreamWriter,
  openConnection,
  startServer,
  type Server,
} from '@iomux/loop';
import { Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { echoUntilEof } from '../../../test/support/workers.js';
import { BACKENDS, collectExceptions, runBriefly, sleep, testHttpServer, tick, waitFor } from './helpers.js';
import { b } from './streams-support.js';

checkNoFdLeak(t);

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const newLoop = (): EventLoop => {
      const loop = new EventLoop({ selector: backend });
      t.teardown(() => {
        if (!loop.isClosed() && !loop.isRunning()) loop.close();
      });
      return loop;
    };

    t.test('test_open_connection', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const [reader, writer] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      writer.write(b('GET / HTTP/1.0\r\n\r\n'));
      const line = await loop.runUntilComplete(reader.readline());
      t.equal(line.toString(), 'HTTP/1.0 200 OK\r\n');
      const data = await loop.runUntilComplete(reader.read());
      t.ok(data.toString().endsWith('\r\n\r\nTest message'));
      writer.close();
      await runBriefly(loop);
      t.same(messages, []);
    });

    t.test('openConnection outside a running loop is RuntimeError', async (t) => {
      await t.rejects(openConnection('127.0.0.1', 1), { name: 'RuntimeError', message: 'no running event loop' });
      await t.rejects(
        startServer(() => {}, '127.0.0.1', 0),
        { name: 'RuntimeError', message: 'no running event loop' },
      );
    });

    t.test('test_open_connection_error', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const [reader, writer] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      class ZeroDivisionError extends Error {
        override name = 'ZeroDivisionError';
      }
      writer._protocol.connectionLost(new ZeroDivisionError());
      await t.rejects(loop.runUntilComplete(reader.read()), { name: 'ZeroDivisionError' });
      writer.close();
      await runBriefly(loop);
      t.same(messages, []);
    });

    t.test('test_start_server', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const handleClient = async (r: StreamReader, w: StreamWriter): Promise<void> => {
        const data = await r.readline();
        w.write(data);
        await w.drain();
        w.close();
        await w.waitClosed();
      };
      const client = async (port: number): Promise<Buffer> => {
        const [r, w] = await openConnection('127.0.0.1', port);
        // send a line
        w.write(b('hello world!\n'));
        // read it back
        const msgback = await r.readline();
        w.close();
        await w.waitClosed();
        return msgback;
      };
      const stop = async (server: Server): Promise<void> => {
        server.close();
        await server.waitClosed();
      };
      // the server variant with a coroutine as client handler
      let msg = await loop.runUntilComplete(async () => {
        const server = await startServer(handleClient, '127.0.0.1', 0);
        const m = await client(server.address()!.port);
        await stop(server);
        return m;
      });
      t.equal(msg.toString(), 'hello world!\n');
      // the server variant with a callback as client handler
      msg = await loop.runUntilComplete(async () => {
        const server = await startServer(
          (r, w) => {
            void handleClient(r, w);
          },
          '127.0.0.1',
          0,
        );
        const m = await client(server.address()!.port);
        await stop(server);
        return m;
      });
      t.equal(msg.toString(), 'hello world!\n');
      t.same(messages, []);
    });

    t.test('a client_connected_cb that throws is reported and its connection closed', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const eof = await loop.runUntilComplete(async () => {
        const server = await startServer(
          async () => {
            throw new Error('handler failed');
          },
          '127.0.0.1',
          0,
        );
        const [r, w] = await openConnection('127.0.0.1', server.address()!.port);
        const data = await r.read();
        w.close();
        server.close();
        await server.waitClosed();
        return data.length === 0;
      });
      t.ok(eof, 'the client saw EOF');
      t.equal(messages.length, 1);
      t.equal(messages[0]!.message, 'Unhandled exception in client_connected_cb');
      t.equal((messages[0]!.exception as Error).message, 'handler failed');
    });

    t.test('test_drain_raises', async (t) => {
      // http://bugs.python.org/issue25441: drain() must not loop forever
      // when the server side has closed the socket. CPython's server is a
      // thread that accepts and closes; here a plain socket does that as
      // soon as the client is connected (a Node server could not run while
      // the writer never waits).
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const listener = new Socket();
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      t.teardown(() => listener.close());
      const [, port] = listener.getsockname() as [string, number];
      await t.rejects(
        loop.runUntilComplete(async () => {
          const [, writer] = await openConnection('127.0.0.1', port);
          const [clt] = listener.accept();
          clt.close();
          for (;;) {
            writer.write(b('foo\n'));
            await writer.drain();
          }
        }),
        { name: /^(ConnectionResetError|ConnectionAbortedError|BrokenPipeError)$/ },
      );
      await runBriefly(loop);
      t.same(messages, []);
    });

    t.test('test_wait_closed_on_close', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const [rd, wr] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      wr.write(b('GET / HTTP/1.0\r\n\r\n'));
      t.equal((await loop.runUntilComplete(rd.readline())).toString(), 'HTTP/1.0 200 OK\r\n');
      t.ok((await loop.runUntilComplete(rd.read())).toString().endsWith('\r\n\r\nTest message'));
      t.notOk(wr.isClosing());
      wr.close();
      t.ok(wr.isClosing());
      await loop.runUntilComplete(wr.waitClosed());
    });

    t.test('test_wait_closed_on_close_with_unread_data', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const [rd, wr] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      wr.write(b('GET / HTTP/1.0\r\n\r\n'));
      t.equal((await loop.runUntilComplete(rd.readline())).toString(), 'HTTP/1.0 200 OK\r\n');
      wr.close();
      await loop.runUntilComplete(wr.waitClosed());
    });

    t.test('test_async_writer_api', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const [rd, wr] = await openConnection(httpd.host, httpd.port);
        wr.write(b('GET / HTTP/1.0\r\n\r\n'));
        t.equal((await rd.readline()).toString(), 'HTTP/1.0 200 OK\r\n');
        t.ok((await rd.read()).toString().endsWith('\r\n\r\nTest message'));
        wr.close();
        await wr.waitClosed();
      });
      t.same(messages, []);
    });

    t.test('test_async_writer_api_exception_after_close', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const [rd, wr] = await openConnection(httpd.host, httpd.port);
        wr.write(b('GET / HTTP/1.0\r\n\r\n'));
        t.equal((await rd.readline()).toString(), 'HTTP/1.0 200 OK\r\n');
        t.ok((await rd.read()).toString().endsWith('\r\n\r\nTest message'));
        wr.close();
        await t.rejects(async () => {
          wr.write(b('data'));
          await wr.drain();
        }, { name: 'ConnectionResetError' });
      });
      t.same(messages, []);
    });

    t.test('test_eof_feed_when_closing_writer', async (t) => {
      // http://bugs.python.org/issue35065
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const [rd, wr] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      wr.close();
      await loop.runUntilComplete(wr.waitClosed());
      t.ok(rd.atEof());
      t.equal((await loop.runUntilComplete(rd.read())).length, 0);
      t.same(messages, []);
    });

    t.test('half-close: the reader sees EOF and the writer still writes', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const reply = await loop.runUntilComplete(async () => {
        const server = await startServer(async (r, w) => {
          const all = await r.read(); // until EOF
          t.ok(r.atEof(), 'the server reader is at EOF');
          w.write(Buffer.concat([b('got '), all]));
          await w.drain();
          w.close();
        }, '127.0.0.1', 0);
        const [r, w] = await openConnection('127.0.0.1', server.address()!.port);
        t.ok(w.canWriteEof());
        w.write(b('half'));
        w.writeEof();
        const data = await r.read();
        w.close();
        await w.waitClosed();
        server.close();
        await server.waitClosed();
        return data;
      });
      t.equal(reply.toString(), 'got half');
      t.same(messages, []);
    });

    t.test("the reader's limit pauses the transport's reading and resumes it", async (t) => {
      const loop = newLoop();
      const payload = randomBytes(1 << 20);
      const sink = net.createServer((c) => {
        c.on('error', () => {});
        c.end(payload);
      });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
      t.teardown(() => new Promise<void>((r) => sink.close(() => r())));
      let pausedSeen = false;
      const got = await loop.runUntilComplete(async () => {
        const [r, w] = await openConnection('127.0.0.1', (sink.address() as net.AddressInfo).port, { limit: 1024 });
        await waitFor(loop, () => r._buffer.length > 2048, 10, 'data');
        await tick(loop);
        pausedSeen = !w.transport.isReading();
        t.ok(r._buffer.length <= 2 * 1024 + 256 * 1024, 'bounded by the limit (plus one read)');
        const parts: Buffer[] = [];
        for (;;) {
          const d = await r.read(4096);
          if (d.length === 0) break;
          parts.push(d);
        }
        w.close();
        return Buffer.concat(parts);
      });
      t.ok(pausedSeen, 'reading was paused over 2 * limit');
      t.ok(got.equals(payload));
    });

    t.test('many clients through startServer echo at once', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const ok = await loop.runUntilComplete(async () => {
        const server = await startServer(echoUntilEof, '127.0.0.1', 0);
        const port = server.address()!.port;
        const results = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const [r, w] = await openConnection('127.0.0.1', port);
            const msg = randomBytes(10_000 + i * 1000);
            w.write(msg);
            await w.drain();
            const back = await r.readexactly(msg.length);
            w.close();
            await w.waitClosed();
            return back.equals(msg);
          }),
        );
        await sleep(loop, 0.01);
        server.close();
        await server.waitClosed();
        return results.every(Boolean);
      });
      t.ok(ok);
      t.same(messages, []);
    });
  });
}

for (const backend of BACKENDS) suite(backend);
