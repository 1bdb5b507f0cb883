// batch.recvBatch (native/batch.cc RecvBatch) on real non-blocking
// socketpairs, once per way batches reach the kernel (batch-support.ts
// eachMode): packing, max, blocking sockets, EOF and EAGAIN, bad entries;
// then argument errors and a slab aliasing its table, for both calls.
import t from 'tap';
import { batch, os, socket, Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import {
  EINVAL, EAGAIN, EBADF, ENOTSOCK, UNTOUCHED, NO_SUCH_FD, table, entry, rrow, got, pairs, drain,
  nothingWaiting, eachMode,
} from './batch-support.js';

checkNoFdLeak(t);

const { sendBatch, recvBatch, BATCH_LAYOUT: L } = batch;

eachMode(t, (t) => {
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
