// The per-call paths of Socket and os (issue 22): recv() and os.read()
// receive into a reused scratch area and copy out only the bytes read, send,
// sendall, recvInto and setblocking take a short path for the common call.
// Every result must still be a fresh Buffer of exactly the bytes read, and
// every other call must behave as before (real sockets and pipes).
import t from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { binding, os, socket, socketpair, Socket, BlockingIOError, OSError, errnoConstants as E } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const { AF_UNIX, SOCK_DGRAM, MSG_PEEK, SOL_SOCKET, SO_SNDBUF } = socket;
const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

t.test('recv(n) returns a fresh Buffer of exactly the bytes read, for every n', async (t) => {
  const [a, b] = socketpair();
  const results: Buffer[] = [];
  const sent: Buffer[] = [];
  for (const [len, n] of [[64, 1024], [64, 65536], [1, 1], [100, 65535], [3000, 4096], [5000, 65536], [70000, 100000], [10, 2 ** 20]] as const) {
    const data = bytes(len, len);
    a.sendall(data);
    let got = Buffer.alloc(0);
    while (got.length < len) got = Buffer.concat([got, b.recv(n)]);
    t.same(got, data, `recv(${n}) with ${len} B waiting`);
    results.push(got);
    sent.push(data);
  }
  // A later call must not change an earlier result (no view of the scratch area).
  a.send(Buffer.alloc(64, 0xee));
  const last = b.recv(65536);
  t.equal(last.length, 64);
  for (let i = 0; i < results.length; i++) t.same(results[i], sent[i], `result ${i} unchanged`);
  const r1 = b.recv(0);
  t.ok(Buffer.isBuffer(r1) && r1.length === 0, 'recv(0) is empty at once');
  a.close();
  t.equal(b.recv(65536).length, 0, 'EOF is an empty Buffer');
  b.close();
});

t.test('two results of the same size do not share memory', async (t) => {
  const [a, b] = socketpair();
  a.send(Buffer.alloc(64, 1));
  const x = b.recv(1024);
  a.send(Buffer.alloc(64, 2));
  const y = b.recv(1024);
  t.ok(Buffer.isBuffer(x) && Buffer.isBuffer(y));
  x.fill(9);
  t.same(y, Buffer.alloc(64, 2), 'writing one leaves the other');
  a.close();
  b.close();
});

t.test('recv with flags, timeouts and datagrams still honours n', async (t) => {
  const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
  a.send(bytes(100, 3));
  t.same(b.recv(10, MSG_PEEK), bytes(10, 3), 'MSG_PEEK through the scratch area');
  t.same(b.recv(10), bytes(10, 3), 'a datagram is cut at n');
  b.settimeout(5);
  a.send(bytes(50, 4));
  t.same(b.recv(65536), bytes(50, 4), 'with a timeout');
  b.settimeout(0.01);
  t.throws(() => b.recv(1024), { name: 'TimeoutError' });
  b.setblocking(false);
  t.throws(() => b.recv(1024), BlockingIOError);
  a.close();
  b.close();
});

t.test('recv argument checks keep CPython\'s errors', async (t) => {
  const [a, b] = socketpair();
  const bad = (x: unknown): any => x;
  t.throws(() => b.recv(-1), { name: 'ValueError', message: 'negative buffersize in recv' });
  t.throws(() => b.recv(bad(1.5)), { name: 'TypeError', message: "'float' object cannot be interpreted as an integer" });
  t.throws(() => b.recv(bad('8')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => b.recv(8, bad(1.5)), TypeError);
  t.throws(() => b.recv(8, 2 ** 31), { name: 'OverflowError' });
  a.send(Buffer.from('hi'));
  t.same(b.recv(8n as unknown as number), Buffer.from('hi'), 'a bigint count');
  b.close();
  t.throws(() => b.recv(8), { name: 'OSError', errno: E.EBADF });
  t.throws(() => b.recv(-1), { name: 'ValueError' }, 'the argument error comes first, as CPython');
  a.close();
});

t.test('recvInto: whole buffer, nbytes, typed arrays', async (t) => {
  const [a, b] = socketpair();
  const u16 = new Uint16Array(8);
  a.send(bytes(16, 5));
  t.equal(b.recvInto(u16), 16);
  t.same(Buffer.from(u16.buffer), bytes(16, 5));
  const buf = Buffer.alloc(32);
  a.send(bytes(20, 6));
  t.equal(b.recvInto(buf, 4), 4, 'nbytes limits the read');
  t.equal(b.recvInto(buf.subarray(8)), 16, 'a view at an offset');
  t.same(buf.subarray(0, 4), bytes(4, 6));
  t.same(buf.subarray(8, 24), bytes(20, 6).subarray(4));
  t.equal(b.recvInto(Buffer.alloc(0)), 0, 'an empty buffer returns 0 without a syscall');
  t.throws(() => b.recvInto(buf, 33), { name: 'ValueError', message: 'buffer too small for requested bytes' });
  t.throws(() => b.recvInto([] as unknown as Buffer), { name: 'TypeError' });
  b.close();
  t.throws(() => b.recvInto(buf), { name: 'OSError', errno: E.EBADF });
  a.close();
});

t.test('send and sendall: fast path and the partial-send loop', async (t) => {
  const [a, b] = socketpair();
  t.equal(a.send(new Uint32Array([1, 2])), 8, 'any ArrayBufferView');
  t.same(b.recv(8), Buffer.from(new Uint32Array([1, 2]).buffer));
  t.throws(() => a.send('str' as unknown as Buffer), { name: 'TypeError', message: "a bytes-like object is required, not 'str'" });
  a.setsockopt(SOL_SOCKET, SO_SNDBUF, 4096);
  a.setblocking(false);
  const big = bytes(1 << 20, 7);
  t.throws(() => a.sendall(big), BlockingIOError, 'a full buffer after a partial send');
  b.setblocking(false);
  let got = 0;
  for (;;) {
    try {
      got += b.recv(65536).length;
    } catch (e) {
      t.type(e, BlockingIOError);
      break;
    }
  }
  t.ok(got > 0 && got < big.length, `part of the data went (${got} B)`);
  a.close();
  t.throws(() => a.send(Buffer.alloc(1)), { name: 'OSError', errno: E.EBADF });
  t.throws(() => a.sendall(Buffer.alloc(1)), { name: 'OSError', errno: E.EBADF });
  b.close();
});

t.test('setblocking: booleans and ints set O_NONBLOCK; a closed socket is EBADF', async (t) => {
  const s = new Socket();
  s.setblocking(false);
  t.equal(os.getBlocking(s.fileno()), false);
  t.equal(s.gettimeout(), 0);
  s.setblocking(true);
  t.equal(os.getBlocking(s.fileno()), true);
  t.equal(s.gettimeout(), null);
  s.setblocking(0);
  t.equal(os.getBlocking(s.fileno()), false);
  t.throws(() => s.setblocking('x' as unknown as boolean), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  s.close();
  t.throws(() => s.setblocking(true), { name: 'OSError', errno: E.EBADF });
  t.equal(s.gettimeout(), null, 'the mode is recorded before fcntl fails, as CPython');
  t.equal(s.fileno(), -1);
});

t.test('os.setBlocking flips O_NONBLOCK on a pipe, a file and a socket, and only that flag', async (t) => {
  const [r, w] = os.pipe();
  const file = fs.openSync(path.join(nodeOs.tmpdir(), `iomux-calls-${process.pid}`), 'w+');
  const [a, b] = socketpair();
  for (const fd of [r, w, file, a.fileno()]) {
    const before = fs.fstatSync(fd).mode;
    os.setBlocking(fd, false);
    t.equal(os.getBlocking(fd), false, `fd ${fd} non-blocking`);
    os.setBlocking(fd, false);
    t.equal(os.getBlocking(fd), false, 'setting it twice keeps it');
    os.setBlocking(fd, true);
    t.equal(os.getBlocking(fd), true, `fd ${fd} blocking again`);
    t.equal(os.getInheritable(fd), false, 'close-on-exec untouched');
    t.equal(fs.fstatSync(fd).mode, before);
  }
  t.throws(() => os.setBlocking(closedFdNumber(), true), { name: 'OSError', errno: E.EBADF });
  fs.closeSync(file);
  fs.unlinkSync(path.join(nodeOs.tmpdir(), `iomux-calls-${process.pid}`));
  os.close(r);
  os.close(w);
  a.close();
  b.close();
});

function closedFdNumber(): number {
  const [r, w] = os.pipe();
  os.close(r);
  os.close(w);
  return r;
}

t.test('os.read and os.write: exact, fresh results; checks unchanged', async (t) => {
  const [r, w] = os.pipe();
  t.equal(os.write(w, bytes(64, 8)), 64);
  const x = os.read(r, 65536);
  t.same(x, bytes(64, 8));
  t.equal(os.write(w, new Uint8Array([1, 2, 3])), 3);
  const y = os.read(r, 1024);
  t.same(y, Buffer.from([1, 2, 3]));
  t.same(x, bytes(64, 8), 'an earlier result is unchanged');
  os.write(w, bytes(100, 9));
  t.same(os.read(r, 100000), bytes(100, 9), 'a count past the scratch area');
  t.equal(os.read(r, 0).length, 0);
  t.throws(() => os.write(w, 'str' as unknown as Buffer), { name: 'TypeError', message: "a bytes-like object is required, not 'str'" });
  t.throws(() => os.read(r, 1.5), TypeError);
  t.throws(() => os.read(r, -1), { name: 'OSError', errno: E.EINVAL });
  t.throws(() => os.write(-1, Buffer.alloc(1)), { name: 'OSError', errno: E.EBADF });
  os.close(w);
  t.equal(os.read(r, 65536).length, 0, 'EOF');
  os.close(r);
  t.throws(() => os.read(r, 10), OSError);
});

t.test('the raw native calls still check every argument', async (t) => {
  const b = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  const [r, w] = os.pipe();
  const buf = Buffer.alloc(8);
  t.throws(() => b.read!(r, buf, 4, 5), { message: 'buffer window out of range' });
  t.throws(() => b.write!(w, buf, 9, 0), { message: 'buffer window out of range' });
  t.throws(() => b.read!(r, buf, 0), TypeError, 'a missing length');
  t.throws(() => b.write!(w, 'x', 0, 1), TypeError);
  t.throws(() => b.read!(-1, buf, 0, 1), { pyType: 'ValueError', message: 'file descriptor cannot be a negative integer' });
  t.throws(() => b.set_blocking!(r, 1), TypeError);
  t.throws(() => b.set_blocking!(r), TypeError);
  try {
    b.send!(w, buf, 0, 1, 0);
    t.fail('send on a pipe');
  } catch (e) {
    t.match(e, { errno: E.ENOTSOCK, syscall: 'send' }, 'send on a pipe is ENOTSOCK');
  }
  t.equal(b.write!(w, new Float64Array([1]), 0, 8), 8, 'a typed array counts bytes');
  t.equal(b.read!(r, buf, 0, 8), 8);
  os.close(r);
  os.close(w);
});

t.test('a worker thread has its own scratch area', async (t) => {
  const [a, b] = binding.socketpair(AF_UNIX, socket.SOCK_STREAM, 0);
  const wk = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Socket } = require(workerData.mod);
     const s = new Socket(null, null, null, workerData.fd);
     let n = 0;
     for (let i = 0; i < 2000; i++) {
       const x = s.recv(65536);
       if (x.length !== 16 || x[0] !== (i & 0xff) || x[15] !== (i & 0xff)) throw new Error('bad ' + i);
       s.send(Buffer.from([1]));
       n++;
     }
     s.detach();
     parentPort.postMessage(n);`,
    { eval: true, workerData: { fd: b, mod: require.resolve('@iomux/core-native') } },
  );
  const exited = once(wk, 'exit');
  const message = once(wk, 'message');
  const [mine, peer] = socketpair();
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    binding.send(a, Buffer.alloc(16, i & 0xff), 0, 16, 0);
    peer.send(Buffer.alloc(16, 0x55));
    if (!mine.recv(65536).equals(Buffer.alloc(16, 0x55))) bad++;
    // The worker acknowledges each message, so no two arrive as one.
    binding.recv(a, Buffer.alloc(1), 0, 1, 0);
  }
  t.equal(bad, 0, 'every result in the main thread was its own message');
  const [n] = (await message) as [number];
  t.equal(n, 2000, 'every result in the worker was its own message');
  await exited;
  binding.close(a);
  binding.close(b);
  mine.close();
  peer.close();
});
