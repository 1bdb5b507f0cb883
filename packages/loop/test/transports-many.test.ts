// transports.ts: the loop's read and write batches across many transports
// of one loop (runs of copies, a full batch, more than the slab holds) and
// what one transport's callback does to another already received for, on
// every backend, with real socketpairs.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { EventLoop, SelectorSocketTransport } from '@iomux/loop';
import { socket, socketpair, type Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { runBriefly, runUntil } from './helpers.js';
import { BufProto, RecProto, drainPeer, forEachBackend } from './transports-support.js';

checkNoFdLeak(t);

forEachBackend(t, (t, { backend }) => {
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
});
