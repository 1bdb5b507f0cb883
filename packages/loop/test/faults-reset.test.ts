// Faults, on every backend: a peer that resets mid-write (a protocol
// server, a streams server whose drain() waits, a client) or before it
// reads. Each case ends with no exception escaping (the loop's exception
// handler, unhandled rejections and uncaught exceptions are all watched),
// every transport closed, nothing left in the selector, and no descriptor
// leaked.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  EventLoop,
  openConnection,
  startServer,
  type Protocol,
  type StreamReader,
  type StreamWriter,
  type Transport,
} from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { CHUNK, RESET_NAMES, watchFaults } from './faults-support.js';
import { BACKENDS, collectExceptions, future, sleep } from './helpers.js';

checkNoFdLeak(t);

// Nothing may escape: not as an unhandled rejection, not as an uncaught exception.
const { escaped, finish } = watchFaults(t);

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
  });
}

for (const backend of BACKENDS) suite(backend);
