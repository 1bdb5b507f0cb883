// Faults, on every backend: a peer that never reads (the transport's
// write-buffer limits and pauseWriting engage, its buffer stays bounded,
// and everything arrives once the peer reads), and one that then resets.
// Each case ends with no exception escaping (the loop's exception handler,
// unhandled rejections and uncaught exceptions are all watched), every
// transport closed, nothing left in the selector, and no descriptor leaked.
import t from 'tap';
import * as net from 'node:net';
import {
  EventLoop,
  startServer,
  type Protocol,
  type StreamWriter,
  type Transport,
} from '@iomux/loop';
import { socket, Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { CHUNK, HIGH, LOW, RESET_NAMES, watchFaults } from './faults-support.js';
import { BACKENDS, collectExceptions, future, sleep, waitFor } from './helpers.js';

checkNoFdLeak(t);

// Nothing may escape: not as an unhandled rejection, not as an uncaught exception.
const { escaped, finish } = watchFaults(t);

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

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
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
