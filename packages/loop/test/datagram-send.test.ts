// datagram-send.ts: a datagram transport's sendto()s made while the loop
// runs callbacks wait in its batch and go in one sendmmsg before the loop
// next looks at I/O; a refused datagram is reported and the rest still go,
// what would block waits for the socket, close() sends the batch and
// abort() drops it. Real UDP on 127.0.0.1 and AF_UNIX datagram sockets, on
// every selector backend. No CPython counterpart (asyncio sends each
// datagram at once); the asyncio semantics kept are test_selector_events'.
import t from 'tap';
import { socket as S, Socket, errnoConstants as E } from '@iomux/core-native';
import { drainDatagrams } from '../../../test/support/dgram.js';
import { OSError, type DatagramProtocol, type DatagramTransport, type EventLoop } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, sleep, waitFor } from './helpers.js';

checkNoFdLeak(t);

const { AF_INET, AF_UNIX, SOCK_DGRAM } = S;
type Addr = [string, number];

class Proto implements DatagramProtocol {
  transport: DatagramTransport | null = null;
  received: string[] = [];
  errors: Error[] = [];
  lost = false;
  done: Promise<void>;
  #lost!: () => void;
  constructor() {
    this.done = new Promise((r) => (this.#lost = r));
  }
  connectionMade(tr: DatagramTransport): void {
    this.transport = tr;
  }
  datagramReceived(data: Buffer): void {
    this.received.push(data.toString());
  }
  errorReceived(exc: Error): void {
    this.errors.push(exc);
  }
  connectionLost(): void {
    this.lost = true;
    this.#lost();
  }
}

function udp(): Socket {
  const s = new Socket(AF_INET, SOCK_DGRAM);
  s.bind(['127.0.0.1', 0]);
  s.setblocking(false);
  return s;
}


/** Runs `fn` as a loop callback (where sendto() batches) and waits for it. */
function inCallback<T>(loop: EventLoop, fn: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    loop.callSoon(() => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e);
      }
    });
  });
}

for (const backend of BACKENDS) {
  t.test(`backend ${backend}`, async (t) => {
    t.test('sendto() in a callback waits in the batch, then goes before the next look, in order', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        using a = udp();
        using b = udp();
        const [tr, pr] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        const before = await inCallback(loop, () => {
          for (let i = 0; i < 5; i++) tr.sendto(Buffer.from(`a${i}`), a.getsockname());
          tr.sendto(new Uint16Array([0x3062]), b.getsockname() as Addr);
          const buf = Buffer.from('b1');
          tr.sendto(buf, b.getsockname());
          buf.write('XX'); // the batch has its own copy
          return { size: tr.getWriteBufferSize(), atA: drainDatagrams(a).length };
        });
        t.equal(before.size, 14, 'getWriteBufferSize() counts the batch');
        t.equal(before.atA, 0, 'nothing sent yet inside the callback');
        await waitFor(loop, () => tr.getWriteBufferSize() === 0);
        await sleep(loop, 0.005);
        t.same(drainDatagrams(a), ['a0', 'a1', 'a2', 'a3', 'a4']);
        t.same(drainDatagrams(b), ['b0', 'b1']);
        t.same(pr.errors, []);
        tr.close();
        await pr.done;
      });
    });

    t.test('sendto() outside the loop goes at once', async (t) => {
      const loop = newLoop(t, backend);
      using a = udp();
      let tr!: DatagramTransport;
      let pr!: Proto;
      await loop.runUntilComplete(async () => {
        [tr, pr] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
      });
      tr.sendto(Buffer.from('now'), a.getsockname());
      t.equal(tr.getWriteBufferSize(), 0);
      t.same(drainDatagrams(a), ['now'], 'sent before sendto() returned');
      tr.close();
      await loop.runUntilComplete(() => pr.done);
    });

    t.test('a datagram the kernel refuses mid-batch is reported; those after it still go', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        using a = udp();
        const [tr, pr] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        tr.setWriteBufferLimits(256 * 1024);
        const to = a.getsockname() as Addr;
        await inCallback(loop, () => {
          tr.sendto(Buffer.from('one'), to);
          tr.sendto(Buffer.alloc(70000), to); // EMSGSIZE
          tr.sendto(Buffer.from('two'), to);
          tr.sendto(Buffer.alloc(70001), to); // EMSGSIZE
          tr.sendto(Buffer.from('three'), to);
          t.equal(pr.errors.length, 0, 'not yet');
        });
        await waitFor(loop, () => pr.errors.length === 2);
        await sleep(loop, 0.005);
        t.same(drainDatagrams(a), ['one', 'two', 'three'], 'every other datagram, in order');
        t.ok(pr.errors.every((e) => e instanceof OSError && e.errno === E.EMSGSIZE), 'EMSGSIZE, to errorReceived');
        t.notOk(tr.isClosing(), 'the transport stays open');
        t.equal(tr.getWriteBufferSize(), 0);
        tr.close();
        await pr.done;
      });
    });

    t.test('a sendto() from errorReceived during the flush goes after the batch; a throwing one is reported', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        using a = udp();
        const to = a.getsockname() as Addr;
        const seen: unknown[] = [];
        loop.setExceptionHandler((_l, ctx) => void seen.push(ctx.exception));
        class Answering extends Proto {
          override errorReceived(exc: Error): void {
            super.errorReceived(exc);
            this.transport!.sendto(Buffer.from(`after-error-${this.errors.length}`), to);
            if (this.errors.length === 1) throw new Error('from errorReceived');
          }
        }
        const [tr, pr] = await loop.createDatagramEndpoint(() => new Answering(), { localAddr: ['127.0.0.1', 0] });
        tr.setWriteBufferLimits(256 * 1024);
        await inCallback(loop, () => {
          tr.sendto(Buffer.alloc(70000), to);
          tr.sendto(Buffer.from('x'), to);
          tr.sendto(Buffer.alloc(70000), to);
          tr.sendto(Buffer.from('y'), to);
        });
        await waitFor(loop, () => pr.errors.length === 2);
        await sleep(loop, 0.005);
        t.same(drainDatagrams(a), ['x', 'y', 'after-error-1', 'after-error-2']);
        t.equal(seen.length, 1, 'the exception went to the handler');
        t.equal((seen[0] as Error).message, 'from errorReceived');
        loop.setExceptionHandler(null);
        tr.close();
        await pr.done;
      });
    });

    t.test('a full AF_UNIX queue: the rest of the batch waits for the socket; close() waits for it', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const rname = `\0iomux-dgram-send-r-${process.pid}-${backend}`;
        const [rTr, reader] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: rname, family: AF_UNIX });
        rTr.pauseReading();
        let paused = 0;
        let resumed = 0;
        const [tr, pr] = await loop.createDatagramEndpoint(() => Object.assign(new Proto(), {
          pauseWriting: () => void paused++, resumeWriting: () => void resumed++,
        }), { remoteAddr: rname, family: AF_UNIX });
        tr.setWriteBufferLimits(1024 * 1024, 1000);
        const total = 800;
        const size = await inCallback(loop, () => {
          for (let i = 0; i < total; i++) tr.sendto(Buffer.from(`d${i}`.padEnd(1000, '.')));
          tr.close();
          return tr.getWriteBufferSize();
        });
        t.equal(size, total * 1000, 'all batched (up to 1024 datagrams and the high-water mark)');
        await sleep(loop, 0.01);
        t.ok(tr.getWriteBufferSize() > 0 && tr.getWriteBufferSize() < size, `part sent, the rest queued: ${tr.getWriteBufferSize()}`);
        t.notOk(pr.lost, 'close() waits for the queue');
        t.equal(paused, 0, 'under the high-water mark');
        rTr.resumeReading();
        await pr.done;
        await waitFor(loop, () => reader.received.length === total);
        t.ok(reader.received.every((d, i) => d.replace(/\.+$/, '') === `d${i}`), 'every datagram, in order');
        t.equal(resumed, 0);
        rTr.close();
        await reader.done;
      });
    });

    t.test('past the high-water mark or 1024 datagrams the batch goes at once', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        using a = udp();
        a.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 4 << 20);
        const to = a.getsockname() as Addr;
        const [tr, pr] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        tr.setWriteBufferLimits(1000);
        const early = await inCallback(loop, () => {
          for (let i = 0; i < 12; i++) tr.sendto(Buffer.alloc(100, 0x61 + i), to);
          return drainDatagrams(a).length;
        });
        t.equal(early, 11, 'the first 10 (1000 bytes) went when the 11th did not fit, then the 11th');
        await sleep(loop, 0.005);
        t.equal(drainDatagrams(a).length, 1, 'the 12th, batched again, with the loop');
        tr.setWriteBufferLimits(1 << 20);
        const many = await inCallback(loop, () => {
          for (let i = 0; i < 1030; i++) tr.sendto(Buffer.from('m'), to);
          return drainDatagrams(a).length;
        });
        t.equal(many, 1025, 'a full batch of 1024 went inside the callback, then the 1025th');
        await sleep(loop, 0.005);
        t.equal(drainDatagrams(a).length, 5, 'the last five with the loop');
        tr.close();
        await pr.done;
      });
    });

    t.test('abort() drops the batch; close() sends it, then connectionLost', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        using a = udp();
        const to = a.getsockname() as Addr;
        const [tr, pr] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        await inCallback(loop, () => {
          tr.sendto(Buffer.from('dropped'), to);
          tr.abort();
          t.equal(tr.getWriteBufferSize(), 0);
        });
        await pr.done;
        await sleep(loop, 0.005);
        t.same(drainDatagrams(a), [], 'nothing sent');
        const [tr2, pr2] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        await inCallback(loop, () => {
          tr2.sendto(Buffer.from('kept'), to);
          tr2.close();
          tr2.sendto(Buffer.from('after close'), to);
          t.notOk(pr2.lost);
        });
        await pr2.done;
        t.same(drainDatagrams(a), ['kept', 'after close'], 'sent before connectionLost (asyncio sends while closing)');
        a.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 4 << 20);
        const [tr3, pr3] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        tr3.setWriteBufferLimits(100);
        await inCallback(loop, () => {
          tr3.sendto(Buffer.from('c0'), to);
          tr3.close();
          for (let i = 1; i < 1100; i++) tr3.sendto(Buffer.from(`c${i}`), to);
        });
        await pr3.done;
        const got = drainDatagrams(a);
        t.equal(got.length, 1100, 'closing: past the high-water mark and 1024 datagrams, all still go');
        t.ok(got.every((d, i) => d === `c${i}`), 'in order');
      });
    });

    t.test('an address of the wrong shape is fatal in sendto(), as without the batch', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        using a = udp();
        const seen: unknown[] = [];
        loop.setExceptionHandler((_l, ctx) => void seen.push(ctx.exception));
        const [tr, pr] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        await inCallback(loop, () => {
          tr.sendto(Buffer.from('first'), a.getsockname());
          tr.sendto(Buffer.from('x'), ['127.0.0.1', 70000]);
          t.ok(tr.isClosing(), 'closed at once');
        });
        await pr.done;
        t.ok(seen[0] instanceof Error && (seen[0] as Error).name === 'OverflowError', 'the OverflowError, to the handler');
        t.same(drainDatagrams(a), ['first'], 'what came before it went first');
        loop.setExceptionHandler(null);
        // A host name that does not resolve is an OSError (gaierror): reported, not fatal.
        const [tr2, pr2] = await loop.createDatagramEndpoint(() => new Proto(), { localAddr: ['127.0.0.1', 0] });
        await inCallback(loop, () => tr2.sendto(Buffer.from('x'), ['no-such-host.invalid', 9]));
        await waitFor(loop, () => pr2.errors.length === 1);
        t.ok(pr2.errors[0] instanceof OSError, 'gaierror to errorReceived');
        t.notOk(tr2.isClosing());
        tr2.close();
        await pr2.done;
      });
    });
  });
}
