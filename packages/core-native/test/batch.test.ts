// The loop's batched I/O: batch.sendBatch and batch.recvBatch (native/batch.cc
// SendBatch, RecvBatch, BatchValues), on real non-blocking socketpairs. A
// table is an Int32Array: table[0] is the entry count, then four int32s per
// entry, [fd, offset, length, result] for sends and receives alike (a
// receive's length is the most it takes; it writes offset and result).
// Results are bytes moved or -errno.
import t from 'tap';
import { batch, binding, os, socket, socketpair, Socket, errnoConstants, BlockingIOError, ValueError } from '@iomux/core-native';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { expectNoSigpipeThenControl, watchSigpipe } from '../../../test/support/sigpipe.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const { EINVAL, EAGAIN, EBADF, EPIPE, ECONNRESET, ENOTSOCK } = E as Record<string, number>;
const bad = (x: unknown): any => x;
/** A value never written by the native code: marks fields it must leave alone. */
const UNTOUCHED = 0x5a5a5a5;
/** A descriptor number no process here will have open (far above RLIMIT_NOFILE). */
const NO_SUCH_FD = 1_000_000;

const { sendBatch, recvBatch, batchIo, BATCH_LAYOUT: L } = batch;

/** A send or receive table: [count, ...entries], four int32s per entry. */
function table(rows: number[][]): Int32Array {
  const tab = new Int32Array(1 + rows.length * 4);
  tab[0] = rows.length;
  rows.forEach((row, i) => {
    tab.set(row.length === 4 ? row : [...row, UNTOUCHED, UNTOUCHED].slice(0, 4), 1 + i * 4);
  });
  return tab;
}

/** Entry i of a table: its four int32s. */
const entry = (tab: Int32Array, i: number): number[] => Array.from(tab.subarray(1 + i * 4, 5 + i * 4));
/** A receive entry: [fd, max], offset and result left UNTOUCHED. */
const rrow = (fd: number, max: number): number[] => [fd, UNTOUCHED, max, UNTOUCHED];
/** What a receive wrote for entry i: [result, offset]. */
const got = (tab: Int32Array, i: number): number[] => [entry(tab, i)[L.result]!, entry(tab, i)[L.offset]!];

/** n socketpairs, both ends non-blocking; close() closes them all. */
function pairs(n: number): { ends: [Socket, Socket][]; close(): void } {
  const ends: [Socket, Socket][] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = socketpair();
    a.setblocking(false);
    b.setblocking(false);
    ends.push([a, b]);
  }
  return {
    ends,
    close() {
      for (const [a, b] of ends) {
        a.close();
        b.close();
      }
    },
  };
}

/** Everything readable on a non-blocking socket now (bounded). */
function drain(s: Socket): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    let got: Buffer;
    try {
      got = s.recv(1 << 16);
    } catch (e) {
      if (e instanceof BlockingIOError) break;
      throw e;
    }
    if (got.length === 0) break;
    parts.push(got);
  }
  return Buffer.concat(parts);
}

/** True when nothing at all is waiting on the non-blocking socket. */
function nothingWaiting(s: Socket): boolean {
  try {
    s.recv(1);
  } catch (e) {
    return e instanceof BlockingIOError;
  }
  return false;
}

/** A slab whose byte i is (i * 7 + 3) & 0xff: offsets show in the bytes. */
function patternSlab(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** A slab on its own ArrayBuffer, detached by transferring that buffer away. */
function detachedSlab(n: number): Uint8Array {
  const ab = new ArrayBuffer(n);
  const view = new Uint8Array(ab);
  detach(ab);
  return view;
}

/** Detaches an ArrayBuffer (its views then have length 0). */
function detach(ab: ArrayBuffer): void {
  structuredClone(ab, { transfer: [ab] });
}

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

/**
 * Every test below runs once per way the batches can reach the kernel here:
 * through the thread's io_uring (one syscall per batch) where there is one,
 * and with a syscall per entry; both must give the same results.
 */
const INITIAL = batchIo();
const MODES = (INITIAL === 'io_uring' ? ['io_uring', 'syscalls'] : ['syscalls']) as Array<'io_uring' | 'syscalls'>;
for (const mode of MODES) {
  t.test(`batches through ${mode}`, async (t) => {
    const now = batchIo(mode);
    if (mode === 'io_uring') t.equal(now, 'io_uring');
    else t.not(now, 'io_uring');
    t.teardown(() => {
      batchIo(INITIAL === 'io_uring' ? 'io_uring' : 'syscalls');
    });

    t.test('sendBatch: each peer receives exactly its slice of the slab', async (t) => {
      const p = pairs(4);
      const slab = patternSlab(1000);
      const rows = [
        [p.ends[0]![0].fileno(), 0, 10],
        [p.ends[1]![0].fileno(), 10, 1],
        [p.ends[2]![0].fileno(), 123, 500],
        [p.ends[3]![0].fileno(), 999, 1],
        // The same socket twice: both slices arrive, in order.
        [p.ends[0]![0].fileno(), 600, 400],
      ];
      const tab = table(rows.map((r) => [...r, UNTOUCHED]));
      t.equal(sendBatch(slab, tab), 5, 'returns the number of entries done');
      t.same([0, 1, 2, 3, 4].map((i) => entry(tab, i)[L.result]), [10, 1, 500, 1, 400], 'each result is the bytes sent');
      t.same(entry(tab, 2).slice(0, 3), rows[2], 'fd, offset and length are left as they were');
      t.equal(tab[0], 5, 'the count is left as it was');
      t.same(drain(p.ends[0]![1]), Buffer.concat([slab.subarray(0, 10), slab.subarray(600, 1000)]));
      t.same(drain(p.ends[1]![1]), slab.subarray(10, 11));
      t.same(drain(p.ends[2]![1]), slab.subarray(123, 623));
      t.same(drain(p.ends[3]![1]), slab.subarray(999, 1000));
      // The other direction, to be sure the descriptors are not mixed up.
      const back = table([[p.ends[3]![1].fileno(), 0, 3], [p.ends[1]![1].fileno(), 3, 2]]);
      t.equal(sendBatch(Buffer.from('abcde'), back), 2);
      t.same([entry(back, 0)[L.result], entry(back, 1)[L.result]], [3, 2]);
      t.equal(drain(p.ends[3]![0]).toString(), 'abc');
      t.equal(drain(p.ends[1]![0]).toString(), 'de');
      t.ok(nothingWaiting(p.ends[0]![1]) && nothingWaiting(p.ends[2]![0]), 'nothing went anywhere else');
      p.close();
    });

    t.test('sendBatch: offsets are relative to the slab view, of any element type', async (t) => {
      const p = pairs(2);
      const outer = patternSlab(64);
      const view = outer.subarray(16, 48); // 32 bytes starting at outer[16]
      const tab = table([[p.ends[0]![0].fileno(), 0, 4], [p.ends[1]![0].fileno(), 28, 4]]);
      t.equal(sendBatch(view, tab), 2);
      t.same(drain(p.ends[0]![1]), outer.subarray(16, 20), 'offset 0 is the first byte of the view');
      t.same(drain(p.ends[1]![1]), outer.subarray(44, 48));
      // An entry reaching past the view's end (still inside the ArrayBuffer) is refused.
      const past = table([[p.ends[0]![0].fileno(), 30, 3]]);
      sendBatch(view, past);
      t.equal(entry(past, 0)[L.result], -EINVAL, 'the slab is the view, not its whole ArrayBuffer');
      t.ok(nothingWaiting(p.ends[0]![1]));
      // A Uint32Array slab: offsets and lengths are in bytes.
      const words = new Uint32Array([0x04030201, 0x08070605]);
      const w = table([[p.ends[1]![0].fileno(), 3, 5]]);
      t.equal(sendBatch(words, w), 1);
      t.equal(entry(w, 0)[L.result], 5);
      const bytes = Buffer.from(words.buffer);
      t.same(drain(p.ends[1]![1]), bytes.subarray(3, 8));
      const w2 = table([[p.ends[1]![0].fileno(), 0, 9]]);
      sendBatch(words, w2);
      t.equal(entry(w2, 0)[L.result], -EINVAL, 'a Uint32Array of 2 is 8 bytes long');
      // A DataView slab.
      const dv = new DataView(bytes.buffer, bytes.byteOffset + 1, 6);
      const d = table([[p.ends[0]![0].fileno(), 2, 4]]);
      t.equal(sendBatch(dv, d), 1);
      t.same(drain(p.ends[0]![1]), bytes.subarray(3, 7));
      p.close();
    });

    t.test('sendBatch: a negative fd is skipped, result 0, nothing sent', async (t) => {
      const p = pairs(2);
      const slab = Buffer.from('hello world');
      const tab = table([
        [-1, 0, 5, UNTOUCHED],
        [p.ends[0]![0].fileno(), 0, 5, UNTOUCHED],
        [-2147483648, 6, 5, UNTOUCHED],
        // A negative fd skips even an entry whose window is out of range.
        [-5, -1, 1 << 30, UNTOUCHED],
        [p.ends[1]![0].fileno(), 6, 5, UNTOUCHED],
      ]);
      t.equal(sendBatch(slab, tab), 5, 'skipped entries count as done');
      t.same([0, 1, 2, 3, 4].map((i) => entry(tab, i)[L.result]), [0, 5, 0, 0, 5]);
      t.equal(drain(p.ends[0]![1]).toString(), 'hello', 'only its own entry reached the first peer');
      t.equal(drain(p.ends[1]![1]).toString(), 'world');
      p.close();
    });

    t.test('sendBatch: a window outside the slab is -EINVAL and sends nothing', async (t) => {
      const p = pairs(1);
      const [a, b] = p.ends[0]!;
      const fd = a.fileno();
      const slab = patternSlab(100);
      const INT32_MAX = 0x7fffffff;
      const badWindows: [number, number, string][] = [
        [-1, 1, 'negative offset'],
        [0, -1, 'negative length'],
        [-2147483648, 10, 'INT32_MIN offset'],
        [0, -2147483648, 'INT32_MIN length'],
        [0, 101, 'length one past the end'],
        [100, 1, 'offset at the end, length 1'],
        [101, 0, 'offset past the end, length 0'],
        [50, 51, 'off + len one past the end'],
        [INT32_MAX, 1, 'offset INT32_MAX'],
        [1, INT32_MAX, 'length INT32_MAX (off + len wraps in int32)'],
        [INT32_MAX, INT32_MAX, 'both INT32_MAX (sum near 2^32)'],
        [0x7ffffff0, 0x20, 'sum just past 2^31'],
      ];
      for (const [off, len, what] of badWindows) {
        const tab = table([[fd, off, len, UNTOUCHED]]);
        t.equal(sendBatch(slab, tab), 1, `${what}: the entry is done`);
        t.equal(entry(tab, 0)[L.result], -EINVAL, `${what}: -EINVAL`);
      }
      t.ok(nothingWaiting(b), 'none of them sent a byte');
      // The bad entry does not stop the batch; the edges that fit are accepted.
      const tab = table([
        [fd, 0, 1000, UNTOUCHED],
        [fd, 90, 10, UNTOUCHED], // ends exactly at the slab's end
        [fd, 100, 0, UNTOUCHED], // empty window at the very end
        [fd, -3, 3, UNTOUCHED],
        [fd, 0, 2, UNTOUCHED],
      ]);
      t.equal(sendBatch(slab, tab), 5);
      t.same([0, 1, 2, 3, 4].map((i) => entry(tab, i)[L.result]), [-EINVAL, 10, 0, -EINVAL, 2]);
      t.same(drain(b), Buffer.concat([slab.subarray(90, 100), slab.subarray(0, 2)]));
      p.close();
    });

    t.test('sendBatch: EBADF and ENOTSOCK come back as -errno', async (t) => {
      const p = pairs(1);
      const [a, b] = p.ends[0]!;
      const [r, w] = os.pipe();
      const slab = Buffer.from('xyz');
      const tab = table([
        [NO_SUCH_FD, 0, 1, UNTOUCHED],
        [0x7fffffff, 0, 1, UNTOUCHED],
        [w, 0, 1, UNTOUCHED],
        [a.fileno(), 0, 3, UNTOUCHED],
      ]);
      t.equal(sendBatch(slab, tab), 4, 'errors do not stop the batch');
      t.same([0, 1, 2, 3].map((i) => entry(tab, i)[L.result]), [-EBADF, -EBADF, -ENOTSOCK, 3]);
      t.equal(drain(b).toString(), 'xyz');
      // A descriptor closed just before: its number is free (nothing opened since).
      const [c, d] = socketpair();
      const closedNo = c.fileno();
      c.close();
      const tab2 = table([[closedNo, 0, 1, UNTOUCHED]]);
      sendBatch(slab, tab2);
      t.equal(entry(tab2, 0)[L.result], -EBADF, 'a just-closed descriptor is -EBADF');
      d.close();
      os.close(r);
      os.close(w);
      p.close();
    });

    t.test('sendBatch: a full send buffer gives a short count, then -EAGAIN', async (t) => {
      const p = pairs(2);
      const [a, b] = p.ends[0]!;
      const [c, d] = p.ends[1]!;
      const slab = patternSlab(1 << 16);
      const expected: Buffer[] = [];
      const seen: number[] = [];
      let sawEagain = false;
      for (let i = 0; i < 2000 && !sawEagain; i++) {
        const tab = table([[a.fileno(), 0, slab.length, UNTOUCHED]]);
        t.equal(sendBatch(slab, tab), 1);
        const res = entry(tab, 0)[L.result]!;
        seen.push(res);
        if (res === -EAGAIN) sawEagain = true;
        else if (res > 0 && res <= slab.length) expected.push(slab.subarray(0, res));
        else t.fail(`unexpected result ${res}`);
      }
      t.ok(sawEagain, 'the send buffer filled up and sendBatch reported -EAGAIN');
      t.ok(seen.length > 1 && seen[0]! > 0, 'something was sent before it filled');
      t.ok(seen.every((r) => r === -EAGAIN || (r > 0 && r <= slab.length)), 'every result is -EAGAIN or a count of at most length');
      // With the buffer full, an entry for the full socket fails and the next one still goes.
      const tab = table([
        [a.fileno(), 0, 100, UNTOUCHED],
        [c.fileno(), 5, 7, UNTOUCHED],
      ]);
      t.equal(sendBatch(slab, tab), 2);
      const first = entry(tab, 0)[L.result]!;
      t.ok(first === -EAGAIN || (first > 0 && first < 100), `full socket: -EAGAIN or a short count (got ${first})`);
      if (first > 0) expected.push(slab.subarray(0, first));
      t.equal(entry(tab, 1)[L.result], 7, 'the other socket is not held up');
      t.same(drain(d), slab.subarray(5, 12));
      // The peer gets exactly what the results say was sent.
      const want = Buffer.concat(expected);
      const got = drain(b);
      t.equal(got.length, want.length, 'bytes received = sum of the positive results');
      t.ok(got.equals(want), 'and they are the slab slices, in order');
      p.close();
    });

    t.test('sendBatch: a closed peer is -EPIPE (or -ECONNRESET), with no SIGPIPE', async (t) => {
      const signals = watchSigpipe(t);
      const p = pairs(2);
      const [a, b] = p.ends[0]!;
      const [c, d] = p.ends[1]!;
      b.close();
      const slab = Buffer.alloc(1 << 16, 0x41);
      const tab = table([
        [a.fileno(), 0, 1, UNTOUCHED],
        [a.fileno(), 0, slab.length, UNTOUCHED],
        [c.fileno(), 0, 2, UNTOUCHED],
      ]);
      t.equal(sendBatch(slab, tab), 3);
      for (const i of [0, 1]) {
        const r = entry(tab, i)[L.result]!;
        t.ok(r === -EPIPE || r === -ECONNRESET, `entry ${i}: -EPIPE or -ECONNRESET (got ${r})`);
      }
      t.equal(entry(tab, 2)[L.result], 2, 'a healthy socket after it is still served');
      t.equal(drain(d).toString(), 'AA');
      a.close();
      c.close();
      d.close();
      await expectNoSigpipeThenControl(t, signals, 'sendBatch');
    });

    t.test('sendBatch: count 0, empty tables and detached buffers', async (t) => {
      const p = pairs(1);
      const [a, b] = p.ends[0]!;
      const slab = Buffer.from('data');
      // table[0] = 0: nothing is done even though an entry follows.
      const zero = table([[a.fileno(), 0, 4, UNTOUCHED]]);
      zero[0] = 0;
      t.equal(sendBatch(slab, zero), 0);
      t.equal(entry(zero, 0)[L.result], UNTOUCHED, 'the entry past the count is not touched');
      t.equal(sendBatch(slab, new Int32Array(1)), 0, 'a table of just the count 0');
      t.equal(sendBatch(slab, new Int32Array(0)), 0, 'a zero-length table is empty');
      t.ok(nothingWaiting(b), 'nothing was sent');
      // A detached slab is empty: a window of len > 0 is -EINVAL, len 0 sends nothing.
      const gone = detachedSlab(64);
      t.equal(gone.byteLength, 0, 'the slab is detached');
      const tab = table([
        [a.fileno(), 0, 1, UNTOUCHED],
        [a.fileno(), 0, 64, UNTOUCHED],
        [a.fileno(), 0, 0, UNTOUCHED],
      ]);
      t.equal(sendBatch(gone, tab), 3);
      t.same([0, 1, 2].map((i) => entry(tab, i)[L.result]), [-EINVAL, -EINVAL, 0]);
      t.ok(nothingWaiting(b), 'a detached slab sends nothing');
      // A detached table is empty too.
      const dt = table([[a.fileno(), 0, 4, UNTOUCHED]]);
      detach(dt.buffer as ArrayBuffer);
      t.equal(dt.length, 0, 'the table is detached');
      t.equal(sendBatch(slab, dt), 0);
      t.ok(nothingWaiting(b));
      // A table that is a view into a larger buffer: table[0] is the view's first element.
      const backing = new Int32Array(12).fill(-7);
      const view = new Int32Array(backing.buffer, 8, 5);
      view.set([1, a.fileno(), 1, 2, UNTOUCHED]);
      t.equal(sendBatch(slab, view), 1);
      t.equal(view[4], 2);
      t.equal(drain(b).toString(), 'at');
      t.same(Array.from(backing.subarray(0, 2)), [-7, -7], 'nothing before the view was written');
      t.same(Array.from(backing.subarray(7)), [-7, -7, -7, -7, -7], 'nothing after it either');
      p.close();
    });

    t.test('recvBatch: several sockets, packed 8-byte-aligned from offset 0', async (t) => {
      const p = pairs(5);
      const msgs = ['hello', 'a longer message', '12345678', 'x', 'thirteen bytes'].map((s) => Buffer.from(s));
      p.ends.forEach(([a], i) => t.equal(a.send(msgs[i]!), msgs[i]!.length));
      const slab = Buffer.alloc(1 << 16, 0xee);
      const tab = table(p.ends.map(([, b]) => rrow(b.fileno(), 1000)));
      t.equal(recvBatch(slab, tab), 5, 'all entries done');
      const results = [0, 1, 2, 3, 4].map((i) => entry(tab, i)[L.result]);
      const offsets = [0, 1, 2, 3, 4].map((i) => entry(tab, i)[L.offset]);
      t.same(results, [5, 16, 8, 1, 14], 'each result is the bytes received');
      t.same(offsets, [0, 8, 24, 32, 40], 'packed from 0, each start rounded up to 8');
      msgs.forEach((m, i) => {
        t.same(slab.subarray(offsets[i]!, offsets[i]! + results[i]!), m, `entry ${i}: the bytes at its offset`);
      });
      t.equal(slab[5], 0xee, 'the padding after a message is not written');
      t.equal(slab[54], 0xee, 'nothing past the last message is written');
      t.same([entry(tab, 1)[L.fd], entry(tab, 1)[L.length]], [p.ends[1]![1].fileno(), 1000], 'fd and length are left as they were');
      t.ok(p.ends.every(([, b]) => nothingWaiting(b)), 'everything waiting was read');
      p.close();
    });

    t.test('recvBatch: max limits each read; the rest stays queued', async (t) => {
      const p = pairs(2);
      const [a, b] = p.ends[0]!;
      const [c, d] = p.ends[1]!;
      a.send(Buffer.from('0123456789'));
      c.send(Buffer.from('abcdefghij'));
      const slab = Buffer.alloc(256);
      const tab = table([
        rrow(b.fileno(), 3),
        rrow(d.fileno(), 1),
        rrow(b.fileno(), 4),
      ]);
      t.equal(recvBatch(slab, tab), 3);
      t.same([0, 1, 2].map((i) => got(tab, i)), [[3, 0], [1, 8], [4, 16]]);
      t.equal(slab.subarray(0, 3).toString(), '012');
      t.equal(slab.subarray(8, 9).toString(), 'a');
      t.equal(slab.subarray(16, 20).toString(), '3456');
      t.equal(drain(b).toString(), '789');
      t.equal(drain(d).toString(), 'bcdefghij');
      p.close();
    });

    t.test('both: a blocking socket never blocks a batch (-EAGAIN instead)', async (t) => {
      // A hang here would be the failure (tap's timeout).
      const p = pairs(3);
      for (const [a, b] of p.ends) {
        a.setblocking(true);
        b.setblocking(true);
      }
      const [[a, b], [c, d], [e, f]] = p.ends as [Socket, Socket][];
      a!.send(Buffer.from('ready'));
      const slab = Buffer.alloc(64 * 1024);
      // One entry (no shares), then three (shares of 21840 bytes).
      const one = table([rrow(d!.fileno(), 100)]);
      t.equal(recvBatch(slab, one), 1);
      t.same(got(one, 0), [-EAGAIN, 0], 'nothing waiting: -EAGAIN');
      const three = table([
        rrow(b!.fileno(), 100),
        rrow(d!.fileno(), 100),
        rrow(f!.fileno(), 100),
      ]);
      t.equal(recvBatch(slab, three), 3);
      t.same([0, 1, 2].map((i) => got(three, i)), [[5, 0], [-EAGAIN, 8], [-EAGAIN, 8]]);
      // Sends: a full send buffer gives a short count, then -EAGAIN.
      const big = Buffer.alloc(4 * 1024 * 1024, 1);
      const send = table([[e!.fileno(), 0, big.length, UNTOUCHED]]);
      t.equal(sendBatch(big, send), 1);
      const first = entry(send, 0)[L.result]!;
      t.ok(first > 0 && first < big.length, `a short send (${first} of ${big.length})`);
      const again = table([[e!.fileno(), 0, big.length, UNTOUCHED]]);
      sendBatch(big, again);
      t.equal(entry(again, 0)[L.result], -EAGAIN, 'then -EAGAIN');
      p.close();
    });

    t.test('recvBatch: EOF is 0, nothing waiting is -EAGAIN; neither takes slab space', async (t) => {
      const p = pairs(4);
      const [a0, b0] = p.ends[0]!;
      const [a1, b1] = p.ends[1]!;
      const [, b2] = p.ends[2]!;
      const [a3, b3] = p.ends[3]!;
      a0.send(Buffer.from('abc'));
      a1.close(); // EOF for b1
      a3.send(Buffer.from('tail'));
      const slab = Buffer.alloc(4096);
      const tab = table([
        rrow(b0.fileno(), 100),
        rrow(b1.fileno(), 100),
        rrow(b2.fileno(), 100),
        rrow(b3.fileno(), 100),
      ]);
      t.equal(recvBatch(slab, tab), 4);
      t.same(got(tab, 0), [3, 0]);
      t.same(got(tab, 1), [0, 8], 'EOF: result 0, offset is where it would have gone');
      t.same(got(tab, 2), [-EAGAIN, 8], 'nothing to read: -EAGAIN');
      t.same(got(tab, 3), [4, 8], 'the next read lands where the cursor was');
      t.equal(slab.subarray(0, 3).toString(), 'abc');
      t.equal(slab.subarray(8, 12).toString(), 'tail');
      // A half-closed peer (SHUT_WR) is EOF too, and EOF repeats.
      a0.shutdown(socket.SHUT_WR);
      const again = table([
        rrow(b0.fileno(), 100),
        rrow(b1.fileno(), 100),
      ]);
      t.equal(recvBatch(slab, again), 2);
      t.same([got(again, 0), got(again, 1)], [[0, 0], [0, 0]]);
      p.close();
    });

    t.test('recvBatch: negative fd skipped, max <= 0 is -EINVAL, bad descriptors -errno', async (t) => {
      const p = pairs(2);
      const [a, b] = p.ends[0]!;
      const [c, d] = p.ends[1]!;
      a.send(Buffer.from('first'));
      c.send(Buffer.from('second'));
      const [r, w] = os.pipe();
      os.write(w, Buffer.from('piped'));
      const slab = Buffer.alloc(8192);
      const tab = table([
        rrow(-1, 100),
        rrow(b.fileno(), 0),
        rrow(b.fileno(), -1),
        rrow(b.fileno(), -2147483648),
        rrow(d.fileno(), 100),
        rrow(-2147483648, 0),
        rrow(NO_SUCH_FD, 100),
        rrow(r, 100),
      ]);
      t.equal(recvBatch(slab, tab), 8, 'none of these stops the batch');
      t.same(got(tab, 0), [0, 0], 'negative fd: result 0, offset 0');
      t.same(got(tab, 1), [-EINVAL, 0], 'max 0: -EINVAL');
      t.same(got(tab, 2), [-EINVAL, 0], 'max -1: -EINVAL');
      t.same(got(tab, 3), [-EINVAL, 0], 'max INT32_MIN: -EINVAL');
      t.same(got(tab, 4), [6, 0], 'the first real read still starts at 0');
      t.same(got(tab, 5), [0, 0], 'a negative fd is skipped before max is looked at');
      t.same(got(tab, 6), [-EBADF, 8], 'a descriptor not open: -EBADF');
      t.same(got(tab, 7), [-ENOTSOCK, 8], 'a pipe: -ENOTSOCK (recv(2), not read(2))');
      t.equal(slab.subarray(0, 6).toString(), 'second');
      t.equal(drain(b).toString(), 'first', 'the skipped and invalid entries read nothing');
      os.close(r);
      os.close(w);
      p.close();
    });

    t.test('recvBatch: stops early when the slab left is below both max and 4096', async (t) => {
      const p = pairs(3);
      const [a, b] = p.ends[0]!;
      const [c, d] = p.ends[1]!;
      const [e, f] = p.ends[2]!;
      const first = patternSlab(3000);
      const second = Buffer.alloc(1500, 0x42);
      a.send(first);
      c.send(second);
      e.send(Buffer.from('third'));
      const slab = Buffer.alloc(5000);
      const tab = table([
        rrow(b.fileno(), 65536),
        rrow(d.fileno(), 65536), // 2000 left: < max and < 4096
        rrow(f.fileno(), 10),
      ]);
      t.equal(recvBatch(slab, tab), 1, 'one entry done: it stopped at the second');
      t.same(got(tab, 0), [3000, 0]);
      t.same(slab.subarray(0, 3000), first);
      t.same(got(tab, 1), [UNTOUCHED, UNTOUCHED], 'the stopping entry is not written');
      t.same(got(tab, 2), [UNTOUCHED, UNTOUCHED], 'nor any after it');
      t.same(drain(d), second, "the second socket's data is left unread");
      t.equal(drain(f).toString(), 'third', "and so is the third's");
      p.close();
    });

    t.test('recvBatch: an entry whose max fits in what is left still goes, under 4096', async (t) => {
      const p = pairs(4);
      const [[a, b], [c, d], [e, f], [g, h]] = p.ends as [Socket, Socket][];
      const first = patternSlab(3000);
      a!.send(first);
      c!.send(Buffer.alloc(1500, 0x42));
      e!.send(Buffer.from('third'));
      g!.send(Buffer.from('fourth'));
      const slab = Buffer.alloc(5000);
      const tab = table([
        rrow(b!.fileno(), 65536), // 3000 at 0, cursor 3000
        rrow(d!.fileno(), 2000), // max == the 2000 left: 1500 at 3000, cursor 4504
        rrow(f!.fileno(), 496), // max == the 496 left: 5 at 4504, cursor 4512
        rrow(h!.fileno(), 489), // 488 left < 489 and < 4096: stop
      ]);
      t.equal(recvBatch(slab, tab), 3);
      t.same([0, 1, 2, 3].map((i) => got(tab, i)), [
        [3000, 0], [1500, 3000], [5, 4504], [UNTOUCHED, UNTOUCHED],
      ]);
      t.same(slab.subarray(0, 3000), first);
      t.same(slab.subarray(3000, 4500), Buffer.alloc(1500, 0x42));
      t.equal(slab.subarray(4504, 4509).toString(), 'third');
      t.equal(drain(h!).toString(), 'fourth', 'the stopped entry read nothing');
      p.close();
    });

    t.test('recvBatch: with 4096 or more left, a larger max reads what fits', async (t) => {
      const p = pairs(2);
      const [[a, b], [c, d]] = p.ends as [Socket, Socket][];
      const big = patternSlab(10_000);
      t.equal(a!.send(big), 10_000);
      c!.send(Buffer.from('next'));
      // Alone in the batch (no shares): the whole slab.
      const slab = Buffer.alloc(8192);
      const tab = table([rrow(b!.fileno(), 65536)]);
      t.equal(recvBatch(slab, tab), 1);
      t.same(got(tab, 0), [8192, 0], 'a short read of the whole slab');
      t.same(slab, big.subarray(0, 8192));
      t.same(drain(b!), big.subarray(8192), 'the rest stays queued');
      t.equal(drain(d!).toString(), 'next');
      // Exactly 4096 left, max larger: still reads (the stop needs left < 4096);
      // two entries' shares of 4104 bytes are under 4096: no shares.
      a!.send(big.subarray(0, 5000));
      const s2 = Buffer.alloc(4096 + 8);
      c!.send(Buffer.from('z'));
      const t2 = table([
        rrow(d!.fileno(), 1), // 1 byte at 0, cursor 8
        rrow(b!.fileno(), 65536), // 4096 left
      ]);
      t.equal(recvBatch(s2, t2), 2);
      t.same([got(t2, 0), got(t2, 1)], [[1, 0], [4096, 8]]);
      t.same(s2.subarray(8), big.subarray(0, 4096));
      t.same(drain(b!), big.subarray(4096, 5000));
      p.close();
    });

    t.test('recvBatch: 2 or more entries with shares of 4096 or more take at most their share', async (t) => {
      const p = pairs(3);
      const [[a, b], [c, d], [e, f]] = p.ends as [Socket, Socket][];
      const big = patternSlab(10_000);
      t.equal(a!.send(big), 10_000);
      c!.send(Buffer.from('next'));
      e!.send(Buffer.from('x'.repeat(5000)));
      // 8192 bytes for 2 entries: 4096 each.
      const slab = Buffer.alloc(8192);
      const tab = table([
        rrow(b!.fileno(), 65536),
        rrow(d!.fileno(), 1),
      ]);
      t.equal(recvBatch(slab, tab), 2, 'every entry is done');
      t.same([got(tab, 0), got(tab, 1)], [[4096, 0], [1, 4096]]);
      t.same(slab.subarray(0, 4096), big.subarray(0, 4096));
      t.equal(slab.subarray(4096, 4097).toString(), 'n');
      t.same(drain(b!), big.subarray(4096), 'the rest of the first stays queued');
      t.equal(drain(d!).toString(), 'ext');
      // 3 entries in 16 KiB + 7: shares of 5456 (16391 / 3 = 5463.67, down to a
      // multiple of 8).
      a!.send(big);
      c!.send(Buffer.from('mid'));
      const s3 = Buffer.alloc(16 * 1024 + 7);
      const t3 = table([
        rrow(f!.fileno(), 65536),
        rrow(d!.fileno(), 65536),
        rrow(b!.fileno(), 65536),
      ]);
      t.equal(recvBatch(s3, t3), 3);
      // Packed after the entry before with syscalls; through the ring, the
      // third (4096 bytes or more) stays at the start of its share.
      const third = mode === 'io_uring' ? 2 * 5456 : 5008;
      t.same([0, 1, 2].map((i) => got(t3, i)), [[5000, 0], [3, 5000], [5456, third]]);
      t.equal(s3.subarray(0, 5000).toString(), 'x'.repeat(5000));
      t.equal(s3.subarray(5000, 5003).toString(), 'mid');
      t.same(s3.subarray(third, third + 5456), big.subarray(0, 5456));
      t.same(drain(b!), big.subarray(5456));
      p.close();
    });

    t.test('recvBatch: 64 entries of every kind, in order', async (t) => {
      // The size of the loop's batches (and of the ring's): messages of many
      // sizes, EOFs, errors and skipped entries mixed.
      const n = 64;
      const p = pairs(n);
      const [r, w] = os.pipe();
      const sent: (Buffer | null)[] = [];
      const rows: number[][] = [];
      const share = Math.floor(256 * 1024 / n / 8) * 8; // 4096
      for (let i = 0; i < n; i++) {
        const [x, y] = p.ends[i]!;
        const kind = i % 8;
        let msg: Buffer | null = null;
        if (kind === 5) x.shutdown(socket.SHUT_WR); // EOF
        else if (kind !== 6 && kind !== 7) {
          msg = patternSlab([1, 64, 4095, 4096, 5000][kind]! + i);
          x.send(msg);
        }
        sent.push(msg);
        if (kind === 6) rows.push(rrow(i % 16 === 6 ? -1 : r, 100)); // skipped / ENOTSOCK
        else if (kind === 7) rows.push(rrow(y.fileno(), i % 16 === 7 ? 0 : 100)); // EINVAL / EAGAIN
        else rows.push(rrow(y.fileno(), 65536));
      }
      const slab = Buffer.alloc(256 * 1024);
      const tab = table(rows);
      t.equal(recvBatch(slab, tab), n);
      let cursor = 0;
      let bad = 0;
      for (let i = 0; i < n; i++) {
        const [res, off] = got(tab, i) as [number, number];
        const kind = i % 8;
        let want: [number, number];
        if (kind === 5) want = [0, cursor];
        else if (kind === 6) want = i % 16 === 6 ? [0, 0] : [-errnoConstants.ENOTSOCK!, cursor];
        else if (kind === 7) want = i % 16 === 7 ? [-EINVAL, 0] : [-errnoConstants.EAGAIN!, cursor];
        else {
          const len = Math.min(sent[i]!.length, share);
          // Packed; through the ring, 4096 bytes or more stay in their share.
          const at = len < 4096 || mode !== 'io_uring' ? cursor : i * share;
          want = [len, at];
          if (!slab.subarray(off, off + len).equals(sent[i]!.subarray(0, len))) bad++;
          const rest = drain(p.ends[i]![1]);
          if (!rest.equals(sent[i]!.subarray(len))) bad++;
          cursor = at + ((len + 7) & ~7);
        }
        if (res !== want[0] || off !== want[1]) {
          t.fail(`entry ${i} (kind ${kind}): got [${res}, ${off}], want [${want.join(', ')}]`);
          bad++;
        }
      }
      t.equal(bad, 0, 'every entry has its own bytes at its offset; the rest stays queued');
      os.close(r);
      os.close(w);
      p.close();
    });

    t.test('recvBatch: alignment can carry the cursor past the slab end', async (t) => {
      const p = pairs(2);
      const [[a, b], [c, d]] = p.ends as [Socket, Socket][];
      a!.send(Buffer.from('thirteen byte'));
      c!.send(Buffer.from('q'));
      const slab = Buffer.alloc(13);
      const tab = table([
        rrow(b!.fileno(), 13), // fills the slab; cursor rounds to 16 > 13
        rrow(-1, 1), // skipped entries need no space
        rrow(d!.fileno(), 0), // nor do invalid ones
        rrow(d!.fileno(), 1), // nothing left: stop
      ]);
      t.equal(recvBatch(slab, tab), 3);
      t.same([0, 1, 2, 3].map((i) => got(tab, i)), [
        [13, 0], [0, 0], [-EINVAL, 0], [UNTOUCHED, UNTOUCHED],
      ]);
      t.equal(slab.toString(), 'thirteen byte');
      t.equal(drain(d!).toString(), 'q');
      p.close();
    });

    t.test('recvBatch: count 0, empty tables and detached buffers', async (t) => {
      const p = pairs(1);
      const [a, b] = p.ends[0]!;
      a.send(Buffer.from('waiting'));
      const slab = Buffer.alloc(4096);
      const zero = table([rrow(b.fileno(), 100)]);
      zero[0] = 0;
      t.equal(recvBatch(slab, zero), 0);
      t.same(got(zero, 0), [UNTOUCHED, UNTOUCHED]);
      t.equal(recvBatch(slab, new Int32Array(1)), 0);
      t.equal(recvBatch(slab, new Int32Array(0)), 0, 'a zero-length table is empty');
      const dt = table([rrow(b.fileno(), 100)]);
      detach(dt.buffer as ArrayBuffer);
      t.equal(recvBatch(slab, dt), 0, 'a detached table is empty');
      // A detached slab has no room: skipped and invalid entries are done, a read stops.
      const gone = detachedSlab(4096);
      t.equal(gone.byteLength, 0);
      const tab = table([
        rrow(-1, 100),
        rrow(b.fileno(), 0),
        rrow(b.fileno(), 100),
      ]);
      t.equal(recvBatch(gone, tab), 2, 'stops at the read: no room');
      t.same([0, 1, 2].map((i) => got(tab, i)), [[0, 0], [-EINVAL, 0], [UNTOUCHED, UNTOUCHED]]);
      t.equal(drain(b).toString(), 'waiting', 'nothing was read');
      p.close();
    });

    t.test('both: argument errors are thrown, not written to the table', async (t) => {
      const b: Record<string, (...a: unknown[]) => unknown> = { sendBatch, recvBatch } as never;
      const p = pairs(1);
      const [x, y] = p.ends[0]!;
      const slab = Buffer.alloc(64);
      const tableErr = { name: 'TypeError', message: 'table must be an Int32Array' };
      const slabErr = { name: 'TypeError', message: 'slab must be a Buffer or TypedArray' };
      const rangeErr = { name: 'ValueError', message: 'batch count out of range' };
      for (const name of ['sendBatch', 'recvBatch']) {
        const fn = b[name]!;
        const ok = table([[x.fileno(), 0, 1, UNTOUCHED]]);
        for (const [what, tab] of [
          ['Uint32Array', new Uint32Array(ok.buffer.slice(0))],
          ['Int16Array', new Int16Array(10)],
          ['Float64Array', new Float64Array(5)],
          ['BigInt64Array', new BigInt64Array(5)],
          ['plain array', [1, x.fileno(), 0, 1, 0]],
          ['undefined', undefined],
          ['null', null],
          ['number', 5],
          ['ArrayBuffer', ok.buffer],
          ['DataView', new DataView(ok.buffer)],
          ['Buffer', Buffer.from(ok.buffer)],
        ] as [string, unknown][]) {
          t.throws(() => fn(slab, tab), tableErr, `${name}: table as ${what} is a TypeError`);
        }
        t.throws(() => fn(slab), tableErr, `${name}: a missing table is a TypeError`);
        for (const [what, s] of [
          ['string', 'str'],
          ['number', 64],
          ['plain object', {}],
          ['undefined', undefined],
          ['null', null],
          ['ArrayBuffer', new ArrayBuffer(64)],
          ['plain array', [1, 2, 3]],
        ] as [string, unknown][]) {
          t.throws(() => fn(s, ok), slabErr, `${name}: slab as ${what} is a TypeError`);
        }
        t.throws(() => fn(), slabErr, `${name}: no arguments: the slab is checked first`);
        t.throws(() => fn('str', 'str'), slabErr, `${name}: both bad: the slab is reported`);
        // table[0] out of [0, (table.length - 1) / 4].
        const count = (n: number, len: number): Int32Array => {
          const tab = new Int32Array(len);
          tab[0] = n;
          for (let i = 1; i < len; i += 4) {
            tab[i] = -1; // skipped entries if it ever got to them
            if (i + 1 < len) tab[i + 1] = 1;
          }
          return tab;
        };
        t.throws(() => fn(slab, count(-1, 5)), rangeErr, `${name}: count -1`);
        t.throws(() => fn(slab, count(-2147483648, 5)), rangeErr, `${name}: count INT32_MIN`);
        t.throws(() => fn(slab, count(2, 5)), rangeErr, `${name}: count 2 with room for 1`);
        t.throws(() => fn(slab, count(2, 8)), rangeErr, `${name}: count 2 with room for 1 and 3/4`);
        t.throws(() => fn(slab, count(1, 4)), rangeErr, `${name}: count 1 with 3 of 4 ints`);
        t.throws(() => fn(slab, count(1, 1)), rangeErr, `${name}: count 1 with no entries`);
        t.throws(() => fn(slab, count(0x7fffffff, 9)), rangeErr, `${name}: count INT32_MAX`);
        t.equal(fn(slab, count(2, 9)), 2, `${name}: count 2 with exactly 2 entries is fine`);
        t.equal(fn(slab, count(2, 12)), 2, `${name}: spare ints after the entries are fine`);
        // An error leaves the table as it was and does nothing.
        const untouched = table([[x.fileno(), 0, 1, UNTOUCHED], [x.fileno(), 0, 1, UNTOUCHED]]);
        untouched[0] = 3;
        t.throws(() => fn(slab, untouched), rangeErr, `${name}: count 3 with room for 2`);
        t.same([entry(untouched, 0)[L.result], entry(untouched, 1)[L.result]], [UNTOUCHED, UNTOUCHED], `${name}: no entry was done`);
      }
      t.ok(nothingWaiting(y) && nothingWaiting(x), 'no error path sent anything');
      // Still usable after all that.
      const tab = table([[x.fileno(), 0, 2, UNTOUCHED]]);
      t.equal(sendBatch(Buffer.from('ok'), tab), 1);
      t.equal(drain(y).toString(), 'ok');
      p.close();
    });

    t.test('the slab may alias the table: the count is read once, every entry re-checked', async (t) => {
      // recvBatch writes received bytes over the table itself; whatever lands
      // there is then read as the next entries, and must be treated like any
      // other table contents (no crash, no read past the table).
      const p = pairs(1);
      const [a, b] = p.ends[0]!;
      const ab = new ArrayBuffer(64);
      const tab = new Int32Array(ab, 0, 9); // bytes [0, 36): count + 2 entries
      const slab = new Uint8Array(ab, 4, 60); // slab byte 0 is table[1]
      tab.set([2, b.fileno(), UNTOUCHED, 60, UNTOUCHED, b.fileno(), UNTOUCHED, 60, UNTOUCHED]);
      // The peer sends 24 bytes that land on entry 0 and then entry 1's fd and
      // offset: entry 1 becomes fd -1, a skipped entry.
      const payload = new Int32Array([0x11111111, 0x22222222, 0x33333333, 0x44444444, -1, 0]);
      t.equal(a.send(Buffer.from(payload.buffer)), 24);
      t.equal(recvBatch(slab, tab), 2);
      t.equal(tab[0], 2, 'table[0] is not a slab byte');
      t.same([tab[1 + L.result], tab[1 + L.offset]], [24, 0], 'entry 0 result and offset written after the read');
      t.same(Array.from(tab.subarray(5, 9)), [-1, 0, 60, 0], 'entry 1, overwritten to fd -1, was skipped');
      p.close();
    });
  });
}

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
