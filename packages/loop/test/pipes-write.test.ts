// unix-pipes.ts: the write pipe transport. CPython 3.11
// test_asyncio/test_unix_events.py UnixWritePipeTransportTests and
// test_events.py's write pipe tests, on every backend. Where CPython mocks
// os.write and the pipe object, these use real pipes, socketpairs and
// /dev/null, and a pipe object that records close().
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { UnixWritePipeTransport } from '@iomux/loop';
import { OSError, os, socketpair } from '@iomux/core-native';
import { BrokenPipeError, ValueError } from '@iomux/core-native/error-classes';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, waitFor } from './helpers.js';
import { RecProto, pipeKit, ticks } from './pipes-support.js';

checkNoFdLeak(t);

/** Reads all a non-blocking descriptor holds now. */
function drain(fd: number, into: Buffer[]): void {
  for (;;) {
    let d: Buffer;
    try {
      d = os.read(fd, 1 << 20);
    } catch (e) {
      if (e instanceof OSError && e.name === 'BlockingIOError') return;
      throw e;
    }
    if (d.length === 0) return;
    into.push(d);
  }
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const { inLoop, pipeFor, writePipe } = pipeKit(backend);

    t.test('test_ctor test_can_write_eof (write)', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, pipe } = await writePipe(t, loop);
        t.type(tr, UnixWritePipeTransport);
        t.same(proto.calls, ['connectionMade']);
        t.equal(tr.getExtraInfo('pipe'), pipe);
        t.ok(tr.canWriteEof());
        t.equal(os.getBlocking(pipe.fd), false);
        t.same(tr.getWriteBufferLimits(), [16384, 65536]);
        tr.close();
        await proto.lost.promise;
        t.equal(pipe.closed, 1);
      }));

    t.test('test_write test_write_no_data', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, other: r } = await writePipe(t, loop);
        tr.write(Buffer.from('data'));
        tr.write(Buffer.alloc(0));
        tr.write(new Uint16Array([0x6968])); // any view: 'hi'
        t.equal(tr.getWriteBufferSize(), 0);
        t.equal(os.read(r, 100).toString(), 'datahi');
        t.throws(() => tr.write('str' as never), TypeError);
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test_write_partial test_write_buffer test__write_ready_partial: flow control', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, other: r } = await writePipe(t, loop);
        const payload = randomBytes(1 << 20);
        tr.write(payload);
        t.ok(tr.getWriteBufferSize() > 0, 'the pipe took part of it');
        t.same(proto.calls, ['connectionMade', 'pauseWriting']);
        const got: Buffer[] = [];
        await waitFor(loop, () => {
          drain(r, got);
          return tr.getWriteBufferSize() === 0;
        });
        drain(r, got);
        t.ok(Buffer.concat(got).equals(payload), 'every byte, in order');
        t.equal(proto.count('resumeWriting'), 1);
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test_write_err: EPIPE is quiet, connectionLost gets it', (t) =>
      inLoop(t, async (loop) => {
        const seen = collectExceptions(loop);
        const { tr, proto, closeOther } = await writePipe(t, loop);
        closeOther();
        tr.write(Buffer.from('data'));
        const err = await proto.lost.promise;
        t.type(err, BrokenPipeError);
        t.equal(seen.length, 0, 'an OSError goes to no exception handler');
        t.ok(tr.isClosing());
        tr.write(Buffer.from('more')); // dropped, counted
        t.equal(tr._connLost, 2);
      }));

    t.test('test_write_close: writes after close() are dropped', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, other: r } = await writePipe(t, loop);
        tr.close();
        tr.write(Buffer.from('data'));
        t.equal(tr._connLost, 1);
        await proto.lost.promise;
        t.equal(os.read(r, 10).length, 0, 'EOF, nothing written');
      }));

    t.test('test__read_ready: the reader closing is seen, with and without a buffer', (t) =>
      inLoop(t, async (loop) => {
        const a = await writePipe(t, loop);
        a.closeOther();
        t.equal(await a.proto.lost.promise, null, 'no buffer: a clean close');
        const b = await writePipe(t, loop);
        b.tr.write(randomBytes(1 << 20));
        t.ok(b.tr.getWriteBufferSize() > 0);
        b.closeOther();
        const err = await b.proto.lost.promise;
        t.type(err, BrokenPipeError, 'buffered data lost: BrokenPipeError');
        t.equal(b.tr.getWriteBufferSize(), 0);
      }));

    t.test('test_abort', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, pipe } = await writePipe(t, loop);
        tr.write(randomBytes(1 << 20));
        tr.abort();
        t.equal(tr.getWriteBufferSize(), 0);
        t.ok(tr.isClosing());
        t.equal(await proto.lost.promise, null);
        t.equal(pipe.closed, 1);
      }));

    t.test('abort() and close() of a closed pipe transport leave its old number alone', (t) =>
      inLoop(t, async (loop) => {
        for (const kind of ['read', 'write'] as const) {
          const { tr, proto, pipe } = await pipeFor(t, loop, kind);
          // A read transport has no abort(); a late fatal error ends in its _close().
          const again = (): void => (tr instanceof UnixWritePipeTransport ? tr.abort() : tr._close(null));
          again();
          t.equal(await proto.lost.promise, null);
          t.equal(pipe.closed, 1, `${kind}: closed`);
          // The next pipe takes the closed descriptor's number.
          const [r2, w2] = os.pipe();
          try {
            let called = 0;
            const onReady = (): void => {
              called++;
              loop.removeReader(r2);
            };
            loop.addReader(r2, onReady);
            t.equal(r2, pipe.fd, `${kind}: the new pipe's read end has the old number`);
            again();
            tr.close();
            os.write(w2, Buffer.from('x'));
            for (let i = 0; i < 50 && called === 0; i++) await new Promise((r) => setTimeout(r, 5));
            t.equal(called, 1, `${kind}: the new descriptor's reader still runs`);
          } finally {
            loop.removeReader(r2);
            os.close(r2);
            os.close(w2);
          }
        }
      }));

    t.test('test_write_eof test_write_eof_pending test__write_ready_closing', (t) =>
      inLoop(t, async (loop) => {
        const a = await writePipe(t, loop);
        a.tr.writeEof();
        t.ok(a.tr.isClosing());
        t.equal(await a.proto.lost.promise, null);
        const b = await writePipe(t, loop);
        const payload = randomBytes(300_000);
        b.tr.write(payload);
        b.tr.writeEof();
        b.tr.close(); // closing twice must not fail
        t.ok(b.tr.isClosing());
        await ticks(loop, 3);
        t.equal(b.proto.count('connectionLost'), 0, 'not before the buffer is written');
        const got: Buffer[] = [];
        await waitFor(loop, () => {
          drain(b.other, got);
          return b.proto.lost.done();
        });
        drain(b.other, got);
        t.ok(Buffer.concat(got).equals(payload));
        t.equal(b.pipe.closed, 1);
      }));

    t.test('setWriteBufferLimits (test_transports)', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto } = await writePipe(t, loop);
        tr.setWriteBufferLimits(1024);
        t.same(tr.getWriteBufferLimits(), [256, 1024]);
        tr.setWriteBufferLimits(null, 100);
        t.same(tr.getWriteBufferLimits(), [100, 400]);
        t.throws(() => tr.setWriteBufferLimits(1, 2), ValueError);
        t.throws(() => tr.setWriteBufferLimits(-1, -2), ValueError);
        tr.close();
        await proto.lost.promise;
      }));

    t.test('a socket and /dev/null as write pipes', (t) =>
      inLoop(t, async (loop) => {
        const [a, b] = socketpair();
        const p1 = new RecProto();
        const [tr] = await loop.connectWritePipe(() => p1, a);
        tr.write(Buffer.from('sock'));
        b.setblocking(false);
        await waitFor(loop, () => {
          try {
            return b.recv(10).toString() === 'sock';
          } catch {
            return false;
          }
        });
        b.close();
        t.equal(await p1.lost.promise, null, 'the peer closing is seen');
        const p2 = new RecProto();
        const [dn] = await loop.connectWritePipe(() => p2, fs.openSync('/dev/null', 'w'));
        dn.write(randomBytes(1 << 20));
        t.equal(dn.getWriteBufferSize(), 0);
        dn.close();
        t.equal(await p2.lost.promise, null);
        // A Node stream that owns the write end: closed with its destroy().
        const [r, w] = os.pipe();
        const ns = new net.Socket({ fd: w, readable: false, writable: true });
        const p3 = new RecProto();
        const [nt] = await loop.connectWritePipe(() => p3, ns);
        nt.write(Buffer.from('node'));
        nt.close();
        await p3.lost.promise;
        await new Promise((res) => ns.once('close', res));
        t.ok(ns.destroyed, 'destroy() was called');
        t.equal(os.read(r, 10).toString(), 'node');
        os.close(r);
      }));
  });
}

for (const backend of BACKENDS) suite(backend);
