// The loop's read and write batches (src/internal/io-batch.ts), driven
// directly on real transports over real socketpairs, on a loop that never
// runs: nothing reads or writes but the batch under test.
import t, { type Test } from 'tap';
import { EventLoop, SelectorSocketTransport, type BufferedProtocol, type Protocol } from '@iomux/loop';
import { BlockingIOError, socket, socketpair, type Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

/** n transports (Protocols that record nothing) on a loop that is never run, and their peers. */
function setup(t: Test, n: number): { loop: EventLoop; trs: SelectorSocketTransport[]; peers: Socket[] } {
  const loop = new EventLoop();
  const trs: SelectorSocketTransport[] = [];
  const peers: Socket[] = [];
  const socks: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = socketpair();
    a.setblocking(false);
    b.setblocking(false);
    socks.push(a);
    peers.push(b);
    trs.push(new SelectorSocketTransport(loop, a, {} as Protocol));
  }
  t.teardown(() => {
    loop.close();
    for (const s of [...socks, ...peers]) s.close();
  });
  return { loop, trs, peers };
}

/** Whether `sock` has bytes waiting in the kernel (looked at, not taken). */
function waiting(sock: Socket): boolean {
  try {
    return sock.recv(1, socket.MSG_PEEK!).length > 0;
  } catch (e) {
    if (e instanceof BlockingIOError) return false;
    throw e;
  }
}

/** Everything the peer has received so far. */
function drain(sock: Socket): string {
  let out = '';
  for (;;) {
    try {
      const got = sock.recv(1 << 16);
      if (got.length === 0) return out;
      out += got.toString();
    } catch (e) {
      if (e instanceof BlockingIOError) return out;
      throw e;
    }
  }
}

t.test('read batch: the look only queues; the first reader receives for the next 64', async (t) => {
  const { loop, trs, peers } = setup(t, 100);
  peers.forEach((p, i) => p.send(Buffer.from(`message ${i}`)));
  const reads = loop._readBatch;
  for (const tr of trs) reads.add(tr);
  t.ok(trs.every((tr) => tr._batch.queued && !tr._batch.pending), 'queued, nothing received');
  t.ok(trs.every((tr) => waiting(tr._sock!)), 'every byte still in the kernel');
  reads.add(trs[0]!);
  reads.receive();
  const first = trs.slice(0, 64);
  const rest = trs.slice(64);
  t.ok(first.every((tr, i) => tr._batch.pending && !tr._batch.queued && tr._batch.data?.toString() === `message ${i}` && tr._batch.got === `message ${i}`.length), 'the first 64 have their bytes (once each)');
  t.ok(rest.every((tr) => tr._batch.queued && !tr._batch.pending && waiting(tr._sock!)), 'the other 36 wait for the next chunk');
  reads.receive();
  t.ok(rest.every((tr, i) => tr._batch.pending && tr._batch.data?.toString() === `message ${64 + i}`), 'then the rest');
  reads.receive();
  t.ok(trs.every((tr) => !tr._batch.queued), 'nothing left queued: a further receive does nothing');
});

t.test('read batch: a transport no longer reading is left out, its bytes left in the kernel', async (t) => {
  const { loop, trs, peers } = setup(t, 5);
  peers.forEach((p) => p.send(Buffer.from('hi')));
  const reads = loop._readBatch;
  for (const tr of trs) reads.add(tr);
  trs[1]!.pauseReading();
  trs[2]!.close();
  trs[3]!.setProtocol({ getBuffer: () => Buffer.alloc(16), bufferUpdated() {} } as BufferedProtocol);
  reads.receive();
  t.same(trs.map((tr) => tr._batch.pending), [true, false, false, false, true], 'paused, closing and buffered ones skipped');
  t.ok(trs.every((tr) => !tr._batch.queued), 'and none of them left queued');
  t.same([1, 2, 3].map((i) => waiting(trs[i]!._sock!)), [true, true, true], 'their bytes are still in the kernel');
  // add() itself leaves out a BufferedProtocol (it reads into its own
  // buffer), a transport with bytes waiting, and one already queued.
  reads.add(trs[3]!);
  reads.add(trs[0]!);
  t.notOk(trs[3]!._batch.queued || trs[0]!._batch.queued);
});

t.test('read batch: clear() forgets what the last look queued', async (t) => {
  const { loop, trs, peers } = setup(t, 3);
  peers.forEach((p) => p.send(Buffer.from('x')));
  const reads = loop._readBatch;
  for (const tr of trs) reads.add(tr);
  reads.clear();
  t.ok(trs.every((tr) => !tr._batch.queued), 'no longer queued');
  reads.receive();
  t.ok(trs.every((tr) => !tr._batch.pending && waiting(tr._sock!)), 'a receive after it receives nothing');
  // The next look queues them again.
  for (const tr of trs) reads.add(tr);
  reads.receive();
  t.ok(trs.every((tr) => tr._batch.pending && tr._batch.data?.toString() === 'x'));
});

t.test('read batch: end of stream and errors are outcomes; a big message is its own copy', async (t) => {
  const { loop, trs, peers } = setup(t, 3);
  peers[0]!.close();
  const big = Buffer.alloc(100 * 1024, 0x61);
  peers[1]!.send(big);
  const reads = loop._readBatch;
  for (const tr of trs) reads.add(tr);
  reads.receive();
  const [eof, bigOne, none] = trs.map((tr) => tr._batch);
  t.same([eof!.pending, eof!.got, eof!.data], [true, 0, null], 'EOF: 0, no bytes');
  t.ok(bigOne!.pending && bigOne!.data!.equals(big.subarray(0, bigOne!.got)) && bigOne!.got >= 4096, 'a big message (up to its share)');
  t.equal(bigOne!.data!.buffer.byteLength >= bigOne!.got, true);
  t.same([none!.pending, none!.got < 0, none!.data], [true, true, null], 'nothing waiting: -EAGAIN, for its reader to ignore');
});

t.test('read batch: a lone transport (a plain recv) has the same outcomes as a batch', async (t) => {
  const { loop, trs, peers } = setup(t, 1);
  const reads = loop._readBatch;
  const b = trs[0]!._batch;
  const take = (): [boolean, number, string | null] => {
    const out: [boolean, number, string | null] = [b.pending, b.got, b.data === null ? null : b.data.toString()];
    b.pending = false;
    b.data = null;
    return out;
  };
  peers[0]!.send(Buffer.from('one'));
  reads.add(trs[0]!);
  reads.receive();
  t.same(take(), [true, 3, 'one'], 'its bytes');
  reads.add(trs[0]!);
  reads.receive();
  const [pending, got, data] = take();
  t.same([pending, got < 0, data], [true, true, null], 'nothing waiting: -EAGAIN, not thrown');
  const big = Buffer.alloc(300 * 1024, 0x62);
  peers[0]!.setblocking(true);
  peers[0]!.settimeout(5);
  const sent = peers[0]!.send(big);
  reads.add(trs[0]!);
  reads.receive();
  t.ok(b.pending && b.got > 4096 && b.got <= 256 * 1024 && b.data!.equals(big.subarray(0, b.got)), 'a big message: at most 256 KiB, its own copy');
  take();
  drain(trs[0]!._sock!);
  t.ok(sent > 0);
  peers[0]!.close();
  reads.add(trs[0]!);
  reads.receive();
  t.same(take(), [true, 0, null], 'end of stream: 0');
});

t.test('write batch: one entry per transport, extended while it is the last; cancel drops it', async (t) => {
  const { loop, trs, peers } = setup(t, 3);
  const writes = loop._writeBatch;
  const [a, b, c] = trs as [SelectorSocketTransport, SelectorSocketTransport, SelectorSocketTransport];
  t.ok(writes.queue(a, Buffer.from('ab')));
  t.ok(writes.queue(a, Buffer.from('cd')), 'the last entry grows');
  t.same([writes.size, a._batch.sendLen, a.getWriteBufferSize()], [1, 4, 4]);
  t.ok(writes.queue(b, Buffer.from('xyz')));
  t.notOk(writes.queue(a, Buffer.from('e')), 'not the last entry: the batch must go first');
  t.ok(writes.queue(c, Buffer.from('dropped')));
  writes.cancel(c);
  t.same([c._batch.sendIdx, c._batch.sendLen], [-1, 0], 'cancelled');
  t.equal(drain(peers[0]!), '', 'nothing sent before the flush');
  loop._flushWrites();
  t.same(peers.map(drain), ['abcd', 'xyz', ''], 'each peer its own bytes; the cancelled entry sent nothing');
  t.same([writes.size, a._batch.sendIdx, a._batch.sendLen], [0, -1, 0], 'the batch is empty again');
});

t.test('write batch: a full batch, or a full slab, refuses', async (t) => {
  const { loop, trs } = setup(t, 65);
  const writes = loop._writeBatch;
  for (let i = 0; i < 64; i++) t.ok(writes.queue(trs[i]!, Buffer.from('.')), `entry ${i}`);
  t.notOk(writes.queue(trs[64]!, Buffer.from('.')), 'the 65th transport waits for the next batch');
  loop._flushWrites();
  t.ok(writes.queue(trs[0]!, Buffer.alloc(200 * 1024)));
  t.notOk(writes.queue(trs[1]!, Buffer.alloc(64 * 1024)), 'past the 256 KiB slab');
  writes.cancel(trs[0]!);
  loop._flushWrites();
});

t.test('write batch: what a notification throws goes to the exception handler', async (t) => {
  const { loop, trs, peers } = setup(t, 2);
  const seen: unknown[] = [];
  loop.setExceptionHandler((_l, ctx) => seen.push(ctx.exception));
  peers[0]!.close();
  const boom = new Error('boom');
  trs[0]!.on('error', () => {
    throw boom;
  });
  loop._writeBatch.queue(trs[0]!, Buffer.from('to a closed peer'));
  loop._writeBatch.queue(trs[1]!, Buffer.from('fine'));
  loop._flushWrites();
  t.same(seen, [boom], 'reported, not thrown');
  t.equal(drain(peers[1]!), 'fine', 'the other entry went');
  t.ok(trs[0]!.isClosing(), 'the failed transport is closing');
});
