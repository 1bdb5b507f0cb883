// batch.sendBatch (native/batch.cc SendBatch) on real non-blocking
// socketpairs, once per way batches reach the kernel (batch-support.ts
// eachMode): slices of the slab, offsets, skipped and refused entries,
// -errno results, full buffers, closed peers, empty tables.
import t from 'tap';
import { batch, os, socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { expectNoSigpipeThenControl, watchSigpipe } from '../../../test/support/sigpipe.js';
import {
  EINVAL, EAGAIN, EBADF, EPIPE, ECONNRESET, ENOTSOCK, UNTOUCHED, NO_SUCH_FD, table, entry, pairs, drain,
  nothingWaiting, patternSlab, detachedSlab, detach, eachMode,
} from './batch-support.js';

checkNoFdLeak(t);

const { sendBatch, BATCH_LAYOUT: L } = batch;

eachMode(t, (t) => {
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
});
