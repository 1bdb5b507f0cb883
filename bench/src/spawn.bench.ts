/**
 * `npm run bench:spawn`: starting and reaping children, iomux's loop
 * against Node. Each round runs BENCH_SPAWN_COUNT (1,000) sequential
 * children on each side, in this one process:
 * - iomux: `await createSubprocessExec('true', [], opts)` then `await
 *   p.wait()` (posix_spawn through the addon, the exit seen by a pidfd in
 *   the loop's selector);
 * - Node: `child_process.spawn('true', [], opts)` and its 'close' event
 *   (libuv's fork/exec, the exit seen by SIGCHLD).
 * Two kinds: `inherit` (the child shares this process's stdio: Node's
 * 'inherit', iomux's null) and `pipes` (three pipes: Node's 'pipe', iomux's
 * PIPE with communicate()). The two sides alternate which goes first;
 * figures are medians over BENCH_SPAWN_ROUNDS (7) rounds, the ratio the
 * median of per-round ratios.
 *
 * Verdict: iomux's time <= 1.0x Node's (issue 24's target), printed in
 * dgram.bench.ts's format.
 *
 * Settings (environment): BENCH_SPAWN_COUNT (1000), BENCH_SPAWN_ROUNDS (7),
 * BENCH_SPAWN_KINDS ("inherit,pipes").
 */
import { spawn } from 'node:child_process';
import { createSubprocessExec, EventLoop, PIPE } from '@iomux/loop';
import { envList, envNumber } from './env.js';
import { median, ratio } from './echo-stats.js';
import { fmt, log } from './servers.js';
import { runMain } from './run-main.js';

const COUNT = Math.round(envNumber('BENCH_SPAWN_COUNT', 1000));
const ROUNDS = Math.round(envNumber('BENCH_SPAWN_ROUNDS', 7));
const KINDS = envList('BENCH_SPAWN_KINDS', 'inherit,pipes');
const TARGET = 1.0;

/** Milliseconds for COUNT sequential iomux children. */
async function iomuxRun(loop: EventLoop, pipes: boolean): Promise<number> {
  return loop.runUntilComplete(async () => {
    const t0 = performance.now();
    for (let i = 0; i < COUNT; i++) {
      if (pipes) {
        const p = await createSubprocessExec('true', [], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
        await p.communicate();
        if (p.returncode !== 0) throw new Error(`true exited with ${p.returncode}`);
      } else {
        const p = await createSubprocessExec('true');
        const code = await p.wait();
        if (code !== 0) throw new Error(`true exited with ${code}`);
      }
    }
    return performance.now() - t0;
  });
}

/** Milliseconds for COUNT sequential Node children. */
async function nodeRun(pipes: boolean): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const code = await new Promise<number | null>((resolve, reject) => {
      const c = spawn('true', [], { stdio: pipes ? 'pipe' : 'inherit' });
      c.on('error', reject);
      if (pipes) {
        c.stdout!.resume();
        c.stderr!.resume();
        c.stdin!.end();
      }
      c.on('close', (code) => resolve(code));
    });
    if (code !== 0) throw new Error(`true exited with ${code}`);
  }
  return performance.now() - t0;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  log(`# spawn: ${COUNT} sequential children per side per round, ${ROUNDS} rounds, Node ${process.version}`);
  const loop = new EventLoop();
  const verdicts: string[] = [];
  for (const kind of KINDS) {
    if (kind !== 'inherit' && kind !== 'pipes') throw new Error(`unknown kind ${kind}: inherit or pipes`);
    const pipes = kind === 'pipes';
    // Warm-up: JIT, the addon, libuv's signal pipe.
    await iomuxRun(loop, pipes);
    await nodeRun(pipes);
    const io: number[] = [];
    const nd: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        io.push(await iomuxRun(loop, pipes));
        nd.push(await nodeRun(pipes));
      } else {
        nd.push(await nodeRun(pipes));
        io.push(await iomuxRun(loop, pipes));
      }
    }
    log('');
    log(`## ${kind}: ${COUNT} children, ms per round`);
    log('');
    log('| side | median ms | us per child | rounds (ms) |');
    log('|---|--:|--:|---|');
    log(`| iomux createSubprocessExec + ${pipes ? 'communicate()' : 'wait()'} | ${fmt(median(io))} | ${fmt((median(io) * 1000) / COUNT)} | ${io.map((x) => fmt(x)).join(' ')} |`);
    log(`| Node child_process.spawn + 'close' | ${fmt(median(nd))} | ${fmt((median(nd) * 1000) / COUNT)} | ${nd.map((x) => fmt(x)).join(' ')} |`);
    const r = median(io.map((x, i) => x / nd[i]!));
    verdicts.push(
      `spawn: ${fmt(COUNT)} sequential children, ${kind}, time vs Node child_process.spawn: ${ratio(r)} (target <= ${TARGET.toFixed(1)}x): ` +
        `${r <= TARGET ? 'PASS' : 'FAIL'} (ratio of medians ${ratio(median(io) / median(nd))}) [medians ${fmt(median(io))} vs ${fmt(median(nd))} ms, ${ROUNDS} paired rounds]`,
    );
  }
  loop.close();
  log('');
  log('## Verdicts');
  log('');
  for (const v of verdicts) log(v);
  log(`spawn benchmark took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}

runMain(main);
