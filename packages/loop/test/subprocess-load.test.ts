// Subprocesses under load, after test_unix_events.py's child watcher tests:
// 500 short-lived children leave no zombie and no descriptor; the polling
// fallback (no pidfd) reaps as the pidfd watcher does; failed spawns leak
// nothing; Node's own child_process beside ours takes none of our exits.
import t from 'tap';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { os } from '@iomux/core-native';
import { createSubprocessExec, createSubprocessShell, DEVNULL, PIPE } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, pipeAndPidfdCount, runBriefly } from './helpers.js';
import { loopInternal } from './internal.js';

checkNoFdLeak(t);

/**
 * A loop that has waited once, so the descriptors it makes lazily (the
 * selector's off-thread wait) are there before the count is taken.
 */
async function warmLoop(t: Parameters<typeof newLoop>[0], backend?: string): Promise<ReturnType<typeof newLoop>> {
  const loop = newLoop(t, backend);
  await loop.runUntilComplete(async () => {
    await (await createSubprocessExec('true')).wait();
  });
  await runBriefly(loop);
  return loop;
}

/** Every child pid of this process, from /proc/self/task/<tid>/children. */
function childPids(): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const text = fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
      if (text !== '') out.push(...text.split(/\s+/).map(Number));
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

const watcher = loopInternal<{ _setPidfdAvailable(v: boolean | null): void }>('child-watcher.js');

t.test('500 short-lived children: no zombies, no descriptor leaks', async (t) => {
  const loop = await warmLoop(t);
  const before = pipeAndPidfdCount();
  const started = Date.now();
  const pids = new Set<number>();
  await loop.runUntilComplete(async () => {
    // 20 at a time, each with its three pipes: 500 in all.
    for (let batch = 0; batch < 25; batch++) {
      const codes = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const n = batch * 20 + i;
        const p = await createSubprocessShell(`exit ${n % 7}`, { stdin: PIPE, stdout: PIPE, stderr: PIPE });
        pids.add(p.pid);
        await p.communicate();
        return [n % 7, p.returncode];
      }));
      for (const [want, got] of codes) if (want !== got) t.fail(`exit ${want}, returncode ${got}`);
      if (Date.now() - started > 30_000) throw new Error('500 children took over 30 s');
    }
  });
  // The pipes' connectionLost (which closes them) is queued behind the
  // last wait(), as in asyncio: test_utils.run_briefly lets it run.
  await runBriefly(loop);
  t.equal(pids.size, 500, '500 distinct children');
  const ours = childPids().filter((p) => pids.has(p));
  t.same(ours, [], 'none left as a zombie (or at all)');
  t.equal(pipeAndPidfdCount(), before, 'descriptor count unchanged');
});

for (const backend of BACKENDS) {
  t.test(`${backend}: 40 children at once, stdout read, exits seen`, async (t) => {
    const loop = await warmLoop(t, backend);
    const before = pipeAndPidfdCount();
    const outs = await loop.runUntilComplete(() => Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const p = await createSubprocessExec('echo', [String(i)], { stdout: PIPE, stdin: DEVNULL });
      const [out] = await p.communicate();
      return `${out!.toString().trim()}:${p.returncode}`;
    })));
    t.same(outs, Array.from({ length: 40 }, (_, i) => `${i}:0`));
    await runBriefly(loop);
    t.equal(pipeAndPidfdCount(), before);
  });
}

t.test('the fallback without pidfd: waitpid(WNOHANG) polls on a loop timer', async (t) => {
  watcher._setPidfdAvailable(false);
  t.teardown(() => watcher._setPidfdAvailable(null));
  const loop = await warmLoop(t);
  const before = pipeAndPidfdCount();
  await loop.runUntilComplete(async () => {
    const quick = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const p = await createSubprocessShell(`echo ${i}; exit ${i % 5}`, { stdout: PIPE });
      const [out] = await p.communicate();
      return `${out!.toString().trim()}:${p.returncode}`;
    }));
    t.same(quick, Array.from({ length: 20 }, (_, i) => `${i}:${i % 5}`));
    // A longer child: the poll backs off, and still sees the kill.
    const slow = await createSubprocessExec('sleep', ['3600']);
    loop.callLater(0.3, () => slow.kill());
    const t0 = loop.time();
    t.equal(await slow.wait(), -9);
    t.ok(loop.time() - t0 < 1, 'seen within the 100 ms cap of the backoff');
  });
  await runBriefly(loop);
  t.equal(pipeAndPidfdCount(), before, 'no pidfd was opened');
  t.same(childPids(), [], 'no zombie');
});

t.test('closing the loop under a running child: its pidfd closes, the child runs on', async (t) => {
  const loop = await warmLoop(t);
  const before = pipeAndPidfdCount();
  const warnings: string[] = [];
  loop.logger = { ...console, warn: (msg: unknown) => void warnings.push(String(msg)) };
  let running = 0;
  await loop.runUntilComplete(async () => {
    running = (await createSubprocessExec('sleep', ['3600'])).pid;
  });
  loop.close();
  t.equal(pipeAndPidfdCount(), before, 'no pidfd or pipe outlives the loop');
  t.ok(fs.existsSync(`/proc/${running}`), 'the running child was left running');
  t.match(warnings, [new RegExp(`that handles pid ${running} is closed`)]);
  // Nothing watches it now: end and reap it here, or it stays a zombie.
  process.kill(running, 'SIGKILL');
  t.equal(os.waitpid(running, 0)[0], running);
});

t.test('failed spawns leak no pipe', async (t) => {
  const loop = await warmLoop(t);
  const before = pipeAndPidfdCount();
  await loop.runUntilComplete(async () => {
    for (let i = 0; i < 200; i++) {
      await createSubprocessExec('/nonexistent/prog', [], { stdin: PIPE, stdout: PIPE, stderr: PIPE }).then(
        () => t.fail('spawned'),
        (e: Error) => {
          if (e.name !== 'FileNotFoundError') t.fail(e.name);
        },
      );
    }
  });
  await runBriefly(loop);
  t.equal(pipeAndPidfdCount(), before);
});

t.test('Node\'s child_process beside ours: libuv reaps only its own pids', async (t) => {
  const loop = newLoop(t);
  const nodeExit = new Promise<number | null>((resolve) => {
    const c = spawn('sh', ['-c', 'sleep 0.2; exit 5'], { stdio: 'ignore' });
    c.on('exit', (code) => resolve(code));
  });
  const ours = await loop.runUntilComplete(async () => {
    const ps = await Promise.all([0, 1, 2].map(async (i) => createSubprocessShell(`sleep 0.${i + 1}; exit ${i + 1}`)));
    return Promise.all(ps.map((p) => p.wait()));
  });
  t.same(ours, [1, 2, 3]);
  t.equal(await nodeExit, 5);
});

t.test('select: a pidfd past FD_SETSIZE is polled instead', { skip: !BACKENDS.includes('select') ? 'Test needs selectors.SelectSelector' : false }, async (t) => {
  // Fill the descriptor table up to 1100, so the pidfd lands past select()'s 1024.
  const held: number[] = [];
  t.teardown(() => held.forEach((fd) => fs.closeSync(fd)));
  for (let fd = fs.openSync('/dev/null', 'r'); ; fd = fs.openSync('/dev/null', 'r')) {
    held.push(fd);
    if (fd >= 1100) break;
  }
  const loop = newLoop(t, 'select');
  const code = await loop.runUntilComplete(async () => {
    const p = await createSubprocessExec('sleep', ['3600']);
    p.kill();
    return p.wait();
  });
  t.equal(code, -9, 'the exit seen, by waitpid(WNOHANG) polls');
  t.same(childPids(), []);
});
