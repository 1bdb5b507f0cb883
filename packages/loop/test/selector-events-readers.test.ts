// selector-events.ts: readers and writers on every selector backend, and
// the quick look before a wait. Ports of CPython 3.11 test_asyncio:
// test_selector_events.py BaseSelectorEventLoopTests (with real
// socketpairs where CPython mocks the selector) and test_events.py
// (reader/writer callbacks, closing).
import t from 'tap';
import { EventLoop, Handle } from '@iomux/loop';
import { EVENT_READ, EVENT_WRITE, selectorBackend } from '@iomux/selectors';
import { socketpair } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, future, runBriefly, runUntil, sleep } from './helpers.js';
import { backendKit, noop } from './selector-events-support.js';

checkNoFdLeak(t);

function keyData(loop: EventLoop, fd: number): [Handle | null, Handle | null] | undefined {
  return loop._selector.getMap()!.get(fd)?.data ?? undefined;
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const { newLoop, pair } = backendKit(t, backend);

    t.test('the loop uses the backend asked for', async (t) => {
      const loop = newLoop();
      t.equal(selectorBackend(loop._selector), backend);
    });

    t.test('request-response on one descriptor: the quick look before a wait stops while it finds nothing, and comes back', async (t) => {
      const loop = newLoop();
      const [a, b] = pair();
      a.setblocking(false);
      b.setblocking(false);
      const sel = loop._selector;
      // The loop looks through selectEach (the selectors' public visiting API).
      const selectEach = sel.selectEach.bind(sel);
      let looks = 0;
      sel.selectEach = (timeout, visit) => {
        if (timeout === 0) looks++;
        return selectEach(timeout, visit);
      };
      const N = 100;
      let rounds = 0;
      let answerAtOnce = false;
      let looksInPhase1 = 0;
      const done = future();
      let bytes = 0;
      loop.addReader(a.fileno(), () => {
        bytes += a.recv(16).length;
        rounds++;
        if (rounds === N) {
          // Phase 1 over: the peer answered a millisecond later, from a
          // Node timer, so no look could find its answer. Now it answers
          // at once, and a look always finds data.
          looksInPhase1 = looks;
          looks = 0;
          answerAtOnce = true;
        }
        if (rounds === 2 * N) {
          loop.removeReader(a.fileno());
          done.resolve();
          return;
        }
        if (answerAtOnce) b.send(Buffer.from('x'));
        else setTimeout(() => b.send(Buffer.from('x')), 1);
      });
      b.send(Buffer.from('x'));
      await loop.runUntilComplete(done.promise);
      t.equal(bytes, 2 * N, 'one byte read per round');
      // Looking first before every wait would be N looks; after two empty
      // ones the loop looks first only every 8th wait.
      t.ok(looksInPhase1 < N / 3, `${looksInPhase1} quick looks in ${N} waits for a peer that answers later`);
      // Back to looking first within 8 waits, then every look finds data.
      t.ok(looks > N - 20, `${looks} quick looks in ${N} rounds with data always ready`);
    });

    // ------------------------------------------------ readers and writers

    t.test('test_add_reader', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      const cb = (): void => {};
      loop.addReader(r.fileno(), cb);
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_READ);
      const [reader, writer] = key.data!;
      t.type(reader, Handle);
      t.equal(reader!._callback, cb);
      t.equal(writer, null);
    });

    t.test('test_add_reader_existing', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      loop.addWriter(r.fileno(), noop);
      loop.addReader(r.fileno(), noop);
      const oldReader = keyData(loop, r.fileno())![0]!;
      const cb = (): void => {};
      loop.addReader(r.fileno(), cb);
      t.ok(oldReader.cancelled(), 'the replaced reader is cancelled');
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_READ | EVENT_WRITE);
      t.equal(key.data![0]!._callback, cb);
    });

    t.test('test_add_reader_existing_writer', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      const wcb = (): void => {};
      loop.addWriter(r.fileno(), wcb);
      const writer = keyData(loop, r.fileno())![1]!;
      loop.addReader(r.fileno(), noop);
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_READ | EVENT_WRITE);
      t.equal(key.data![1], writer, 'the writer is kept');
      t.notOk(writer.cancelled());
    });

    t.test('test_remove_reader', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      loop.addReader(r.fileno(), noop);
      const reader = keyData(loop, r.fileno())![0]!;
      t.equal(loop.removeReader(r.fileno()), true);
      t.ok(reader.cancelled());
      t.equal(loop._selector.getMap()!.get(r.fileno()), undefined, 'unregistered');
    });

    t.test('test_remove_reader_read_write', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      loop.addReader(r.fileno(), noop);
      loop.addWriter(r.fileno(), noop);
      const writer = keyData(loop, r.fileno())![1];
      t.equal(loop.removeReader(r.fileno()), true);
      const key = loop._selector.getKey(r.fileno());
      t.equal(key.events, EVENT_WRITE);
      t.same(key.data, [null, writer]);
    });

    t.test('test_remove_reader_unknown', async (t) => {
      const loop = newLoop();
      const [r] = pair();
      t.equal(loop.removeReader(r.fileno()), false);
      loop.addWriter(r.fileno(), noop);
      t.equal(loop.removeReader(r.fileno()), false, 'only a writer');
    });

    t.test('test_add_writer', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      const cb = (): void => {};
      loop.addWriter(w.fileno(), cb);
      const key = loop._selector.getKey(w.fileno());
      t.equal(key.events, EVENT_WRITE);
      t.equal(key.data![0], null);
      t.equal(key.data![1]!._callback, cb);
    });

    t.test('test_add_writer_existing', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      loop.addReader(w.fileno(), noop);
      loop.addWriter(w.fileno(), noop);
      const oldWriter = keyData(loop, w.fileno())![1]!;
      const reader = keyData(loop, w.fileno())![0];
      const cb = (): void => {};
      loop.addWriter(w.fileno(), cb);
      t.ok(oldWriter.cancelled());
      const key = loop._selector.getKey(w.fileno());
      t.equal(key.events, EVENT_READ | EVENT_WRITE);
      t.equal(key.data![0], reader);
      t.equal(key.data![1]!._callback, cb);
    });

    t.test('test_remove_writer', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      loop.addWriter(w.fileno(), noop);
      t.equal(loop.removeWriter(w.fileno()), true);
      t.equal(loop._selector.getMap()!.get(w.fileno()), undefined);
    });

    t.test('test_remove_writer_read_write', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      loop.addReader(w.fileno(), noop);
      const reader = keyData(loop, w.fileno())![0];
      loop.addWriter(w.fileno(), noop);
      t.equal(loop.removeWriter(w.fileno()), true);
      const key = loop._selector.getKey(w.fileno());
      t.equal(key.events, EVENT_READ);
      t.same(key.data, [reader, null]);
    });

    t.test('test_remove_writer_unknown', async (t) => {
      const loop = newLoop();
      const [, w] = pair();
      t.equal(loop.removeWriter(w.fileno()), false);
    });

    t.test('readers and writers take a socket object as well as its fd', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      let got = 0;
      loop.addReader(r, () => {
        got += r.recv(100).length;
      });
      loop.addWriter(r, noop);
      t.equal(loop._selector.getKey(r.fileno()).events, EVENT_READ | EVENT_WRITE);
      t.equal(loop.removeWriter(r), true);
      w.send(Buffer.from('abc'));
      await runUntil(loop, () => got === 3);
      t.equal(loop.removeReader(r), true);
      t.equal(loop.removeReader(r), false);
    });

    t.test('test_process_events_read / _write, and their _cancelled forms', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      const calls: string[] = [];
      w.send(Buffer.from('x'));
      loop.addReader(r.fileno(), () => calls.push('read'));
      loop.addWriter(w.fileno(), () => calls.push('write'));
      await runBriefly(loop);
      t.ok(calls.includes('read') && calls.includes('write'), 'both ran');
      // A cancelled handle is removed when its event comes.
      keyData(loop, r.fileno())![0]!.cancel();
      keyData(loop, w.fileno())![1]!.cancel();
      calls.length = 0;
      await runBriefly(loop);
      t.same(calls, []);
      t.equal(loop._selector.getMap()!.get(r.fileno()), undefined, 'the cancelled reader was removed');
      t.equal(loop._selector.getMap()!.get(w.fileno()), undefined, 'the cancelled writer was removed');
    });

    t.test('test_reader_callback', async (t) => {
      const loop = newLoop();
      const [r, w] = socketpair();
      t.teardown(() => w.close());
      r.setblocking(false);
      const bytesRead: Buffer[] = [];
      let total = 0;
      let closed = false;
      const reader = (): void => {
        let data: Buffer;
        try {
          data = r.recv(1024);
        } catch (e) {
          // Spurious readiness notifications are possible.
          if ((e as Error).name === 'BlockingIOError') return;
          throw e;
        }
        if (data.length > 0) {
          bytesRead.push(data);
          total += data.length;
        } else {
          t.ok(loop.removeReader(r.fileno()));
          r.close();
          closed = true;
        }
      };
      loop.addReader(r.fileno(), reader);
      loop.callSoon(() => w.send(Buffer.from('abc')));
      await runUntil(loop, () => total >= 3);
      loop.callSoon(() => w.send(Buffer.from('def')));
      await runUntil(loop, () => total >= 6);
      loop.callSoon(() => w.close());
      await runUntil(loop, () => closed);
      t.equal(Buffer.concat(bytesRead).toString(), 'abcdef');
    });

    t.test('test_writer_callback', async (t) => {
      const loop = newLoop();
      const [r, w] = socketpair();
      w.setblocking(false);
      const data = Buffer.alloc(1024, 'x');
      loop.addWriter(
        w.fileno(),
        (d: Buffer) => {
          w.send(d);
          loop.stop();
        },
        data,
      );
      await loop.runForever();
      t.equal(loop.removeWriter(w.fileno()), true);
      t.equal(loop.removeWriter(w.fileno()), false);
      w.close();
      const read = r.recv(data.length * 2);
      r.close();
      t.ok(read.equals(data));
    });

    t.test('a reader runs again while its fd stays readable (level-triggered)', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      w.send(Buffer.from('x'));
      let calls = 0;
      loop.addReader(r.fileno(), () => {
        calls++;
        if (calls === 3) loop.removeReader(r.fileno());
      });
      await loop.runUntilComplete(sleep(loop, 0.05));
      t.equal(calls, 3);
    });

    t.test('test_remove_fds_after_closing', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      loop.addReader(r, noop);
      loop.addWriter(w, noop);
      loop.close();
      t.equal(loop.removeReader(r), false);
      t.equal(loop.removeWriter(w), false);
    });

    t.test('test_add_fds_after_closing', async (t) => {
      const loop = newLoop();
      const [r, w] = pair();
      loop.close();
      t.throws(() => loop.addReader(r, noop), { name: 'RuntimeError', message: 'Event loop is closed' });
      t.throws(() => loop.addWriter(w, noop), { name: 'RuntimeError', message: 'Event loop is closed' });
    });

    t.test('test_close: closing the loop closes its selector', async (t) => {
      const loop = newLoop();
      loop.close();
      t.equal(loop._selector.getMap(), null);
      loop.close();
    });
  });
}

for (const backend of BACKENDS) suite(backend);
