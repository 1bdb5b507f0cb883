// transports.ts: writes from the loop's callbacks join its write batch (as
// uvloop queues them), the turns a loop waits for late writes, and a close,
// abort or writeEof right after a batched write, on every backend, with
// real socketpairs.
import t from 'tap';
import { SelectorSocketTransport } from '@iomux/loop';
import { socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectExceptions, future, runBriefly, runUntil } from './helpers.js';
import { RecProto, drainPeer, forEachBackend } from './transports-support.js';

checkNoFdLeak(t);

forEachBackend(t, (t, { setup, hasWriter, fill }) => {
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
});
