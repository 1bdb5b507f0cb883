// transports.ts: CPython 3.11 test_asyncio/test_selector_events.py
// SelectorTransportTests and SelectorSocketTransportTests, and
// test_transports.py (flow-control limits), on every backend. Where CPython
// gives the transport a mock socket, these tests give it one end of a real
// socketpair (or a TCP connection) and act on the other end; the protocol
// records its calls as CPython's mock protocol does.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { EventLoop, SelectorSocketTransport, isBufferedProtocol, startServer, type BufferedProtocol, type Protocol, type Transport } from '@iomux/loop';
import { EVENT_READ, EVENT_WRITE } from '@iomux/selectors';
import { OSError, batch, socket, socketpair, type Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, future, recordingLogger, runBriefly, runUntil } from './helpers.js';

checkNoFdLeak(t);

/** test_utils.make_test_protocol: records every call; behaviour by hooks. */
class RecProto implements Protocol {
  calls: string[] = [];
  data: Buffer[] = [];
  lostWith: Array<Error | null> = [];
  lost = future<Error | null>();
  eofReturn: boolean | undefined = undefined;
  made: ((tr: Transport) => void) | null = null;
  onData: ((d: Buffer) => void) | null = null;
  onEof: (() => void) | null = null;
  transport: Transport | null = null;
  connectionMade(tr: Transport): void {
    this.calls.push('connectionMade');
    this.transport = tr;
    this.made?.(tr);
  }
  dataReceived(d: Buffer): void {
    this.calls.push('dataReceived');
    this.data.push(d);
    this.onData?.(d);
  }
  eofReceived(): boolean | undefined {
    this.calls.push('eofReceived');
    this.onEof?.();
    return this.eofReturn;
  }
  connectionLost(exc: Error | null): void {
    this.calls.push('connectionLost');
    this.lostWith.push(exc);
    this.lost.resolve(exc);
  }
  pauseWriting(): void {
    this.calls.push('pauseWriting');
  }
  resumeWriting(): void {
    this.calls.push('resumeWriting');
  }
  count(name: string): number {
    return this.calls.filter((c) => c === name).length;
  }
  received(): Buffer {
    return Buffer.concat(this.data);
  }
}

/**
 * test_selector_events.py's BufferedProtocol mock: hands out `buffer`
 * (16 bytes unless set) and records what each bufferUpdated() saw.
 */
class BufProto extends RecProto implements BufferedProtocol {
  buffer: ArrayBufferView = Buffer.alloc(16);
  hints: number[] = [];
  chunks: Buffer[] = [];
  onUpdated: ((n: number) => void) | null = null;
  getBuffer(sizeHint: number): ArrayBufferView {
    this.calls.push('getBuffer');
    this.hints.push(sizeHint);
    return this.buffer;
  }
  bufferUpdated(nbytes: number): void {
    this.calls.push('bufferUpdated');
    const b = this.buffer;
    this.chunks.push(Buffer.from(new Uint8Array(b.buffer, b.byteOffset, nbytes)));
    this.onUpdated?.(nbytes);
  }
  got(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

/** Reads everything available from a non-blocking socket (until EAGAIN or EOF). */
function drainPeer(sock: Socket, into: Buffer[]): 'eof' | 'more' {
  for (;;) {
    let d: Buffer;
    try {
      d = sock.recv(1 << 20);
    } catch (e) {
      if ((e as Error).name === 'BlockingIOError') return 'more';
      throw e;
    }
    if (d.length === 0) return 'eof';
    into.push(d);
  }
}

/**
 * The tests for one backend; with `batchIo` 'syscalls', the loop's read and
 * write batches make a syscall per transport instead of going through the
 * thread's io_uring (core-native batch.batchIo).
 */
function suite(backend: string, batchIo?: 'syscalls'): void {
  t.test(`backend ${backend}${batchIo !== undefined ? `, batches through ${batchIo}` : ''}`, async (t) => {
    if (batchIo !== undefined) {
      const before = batch.batchIo();
      t.not(batch.batchIo(batchIo), 'io_uring');
      t.teardown(() => {
        batch.batchIo(before === 'io_uring' ? 'io_uring' : 'syscalls');
      });
    }
    /** A loop, a transport on one end of a socketpair, its protocol and the other end. */
    const setup = (t: Test, proto: RecProto = new RecProto()) => {
      const loop = new EventLoop({ selector: backend });
      const [sock, peer] = socketpair();
      sock.setblocking(false);
      peer.setblocking(false);
      const tr = new SelectorSocketTransport(loop, sock, proto);
      t.teardown(async () => {
        if (!tr._connLost) tr.abort();
        if (!loop.isClosed()) {
          await runBriefly(loop);
          loop.close();
        }
        sock.close();
        peer.close();
      });
      return { loop, sock, peer, tr, proto, fd: sock.fileno() };
    };
    const hasReader = (loop: EventLoop, fd: number): boolean => {
      const key = loop._selector.getMap()!.get(fd);
      return key !== undefined && (key.events & EVENT_READ) !== 0 && key.data![0] !== null;
    };
    const hasWriter = (loop: EventLoop, fd: number): boolean => {
      const key = loop._selector.getMap()!.get(fd);
      return key !== undefined && (key.events & EVENT_WRITE) !== 0 && key.data![1] !== null;
    };
    /** Fills the transport's socket buffer, so that the next write buffers. */
    const fill = (tr: SelectorSocketTransport): number => {
      const big = Buffer.alloc(1 << 20, 'f');
      tr.write(big);
      return big.length;
    };

    t.test('test_ctor', async (t) => {
      const { loop, sock, tr, proto, fd } = setup(t);
      t.equal(tr._loop, loop);
      t.equal(tr._sock, sock);
      t.equal(tr._sockFd, fd);
      t.same(proto.calls, [], 'connectionMade is called soon, not now');
      await runBriefly(loop);
      t.ok(hasReader(loop, fd), 'reading');
      t.same(proto.calls, ['connectionMade']);
      t.equal(proto.transport, tr);
    });

    t.test('test_get_extra_info', async (t) => {
      const { sock, tr } = setup(t);
      t.equal(tr.getExtraInfo('socket'), sock);
      t.equal(tr.getExtraInfo('sockname'), sock.getsockname());
      t.equal(tr.getExtraInfo('peername'), sock.getpeername());
      t.equal(tr.getExtraInfo('unknown'), null);
      t.equal(tr.getExtraInfo('unknown', 'default'), 'default');
    });

    t.test('test_pause_resume_reading', async (t) => {
      const { loop, tr, fd } = setup(t);
      await runBriefly(loop);
      t.notOk(tr._paused);
      t.ok(tr.isReading());
      t.ok(hasReader(loop, fd));
      tr.pauseReading();
      tr.pauseReading();
      t.ok(tr._paused);
      t.notOk(tr.isReading());
      t.notOk(hasReader(loop, fd));
      tr.resumeReading();
      tr.resumeReading();
      t.notOk(tr._paused);
      t.ok(tr.isReading());
      t.ok(hasReader(loop, fd));
      tr.close();
      t.notOk(tr.isReading());
      t.notOk(hasReader(loop, fd));
    });

    t.test('test_pause_reading_connection_made', async (t) => {
      const proto = new RecProto();
      proto.made = (tr) => tr.pauseReading();
      const { loop, tr, fd } = setup(t, proto);
      await runBriefly(loop);
      t.notOk(tr.isReading());
      t.notOk(hasReader(loop, fd));
      tr.resumeReading();
      t.ok(tr.isReading());
      t.ok(hasReader(loop, fd));
      tr.close();
      t.notOk(tr.isReading());
      t.notOk(hasReader(loop, fd));
    });

    t.test('paused reading delivers nothing until resumed', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      tr.pauseReading();
      peer.send(Buffer.from('held'));
      await runBriefly(loop);
      await runBriefly(loop);
      t.equal(proto.count('dataReceived'), 0);
      tr.resumeReading();
      await runUntil(loop, () => proto.count('dataReceived') > 0);
      t.equal(proto.received().toString(), 'held');
    });

    t.test('test_read_ready', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      const events: Buffer[] = [];
      tr.on('data', (d: Buffer) => events.push(d));
      peer.send(Buffer.from('data'));
      await runUntil(loop, () => proto.data.length > 0);
      t.equal(proto.received().toString(), 'data');
      t.equal(Buffer.concat(events).toString(), 'data', "and the 'data' event");
    });

    t.test('every chunk received is a Buffer of its own, whatever its size', async (t) => {
      const { loop, peer, proto } = setup(t);
      // Sizes on both sides of Node's pool limit (4 KiB), inside and beyond
      // the transport's shared slab range (4-8 KiB), and enough 5000-byte
      // chunks to need a second 64 KiB slab.
      const sizes = [1, 100, 4095, 4096, 5000, 8192, 8193, 70000, ...Array<number>(20).fill(5000)];
      const sent: Buffer[] = [];
      for (const [i, n] of sizes.entries()) {
        const chunk = Buffer.alloc(n, i + 1);
        sent.push(chunk);
        let off = 0;
        while (off < n) off += peer.send(chunk.subarray(off));
        // One chunk per recv(): wait for it before sending the next.
        await runUntil(loop, () => proto.received().length === sent.reduce((a, b) => a + b.length, 0));
      }
      const all = Buffer.concat(sent);
      t.same(proto.received(), all, 'every byte, in order');
      t.ok(proto.data.length >= sizes.length, 'one dataReceived per chunk at least');
      // Zero each chunk in turn: no chunk shares bytes with another (those
      // after it still hold what was sent).
      let off = 0;
      let intact = true;
      for (const d of proto.data) {
        if (!d.equals(all.subarray(off, off + d.length))) intact = false;
        d.fill(0);
        off += d.length;
      }
      t.ok(intact, 'zeroing a chunk changed no other');
    });

    t.test('test_read_ready_eof', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      let ended = false;
      let closed: boolean | null = null;
      tr.on('end', () => (ended = true));
      tr.on('close', (hadError: boolean) => (closed = hadError));
      peer.shutdown(socket.SHUT_WR);
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
      t.same(proto.calls, ['connectionMade', 'eofReceived', 'connectionLost']);
      t.ok(tr.isClosing(), 'eofReceived returned nothing: the transport closed');
      t.ok(ended, "'end'");
      t.equal(closed, false, "'close' without error");
      t.equal(tr._sock, null, 'the socket is closed');
    });

    t.test('test_read_ready_eof_keep_open', async (t) => {
      const proto = new RecProto();
      proto.eofReturn = true;
      const { loop, peer, tr, fd } = setup(t, proto);
      peer.shutdown(socket.SHUT_WR);
      await runUntil(loop, () => proto.count('eofReceived') === 1);
      t.notOk(tr.isClosing(), 'kept open');
      t.notOk(hasReader(loop, fd), 'but not reading any more');
      t.equal(proto.count('connectionLost'), 0);
      // still writable (half-close)
      tr.write(Buffer.from('after eof'));
      const got: Buffer[] = [];
      await runUntil(loop, () => (drainPeer(peer, got), Buffer.concat(got).length === 9));
      t.equal(Buffer.concat(got).toString(), 'after eof');
      tr.close();
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
    });

    t.test('test_read_ready_tryagain: nothing to read is not an error', async (t) => {
      const { loop, tr, proto } = setup(t);
      const errors = collectExceptions(loop);
      await runBriefly(loop);
      tr._readReady();
      tr._readReady();
      await runBriefly(loop);
      t.notOk(tr.isClosing());
      t.same(proto.calls, ['connectionMade']);
      t.same(errors, []);
    });

    t.test('test_read_ready_conn_reset', async (t) => {
      // An AF_UNIX peer that closes with unread data resets the connection.
      const { loop, peer, tr, proto } = setup(t);
      const errors = collectExceptions(loop);
      let closedWithError: boolean | null = null;
      let errorEvent: unknown = null;
      tr.on('close', (e: boolean) => (closedWithError = e));
      tr.on('error', (e: unknown) => (errorEvent = e));
      await runBriefly(loop);
      tr.write(Buffer.from('unread'));
      peer.close();
      const exc = await loop.runUntilComplete(proto.lost.promise);
      t.type(exc, OSError);
      t.equal(exc!.name, 'ConnectionResetError');
      t.same(errors, [], 'an OSError is not reported to the exception handler');
      t.equal(closedWithError, true);
      t.equal(errorEvent, exc, "the 'error' event carries it");
    });

    t.test('test_data_received_error', async (t) => {
      const proto = new RecProto();
      const err = new RangeError('lookup');
      proto.onData = () => {
        throw err;
      };
      const { loop, peer, tr } = setup(t, proto);
      const errors = collectExceptions(loop);
      peer.send(Buffer.from('data'));
      t.equal(await loop.runUntilComplete(proto.lost.promise), err);
      t.equal(errors.length, 1);
      t.equal(errors[0]!.message, 'Fatal error: protocol.data_received() call failed.');
      t.equal(errors[0]!.exception, err);
      t.equal(errors[0]!.transport, tr);
      t.equal(errors[0]!.protocol, proto);
    });

    t.test('test_read_eof_received_error', async (t) => {
      const proto = new RecProto();
      const err = new RangeError('lookup');
      proto.onEof = () => {
        throw err;
      };
      const { loop, peer } = setup(t, proto);
      const errors = collectExceptions(loop);
      peer.shutdown(socket.SHUT_WR);
      t.equal(await loop.runUntilComplete(proto.lost.promise), err);
      t.equal(errors.length, 1);
      t.equal(errors[0]!.message, 'Fatal error: protocol.eof_received() call failed.');
    });

    t.test('test_write / test_write_bytearray / test_write_memoryview', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      const ba = new Uint8Array(Buffer.from('bytearray'));
      const mv = new Uint8Array(Buffer.from('xxmemoryviewxx'));
      const dv = new DataView(mv.buffer, 2, 10);
      tr.write(Buffer.from('data'));
      tr.write(ba);
      tr.write(dv);
      t.equal(tr.getWriteBufferSize(), 0, 'all sent at once');
      t.equal(Buffer.from(ba).toString(), 'bytearray', "hasn't been mutated");
      const got: Buffer[] = [];
      drainPeer(peer, got);
      t.equal(Buffer.concat(got).toString(), 'databytearraymemoryview');
    });

    t.test('batched writes of other views: a DataView, a Uint16Array, an empty view', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      const mv = new Uint8Array(Buffer.from('xxmemoryviewxx'));
      loop.callSoon(() => {
        tr.write(new DataView(mv.buffer, 2, 10));
        tr.write(new Uint16Array([0x6968])); // 'hi' in little-endian bytes
        tr.write(new DataView(mv.buffer, 0, 0));
        t.equal(tr.getWriteBufferSize(), 12, 'queued in the batch');
      });
      await runUntil(loop, () => tr.getWriteBufferSize() === 0, 5);
      const got: Buffer[] = [];
      drainPeer(peer, got);
      t.equal(Buffer.concat(got).toString(), 'memoryviewhi');
    });

    t.test('test_write_no_data', async (t) => {
      const { loop, tr } = setup(t);
      await runBriefly(loop);
      fill(tr);
      const size = tr.getWriteBufferSize();
      const chunks = tr._buffer.length;
      tr.write(Buffer.alloc(0));
      t.equal(tr.getWriteBufferSize(), size);
      t.equal(tr._buffer.length, chunks);
    });

    t.test('test_write_partial and test_write_buffer', async (t) => {
      const { loop, peer, tr, fd } = setup(t);
      await runBriefly(loop);
      const n = fill(tr);
      t.ok(tr.getWriteBufferSize() > 0 && tr.getWriteBufferSize() < n, 'partly sent, the rest buffered');
      t.ok(hasWriter(loop, fd), 'waiting to write');
      const before = tr.getWriteBufferSize();
      tr.write(Buffer.from('data2'));
      t.equal(tr.getWriteBufferSize(), before + 5, 'appended without a send');
      t.equal(tr._buffer.at(-1)!.toString(), 'data2');
      // the reader drains it all; the writer goes away
      const got: Buffer[] = [];
      let total = 0;
      await runUntil(loop, () => {
        drainPeer(peer, got);
        total = got.reduce((a, b) => a + b.length, 0);
        return total === n + 5;
      });
      t.equal(tr.getWriteBufferSize(), 0);
      t.notOk(hasWriter(loop, fd));
      t.equal(Buffer.concat(got).subarray(n).toString(), 'data2');
    });

    t.test('write() copies what it buffers: the caller may reuse its buffer', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      const n = fill(tr);
      const reused = Buffer.from('AAAA');
      tr.write(reused);
      reused.fill('B');
      const got: Buffer[] = [];
      await runUntil(loop, () => (drainPeer(peer, got), got.reduce((a, b) => a + b.length, 0) === n + 4));
      t.equal(Buffer.concat(got).subarray(n).toString(), 'AAAA');
    });

    t.test('test_write_str', async (t) => {
      const { tr } = setup(t);
      t.throws(() => tr.write('str' as any), { name: 'TypeError', message: "data argument must be a bytes-like object, not 'str'" });
      t.throws(() => tr.write(null as any), { name: 'TypeError', message: "data argument must be a bytes-like object, not 'NoneType'" });
    });

    t.test('test_writelines', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      tr.writelines([Buffer.from('line1\n'), Buffer.from('line2\n'), new Uint8Array([0x33, 0x0a])]);
      const got: Buffer[] = [];
      await runUntil(loop, () => (drainPeer(peer, got), Buffer.concat(got).length === 14));
      t.equal(Buffer.concat(got).toString(), 'line1\nline2\n3\n');
    });

    t.test('test_write_closing', async (t) => {
      const { loop, tr } = setup(t);
      await runBriefly(loop);
      tr.close();
      t.equal(tr._connLost, 1);
      tr.write(Buffer.from('data'));
      t.equal(tr._connLost, 2);
    });

    t.test('test_write_exception: writes after a send error are counted and logged', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      const log = recordingLogger();
      loop.logger = log.logger;
      await runBriefly(loop);
      peer.close();
      tr.write(Buffer.from('data')); // EPIPE
      t.equal(tr._connLost, 1, 'the send error closed the transport');
      t.ok(tr.isClosing());
      tr.write(Buffer.from('data'));
      t.equal(tr._connLost, 2);
      for (let i = 0; i < 4; i++) tr.write(Buffer.from('data'));
      t.same(log.warn.at(-1), ['socket.send() raised exception.']);
      const exc = await loop.runUntilComplete(proto.lost.promise);
      t.match(exc!.name, /BrokenPipeError|ConnectionResetError/);
    });

    t.test('test_close', async (t) => {
      const { loop, tr, fd, proto } = setup(t);
      await runBriefly(loop);
      tr.close();
      t.ok(tr.isClosing());
      t.notOk(hasReader(loop, fd));
      t.equal(tr._connLost, 1);
      tr.close();
      t.equal(tr._connLost, 1, 'a second close does nothing');
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
      t.equal(proto.count('connectionLost'), 1);
    });

    t.test('test_close_write_buffer and test_write_ready_closing', async (t) => {
      const { loop, peer, tr, fd, proto } = setup(t);
      await runBriefly(loop);
      const n = fill(tr);
      tr.close();
      t.notOk(hasReader(loop, fd));
      await runBriefly(loop);
      t.equal(proto.count('connectionLost'), 0, 'not while data is buffered');
      const got: Buffer[] = [];
      await runUntil(loop, () => drainPeer(peer, got) === 'eof');
      t.equal(
        got.reduce((a, b) => a + b.length, 0),
        n,
        'every buffered byte was sent before the close',
      );
      t.same(proto.lostWith, [null]);
      t.notOk(hasWriter(loop, fd));
    });

    t.test('test_abort: drops the buffer and closes at once', async (t) => {
      const { loop, peer, tr, fd, proto } = setup(t);
      await runBriefly(loop);
      const n = fill(tr);
      tr.abort();
      t.equal(tr.getWriteBufferSize(), 0);
      t.notOk(hasWriter(loop, fd));
      t.notOk(hasReader(loop, fd));
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
      const got: Buffer[] = [];
      drainPeer(peer, got);
      t.ok(got.reduce((a, b) => a + b.length, 0) < n, 'the buffered rest was dropped');
    });

    t.test('test_force_close', async (t) => {
      const { loop, tr, fd, proto } = setup(t);
      await runBriefly(loop);
      fill(tr);
      t.ok(hasWriter(loop, fd) && hasReader(loop, fd));
      tr._forceClose(null);
      t.ok(tr.isClosing());
      t.same(tr._buffer, []);
      t.notOk(hasReader(loop, fd));
      t.notOk(hasWriter(loop, fd));
      // a second close does nothing
      tr._forceClose(null);
      t.equal(tr._connLost, 1);
      await runBriefly(loop);
      t.equal(proto.count('connectionLost'), 1);
    });

    t.test('test_fatal_error: an OSError is not reported, the transport closes with it', async (t) => {
      const { loop, tr, proto } = setup(t);
      const errors = collectExceptions(loop);
      await runBriefly(loop);
      const exc = new OSError(5, 'Input/output error');
      tr._fatalError(exc);
      t.same(errors, []);
      t.equal(await loop.runUntilComplete(proto.lost.promise), exc);
    });

    t.test('test_fatal_error_custom_exception', async (t) => {
      const { loop, tr, proto } = setup(t);
      const errors = collectExceptions(loop);
      await runBriefly(loop);
      class MyError extends Error {}
      const exc = new MyError();
      tr._fatalError(exc);
      t.equal(errors.length, 1);
      t.equal(errors[0]!.message, 'Fatal error on transport');
      t.equal(errors[0]!.exception, exc);
      t.equal(errors[0]!.protocol, proto);
      t.equal(errors[0]!.transport, tr);
      t.equal(await loop.runUntilComplete(proto.lost.promise), exc);
    });

    t.test('test_connection_lost', async (t) => {
      const { loop, sock, tr, proto } = setup(t);
      await runBriefly(loop);
      const exc = new OSError(5, 'Input/output error');
      // as _forceClose leaves it: not reading, connLost counted
      tr.pauseReading();
      tr._connLost = 1;
      tr._callConnectionLost(exc);
      t.same(proto.lostWith, [exc]);
      t.ok(sock.closed);
      t.equal(tr._sock, null);
    });

    t.test('test_write_eof', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      t.ok(tr.canWriteEof());
      tr.writeEof();
      const got: Buffer[] = [];
      t.equal(drainPeer(peer, got), 'eof', 'the peer sees EOF');
      tr.writeEof(); // once is enough
      t.throws(() => tr.write(Buffer.from('x')), { name: 'RuntimeError', message: 'Cannot call write() after write_eof()' });
      tr.close();
    });

    t.test('test_write_eof_buffer', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      const n = fill(tr);
      tr.writeEof();
      t.ok(tr._eof);
      t.ok(tr.getWriteBufferSize() > 0, 'still buffered');
      const got: Buffer[] = [];
      await runUntil(loop, () => drainPeer(peer, got) === 'eof');
      t.equal(
        got.reduce((a, b) => a + b.length, 0),
        n,
        'all the data, then EOF',
      );
      tr.close();
    });

    t.test('test_write_eof_after_close', async (t) => {
      const { loop, tr } = setup(t);
      tr.close();
      await runBriefly(loop);
      tr.writeEof();
      t.pass('no error');
    });

    t.test('test_transport_close_remove_writer', async (t) => {
      const { loop, tr, fd } = setup(t);
      await runBriefly(loop);
      loop.addWriter(fd, () => {});
      tr.close();
      t.notOk(hasWriter(loop, fd));
    });

    t.test('test_flowcontrol_mixin_set_write_limits', async (t) => {
      const { loop, tr, proto } = setup(t);
      await runBriefly(loop);
      t.same(tr.getWriteBufferLimits(), [16 * 1024, 64 * 1024], 'the defaults');
      t.throws(() => tr.setWriteBufferLimits(0, 1), { name: 'ValueError', message: /high.*must be >= low/ });
      tr.setWriteBufferLimits(1024, 128);
      t.same(tr.getWriteBufferLimits(), [128, 1024]);
      tr.setWriteBufferLimits(null, 100);
      t.same(tr.getWriteBufferLimits(), [100, 400], 'high defaults to 4 * low');
      tr.setWriteBufferLimits(1000);
      t.same(tr.getWriteBufferLimits(), [250, 1000], 'low defaults to high / 4');
      // with 512+ bytes buffered, a high-water mark under it pauses the protocol
      fill(tr);
      t.equal(proto.count('pauseWriting'), 1);
      t.ok(tr._protocolPaused);
      tr.setWriteBufferLimits(256, 128);
      t.equal(proto.count('pauseWriting'), 1, 'already paused: not again');
    });

    t.test('pauseWriting over the high-water mark, resumeWriting and drain at the low one', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      let drains = 0;
      tr.on('drain', () => drains++);
      tr.setWriteBufferLimits(64 * 1024, 16 * 1024);
      const n = fill(tr);
      t.equal(proto.count('pauseWriting'), 1);
      tr.write(Buffer.alloc(1000));
      t.equal(proto.count('pauseWriting'), 1, 'exactly once');
      const got: Buffer[] = [];
      await runUntil(loop, () => (drainPeer(peer, got), got.reduce((a, b) => a + b.length, 0) === n + 1000));
      t.equal(proto.count('resumeWriting'), 1);
      t.equal(drains, 1, "one 'drain'");
      t.notOk(tr._protocolPaused);
    });

    t.test('setProtocol / getProtocol', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      t.equal(tr.getProtocol(), proto);
      const other = new RecProto();
      tr.setProtocol(other);
      t.equal(tr.getProtocol(), other);
      peer.send(Buffer.from('to the new one'));
      await runUntil(loop, () => other.data.length > 0);
      t.equal(other.received().toString(), 'to the new one');
      t.equal(proto.data.length, 0);
    });

    t.test('a write in a callback joins the loop\'s batch, sent before the loop next looks at I/O (as uvloop queues it)', async (t) => {
      const { loop, peer, tr, fd } = setup(t);
      await runBriefly(loop);
      const seen: unknown[] = [];
      loop.callSoon(() => {
        tr.write(Buffer.from('one,'));
        const reused = new Uint8Array(Buffer.from('two'));
        tr.write(reused);
        reused.fill(0x21); // the caller may reuse its buffer at once
        const got: Buffer[] = [];
        drainPeer(peer, got);
        seen.push(tr.getWriteBufferSize(), Buffer.concat(got).toString(), hasWriter(loop, fd));
        loop.callSoon(() => {
          const got2: Buffer[] = [];
          drainPeer(peer, got2);
          seen.push(tr.getWriteBufferSize(), Buffer.concat(got2).toString(), hasWriter(loop, fd));
        });
      });
      await runUntil(loop, () => seen.length === 6);
      t.same(seen, [7, '', false, 0, 'one,two', false]);
    });

    t.test('a write from a promise job two turns after a callback: sent alone until the loop learns to wait a turn before its flush, then it joins the batch', async (t) => {
      const { loop, peer, tr } = setup(t);
      await runBriefly(loop);
      t.equal(loop._settleHops, 0);
      // As a streams handler: resumed by what a callback resolved, it
      // awaits once more, then writes. How many go alone before the loop
      // learns is timing: one that lands while the loop yields to Node
      // (every YIELD_MS) is sent at once without teaching it anything.
      const ROUNDS = 20;
      const sizes: number[] = [];
      let sent = '';
      for (let i = 0; i < ROUNDS && sizes.filter((s) => s > 0).length < 4; i++) {
        const msg = `m${i.toString(36)},`;
        sent += msg;
        const woken = future();
        void woken.promise.then(async () => {
          await Promise.resolve();
          tr.write(Buffer.from(msg));
          sizes.push(tr.getWriteBufferSize());
        });
        loop.callSoon(() => woken.resolve());
        await runUntil(loop, () => sizes.length === i + 1);
      }
      const first = sizes.indexOf(3);
      t.ok(first >= 0, `a write joined the batch within ${ROUNDS} rounds (sizes ${sizes.join(',')})`);
      t.ok(sizes.slice(0, first).every((s) => s === 0), `before it, each was sent alone (sizes ${sizes.join(',')})`);
      t.same(sizes.slice(first), [3, 3, 3, 3], 'once learned, every write joins the batch');
      t.equal(loop._settleHops, 1, 'one turn learned');
      const got: Buffer[] = [];
      await runUntil(loop, () => (drainPeer(peer, got), Buffer.concat(got).length === sent.length));
      t.equal(Buffer.concat(got).toString(), sent);
    });

    t.test('the turns a loop waits are bounded, and iterations without a late write take them away', async (t) => {
      const { loop, tr } = setup(t);
      await runBriefly(loop);
      // Writes from outside the loop's callbacks while it waits (a Node
      // timer) count as late, however many.
      let n = 0;
      const timer = setInterval(() => {
        tr.write(Buffer.from('x'));
        n++;
      }, 1);
      try {
        await runUntil(loop, () => n >= 8);
      } finally {
        clearInterval(timer);
      }
      t.equal(loop._settleHops, 4, 'at most 4');
      // 1024 iterations that run callbacks, with no late write: one turn less.
      let i = 0;
      const step = (): void => {
        if (++i < 1024 * 2) loop.callSoon(step);
      };
      loop.callSoon(step);
      await runUntil(loop, () => i >= 1024 * 2);
      t.equal(loop._settleHops, 2, 'two turns fewer after 2048 iterations');
    });

    t.test('a protocol that writes from its callbacks leaves the loop waiting no turns', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      proto.onData = (d) => tr.write(d);
      const got: Buffer[] = [];
      let want = '';
      for (let i = 0; i < 20; i++) {
        peer.send(Buffer.from(`p${i},`));
        want += `p${i},`;
        await runUntil(loop, () => (drainPeer(peer, got), Buffer.concat(got).toString() === want));
      }
      t.equal(loop._settleHops, 0);
    });

    t.test('a write while the loop is not running goes out at once, as asyncio sends in write()', async (t) => {
      const { loop, peer, tr, fd } = setup(t);
      await runBriefly(loop);
      tr.write(Buffer.from('now'));
      const got: Buffer[] = [];
      drainPeer(peer, got);
      t.same([tr.getWriteBufferSize(), Buffer.concat(got).toString(), hasWriter(loop, fd)], [0, 'now', false]);
    });

    t.test('batched writes of two transports, one of them interleaved, stay in order on each', async (t) => {
      const a = setup(t);
      const loop = a.loop;
      const [s2, peer2] = socketpair();
      s2.setblocking(false);
      peer2.setblocking(false);
      const proto2 = new RecProto();
      const tr2 = new SelectorSocketTransport(loop, s2, proto2);
      t.teardown(() => peer2.close());
      await runBriefly(loop);
      loop.callSoon(() => {
        a.tr.write(Buffer.from('a1,'));
        tr2.write(Buffer.from('b1,'));
        a.tr.write(Buffer.from('a2,')); // not the last entry: the batch goes first
        tr2.write(Buffer.from('b2,'));
        a.tr.write(Buffer.from('a3'));
        tr2.write(Buffer.from('b3'));
      });
      await runBriefly(loop);
      const got1: Buffer[] = [];
      const got2: Buffer[] = [];
      drainPeer(a.peer, got1);
      drainPeer(peer2, got2);
      t.equal(Buffer.concat(got1).toString(), 'a1,a2,a3');
      t.equal(Buffer.concat(got2).toString(), 'b1,b2,b3');
      tr2.abort();
      await runBriefly(loop);
    });

    /** `n` transports on socketpairs of one loop (peers non-blocking). */
    const setupMany = (t: Test, n: number, make: (i: number) => RecProto = () => new RecProto()) => {
      const loop = new EventLoop({ selector: backend });
      const trs: SelectorSocketTransport[] = [];
      const peers: Socket[] = [];
      const protos: RecProto[] = [];
      for (let i = 0; i < n; i++) {
        const [sock, peer] = socketpair();
        sock.setblocking(false);
        peer.setblocking(false);
        const proto = make(i);
        protos.push(proto);
        trs.push(new SelectorSocketTransport(loop, sock, proto));
        peers.push(peer);
      }
      t.teardown(async () => {
        for (const tr of trs) if (!tr._connLost) tr.abort();
        if (!loop.isClosed()) {
          await runBriefly(loop);
          loop.close();
        }
        for (const p of peers) p.close();
      });
      return { loop, trs, peers, protos };
    };

    t.test('read batch: each of 40 transports gets exactly its bytes, in runs of copies', async (t) => {
      const { loop, peers, protos } = setupMany(t, 40);
      await runBriefly(loop);
      const sent = peers.map((p, i) => {
        const d = randomBytes(500 + 37 * i); // 40 of them: more than one 16 KiB run
        p.send(d);
        return d;
      });
      await runUntil(loop, () => protos.every((p, i) => p.received().length >= sent[i]!.length));
      for (let i = 0; i < protos.length; i++) t.ok(protos[i]!.received().equals(sent[i]!), `transport ${i}`);
      // The views are independent of each other and of the loop's slab.
      const first = Buffer.from(protos[0]!.data[0]!);
      peers[1]!.send(Buffer.alloc(300, 0x5a));
      await runUntil(loop, () => protos[1]!.received().length === sent[1]!.length + 300);
      t.ok(protos[0]!.data[0]!.equals(first), 'a delivered Buffer is not overwritten by the next batch');
    });

    t.test('write batch: 70 transports write in one callback; a full batch goes at once and the next one starts', async (t) => {
      const { loop, trs, peers } = setupMany(t, 70);
      await runBriefly(loop);
      const sent = trs.map((_, i) => randomBytes(100 + i));
      const queued: number[] = [];
      loop.callSoon(() => {
        trs.forEach((tr, i) => tr.write(sent[i]!));
        // The first 64 went when the 65th write found the batch full.
        for (const tr of trs) queued.push(tr.getWriteBufferSize());
      });
      await runBriefly(loop);
      t.equal(queued.filter((n) => n === 0).length, 64, 'a full batch was sent');
      t.equal(queued.filter((n) => n > 0).length, 6, 'the rest waited in the next batch');
      for (let i = 0; i < peers.length; i++) {
        const got: Buffer[] = [];
        drainPeer(peers[i]!, got);
        t.ok(Buffer.concat(got).equals(sent[i]!), `peer ${i}`);
      }
    });

    t.test('read batch: 150 ready transports are received for in chunks; one paused before its chunk keeps its bytes in the kernel', async (t) => {
      const { loop, trs, peers, protos } = setupMany(t, 150);
      await runBriefly(loop);
      const sent = peers.map((p, i) => {
        const d = Buffer.from(`message ${i} `.repeat(8));
        p.send(d);
        return d;
      });
      // Whichever reader runs first pauses one queued for a later chunk.
      let paused: SelectorSocketTransport | null = null;
      const order: number[] = [];
      protos.forEach((p, i) => {
        p.onData = () => {
          order.push(i);
          if (paused === null) {
            paused = trs.find((tr) => tr._batch.queued) ?? null;
            t.ok(paused !== null, 'the first reader runs with transports still queued for later chunks');
            paused?.pauseReading();
          }
        };
      });
      await runUntil(loop, () => order.length >= 149, 5);
      await runBriefly(loop);
      t.equal(order.length, 149, 'every transport but the paused one got its bytes');
      const p = paused as unknown as SelectorSocketTransport;
      const pi = trs.indexOf(p);
      t.equal(protos[pi]!.count('dataReceived'), 0);
      t.notOk(p._batch.pending, 'nothing was received for it');
      p.resumeReading();
      await runUntil(loop, () => protos[pi]!.count('dataReceived') > 0, 5);
      for (let i = 0; i < protos.length; i++) t.ok(protos[i]!.received().equals(sent[i]!), `transport ${i}`);
    });

    t.test('read batch: more waiting than the slab holds; the rest receive on their own', async (t) => {
      const { loop, peers, protos } = setupMany(t, 8);
      await runBriefly(loop);
      const sent = peers.map(() => randomBytes(100 * 1024)); // 800 KiB in all: over 256 KiB
      // The socketpair buffers take some of it now; the rest as they drain.
      const left = sent.map((d) => d);
      await runUntil(loop, () => {
        for (let i = 0; i < peers.length; i++) {
          try {
            if (left[i]!.length > 0) left[i] = left[i]!.subarray(peers[i]!.send(left[i]!));
          } catch (e) {
            if ((e as Error).name !== 'BlockingIOError') throw e;
          }
        }
        return protos.every((p, i) => p.received().length >= sent[i]!.length);
      });
      for (let i = 0; i < protos.length; i++) t.ok(protos[i]!.received().equals(sent[i]!), `transport ${i}`);
    });

    /**
     * Two transports with data waiting, so one poll finds both: the first
     * whose dataReceived runs calls `act` on the other, which the loop has
     * already received for.
     */
    const actOnOther = async (t: Test, act: (other: SelectorSocketTransport) => void) => {
      const m = setupMany(t, 2);
      await runBriefly(m.loop);
      let victim = -1;
      m.protos.forEach((p, i) => {
        p.onData = () => {
          if (victim === -1) {
            victim = 1 - i;
            act(m.trs[victim]!);
          }
        };
      });
      m.peers[0]!.send(Buffer.from('zero'));
      m.peers[1]!.send(Buffer.from('one'));
      await runUntil(m.loop, () => victim !== -1);
      await runBriefly(m.loop);
      return { ...m, victim, words: ['zero', 'one'] };
    };

    t.test('read batch: pauseReading() from another transport\'s callback keeps what was received until resumeReading()', async (t) => {
      const { loop, trs, protos, victim, words } = await actOnOther(t, (other) => other.pauseReading());
      const p = protos[victim]!;
      await runBriefly(loop);
      t.equal(p.count('dataReceived'), 0, 'nothing while paused');
      t.notOk(trs[victim]!.isReading());
      trs[victim]!.resumeReading();
      await runUntil(loop, () => p.count('dataReceived') > 0, 5);
      await runBriefly(loop);
      t.equal(p.received().toString(), words[victim], 'the bytes, once, with no more sent');
      t.equal(p.count('dataReceived'), 1);
    });

    t.test('read batch: pause and resume in one iteration, then pause again before delivery', async (t) => {
      const { loop, trs, protos, victim, words } = await actOnOther(t, (other) => {
        other.pauseReading();
        other.resumeReading();
        other.pauseReading();
      });
      const p = protos[victim]!;
      await runBriefly(loop);
      t.equal(p.count('dataReceived'), 0, 'still paused: nothing delivered');
      trs[victim]!.resumeReading();
      await runUntil(loop, () => p.count('dataReceived') > 0, 5);
      t.equal(p.received().toString(), words[victim]);
    });

    t.test('read batch: abort() from another transport\'s callback drops what was received', async (t) => {
      const { loop, protos, victim } = await actOnOther(t, (other) => other.abort());
      const p = protos[victim]!;
      await runUntil(loop, () => p.count('connectionLost') === 1);
      t.equal(p.count('dataReceived'), 0);
      t.same(p.lostWith, [null]);
    });

    t.test('read batch: a switch to a BufferedProtocol after the batch; the bytes go through getBuffer()', async (t) => {
      const buffered = new BufProto();
      buffered.buffer = Buffer.alloc(2); // more than one getBuffer() per delivery
      const { loop, protos, victim, words } = await actOnOther(t, (other) => other.setProtocol(buffered));
      await runBriefly(loop);
      t.equal(protos[victim]!.count('dataReceived'), 0, 'the old protocol got nothing');
      t.equal(buffered.got(), words[victim]);
      t.ok(buffered.count('getBuffer') >= 2);
    });

    t.test('read batch: EOF received in a batch reaches eofReceived() and closes', async (t) => {
      const { loop, peers, protos } = setupMany(t, 3);
      await runBriefly(loop);
      for (const p of peers) p.shutdown(socket.SHUT_WR);
      await runUntil(loop, () => protos.every((p) => p.count('connectionLost') === 1));
      for (const p of protos) t.same(p.calls.filter((c) => c !== 'connectionMade'), ['eofReceived', 'connectionLost']);
    });

    t.test('read batch: an EOF before messages of every size; each gets exactly its bytes', async (t) => {
      // The EOF takes no room in the slab; the sizes cover a run of small
      // messages, the 4-8 KiB copy pool and memory of its own (over 8 KiB).
      const sizes = [0, 20_000, 100, 5000, 64, 4096, 8192, 8193, 3000, 1];
      const { loop, peers, protos } = setupMany(t, sizes.length);
      await runBriefly(loop);
      peers[0]!.shutdown(socket.SHUT_WR); // first ready, first in the batch
      const sent = sizes.map((n, i) => {
        const d = randomBytes(n);
        if (n > 0) peers[i]!.send(d);
        return d;
      });
      await runUntil(loop, () => protos[0]!.count('eofReceived') === 1 && protos.every((p, i) => p.received().length >= sizes[i]!));
      for (let i = 1; i < sizes.length; i++) t.ok(protos[i]!.received().equals(sent[i]!), `transport ${i}: ${sizes[i]} bytes`);
      // Each Buffer is its own: zeroing one changes no other.
      for (let i = 1; i < sizes.length; i++) {
        for (const d of protos[i]!.data) d.fill(0);
        const others = protos.every((p, j) => j <= i || p.received().equals(sent[j]!));
        t.ok(others, `zeroing transport ${i}'s bytes left the later ones intact`);
      }
    });

    t.test('abort() after a batched write: nothing is sent', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      loop.callSoon(() => {
        tr.write(Buffer.from('never'));
        tr.abort();
      });
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
      const got: Buffer[] = [];
      t.equal(drainPeer(peer, got), 'eof');
      t.equal(Buffer.concat(got).length, 0);
    });

    t.test('close() right after a write in a callback: the data, then EOF and connectionLost(null)', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      loop.callSoon(() => {
        tr.write(Buffer.from('last words'));
        tr.close();
      });
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
      const got: Buffer[] = [];
      t.equal(drainPeer(peer, got), 'eof');
      t.equal(Buffer.concat(got).toString(), 'last words');
      t.equal(proto.count('connectionLost'), 1);
    });

    t.test('writeEof() right after a write: the data, then EOF; the transport still reads', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      loop.callSoon(() => {
        tr.write(Buffer.from('then eof'));
        tr.writeEof();
      });
      const got: Buffer[] = [];
      await runUntil(loop, () => drainPeer(peer, got) === 'eof');
      t.equal(Buffer.concat(got).toString(), 'then eof');
      peer.send(Buffer.from('still read'));
      await runUntil(loop, () => proto.data.length > 0);
      t.equal(proto.received().toString(), 'still read');
    });

    t.test("an 'error' listener that throws goes to the exception handler; the transport closes all the same", async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      const errors = collectExceptions(loop);
      await runBriefly(loop);
      const boom = new Error('listener');
      tr.on('error', () => {
        throw boom;
      });
      loop.callSoon(() => {
        peer.close();
        tr.write(Buffer.from('x')); // EPIPE
      });
      const exc = await loop.runUntilComplete(proto.lost.promise);
      t.match(exc!.name, /BrokenPipeError|ConnectionResetError/);
      t.ok(tr.isClosing());
      t.equal(errors.length, 1);
      t.equal(errors[0]!.exception, boom);
      t.match(errors[0]!.message, /^Exception in callback/);
      t.equal(proto.count('connectionLost'), 1);
    });

    t.test('a write after a drained close() is counted, never sent on the freed descriptor', async (t) => {
      const { loop, peer, tr, proto } = setup(t);
      await runBriefly(loop);
      fill(tr);
      tr.close();
      const got: Buffer[] = [];
      await runUntil(loop, () => drainPeer(peer, got) === 'eof' && proto.count('connectionLost') === 1);
      t.equal(tr._connLost, 1);
      tr.write(Buffer.from('late'));
      t.equal(tr._connLost, 2);
      await runBriefly(loop);
      t.equal(proto.count('connectionLost'), 1, 'no second connectionLost');
    });

    t.test('BufferedProtocol: recv() goes into the buffer of getBuffer(-1), then bufferUpdated(n)', async (t) => {
      const proto = new BufProto();
      t.ok(isBufferedProtocol(proto));
      t.notOk(isBufferedProtocol(new RecProto()));
      const { loop, peer } = setup(t, proto);
      peer.send(Buffer.from('data'));
      await runUntil(loop, () => proto.chunks.length > 0);
      t.same(proto.calls, ['connectionMade', 'getBuffer', 'bufferUpdated'], 'dataReceived is never called');
      t.same(proto.hints, [-1]);
      t.equal(proto.got(), 'data');
      t.equal(Buffer.from(proto.buffer.buffer, proto.buffer.byteOffset, 4).toString(), 'data', 'received into that very buffer');
    });

    t.test('BufferedProtocol: a buffer smaller than the data takes it in turns', async (t) => {
      const proto = new BufProto();
      // a view into the middle of a larger ArrayBuffer: only the view is filled
      const backing = new Uint8Array(64).fill(0x2e);
      proto.buffer = new DataView(backing.buffer, 8, 16);
      const { loop, peer } = setup(t, proto);
      const noise = Buffer.from('12345678+'.repeat(100));
      peer.send(noise);
      await runUntil(loop, () => proto.got().length === noise.length);
      t.equal(proto.got(), noise.toString());
      t.ok(proto.chunks.every((c) => c.length <= 16));
      t.ok(backing.subarray(0, 8).every((b) => b === 0x2e) && backing.subarray(24).every((b) => b === 0x2e), 'nothing written outside the view');
    });

    t.test('test_get_buffer_error', async (t) => {
      const proto = new BufProto();
      const err = new RangeError('get_buffer');
      proto.getBuffer = () => {
        throw err;
      };
      const { loop, peer, tr } = setup(t, proto);
      const errors = collectExceptions(loop);
      peer.send(Buffer.from('data'));
      t.equal(await loop.runUntilComplete(proto.lost.promise), err);
      t.equal(errors.length, 1);
      t.equal(errors[0]!.message, 'Fatal error: protocol.get_buffer() call failed.');
      t.equal(errors[0]!.transport, tr);
      t.equal(proto.count('bufferUpdated'), 0);
    });

    t.test('test_get_buffer_zerosized, a detached buffer, and not a buffer at all', async (t) => {
      const backing = new ArrayBuffer(16);
      const detachedView = new Uint8Array(backing);
      structuredClone(backing, { transfer: [backing] });
      const cases: Array<[string, unknown, string, RegExp]> = [
        ['empty', Buffer.alloc(0), 'RuntimeError', /^get_buffer\(\) returned an empty buffer$/],
        ['detached', detachedView, 'RuntimeError', /^get_buffer\(\) returned an empty buffer$/],
        ['a string', 'abc', 'TypeError', /bytes-like object, not string/],
        ['null', null, 'TypeError', /bytes-like object, not null/],
      ];
      for (const [what, value, name, message] of cases) {
        const proto = new BufProto();
        proto.buffer = value as ArrayBufferView;
        const { loop, peer } = setup(t, proto);
        const errors = collectExceptions(loop);
        peer.send(Buffer.from('data'));
        const exc = await loop.runUntilComplete(proto.lost.promise);
        t.equal(exc!.name, name, what);
        t.match(exc!.message, message, what);
        t.equal(errors[0]!.message, 'Fatal error: protocol.get_buffer() call failed.', what);
        t.equal(proto.count('bufferUpdated'), 0, what);
      }
    });

    t.test('test_buffer_updated_error', async (t) => {
      const proto = new BufProto();
      const err = new RangeError('buffer_updated');
      proto.onUpdated = () => {
        throw err;
      };
      const { loop, peer } = setup(t, proto);
      const errors = collectExceptions(loop);
      peer.send(Buffer.from('data'));
      t.equal(await loop.runUntilComplete(proto.lost.promise), err);
      t.equal(errors.length, 1);
      t.equal(errors[0]!.message, 'Fatal error: protocol.buffer_updated() call failed.');
    });

    t.test('test_proto_type_switch: setProtocol() switches between the two kinds of read', async (t) => {
      const plain = new RecProto();
      const { loop, peer, tr } = setup(t, plain);
      await runBriefly(loop);
      const buffered = new BufProto();
      tr.setProtocol(buffered);
      peer.send(Buffer.from('one'));
      await runUntil(loop, () => buffered.chunks.length > 0);
      t.equal(buffered.got(), 'one');
      t.equal(plain.data.length, 0);
      tr.setProtocol(plain);
      peer.send(Buffer.from('two'));
      await runUntil(loop, () => plain.data.length > 0);
      t.equal(plain.received().toString(), 'two');
      t.equal(buffered.chunks.length, 1);
    });

    t.test('BufferedProtocol: EOF calls eofReceived and closes', async (t) => {
      const proto = new BufProto();
      const { loop, peer } = setup(t, proto);
      peer.send(Buffer.from('last'));
      peer.shutdown(socket.SHUT_WR);
      t.equal(await loop.runUntilComplete(proto.lost.promise), null);
      t.equal(proto.got(), 'last');
      t.same(proto.calls.filter((c) => c !== 'getBuffer'), ['connectionMade', 'bufferUpdated', 'eofReceived', 'connectionLost']);
    });

    t.test("BufferedProtocol: 'data' listeners get a copy, taken before bufferUpdated()", async (t) => {
      const proto = new BufProto();
      proto.onUpdated = () => (proto.buffer as Buffer).fill(0);
      const { loop, peer, tr } = setup(t, proto);
      const events: string[] = [];
      tr.on('data', (d: Buffer) => events.push(d.toString()));
      peer.send(Buffer.from('copied'));
      await runUntil(loop, () => events.length > 0);
      t.same(events, ['copied']);
      t.equal(proto.got(), 'copied');
    });

    t.test('test_buffered_proto_create_connection', async (t) => {
      const loop = new EventLoop({ selector: backend });
      t.teardown(() => loop.close());
      const NOISE = Buffer.from('12345678+'.repeat(1024));
      await loop.runUntilComplete(async () => {
        const srv = await startServer(async (reader, writer) => {
          writer.write(NOISE);
          await reader.readexactly(1);
          writer.close();
          await writer.waitClosed();
        }, '127.0.0.1', 0);
        let data = Buffer.alloc(0);
        const lost = future<Error | null>();
        class ReceiveStuffProto implements BufferedProtocol {
          buffer = new Uint8Array(100);
          tr!: Transport;
          connectionMade(tr: Transport): void {
            this.tr = tr;
          }
          getBuffer(): Uint8Array {
            this.buffer = new Uint8Array(100);
            return this.buffer;
          }
          bufferUpdated(nbytes: number): void {
            data = Buffer.concat([data, this.buffer.subarray(0, nbytes)]);
            if (data.equals(NOISE)) this.tr.write(Buffer.from('1'));
          }
          connectionLost(exc: Error | null): void {
            lost.resolve(exc);
          }
        }
        await loop.createConnection(() => new ReceiveStuffProto(), '127.0.0.1', srv.address()!.port);
        t.equal(await lost.promise, null);
        t.ok(data.equals(NOISE));
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('test_set_nodelay: TCP transports disable Nagle', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const server = net.createServer((c) => c.on('error', () => {}));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const proto = new RecProto();
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => proto, '127.0.0.1', (server.address() as net.AddressInfo).port));
      const sock = tr.getExtraInfo('socket') as Socket;
      t.ok(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY));
      tr.close();
      await loop.runUntilComplete(proto.lost.promise);
      loop.close();
      await new Promise<void>((r) => server.close(() => r()));
    });

    t.test('a TCP transport round trip with events only (Node style)', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const payload = randomBytes(200_000);
      const echoed: Buffer[] = [];
      const server = net.createServer((c) => {
        c.on('error', () => {});
        c.pipe(c);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => ({}), '127.0.0.1', (server.address() as net.AddressInfo).port));
      const closed = future<boolean>();
      tr.on('data', (d: Buffer) => {
        echoed.push(d);
        if (echoed.reduce((a, b) => a + b.length, 0) === payload.length) tr.close();
      });
      tr.on('close', (hadError: boolean) => closed.resolve(hadError));
      tr.write(payload);
      t.equal(await loop.runUntilComplete(closed.promise), false);
      t.ok(Buffer.concat(echoed).equals(payload));
      loop.close();
      await new Promise<void>((r) => server.close(() => r()));
    });
  });
}

for (const backend of BACKENDS) suite(backend);
// Where batches go through io_uring, also the other way.
if (batch.batchIo() === 'io_uring') suite('epoll', 'syscalls');
