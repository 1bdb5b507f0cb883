// kqueue's PROC, VNODE and SIGNAL filters through @iomux/select. CPython's
// test_kqueue has no case for them; on Linux they run through the addon's
// emulation (pidfds, inotify, and Node's own signal listeners).
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import * as select from '@iomux/select';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectUntil } from '../../../test/support/gc.js';

checkNoFdLeak(t);

const skip = select.kqueue ? false : 'needs kqueue (BSD, macOS, or the Linux emulation)';
const kqueue = select.kqueue!;
const kevent = select.kevent!;
const PROC = select.KQ_FILTER_PROC!;
const NOTE_EXIT = select.KQ_NOTE_EXIT!;
const ADD = select.KQ_EV_ADD!;
const EOF = select.KQ_EV_EOF!;
const ONESHOT = select.KQ_EV_ONESHOT!;

/** A child that exits with `code` after `ms`; `exited` resolves once Node has reaped it. */
function child(code: number, ms: number): { pid: number; exited: Promise<void> } {
  const proc = spawn(process.execPath, ['-e', `setTimeout(() => process.exit(${code}), ${ms})`], { stdio: 'ignore' });
  return { pid: proc.pid!, exited: new Promise((r) => proc.once('exit', () => r())) };
}

t.test('PROC NOTE_EXIT: control() reports a child exit with its status', { skip }, async (t) => {
  using kq = kqueue();
  const { pid, exited } = child(3, 150);
  t.same(kq.control([kevent(pid, PROC, ADD, NOTE_EXIT, 0, 12)], 1, 0), []);
  const evs = kq.control(null, 4, 10);
  t.equal(evs.length, 1);
  const ev = evs[0]!;
  t.equal(Number(ev.ident), pid);
  t.equal(ev.filter, PROC);
  t.equal(ev.flags & (EOF | ONESHOT), EOF | ONESHOT, 'EV_EOF | EV_ONESHOT');
  t.equal((ev.fflags & NOTE_EXIT) >>> 0, NOTE_EXIT);
  t.equal(Number(ev.data) >> 8, 3, 'os.WEXITSTATUS(data) == 3');
  t.equal(Number(ev.udata), 12);
  t.same(kq.control(null, 4, 0), [], 'once');
  await exited;
});

t.test('PROC NOTE_EXIT: controlAsync() wakes on a child exit', { skip }, async (t) => {
  using kq = kqueue();
  const { pid, exited } = child(5, 50);
  const evs = await kq.controlAsync([kevent(pid, PROC, ADD, NOTE_EXIT)], 1, 10);
  t.equal(evs.length, 1);
  t.equal(Number(evs[0]!.ident), pid);
  // Node may reap the child before the look: the status then comes from
  // PIDFD_GET_INFO (Linux 6.15), or is 0 on an older kernel.
  const status = Number(evs[0]!.data);
  t.ok(status >> 8 === 5 || (kqueue.emulated && status === 0), `data ${status}`);
  await exited;
});

t.test('VNODE: a file written, extended, renamed and deleted', { skip }, async (t) => {
  using kq = kqueue();
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'iomux-select-kq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'watched');
  fs.writeFileSync(file, 'abc');
  const fd = fs.openSync(file, 'r+');
  const { KQ_FILTER_VNODE: VNODE, KQ_EV_CLEAR: CLEAR, KQ_NOTE_WRITE: WRITE, KQ_NOTE_EXTEND: EXTEND } = select as unknown as Record<string, number>;
  const { KQ_NOTE_DELETE: DELETE, KQ_NOTE_ATTRIB: ATTRIB, KQ_NOTE_RENAME: RENAME } = select as unknown as Record<string, number>;
  kq.control([kevent(fd, VNODE, ADD | CLEAR, DELETE | WRITE | EXTEND | ATTRIB | RENAME)], 0);
  const notes = (): number[] => kq.control(null, 4, 1).map((e) => e.fflags);
  fs.writeSync(fd, 'x', 0);
  t.same(notes(), [WRITE], 'written');
  fs.writeSync(fd, 'more', 3);
  t.same(notes(), [WRITE | EXTEND], 'extended');
  fs.renameSync(file, path.join(dir, 'moved'));
  t.same(notes(), [RENAME], 'renamed');
  fs.unlinkSync(path.join(dir, 'moved'));
  t.same(notes(), [DELETE], 'deleted');
  t.same(kq.control(null, 4, 0), [], 'each reported once (EV_CLEAR)');
  fs.closeSync(fd);
});

const SIGNAL = select.KQ_FILTER_SIGNAL!;
const SIGUSR2 = 12;
const emulated = skip || (kqueue.emulated ? false : 'the emulation only');

t.test('SIGNAL: SIGUSR2 reaches a process.on handler and the kqueue both', { skip }, async (t) => {
  using kq = kqueue();
  let heard = 0;
  const handler = (): void => void heard++;
  process.on('SIGUSR2', handler);
  t.teardown(() => void process.off('SIGUSR2', handler));
  kq.control([kevent(SIGUSR2, SIGNAL, ADD, 0, 0, 5)], 0);
  process.kill(process.pid, 'SIGUSR2');
  process.kill(process.pid, 'SIGUSR2');
  // Delivered through Node's loop on Linux: wait without blocking it.
  const evs = await kq.controlAsync(null, 4, 5);
  await new Promise((r) => setImmediate(r));
  const later = kq.control(null, 4, 0);
  const total = [...evs, ...later].reduce((sum, e) => sum + Number(e.data), 0);
  t.ok(heard >= 1, `Node's own handler ran (${heard} times)`);
  t.equal(total, heard, 'the kqueue counted every delivery the handler saw');
  t.match(evs[0], { ident: SIGUSR2, filter: SIGNAL, udata: 5 });
  t.equal(evs[0]!.flags & select.KQ_EV_CLEAR!, select.KQ_EV_CLEAR!, 'EV_CLEAR, set by the filter');
  t.same(kq.control(null, 4, 0), [], 'reported once');
});

t.test('SIGNAL (emulation): the feeding listener comes and goes with the filter', { skip: emulated }, async (t) => {
  const base = process.listenerCount('SIGUSR2');
  const kq = kqueue();
  kq.control([kevent(SIGUSR2, SIGNAL, ADD)], 0);
  t.equal(process.listenerCount('SIGUSR2'), base + 1, 'added with the filter');
  kq.control([kevent(SIGUSR2, SIGNAL, ADD)], 0);
  t.equal(process.listenerCount('SIGUSR2'), base + 1, 'once per signal');
  kq.control([kevent(SIGUSR2, SIGNAL, select.KQ_EV_DELETE!)], 0);
  t.equal(process.listenerCount('SIGUSR2'), base, 'removed with it');
  kq.control([kevent(SIGUSR2, SIGNAL, ADD | ONESHOT)], 0);
  t.equal(process.listenerCount('SIGUSR2'), base + 1);
  process.kill(process.pid, 'SIGUSR2');
  const evs = await kq.controlAsync(null, 1, 5);
  t.equal(evs.length, 1);
  t.equal(process.listenerCount('SIGUSR2'), base, 'EV_ONESHOT: gone after its report');
  kq.control([kevent(SIGUSR2, SIGNAL, ADD), kevent(10, SIGNAL, ADD)], 0);
  t.equal(process.listenerCount('SIGUSR1'), 1);
  kq.close();
  t.equal(process.listenerCount('SIGUSR2') + process.listenerCount('SIGUSR1'), base, 'and with close()');
});

t.test('SIGNAL (emulation): a kqueue collected without close() lets go of its listeners', { skip: emulated }, async (t) => {
  const base = process.listenerCount('SIGUSR2');
  (() => {
    const kq = kqueue();
    kq.control([kevent(SIGUSR2, SIGNAL, ADD)], 0);
  })();
  t.equal(process.listenerCount('SIGUSR2'), base + 1);
  await collectUntil(() => process.listenerCount('SIGUSR2') === base);
  t.equal(process.listenerCount('SIGUSR2'), base, 'gone after the collection');
});

t.test('SIGNAL (emulation): SIGKILL and SIGSTOP, which no handler hears, are EINVAL', { skip: emulated }, async (t) => {
  using kq = kqueue();
  for (const signo of [9, 19]) {
    t.throws(() => kq.control([kevent(signo, SIGNAL, ADD)], 0), { name: 'OSError', message: '[Errno 22] Invalid argument', errno: 22 }, `signal ${signo}`);
  }
  const [err] = kq.control([kevent(9, SIGNAL, ADD)], 1);
  t.match(err, { ident: 9, flags: select.KQ_EV_ERROR!, data: 22 }, 'or an error event when there is room');
});
