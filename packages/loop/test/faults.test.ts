// Faults, on every backend: a peer that resets mid-write, one that
// half-closes, and one that never reads (the transport's write-buffer
// limits and pauseWriting engage, its buffer stays bounded, and everything
// arrives once the peer reads). Each case ends with no exception escaping
// (the loop's exception handler, unhandled rejections and uncaught
// exceptions are all watched), every transport closed, nothing left in the
// selector, and no descriptor leaked.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  EventLoop,
  openConnection,
  startServer,
  type ExceptionContext,
  type Protocol,
  type StreamReader,
  type StreamWriter,
  type Transport,
} from '@iomux/loop';
import { socket, Socket } from '@iomux/core-native';
import { watchEscapes } from '../../../test/support/escapes.js';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, future, sleep, waitFor } from './helpers.js';

checkNoFdLeak(t);

// Nothing may escape: not as an unhandled rejection, not as an uncaught exception.
const escaped = watchEscapes(t);

const RESET_NAMES = /^(ConnectionResetError|BrokenPipeError)$/;
const HIGH = 64 * 1024;
const LOW = 16 * 1024;
const CHUNK = 16 * 1024;

/** Byte i of the flood: a pattern the reader can check without keeping a copy. */
function pattern(offset: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (offset + i) % 251;
  return b;
}

function checkPattern(data: Buffer, offset: number): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== (offset + i) % 251) return false;
  return true;
}

/** Common per-case checks: handler contexts, escapes, selector empty. */
function finish(t: Test, loop: EventLoop, errors: ExceptionContext[], escapedBefore: number): void {
  t.same(
    errors.map((c) => c.message),
    [],
    'no exception reached the loop',
  );
  t.equal(escaped.length, escapedBefore, 'no unhandled rejection or uncaught exception');
  t.equal(loop._selector.getMap()!.size, 0, 'no reader or writer left in the selector');
  loop.close();
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    // ------------------------------------------------------ reset mid-write

    t.test('protocol server: the peer resets while the server is writing', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const lost = future<Error | null>();
      let transport: Transport | null = null;
      let written = 0;
      class Flood implements Protocol {
        paused = false;
        tr: Transport | null = null;
        connectionMade(tr: Transport): void {
          this.tr = transport = tr;
          this.pump();
        }
        pump(): void {
          while (!this.paused && !this.tr!.isClosing()) {
            this.tr!.write(randomBytes(CHUNK));
            written += CHUNK;
          }
        }
        pauseWriting(): void {
          this.paused = true;
        }
        resumeWriting(): void {
          this.paused = false;
          loop.callSoon(() => this.pump());
        }
        connectionLost(exc: Error | null): void {
          lost.resolve(exc);
        }
      }
      const exc = await loop.runUntilComplete(async () => {
        const server = await loop.createServer(() => new Flood(), '127.0.0.1', 0);
        const client = net.connect(server.address()!.port, '127.0.0.1');
        client.on('error', () => {});
        let got = 0;
        client.on('data', (d: Buffer) => {
          got += d.length;
          if (got > 200_000 && !client.destroyed) client.resetAndDestroy(); // RST mid-stream
        });
        const e = await lost.promise;
        server.close();
        await server.waitClosed();
        return e;
      });
      t.ok(exc !== null, 'connectionLost got the error');
      t.match(exc!.name, RESET_NAMES, `${exc}`);
      t.ok(written > 200_000, `the server had written ${written} bytes`);
      t.equal(transport!.getWriteBufferSize(), 0, 'the buffer was dropped');
      t.equal((transport as unknown as { _sock: unknown })._sock, null, 'the socket is closed');
      finish(t, loop, errors, escapedBefore);
    });

    t.test('streams server: the peer resets while drain() waits', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const handlerError = future<Error>();
      await loop.runUntilComplete(async () => {
        const server = await startServer(
          async (_r: StreamReader, w: StreamWriter) => {
            try {
              for (;;) {
                w.write(randomBytes(CHUNK));
                await w.drain();
              }
            } catch (e) {
              handlerError.resolve(e as Error);
            } finally {
              w.close();
            }
          },
          '127.0.0.1',
          0,
        );
        const client = net.connect(server.address()!.port, '127.0.0.1');
        client.on('error', () => {});
        let got = 0;
        client.on('data', (d: Buffer) => {
          got += d.length;
          if (got > 200_000 && !client.destroyed) client.resetAndDestroy();
        });
        const e = await handlerError.promise;
        t.match(e.name, RESET_NAMES, `drain() rejected: ${e}`);
        await sleep(loop, 0.01);
        server.close();
        await server.waitClosed();
      });
      finish(t, loop, errors, escapedBefore);
    });

    t.test('client: the server resets while openConnection writes', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const server = net.createServer((c) => {
        c.on('error', () => {});
        let got = 0;
        c.on('data', (d: Buffer) => {
          got += d.length;
          if (got > 100_000 && !c.destroyed) c.resetAndDestroy();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const err = await loop.runUntilComplete(async () => {
        const [reader, writer] = await openConnection('127.0.0.1', port);
        try {
          for (;;) {
            writer.write(randomBytes(CHUNK));
            await writer.drain();
            await sleep(loop, 0); // let Node's server run between writes
          }
        } catch (e) {
          writer.close();
          await writer.waitClosed().catch(() => {});
          // the reader reports the same reset
          await t.rejects(reader.read(10), { name: RESET_NAMES });
          return e as Error;
        }
      });
      t.match(err.name, RESET_NAMES, `${err}`);
      await new Promise<void>((r) => server.close(() => r()));
      finish(t, loop, errors, escapedBefore);
    });

    t.test('protocol server: the peer sends, then resets before reading', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const lost = future<Error | null>();
      let received = 0;
      await loop.runUntilComplete(async () => {
        const server = await loop.createServer(
          () => ({
            connectionMade(tr: Transport) {
              tr.write(Buffer.alloc(1000, 1)); // unread by the peer
            },
            dataReceived(d: Buffer) {
              received += d.length;
            },
            connectionLost(exc: Error | null) {
              lost.resolve(exc);
            },
          }),
          '127.0.0.1',
          0,
        );
        const client = net.connect(server.address()!.port, '127.0.0.1', () => {
          client.write(Buffer.alloc(5000, 2), () => setTimeout(() => client.resetAndDestroy(), 20));
        });
        client.on('error', () => {});
        const exc = await lost.promise;
        // A reset seen by recv() is ConnectionResetError; if the reset came
        // after EOF had been read it may be a clean close: both are fine.
        t.ok(exc === null || RESET_NAMES.test(exc.name), `connectionLost(${exc})`);
        server.close();
        await server.waitClosed();
      });
      t.equal(received, 5000, 'what was sent before the reset arrived');
      finish(t, loop, errors, escapedBefore);
    });

    // ------------------------------------------------------------ half-close

    t.test('protocol server: the peer half-closes; eofReceived keeps it open to reply', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const calls: string[] = [];
      const lost = future<Error | null>();
      const reply = await loop.runUntilComplete(async () => {
        const server = await loop.createServer(
          () => {
            let tr: Transport;
            const got: Buffer[] = [];
            return {
              connectionMade(t2: Transport) {
                tr = t2;
              },
              dataReceived(d: Buffer) {
                calls.push('data');
                got.push(d);
              },
              eofReceived() {
                calls.push('eof');
                tr.write(Buffer.concat([Buffer.from('got: '), ...got]));
                tr.close(); // after the reply is sent
                return true;
              },
              connectionLost(exc: Error | null) {
                calls.push('lost');
                lost.resolve(exc);
              },
            };
          },
          '127.0.0.1',
          0,
        );
        const replied = new Promise<string>((resolve, reject) => {
          const c = net.connect({ port: server.address()!.port, host: '127.0.0.1', allowHalfOpen: true });
          let out = '';
          c.setEncoding('utf8');
          c.on('connect', () => c.end('hello')); // write, then FIN
          c.on('data', (d: string) => (out += d));
          c.on('end', () => resolve(out));
          c.on('error', reject);
        });
        const r = await replied;
        t.equal(await lost.promise, null);
        server.close();
        await server.waitClosed();
        return r;
      });
      t.equal(reply, 'got: hello');
      t.equal(calls.filter((c) => c === 'eof').length, 1);
      t.equal(calls.at(-1), 'lost');
      finish(t, loop, errors, escapedBefore);
    });

    t.test('streams server: the peer half-closes; reader.atEof() and the writer still writes', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      let atEof = false;
      const payload = randomBytes(300_000);
      const reply = await loop.runUntilComplete(async () => {
        const server = await startServer(async (r, w) => {
          const all = await r.read(); // until EOF
          atEof = r.atEof();
          w.write(Buffer.from(`${all.length} bytes, sha-less echo follows\n`));
          w.write(all);
          await w.drain();
          w.close();
          await w.waitClosed();
        }, '127.0.0.1', 0);
        const got = await new Promise<Buffer>((resolve, reject) => {
          const c = net.connect({ port: server.address()!.port, host: '127.0.0.1', allowHalfOpen: true });
          const parts: Buffer[] = [];
          c.on('connect', () => c.end(payload));
          c.on('data', (d: Buffer) => parts.push(d));
          c.on('end', () => resolve(Buffer.concat(parts)));
          c.on('error', reject);
        });
        server.close();
        await server.waitClosed();
        return got;
      });
      t.ok(atEof, 'the server reader was at EOF');
      const nl = reply.indexOf(10);
      t.equal(reply.subarray(0, nl).toString(), `${payload.length} bytes, sha-less echo follows`);
      t.ok(reply.subarray(nl + 1).equals(payload), 'and then every byte');
      finish(t, loop, errors, escapedBefore);
    });

    t.test('client: writeEof() to a Node server that replies after its end', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const server = net.createServer({ allowHalfOpen: true }, (c) => {
        let n = 0;
        c.on('data', (d: Buffer) => (n += d.length));
        c.on('end', () => c.end(`server saw ${n} bytes`));
        c.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const reply = await loop.runUntilComplete(async () => {
        const [reader, writer] = await openConnection('127.0.0.1', port);
        writer.write(Buffer.alloc(12345));
        writer.writeEof();
        t.throws(() => writer.write(Buffer.from('x')), { name: 'RuntimeError' }, 'no write after writeEof');
        const r = await reader.read();
        t.ok(reader.atEof());
        writer.close();
        await writer.waitClosed();
        return r.toString();
      });
      t.equal(reply, 'server saw 12345 bytes');
      await new Promise<void>((r) => server.close(() => r()));
      finish(t, loop, errors, escapedBefore);
    });

    // ------------------------------------------------------ a peer that never reads

    /**
     * A client socket that does not read (a small receive buffer, so the
     * kernel holds little), and a way to read it all later on the loop.
     */
    const stalledClient = (port: number): Socket => {
      const c = new Socket();
      c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024);
      c.connect(['127.0.0.1', port]);
      c.setblocking(false);
      return c;
    };
    const readAll = async (loop: EventLoop, c: Socket, expect: number): Promise<{ n: number; ok: boolean }> => {
      let n = 0;
      let ok = true;
      for (;;) {
        const d = await loop.sockRecv(c, 1 << 16);
        if (d.length === 0) break;
        if (!checkPattern(d, n)) ok = false;
        n += d.length;
        if (n > expect) break;
      }
      return { n, ok };
    };
    const TOTAL = 8 << 20;

    t.test('protocol server: a peer that never reads; pauseWriting, a bounded buffer, then every byte', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const made = future<void>();
      const lost = future<Error | null>();
      let tr!: Transport;
      let written = 0;
      let pauses = 0;
      let resumes = 0;
      let paused = false;
      let maxBuffered = 0;
      const pump = (): void => {
        while (!paused && written < TOTAL) {
          const n = Math.min(CHUNK, TOTAL - written);
          tr.write(pattern(written, n));
          written += n;
          maxBuffered = Math.max(maxBuffered, tr.getWriteBufferSize());
        }
        if (written >= TOTAL) tr.close();
      };
      const proto: Protocol = {
        connectionMade(t2: Transport) {
          tr = t2;
          // a small kernel send buffer, so the transport's own buffer fills
          (tr.getExtraInfo('socket') as Socket).setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024);
          tr.setWriteBufferLimits(HIGH, LOW);
          made.resolve();
          pump();
        },
        pauseWriting() {
          pauses++;
          paused = true;
        },
        resumeWriting() {
          resumes++;
          paused = false;
          loop.callSoon(pump);
        },
        connectionLost(exc: Error | null) {
          lost.resolve(exc);
        },
      };
      await loop.runUntilComplete(async () => {
        const server = await loop.createServer(() => proto, '127.0.0.1', 0);
        const client = stalledClient(server.address()!.port);
        await made.promise;
        await waitFor(loop, () => pauses === 1, 10, 'pauseWriting');
        // Stalled: nothing more is written, the buffer stays bounded.
        const before = { written, size: tr.getWriteBufferSize() };
        await sleep(loop, 0.2);
        t.equal(pauses, 1, 'pauseWriting was called exactly once');
        t.equal(resumes, 0, 'and resumeWriting not at all while the peer does not read');
        t.equal(written, before.written, 'the protocol stopped writing');
        t.ok(written < TOTAL, `${written} of ${TOTAL} bytes written so far`);
        const size = tr.getWriteBufferSize();
        t.ok(maxBuffered > HIGH, `the buffer grew over high-water ${HIGH} (to ${maxBuffered}), hence the pause`);
        t.ok(maxBuffered <= HIGH + CHUNK, `and never over high-water + one chunk`);
        t.ok(size > LOW && size <= HIGH + CHUNK, `stalled with ${size} buffered: over low-water, so no resume; bounded`);
        t.ok(size <= before.size, 'and not growing');
        // The peer reads now: resumeWriting, and every byte arrives.
        const { n, ok } = await readAll(loop, client, TOTAL);
        t.equal(n, TOTAL, 'every byte arrived');
        t.ok(ok, 'in order, unchanged');
        t.ok(resumes >= 1, `resumeWriting called (${resumes}x, pauseWriting ${pauses}x)`);
        t.ok(Math.abs(pauses - resumes) <= 1, 'pauses and resumes alternate');
        t.equal(await lost.promise, null);
        client.close();
        server.close();
        await server.waitClosed();
      });
      finish(t, loop, errors, escapedBefore);
    });

    t.test('streams server: drain() blocks while the peer does not read, then completes', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      let writer!: StreamWriter;
      let written = 0;
      let inDrain = false;
      let maxBuffered = 0;
      const done = future<void>();
      await loop.runUntilComplete(async () => {
        const server = await startServer(async (_r, w) => {
          writer = w;
          (w.getExtraInfo('socket') as Socket).setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024);
          w.transport.setWriteBufferLimits(HIGH, LOW);
          while (written < TOTAL) {
            const n = Math.min(CHUNK, TOTAL - written);
            w.write(pattern(written, n));
            written += n;
            maxBuffered = Math.max(maxBuffered, w.transport.getWriteBufferSize());
            inDrain = true;
            await w.drain();
            inDrain = false;
          }
          w.close();
          await w.waitClosed();
          done.resolve();
        }, '127.0.0.1', 0);
        const client = stalledClient(server.address()!.port);
        await waitFor(loop, () => writer !== undefined && maxBuffered > HIGH, 10, 'a full buffer');
        const before = written;
        await sleep(loop, 0.2);
        t.ok(inDrain, 'drain() is still waiting');
        t.equal(written, before, 'nothing more was written');
        const size = writer.transport.getWriteBufferSize();
        t.ok(maxBuffered > HIGH && maxBuffered <= HIGH + CHUNK, `the buffer grew over high-water, to ${maxBuffered} <= high-water + one chunk`);
        t.ok(size > LOW && size <= HIGH + CHUNK, `stalled with ${size} buffered`);
        const { n, ok } = await readAll(loop, client, TOTAL);
        t.equal(n, TOTAL, 'every byte arrived');
        t.ok(ok, 'in order, unchanged');
        await done.promise;
        client.close();
        server.close();
        await server.waitClosed();
      });
      finish(t, loop, errors, escapedBefore);
    });

    t.test('a peer that never reads and then resets: the paused writer is released with the error', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      let writer!: StreamWriter;
      const failed = future<Error>();
      await loop.runUntilComplete(async () => {
        const server = await startServer(async (_r, w) => {
          writer = w;
          w.transport.setWriteBufferLimits(HIGH, LOW);
          try {
            for (;;) {
              w.write(Buffer.alloc(CHUNK));
              await w.drain();
            }
          } catch (e) {
            failed.resolve(e as Error);
          } finally {
            w.close();
          }
        }, '127.0.0.1', 0);
        const port = server.address()!.port;
        const client = net.connect(port, '127.0.0.1');
        client.on('error', () => {});
        client.pause(); // never reads
        await waitFor(loop, () => writer !== undefined && writer.transport.getWriteBufferSize() > HIGH, 10, 'a full buffer');
        client.resetAndDestroy();
        const e = await failed.promise;
        t.match(e.name, RESET_NAMES, `drain() rejected with ${e}`);
        await sleep(loop, 0.01);
        server.close();
        await server.waitClosed();
      });
      finish(t, loop, errors, escapedBefore);
    });
  });
}

for (const backend of BACKENDS) suite(backend);
