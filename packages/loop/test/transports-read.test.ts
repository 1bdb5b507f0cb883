// transports.ts, reading: CPython 3.11 test_asyncio/test_selector_events.py
// SelectorTransportTests and SelectorSocketTransportTests (the constructor,
// pause/resume reading, _read_ready, EOF and the protocol's errors), on
// every backend. Where CPython gives the transport a mock socket, these
// tests give it one end of a real socketpair and act on the other end; the
// protocol records its calls as CPython's mock protocol does.
import t from 'tap';
import { OSError, socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectExceptions, runBriefly, runUntil } from './helpers.js';
import { RecProto, drainPeer, forEachBackend } from './transports-support.js';

checkNoFdLeak(t);

forEachBackend(t, (t, { setup, hasReader }) => {
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
});
