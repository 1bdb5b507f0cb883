// The worker-thread leak tests kqueue-lifecycle and devpoll-lifecycle share:
// a worker makes 20 pollers (one per pipe), shows one works, then exits,
// is terminated, or is terminated inside a promise-twin wait; afterwards
// every poller descriptor, the emulation's state and /proc/self/fd are as
// before.
import { type Test } from 'tap';
import * as fs from 'node:fs';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { binding, os } from '@iomux/core-native';
import { openFds } from '../../../test/support/fds.js';
import { nextMessage, settledFds } from '../../../test/support/workers.js';

export type WorkerMode = 'exit' | 'hold' | 'async';

/** One poller kind, as worker source: expressions over `select`, a pipe's read end `r` and a poller `p`. */
export interface PollerKind {
  /** 'kqueue': in test messages, and `binding.<name>_count` counts the emulation's states. */
  name: string;
  /** Makes a poller watching `r` for reading. */
  make: string;
  /** The descriptors `p` finds readable within a second. */
  ready: string;
  /** Starts a promise-twin wait on `p` that does not end by itself soon. */
  waitAsync: string;
}

const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function source(kind: PollerKind): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
const select = require(workerData.select);
const { binding, os } = require(workerData.core);
const { rs, ws, mode } = workerData;
const count = binding.${kind.name}_count;
const ps = rs.map((r) => ${kind.make});
globalThis.keep = ps;
os.write(ws[0], Buffer.from('x'));
const ready = ((p) => ${kind.ready})(ps[0]);
parentPort.postMessage({ fds: ps.map((p) => p.fileno()), owned: binding.fdhandle_open_count(), states: count ? count() : 0, ready });
if (mode === 'exit') parentPort.once('message', () => parentPort.close());
if (mode === 'hold') setInterval(() => ps.length, 1000);
if (mode === 'async') ((p) => ${kind.waitAsync})(ps[1]);
`;
}

export async function runPollerWorker(t: Test, kind: PollerKind, mode: WorkerMode): Promise<void> {
  const count = (binding as unknown as Record<string, unknown>)[`${kind.name}_count`] as (() => number) | undefined;
  const states = (): number => count?.() ?? 0;
  const before = openFds();
  const held = states();
  const pipes = Array.from({ length: 20 }, () => os.pipe());
  const worker = new Worker(source(kind), {
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
  t.same(report.ready, [pipes[0]![0]], `${kind.name} works in the worker`);
  t.equal(report.owned, 20, 'the worker owns 20 descriptors');
  t.ok(report.fds.every(isOpen), `the worker holds 20 open ${kind.name} descriptors`);
  if (mode === 'exit') worker.postMessage('go');
  else {
    await sleep(50);
    await worker.terminate();
  }
  const [code] = await exited;
  t.equal(code, mode === 'exit' ? 0 : 1, `exit code (${mode})`);
  t.ok(report.fds.every((fd) => !isOpen(fd)), `every ${kind.name} descriptor of the worker is closed`);
  if (count) {
    t.equal(report.states, held + 20, `the emulation held the worker's 20 ${kind.name} objects`);
    t.equal(states(), held, 'and frees them with the worker');
  }
  for (const [r, w] of pipes) {
    os.close(r);
    os.close(w);
  }
  t.same(await settledFds(before, 20), before, '/proc/self/fd is what it was before the worker');
}

/** The three worker tests, and the closing check that the process holds what it held at the start. */
export function pollerWorkerTests(t: Test, kind: PollerKind, waitName: string, skip: string | false, initialFds: number[]): void {
  t.test(`a worker that exits without closing 20 ${kind.name} objects leaks nothing`, { skip }, (t) => runPollerWorker(t, kind, 'exit'));
  t.test(`a worker that holds 20 ${kind.name} objects and is terminated leaks nothing`, { skip }, (t) => runPollerWorker(t, kind, 'hold'));
  t.test(`a worker terminated inside a ${waitName} wait leaks nothing`, { skip }, (t) => runPollerWorker(t, kind, 'async'));
  t.test('afterwards: the process holds what it held at the start', async (t) => {
    t.same(await settledFds(initialFds, 20), initialFds, 'same descriptors, by number');
  });
}
