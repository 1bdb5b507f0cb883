// Socket timeouts and bulk transfer (src/socket/ over native/socket.cc), on
// real sockets: settimeout and TimeoutError, sendall blocking or with a
// timeout to a reader thread, and a non-blocking send/recv pump. Expected
// messages are CPython 3.11's (checked with python3).
import t from 'tap';
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import {
  os, socket, Socket, socketpair, createServer, createConnection, errnoConstants as E, OverflowError, BlockingIOError,
} from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { bad } from './socket-support.js';

checkNoFdLeak(t);

const { SHUT_WR } = socket;

t.test('timeouts: settimeout, TimeoutError, default timeout', async (t) => {
  const [a, b] = socketpair();
  a.settimeout(0.05);
  t.equal(a.gettimeout(), 0.05);
  t.equal(a.getblocking(), true, 'getblocking() is gettimeout() != 0');
  t.equal(os.getBlocking(a.fileno()), false, 'the descriptor is non-blocking underneath');
  const t0 = performance.now();
  t.throws(() => a.recv(10), { name: 'TimeoutError', message: 'timed out' });
  const waited = performance.now() - t0;
  t.ok(waited >= 49, `waited the timeout (${waited.toFixed(1)} ms), never less`);
  b.send(Buffer.from('in time'));
  t.equal(a.recv(10).toString(), 'in time', 'data within the timeout is received');
  a.settimeout(null);
  t.equal(a.gettimeout(), null);
  t.equal(os.getBlocking(a.fileno()), true);
  a.settimeout(0);
  t.equal(a.getblocking(), false);
  t.throws(() => a.settimeout(-1), { name: 'ValueError', message: 'Timeout value out of range' });
  t.throws(() => a.settimeout(NaN), { name: 'ValueError', message: 'Invalid value NaN (not a number)' });
  t.throws(() => a.settimeout(Infinity), { name: 'OverflowError', message: 'timestamp out of range for platform time_t' });
  t.throws(() => a.settimeout(1e300), OverflowError);
  t.throws(() => a.settimeout(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => bad(a).settimeout(), { name: 'TypeError' });
  t.throws(() => a.setblocking(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => a.setblocking(bad(null)), { name: 'TypeError', message: "'NoneType' object cannot be interpreted as an integer" });
  a.close();
  b.close();

  const srv = createServer(['127.0.0.1', 0]);
  srv.settimeout(0.03);
  t.throws(() => srv.accept(), { name: 'TimeoutError', message: 'timed out' });
  const c = createConnection(srv.getsockname() as [string, number]);
  const [acc] = srv.accept();
  t.equal(acc.gettimeout(), null, 'bpo-7995: accepted socket blocks despite the listener timeout');
  t.equal(os.getBlocking(acc.fileno()), true);
  acc.close();
  c.close();
  srv.close();

  t.equal(socket.getdefaulttimeout(), null);
  socket.setdefaulttimeout(2.5);
  try {
    const s = new Socket();
    t.equal(s.gettimeout(), 2.5, 'new sockets take the default timeout');
    t.equal(os.getBlocking(s.fileno()), false);
    s.close();
    t.throws(() => socket.setdefaulttimeout(-1), { name: 'ValueError', message: 'Timeout value out of range' });
  } finally {
    socket.setdefaulttimeout(null);
  }
  const s2 = new Socket();
  t.equal(s2.gettimeout(), null);
  s2.close();
});

t.test('a socket with a timeout still connects, sends and receives', async (t) => {
  const srv = createServer(['127.0.0.1', 0]);
  const c = new Socket();
  c.settimeout(5);
  c.connect(srv.getsockname() as [string, number]);
  const [acc] = srv.accept();
  c.sendall(Buffer.from('timed'));
  t.equal(acc.recv(10).toString(), 'timed');
  acc.sendall(Buffer.from('reply'));
  t.equal(c.recv(10).toString(), 'reply');
  acc.close();
  c.close();
  srv.close();
});

const readerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { os } = require(workerData.core);
  const hash = require('node:crypto').createHash('sha256');
  let total = 0, reads = 0;
  parentPort.postMessage({ ready: true });
  for (;;) {
    const chunk = os.read(workerData.fd, 65536);
    if (chunk.length === 0) break;
    hash.update(chunk);
    total += chunk.length;
    reads++;
  }
  parentPort.postMessage({ total, reads, digest: hash.digest('hex') });
`;

for (const mode of ['blocking', 'with a timeout'] as const) {
  t.test(`sendall (${mode}): 4 MiB through a socketpair to a reader thread draining in chunks`, async (t) => {
    const [a, b] = socketpair();
    const data = crypto.randomBytes(4 << 20);
    const worker = new Worker(readerSource, {
      eval: true,
      workerData: { core: require.resolve('@iomux/core-native'), fd: b.fileno() },
    });
    // events.once() rejects if the worker emits 'error' instead.
    await once(worker, 'message');
    // Listen for the result and the exit before this thread blocks: when
    // the worker's exit is handled before its last message, Node delivers
    // that message and emits 'exit' in one synchronous step, and an 'exit'
    // listener attached only after the message had been awaited would never
    // run (the test then ends unfinished).
    const result = once(worker, 'message') as Promise<[{ total: number; reads: number; digest: string }]>;
    const exited = once(worker, 'exit');
    // The reader runs on its own thread, so this thread may block in send().
    if (mode === 'with a timeout') a.settimeout(60);
    a.sendall(data);
    a.shutdown(SHUT_WR);
    const [got] = await result;
    await exited;
    t.equal(got.total, data.length, 'every byte arrived');
    t.equal(got.digest, crypto.createHash('sha256').update(data).digest('hex'), 'in order, unchanged');
    t.ok(got.reads > 1, `drained in ${got.reads} chunks`);
    a.close();
    b.close();
  });
}

t.test('non-blocking send/recv pump moves 4 MiB in one thread; sendall on a full buffer is BlockingIOError', async (t) => {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  const data = crypto.randomBytes(4 << 20);
  const chunks: Buffer[] = [];
  let sent = 0;
  let received = 0;
  let partial = 0;
  while (received < data.length) {
    while (sent < data.length) {
      let n: number;
      try {
        n = a.send(data.subarray(sent, Math.min(sent + (1 << 20), data.length)));
      } catch (e) {
        if (e instanceof BlockingIOError) break;
        throw e;
      }
      if (n < Math.min(1 << 20, data.length - sent)) partial++;
      sent += n;
    }
    for (;;) {
      let got: Buffer;
      try {
        got = b.recv(1 << 16);
      } catch (e) {
        if (e instanceof BlockingIOError) break;
        throw e;
      }
      chunks.push(got);
      received += got.length;
    }
  }
  t.ok(Buffer.concat(chunks).equals(data), 'the data arrived intact');
  t.ok(partial > 0, `send returned short counts (${partial} times)`);
  t.throws(() => a.sendall(Buffer.alloc(16 << 20)), { name: 'BlockingIOError', errno: E.EAGAIN },
    'a non-blocking sendall throws once the buffer fills, as Python');
  a.close();
  b.close();
});
