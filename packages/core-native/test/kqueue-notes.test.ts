// PROC, VNODE and SIGNAL through the raw kqueue binding (native/kqueue.cc;
// on Linux pidfds, inotify and kqueue_signal_post in native/kqueue-linux*.cc).
// The SIGNAL listeners that feed the emulation are @iomux/select's.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { errnoConstants, os } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { B, K, kev, kqueue, readable, sleep } from './kqueue-support.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const { KQ_FILTER_PROC: PROC, KQ_NOTE_EXIT: EXIT, KQ_EV_ADD: ADD, KQ_EV_DELETE: DELETE, KQ_EV_DISABLE: DISABLE } = K as Record<string, number>;
const { KQ_EV_ENABLE: ENABLE, KQ_EV_ONESHOT: ONESHOT, KQ_EV_EOF: EOF, KQ_EV_ERROR: ERROR, KQ_EV_CLEAR: CLEAR } = K as Record<string, number>;
const { KQ_FILTER_VNODE: VNODE, KQ_NOTE_DELETE: NDELETE, KQ_NOTE_WRITE: NWRITE, KQ_NOTE_EXTEND: NEXTEND } = K as Record<string, number>;
const { KQ_NOTE_ATTRIB: NATTRIB, KQ_NOTE_LINK: NLINK, KQ_NOTE_RENAME: NRENAME, KQ_NOTE_REVOKE: NREVOKE } = K as Record<string, number>;
const ALL = NDELETE | NWRITE | NEXTEND | NATTRIB | NLINK | NRENAME;

/** A child that exits with `code` after `ms`, and a promise of libuv's reaping it. */
function child(code: number, ms: number): { proc: ChildProcess; reaped: Promise<void> } {
  const proc = spawn(process.execPath, ['-e', `setTimeout(() => process.exit(${code}), ${ms})`], { stdio: 'ignore' });
  return { proc, reaped: new Promise((r) => proc.once('exit', () => r())) };
}

t.test('PROC NOTE_EXIT: a child exits; EV_EOF | EV_ONESHOT, data its wait status', async (t) => {
  const kq = kqueue();
  const { proc, reaped } = child(3, 150);
  const pid = proc.pid!;
  t.same(kev(kq.fd, [{ ident: pid, filter: PROC, flags: ADD, fflags: EXIT, udata: 77 }], 4), [], 'alive: nothing yet');
  // A blocking wait holds the JS thread, so libuv cannot reap the child first.
  const evs = kev(kq.fd, [], 4, 10);
  t.equal(evs.length, 1);
  const [ev] = evs;
  t.match(ev, { ident: pid, filter: PROC, udata: 77 });
  t.equal(ev!.flags & (EOF | ONESHOT), EOF | ONESHOT, 'EV_EOF | EV_ONESHOT');
  t.equal((ev!.fflags & EXIT) >>> 0, EXIT, 'NOTE_EXIT');
  t.equal(ev!.data, 3 << 8, 'WEXITSTATUS(data) is 3');
  t.same(kev(kq.fd, [], 4), [], 'reported once');
  t.notOk(readable(kq.fd));
  t.match(kev(kq.fd, [{ ident: pid, filter: PROC, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'EV_ONESHOT deleted it');
  await reaped;
  kq.close();
});

t.test('PROC: a child killed and reaped before the look; then ESRCH', async (t) => {
  const kq = kqueue();
  const { proc, reaped } = child(0, 60_000);
  const pid = proc.pid!;
  kev(kq.fd, [{ ident: pid, filter: PROC, flags: ADD | DISABLE, fflags: EXIT }], 0);
  proc.kill('SIGKILL');
  await reaped; // libuv has reaped it: waitid() no longer can
  t.same(kev(kq.fd, [], 4), [], 'disabled: silent');
  t.notOk(readable(kq.fd), 'and the kqueue is not readable');
  const [ev] = kev(kq.fd, [{ ident: pid, filter: PROC, flags: ENABLE }], 4);
  t.match(ev, { ident: pid, filter: PROC, fflags: EXIT });
  // PIDFD_GET_INFO (Linux 6.15) still has the status after the reaping; older kernels give 0.
  t.ok(ev!.data === 9 || ev!.data === 0, `data ${ev!.data}: SIGKILL's status, or 0 where the kernel has none`);
  t.match(kev(kq.fd, [{ ident: pid, filter: PROC, flags: ADD, fflags: EXIT }], 1), [{ ident: pid, flags: ERROR, data: E.ESRCH }], 'gone: ESRCH');
  kq.close();
});

t.test('PROC: bad notes, pids and deletion', async (t) => {
  const kq = kqueue();
  const self = process.pid;
  for (const note of ['KQ_NOTE_FORK', 'KQ_NOTE_EXEC', 'KQ_NOTE_TRACK']) {
    t.match(kev(kq.fd, [{ ident: self, filter: PROC, flags: ADD, fflags: EXIT | K[note]! }], 1), [{ flags: ERROR, data: E.EINVAL }], `${note}: not emulated`);
  }
  t.match(kev(kq.fd, [{ ident: self, filter: PROC, flags: ADD, fflags: 0x10 }], 1), [{ flags: ERROR, data: E.EINVAL }], 'an unknown bit');
  for (const pid of [0, 2 ** 31, 2 ** 40, 4_194_305]) {
    t.match(kev(kq.fd, [{ ident: pid, filter: PROC, flags: ADD, fflags: EXIT }], 1), [{ flags: ERROR, data: E.ESRCH }], `pid ${pid}: ESRCH`);
  }
  t.match(kev(kq.fd, [{ ident: self, filter: PROC, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'delete before add');
  kev(kq.fd, [{ ident: self, filter: PROC, flags: ADD, fflags: EXIT }], 0);
  kev(kq.fd, [{ ident: self, filter: PROC, flags: ADD, fflags: EXIT, udata: 4 }], 0);
  t.same(kev(kq.fd, [], 4), [], 'our own process: never fires here');
  kev(kq.fd, [{ ident: self, filter: PROC, flags: DELETE }], 0);
  t.match(kev(kq.fd, [{ ident: self, filter: PROC, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'deleted');
  kq.close();
});

t.test('PROC without NOTE_EXIT: the knote goes away unreported, as FreeBSD drops it', async (t) => {
  const kq = kqueue();
  const { proc, reaped } = child(0, 50);
  kev(kq.fd, [{ ident: proc.pid!, filter: PROC, flags: ADD, fflags: 0 }], 0);
  await reaped;
  await sleep(10);
  t.same(kev(kq.fd, [], 4), []);
  t.match(kev(kq.fd, [{ ident: proc.pid!, filter: PROC, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }]);
  kq.close();
});

/** A fresh temporary directory, removed at the end of the test. */
function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'iomux-kq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('VNODE: a file written, extended, changed, linked, renamed and deleted', async (t) => {
  const kq = kqueue();
  const dir = tempDir(t);
  const file = path.join(dir, 'a');
  fs.writeFileSync(file, 'abc');
  const fd = fs.openSync(file, 'r+');
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ADD | CLEAR, fflags: ALL, udata: 3 }], 0);
  t.same(kev(kq.fd, [], 4), [], 'nothing yet');
  t.notOk(readable(kq.fd));
  const step = (what: string, act: () => void, fflags: number): void => {
    act();
    t.ok(readable(kq.fd), `${what}: the kqueue is readable`);
    t.same(kev(kq.fd, [], 4), [{ ident: fd, filter: VNODE, flags: CLEAR, fflags, data: 0, udata: 3 }], what);
    t.same(kev(kq.fd, [], 4), [], `${what}: EV_CLEAR reports it once`);
  };
  step('written in place', () => fs.writeSync(fd, 'x', 0), NWRITE);
  step('extended', () => fs.writeSync(fd, 'defg', 3), NWRITE | NEXTEND);
  step('chmod', () => fs.fchmodSync(fd, 0o600), NATTRIB);
  step('a hard link', () => fs.linkSync(file, path.join(dir, 'b')), NLINK);
  step('renamed', () => fs.renameSync(file, path.join(dir, 'c')), NRENAME);
  step('the link removed', () => fs.unlinkSync(path.join(dir, 'b')), NDELETE);
  // Two writes before a look: the notes accumulate into one report.
  fs.writeSync(fd, 'y', 0);
  fs.fchmodSync(fd, 0o644);
  t.same(kev(kq.fd, [], 4), [{ ident: fd, filter: VNODE, flags: CLEAR, fflags: NWRITE | NATTRIB, data: 0, udata: 3 }], 'accumulated');
  step('deleted (still open)', () => fs.unlinkSync(path.join(dir, 'c')), NDELETE);
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: DELETE }], 0);
  fs.closeSync(fd);
  kq.close();
});

t.test('VNODE: only the notes asked for; level without EV_CLEAR; disable; a directory', async (t) => {
  const kq = kqueue();
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, '');
  const fd = fs.openSync(file, 'r+');
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ADD, fflags: NEXTEND }], 0);
  fs.fchmodSync(fd, 0o600);
  t.same(kev(kq.fd, [], 4), [], 'NOTE_ATTRIB not asked for');
  fs.writeSync(fd, 'more', 0);
  t.match(kev(kq.fd, [], 4), [{ ident: fd, fflags: NEXTEND, flags: 0 }], 'NOTE_EXTEND alone (NOTE_WRITE not asked for)');
  t.match(kev(kq.fd, [], 4), [{ ident: fd, fflags: NEXTEND }], 'without EV_CLEAR it stays active, as on FreeBSD');
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: DISABLE }], 0);
  t.same(kev(kq.fd, [], 4), [], 'disabled');
  t.notOk(readable(kq.fd));
  t.match(kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ENABLE }], 4), [{ fflags: NEXTEND }], 'enabled: still pending');
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ADD, fflags: NWRITE | NEXTEND }], 0);
  t.match(kev(kq.fd, [], 4), [{ fflags: NEXTEND }], 'EV_ADD again keeps what is pending');
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: DELETE }, { ident: fd, filter: VNODE, flags: ADD | ONESHOT, fflags: NWRITE }], 0);
  fs.writeSync(fd, 'z', 0);
  t.match(kev(kq.fd, [], 4), [{ fflags: NWRITE, flags: ONESHOT }]);
  t.match(kev(kq.fd, [{ ident: fd, filter: VNODE, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'EV_ONESHOT deleted it');
  const dfd = fs.openSync(dir, 'r');
  kev(kq.fd, [{ ident: dfd, filter: VNODE, flags: ADD | CLEAR, fflags: ALL }], 0);
  fs.writeFileSync(path.join(dir, 'new'), '');
  t.match(kev(kq.fd, [], 4), [{ ident: dfd, fflags: NWRITE }], 'a directory: an entry created');
  fs.mkdirSync(path.join(dir, 'sub'));
  t.match(kev(kq.fd, [], 4), [{ ident: dfd, fflags: NWRITE | NLINK }], 'a subdirectory: its link count');
  fs.closeSync(dfd);
  fs.closeSync(fd);
  kq.close();
});

t.test('VNODE: bad notes and descriptors', async (t) => {
  const kq = kqueue();
  const dir = tempDir(t);
  const fd = fs.openSync(path.join(dir, 'g'), 'w');
  const [r, w] = os.pipe();
  const einval = [{ flags: ERROR, data: E.EINVAL }];
  t.match(kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ADD, fflags: NWRITE | NREVOKE }], 1), einval, 'NOTE_REVOKE: not emulated');
  t.match(kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ADD, fflags: 0x100 }], 1), einval, 'an unknown bit');
  t.match(kev(kq.fd, [{ ident: r, filter: VNODE, flags: ADD, fflags: NWRITE }], 1), einval, 'a pipe');
  t.match(kev(kq.fd, [{ ident: 100_000, filter: VNODE, flags: ADD, fflags: NWRITE }], 1), [{ flags: ERROR, data: E.EBADF }], 'not open');
  t.match(kev(kq.fd, [{ ident: 2 ** 40, filter: VNODE, flags: ADD, fflags: NWRITE }], 1), [{ flags: ERROR, data: E.EBADF }], 'out of range');
  t.match(kev(kq.fd, [{ ident: fd, filter: VNODE, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'never added');
  // Two knotes on one file share an inotify watch; deleting one keeps the other.
  const fd2 = fs.openSync(path.join(dir, 'g'), 'r');
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: ADD | CLEAR, fflags: NATTRIB }, { ident: fd2, filter: VNODE, flags: ADD | CLEAR, fflags: NATTRIB }], 0);
  kev(kq.fd, [{ ident: fd, filter: VNODE, flags: DELETE }], 0);
  fs.fchmodSync(fd, 0o640);
  t.match(kev(kq.fd, [], 4), [{ ident: fd2, fflags: NATTRIB }], 'the other still sees it');
  for (const x of [fd, fd2, r, w]) fs.closeSync(x);
  kq.close();
});

const LINUX = process.platform === 'linux';
const SIGNAL = K.KQ_FILTER_SIGNAL!;

t.test('SIGNAL (emulation): posted deliveries are counted; EV_CLEAR is set', { skip: !LINUX && 'Linux only' }, async (t) => {
  const kq = kqueue();
  t.same(B.kqueue_signals!(kq.fd)!.slice(1), [], 'no SIGNAL filter yet');
  const cookie = B.kqueue_signals!(kq.fd)![0]!;
  t.equal(B.kqueue_signal_post!(kq.fd, cookie, 12), 0, 'nothing asks for it');
  kev(kq.fd, [{ ident: 12, filter: SIGNAL, flags: ADD, udata: 8 }, { ident: 1, filter: SIGNAL, flags: ADD }], 0);
  t.same(B.kqueue_signals!(kq.fd), [cookie, 1, 12]);
  t.same(kev(kq.fd, [], 4), []);
  t.equal(B.kqueue_signal_post!(kq.fd, cookie, 12), 1);
  t.equal(B.kqueue_signal_post!(kq.fd, cookie, 12), 1);
  t.ok(readable(kq.fd), 'a posted signal makes the kqueue readable');
  t.same(kev(kq.fd, [], 4), [{ ident: 12, filter: SIGNAL, flags: CLEAR, fflags: 0, data: 2, udata: 8 }], 'data counts deliveries');
  t.same(kev(kq.fd, [], 4), [], 'counted since the last report');
  t.notOk(readable(kq.fd));
  t.equal(B.kqueue_signal_post!(kq.fd, cookie + 1, 12), -1, 'another cookie: not this kqueue');
  kev(kq.fd, [{ ident: 12, filter: SIGNAL, flags: DISABLE }], 0);
  B.kqueue_signal_post!(kq.fd, cookie, 12);
  t.same(kev(kq.fd, [], 4), [], 'disabled: silent');
  t.match(kev(kq.fd, [{ ident: 12, filter: SIGNAL, flags: ENABLE }], 4), [{ ident: 12, data: 1 }], 'but it kept counting');
  kev(kq.fd, [{ ident: 1, filter: SIGNAL, flags: ADD | ONESHOT }], 0);
  B.kqueue_signal_post!(kq.fd, cookie, 1);
  t.match(kev(kq.fd, [], 4), [{ ident: 1, data: 1 }]);
  t.same(B.kqueue_signals!(kq.fd), [cookie, 1, 12], 'EV_ONESHOT on an existing knote changes nothing (FreeBSD)');
  kev(kq.fd, [{ ident: 12, filter: SIGNAL, flags: DELETE }, { ident: 1, filter: SIGNAL, flags: DELETE }], 0);
  t.same(B.kqueue_signals!(kq.fd), [cookie]);
  kq.close();
  t.equal(B.kqueue_signals!(kq.fd), null, 'closed: no state');
  t.equal(B.kqueue_signal_post!(kq.fd, cookie, 12), -1);
});

t.test('SIGNAL: bad idents', { skip: !LINUX && "the emulation's limits" }, async (t) => {
  const kq = kqueue();
  for (const [ident, why] of [[0, 'zero'], [9, 'SIGKILL'], [19, 'SIGSTOP'], [32, 'beyond 31'], [2 ** 40, 'huge']] as const) {
    t.match(kev(kq.fd, [{ ident, filter: SIGNAL, flags: ADD }], 1), [{ flags: ERROR, data: E.EINVAL }], `${why}: EINVAL`);
  }
  t.match(kev(kq.fd, [{ ident: 10, filter: SIGNAL, flags: DELETE }], 1), [{ flags: ERROR, data: E.ENOENT }], 'never added');
  t.throws(() => B.kqueue_signal_post!(kq.fd, 0, 0), { name: 'RangeError', message: /integer/, pyType: 'OverflowError' }, 'signo 0');
  t.throws(() => B.kqueue_signal_post!(kq.fd, -1, 10), { name: 'RangeError', message: /integer/, pyType: 'OverflowError' }, 'a negative cookie');
  t.throws(() => B.kqueue_signal_post!(kq.fd, 0.5, 10), TypeError, 'a fractional cookie');
  t.throws(() => B.kqueue_signals!(-1), 'a bad descriptor');
  const [r, w] = os.pipe();
  t.equal(B.kqueue_signals!(r), null, 'a pipe is no kqueue');
  t.equal(B.kqueue_signal_post!(r, 0, 10), -1);
  os.close(r);
  os.close(w);
  kq.close();
});
