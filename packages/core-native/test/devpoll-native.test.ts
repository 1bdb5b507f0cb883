// The raw /dev/poll binding (native/devpoll.cc) and, on Linux, its emulation
// (native/devpoll-linux.cc) on real pipes and socketpairs: registration,
// ORed masks, POLLREMOVE, POLLNVAL, 10,000 descriptors, argument checks and
// lifetimes (close, GC, workers).
import t from 'tap';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { binding as B, errnoConstants, os, selectConstants, socketConstants } from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { collectUntil } from '../../../test/support/gc.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const S = socketConstants as Readonly<Record<string, number>>;
const C = selectConstants as Readonly<Record<string, number>>;
const { POLLIN: IN, POLLOUT: OUT, POLLNVAL: NVAL, POLLHUP: HUP, POLLREMOVE: REMOVE } = C as Record<string, number>;
const LINUX = process.platform === 'linux';
const count = (): number => B.devpoll_count?.() ?? 0;
const bad = (x: unknown): any => x;

function devpoll(): { fd: number; close: () => void } {
  const fd = B.devpoll_open!();
  const h = B.fdhandle_new(fd);
  return { fd, close: () => B.fdhandle_close(h) };
}

function write(dp: number, recs: Array<[number, number]>): void {
  B.devpoll_write!(dp, new Int32Array(recs.flat()), recs.length);
}

/** Ready [fd, revents] pairs, sorted by fd. */
function poll(dp: number, nfds = 64, timeoutMs = 0): Array<[number, number]> {
  const out = new Int32Array(2 * nfds);
  const n = B.devpoll_poll!(dp, out, nfds, timeoutMs);
  const res: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) res.push([out[2 * i]!, out[2 * i + 1]!]);
  return res.sort((a, b) => a[0] - b[0]);
}

const pair = (): [number, number] => B.socketpair(S.AF_UNIX!, S.SOCK_STREAM!, 0);

if (typeof B.devpoll_open !== 'function') {
  t.pass('no /dev/poll on this platform');
} else {
  t.test('POLLREMOVE and a close-on-exec descriptor', async (t) => {
    if (LINUX) t.equal(REMOVE, 0x0800, "illumos' value");
    const dp = devpoll();
    t.equal(os.getInheritable(dp.fd), false);
    t.same(poll(dp.fd), [], 'nothing registered');
    dp.close();
  });

  t.test('register, then readiness follows the pipe (level-triggered)', async (t) => {
    const dp = devpoll();
    const [r, w] = os.pipe();
    write(dp.fd, [[r, IN], [w, OUT]]);
    t.same(poll(dp.fd), [[w, OUT]]);
    os.write(w, Buffer.from('x'));
    t.same(poll(dp.fd), [[r, IN], [w, OUT]]);
    t.same(poll(dp.fd), [[r, IN], [w, OUT]], 'again while data is left');
    os.read(r, 1);
    t.same(poll(dp.fd, 1), [[w, OUT]], 'nfds 1');
    write(dp.fd, [[w, REMOVE]]);
    os.close(w);
    t.same(poll(dp.fd), [[r, HUP]], 'POLLHUP without asking once the writer is gone');
    os.close(r);
    dp.close();
  });

  t.test('a record for a registered fd ORs the masks', async (t) => {
    const dp = devpoll();
    const [a, b] = pair();
    write(dp.fd, [[a, IN]]);
    t.same(poll(dp.fd), [], 'writable, but only IN was asked');
    write(dp.fd, [[a, OUT]]);
    t.same(poll(dp.fd), [[a, OUT]], 'IN | OUT now');
    os.write(b, Buffer.from('y'));
    t.same(poll(dp.fd), [[a, IN | OUT]]);
    os.close(a);
    os.close(b);
    dp.close();
  });

  t.test('POLLREMOVE removes; an unknown fd is ignored; then register again', async (t) => {
    const dp = devpoll();
    const [a, b] = pair();
    write(dp.fd, [[a, OUT]]);
    write(dp.fd, [[a, REMOVE]]);
    t.same(poll(dp.fd), []);
    write(dp.fd, [[a, REMOVE], [b, REMOVE], [99999, REMOVE]]);
    write(dp.fd, [[a, IN]]);
    t.same(poll(dp.fd), [], 'the old OUT is gone: a fresh mask');
    os.write(b, Buffer.from('z'));
    t.same(poll(dp.fd), [[a, IN]]);
    os.close(a);
    os.close(b);
    dp.close();
  });

  t.test('POLLNVAL for a descriptor closed while registered', async (t) => {
    const dp = devpoll();
    const [r, w] = os.pipe();
    const [a, b] = pair();
    write(dp.fd, [[r, IN], [a, OUT]]);
    os.close(r);
    t.same(poll(dp.fd), [[a, OUT], [r, NVAL]].sort((x, y) => x[0]! - y[0]!), 'as poll(2) reports it');
    t.same(poll(dp.fd), [[a, OUT], [r, NVAL]].sort((x, y) => x[0]! - y[0]!), 'on every poll');
    write(dp.fd, [[r, REMOVE]]);
    t.same(poll(dp.fd), [[a, OUT]], 'until removed');
    write(dp.fd, [[987654, IN]]);
    t.same(poll(dp.fd), [[a, OUT], [987654, NVAL]], 'a number never open is POLLNVAL too');
    for (const fd of [w, a, b]) os.close(fd);
    dp.close();
  });

  t.test('POLLNVAL, not the events of a file a dup keeps open', async (t) => {
    const dp = devpoll();
    const [r, w] = os.pipe();
    const keep = os.dup(r);
    write(dp.fd, [[r, IN]]);
    os.close(r); // epoll keeps the item while keep holds the file
    os.write(w, Buffer.from('d'));
    t.same(poll(dp.fd), [[r, NVAL]]);
    for (const fd of [keep, w]) os.close(fd);
    dp.close();
  });

  t.test('POLLNVAL among many: the sweep finds a closed fd within ceil(N / 2) polls', async (t) => {
    const dp = devpoll();
    const fds: number[] = [];
    for (let i = 0; i < 50; i++) fds.push(...os.pipe());
    write(dp.fd, fds.map((fd) => [fd, IN] as [number, number]));
    const gone = fds[37]!;
    os.close(gone);
    let polls = 0;
    let found: Array<[number, number]> = [];
    while (found.length === 0 && polls < 100) {
      found = poll(dp.fd).filter(([, re]) => re === NVAL);
      polls++;
    }
    t.same(found, [[gone, NVAL]]);
    t.ok(polls <= 50, `after ${polls} polls`);
    for (const fd of fds) if (fd !== gone) os.close(fd);
    dp.close();
  });

  t.test('a regular file is always ready; timeouts are waited out', async (t) => {
    const dp = devpoll();
    const fd = fs.openSync(__filename, 'r');
    write(dp.fd, [[fd, IN | OUT]]);
    t.same(poll(dp.fd), [[fd, IN | OUT]], 'as poll(2) has it');
    write(dp.fd, [[fd, REMOVE]]);
    fs.closeSync(fd);
    const [r, w] = os.pipe();
    write(dp.fd, [[r, IN]]);
    const t0 = Date.now();
    t.same(poll(dp.fd, 4, 60), []);
    t.ok(Date.now() - t0 >= 55, 'waited about 60 ms');
    t.equal(B.devpoll_poll!(dp.fd, new Int32Array(0), 0, 0), 0, 'nfds 0');
    os.close(r);
    os.close(w);
    dp.close();
  });

  t.test('a devpoll closed behind our back: EBADF, and its state goes', { skip: !LINUX && 'Linux only' }, async (t) => {
    const dp = B.devpoll_open!();
    const states = count();
    os.close(dp);
    t.throws(() => B.devpoll_poll!(dp, new Int32Array(2), 1, 0), bad({ errno: E.EBADF }));
    t.equal(count(), states - 1);
  });

  t.test('10,000 descriptors: every one reported, nfds caps the count', async (t) => {
    const dp = devpoll();
    const fds: number[] = [];
    for (let i = 0; i < 5000; i++) fds.push(...os.pipe());
    write(dp.fd, fds.map((fd, i) => [fd, i % 2 === 0 ? IN : OUT] as [number, number]));
    const ready = poll(dp.fd, 10_000);
    t.equal(ready.length, 5000, 'every write end');
    t.ok(ready.every(([fd, re]) => re === OUT && fds.indexOf(fd) % 2 === 1));
    t.equal(poll(dp.fd, 100).length, 100);
    for (let i = 0; i < 10_000; i += 2) os.write(fds[i + 1]!, Buffer.from('r'));
    t.equal(poll(dp.fd, 10_000).length, 10_000);
    for (const fd of fds) os.close(fd);
    dp.close();
  });

  t.test('argument checks', async (t) => {
    const dp = devpoll();
    const [r, w] = os.pipe();
    t.throws(() => B.devpoll_write!(dp.fd, new Int32Array(3), 2), /exceeds/, 'short pollfd array');
    {
      // Two ready, nfds 2, room for one record (and a guard slot): one comes back, the guard stays.
      const [r2, w2] = os.pipe();
      os.write(w, Buffer.from('x'));
      os.write(w2, Buffer.from('x'));
      B.devpoll_write!(dp.fd, new Int32Array([r, IN, r2, IN]), 2);
      const out = new Int32Array(3).fill(-7);
      t.equal(B.devpoll_poll!(dp.fd, out.subarray(0, 2), 2, 0), 1, 'a short out array: at most what it holds');
      t.equal(out[2], -7, 'nothing written past it');
      B.devpoll_write!(dp.fd, new Int32Array([r, 0x0800, r2, 0x0800]), 2);
      os.read(r, 1);
      os.close(r2);
      os.close(w2);
      t.throws(() => B.devpoll_poll!(dp.fd, new Int32Array(2), 2 ** 28 - 1, 0), bad({ errno: E.EINVAL }), 'nfds past RLIMIT_NOFILE');
    }
    t.throws(() => B.devpoll_write!(dp.fd, new Int32Array(2), -1), 'negative n');
    t.throws(() => B.devpoll_poll!(dp.fd, new Int32Array(2), -1, 0), 'negative nfds');
    t.throws(() => B.devpoll_poll!(dp.fd, new Int32Array(2), 1, -2), 'timeout below -1');
    t.throws(() => B.devpoll_poll!(dp.fd, new Int32Array(2), 1, 2 ** 31), 'timeout past INT_MAX');
    t.throws(() => B.devpoll_poll!(dp.fd, bad([0, 0]), 1, 0), TypeError, 'not an Int32Array');
    t.throws(() => B.devpoll_write!(bad('3'), new Int32Array(2), 1), TypeError);
    t.throws(() => B.devpoll_write!(-1, new Int32Array(2), 1), 'negative dpfd');
    if (LINUX) {
      t.throws(() => B.devpoll_write!(r, new Int32Array([w, IN]), 1), bad({ errno: E.EINVAL }), 'a pipe is no devpoll');
      t.throws(() => B.devpoll_poll!(w, new Int32Array(2), 1, 0), bad({ errno: E.EINVAL }));
    }
    const closed = B.devpoll_open!();
    os.close(closed);
    const states = count();
    t.throws(() => B.devpoll_write!(closed, new Int32Array([r, IN]), 1), bad({ errno: E.EBADF }), 'a closed dpfd');
    if (LINUX) t.equal(count(), states - 1, 'its state goes with it');
    t.throws(() => B.devpoll_poll!(closed, new Int32Array(2), 1, 0), bad({ errno: E.EBADF }));
    B.devpoll_write!(dp.fd, new Int32Array(0), 0);
    t.same(poll(dp.fd), [], 'n = 0 writes nothing');
    os.close(r);
    os.close(w);
    dp.close();
  });

  t.test('1,000 open/close cycles leak nothing; a GC-ed handle frees its state', { skip: !LINUX && 'Linux only' }, async (t) => {
    const [r, w] = os.pipe();
    const fds = fdCount();
    const states = count();
    for (let i = 0; i < 1000; i++) {
      const dp = devpoll();
      write(dp.fd, [[r, IN], [w, OUT]]);
      poll(dp.fd);
      dp.close();
    }
    t.equal(count(), states);
    t.equal(fdCount(), fds);
    (() => {
      for (let i = 0; i < 10; i++) {
        const dp = B.devpoll_open!();
        write(dp, [[w, OUT]]);
        B.fdhandle_new(dp); // dropped at once
      }
    })();
    t.equal(count(), states + 10);
    await collectUntil(() => count() === states && fdCount() === fds);
    os.close(r);
    os.close(w);
  });

  t.test('closing a devpoll wakes a worker blocked in its poll: EBADF', { skip: !LINUX && 'Linux only' }, async (t) => {
    const dp = devpoll();
    const [r, w] = os.pipe();
    write(dp.fd, [[r, IN]]);
    const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding: B } = require(workerData.core);
parentPort.postMessage('polling');
try {
  B.devpoll_poll(workerData.dp, new Int32Array(8), 4, 10000);
  parentPort.postMessage({ errno: 0 });
} catch (e) {
  parentPort.postMessage({ errno: e.errno });
}
`;
    const worker = new Worker(src, { eval: true, workerData: { core: require.resolve('@iomux/core-native'), dp: dp.fd } });
    const exit = new Promise((res) => worker.on('exit', res));
    const msgs: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => (msgs.push(m), msgs.length === 2 && resolve()));
      worker.once('error', reject);
    });
    await new Promise((res) => setTimeout(res, 100));
    const t0 = Date.now();
    dp.close();
    await done;
    t.same(msgs[1], { errno: E.EBADF });
    t.ok(Date.now() - t0 < 5000, 'woken, not timed out');
    await exit;
    os.close(r);
    os.close(w);
  });

  t.test('worker threads: a devpoll by number, blocking polls, and their own freed at exit', async (t) => {
    const dp = devpoll();
    const [r, w] = os.pipe();
    write(dp.fd, [[r, IN]]);
    const states = count();
    const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding: B, selectConstants: C } = require(workerData.core);
const out = new Int32Array(8);
const n = B.devpoll_poll(workerData.dp, out, 4, 5000);
const own = B.devpoll_open();
B.fdhandle_new(own);
B.devpoll_write(own, new Int32Array([workerData.r, C.POLLIN]), 1);
parentPort.postMessage({ n, fd: out[0], re: out[1], own: B.devpoll_count() });
`;
    const worker = new Worker(src, { eval: true, workerData: { core: require.resolve('@iomux/core-native'), dp: dp.fd, r } });
    const exit = new Promise<number>((resolve) => worker.on('exit', resolve));
    const msg = new Promise<{ n: number; fd: number; re: number; own: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise((res) => setTimeout(res, 50));
    os.write(w, Buffer.from('w')); // wakes the worker's blocking poll
    const m = await msg;
    t.same([m.n, m.fd, m.re], [1, r, IN], "the worker saw the main thread's registration");
    await exit;
    t.equal(count(), states, "the worker's own devpoll was freed at its exit");
    os.close(r);
    os.close(w);
    dp.close();
  });
}
