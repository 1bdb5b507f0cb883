// The raw kqueue binding (native/kqueue.cc) and, on Linux, its emulation
// (native/kqueue-linux*.cc): READ and WRITE on real pipes and socketpairs,
// every flag, and the error paths. Timers, user events and lifetimes are in
// kqueue-filters.test.ts and kqueue-lifetime.test.ts.
import t from 'tap';
import { binding, errnoConstants, has, os, socketConstants } from '@iomux/core-native';
import * as fs from 'node:fs';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { B, K, L, kev, kqueue, pack, readable } from './kqueue-support.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const S = socketConstants as Readonly<Record<string, number>>;
const LINUX = process.platform === 'linux';
const { KQ_FILTER_READ: READ, KQ_FILTER_WRITE: WRITE, KQ_EV_ADD: ADD, KQ_EV_DELETE: DELETE } = K as Record<string, number>;
const { KQ_EV_ENABLE: ENABLE, KQ_EV_DISABLE: DISABLE, KQ_EV_ONESHOT: ONESHOT, KQ_EV_CLEAR: CLEAR } = K as Record<string, number>;
const { KQ_EV_EOF: EOF, KQ_EV_ERROR: ERROR } = K as Record<string, number>;
const bad = (x: unknown): any => x;

function pair(): [number, number] {
  return binding.socketpair(S.AF_UNIX!, S.SOCK_STREAM!, 0);
}

t.test('layout, constants and has.kqueue', async (t) => {
  t.equal(has.kqueue, typeof B.kqueue_create === 'function');
  if (!LINUX) return;
  t.equal(has.kqueue, true, 'the emulation on Linux');
  t.same({ ...L }, { stride: 9, identLo: 0, identHi: 1, filter: 2, flags: 3, fflags: 4, dataLo: 5, dataHi: 6, udataLo: 7, udataHi: 8 });
  t.match(K, {
    KQ_FILTER_READ: -1, KQ_FILTER_WRITE: -2, KQ_FILTER_AIO: -3, KQ_FILTER_VNODE: -4, KQ_FILTER_PROC: -5,
    KQ_FILTER_SIGNAL: -6, KQ_FILTER_TIMER: -7, KQ_FILTER_USER: -11,
    KQ_EV_ADD: 1, KQ_EV_DELETE: 2, KQ_EV_ENABLE: 4, KQ_EV_DISABLE: 8, KQ_EV_ONESHOT: 0x10, KQ_EV_CLEAR: 0x20,
    KQ_EV_RECEIPT: 0x40, KQ_EV_SYSFLAGS: 0xf000, KQ_EV_FLAG1: 0x2000, KQ_EV_EOF: 0x8000, KQ_EV_ERROR: 0x4000,
    KQ_NOTE_LOWAT: 1, KQ_NOTE_EXIT: 0x80000000, KQ_NOTE_PCTRLMASK: 0xf0000000, KQ_NOTE_PDATAMASK: 0xfffff,
    KQ_NOTE_TRIGGER: 0x01000000, KQ_NOTE_FFCOPY: 0xc0000000, KQ_NOTE_SECONDS: 1, KQ_NOTE_NSECONDS: 8,
  });
  t.notOk('KQ_FILTER_NETDEV' in K, 'FreeBSD has no NETDEV');
  const kq = kqueue();
  t.equal(os.getInheritable(kq.fd), false, 'close-on-exec');
  kq.close();
});

t.test('READ on a pipe: level-triggered, data = bytes available', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  t.same(kev(kq.fd, [{ ident: r, filter: READ, flags: ADD, udata: 77 }], 4), []);
  t.notOk(readable(kq.fd), 'the kqueue polls idle');
  os.write(w, Buffer.from('hello'));
  t.ok(readable(kq.fd), 'readable once an event is pending');
  const [ev] = kev(kq.fd, [], 4);
  t.match(ev, { ident: r, filter: READ, data: 5, udata: 77, fflags: 0 });
  t.equal(ev!.flags & (EOF | ERROR), 0);
  t.equal(kev(kq.fd, [], 4).length, 1, 'reported again while data is left');
  os.read(r, 5);
  t.same(kev(kq.fd, [], 4), []);
  t.notOk(readable(kq.fd));
  os.close(w);
  t.match(kev(kq.fd, [], 4), [{ ident: r, filter: READ, data: 0, flags: EOF }], 'EV_EOF once the writer is gone');
  os.close(r);
  kq.close();
});

t.test('WRITE: data = space left, EV_EOF when the reader is gone', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  const [ev] = kev(kq.fd, [{ ident: w, filter: WRITE }], 4);
  t.match(ev, { ident: w, filter: WRITE });
  t.ok(ev!.data >= 4096, `a pipe's free space (${ev!.data})`);
  os.write(w, Buffer.alloc(1000));
  t.equal(kev(kq.fd, [], 4)[0]!.data, ev!.data - 1000, 'less what is queued');
  os.close(r);
  t.ok(kev(kq.fd, [], 4)[0]!.flags & EOF, 'EV_EOF');
  os.close(w);
  const [a, b] = pair();
  const [sev] = kev(kq.fd, [{ ident: a, filter: WRITE }], 4);
  t.ok(sev!.data > 0, `a socket's send space (${sev!.data})`);
  os.close(a);
  os.close(b);
  kq.close();
});

t.test('READ and WRITE on one socket; EV_EOF on a peer shutdown', async (t) => {
  const kq = kqueue();
  const [a, b] = pair();
  kev(kq.fd, [{ ident: a, filter: READ }, { ident: a, filter: WRITE }], 0);
  t.same(kev(kq.fd, [], 4).map((e) => e.filter), [WRITE]);
  os.write(b, Buffer.from('xyz'));
  const evs = kev(kq.fd, [], 4).sort((x, y) => y.filter - x.filter);
  t.match(evs, [{ filter: READ, data: 3 }, { filter: WRITE }]);
  t.equal(kev(kq.fd, [], 1).length, 1, 'an eventlist of one takes one');
  binding.shutdown(b, S.SHUT_WR!);
  const rd = kev(kq.fd, [], 4).find((e) => e.filter === READ)!;
  t.ok(rd.flags & EOF, 'EV_EOF on the peer shutdown');
  t.equal(rd.data, 3, 'with the bytes still unread');
  os.close(a);
  os.close(b);
  kq.close();
});

t.test('EV_CLEAR reports a change once; the kqueue is readable only then', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  kev(kq.fd, [{ ident: r, filter: READ, flags: ADD | CLEAR }], 0);
  os.write(w, Buffer.from('abc'));
  t.match(kev(kq.fd, [], 4), [{ data: 3, flags: CLEAR }]);
  t.same(kev(kq.fd, [], 4), [], 'not again without a change');
  t.notOk(readable(kq.fd), 'no stale readability');
  os.write(w, Buffer.from('de'));
  t.match(kev(kq.fd, [], 4), [{ data: 5 }], 'again when more arrives');
  os.read(r, 5);
  os.write(w, Buffer.from('f'));
  t.match(kev(kq.fd, [], 4), [{ data: 1 }], 'and after a drain');
  os.close(w);
  t.ok(kev(kq.fd, [], 4)[0]!.flags & EOF, 'and on EOF');
  os.close(r);
  kq.close();
});

t.test('NOTE_LOWAT: READ waits for its mark', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  kev(kq.fd, [{ ident: r, filter: READ, flags: ADD, fflags: K.KQ_NOTE_LOWAT, data: 5 }], 0);
  os.write(w, Buffer.from('abc'));
  t.same(kev(kq.fd, [], 4), [], 'below the mark');
  t.notOk(readable(kq.fd));
  os.write(w, Buffer.from('de'));
  t.match(kev(kq.fd, [], 4), [{ ident: r, data: 5 }], 'at the mark');
  t.match(kev(kq.fd, [], 4), [{ ident: r, data: 5 }], 'and level-triggered');
  os.read(r, 1);
  t.same(kev(kq.fd, [], 4), [], 'below it again');
  os.close(w);
  t.match(kev(kq.fd, [], 4), [{ ident: r, data: 4, flags: EOF }], 'EOF reports below the mark');
  os.close(r);
  kq.close();
});

t.test('EV_ONESHOT: reported once, then gone', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  os.write(w, Buffer.from('x'));
  t.match(kev(kq.fd, [{ ident: r, filter: READ, flags: ADD | ONESHOT }], 4), [{ ident: r, flags: ONESHOT }]);
  t.same(kev(kq.fd, [], 4), []);
  t.match(kev(kq.fd, [{ ident: r, filter: READ, flags: DELETE }], 4), [{ flags: ERROR, data: E.ENOENT }]);
  os.close(r);
  os.close(w);
  kq.close();
});

t.test('EV_DISABLE keeps the knote silent; EV_ENABLE brings it back', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  os.write(w, Buffer.from('x'));
  kev(kq.fd, [{ ident: r, filter: READ, flags: ADD | DISABLE }], 0);
  t.same(kev(kq.fd, [], 4), []);
  t.notOk(readable(kq.fd), 'not readable while disabled');
  t.match(kev(kq.fd, [{ ident: r, filter: READ, flags: ENABLE }], 4), [{ ident: r, data: 1 }]);
  kev(kq.fd, [{ ident: r, filter: READ, flags: DISABLE }], 0);
  t.same(kev(kq.fd, [], 4), []);
  t.match(kev(kq.fd, [{ ident: r, filter: READ, flags: ADD }], 4), [{ ident: r }], 'EV_ADD enables too');
  kev(kq.fd, [{ ident: r, filter: READ, flags: DELETE }], 0);
  t.same(kev(kq.fd, [], 4), []);
  os.close(r);
  os.close(w);
  kq.close();
});

t.test('errors on changes: KQ_EV_ERROR events when there is room, else thrown', async (t) => {
  const kq = kqueue();
  const [r, w] = os.pipe();
  os.close(w);
  t.match(kev(kq.fd, [{ ident: r, filter: WRITE, flags: DELETE }], 4), [{ ident: r, filter: WRITE, flags: ERROR, data: E.ENOENT }]);
  t.throws(() => kev(kq.fd, [{ ident: r, filter: WRITE, flags: DELETE }], 0), { code: 'ENOENT', syscall: 'kevent' });
  t.throws(() => kev(kq.fd, [{ ident: 100_000, filter: READ }], 0), { code: 'EBADF' }, 'a descriptor not open');
  t.match(kev(kq.fd, [{ ident: 2 ** 40, filter: READ }], 1), [{ ident: 2 ** 40, flags: ERROR, data: E.EBADF }]);
  t.match(kev(kq.fd, [{ ident: r, filter: K.KQ_FILTER_AIO }], 1), [{ flags: ERROR, data: E.EINVAL }], 'KQ_FILTER_AIO: not emulated');
  t.match(kev(kq.fd, [{ ident: r, filter: -99 }], 1), [{ flags: ERROR, data: E.EINVAL }]);
  t.same(kev(kq.fd, [{ ident: r, filter: 0 }], 1), [], 'filter 0: skipped, as FreeBSD does');
  // Room for one error: the second error is thrown.
  t.throws(() => kev(kq.fd, [{ ident: r, filter: -99 }, { ident: r, filter: -98 }], 1), { code: 'EINVAL' });
  // The errors come back at once, even with events pending; good changes still apply.
  const evs = kev(kq.fd, [{ ident: r, filter: -99 }, { ident: r, filter: READ }], 4);
  t.match(evs, [{ flags: ERROR, data: E.EINVAL }]);
  t.match(kev(kq.fd, [], 4), [{ ident: r, filter: READ, flags: EOF }]);
  if (K.KQ_EV_RECEIPT !== undefined) {
    const rec = kev(kq.fd, [{ ident: r, filter: READ, flags: ADD | K.KQ_EV_RECEIPT }], 4);
    t.match(rec, [{ ident: r, flags: ERROR, data: 0 }], 'EV_RECEIPT: data 0 on success, no events');
  }
  os.close(r);
  kq.close();
});

t.test('bad arguments: checked natively, no crash', async (t) => {
  const kq = kqueue();
  const ev = new Int32Array(4 * L.stride);
  const f = B.kevent as (...a: unknown[]) => number;
  t.throws(() => f(kq.fd, null, -1, ev, 4, 0, 0), RangeError, 'negative nchanges');
  t.throws(() => f(kq.fd, null, 0, ev, -1, 0, 0), RangeError, 'negative nevents');
  t.throws(() => f(kq.fd, null, 1, ev, 4, 0, 0), { message: /changes/ }, 'nchanges without an array');
  t.throws(() => f(kq.fd, pack([{}]), 2, ev, 4, 0, 0), { message: /changes/ }, 'a short changes array');
  t.throws(() => f(kq.fd, null, 0, ev, 5, 0, 0), { message: /events/ }, 'a short events array');
  t.throws(() => f(kq.fd, null, 0, null, 1, 0, 0), { message: /events/ });
  t.throws(() => f(kq.fd, null, 0, ev, 4, 0, -1), { pyType: 'ValueError', message: /timeoutNsec/ }, 'negative nsec');
  t.throws(() => f(kq.fd, null, 0, ev, 4, 0, 1e9), { pyType: 'ValueError', message: /timeoutNsec/ }, 'nsec of a whole second');
  t.throws(() => f(kq.fd, null, 0, ev, 4, 0.5, 0), TypeError);
  t.throws(() => f(kq.fd, [1, 2], 0, ev, 4, 0, 0), TypeError);
  t.throws(() => f(kq.fd, null, 0, new Uint32Array(9), 1, 0, 0), TypeError);
  t.throws(() => f(-1, null, 0, ev, 4, 0, 0), { pyType: 'ValueError', message: /negative/ });
  t.throws(() => f(kq.fd), TypeError);
  const wide = pack([{ ident: 0 }]);
  wide[L.filter] = 40000;
  t.throws(() => f(kq.fd, wide, 1, ev, 4, 0, 0), RangeError, 'filter beyond int16');
  wide[L.filter] = READ;
  wide[L.flags] = -1;
  t.throws(() => f(kq.fd, wide, 1, ev, 4, 0, 0), RangeError, 'flags beyond uint16');
  const [r, w] = os.pipe();
  t.throws(() => f(r, null, 0, ev, 4, 0, 0), { code: 'EBADF' }, 'a pipe is no kqueue');
  if (B.epoll_create1) {
    const ep = B.epoll_create1(0);
    t.throws(() => f(ep, null, 0, ev, 4, 0, 0), { code: 'EBADF' }, 'nor is a plain epoll');
    os.close(ep);
  }
  os.close(r);
  os.close(w);
  kq.close();
  t.throws(() => f(kq.fd, null, 0, ev, 4, 0, 0), { code: 'EBADF' }, 'a closed kqueue');
});

t.test('a misaligned view and many events at once', async (t) => {
  const kq = kqueue();
  const pipes = Array.from({ length: 300 }, () => os.pipe());
  const changes = pack(pipes.map(([r]) => ({ ident: r, filter: READ }))); // 300: past the stack buffers
  const buf = new ArrayBuffer(changes.byteLength + 4);
  const shifted = new Int32Array(buf, 4, changes.length);
  shifted.set(changes);
  const out = new Int32Array(new ArrayBuffer((300 * L.stride + 1) * 4), 4, 300 * L.stride);
  t.equal(B.kevent!(kq.fd, shifted, 300, out, 300, 0, 0), 0);
  for (const [, w] of pipes) os.write(w, Buffer.from('z'));
  t.equal(B.kevent!(kq.fd, null, 0, out, 300, 0, 0), 300, 'every pipe in one call, as BSD fills the eventlist');
  for (const [r, w] of pipes) {
    os.close(r);
    os.close(w);
  }
  kq.close();
});

t.test('a blocking wait ends at its timeout or at an event', async (t) => {
  const kq = kqueue();
  const t0 = performance.now();
  t.same(kev(kq.fd, [], 4, 0.05), []);
  t.ok(performance.now() - t0 >= 45, 'waited about 50 ms');
  const [r, w] = os.pipe();
  os.write(w, Buffer.from('q'));
  t.equal(kev(kq.fd, [{ ident: r, filter: READ }], 4, null).length, 1, 'no timeout: returns with the event');
  os.close(r);
  os.close(w);
  kq.close();
});

t.test('a regular file, which epoll refuses, is always ready', async (t) => {
  const kq = kqueue();
  const fd = fs.openSync(__filename, 'r');
  const size = fs.fstatSync(fd).size;
  const evs = kev(kq.fd, [{ ident: fd, filter: READ }, { ident: fd, filter: WRITE }], 4).sort((x, y) => y.filter - x.filter);
  t.match(evs, [{ ident: fd, filter: READ, data: size }, { ident: fd, filter: WRITE }]);
  t.ok(readable(kq.fd), 'the kqueue polls readable');
  fs.readSync(fd, Buffer.alloc(size), 0, size, null);
  t.same(kev(kq.fd, [{ ident: fd, filter: WRITE, flags: DELETE }], 4), [], 'at its end: nothing to read');
  t.notOk(readable(kq.fd));
  fs.closeSync(fd);
  kq.close();
});

t.test('EV_CLEAR beside a level-triggered knote on one socket: no spin, no loss', async (t) => {
  const kq = kqueue();
  const [a, b] = pair();
  binding.set_blocking(a, false);
  kev(kq.fd, [{ ident: a, filter: READ, flags: ADD | CLEAR }, { ident: a, filter: WRITE }], 0);
  os.write(b, Buffer.from('1234'));
  const first = kev(kq.fd, [], 4).sort((x, y) => y.filter - x.filter);
  t.match(first, [{ filter: READ, data: 4 }, { filter: WRITE }]);
  t.same(kev(kq.fd, [], 4).map((e) => e.filter), [WRITE], 'the level one again, the EV_CLEAR one not');
  // Fill a's send buffer: WRITE stops being ready.
  const chunk = Buffer.alloc(65536);
  for (;;) {
    try {
      if (binding.send(a, chunk, 0, chunk.length, 0) <= 0) break;
    } catch {
      break;
    }
  }
  kev(kq.fd, [], 4);
  t.same(kev(kq.fd, [], 4), [], 'nothing ready and nothing new');
  t.notOk(readable(kq.fd), 'and the kqueue is idle');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  t.same(kev(kq.fd, [], 4, 0.2), []);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  t.ok((cpu.user + cpu.system) / 1000 < wall / 2, `a blocking wait sleeps (${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU in ${wall.toFixed(0)} ms)`);
  os.write(b, Buffer.from('5'));
  t.match(kev(kq.fd, [], 4), [{ filter: READ, data: 5 }], 'new data: the EV_CLEAR one again');
  os.close(a);
  os.close(b);
  kq.close();
});

t.test("a listening socket's READ counts the connections waiting", async (t) => {
  const kq = kqueue();
  const srv = binding.socket(S.AF_INET!, S.SOCK_STREAM!, 0);
  binding.bind(srv, S.AF_INET!, '127.0.0.1', 0);
  binding.listen(srv, 8);
  const port = binding.getsockname(srv)[2];
  kev(kq.fd, [{ ident: srv, filter: READ }], 0);
  t.same(kev(kq.fd, [], 4), []);
  const clients = [0, 1].map(() => {
    const c = binding.socket(S.AF_INET!, S.SOCK_STREAM!, 0);
    binding.connect(c, S.AF_INET!, '127.0.0.1', port);
    return c;
  });
  t.match(kev(kq.fd, [], 4, 1), [{ ident: srv, filter: READ, data: 2 }], 'data: the accept queue, as on BSD');
  for (const c of clients) os.close(c);
  os.close(srv);
  kq.close();
});

t.test('a refused connect: WRITE with EV_EOF, the error left for SO_ERROR', async (t) => {
  const kq = kqueue();
  const probe = binding.socket(S.AF_INET!, S.SOCK_STREAM!, 0);
  binding.bind(probe, S.AF_INET!, '127.0.0.1', 0);
  const port = binding.getsockname(probe)[2];
  os.close(probe); // nothing listens there now
  const s = binding.socket(S.AF_INET!, S.SOCK_STREAM!, 0);
  binding.set_blocking(s, false);
  const err = binding.connect(s, S.AF_INET!, '127.0.0.1', port);
  t.ok(err === E.EINPROGRESS || err === E.ECONNREFUSED, `connect: ${err}`);
  if (err === E.EINPROGRESS) {
    const [ev] = kev(kq.fd, [{ ident: s, filter: WRITE }], 4, 2);
    t.match(ev, { ident: s, filter: WRITE, fflags: 0 });
    t.ok(ev!.flags & EOF, 'EV_EOF');
    // Linux reads a socket's error only by clearing it: the emulation leaves it.
    t.equal(binding.getsockopt_int(s, S.SOL_SOCKET!, S.SO_ERROR!), E.ECONNREFUSED, 'SO_ERROR still holds it');
  }
  os.close(s);
  kq.close();
});
