// A case-by-case port of CPython 3.11's Lib/test/test_devpoll.py
// (DevPollTests), under the same test names, then pollAsync() and pollEach()
// cases. Runs where `select.devpoll` exists (illumos, Solaris, and Linux
// through the addon's emulation), as `hasattr(select, "devpoll")` gates it.
import t from 'tap';
import * as fs from 'node:fs';
import * as select from '@iomux/select';
import { os } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);
const skip = select.devpoll ? false : 'needs /dev/poll (illumos, Solaris, or the Linux emulation)';
const devpoll = select.devpoll!;
const { POLLIN, POLLOUT, POLLNVAL } = select;
const USHRT_MAX = 65535;
const CLOSED = { name: 'ValueError', message: 'I/O operation on closed devpoll object' };
/** Lets a test pass what the types forbid, as the Python tests do. */
const bad = (x: unknown): any => x;

/** find_ready_matching(ready, flag): the fds of `ready` whose revents have `flag`. */
function findReadyMatching(ready: Array<[number, number]>, flag: number): number[] {
  return ready.filter(([, mode]) => (mode & flag) !== 0).map(([fd]) => fd);
}

/** A pipe closed at the end of `t`, ends that are already closed skipped. */
function pipe(t: { teardown(fn: () => void): void }): [number, number] {
  const [r, w] = os.pipe();
  t.teardown(() => {
    for (const fd of [r, w]) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed by the test
      }
    }
  });
  return [r, w];
}

t.test('test_devpoll1', { skip }, async (t) => {
  const p = devpoll();
  t.teardown(() => p.close());
  const NUM_PIPES = 12;
  const MSG = Buffer.from(' This is a test.');
  const readers: number[] = [];
  let writers: number[] = [];
  const r2w = new Map<number, number>();
  const w2r = new Map<number, number>();
  for (let i = 0; i < NUM_PIPES; i++) {
    const [rd, wr] = os.pipe();
    p.register(rd);
    p.modify(rd, POLLIN);
    p.register(wr, POLLOUT);
    readers.push(rd);
    writers.push(wr);
    r2w.set(rd, wr);
    w2r.set(wr, rd);
  }
  const bufs: Buffer[] = [];
  while (writers.length > 0) {
    let ready = p.poll();
    const readyWriters = findReadyMatching(ready, POLLOUT);
    if (readyWriters.length === 0) t.fail('no pipes ready for writing');
    const wr = readyWriters[Math.floor(Math.random() * readyWriters.length)]!;
    fs.writeSync(wr, MSG);

    ready = p.poll();
    const readyReaders = findReadyMatching(ready, POLLIN);
    if (readyReaders.length === 0) t.fail('no pipes ready for reading');
    t.same(readyReaders, [w2r.get(wr)]);
    const rd = readyReaders[0]!;
    const buf = Buffer.alloc(MSG.length);
    t.equal(fs.readSync(rd, buf), MSG.length);
    bufs.push(buf);
    fs.closeSync(r2w.get(rd)!);
    fs.closeSync(rd);
    p.unregister(r2w.get(rd)!);
    p.unregister(rd);
    writers = writers.filter((w) => w !== r2w.get(rd));
  }
  t.same(bufs, Array(NUM_PIPES).fill(MSG));
});

t.test('test_timeout_overflow', { skip }, async (t) => {
  const pollster = devpoll();
  t.teardown(() => pollster.close());
  const [, w] = pipe(t);
  pollster.register(w);

  pollster.poll(-1);
  t.throws(() => pollster.poll(-2), { name: 'OverflowError' });
  t.throws(() => pollster.poll(-1 * 2 ** 31), { name: 'OverflowError' });
  t.throws(() => pollster.poll(bad(-(1n << 64n))), { name: 'OverflowError' });

  pollster.poll(0);
  pollster.poll(1);
  pollster.poll(2 ** 30);
  t.throws(() => pollster.poll(2 ** 31), { name: 'OverflowError' });
  t.throws(() => pollster.poll(bad(1n << 63n)), { name: 'OverflowError' });
  t.throws(() => pollster.poll(bad(1n << 64n)), { name: 'OverflowError' });
});

t.test('test_close', { skip }, async (t) => {
  const fd = fs.openSync(__filename, 'r');
  t.teardown(() => fs.closeSync(fd));
  const dp = devpoll();

  // test fileno() method and closed attribute
  t.type(dp.fileno(), 'number');
  t.equal(dp.closed, false);

  // test close()
  dp.close();
  t.equal(dp.closed, true);
  t.throws(() => dp.fileno(), CLOSED);

  // close() can be called more than once
  dp.close();

  // operations must fail with ValueError("I/O operation on closed ...")
  t.throws(() => dp.modify(fd, POLLIN), CLOSED);
  t.throws(() => dp.poll(), CLOSED);
  t.throws(() => dp.register(fd, POLLIN), CLOSED);
  t.throws(() => dp.unregister(fd), CLOSED);
});

t.test('test_fd_non_inheritable', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  t.equal(os.getInheritable(dp.fileno()), false);
});

t.test('test_events_mask_overflow', { skip }, async (t) => {
  const pollster = devpoll();
  t.teardown(() => pollster.close());
  const [, w] = pipe(t);
  pollster.register(w);
  // Issue #17919
  t.throws(() => pollster.register(0, -1), { name: 'ValueError', message: 'value must be positive' });
  t.throws(() => pollster.register(0, bad(1n << 64n)), { name: 'OverflowError' });
  t.throws(() => pollster.modify(1, -1), { name: 'ValueError', message: 'value must be positive' });
  t.throws(() => pollster.modify(1, bad(1n << 64n)), { name: 'OverflowError' });
});

t.test('test_events_mask_overflow_c_limits', { skip }, async (t) => {
  const pollster = devpoll();
  t.teardown(() => pollster.close());
  const [, w] = pipe(t);
  pollster.register(w);
  // Issue #17919
  const msg = { name: 'OverflowError', message: 'Python int too large for C unsigned short' };
  t.throws(() => pollster.register(0, USHRT_MAX + 1), msg);
  t.throws(() => pollster.modify(1, USHRT_MAX + 1), msg);
});

t.test('register of a registered fd ORs the masks; modify replaces', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r, w] = pipe(t);
  fs.writeSync(w, 'x');
  dp.register(r, POLLIN);
  dp.register(r, POLLOUT);
  t.same(dp.poll(0), [[r, POLLIN]], 'a pipe read end is never writable: only POLLIN fires');
  dp.register(w, POLLIN);
  dp.register(w, POLLOUT);
  t.same(dp.poll(0).sort((a, b) => a[0] - b[0]), [[r, POLLIN], [w, POLLOUT]].sort((a, b) => a[0]! - b[0]!));
  dp.modify(w, POLLIN);
  t.same(dp.poll(0), [[r, POLLIN]], 'modify dropped POLLOUT');
});

t.test('unregister of an unknown fd is ignored', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r] = pipe(t);
  dp.unregister(r);
  t.same(dp.poll(0), []);
});

t.test('a descriptor closed while registered reports POLLNVAL', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r, w] = os.pipe();
  fs.closeSync(w);
  dp.register(r, POLLIN);
  t.same(dp.poll(0), [[r, select.POLLHUP]]);
  fs.closeSync(r);
  t.same(dp.poll(0), [[r, POLLNVAL]]);
});

t.test('registrations are written lazily, past the first buffer too', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r, w] = pipe(t);
  fs.writeSync(w, 'x');
  // More records than the first buffer holds (64): it grows, then they are written.
  for (let i = 0; i < 300; i++) dp.modify(r, POLLIN);
  t.same(dp.poll(0), [[r, POLLIN]]);
});

t.test('pollAsync: resolves once a registered pipe turns readable', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r, w] = pipe(t);
  dp.register(r, POLLIN);
  setTimeout(() => fs.writeSync(w, 'x'), 20);
  const start = performance.now();
  t.same(await dp.pollAsync(5000), [[r, POLLIN]]);
  t.ok(performance.now() - start < 4000);
  t.same(await dp.pollAsync(10), [[r, POLLIN]], 'level-triggered: still readable');
});

t.test('pollAsync: a timeout resolves with [], an abort rejects, close() rejects', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r] = pipe(t);
  dp.register(r, POLLIN);
  t.same(await dp.pollAsync(30), []);
  const ac = new AbortController();
  const p = dp.pollAsync(-1, { signal: ac.signal });
  await t.rejects(dp.pollAsync(0), { name: 'RuntimeError', message: 'concurrent poll() invocation' });
  t.throws(() => dp.poll(0), { name: 'RuntimeError' });
  ac.abort(new Error('stop'));
  await t.rejects(p, { message: 'stop' });
  const q = dp.pollAsync();
  t.equal(dp.interruptWait(), true);
  t.same(await q, []);
  t.equal(dp.interruptWait(), false);
  const c = dp.pollAsync();
  dp.close();
  await t.rejects(c, CLOSED);
  await t.rejects(dp.pollAsync(0), CLOSED);
});

t.test('pollEach: visits what poll() would return; pollEachAsync counts', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r, w] = pipe(t);
  dp.register(r, POLLIN);
  dp.register(w, POLLOUT);
  const seen: Array<[number, number]> = [];
  const n = dp.pollEach(0, (fd, ev) => void seen.push([fd, ev]));
  t.equal(n, 1);
  t.same(seen, [[w, POLLOUT]]);
  t.throws(() => dp.pollEach(0, () => dp.poll(0)), { name: 'RuntimeError' });
  t.throws(() => dp.pollEach(0, bad(null)), { name: 'TypeError' });

  dp.unregister(w);
  seen.length = 0;
  const p = dp.pollEachAsync(5000, (fd, ev) => void seen.push([fd, ev]));
  setTimeout(() => fs.writeSync(w, 'x'), 10);
  t.equal(await p, 1);
  t.same(seen, [[r, POLLIN]]);
  fs.readSync(r, Buffer.alloc(1));
  t.equal(await dp.pollEachAsync(10, () => t.fail('nothing is ready')), 0);
  await t.rejects(dp.pollEachAsync(0, bad(1)), { name: 'TypeError' });
});

t.test('a poll has room for every registered fd, past its first 64', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const ws: number[] = [];
  for (let i = 0; i < 100; i++) {
    const [, w] = pipe(t);
    dp.register(w, POLLOUT);
    ws.push(w);
  }
  const all = dp.poll(0);
  t.equal(all.length, 100, 'all 100 in one poll, as CPython sizes it by RLIMIT_NOFILE');
  t.same(all.map(([fd]) => fd).sort((a, b) => a - b), ws, 'each write end once');
  let visited = 0;
  t.equal(dp.pollEach(0, () => void visited++), 100);
  t.equal(visited, 100);
  for (const w of ws.slice(10)) dp.unregister(w);
  t.equal(dp.poll(0).length, 10, 'unregistered ones are gone');
});

t.test('pollAsync: a registration made during the wait is seen by it', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const [r, w] = pipe(t);
  fs.writeSync(w, 'x');
  const p = dp.pollAsync(5000);
  await new Promise((resolve) => setTimeout(resolve, 10));
  dp.register(r, POLLIN);
  const start = performance.now();
  t.same(await p, [[r, POLLIN]]);
  t.ok(performance.now() - start < 4000, 'woken by the registration, not the timeout');
});

t.test('a number that is not open: register() takes it, poll() reports POLLNVAL', { skip }, async (t) => {
  const dp = devpoll();
  t.teardown(() => dp.close());
  const notOpen = 999_999; // far past any descriptor this process opens
  dp.register(notOpen, POLLIN);
  t.same(dp.poll(0), [[notOpen, POLLNVAL]]);
  t.same(dp.poll(0), [[notOpen, POLLNVAL]], 'until it is unregistered');
  dp.unregister(notOpen);
  t.same(dp.poll(0), []);
});
