// worker.terminate() while iomux waits in the worker: (a) @iomux/loop
// serving, with one connection echoing and one awaiting a read; (b) every
// async wait pending at once (epoll().pollAsync, poll().pollAsync,
// selectAsync, a selector's selectAsync, all with no timeout). Twenty times
// each, at varying moments: the main process survives (a native crash
// would end this file), every worker exits as terminated, and the process
// holds the descriptors it held before (what the workers opened is closed
// with them).
import t from 'tap';
import * as net from 'node:net';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { os } from '@iomux/core-native';
import { openFds } from '../../test/support/fds.js';
import { nextMessage, settledFds } from '../../test/support/workers.js';
import { connect, sleep } from './fault-support.js';

const ROUNDS = 20;

const WORKER = `
const { parentPort, workerData: d } = require('node:worker_threads');
const loopMod = require(d.loop);
if (d.mode === 'loop') {
  loopMod.run(async () => {
    const server = await loopMod.startServer(require(d.support).echoUntilEof, '127.0.0.1', 0);
    // A client of the main thread's server, which never writes.
    const [reader] = await loopMod.openConnection('127.0.0.1', d.mainPort);
    parentPort.postMessage(server.address().port);
    await reader.read(1);
  });
} else {
  const select = require(d.select);
  const selectors = require(d.selectors);
  const r = d.r;
  const ep = select.epoll();
  ep.register(r, select.EPOLLIN);
  const p = select.poll();
  p.register(r, select.POLLIN);
  const s = new selectors.DefaultSelector();
  s.register(r, selectors.EVENT_READ);
  const waits = [ep.pollAsync(null), p.pollAsync(null), select.selectAsync([r], [], [], null), s.selectAsync(null)];
  Promise.all(waits).then(() => parentPort.postMessage('woke'));
  parentPort.postMessage('waiting');
}
`;

const MODULES = {
  loop: require.resolve('@iomux/loop'),
  select: require.resolve('@iomux/select'),
  selectors: require.resolve('@iomux/selectors'),
  support: require.resolve('../../test/support/workers.js'),
};

t.test(`a worker serving on @iomux/loop, terminated ${ROUNDS} times`, async (t) => {
  // The worker's client connects here; the server keeps and never writes.
  const held: net.Socket[] = [];
  const main = net.createServer((s) => {
    s.on('error', () => {});
    held.push(s);
  });
  main.listen(0, '127.0.0.1');
  await once(main, 'listening');
  const mainPort = (main.address() as net.AddressInfo).port;
  const before = openFds();
  const codes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const worker = new Worker(WORKER, { eval: true, workerData: { ...MODULES, mode: 'loop', mainPort } });
    const exited = once(worker, 'exit') as Promise<[number]>;
    const port = (await nextMessage(worker)) as number;
    let client: net.Socket | null = null;
    if (i % 2 === 1) {
      // Odd rounds: a connection echoes once, then the server awaits its next read.
      client = await connect('127.0.0.1', port);
      client.on('error', () => {});
      client.write('ping');
      await once(client, 'data');
    }
    if (i % 4 === 3) await sleep(5);
    await worker.terminate();
    codes.push((await exited)[0]);
    client?.destroy();
  }
  t.same(codes, Array(ROUNDS).fill(1), 'every worker exited as terminated');
  for (const s of held) s.destroy();
  t.same(await settledFds(before, 100, 20), before, 'the process holds the descriptors it held before');
  main.close();
  t.ok(process.kill(process.pid, 0), 'alive');
});

t.test(`a worker in four pending waits at once, terminated ${ROUNDS} times`, async (t) => {
  const before = openFds();
  // The main thread's pipe, which the waits watch (a raw descriptor is
  // never closed for anyone).
  const [r, w] = os.pipe();
  const codes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const worker = new Worker(WORKER, { eval: true, workerData: { ...MODULES, mode: 'waits', r } });
    const exited = once(worker, 'exit') as Promise<[number]>;
    t.equal(await nextMessage(worker), 'waiting', `round ${i}: waiting`);
    // Now, just after the waits started, or once their threads block.
    if (i % 3 === 1) await sleep(1);
    if (i % 3 === 2) await sleep(20);
    await worker.terminate();
    codes.push((await exited)[0]);
  }
  t.same(codes, Array(ROUNDS).fill(1), 'every worker exited as terminated');
  os.write(w, Buffer.from('x'));
  t.same(os.read(r, 1), Buffer.from('x'), "the main thread's pipe is untouched");
  os.close(r);
  os.close(w);
  t.same(await settledFds(before, 100, 20), before, 'the process holds the descriptors it held before');
  t.ok(process.kill(process.pid, 0), 'alive');
});
