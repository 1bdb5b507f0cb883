// TIMER and USER through the raw kqueue binding (native/kqueue.cc; on Linux
// timerfds and an eventfd in native/kqueue-linux*.cc), and a kqueue nested
// in an epoll.
import t from 'tap';
import { errnoConstants, os } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { B, K, kev, kqueue, readable, sleep } from './kqueue-support.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const { KQ_FILTER_TIMER: TIMER, KQ_FILTER_USER: USER, KQ_FILTER_READ: READ, KQ_EV_ADD: ADD, KQ_EV_DELETE: DELETE } = K as Record<string, number>;
const { KQ_EV_ENABLE: ENABLE, KQ_EV_DISABLE: DISABLE, KQ_EV_ONESHOT: ONESHOT, KQ_EV_CLEAR: CLEAR, KQ_EV_ERROR: ERROR } = K as Record<string, number>;
const skip = USER === undefined && 'no EVFILT_USER here';

t.test('a periodic TIMER fires at its period; data counts expirations', async (t) => {
  const kq = kqueue();
  // Each time is read right by the call it brackets: an assertion between
  // them can stall for long under a sanitizer and a loaded machine.
  const t0 = performance.now();
  kev(kq.fd, [{ ident: 1, filter: TIMER, flags: ADD, data: 20, udata: 5 }], 0);
  const [first] = kev(kq.fd, [], 4, 1);
  const t1 = performance.now();
  const elapsed = t1 - t0;
  t.match(first, { ident: 1, filter: TIMER, data: 1, udata: 5 });
  t.ok(elapsed >= 19 && elapsed < 500, `first expiry after ${elapsed.toFixed(1)} ms (period 20)`);
  await sleep(110);
  const [later] = kev(kq.fd, [], 4);
  const due = (performance.now() - t1) / 20;
  t.ok(later!.data >= Math.floor(due) - 1 && later!.data <= Math.ceil(due) + 1, `${later!.data} expirations in ${(due * 20).toFixed(0)} ms`);
  const t2 = performance.now();
  const next = kev(kq.fd, [], 4);
  const more = Math.ceil((performance.now() - t2) / 20) + 1;
  t.ok(next.length === 0 || next[0]!.data <= more, 'counted since last reported (one more may have come)');
  kev(kq.fd, [{ ident: 1, filter: TIMER, flags: DELETE }], 0);
  t.match(kev(kq.fd, [{ ident: 1, filter: TIMER, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }]);
  kq.close();
});

t.test('TIMER units, EV_ONESHOT and bad values', async (t) => {
  const kq = kqueue();
  const cases: Array<[string | undefined, number]> = [['KQ_NOTE_USECONDS', 15_000], ['KQ_NOTE_NSECONDS', 15_000_000], ['KQ_NOTE_SECONDS', 0]];
  for (const [unit, data] of cases) {
    if (unit !== undefined && K[unit] === undefined) continue;
    const t0 = performance.now();
    const evs = kev(kq.fd, [{ ident: 9, filter: TIMER, flags: ADD | ONESHOT, fflags: unit ? K[unit] : 0, data }], 4, 1);
    const ms = performance.now() - t0;
    t.match(evs, [{ ident: 9, filter: TIMER, data: 1 }], `${unit}: fired`);
    t.ok(ms >= (data ? 14 : 0) && ms < 1000, `${unit} ${data}: after ${ms.toFixed(1)} ms`);
    t.match(kev(kq.fd, [{ ident: 9, filter: TIMER, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'EV_ONESHOT deleted it');
  }
  t.match(kev(kq.fd, [{ ident: 2, filter: TIMER, flags: ADD, data: -1 }], 1), [{ flags: ERROR, data: E.EINVAL }], 'negative period');
  if (K.KQ_NOTE_SECONDS !== undefined) {
    const both = K.KQ_NOTE_SECONDS | K.KQ_NOTE_USECONDS!;
    t.match(kev(kq.fd, [{ ident: 2, filter: TIMER, flags: ADD, data: 1, fflags: both }], 1), [{ flags: ERROR, data: E.EINVAL }], 'two units');
  }
  kq.close();
});

t.test('a disabled TIMER keeps counting; EV_ENABLE reports the total', async (t) => {
  const kq = kqueue();
  kev(kq.fd, [{ ident: 3, filter: TIMER, flags: ADD | DISABLE, data: 10 }], 0);
  await sleep(60);
  t.same(kev(kq.fd, [], 4), [], 'silent while disabled');
  t.notOk(readable(kq.fd), 'and the kqueue is not readable');
  const [ev] = kev(kq.fd, [{ ident: 3, filter: TIMER, flags: ENABLE }], 4);
  t.ok(ev!.data >= 3, `then ${ev!.data} expirations at once`);
  kev(kq.fd, [{ ident: 3, filter: TIMER, flags: ADD, data: 1000 }], 0);
  t.same(kev(kq.fd, [], 4), [], 're-adding restarts it with the new period');
  kq.close();
});

t.test('many timers, an eventlist of one: none is lost', async (t) => {
  const kq = kqueue();
  kev(kq.fd, Array.from({ length: 5 }, (_, i) => ({ ident: 100 + i, filter: TIMER, flags: ADD | ONESHOT, data: 1 })), 0);
  await sleep(30);
  const seen = new Set<number>();
  for (let i = 0; i < 10; i++) for (const e of kev(kq.fd, [], 1)) seen.add(e.ident);
  t.same([...seen].sort(), [100, 101, 102, 103, 104]);
  t.notOk(readable(kq.fd));
  kq.close();
});

t.test('USER: NOTE_TRIGGER, fflags control, EV_CLEAR and level', { skip }, async (t) => {
  const kq = kqueue();
  const { KQ_NOTE_TRIGGER: TRIGGER, KQ_NOTE_FFOR: FFOR, KQ_NOTE_FFAND: FFAND, KQ_NOTE_FFCOPY: FFCOPY } = K as Record<string, number>;
  kev(kq.fd, [{ ident: 42, filter: USER, flags: ADD | CLEAR, udata: 9 }], 0);
  t.same(kev(kq.fd, [], 4), []);
  t.notOk(readable(kq.fd));
  kev(kq.fd, [{ ident: 42, filter: USER, flags: 0, fflags: TRIGGER | FFOR | 0x5, data: 17 }], 0);
  t.ok(readable(kq.fd), 'readable while a user event is pending');
  // As on FreeBSD, every change to a knote sets its udata (here to 0).
  t.match(kev(kq.fd, [], 4), [{ ident: 42, filter: USER, fflags: 0x5, data: 17, udata: 0, flags: CLEAR }]);
  t.same(kev(kq.fd, [], 4), [], 'EV_CLEAR: reported once');
  t.notOk(readable(kq.fd));
  kev(kq.fd, [{ ident: 42, filter: USER, flags: 0, fflags: TRIGGER | FFAND | 0x4 }], 0);
  t.match(kev(kq.fd, [], 4), [{ fflags: 0x4 }], 'NOTE_FFAND');
  kev(kq.fd, [{ ident: 42, filter: USER, flags: 0, fflags: TRIGGER | FFCOPY | 0x30 }], 0);
  t.match(kev(kq.fd, [], 4), [{ fflags: 0x30 }], 'NOTE_FFCOPY');
  kev(kq.fd, [{ ident: 42, filter: USER, flags: 0, fflags: FFOR | 0x1 }], 0);
  t.same(kev(kq.fd, [], 4), [], 'fflags change without NOTE_TRIGGER: nothing');
  kev(kq.fd, [{ ident: 7, filter: USER, flags: ADD }], 0);
  kev(kq.fd, [{ ident: 7, filter: USER, flags: 0, fflags: TRIGGER }], 0);
  t.equal(kev(kq.fd, [], 4).filter((e) => e.ident === 7).length, 1);
  t.equal(kev(kq.fd, [], 4).filter((e) => e.ident === 7).length, 1, 'without EV_CLEAR it stays triggered');
  kev(kq.fd, [{ ident: 7, filter: USER, flags: DISABLE }], 0);
  t.same(kev(kq.fd, [], 4), [], 'until disabled');
  t.notOk(readable(kq.fd));
  t.equal(kev(kq.fd, [{ ident: 7, filter: USER, flags: ENABLE }], 4).length, 1, 'enabled: pending again');
  kev(kq.fd, [{ ident: 7, filter: USER, flags: DELETE }], 0);
  t.same(kev(kq.fd, [], 4), []);
  kev(kq.fd, [{ ident: 8, filter: USER, flags: ADD | ONESHOT, fflags: TRIGGER }], 0);
  t.equal(kev(kq.fd, [], 4).length, 1);
  t.match(kev(kq.fd, [{ ident: 8, filter: USER, flags: 0, fflags: TRIGGER }], 1), [{ flags: ERROR, data: E.ENOENT }], 'EV_ONESHOT deleted it');
  kq.close();
});

t.test('a user event wakes a blocked wait in another kqueue call', { skip }, async (t) => {
  const kq = kqueue();
  kev(kq.fd, [{ ident: 1, filter: USER, flags: ADD | CLEAR }], 0);
  setTimeout(() => kev(kq.fd, [{ ident: 1, filter: USER, flags: 0, fflags: K.KQ_NOTE_TRIGGER }], 0), 20);
  // The blocking wait would hold the JS thread: wait on the kqueue's own
  // readability instead, as the promise twins do.
  const t0 = performance.now();
  while (!readable(kq.fd) && performance.now() - t0 < 2000) await sleep(5);
  t.equal(kev(kq.fd, [], 4, null).length, 1);
  kq.close();
});

t.test('a kqueue nested in an epoll and in another kqueue', async (t) => {
  const outer = kqueue();
  const inner = kqueue();
  const [r, w] = os.pipe();
  kev(inner.fd, [{ ident: r, filter: READ }], 0);
  kev(outer.fd, [{ ident: inner.fd, filter: READ }], 0);
  t.same(kev(outer.fd, [], 4), []);
  os.write(w, Buffer.from('n'));
  t.match(kev(outer.fd, [], 4), [{ ident: inner.fd, filter: READ }]);
  if (B.epoll_create1) {
    const ep = B.epoll_create1(0);
    B.epoll_ctl!(ep, K.EPOLL_CTL_ADD!, inner.fd, K.EPOLLIN!);
    const out = new Int32Array(B.epoll_event_layout!.stride * 2);
    t.equal(B.epoll_wait!(ep, out, 2, 0), 1, 'epoll sees it ready');
    os.read(r, 1);
    t.equal(B.epoll_wait!(ep, out, 2, 0), 0, 'and idle once drained');
    os.close(ep);
  }
  os.close(r);
  os.close(w);
  outer.close();
  inner.close();
});
