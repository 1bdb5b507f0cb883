// kqueue's share of the leak tests (lifecycle.test.ts does epoll's):
// descriptors and memory over many create/close and change cycles, garbage
// collection of abandoned kqueue objects (and, through the emulation, of
// the state it keeps with the descriptor), and kqueues in worker threads
// ended normally or by terminate(). Every test checks /proc/self/fd.
import t from 'tap';
import * as fs from 'node:fs';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import * as select from '@iomux/select';
import { binding, os } from '@iomux/core-native';
import { checkNoFdLeak, fdCount, openFds } from '../../../test/support/fds.js';
import { collectUntil, gc } from '../../../test/support/gc.js';
import { pollerWorkerTests } from './poller-workers.js';

checkNoFdLeak(t);
const initialFds = openFds();
const skip = select.kqueue ? false : 'needs kqueue (BSD, macOS, or the Linux emulation)';
const kqueue = select.kqueue!;
const kevent = select.kevent!;
const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);
// Under npm run test:asan, RSS holds ASan's quarantine of freed memory
// (up to 256 MiB), not leaks: the RSS bounds hold in normal runs only.
const rssBound = (mib: number): number => (process.env.ASAN_OPTIONS === undefined ? mib : Infinity);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Kqueues whose emulated state the addon holds (Linux); 0 where kqueue is native. */
const states = (): number => binding.kqueue_count?.() ?? 0;

t.test('a SIGUSR1 storm during a 300 ms control(): no early return, no error (PEP 475)', { skip }, async (t) => {
  let hits = 0;
  // A listener is required: without one, SIGUSR1 starts Node's inspector.
  const onSignal = (): void => void hits++;
  process.on('SIGUSR1', onSignal);
  // Count the EINTRs the native call reports (and iomux retries).
  const raw = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = raw.kevent!;
  let eintr = 0;
  raw.kevent = (...a: unknown[]) => {
    try {
      return saved(...a);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'EINTR') eintr++;
      throw e;
    }
  };
  const child = spawn(
    process.execPath,
    ['-e', `const p = process.ppid; setInterval(() => { try { process.kill(p, 'SIGUSR1'); } catch { process.exit(0); } }, 2); setTimeout(() => process.exit(0), 20000);`],
    { stdio: 'ignore' },
  );
  const [r, w] = os.pipe();
  const kq = kqueue();
  t.teardown(() => {
    raw.kevent = saved;
    process.removeListener('SIGUSR1', onSignal);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    kq.close();
    os.close(r);
    os.close(w);
  });
  for (let i = 0; i < 500 && hits === 0; i++) await sleep(10);
  t.ok(hits > 0, 'the storm has started');
  const t0 = performance.now();
  const events = kq.control([kevent(r)], 4, 0.3);
  const elapsed = performance.now() - t0;
  t.same(events, [], 'nothing ready');
  t.ok(elapsed >= 300, `returned after ${elapsed.toFixed(3)} ms (>= 300)`);
  t.ok(elapsed < 1500, 'and not absurdly late');
  t.ok(eintr > 0, `kevent saw EINTR ${eintr} times and was retried`);
  os.write(w, Buffer.from('x'));
  t.equal(kq.control(null, 4, 0).length, 1, 'the change was applied once and stays');
  child.kill('SIGKILL');
  await once(child, 'exit');
});

t.test('GC closes an abandoned kqueue object and what it watched stays open', { skip }, async (t) => {
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  const before = binding.fdhandle_open_count();
  const start = fdCount();
  const held = states();
  let fd = -1;
  (() => {
    const kq = kqueue();
    kq.control([kevent(r), kevent(w, select.KQ_FILTER_WRITE!), kevent(1, select.KQ_FILTER_TIMER!, select.KQ_EV_ADD!, 0, 1000)], 0);
    fd = kq.fileno();
  })();
  t.equal(binding.fdhandle_open_count(), before + 1, 'owned by a handle');
  await collectUntil(() => binding.fdhandle_open_count() === before && !isOpen(fd));
  t.notOk(isOpen(fd), `descriptor ${fd} is gone`);
  t.equal(fdCount(), start, 'and so is every descriptor its state held (a timer)');
  t.equal(states(), held, 'and the emulated state itself');
  t.ok(isOpen(r) && isOpen(w), 'the watched pipe is untouched');
});

/** PROC (this process), VNODE (the working directory) and SIGNAL (SIGUSR2) filters on kq. */
function addNotes(kq: select.Kqueue): void {
  const dir = fs.openSync(process.cwd(), 'r');
  try {
    kq.control(
      [
        kevent(process.pid, select.KQ_FILTER_PROC!, select.KQ_EV_ADD!, select.KQ_NOTE_EXIT!),
        kevent(dir, select.KQ_FILTER_VNODE!, select.KQ_EV_ADD!, select.KQ_NOTE_WRITE!),
        kevent(12, select.KQ_FILTER_SIGNAL!, select.KQ_EV_ADD!),
      ],
      0,
    );
  } finally {
    fs.closeSync(dir); // the filter outlives it, as its inotify watch does
  }
}

t.test('PROC, VNODE and SIGNAL filters: closed or collected, they leave nothing', { skip }, async (t) => {
  const start = fdCount();
  const held = states();
  const listeners = process.listenerCount('SIGUSR2');
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) {
    const kq = kqueue();
    addNotes(kq);
    kq.close();
  }
  t.comment(`500 kqueues with PROC, VNODE and SIGNAL filters: ${(performance.now() - t0).toFixed(0)} ms`);
  t.equal(fdCount(), start, 'closed 500 times: descriptors (pidfds, inotify)');
  t.equal(states(), held, 'emulated states');
  t.equal(process.listenerCount('SIGUSR2'), listeners, 'SIGNAL listeners');
  (() => {
    for (let i = 0; i < 20; i++) addNotes(kqueue());
  })();
  if (select.kqueue?.emulated) t.equal(process.listenerCount('SIGUSR2'), listeners + 20, 'one listener per kqueue');
  await collectUntil(() => fdCount() === start && process.listenerCount('SIGUSR2') === listeners);
  t.equal(states(), held, 'collected: emulated states');
  t.equal(process.listenerCount('SIGUSR2'), listeners, 'and their listeners');
});

t.test('GC closes 1,000 abandoned kqueue objects', { skip }, async (t) => {
  const before = binding.fdhandle_open_count();
  const held = states();
  const start = fdCount();
  (() => {
    for (let i = 0; i < 1000; i++) kqueue();
  })();
  t.equal(binding.fdhandle_open_count(), before + 1000);
  await collectUntil(() => binding.fdhandle_open_count() === before && fdCount() === start);
  t.equal(fdCount(), start);
  t.equal(states(), held, 'and their emulated state');
});

t.test('100,000 kqueue create/close cycles leave descriptors and memory unchanged', { skip }, async (t) => {
  const start = fdCount();
  const handles = binding.fdhandle_open_count();
  const held = states();
  // Batches with the loop turning between them: a handle's finalizer runs
  // after a collection, from the loop, not inside a synchronous run.
  const batches = async (n: number): Promise<void> => {
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < 10_000; i++) kqueue().close();
      gc();
      await sleep(5);
    }
  };
  await batches(3); // warms up the allocator
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  await batches(10);
  const ms = performance.now() - t0;
  gc();
  await sleep(20);
  const grew = (process.memoryUsage().rss - rss0) / 1024 / 1024;
  t.comment(`100,000 kqueue()/close(): ${ms.toFixed(0)} ms, RSS ${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MiB`);
  t.equal(fdCount(), start);
  t.equal(binding.fdhandle_open_count(), handles);
  t.equal(states(), held, 'no emulated state left');
  t.ok(grew < rssBound(8), `RSS grew by less than 8 MiB (${grew.toFixed(1)})`);
});

t.test('200,000 add/delete cycles of a read filter, with a timer among them', { skip }, async (t) => {
  const [r, w] = os.pipe();
  using kq = kqueue();
  const add = [kevent(r)];
  const del = [kevent(r, select.KQ_FILTER_READ!, select.KQ_EV_DELETE!)];
  const timerOn = [kevent(7, select.KQ_FILTER_TIMER!, select.KQ_EV_ADD!, 0, 60_000)];
  const timerOff = [kevent(7, select.KQ_FILTER_TIMER!, select.KQ_EV_DELETE!)];
  const start = fdCount();
  gc();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) {
    kq.control(add, 0);
    kq.control(del, 0);
    kq.control(timerOn, 0);
    kq.control(timerOff, 0);
  }
  const ms = performance.now() - t0;
  gc();
  const grew = (process.memoryUsage().rss - rss0) / 1024 / 1024;
  t.comment(`200,000 read and 200,000 timer changes: ${ms.toFixed(0)} ms, RSS ${grew.toFixed(1)} MiB`);
  t.equal(fdCount(), start, 'no descriptor left behind (the timers are gone)');
  t.ok(grew < rssBound(32), `RSS grew by less than 32 MiB (${grew.toFixed(1)})`);
  kq.control([kevent(w, select.KQ_FILTER_WRITE!)], 0);
  t.same(
    kq.control(null, 4, 0).map((e) => [e.ident, e.filter]),
    [[w, select.KQ_FILTER_WRITE]],
    'still works afterwards, with only the last registration',
  );
  os.close(r);
  os.close(w);
});

pollerWorkerTests(
  t,
  {
    name: 'kqueue',
    make: '((kq) => (kq.control([select.kevent(r)], 0), kq))(select.kqueue())',
    ready: 'p.control(null, 4, 1).map((e) => e.ident)',
    waitAsync: 'p.controlAsync(null, 1)',
  },
  'controlAsync()',
  skip,
  initialFds,
);
