// Lifetimes of emulated kqueues (native/kqueue-linux.cc): close, GC and
// worker teardown free the state and its internal descriptors; fromfd on the
// same number shares registrations, across threads too; a number reused
// after a close behind our back starts fresh.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import { errnoConstants, os } from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { collectUntil } from '../../../test/support/gc.js';
import { B, K, kev, kqueue, type Kev } from './kqueue-support.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const { KQ_FILTER_TIMER: TIMER, KQ_FILTER_USER: USER, KQ_FILTER_READ: READ, KQ_EV_ADD: ADD, KQ_EV_DELETE: DELETE, KQ_EV_ERROR: ERROR } =
  K as Record<string, number>;
const LINUX = process.platform === 'linux';
const count = (): number => B.kqueue_count?.() ?? 0;
const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);

/** Registrations that make the emulation open internal descriptors. */
function populate(kq: number, r: number): void {
  const changes: Array<Partial<Kev>> = [{ ident: r, filter: READ, flags: ADD }, { ident: 1, filter: TIMER, flags: ADD, data: 60_000 }];
  // Our own process: a pidfd that never fires.
  changes.push({ ident: process.pid, filter: K.KQ_FILTER_PROC!, flags: ADD, fflags: K.KQ_NOTE_EXIT! });
  // The working directory, through a descriptor closed at once: the inotify watch stays.
  const dir = fs.openSync(process.cwd(), 'r');
  changes.push({ ident: dir, filter: K.KQ_FILTER_VNODE!, flags: ADD, fflags: K.KQ_NOTE_WRITE! });
  if (USER !== undefined) changes.push({ ident: 2, filter: USER, flags: ADD });
  changes.push({ ident: 12, filter: K.KQ_FILTER_SIGNAL!, flags: ADD }); // SIGUSR2, counted natively
  kev(kq, changes, 0);
  if (LINUX) B.kqueue_signal_post!(kq, B.kqueue_signals!(kq)![0]!, 12);
  fs.closeSync(dir);
}

t.test('1,000 create/close cycles leak no descriptor and no state', { skip: !LINUX && 'Linux only' }, async (t) => {
  const [r, w] = os.pipe();
  const fds = fdCount();
  const states = count();
  for (let i = 0; i < 1000; i++) {
    const kq = kqueue();
    populate(kq.fd, r);
    kq.close();
  }
  t.equal(fdCount(), fds, 'descriptors');
  t.equal(count(), states, 'emulated states');
  os.close(r);
  os.close(w);
});

t.test('a garbage-collected kqueue handle releases everything', { skip: !LINUX && 'Linux only' }, async (t) => {
  const [r, w] = os.pipe();
  const fds = fdCount();
  const states = count();
  const numbers: number[] = [];
  (() => {
    for (let i = 0; i < 10; i++) {
      const kq = B.kqueue_create!();
      populate(kq, r);
      B.fdhandle_new(kq); // dropped at once
      numbers.push(kq);
    }
  })();
  t.equal(count(), states + 10);
  t.ok(fdCount() >= fds + 30, 'each holds its epoll, eventfd and a timerfd');
  await collectUntil(() => count() === states && fdCount() === fds);
  t.ok(numbers.every((fd) => !isOpen(fd)));
  os.close(r);
  os.close(w);
});

t.test('fromfd on the same number shares the registrations', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  kev(kq.fd, [{ ident: r, filter: READ }], 0);
  const again = kq.fd; // Python's kqueue.fromfd(kq.fileno()) wraps the same number
  os.write(w, Buffer.from('s'));
  t.match(kev(again, [], 4), [{ ident: r, filter: READ }]);
  kev(again, [{ ident: r, filter: READ, flags: DELETE }], 0);
  t.same(kev(kq.fd, [], 4), [], 'a deletion through either is seen by both');
  os.close(r);
  os.close(w);
  kq.close();
});

t.test('a number reused after a close behind our back starts fresh', { skip: !LINUX && 'Linux only' }, async (t) => {
  const [r, w] = os.pipe();
  const states = count();
  const fd = B.kqueue_create!();
  populate(fd, r);
  os.close(fd); // not through a handle: the emulation does not see it
  const kq = kqueue();
  t.equal(kq.fd, fd, 'the lowest free number again');
  t.equal(count(), states + 1, 'the stale state was replaced');
  t.match(kev(kq.fd, [{ ident: r, filter: READ, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'no old knote');
  os.write(w, Buffer.from('x'));
  t.same(kev(kq.fd, [], 4), []);
  kq.close();
  t.equal(count(), states);
  os.close(r);
  os.close(w);
});

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding: B, selectConstants: K } = require(workerData.core);
const L = B.kevent_layout;
const ev = new Int32Array(4 * L.stride);
// The main thread's kqueue, by number: its registration is visible here.
let n = B.kevent(workerData.kq, null, 0, ev, 4, 5, 0);
const shared = n === 1 && ev[L.identLo] === workerData.r && ev[L.filter] === K.KQ_FILTER_READ;
// A kqueue of our own with a timer, left open: the worker's teardown closes it.
const own = B.kqueue_create();
B.fdhandle_new(own);
const ch = new Int32Array(L.stride);
ch[L.identLo] = 1; ch[L.filter] = K.KQ_FILTER_TIMER; ch[L.flags] = K.KQ_EV_ADD; ch[L.dataLo] = 10;
n = B.kevent(own, ch, 1, ev, 4, 2, 0);
parentPort.postMessage({ shared, timer: n === 1 && ev[L.filter] === K.KQ_FILTER_TIMER, own });
`;

t.test('worker threads: a kqueue by number, and their own freed at exit', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  kev(kq.fd, [{ ident: r, filter: READ }], 0);
  os.write(w, Buffer.from('w'));
  const states = count();
  const fds = fdCount();
  const worker = new Worker(workerSource, { eval: true, workerData: { core: require.resolve('@iomux/core-native'), kq: kq.fd, r } });
  const exit = new Promise<number>((resolve) => worker.on('exit', resolve));
  const msg = await new Promise<{ shared: boolean; timer: boolean; own: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  t.ok(msg.shared, "the worker saw the main thread's registration");
  t.ok(msg.timer, 'its own timer fired');
  await exit;
  t.equal(count(), states, "the worker's kqueue state was freed at its exit");
  t.equal(fdCount(), fds, 'and its descriptors');
  os.close(r);
  os.close(w);
  kq.close();
});

t.test('concurrent kevent calls from workers on one kqueue', { skip: USER === undefined && 'no EVFILT_USER' }, async (t) => {
  const kq = kqueue();
  kev(kq.fd, [{ ident: 5, filter: USER, flags: ADD | K.KQ_EV_CLEAR! }], 0);
  const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding: B, selectConstants: K } = require(workerData.core);
const L = B.kevent_layout;
const ch = new Int32Array(L.stride);
ch[L.identLo] = 5; ch[L.filter] = K.KQ_FILTER_USER; ch[L.fflags] = K.KQ_NOTE_TRIGGER;
const ev = new Int32Array(4 * L.stride);
let got = 0;
for (let i = 0; i < 2000; i++) { B.kevent(workerData.kq, ch, 1, null, 0, 0, 0); got += B.kevent(workerData.kq, null, 0, ev, 4, 0, 0); }
parentPort.postMessage(got);
`;
  const runs = [0, 1, 2].map(
    () =>
      new Promise<number>((resolve, reject) => {
        const wk = new Worker(src, { eval: true, workerData: { core: require.resolve('@iomux/core-native'), kq: kq.fd } });
        wk.once('message', resolve);
        wk.once('error', reject);
      }),
  );
  const got = await Promise.all(runs);
  t.ok(got.every((g) => g > 0 && g <= 2000), `each worker saw triggers (${got.join(', ')})`);
  kq.close();
});

t.test('closing a kqueue wakes a thread blocked on it, with EBADF', async (t) => {
  const kq = kqueue();
  const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding: B } = require(workerData.core);
const ev = new Int32Array(4 * B.kevent_layout.stride);
parentPort.postMessage('waiting');
const t0 = Date.now();
try {
  B.kevent(workerData.kq, null, 0, ev, 4, 10, 0);
  parentPort.postMessage({ code: 'none', ms: Date.now() - t0 });
} catch (e) {
  parentPort.postMessage({ code: e.code, ms: Date.now() - t0 });
}
`;
  const wk = new Worker(src, { eval: true, workerData: { core: require.resolve('@iomux/core-native'), kq: kq.fd } });
  const result = new Promise<{ code: string; ms: number }>((resolve, reject) => {
    wk.on('message', (m) => m !== 'waiting' && resolve(m));
    wk.once('error', reject);
  });
  await new Promise((r) => wk.once('message', r));
  await new Promise((r) => setTimeout(r, 100));
  kq.close();
  const { code, ms } = await result;
  t.equal(code, 'EBADF');
  t.ok(ms < 5000, `woken after ${ms} ms, not at the 10 s timeout`);
});

t.test('workers add and delete knotes while the main thread polls', async (t) => {
  const kq = kqueue();
  const pipes = Array.from({ length: 8 }, () => os.pipe());
  for (const [, w] of pipes) os.write(w, Buffer.from('p'));
  const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding: B, selectConstants: K } = require(workerData.core);
const L = B.kevent_layout;
const ch = new Int32Array(2 * L.stride);
const ev = new Int32Array(8 * L.stride);
let errors = 0;
for (let i = 0; i < 3000; i++) {
  const fd = workerData.fds[i % workerData.fds.length];
  ch[L.identLo] = fd; ch[L.filter] = K.KQ_FILTER_READ; ch[L.flags] = K.KQ_EV_ADD | (i % 3 === 0 ? K.KQ_EV_ONESHOT : 0);
  ch[L.stride + L.identLo] = 1000 + (i % 4); ch[L.stride + L.filter] = K.KQ_FILTER_TIMER;
  ch[L.stride + L.flags] = i % 2 ? K.KQ_EV_ADD : K.KQ_EV_DELETE; ch[L.stride + L.dataLo] = 1;
  const n = B.kevent(workerData.kq, ch, 2, ev, 8, 0, 0);
  for (let j = 0; j < n; j++) if (ev[j * L.stride + L.flags] & K.KQ_EV_ERROR && ev[j * L.stride + L.dataLo] !== 2) errors++;
  ch[L.flags] = K.KQ_EV_DELETE;
  B.kevent(workerData.kq, ch, 1, ev, 8, 0, 0);
}
parentPort.postMessage(errors);
`;
  const fds = pipes.map(([r]) => r);
  const done = [0, 1].map(
    () =>
      new Promise<number>((resolve, reject) => {
        const wk = new Worker(src, { eval: true, workerData: { core: require.resolve('@iomux/core-native'), kq: kq.fd, fds } });
        wk.once('message', resolve);
        wk.once('error', reject);
      }),
  );
  let polls = 0;
  let finished = false;
  void Promise.all(done).then(() => (finished = true));
  while (!finished) {
    kev(kq.fd, [], 16, 0);
    polls++;
    await new Promise((r) => setImmediate(r));
  }
  t.same(await Promise.all(done), [0, 0], 'no error but ENOENT from a knote the other thread deleted');
  t.ok(polls > 0);
  for (const [r, w] of pipes) {
    os.close(r);
    os.close(w);
  }
  kq.close();
});
