// Descriptor ownership (native/fdhandle.cc): an object that owns a descriptor
// closes it on close(), on garbage collection, and when a worker thread that
// holds it ends, normally or by terminate().
import t from 'tap';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { binding, os, OSError } from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { collectUntil } from '../../../test/support/gc.js';

checkNoFdLeak(t);

const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);

t.test('close closes once; detach gives the descriptor back', async (t) => {
  const [r, w] = os.pipe();
  const h = binding.fdhandle_new(r);
  t.equal(binding.fdhandle_fd(h), r);
  binding.fdhandle_close(h);
  t.notOk(isOpen(r), 'closed');
  t.equal(binding.fdhandle_fd(h), -1);
  binding.fdhandle_close(h);
  t.pass('second close is a no-op');
  const h2 = binding.fdhandle_new(w);
  t.equal(binding.fdhandle_detach(h2), w);
  t.ok(isOpen(w), 'detach does not close');
  binding.fdhandle_close(h2);
  t.ok(isOpen(w), 'close after detach does not close');
  os.close(w);
});

t.test('close reports EBADF when the descriptor was closed behind its back', async (t) => {
  const [r, w] = os.pipe();
  const h = binding.fdhandle_new(r);
  os.close(r);
  t.throws(() => {
    try {
      binding.fdhandle_close(h);
    } catch (e) {
      throw (require('@iomux/core-native') as typeof import('@iomux/core-native')).fromNative(e);
    }
  }, OSError);
  t.equal(binding.fdhandle_fd(h), -1);
  os.close(w);
});

t.test('bad arguments are TypeErrors, not crashes', async (t) => {
  const f = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const bad of [undefined, null, 3, 'x', {}, [], Symbol('s')]) {
    t.throws(() => f.fdhandle_close!(bad), TypeError);
    t.throws(() => f.fdhandle_fd!(bad), TypeError);
    t.throws(() => f.fdhandle_detach!(bad), TypeError);
  }
  for (const bad of [-1, 1.5, NaN, 2 ** 31, '3', null]) {
    t.throws(() => f.fdhandle_new!(bad), Error);
  }
});

t.test('garbage collection closes an abandoned descriptor', async (t) => {
  const before = binding.fdhandle_open_count();
  let fds: number[] = [];
  (() => {
    for (let i = 0; i < 20; i++) {
      const [r, w] = os.pipe();
      os.close(w);
      binding.fdhandle_new(r); // dropped at once
      fds.push(r);
    }
  })();
  t.equal(binding.fdhandle_open_count(), before + 20);
  await collectUntil(() => fds.every((fd) => !isOpen(fd)));
  t.equal(binding.fdhandle_open_count(), before, 'tracker forgot them');
  fds = [];
});

t.test('100,000 create/close cycles leave the descriptor count unchanged', async (t) => {
  const start = fdCount();
  for (let i = 0; i < 100_000; i++) {
    const [r, w] = os.pipe();
    binding.fdhandle_close(binding.fdhandle_new(r));
    binding.fdhandle_close(binding.fdhandle_new(w));
  }
  t.equal(fdCount(), start);
});

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { binding, os } = require(workerData.core);
const fds = [];
const keep = [];
for (let i = 0; i < workerData.n; i++) {
  const [r, w] = os.pipe();
  keep.push(binding.fdhandle_new(r), binding.fdhandle_new(w));
  fds.push(r, w);
}
parentPort.postMessage(fds);
if (workerData.hang) setInterval(() => {}, 1000);
`;

async function runWorker(n: number, hang: boolean): Promise<{ fds: number[]; exit: Promise<number> }> {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { core: require.resolve('@iomux/core-native'), n, hang },
  });
  const exit = new Promise<number>((resolve) => worker.on('exit', resolve));
  const fds = await new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  if (hang) await worker.terminate();
  return { fds, exit };
}

t.test('a worker that ends normally closes what it owned', async (t) => {
  const start = fdCount();
  const { fds, exit } = await runWorker(25, false);
  t.equal(fds.length, 50);
  await exit;
  t.ok(fds.every((fd) => !isOpen(fd)), 'every owned descriptor is closed');
  t.equal(fdCount(), start);
});

t.test('worker.terminate() closes what the worker owned', async (t) => {
  const start = fdCount();
  const { fds, exit } = await runWorker(25, true);
  await exit;
  t.ok(fds.every((fd) => !isOpen(fd)), 'every owned descriptor is closed');
  t.equal(fdCount(), start);
});

t.test('the addon loads in many workers in turn', async (t) => {
  const start = fdCount();
  for (let i = 0; i < 10; i++) {
    const { exit } = await runWorker(2, i % 2 === 0);
    await exit;
  }
  t.equal(fdCount(), start);
});
