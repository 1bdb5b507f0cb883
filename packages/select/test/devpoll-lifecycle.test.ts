// devpoll's share of the leak tests (kqueue-lifecycle.test.ts does
// kqueue's): descriptors and memory over many create/close and
// register/unregister cycles, garbage collection of abandoned devpoll
// objects (and, through the Linux emulation, of the state it keeps with the
// descriptor), and devpolls in worker threads ended normally or by
// terminate(). Every test checks /proc/self/fd.
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
const skip = select.devpoll ? false : 'needs /dev/poll (illumos, Solaris, or the Linux emulation)';
const devpoll = select.devpoll!;
const { POLLIN, POLLOUT } = select;
const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);
// Under npm run test:asan, RSS holds ASan's quarantine of freed memory: the bounds hold in normal runs only.
const rssBound = (mib: number): number => (process.env.ASAN_OPTIONS === undefined ? mib : Infinity);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const count = (binding as { devpoll_count?: () => number }).devpoll_count;
/** Devpolls whose emulated state the addon holds (Linux); 0 where /dev/poll is native. */
const states = (): number => count?.() ?? 0;

t.test('a SIGUSR1 storm during a 300 ms poll(): no early return, no error (PEP 475)', { skip }, async (t) => {
  let hits = 0;
  // A listener is required: without one, SIGUSR1 starts Node's inspector.
  const onSignal = (): void => void hits++;
  process.on('SIGUSR1', onSignal);
  // Count the EINTRs the native call reports (and iomux retries).
  const raw = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = raw.devpoll_poll!;
  let eintr = 0;
  raw.devpoll_poll = (...a: unknown[]) => {
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
  const dp = devpoll();
  t.teardown(() => {
    raw.devpoll_poll = saved;
    process.removeListener('SIGUSR1', onSignal);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    dp.close();
    os.close(r);
    os.close(w);
  });
  for (let i = 0; i < 500 && hits === 0; i++) await sleep(10);
  t.ok(hits > 0, 'the storm has started');
  dp.register(r, POLLIN);
  const t0 = performance.now();
  const events = dp.poll(300);
  const elapsed = performance.now() - t0;
  t.same(events, [], 'nothing ready');
  t.ok(elapsed >= 300, `returned after ${elapsed.toFixed(3)} ms (>= 300)`);
  t.ok(elapsed < 1500, 'and not absurdly late');
  t.ok(eintr > 0, `devpoll_poll saw EINTR ${eintr} times and was retried`);
  os.write(w, Buffer.from('x'));
  t.same(dp.poll(0), [[r, POLLIN]], 'the registration was written once and stays');
  child.kill('SIGKILL');
  await once(child, 'exit');
});

t.test('GC closes an abandoned devpoll object and what it watched stays open', { skip }, async (t) => {
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
    const dp = devpoll();
    dp.register(r, POLLIN);
    dp.register(w, POLLOUT);
    dp.poll(0);
    dp.register(r, POLLOUT); // still buffered when it is dropped
    fd = dp.fileno();
  })();
  t.equal(binding.fdhandle_open_count(), before + 1, 'owned by a handle');
  await collectUntil(() => binding.fdhandle_open_count() === before && !isOpen(fd));
  t.notOk(isOpen(fd), `descriptor ${fd} is gone`);
  t.equal(fdCount(), start);
  t.equal(states(), held, 'and the emulated state itself');
  t.ok(isOpen(r) && isOpen(w), 'the watched pipe is untouched');
});

t.test('GC closes 1,000 abandoned devpoll objects', { skip }, async (t) => {
  const before = binding.fdhandle_open_count();
  const held = states();
  const start = fdCount();
  (() => {
    for (let i = 0; i < 1000; i++) devpoll();
  })();
  t.equal(binding.fdhandle_open_count(), before + 1000);
  await collectUntil(() => binding.fdhandle_open_count() === before && fdCount() === start);
  t.equal(fdCount(), start);
  t.equal(states(), held, 'and their emulated state');
});

t.test('50,000 devpoll create/register/poll/close cycles leave descriptors and memory unchanged', { skip }, async (t) => {
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  const start = fdCount();
  const handles = binding.fdhandle_open_count();
  const held = states();
  // Batches with the loop turning between them: finalizers run from the loop.
  const batches = async (n: number): Promise<void> => {
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < 5_000; i++) {
        const dp = devpoll();
        dp.register(r, POLLIN);
        dp.register(w, POLLOUT);
        dp.poll(0);
        dp.close();
      }
      gc();
      await sleep(5);
    }
  };
  await batches(2); // warms up the allocator
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  await batches(10);
  const ms = performance.now() - t0;
  gc();
  await sleep(20);
  const grew = (process.memoryUsage().rss - rss0) / 1024 / 1024;
  t.comment(`50,000 devpoll() cycles: ${ms.toFixed(0)} ms, RSS ${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MiB`);
  t.equal(fdCount(), start);
  t.equal(binding.fdhandle_open_count(), handles);
  t.equal(states(), held, 'no emulated state left');
  t.ok(grew < rssBound(8), `RSS grew by less than 8 MiB (${grew.toFixed(1)})`);
});

t.test('200,000 register/unregister cycles on one devpoll', { skip }, async (t) => {
  const [r, w] = os.pipe();
  const dp = devpoll();
  t.teardown(() => {
    dp.close();
    os.close(r);
    os.close(w);
  });
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 200_000; i++) {
    dp.register(r, POLLIN);
    dp.unregister(r);
    if (i % 1000 === 0) dp.poll(0);
  }
  t.same(dp.poll(0), [], 'nothing left registered');
  gc();
  const grew = (process.memoryUsage().rss - rss0) / 1024 / 1024;
  t.ok(grew < rssBound(16), `RSS grew by less than 16 MiB (${grew.toFixed(1)})`);
  dp.register(w, POLLOUT);
  t.same(dp.poll(0), [[w, POLLOUT]], 'still works afterwards');
});

pollerWorkerTests(
  t,
  {
    name: 'devpoll',
    make: '((dp) => (dp.register(r, select.POLLIN), dp))(select.devpoll())',
    ready: 'p.poll(1000).map((e) => e[0])',
    waitAsync: 'p.pollAsync()',
  },
  'pollAsync()',
  skip,
  initialFds,
);
