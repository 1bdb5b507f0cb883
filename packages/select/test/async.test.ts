// The promise twins of @iomux/select: poll.pollAsync(), epoll.pollAsync()
// and selectAsync(). Each waits without blocking the JS thread (timers, fs
// and sockets keep running), honours its timeout and AbortSignal, refuses a
// second wait on the same object, settles when its object is closed, works
// in a worker thread (also one terminated mid-wait), and never keeps a
// process alive once nothing is pending. test_threaded_poll is CPython
// 3.11's Lib/test/test_poll.py case, with pollAsync() in place of the thread.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as select from '@iomux/select';
import { os } from '@iomux/core-native';
import { checkNoFdLeak, openFds } from '../../../test/support/fds.js';
import { settledFds, testWorkerWaits } from '../../../test/support/workers.js';

checkNoFdLeak(t);

const ROOT = path.resolve(path.dirname(require.resolve('@iomux/select/package.json')), '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tracks whether a promise has settled, without handling its rejection. */
function track<T>(p: Promise<T>): { settled: () => boolean } {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled };
}

/** One waitable thing watching the read end `r` of a pipe. */
interface Waiter {
  /** The promise twin; `timeout` in seconds (converted to the call's unit). */
  wait(timeout: number | null, signal?: AbortSignal): Promise<unknown>;
  /** The sync call, same units as wait(). */
  sync(timeout: number): unknown;
  /** close(), where the object has one. */
  close?(): void;
  dispose(): void;
}

interface Mech {
  name: string;
  available: boolean;
  make(r: number): Waiter;
  /** What wait() resolves to when `r` is readable; when nothing is. */
  readable(r: number): unknown;
  empty: unknown;
  /** The ValueError message of a wait settled by close(); null: no object. */
  closedMessage: string | null;
}

const POLLIN = select.POLLIN;
const EPOLLIN = select.EPOLLIN!;

const mechs: Mech[] = [
  {
    name: 'poll.pollAsync',
    available: true,
    make(r) {
      const p = select.poll();
      p.register(r, POLLIN);
      return {
        wait: (timeout, signal) => p.pollAsync(timeout === null ? null : timeout * 1000, { signal }),
        sync: (timeout) => p.poll(timeout * 1000),
        close: () => p.close(),
        dispose: () => p.close(),
      };
    },
    readable: (r) => [[r, POLLIN]],
    empty: [],
    closedMessage: 'I/O operation on closed poll object',
  },
  {
    name: 'epoll.pollAsync',
    available: select.epoll !== undefined,
    make(r) {
      const ep = select.epoll!();
      ep.register(r, EPOLLIN);
      return {
        wait: (timeout, signal) => ep.pollAsync(timeout, { signal }),
        sync: (timeout) => ep.poll(timeout),
        close: () => ep.close(),
        dispose: () => ep.close(),
      };
    },
    readable: (r) => [[r, EPOLLIN]],
    empty: [],
    closedMessage: 'I/O operation on closed epoll object',
  },
  {
    name: 'selectAsync',
    available: true,
    make(r) {
      return {
        wait: (timeout, signal) => select.selectAsync([r], [], [], timeout, { signal }),
        sync: (timeout) => select.select([r], [], [], timeout),
        dispose: () => {},
      };
    },
    readable: (r) => [[r], [], []],
    empty: [[], [], []],
    closedMessage: null,
  },
];

interface Fixture {
  x: Waiter;
  r: number;
  w: number;
}

function fixture(t: Test, mech: Mech): Fixture {
  const [r, w] = os.pipe();
  const x = mech.make(r);
  t.teardown(() => {
    x.dispose();
    os.close(r);
    os.close(w);
  });
  return { x, r, w };
}

for (const mech of mechs) {
  if (!mech.available) {
    t.test(mech.name, { skip: 'Test needs select.epoll' }, async () => {});
    continue;
  }
  t.test(mech.name, async (t) => {
    t.test('resolves when a pipe becomes readable while setInterval keeps ticking', async (t) => {
      const { x, r, w } = fixture(t, mech);
      // The pipe is written from a setTimeout 100 ms later, but not before
      // the interval has ticked 10 times (on a loaded machine timers run
      // late): a wait that blocked the thread would never see it.
      let ticks = 0;
      let due = false;
      let written = false;
      const writeWhenDue = (): void => {
        if (written || !due || ticks < 10) return;
        written = true;
        os.write(w, Buffer.from('x'));
      };
      const iv = setInterval(() => {
        ticks++;
        writeWhenDue();
      }, 5);
      t.teardown(() => clearInterval(iv));
      setTimeout(() => {
        due = true;
        writeWhenDue();
      }, 100);
      const t0 = performance.now();
      const ready = await x.wait(10);
      const ms = performance.now() - t0;
      clearInterval(iv);
      t.ok(written, 'the pipe was written while the wait was pending');
      t.same(ready, mech.readable(r));
      t.ok(ticks >= 10, `setInterval(5 ms) ticked ${ticks} times during the ${ms.toFixed(0)} ms wait`);
      t.ok(ms >= 90 && ms < 5000, `resolved after ${ms.toFixed(1)} ms`);
    });

    t.test('a timeout resolves with nothing ready, no earlier than asked', async (t) => {
      const { x } = fixture(t, mech);
      for (const timeout of [0.25, 0.0101]) {
        const t0 = performance.now();
        const ready = await x.wait(timeout);
        const ms = performance.now() - t0;
        t.same(ready, mech.empty);
        t.ok(ms >= timeout * 1000, `a ${timeout} s wait took ${ms.toFixed(3)} ms`);
        t.ok(ms < timeout * 1000 + 2000, 'and not absurdly longer');
      }
      const t0 = performance.now();
      t.same(await x.wait(0), mech.empty, 'timeout 0 polls');
      t.ok(performance.now() - t0 < 500);
    });

    t.test('resolves at once when something is ready already', async (t) => {
      const { x, r, w } = fixture(t, mech);
      os.write(w, Buffer.from('x'));
      t.same(await x.wait(null), mech.readable(r));
      t.same(await x.wait(0), mech.readable(r));
    });

    t.test('settled at once: an aborted signal wins over a ready event, and nothing stays armed', async (t) => {
      const { x, r, w } = fixture(t, mech);
      os.write(w, Buffer.from('x'));
      await t.rejects(x.wait(null, AbortSignal.abort()), { name: 'AbortError' }, 'the signal is read before the look');
      const want = JSON.stringify(mech.readable(r));
      let same = 0;
      for (let i = 0; i < 500; i++) if (JSON.stringify(await x.wait(null, new AbortController().signal)) === want) same++;
      t.equal(same, 500, '500 waits in a row, each settled by its first look');
      // A wait left in flight would make the sync call a RuntimeError.
      t.same(x.sync(0), mech.readable(r), 'none is left in flight');
    });

    t.test("an AbortSignal rejects with the signal's reason; the object stays usable", async (t) => {
      const { x, r, w } = fixture(t, mech);
      const ac = new AbortController();
      const reason = new Error('stop waiting');
      const p = x.wait(null, ac.signal);
      setTimeout(() => ac.abort(reason), 50);
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      t.equal(e, reason, 'rejected with the reason itself');

      // An already aborted signal, and the default reason.
      await t.rejects(x.wait(5, AbortSignal.abort()), { name: 'AbortError' });
      const ac2 = new AbortController();
      const p2 = x.wait(5, ac2.signal);
      ac2.abort();
      await t.rejects(p2, { name: 'AbortError' });

      // Still usable: a later wait works, sync and async.
      t.same(x.sync(0), mech.empty);
      setTimeout(() => os.write(w, Buffer.from('x')), 20);
      t.same(await x.wait(5), mech.readable(r));
      t.same(x.sync(0), mech.readable(r));
    });

    if (mech.closedMessage !== null) {
      t.test("a second wait in flight is RuntimeError('concurrent poll() invocation')", async (t) => {
        const { x, r, w } = fixture(t, mech);
        const first = x.wait(10);
        const err = { name: 'RuntimeError', message: 'concurrent poll() invocation' };
        await t.rejects(x.wait(0), err, 'the promise twin');
        await t.rejects(x.wait(null), err, 'the promise twin, blocking');
        t.throws(() => x.sync(0), err, 'the sync call');
        os.write(w, Buffer.from('x'));
        t.same(await first, mech.readable(r), 'the first wait is unharmed');
        t.same(await x.wait(0), mech.readable(r), 'and once it has settled, waiting works again');
      });

      t.test('close() during a wait rejects it with ValueError', async (t) => {
        const before = openFds();
        const [r, w] = os.pipe();
        const x = mech.make(r);
        const p = x.wait(null);
        await sleep(20);
        x.close!();
        await t.rejects(p, { name: 'ValueError', message: mech.closedMessage! });
        x.close!();
        if (mech.name === 'epoll.pollAsync') {
          await t.rejects(x.wait(0), { name: 'ValueError', message: mech.closedMessage! }, 'closed for good');
        } else {
          // Beyond Python: poll's close() only releases pollAsync()'s private
          // descriptor; the object stays usable and makes a new one.
          t.same(x.sync(0), mech.empty, 'poll() still works');
          os.write(w, Buffer.from('x'));
          t.same(await x.wait(5), mech.readable(r), 'and so does pollAsync()');
          x.close!();
        }
        os.close(r);
        os.close(w);
        t.same(await settledFds(before), before, 'every descriptor the wait used is closed');
      });
    } else {
      t.test('concurrent waits are independent (a function, not an object)', async (t) => {
        const { x, r, w } = fixture(t, mech);
        const [r2, w2] = os.pipe();
        t.teardown(() => {
          os.close(r2);
          os.close(w2);
        });
        const a = x.wait(10);
        const b = select.selectAsync([r2], [], [], 10);
        const c = x.wait(0.05);
        t.same(await c, mech.empty, 'a third wait on the same descriptor times out on its own');
        os.write(w2, Buffer.from('x'));
        t.same(await b, [[r2], [], []]);
        os.write(w, Buffer.from('x'));
        t.same(await a, mech.readable(r));
      });

      t.test("returns the caller's own objects, in the caller's order", async (t) => {
        const [r, w] = os.pipe();
        const [r2, w2] = os.pipe();
        t.teardown(() => [r, w, r2, w2].forEach((fd) => os.close(fd)));
        const ro = { fileno: () => r };
        const wo = { fileno: () => w2 };
        setTimeout(() => os.write(w, Buffer.from('x')), 20);
        const [rl, wl, xl] = await select.selectAsync([r2, ro], [wo], [], 5);
        t.equal(rl.length, 0, 'nothing to read yet: the writable one ends the wait');
        t.equal(wl[0], wo, 'the same object');
        t.same(xl, []);
        const [rl2] = await select.selectAsync([r2, ro], [], [], 5);
        t.equal(rl2.length, 1);
        t.equal(rl2[0], ro, 'the same object');
      });

      t.test('the checks of select() come first: a bad argument rejects', async (t) => {
        await t.rejects(select.selectAsync([-1], [], [], 1), { name: 'ValueError' });
        await t.rejects(select.selectAsync([0], [], [], -1), { name: 'ValueError', message: 'timeout must be non-negative' });
        await t.rejects(select.selectAsync([{}], [], [], 1), TypeError);
      });
    }

    t.test('Node fs keeps working during a wait', async (t) => {
      const { x, r, w } = fixture(t, mech);
      const pending = x.wait(10);
      const state = track(pending);
      const self = __filename;
      const [a, b] = await Promise.all([fs.promises.readFile(self), fs.promises.stat(self)]);
      t.equal(a.length, b.size, 'read a file while the wait was pending');
      t.notOk(state.settled(), 'the wait is still pending');
      os.write(w, Buffer.from('x'));
      t.same(await pending, mech.readable(r));
    });

    t.test('a Node net server and client exchange data during a wait', async (t) => {
      const { x, r, w } = fixture(t, mech);
      const pending = x.wait(10);
      const state = track(pending);
      const server = net.createServer((c) => c.on('data', (d) => c.end(Buffer.concat([Buffer.from('echo:'), d]))));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as net.AddressInfo;
      const client = net.connect(port, '127.0.0.1');
      client.end('ping');
      const chunks: Buffer[] = [];
      client.on('data', (d: Buffer) => chunks.push(d));
      await once(client, 'close');
      server.close();
      await once(server, 'close');
      t.equal(Buffer.concat(chunks).toString(), 'echo:ping');
      t.notOk(state.settled(), 'the wait is still pending');
      os.write(w, Buffer.from('x'));
      t.same(await pending, mech.readable(r));
    });

    // -------------------------------------------------------- worker threads

    const workerSource = `
      const { parentPort, workerData } = require('node:worker_threads');
      const select = require(workerData.select);
      const { mech, r, mode } = workerData;
      const timeout = mode === 'terminate' ? null : 10;
      let wait;
      if (mech === 'poll.pollAsync') {
        const p = select.poll();
        p.register(r, select.POLLIN);
        wait = p.pollAsync(timeout === null ? null : timeout * 1000);
      } else if (mech === 'epoll.pollAsync') {
        const ep = select.epoll();
        ep.register(r, select.EPOLLIN);
        wait = ep.pollAsync(timeout);
      } else {
        wait = select.selectAsync([r], [], [], timeout);
      }
      wait.then((ready) => parentPort.postMessage({ ready }));
      parentPort.postMessage('waiting');
    `;

    function startWorker(r: number, mode: 'wait' | 'terminate'): Worker {
      return new Worker(workerSource, {
        eval: true,
        workerData: { select: require.resolve('@iomux/select'), mech: mech.name, r, mode },
      });
    }

    testWorkerWaits(t, startWorker, (r) => mech.readable(r));

    // -------------------------------------------------------- child processes

    /** `node -e`: `wait(timeout, signal)` on a fresh pipe, then `body`. */
    async function runChild(body: string): Promise<{ code: number | null; exitAt: number; out: string }> {
      const script = `
        const select = require('@iomux/select');
        const { os } = require('@iomux/core-native');
        const [r, w] = os.pipe();
        const mech = ${JSON.stringify(mech.name)};
        let wait;
        if (mech === 'poll.pollAsync') {
          const p = select.poll();
          p.register(r, select.POLLIN);
          wait = (timeout, signal) => p.pollAsync(timeout === null ? null : timeout * 1000, { signal });
        } else if (mech === 'epoll.pollAsync') {
          const ep = select.epoll();
          ep.register(r, select.EPOLLIN);
          wait = (timeout, signal) => ep.pollAsync(timeout, { signal });
        } else {
          wait = (timeout, signal) => select.selectAsync([r], [], [], timeout, { signal });
        }
        ${body}`;
      const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(killer);
      return { code, exitAt: Date.now(), out: out.trim() };
    }

    t.test('a process whose only wait has settled exits on its own', async (t) => {
      const { code, exitAt, out } = await runChild(`
        const t0 = performance.now();
        wait(0.2).then((ready) => console.log(JSON.stringify([ready, performance.now() - t0 >= 200, Date.now()])));`);
      t.equal(code, 0, 'exit code 0 (not killed)');
      const [ready, late, settledAt] = JSON.parse(out) as [unknown, boolean, number];
      t.same([ready, late], [mech.empty, true], 'the wait timed out after 0.2 s');
      const ms = exitAt - settledAt;
      t.ok(ms < 2000, `exited by itself ${ms} ms after the wait settled`);
    });

    t.test('a process whose pending wait is aborted exits on its own', async (t) => {
      const { code, exitAt, out } = await runChild(`
        const ac = new AbortController();
        wait(null, ac.signal).then(() => console.log('resolved'), (e) => console.log(JSON.stringify([e.name, Date.now()])));
        setTimeout(() => ac.abort(), 100);`);
      t.equal(code, 0, 'exit code 0 (not killed)');
      const [name, settledAt] = JSON.parse(out) as [string, number];
      t.equal(name, 'AbortError');
      const ms = exitAt - settledAt;
      t.ok(ms < 2000, `exited by itself ${ms} ms after the wait was aborted`);
    });
  });
}

// CPython 3.11 Lib/test/test_poll.py PollTests.test_threaded_poll: a poll()
// in flight (here a pending pollAsync(), in CPython another thread) while
// the registrations change; a second poll() is RuntimeError, and a write
// lets the pending one return.
t.test('test_threaded_poll', async (t) => {
  const [r, w] = os.pipe();
  t.teardown(() => os.close(r));
  t.teardown(() => os.close(w));
  const rfds: number[] = [];
  for (let i = 0; i < 10; i++) {
    const fd = os.dup(r);
    t.teardown(() => os.close(fd));
    rfds.push(fd);
  }
  const pollster = select.poll();
  t.teardown(() => pollster.close());
  for (const fd of rfds) pollster.register(fd, select.POLLIN);

  const pending = pollster.pollAsync();
  const state = track(pending);
  try {
    await sleep(500);
    t.notOk(state.settled(), 'the wait is pending');
    // trigger ufds array reallocation
    for (const fd of rfds) pollster.unregister(fd);
    pollster.register(w, select.POLLOUT);
    t.throws(() => pollster.poll(), { name: 'RuntimeError', message: 'concurrent poll() invocation' });
  } finally {
    // and make the call to poll() from the thread return
    os.write(w, Buffer.from('spam'));
    const ready = await pending;
    t.ok(Array.isArray(ready) && ready.length > 0, `the pending wait returned ${JSON.stringify(ready)}`);
  }
  t.same(pollster.poll(0), [[w, select.POLLOUT]], 'poll() works again once it has');
});

// An epoll wait woken through Node's loop has its look made by the addon
// (native/wait.cc), into the object's event array grown for maxevents first.
t.test('epoll: a wait woken through the loop sees every event, visits, rejects', { skip: select.epoll === undefined && 'Test needs select.epoll' }, async (t) => {
  const ep = select.epoll!();
  t.teardown(() => ep.close());
  const pipes: Array<[number, number]> = [];
  // More than the 64 events the object's array starts with.
  for (let i = 0; i < 70; i++) {
    const p = os.pipe();
    pipes.push(p);
    t.teardown(() => {
      os.close(p[0]);
      os.close(p[1]);
    });
    ep.register(p[0], EPOLLIN);
  }
  const NOT_READY = { assumeNotReady: true };
  const all = ep.pollAsync(null, 100, NOT_READY);
  await sleep(10);
  for (const [, w] of pipes) os.write(w, Buffer.from('x'));
  const got = (await all).map(([fd]) => fd).sort((a, b) => a - b);
  t.same(got, pipes.map(([r]) => r).sort((a, b) => a - b), 'pollAsync: all 70 pairs');

  for (const [r] of pipes.slice(1)) ep.unregister(r);
  const [r0, w0] = pipes[0]!;
  os.read(r0, 1);
  const seen: number[] = [];
  const each = ep.pollEachAsync(null, 1, (fd) => void seen.push(fd), NOT_READY);
  await sleep(10);
  t.same(seen, [], 'nothing visited before the write');
  os.write(w0, Buffer.from('y'));
  t.equal(await each, 1, 'pollEachAsync: one event');
  t.same(seen, [r0], 'visited once the loop woke');

  const boom = new Error('visit failed');
  const failing = ep.pollEachAsync(null, 1, () => {
    throw boom;
  }, NOT_READY);
  await t.rejects(failing, boom, 'a visit that throws after the wake rejects');
  t.same(ep.poll(0), [[r0, EPOLLIN]], 'and no wait is left in flight');
});
