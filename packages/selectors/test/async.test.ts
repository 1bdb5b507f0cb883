// The promise twin selectAsync(timeout?, { signal }) of every backend class
// and of DefaultSelector: it waits without blocking the JS thread (timers,
// fs and sockets keep running), honours its timeout and AbortSignal, refuses
// a second wait in flight, settles when the selector is closed, works in a
// worker thread (also one terminated mid-wait), and never keeps a process
// alive once nothing is pending.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as selectors from '@iomux/selectors';
import { EVENT_READ, type BaseSelector, type Ready } from '@iomux/selectors';
import { os } from '@iomux/core-native';
import { checkNoFdLeak, openFds } from '../../../test/support/fds.js';
import { settledFds, testWorkerWaits } from '../../../test/support/workers.js';

checkNoFdLeak(t);

const ROOT = path.resolve(path.dirname(require.resolve('@iomux/selectors/package.json')), '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Ctor = new () => BaseSelector;

/** [fd, events] pairs: what a Ready list says, without the key objects. */
const fdEvents = (ready: Ready): Array<[number, number]> => ready.map(([key, events]) => [key.fd, events]);

/** Tracks whether a promise has settled, without handling its rejection. */
function track<T>(p: Promise<T>): { settled: () => boolean } {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled };
}

interface Fixture {
  s: BaseSelector;
  r: number;
  w: number;
}

/** A selector of class `Cls` with the read end of a fresh pipe registered. */
function fixture(t: Test, Cls: Ctor): Fixture {
  const s = new Cls();
  const [r, w] = os.pipe();
  s.register(r, EVENT_READ, 'r');
  t.teardown(() => {
    s.close();
    os.close(r);
    os.close(w);
  });
  return { s, r, w };
}

const backends: Array<[name: string, Cls: Ctor | undefined, closedMessage: string]> = [
  ['SelectSelector', selectors.SelectSelector, 'I/O operation on closed selector'],
  ['PollSelector', selectors.PollSelector, 'I/O operation on closed poll object'],
  ['EpollSelector', selectors.EpollSelector, 'I/O operation on closed epoll object'],
  ['DefaultSelector', selectors.DefaultSelector, ''],
];
{
  // DefaultSelector's message is its backend's.
  const probe = new selectors.DefaultSelector();
  const name = probe.constructor.name;
  probe.close();
  backends[3]![2] = backends.find(([n]) => n === name)![2];
}

for (const [name, Cls, closedMessage] of backends) {
  if (Cls === undefined) {
    t.test(`${name}.selectAsync`, { skip: `Test needs selectors.${name}` }, async () => {});
    continue;
  }
  t.test(`${name}.selectAsync`, async (t) => {
    t.test('resolves when a pipe becomes readable while setInterval keeps ticking', async (t) => {
      const { s, r, w } = fixture(t, Cls);
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
      const ready = await s.selectAsync(10);
      const ms = performance.now() - t0;
      clearInterval(iv);
      t.ok(written, 'the pipe was written while the wait was pending');
      t.same(fdEvents(ready), [[r, EVENT_READ]]);
      t.equal(ready[0]![0], s.getKey(r), 'the registered key itself');
      t.equal(ready[0]![0].data, 'r');
      t.ok(ticks >= 10, `setInterval(5 ms) ticked ${ticks} times during the ${ms.toFixed(0)} ms wait`);
      t.ok(ms >= 90 && ms < 5000, `resolved after ${ms.toFixed(1)} ms`);
    });

    t.test('a timeout resolves [] no earlier than asked', async (t) => {
      const { s } = fixture(t, Cls);
      for (const timeout of [0.25, 0.0101]) {
        const t0 = performance.now();
        const ready = await s.selectAsync(timeout);
        const ms = performance.now() - t0;
        t.same(ready, []);
        t.ok(ms >= timeout * 1000, `selectAsync(${timeout}) took ${ms.toFixed(3)} ms`);
        t.ok(ms < timeout * 1000 + 2000, 'and not absurdly longer');
      }
      const t0 = performance.now();
      t.same(await s.selectAsync(0), [], 'selectAsync(0) polls');
      t.same(await s.selectAsync(-1), [], 'selectAsync(-1) polls');
      t.ok(performance.now() - t0 < 500);
    });

    t.test('resolves at once when something is ready already', async (t) => {
      const { s, r, w } = fixture(t, Cls);
      os.write(w, Buffer.from('x'));
      t.same(fdEvents(await s.selectAsync()), [[r, EVENT_READ]]);
      t.same(fdEvents(await s.selectAsync(0)), [[r, EVENT_READ]]);
    });

    t.test("an AbortSignal rejects with the signal's reason; the selector stays usable", async (t) => {
      const { s, r, w } = fixture(t, Cls);
      const ac = new AbortController();
      const reason = new Error('stop waiting');
      const p = s.selectAsync(null, { signal: ac.signal });
      setTimeout(() => ac.abort(reason), 50);
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      t.equal(e, reason, 'rejected with the reason itself');

      // An already aborted signal, and the default reason.
      await t.rejects(s.selectAsync(5, { signal: AbortSignal.abort() }), { name: 'AbortError' });
      const ac2 = new AbortController();
      const p2 = s.selectAsync(5, { signal: ac2.signal });
      ac2.abort();
      await t.rejects(p2, { name: 'AbortError' });

      // Still usable: a later wait works, sync and async.
      t.same(s.select(0), []);
      setTimeout(() => os.write(w, Buffer.from('x')), 20);
      t.same(fdEvents(await s.selectAsync(5)), [[r, EVENT_READ]]);
      t.same(fdEvents(s.select(0)), [[r, EVENT_READ]]);
    });

    t.test("a second wait in flight is RuntimeError('concurrent poll() invocation')", async (t) => {
      const { s, r, w } = fixture(t, Cls);
      const first = s.selectAsync(10);
      const err = { name: 'RuntimeError', message: 'concurrent poll() invocation' };
      await t.rejects(s.selectAsync(0), err, 'selectAsync()');
      await t.rejects(s.selectAsync(null), err, 'selectAsync(null)');
      t.throws(() => s.select(0), err, 'select()');
      os.write(w, Buffer.from('x'));
      t.same(fdEvents(await first), [[r, EVENT_READ]], 'the first wait is unharmed');
      t.same(fdEvents(await s.selectAsync(0)), [[r, EVENT_READ]], 'and once it has settled, waiting works again');
    });

    t.test('close() during a wait rejects it with ValueError', async (t) => {
      const before = openFds();
      const s = new Cls();
      const [r, w] = os.pipe();
      s.register(r, EVENT_READ);
      const p = s.selectAsync(null);
      await sleep(20);
      s.close();
      await t.rejects(p, { name: 'ValueError', message: closedMessage });
      s.close();
      t.throws(() => s.getKey(r), { name: 'RuntimeError', message: 'Selector is closed' });
      os.close(r);
      os.close(w);
      t.same(await settledFds(before), before, 'every descriptor the wait used is closed');
    });

    t.test('Node fs keeps working during a wait', async (t) => {
      const { s, r, w } = fixture(t, Cls);
      const pending = s.selectAsync(10);
      const state = track(pending);
      const self = __filename;
      const [a, b] = await Promise.all([fs.promises.readFile(self), fs.promises.stat(self)]);
      t.equal(a.length, b.size, 'read a file while the wait was pending');
      t.notOk(state.settled(), 'the wait is still pending');
      os.write(w, Buffer.from('x'));
      t.same(fdEvents(await pending), [[r, EVENT_READ]]);
    });

    t.test('a Node net server and client exchange data during a wait', async (t) => {
      const { s, r, w } = fixture(t, Cls);
      const pending = s.selectAsync(10);
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
      t.same(fdEvents(await pending), [[r, EVENT_READ]]);
    });

    // -------------------------------------------------------- worker threads

    const workerSource = `
      const { parentPort, workerData } = require('node:worker_threads');
      const selectors = require(workerData.selectors);
      const { name, r, mode } = workerData;
      const s = new selectors[name]();
      s.register(r, selectors.EVENT_READ, 'data');
      s.selectAsync(mode === 'terminate' ? null : 10).then((ready) => {
        parentPort.postMessage({ ready: ready.map(([k, ev]) => [k.fd, ev, k.data]), cls: s.constructor.name });
        s.close();
      });
      parentPort.postMessage('waiting');
    `;

    function startWorker(r: number, mode: 'wait' | 'terminate'): Worker {
      return new Worker(workerSource, {
        eval: true,
        workerData: { selectors: require.resolve('@iomux/selectors'), name, r, mode },
      });
    }

    testWorkerWaits(t, startWorker, (r) => [[r, EVENT_READ, 'data']]);

    // -------------------------------------------------------- child processes

    /** Runs a `node -e` script; resolves with its exit code, time and output. */
    async function runChild(body: string): Promise<{ code: number | null; exitAt: number; out: string }> {
      const script = `
        const selectors = require('@iomux/selectors');
        const { os } = require('@iomux/core-native');
        const [r, w] = os.pipe();
        const s = new selectors[${JSON.stringify(name)}]();
        s.register(r, selectors.EVENT_READ);
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
        s.selectAsync(0.2).then((ready) => console.log(JSON.stringify([ready.length, performance.now() - t0 >= 200, Date.now()])));`);
      t.equal(code, 0, 'exit code 0 (not killed)');
      const [n, late, settledAt] = JSON.parse(out) as [number, boolean, number];
      t.same([n, late], [0, true], 'the wait timed out after 0.2 s');
      const ms = exitAt - settledAt;
      t.ok(ms < 2000, `exited by itself ${ms} ms after the wait settled`);
    });

    t.test('a process whose pending wait is aborted exits on its own', async (t) => {
      const { code, exitAt, out } = await runChild(`
        const ac = new AbortController();
        s.selectAsync(null, { signal: ac.signal }).then(() => console.log('resolved'), (e) => console.log(JSON.stringify([e.name, Date.now()])));
        setTimeout(() => ac.abort(), 100);`);
      t.equal(code, 0, 'exit code 0 (not killed)');
      const [name, settledAt] = JSON.parse(out) as [string, number];
      t.equal(name, 'AbortError');
      const ms = exitAt - settledAt;
      t.ok(ms < 2000, `exited by itself ${ms} ms after the wait was aborted`);
    });
  });
}
