// batch.recvBatch (native/batch.cc RecvBatch): how it shares out the slab,
// once per way batches reach the kernel (batch-support.ts eachMode): early
// stops, the 4096-byte floor, per-entry shares, alignment past the end,
// 64 mixed entries, and empty tables or detached buffers.
import t from 'tap';
import { batch, os, socket, Socket, errnoConstants } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import {
  EINVAL, UNTOUCHED, table, rrow, got, pairs, drain, patternSlab, detachedSlab, detach, eachMode,
} from './batch-support.js';

checkNoFdLeak(t);

const { recvBatch } = batch;

eachMode(t, (t, mode) => {
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
});
