/**
 * Test support: worker threads that wait in iomux, ended normally or by
 * terminate(), and the checks that nothing leaked when they are gone.
 */
import type { Test } from 'tap';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { os } from '@iomux/core-native';
import type { StreamReader, StreamWriter } from '@iomux/loop';
import { openFds } from './fds.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** /proc/self/fd once it is back to `want`, or after `tries` looks (closes may lag). */
export async function settledFds(want: number[], tries = 100, intervalMs = 10): Promise<number[]> {
  let now = openFds();
  for (let i = 0; i < tries && now.join() !== want.join(); i++) {
    await sleep(intervalMs);
    now = openFds();
  }
  return now;
}

/** The worker's next message; rejects on its error, or its exit before one. */
export function nextMessage(worker: Worker): Promise<unknown> {
  return Promise.race([
    once(worker, 'message').then(([m]) => m as unknown),
    once(worker, 'error').then(([e]) => Promise.reject(e as Error)),
    once(worker, 'exit').then(([c]) => Promise.reject(new Error(`worker exited (${String(c)}) before its next message`))),
  ]);
}

/**
 * A worker waiting on the read end `r` of a pipe: with mode 'wait' it
 * posts 'waiting', then `{ ready }` once `r` is readable, then ends; with
 * 'terminate' it posts 'waiting' and waits with no timeout.
 */
export type StartWaitWorker = (r: number, mode: 'wait' | 'terminate') => Worker;

/**
 * The two worker cases every promise twin passes: a wait that resolves on a
 * pipe the main thread writes, and worker.terminate() during a pending
 * wait (no crash, no leak). `ready(r)` is what the worker reports.
 */
export function testWorkerWaits(t: Test, startWorker: StartWaitWorker, ready: (r: number) => unknown): void {
  t.test('in a worker thread: resolves on a pipe the main thread writes', async (t) => {
    const before = openFds();
    const [r, w] = os.pipe();
    const worker = startWorker(r, 'wait');
    const exited = once(worker, 'exit') as Promise<[number]>;
    t.equal(await nextMessage(worker), 'waiting');
    await sleep(20);
    os.write(w, Buffer.from('x'));
    const report = (await nextMessage(worker)) as { ready: unknown };
    t.same(report.ready, ready(r), 'the worker saw the pipe readable');
    const [code] = await exited;
    t.equal(code, 0, 'the worker ended on its own');
    os.close(r);
    os.close(w);
    t.same(await settledFds(before), before, '/proc/self/fd is what it was');
  });

  t.test('worker.terminate() during a pending wait: no crash, no leak', async (t) => {
    const before = openFds();
    const [r, w] = os.pipe();
    const worker = startWorker(r, 'terminate');
    const exited = once(worker, 'exit') as Promise<[number]>;
    t.equal(await nextMessage(worker), 'waiting');
    await sleep(50);
    t.ok(openFds().length >= before.length + 3, 'the pipe, and descriptors the worker holds');
    await worker.terminate();
    const [code] = await exited;
    t.equal(code, 1, 'terminated');
    os.write(w, Buffer.from('x'));
    t.same(os.read(r, 1), Buffer.from('x'), "the main thread's pipe is untouched");
    os.close(r);
    os.close(w);
    t.same(await settledFds(before), before, '/proc/self/fd is what it was');
    t.equal(process.kill(process.pid, 0), true, 'alive');
  });
}

/** A startServer() handler that echoes until EOF (a worker may require() it). */
export async function echoUntilEof(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for (;;) {
    const data = await reader.read(65536);
    if (data.length === 0) break;
    writer.write(data);
    await writer.drain();
  }
  writer.close();
}
