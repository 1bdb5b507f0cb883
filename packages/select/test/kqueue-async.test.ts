// kqueue's promise twins and visitors, beyond Python: controlAsync (ready
// later, timeout, abort, interruptWait, close during a wait, changes applied
// once), controlEach and controlEachAsync. On Linux through the emulation.
import t from 'tap';
import * as select from '@iomux/select';
import { os } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const bad = (x: unknown): any => x;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const skip = select.kqueue ? false : 'needs kqueue (BSD, macOS, or the Linux emulation)';
const kqueue = select.kqueue!;
const kevent = select.kevent!;
const KQ_FILTER_READ = select.KQ_FILTER_READ!;
const KQ_FILTER_WRITE = select.KQ_FILTER_WRITE!;
const KQ_EV_DELETE = select.KQ_EV_DELETE!;
const CLOSED = { name: 'ValueError', message: 'I/O operation on closed kqueue object' };

t.test('controlAsync: ready later, without blocking the JS thread', { skip }, async (t) => {
  using kq = kqueue();
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  setTimeout(() => os.write(w, Buffer.from('x')), 60);
  const t0 = performance.now();
  const events = await kq.controlAsync([kevent(r)], 4, 5);
  clearInterval(timer);
  t.equal(events.length, 1);
  t.equal(events[0]?.ident, r);
  t.ok(performance.now() - t0 < 2000, 'woken by the write');
  t.ok(ticks > 0, `timers ran during the wait (${ticks}); a blocking wait would let none run`);
});

t.test('controlAsync: timeout, abort, interruptWait, concurrency, close during a wait', { skip }, async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  t.teardown(() => {
    kq.close();
    os.close(r);
    os.close(w);
  });
  kq.control([kevent(r)], 0);
  const t0 = performance.now();
  t.same(await kq.controlAsync(null, 4, 0.1), [], 'timeout: []');
  t.ok(performance.now() - t0 >= 100, 'never shorter than asked');

  const ac = new AbortController();
  setTimeout(() => ac.abort(new select.ValueError('stopped')), 30);
  await t.rejects(kq.controlAsync(null, 4, 5, { signal: ac.signal }), { name: 'ValueError', message: 'stopped' });
  await t.rejects(kq.controlAsync(null, 4, { signal: AbortSignal.abort(new Error('early')) }), { message: 'early' }, 'options in the place of timeout');

  const p = kq.controlAsync(null, 4);
  t.throws(() => kq.control(null, 4, 0), { name: 'RuntimeError', message: 'concurrent poll() invocation' });
  await t.rejects(kq.controlAsync(null, 4, 0), { name: 'RuntimeError', message: 'concurrent poll() invocation' });
  t.equal(kq.interruptWait(), true);
  t.same(await p, [], 'interruptWait resolves with []');
  t.equal(kq.interruptWait(), false, 'nothing in flight now');

  const closing = kq.controlAsync(null, 4, 5);
  setTimeout(() => kq.close(), 20);
  await t.rejects(closing, CLOSED, 'close() during the wait rejects it');
  await t.rejects(kq.controlAsync(null, 4, 0), CLOSED);
});

t.test('controlAsync applies the changes once, even when it waits; maxEvents 0 returns at once', { skip }, async (t) => {
  using kq = kqueue();
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  t.same(await kq.controlAsync([kevent(r)], 0, 5), [], 'maxEvents 0: at once');
  setTimeout(() => os.write(w, Buffer.from('xy')), 30);
  const events = await kq.controlAsync(null, 4, 5, { assumeNotReady: true });
  t.same(
    events.map((e) => [e.ident, e.filter, e.data]),
    [[r, KQ_FILTER_READ, 2]],
  );
});

t.test('controlEach and controlEachAsync visit each event without kevent objects', { skip }, async (t) => {
  using kq = kqueue();
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  const seen: Array<[unknown, number]> = [];
  const visit = (ident: unknown, filter: number): void => void seen.push([ident, filter]);
  t.equal(kq.controlEach([kevent(r), kevent(w, KQ_FILTER_WRITE)], 4, 0, visit), 1);
  t.same(seen, [[w, KQ_FILTER_WRITE]]);
  kq.control([kevent(w, KQ_FILTER_WRITE, KQ_EV_DELETE)], 0);
  seen.length = 0;
  setTimeout(() => os.write(w, Buffer.from('x')), 30);
  t.equal(await kq.controlEachAsync(null, 4, 5, visit), 1);
  t.same(seen, [[r, KQ_FILTER_READ]]);
  os.read(r, 1);
  t.equal(await kq.controlEachAsync(null, 4, 0.05, visit), 0, 'a timeout visits nothing');
  t.throws(() => kq.controlEach(null, 4, 0, bad(null)), { name: 'TypeError' });
  os.write(w, Buffer.from('x'));
  t.throws(
    () => kq.controlEach(null, 4, 0, () => kq.control(null, 1, 0)),
    { name: 'RuntimeError', message: 'concurrent poll() invocation' },
    'no wait from inside a visit',
  );
  await t.rejects(
    kq.controlEachAsync(null, 4, 1, () => {
      throw new Error('visit failed');
    }),
    { message: 'visit failed' },
  );
});

t.test('controlAsync: a change applied during the wait (maxEvents 0) wakes it', { skip }, async (t) => {
  using kq = kqueue();
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  const p = kq.controlAsync([kevent(r)], 4, 5);
  await sleep(20);
  t.same(kq.control([kevent(w, KQ_FILTER_WRITE)], 0), [], 'changes only: allowed while the wait is in flight');
  const events = await p;
  t.same(
    events.map((e) => [e.ident, e.filter]),
    [[w, KQ_FILTER_WRITE]],
  );
});

t.test('controlAsync with assumeNotReady still looks when the timeout is 0', { skip }, async (t) => {
  using kq = kqueue();
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  kq.control([kevent(r)], 0);
  os.write(w, Buffer.from('x'));
  const events = await kq.controlAsync(null, 4, 0, { assumeNotReady: true });
  t.same(
    events.map((e) => e.ident),
    [r],
    'a wait of 0 is a look, as PendingWait makes it',
  );
  let n = 0;
  t.equal(await kq.controlEachAsync(null, 4, 0, () => n++, { assumeNotReady: true }), 1);
  t.equal(n, 1);
});

t.test('controlAsync does not spin while the kqueue is readable with nothing to report', { skip }, async (t) => {
  // EV_CLEAR on READ beside a level WRITE that is not ready: the emulation's
  // epoll descriptor stays readable after the read was reported once.
  const { socketpair } = await import('@iomux/core-native');
  const [a, b] = socketpair();
  using kq = kqueue();
  t.teardown(() => {
    a.close();
    b.close();
  });
  a.setblocking(false);
  try {
    for (;;) a.send(Buffer.alloc(65536));
  } catch {
    // the send buffer is full: WRITE is not ready
  }
  kq.control([kevent(a, KQ_FILTER_READ, select.KQ_EV_ADD! | select.KQ_EV_CLEAR!), kevent(a, KQ_FILTER_WRITE)], 0);
  b.send(Buffer.from('x'));
  t.equal(kq.control(null, 4, 0).length, 1, 'the read is reported once');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  t.same(await kq.controlAsync(null, 4, 0.3), [], 'then nothing until the timeout');
  const cpu = process.cpuUsage(cpu0);
  const ms = (cpu.user + cpu.system) / 1000;
  t.ok(performance.now() - t0 >= 300, 'the timeout is kept');
  t.ok(ms < 150, `CPU over the 300 ms wait: ${ms.toFixed(1)} ms (a spinning watch takes ~300)`);
});
