/**
 * The writer thread of the wake-up latency benchmark (latency.ts).
 *
 * It connects its own net client to the main thread's server, says 'ready',
 * then answers each `[fd, sleepMs]` message: sleep `sleepMs` (Atomics.wait,
 * sub-millisecond), store process.hrtime.bigint() (CLOCK_MONOTONIC, the same
 * clock in every thread of the process) in the shared stamp cell, and write
 * one byte at once: to pipe `fd` with os.write (descriptors are process-wide),
 * or to the net client when `fd` is -1. 'quit' closes the client, answers
 * 'bye' and lets the thread end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as net from 'node:net';

interface WorkerData {
  /** require.resolve('@iomux/core-native') in the main thread. */
  coreNative: string;
  /** [0]: the writer's stamp (BigInt64); bytes 8..12: the sleep cell (Int32). */
  shared: SharedArrayBuffer;
  port: number;
}

const data = workerData as WorkerData;
const { os } = require(data.coreNative) as typeof import('@iomux/core-native');
const stamp = new BigInt64Array(data.shared, 0, 1);
const sleepCell = new Int32Array(data.shared, 8, 1);
const ONE = Buffer.from('x');
const port = parentPort!;

const client = net.connect({ port: data.port, host: '127.0.0.1', noDelay: true }, () => port.postMessage('ready'));
client.on('error', (e) => port.postMessage(`error: ${e.message}`));

port.on('message', (m: [number, number] | 'quit') => {
  if (m === 'quit') {
    client.once('close', () => {
      port.postMessage('bye');
      port.close();
    });
    client.destroy();
    return;
  }
  const [fd, sleepMs] = m;
  // Nobody notifies the sleep cell: this is a timed sleep.
  Atomics.wait(sleepCell, 0, 0, sleepMs);
  Atomics.store(stamp, 0, process.hrtime.bigint());
  if (fd >= 0) {
    if (os.write(fd, ONE) !== 1) port.postMessage('error: short pipe write');
  } else {
    client.write(ONE);
  }
});
