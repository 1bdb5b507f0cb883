// unix-pipes.ts: CPython 3.11 test_asyncio/test_unix_events.py
// UnixReadPipeTransportTests and UnixWritePipeTransportTests, and
// test_events.py's pipe tests, on every backend. Where CPython mocks
// os.read/os.write and the pipe object, these use real pipes, FIFOs,
// socketpairs and /dev/null, and a pipe object that records close().
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventLoop, UnixReadPipeTransport, UnixWritePipeTransport, type BaseProtocol, type Protocol } from '@iomux/loop';
import { OSError, os, socketpair } from '@iomux/core-native';
import { BrokenPipeError, OverflowError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, future, runBriefly, waitFor } from './helpers.js';

checkNoFdLeak(t);

/** test_utils.make_test_protocol: records every call. */
class RecProto implements Protocol {
  calls: string[] = [];
  data: Buffer[] = [];
  lostWith: Array<Error | null> = [];
  lost = future<Error | null>();
  transport: unknown = null;
  connectionMade(tr: unknown): void {
    this.calls.push('connectionMade');
    this.transport = tr;
  }
  dataReceived(d: Buffer): void {
    this.calls.push('dataReceived');
    this.data.push(d);
  }
  eofReceived(): undefined {
    this.calls.push('eofReceived');
  }
  connectionLost(exc: Error | null): void {
    this.calls.push('connectionLost');
    this.lostWith.push(exc);
    this.lost.resolve(exc);
  }
  pauseWriting = (): number => this.calls.push('pauseWriting');
  resumeWriting = (): number => this.calls.push('resumeWriting');
  count = (name: string): number => this.calls.filter((c) => c === name).length;
}

/** CPython's mock pipe: a fileno() and a close() that records its call (and closes the fd). */
class Pipe {
  closed = 0;
  constructor(readonly fd: number) {}
  fileno = (): number => this.fd;
  close = (): void => void (this.closed++, os.close(this.fd));
}

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

/** `n` iterations of a running loop. */
async function ticks(loop: EventLoop, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => loop.callSoon(r));
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    /** Runs `body` inside a fresh loop, then closes the loop. */
    const inLoop = async (t: Test, body: (loop: EventLoop) => Promise<void>): Promise<void> => {
      const loop = new EventLoop({ selector: backend });
      try {
        await loop.runUntilComplete(() => body(loop));
        await runBriefly(loop);
      } finally {
        loop.close();
      }
      t.pass('ran');
    };
    /**
     * A pipe, one end owned by a read (or write) transport; `other` is the
     * other end, which `closeOther()` closes once (at teardown if the test did not).
     */
    const pipeFor = async <K extends 'read' | 'write'>(t: Test, loop: EventLoop, kind: K, proto = new RecProto()) => {
      const [r, w] = os.pipe();
      const [mine, other] = kind === 'read' ? [r, w] : [w, r];
      os.setBlocking(other, false);
      let open = true;
      const closeOther = (): void => {
        if (open) os.close(other);
        open = false;
      };
      t.teardown(closeOther);
      const pipe = new Pipe(mine);
      const made = kind === 'read' ? loop.connectReadPipe(() => proto, pipe) : loop.connectWritePipe(() => proto, pipe);
      const [tr] = await made;
      return { tr: tr as K extends 'read' ? UnixReadPipeTransport : UnixWritePipeTransport, proto, pipe, other, closeOther };
    };
    const readPipe = (t: Test, loop: EventLoop, proto?: RecProto) => pipeFor(t, loop, 'read', proto);
    const writePipe = (t: Test, loop: EventLoop, proto?: RecProto) => pipeFor(t, loop, 'write', proto);

    // ------------------------------------------------------------ read pipe

    t.test('test_ctor', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, pipe } = await readPipe(t, loop);
        t.type(tr, UnixReadPipeTransport);
        t.same(proto.calls, ['connectionMade']);
        t.equal(proto.transport, tr);
        t.equal(tr.getExtraInfo('pipe'), pipe);
        t.equal(tr.getExtraInfo('nope', 7), 7);
        t.ok(tr.isReading());
        t.equal(os.getBlocking(pipe.fd), false, 'made non-blocking');
        t.match(String(tr), /^<UnixReadPipeTransport fd=\d+>$/);
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test__read_ready', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, other: w } = await readPipe(t, loop);
        os.write(w, Buffer.from('data'));
        await waitFor(loop, () => proto.data.length > 0);
        t.equal(Buffer.concat(proto.data).toString(), 'data');
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test__read_ready_eof', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, pipe, closeOther } = await readPipe(t, loop);
        closeOther();
        t.equal(await proto.lost.promise, null);
        t.ok(tr.isClosing());
        t.same(proto.calls, ['connectionMade', 'eofReceived', 'connectionLost']);
        t.equal(pipe.closed, 1, 'pipe.close() called once');
      }));

    t.test('test__read_ready_blocked', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto } = await readPipe(t, loop);
        tr._readReady(); // nothing to read: EAGAIN
        t.same(proto.calls, ['connectionMade']);
        t.notOk(tr.isClosing());
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test__read_ready_error', (t) =>
      inLoop(t, async (loop) => {
        const seen = collectExceptions(loop);
        // Closing a unix socket with unread data resets its peer: ECONNRESET.
        const [a, b] = socketpair();
        b.send(Buffer.from('unread'));
        const proto = new RecProto();
        const [tr] = await loop.connectReadPipe(() => proto, a);
        a.send(Buffer.from('x'));
        b.close();
        const err = await proto.lost.promise;
        t.type(err, OSError);
        t.equal((err as OSError).code, 'ECONNRESET');
        t.equal(seen.length, 1);
        t.equal(seen[0]!.message, 'Fatal read error on pipe transport');
        t.equal(seen[0]!.transport, tr);
        t.equal(a.fileno(), -1, 'the socket was closed');
      }));

    t.test('test_pause_reading test_resume_reading', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, other: w } = await readPipe(t, loop);
        tr.pauseReading();
        t.notOk(tr.isReading());
        os.write(w, Buffer.from('data'));
        await ticks(loop, 5);
        t.same(proto.data, [], 'nothing read while paused');
        tr.resumeReading();
        t.ok(tr.isReading());
        await waitFor(loop, () => proto.data.length > 0);
        t.equal(Buffer.concat(proto.data).toString(), 'data');
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test_close test_close_already_closing', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, pipe } = await readPipe(t, loop);
        tr.close();
        t.ok(tr.isClosing());
        t.notOk(tr.isReading());
        tr.close();
        t.equal(await proto.lost.promise, null);
        await ticks(loop, 3);
        t.equal(proto.count('connectionLost'), 1);
        t.equal(pipe.closed, 1);
        t.match(String(tr), /closed/);
      }));

    t.test('test__close test__call_connection_lost_with_err', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto, pipe } = await readPipe(t, loop);
        const err = new OSError('boom');
        tr._close(err);
        t.equal(await proto.lost.promise, err);
        t.equal(pipe.closed, 1);
      }));

    t.test('test_pause_reading_on_closed_pipe test_resume_reading_on_closed_pipe', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto } = await readPipe(t, loop);
        tr.close();
        await proto.lost.promise;
        tr.pauseReading();
        t.notOk(tr._paused);
        tr.resumeReading();
        t.notOk(tr.isReading());
      }));

    t.test('test_pause_reading_on_paused_pipe test_resume_reading_on_paused_pipe', (t) =>
      inLoop(t, async (loop) => {
        const { tr, proto } = await readPipe(t, loop);
        tr.pauseReading();
        tr.pauseReading(); // a no-op
        t.ok(tr._paused);
        tr.resumeReading();
        tr.resumeReading(); // a no-op
        t.notOk(tr._paused);
        tr.close();
        await proto.lost.promise;
      }));

    t.test('test_read_pipe (test_events): chunks, then EOF', (t) =>
      inLoop(t, async (loop) => {
        const { proto, other: w, closeOther } = await readPipe(t, loop);
        const payload = randomBytes(1 << 20);
        let off = 0;
        while (off < payload.length) {
          try {
            off += os.write(w, payload.subarray(off));
          } catch {
            await new Promise((r) => loop.callLater(0.001, r));
          }
        }
        closeOther();
        await proto.lost.promise;
        t.ok(Buffer.concat(proto.data).equals(payload), '1 MiB in order');
        t.equal(proto.calls.at(-2), 'eofReceived');
      }));

    t.test('a FIFO and a character device (/dev/null) read to EOF', (t) =>
      inLoop(t, async (loop) => {
        const dir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-fifo-'));
        t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
        const fifo = path.join(dir, 'f');
        execFileSync('mkfifo', [fifo]);
        const r = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        const w = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        const p1 = new RecProto();
        await loop.connectReadPipe(() => p1, r);
        fs.writeSync(w, 'fifo');
        fs.closeSync(w);
        await p1.lost.promise;
        t.equal(Buffer.concat(p1.data).toString(), 'fifo');
        const p2 = new RecProto();
        await loop.connectReadPipe(() => p2, fs.openSync('/dev/null', 'r'));
        t.equal(await p2.lost.promise, null);
        t.same(p2.calls, ['connectionMade', 'eofReceived', 'connectionLost']);
      }));

    // ----------------------------------------------------------- write pipe

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

    // --------------------------------------------------------- hostile input

    t.test('hostile pipes', (t) =>
      inLoop(t, async (loop) => {
        const proto = (): RecProto => new RecProto();
        const file = fs.openSync(__filename, 'r');
        t.teardown(() => fs.closeSync(file));
        await t.rejects(loop.connectReadPipe(proto, file), new ValueError('Pipe transport is for pipes/sockets only.'));
        await t.rejects(loop.connectWritePipe(proto, file), new ValueError('Pipe transport is only for pipes, sockets and character devices'));
        const dir = fs.openSync(nodeOs.tmpdir(), 'r');
        await t.rejects(loop.connectReadPipe(proto, dir), ValueError, 'a directory');
        fs.closeSync(dir);
        // A number no descriptor has (a just-closed one may be reused at once).
        await t.rejects(loop.connectReadPipe(proto, 2 ** 30), { name: 'OSError', code: 'EBADF' }, 'a descriptor not open');
        await t.rejects(loop.connectWritePipe(proto, 2 ** 30), { name: 'OSError', code: 'EBADF' });
        await t.rejects(loop.connectReadPipe(proto, -1), ValueError, 'a negative descriptor');
        await t.rejects(loop.connectReadPipe(proto, 2 ** 31), OverflowError);
        await t.rejects(loop.connectReadPipe(proto, 'pipe' as never), TypeError);
        await t.rejects(loop.connectReadPipe(proto, 1.5), TypeError);
        await t.rejects(loop.connectReadPipe(proto, { fileno: () => 'x' }), TypeError);
        await t.rejects(loop.connectReadPipe(proto, { fileno: () => { throw new RangeError('mine'); } }), RangeError);
        await t.rejects(loop.connectReadPipe(42 as never, 0), TypeError, 'a factory that is no function');
        await t.rejects(loop.connectWritePipe(() => { throw new RangeError('factory'); }, 1), RangeError);
      }));
  });
}

t.test('a closed loop refuses pipes', async (t) => {
  const loop = new EventLoop();
  loop.close();
  await t.rejects(loop.connectReadPipe(() => new RecProto(), 0), RuntimeError);
  await t.rejects(loop.connectWritePipe((): BaseProtocol => ({}), 1), RuntimeError);
});

for (const backend of BACKENDS) suite(backend);
