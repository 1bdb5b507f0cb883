// transports.ts, writing and closing: CPython 3.11
// test_asyncio/test_selector_events.py SelectorSocketTransportTests (write,
// close, abort, _fatal_error, write_eof) and test_transports.py
// (flow-control limits), on every backend. Where CPython gives the
// transport a mock socket, these tests give it one end of a real
// socketpair and act on the other end; the protocol records its calls as
// CPython's mock protocol does.
import t from 'tap';
import { OSError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectExceptions, recordingLogger, runBriefly, runUntil } from './helpers.js';
import { RecProto, drainPeer, forEachBackend } from './transports-support.js';

checkNoFdLeak(t);

forEachBackend(t, (t, { setup, hasReader, hasWriter, fill }) => {
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
});
