// A BufferedProtocol (getBuffer/bufferUpdated) as the TLS echo server on
// both engines, as CPython 3.11 sslproto.py's _do_read__buffered runs it:
// every byte through the app's own small buffer (a full buffer leaves the
// rest for the next turn), the client's close_notify as eofReceived then
// connectionLost(null), and getBuffer's bad results as fatal errors (on
// memtls the ciphertext is fed and read in one feedReadAll call).
import t from 'tap';
import { RuntimeError } from '@iomux/core-native/error-classes';
import type { BufferedProtocol, Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectExceptions, newLoop, waitFor } from './helpers.js';
import { CollectProto, ENGINES, clientContext, pattern, serverContext, useEngine } from './tls-support.js';

checkNoFdLeak(t);

/** Echoes what lands in its `size`-byte buffer; records the hints, the counts and its life. */
class BufEcho implements BufferedProtocol {
  transport: Transport | null = null;
  readonly buf: Uint8Array;
  hints: number[] = [];
  counts: number[] = [];
  events: string[] = [];
  lostWith: Error | null | undefined = undefined;
  constructor(size: number, readonly bad: unknown = null) {
    this.buf = new Uint8Array(size);
  }
  connectionMade(tr: Transport): void {
    this.transport = tr;
    this.events.push('made');
  }
  getBuffer(hint: number): Uint8Array {
    this.hints.push(hint);
    return (this.bad ?? this.buf) as Uint8Array;
  }
  bufferUpdated(n: number): void {
    this.counts.push(n);
    this.transport!.write(Buffer.from(this.buf.subarray(0, n)));
  }
  eofReceived(): void {
    this.events.push('eof');
  }
  connectionLost(exc: Error | null): void {
    this.events.push('lost');
    this.lostWith = exc;
  }
}

for (const engine of ENGINES) {
  t.test(engine, async (t) => {
    useEngine(t, engine);

    t.test('echo through a 1000-byte buffer: every byte in order, full buffers, then close_notify as eof', async (t) => {
      const loop = newLoop(t);
      const handled = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const servers: BufEcho[] = [];
        const srv = await loop.createServer(() => servers[servers.push(new BufEcho(1000)) - 1]!, '127.0.0.1', 0, { ssl: serverContext() });
        const data = pattern(3, 60_000);
        const [tr, p] = await loop.createConnection(() => new CollectProto(data.length), '127.0.0.1', srv.address()!.port, { ssl: clientContext(), serverHostname: 'localhost' });
        // Small records one at a time, then big writes that fill the buffer many times over.
        for (let off = 0; off < 2000; off += 100) {
          tr.write(data.subarray(off, off + 100));
          await waitFor(loop, () => p.got >= off + 100, 10, 'a small echo');
        }
        tr.write(data.subarray(2000, 30_000));
        tr.write(data.subarray(30_000));
        t.ok((await p.done).equals(data), 'the echo is every byte, in order');
        const s = servers[0]!;
        t.ok(s.counts.every((n) => n > 0 && n <= 1000), 'bufferUpdated counts stay within the buffer');
        t.ok(s.counts.includes(1000), 'the buffer filled (the rest came on a later turn)');
        t.equal(s.counts.reduce((a, b) => a + b, 0), data.length, 'bufferUpdated counts add up to what was sent');
        t.ok(s.hints.every((h) => h > 0), 'getBuffer is told a size above 0');
        tr.close();
        await waitFor(loop, () => s.events.includes('lost') && p.events.includes('lost'), 10, 'both ends lost');
        t.same(s.events, ['made', 'eof', 'lost'], "the client's close_notify: eofReceived, then connectionLost");
        t.equal(s.lostWith, null, 'a clean close');
        t.equal(handled.length, 0, 'nothing for the exception handler');
        srv.close();
        await srv.waitClosed();
      });
    });

    for (const [bad, cls, message] of [
      [new Uint8Array(0), RuntimeError, 'get_buffer() returned an empty buffer'],
      ['text', TypeError, 'get_buffer() must return a bytes-like object, not str'],
    ] as const) {
      t.test(`getBuffer returning ${typeof bad === 'string' ? 'a string' : 'an empty buffer'}: a fatal ${cls.name}, the connection lost with it`, async (t) => {
        const loop = newLoop(t);
        const handled = collectExceptions(loop);
        await loop.runUntilComplete(async () => {
          const servers: BufEcho[] = [];
          const srv = await loop.createServer(() => servers[servers.push(new BufEcho(1000, bad)) - 1]!, '127.0.0.1', 0, { ssl: serverContext() });
          const [tr, p] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port, { ssl: clientContext(), serverHostname: 'localhost' });
          tr.write(Buffer.from('hello'));
          await waitFor(loop, () => servers[0]?.events.includes('lost') === true && p.events.includes('lost'), 10, 'both ends lost');
          const s = servers[0]!;
          t.ok(s.lostWith instanceof cls, `connectionLost gets the ${cls.name}`);
          t.equal(s.lostWith?.message, message);
          t.same(s.counts, [], 'bufferUpdated never called');
          t.equal(p.got, 0, 'nothing echoed');
          t.ok(handled.some((h) => h.message === 'Fatal error on SSL protocol' && h.exception === s.lostWith), "asyncio's 'Fatal error on SSL protocol' to the exception handler");
          srv.close();
          await srv.waitClosed();
        });
      });
    }
  });
}
