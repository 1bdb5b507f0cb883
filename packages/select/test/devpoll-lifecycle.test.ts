// devpoll's share of the leak tests (kqueue-lifecycle.test.ts does
// kqueue's): descriptors and memory over many create/close and
// register/unregister cycles, garbage collection of abandoned devpoll
// objects (and, through the Linux emulation, of the state it keeps with the
// descriptor), and devpolls in worker threads ended normally or by
// terminate(). Every test checks /proc/self/fd.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import * as select from '@iomux/select';
import { binding, os } from '@iomux/core-native';
import { checkNoFdLeak, fdCount, openFds } from '../../../test/support/fds.js';
import { collectUntil, gc } from '../../../test/support/gc.js';
import { nextMessage, settledFds } from '../../../test/support/workers.js';

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

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const select = require(workerData.select);
const { binding } = require(workerData.core);
const { rs, ws, mode } = workerData;
const dps = rs.map((r) => {
  const dp = select.devpoll();
  dp.register(r, select.POLLIN);
  return dp;
});
globalThis.keep = dps;
require(workerData.core).os.write(ws[0], Buffer.from('x'));
const ready = dps[0].poll(1000).map((p) => p[0]);
parentPort.postMessage({ fds: dps.map((dp) => dp.fileno()), owned: binding.fdhandle_open_count(), states: binding.devpoll_count ? binding.devpoll_count() : 0, ready });
if (mode === 'exit') parentPort.once('message', () => parentPort.close());
if (mode === 'hold') setInterval(() => dps.length, 1000);
if (mode === 'async') dps[1].pollAsync();
`;

async function runWorker(t: Test, mode: 'exit' | 'hold' | 'async'): Promise<void> {
  const before = openFds();
  const held = states();
  const pipes = Array.from({ length: 20 }, () => os.pipe());
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      select: require.resolve('@iomux/select'),
      core: require.resolve('@iomux/core-native'),
      rs: pipes.map((p) => p[0]),
      ws: pipes.map((p) => p[1]),
      mode,
    },
  });
  const exited = once(worker, 'exit') as Promise<[number]>;
  const report = (await nextMessage(worker)) as { fds: number[]; owned: number; states: number; ready: number[] };
  t.same(report.ready, [pipes[0]![0]], 'devpoll works in the worker');
  t.equal(report.owned, 20, 'the worker owns 20 descriptors');
  t.ok(report.fds.every(isOpen), 'the worker holds 20 open devpoll descriptors');
  if (mode === 'exit') worker.postMessage('go');
  else {
    await sleep(50);
    await worker.terminate();
  }
  const [code] = await exited;
  t.equal(code, mode === 'exit' ? 0 : 1, `exit code (${mode})`);
  t.ok(report.fds.every((fd) => !isOpen(fd)), 'every devpoll descriptor of the worker is closed');
  if (count) {
    t.equal(report.states, held + 20, "the emulation held the worker's 20 devpolls");
    t.equal(states(), held, 'and frees them with the worker');
  }
  for (const [r, w] of pipes) {
    os.close(r);
    os.close(w);
  }
  t.same(await settledFds(before, 20), before, '/proc/self/fd is what it was before the worker');
}

t.test('a worker that exits without closing 20 devpoll objects leaks nothing', { skip }, async (t) => {
  await runWorker(t, 'exit');
});

t.test('a worker that holds 20 devpoll objects and is terminated leaks nothing', { skip }, async (t) => {
  await runWorker(t, 'hold');
});

t.test('a worker terminated inside a pollAsync() wait leaks nothing', { skip }, async (t) => {
  await runWorker(t, 'async');
});

t.test('afterwards: the process holds what it held at the start', async (t) => {
  t.same(await settledFds(initialFds, 20), initialFds, 'same descriptors, by number');
});
