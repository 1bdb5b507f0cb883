// The loop's batched I/O: batch.sendBatch and batch.recvBatch (native/batch.cc
// SendBatch, RecvBatch, BatchValues), on real non-blocking socketpairs. A
// table is an Int32Array: table[0] is the entry count, then four int32s per
// entry, [fd, offset, length, result] for sends and receives alike (a
// receive's length is the most it takes; it writes offset and result).
// Results are bytes moved or -errno.
// This file: the errno constants, batch_io, BATCH_LAYOUT, a worker's own
// ring, and recvOne/sendOne; batch-send, batch-recv and batch-recv-slab
// test the batches themselves, once per way they reach the kernel.
import t from 'tap';
import { batch, binding, socket, socketpair, ValueError } from '@iomux/core-native';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { EINVAL, EAGAIN, EBADF, EPIPE, ECONNRESET, ENOTSOCK, bad, NO_SUCH_FD } from './batch-support.js';

checkNoFdLeak(t);

const { sendBatch, recvBatch, batchIo, BATCH_LAYOUT: L } = batch;

t.test('errno constants this file relies on exist', async (t) => {
  for (const [name, v] of Object.entries({ EINVAL, EAGAIN, EBADF, EPIPE, ECONNRESET, ENOTSOCK })) {
    t.ok(Number.isInteger(v) && v > 0, `${name} is a positive integer`);
  }
});

t.test('batch_io: how batches reach the kernel, and turning the ring off and on', async (t) => {
  const how = batchIo();
  if (process.env.IOMUX_URING === '0') t.equal(how, 'disabled', 'IOMUX_URING=0 turns the ring off');
  else t.match(how, /^(io_uring|unavailable|unsupported)$/);
  t.equal(batchIo(), how, 'the same answer each time');
  t.not(batchIo('syscalls'), 'io_uring', "'syscalls' turns it off");
  t.not(batchIo(), 'io_uring', 'and it stays off');
  const on = batchIo('io_uring');
  t.match(on, /^(io_uring|unavailable|unsupported)$/, "'io_uring' turns it on where it can be");
  if (how === 'io_uring') t.equal(on, 'io_uring', 'on again');
  t.throws(() => batchIo(bad('epoll')), { message: "mode must be 'io_uring' or 'syscalls'" });
  t.throws(() => batchIo(bad(1)), { name: 'TypeError' });
  t.equal(batchIo(), on, 'a bad mode changes nothing');
  batchIo(how === 'io_uring' ? 'io_uring' : 'syscalls');
});

t.test('BATCH_LAYOUT: one entry layout for sends and receives, the addon\'s own', async (t) => {
  const raw = binding.batch_layout;
  t.ok(Object.isFrozen(raw) && Object.isFrozen(L), 'both frozen');
  t.same(
    L,
    { header: raw.header, stride: raw.stride, fd: raw.fd, offset: raw.offset, length: raw.length, result: raw.result, ringOps: raw.ring_ops },
    'the addon\'s layout, checked and renamed',
  );
  // What this file's tables (and the loop's) assume.
  t.same([L.header, L.stride, L.fd, L.offset, L.length, L.result], [1, 4, 0, 1, 2, 3]);
  t.equal(L.ringOps, 64, 'one ring call takes the loop\'s batch of 64');
  const tab = batch.batchTable(3);
  t.equal(tab.length, 1 + 3 * 4, 'batchTable: the count and 3 entries');
  t.equal(tab[0], 0, 'empty');
  // The raw binding throws a plain Error with pyType; the typed API a ValueError.
  const over = new Int32Array([2, -1, 0, 0, 0]);
  t.throws(() => binding.send_batch(Buffer.alloc(1), over), { pyType: 'ValueError', message: 'batch count out of range' });
  t.throws(() => sendBatch(Buffer.alloc(1), over), ValueError);
  t.throws(() => recvBatch(Buffer.alloc(1), over), ValueError);
});

/** The io_uring mappings in this process (/proc/self/maps). */
function ringMappings(): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('io_uring')).length;
}

const ringWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { batch, socketpair } = require(workerData.core);
const { sendBatch, recvBatch, batchIo } = batch;
const [a, b] = socketpair();
a.setblocking(false);
b.setblocking(false);
const slab = Buffer.from('x'.repeat(64));
const tab = new Int32Array([1, a.fileno(), 0, 64, 0]);
sendBatch(slab, tab);
const into = Buffer.alloc(64 * 1024);
const rt = new Int32Array([2, b.fileno(), 0, 100, 0, b.fileno(), 0, 100, 0]);
recvBatch(into, rt);
a.close();
b.close();
parentPort.postMessage([batchIo(), tab[4], rt[4], rt[8]]);
`;

t.test('a worker thread has a ring of its own, gone when the worker ends', async (t) => {
  const fdsBefore = fdCount();
  const mapsBefore = ringMappings();
  for (let i = 0; i < 8; i++) {
    const worker = new Worker(ringWorkerSource, { eval: true, workerData: { core: require.resolve('@iomux/core-native') } });
    const exit = new Promise<number>((resolve) => worker.on('exit', resolve));
    const got = await new Promise<unknown[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const how = batchIo();
    t.same(got, [how === 'io_uring' ? 'io_uring' : got[0], 64, 64, -EAGAIN], `worker ${i}: its batches work`);
    t.equal(await exit, 0);
  }
  t.equal(fdCount(), fdsBefore, 'no descriptor left behind');
  t.equal(ringMappings(), mapsBefore, 'no ring mapping left behind');
});

t.test('recvOne and sendOne: one socket, the whole view, errors with errno', async (t) => {
  const [a, b] = socketpair();
  t.teardown(() => {
    a.close();
    b.close();
  });
  a.setblocking(false);
  b.setblocking(false);
  const { recvOne, sendOne, addressMod4096 } = batch;
  t.equal(sendOne(a.fileno(), Buffer.from('hello')), 5, 'sent all of the view');
  const into = Buffer.alloc(16);
  t.equal(recvOne(b.fileno(), into), 5, 'received what came');
  t.equal(into.subarray(0, 5).toString(), 'hello');
  t.throws(() => recvOne(b.fileno(), into), { errno: EAGAIN, code: 'EAGAIN', syscall: 'recv' }, 'nothing to read: EAGAIN');
  t.throws(() => recvOne(NO_SUCH_FD, into), { errno: EBADF, code: 'EBADF' }, 'a closed descriptor: EBADF');
  t.throws(() => sendOne(a.fileno(), bad('spam')), 'not a view: refused, no crash');
  a.shutdown(socket.SHUT_WR!);
  t.equal(recvOne(b.fileno(), into), 0, 'end of stream: 0');
  const raw = Buffer.allocUnsafeSlow(8192);
  const at = addressMod4096(raw);
  t.ok(at >= 0 && at < 4096, `address mod 4096: ${at}`);
  t.equal(addressMod4096(raw.subarray(4096 - at)), 0, 'a view starting on a page boundary: 0');
});
