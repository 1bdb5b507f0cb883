// unix-pipes.ts: the read pipe transport. CPython 3.11
// test_asyncio/test_unix_events.py UnixReadPipeTransportTests and
// test_events.py's read pipe tests, on every backend. Where CPython mocks
// os.read and the pipe object, these use real pipes, FIFOs, socketpairs
// and /dev/null, and a pipe object that records close().
import t from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { UnixReadPipeTransport } from '@iomux/loop';
import { OSError, os, socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, waitFor } from './helpers.js';
import { RecProto, pipeKit, ticks } from './pipes-support.js';

checkNoFdLeak(t);

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const { inLoop, readPipe } = pipeKit(backend);

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
  });
}

for (const backend of BACKENDS) suite(backend);
