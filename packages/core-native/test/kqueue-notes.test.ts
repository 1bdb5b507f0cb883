// PROC, VNODE and SIGNAL through the raw kqueue binding (native/kqueue.cc;
// on Linux pidfds, inotify and kqueue_signal_post in native/kqueue-linux*.cc).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { errnoConstants } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { K, kev, kqueue, readable, sleep } from './kqueue-support.js';

checkNoFdLeak(t);

const E = errnoConstants as Readonly<Record<string, number>>;
const { KQ_FILTER_PROC: PROC, KQ_NOTE_EXIT: EXIT, KQ_EV_ADD: ADD, KQ_EV_DELETE: DELETE, KQ_EV_DISABLE: DISABLE } = K as Record<string, number>;
const { KQ_EV_ENABLE: ENABLE, KQ_EV_ONESHOT: ONESHOT, KQ_EV_EOF: EOF, KQ_EV_ERROR: ERROR } = K as Record<string, number>;

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
