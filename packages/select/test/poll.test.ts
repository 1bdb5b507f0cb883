// A case-by-case port of CPython 3.11's Lib/test/test_poll.py (PollTests),
// under the same test names. Expected messages are CPython 3.11's, checked
// with python3.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as nodeOs from 'node:os';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as select from '@iomux/select';
import { os } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

/** Lets a test pass what the types forbid, as the Python tests do. */
const bad = (x: unknown): any => x;

// _testcapi's limits (test_poll_c_limits).
const USHRT_MAX = 65535;
const INT_MAX = 2147483647;
const UINT_MAX = 4294967295;

const TESTFN = path.join(nodeOs.tmpdir(), `@test_${process.pid}_tmp`);

function findReadyMatching(ready: Array<[number, number]>, flag: number): number[] {
  const match: number[] = [];
  for (const [fd, mode] of ready) {
    if (mode & flag) match.push(fd);
  }
  return match;
}

function randomChoice<T>(xs: T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

/** A blocking, unbuffered readline on a raw descriptor (bufsize=0). */
function readline(fd: number): Buffer {
  const bytes: number[] = [];
  for (;;) {
    const b = os.read(fd, 1);
    if (b.length === 0) break;
    bytes.push(b[0]!);
    if (b[0] === 0x0a) break;
  }
  return Buffer.from(bytes);
}

t.test('test_poll1', async (t) => {
  // Basic functional test of poll object
  // Create a bunch of pipe and test that poll works with them.
  const p = select.poll();

  const NUM_PIPES = 12;
  const MSG = Buffer.from(' This is a test.');
  const MSG_LEN = MSG.length;
  const readers: number[] = [];
  let writers: number[] = [];
  const r2w = new Map<number, number>();
  const w2r = new Map<number, number>();

  for (let i = 0; i < NUM_PIPES; i++) {
    const [rd, wr] = os.pipe();
    p.register(rd);
    p.modify(rd, select.POLLIN);
    p.register(wr, select.POLLOUT);
    readers.push(rd);
    writers.push(wr);
    r2w.set(rd, wr);
    w2r.set(wr, rd);
  }

  const bufs: Buffer[] = [];

  while (writers.length) {
    let ready = p.poll();
    const readyWriters = findReadyMatching(ready, select.POLLOUT);
    if (!readyWriters.length) throw new Error('no pipes ready for writing');
    const wr = randomChoice(readyWriters);
    os.write(wr, MSG);

    ready = p.poll();
    const readyReaders = findReadyMatching(ready, select.POLLIN);
    if (!readyReaders.length) throw new Error('no pipes ready for reading');
    const rd = randomChoice(readyReaders);
    const buf = os.read(rd, MSG_LEN);
    t.equal(buf.length, MSG_LEN);
    bufs.push(buf);
    const w = r2w.get(rd)!;
    os.close(w);
    os.close(rd);
    p.unregister(w);
    p.unregister(rd);
    writers = writers.filter((x) => x !== w);
  }

  t.same(bufs, new Array(NUM_PIPES).fill(MSG));
});

t.test('test_poll_unit_tests', async (t) => {
  // returns NVAL for invalid file descriptor
  const [FD, w] = os.pipe();
  os.close(FD);
  os.close(w);
  let p = select.poll();
  p.register(FD);
  let r = p.poll();
  t.same(r[0], [FD, select.POLLNVAL]);

  // `with open(TESTFN, 'w') as f`: a Node FileHandle is registered itself,
  // as CPython registers the file object.
  const f = await fs.promises.open(TESTFN, 'w');
  const fd = f.fd;
  try {
    p = select.poll();
    p.register(f);
    r = p.poll();
    t.equal(r[0]![0], fd);
  } finally {
    await f.close();
  }
  r = p.poll();
  t.same(r[0], [fd, select.POLLNVAL]);
  fs.unlinkSync(TESTFN);

  // type error for invalid arguments
  p = select.poll();
  const notAFile = { name: 'TypeError', message: 'argument must be an int, or have a fileno() method.' };
  t.throws(() => p.register(p), notAFile);
  t.throws(() => p.unregister(p), notAFile);

  // can't unregister non-existent object
  p = select.poll();
  t.throws(() => p.unregister(3), { name: 'KeyError', message: '3' });
  t.throws(() => p.unregister(3), select.KeyError);

  // Test error cases
  const pollster = select.poll();
  class Nope {}
  class Almost {
    fileno(): unknown {
      return 'fileno';
    }
  }

  t.throws(() => pollster.register(new Nope(), 0), notAFile);
  t.throws(() => pollster.register(new Almost(), 0), { name: 'TypeError', message: 'fileno() returned a non-integer' });
});

// Another test case for poll().  This is copied from the test case for
// select(), modified to use poll() instead.
//
// CPython's shell loop sleeps 1 s between lines; this one sleeps 50 ms to
// keep the suite fast. The child writes into a pipe this test makes with
// os.pipe() and hands over as its stdout (Node never reads from it); reads
// are unbuffered, as CPython's bufsize=0.
t.test('test_poll2', async (t) => {
  const cmd = 'for i in 0 1 2 3 4 5 6 7 8 9; do echo testing...; sleep 0.05; done';
  const [p, wfd] = os.pipe();
  const proc = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', wfd, 'inherit'] });
  const exited = once(proc, 'exit');
  os.close(wfd);
  try {
    const pollster = select.poll();
    pollster.register(p, select.POLLIN);
    for (const tout of [0, 1000, 2000, 4000, 8000, 16000, ...new Array<number>(10).fill(-1)]) {
      const fdlist = pollster.poll(tout);
      if (fdlist.length === 0) continue;
      const [, flags] = fdlist[0]!;
      if (flags & select.POLLHUP) {
        const line = readline(p);
        if (line.length !== 0) t.fail('error: pipe seems to be closed, but still returns data');
        continue;
      } else if (flags & select.POLLIN) {
        const line = readline(p);
        if (line.length === 0) break;
        t.equal(line.toString(), 'testing...\n');
        continue;
      } else {
        t.fail(`Unexpected return value from select.poll: ${JSON.stringify(fdlist)}`);
      }
    }
  } finally {
    os.close(p);
    await exited;
  }
});

t.test('test_poll3', async (t) => {
  // test int overflow
  const pollster = select.poll();
  pollster.register(1);

  t.throws(() => pollster.poll(bad(1n << 64n)), {
    name: 'OverflowError',
    message: 'timestamp too large to convert to C _PyTime_t',
  });

  const x = 2 + 3;
  if (x !== 5) t.fail('Overflow must have occurred');

  // Issues #15989, #17919
  t.throws(() => pollster.register(0, -1), { name: 'ValueError', message: 'value must be positive' });
  t.throws(() => pollster.register(0, bad(1n << 64n)), {
    name: 'OverflowError',
    message: 'Python int too large to convert to C unsigned long',
  });
  t.throws(() => pollster.modify(1, -1), { name: 'ValueError', message: 'value must be positive' });
  t.throws(() => pollster.modify(1, bad(1n << 64n)), {
    name: 'OverflowError',
    message: 'Python int too large to convert to C unsigned long',
  });
});

t.test('test_poll_c_limits', async (t) => {
  const pollster = select.poll();
  pollster.register(1);

  // Issues #15989, #17919
  const ushrt = { name: 'OverflowError', message: 'Python int too large for C unsigned short' };
  t.throws(() => pollster.register(0, USHRT_MAX + 1), ushrt);
  t.throws(() => pollster.modify(1, USHRT_MAX + 1), ushrt);
  const tooLarge = { name: 'OverflowError', message: 'timeout is too large' };
  t.throws(() => pollster.poll(INT_MAX + 1), tooLarge);
  t.throws(() => pollster.poll(UINT_MAX + 1), tooLarge);
});

// CPython polls in a thread while the main thread changes the registrations
// and checks that a second poll() is refused. Here the first poll is the
// promise twin, pollAsync(), in flight while the test goes on; without it
// the case cannot be ported (a blocking poll() would block the test itself).
interface PollWithAsync {
  pollAsync?: (timeout?: number | null) => Promise<Array<[number, number]>>;
}
const hasPollAsync = typeof (select.poll() as PollWithAsync).pollAsync === 'function';
t.test('test_threaded_poll', { todo: hasPollAsync ? false : 'needs poll.pollAsync (issue 3)' }, async (t) => {
  const [r, w] = os.pipe();
  t.teardown(() => os.close(r));
  t.teardown(() => os.close(w));
  const rfds: number[] = [];
  for (let i = 0; i < 10; i++) {
    const fd = os.dup(r);
    t.teardown(() => os.close(fd));
    rfds.push(fd);
  }
  const pollster = select.poll();
  // Beyond CPython: releases the descriptor pollAsync() uses for its wait.
  t.teardown(() => pollster.close());
  for (const fd of rfds) pollster.register(fd, select.POLLIN);

  const pending = (pollster as PollWithAsync).pollAsync!();
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    // trigger ufds array reallocation
    for (const fd of rfds) pollster.unregister(fd);
    pollster.register(w, select.POLLOUT);
    t.throws(() => pollster.poll(), { name: 'RuntimeError', message: 'concurrent poll() invocation' });
  } finally {
    // and make the call to poll() from the thread return
    os.write(w, Buffer.from('spam'));
    await pending;
  }
});

// CPython polls in a thread and checks it is still blocked after 0.1 s. Here
// the thread is a worker_threads Worker that makes its own poll object on the
// same descriptor number (descriptors are process-wide), tells the main
// thread it is about to poll, and polls; the main thread checks the worker is
// still blocked 100 ms later, writes to the pipe, and joins it.
const worker = `
const { parentPort, workerData } = require('node:worker_threads');
const select = require(workerData.select);
const pollster = select.poll();
pollster.register(workerData.r, select.POLLIN);
parentPort.postMessage('polling');
const result = pollster.poll(workerData.timeout);
parentPort.postMessage(result);
`;

t.test('test_poll_blocks_with_negative_ms', async (t) => {
  for (const timeoutMs of [null, -1000, -1, -1.0, -0.1, -1e-100]) {
    // Create two file descriptors. This will be used to unlock
    // the blocking call to poll.poll inside the thread
    const [r, w] = os.pipe();
    try {
      const pollThread = new Worker(worker, {
        eval: true,
        workerData: { select: require.resolve('@iomux/select'), r, timeout: timeoutMs },
      });
      let result: unknown;
      let alive = true;
      const exited = new Promise<number>((resolve, reject) => {
        pollThread.on('error', reject);
        pollThread.on('exit', (code) => {
          alive = false;
          resolve(code);
        });
      });
      const polling = new Promise<void>((resolve) => {
        pollThread.on('message', (m) => {
          if (m === 'polling') resolve();
          else result = m;
        });
      });
      await Promise.race([polling, exited]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      t.ok(alive, `timeout ${timeoutMs}: still blocked after 100 ms`);
      t.equal(result, undefined, `timeout ${timeoutMs}: poll() has not returned`);

      // Write to the pipe so pollster.poll unblocks and the thread ends.
      os.write(w, Buffer.from('spam'));
      t.equal(await exited, 0);
      t.notOk(alive);
      t.same(result, [[r, select.POLLIN]], `timeout ${timeoutMs}: woke on POLLIN`);
    } finally {
      os.close(r);
      os.close(w);
    }
  }
});
