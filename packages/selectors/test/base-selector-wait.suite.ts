// The shared backend suite, waiting: many sockets, timeouts, signals
// (EINTR and PEP 475), more descriptors than FD_SETSIZE, and epoll's
// regular file (CPython 3.11 test_selectors.py BaseSelectorTestCase,
// ScalableSelectorMixIn, EpollSelectorTestCase.test_register_file). Run by
// base-selector.suite.ts inside each backend's `${name}TestCase`.
import type { Test } from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { EVENT_READ, EVENT_WRITE, type Ready } from '@iomux/selectors';
import { binding, socket, type Socket } from '@iomux/core-native';
import { openFds } from '../../../test/support/fds.js';
import { makeSocketpair, sleep, tick, time, type SuiteContext } from './base-selector-support.js';

/** CPython's find_ready_matching(). */
function findReadyMatching(ready: Ready, flag: number): unknown[] {
  const match: unknown[] = [];
  for (const [key, events] of ready) {
    if (events & flag) match.push(key.fileobj);
  }
  return match;
}

function randomChoice<T>(xs: T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

/** RLIMIT_NOFILE from /proc/self/limits: [soft, hard]. */
function nofileLimit(): [number, number] {
  const line = fs
    .readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
  const n = (s: string | undefined): number => (s === 'unlimited' ? Infinity : Number(s));
  return [n(soft), n(hard)];
}

/**
 * Counts EINTR from the addon's waiting syscalls while `fn` runs (iomux
 * retries them, PEP 475), to prove a signal really interrupted the wait.
 */
function countEintr<T>(fn: () => T): [T, number] {
  const raw = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = ['select', 'poll', 'epoll_wait', 'kevent', 'devpoll_poll'].filter((n) => typeof raw[n] === 'function');
  const saved = new Map(names.map((n) => [n, raw[n]!] as const));
  let eintr = 0;
  for (const [name, orig] of saved) {
    raw[name] = (...a: unknown[]) => {
      try {
        return orig(...a);
      } catch (e) {
        if ((e as { code?: unknown }).code === 'EINTR') eintr++;
        throw e;
      }
    };
  }
  try {
    return [fn(), eintr];
  } finally {
    for (const [name, orig] of saved) raw[name] = orig;
  }
}

interface Alarm {
  /** How many SIGALRM the JS listener has seen so far. */
  hits(): number;
}

/**
 * `signal.signal(SIGALRM, handler)` + `signal.alarm()`: installs `handler`
 * as a SIGALRM listener and starts a child process that sends this process
 * SIGALRM every 100 ms; resolves once the first one has arrived. The
 * teardown stops the child before it removes the listener (SIGALRM with no
 * listener would end the process).
 */
async function startAlarms(t: Test, handler: () => void): Promise<Alarm> {
  let hits = 0;
  const onSignal = (): void => {
    hits++;
    handler();
  };
  process.on('SIGALRM', onSignal);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      `const p = process.ppid;
       setInterval(() => { try { process.kill(p, 'SIGALRM'); } catch { process.exit(0); } }, 100);
       setTimeout(() => process.exit(0), 30000);`,
    ],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await sleep(20);
    process.removeListener('SIGALRM', onSignal);
  });
  for (let i = 0; i < 1000 && hits === 0; i++) await sleep(10);
  if (hits === 0) throw new Error('no SIGALRM from the child after 10 s');
  return { hits: () => hits };
}

/** CPython's ScalableSelectorMixIn classes. */
const SCALABLE = new Set(['PollSelector', 'EpollSelector', 'KqueueSelector', 'DevpollSelector']);

export function waitCases(t: Test, { make, name }: SuiteContext): void {
  t.test('test_selector', async (t) => {
    const s = make(t);

    const NUM_SOCKETS = 12;
    const MSG = Buffer.from(' This is a test.');
    const MSG_LEN = MSG.length;
    const readers: Socket[] = [];
    let writers: Socket[] = [];
    const r2w = new Map<Socket, Socket>();
    const w2r = new Map<Socket, Socket>();

    for (let i = 0; i < NUM_SOCKETS; i++) {
      const [rd, wr] = makeSocketpair(t);
      s.register(rd, EVENT_READ);
      s.register(wr, EVENT_WRITE);
      readers.push(rd);
      writers.push(wr);
      r2w.set(rd, wr);
      w2r.set(wr, rd);
    }

    const bufs: Buffer[] = [];

    while (writers.length) {
      let ready = s.select();
      const readyWriters = findReadyMatching(ready, EVENT_WRITE) as Socket[];
      if (!readyWriters.length) throw new Error('no sockets ready for writing');
      const wr = randomChoice(readyWriters);
      wr.send(MSG);

      let readyReaders: Socket[] = [];
      for (let i = 0; i < 10; i++) {
        ready = s.select();
        readyReaders = findReadyMatching(ready, EVENT_READ) as Socket[];
        if (readyReaders.length) break;
        // there might be a delay between the write to the write end and
        // the read end is reported ready
        await sleep(100);
      }
      if (!readyReaders.length) throw new Error('no sockets ready for reading');
      t.same(readyReaders, [w2r.get(wr)]);
      t.equal(readyReaders[0], w2r.get(wr));
      const rd = readyReaders[0]!;
      const buf = rd.recv(MSG_LEN);
      t.equal(buf.length, MSG_LEN);
      bufs.push(buf);
      s.unregister(r2w.get(rd));
      s.unregister(rd);
      writers = writers.filter((w) => w !== r2w.get(rd));
    }

    t.same(bufs, Array.from({ length: NUM_SOCKETS }, () => MSG));
  });

  t.test('test_empty_select', async (t) => {
    // Issue #23009: Make sure EpollSelector.select() works when no FD is
    // registered.
    const s = make(t);
    t.same(s.select(0), []);
  });

  t.test('test_timeout', async (t) => {
    const s = make(t);
    const [rd, wr] = makeSocketpair(t);

    s.register(wr, EVENT_WRITE);
    let t0 = time();
    t.equal(s.select(0).length, 1);
    t.equal(s.select(-1).length, 1);
    t.ok(time() - t0 < 0.5);

    s.unregister(wr);
    s.register(rd, EVENT_READ);
    t0 = time();
    t.same(s.select(0), []);
    t.same(s.select(-1), []);
    t.ok(time() - t0 < 0.5);

    t0 = time();
    t.same(s.select(1), []);
    const t1 = time();
    const dt = t1 - t0;
    // Tolerate 2.0 seconds for very slow buildbots
    t.ok(dt >= 0.8 && dt <= 2.0, `${dt}`);
  });

  // CPython: a SIGALRM handler that raises makes select(30) raise within
  // 5 s. Node cannot run a JS signal handler while the thread is inside a
  // blocking wait, so here the port shows what does happen: a real SIGALRM
  // (sent by a child process, every 100 ms) interrupts the syscall (EINTR is
  // seen), the wait is retried with the remaining time (PEP 475) and
  // returns [] after the full timeout, and the handler that would have
  // raised runs only afterwards, on Node's loop.
  t.test('test_select_interrupt_exc', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    class InterruptSelect extends Error {}
    let raised: unknown = null;
    const alarm = await startAlarms(t, () => {
      // `raise InterruptSelect`: nothing can propagate into the sync wait.
      raised = new InterruptSelect();
    });

    s.register(rd, EVENT_READ);
    raised = null;
    const before = alarm.hits();
    const t0 = time();
    const [result, eintr] = countEintr(() => s.select(1.0));
    const dt = time() - t0;
    t.same(result, [], 'select() was not interrupted: nothing ready');
    t.ok(dt >= 1.0, `returned after the full timeout (${dt.toFixed(3)} s)`);
    t.ok(dt < 5.0, 'and not absurdly late');
    t.ok(eintr > 0, `the syscall saw EINTR ${eintr} times and was retried`);
    t.equal(alarm.hits(), before, 'no JS handler ran during the wait');
    t.equal(raised, null);
    for (let i = 0; i < 50 && alarm.hits() === before; i++) await tick();
    t.ok(alarm.hits() > before, 'the handler ran after select() returned');
    t.ok(raised instanceof InterruptSelect);
  });

  // CPython: select(1.5) interrupted by SIGALRM after 1 s, with a handler
  // that does not raise, is retried with a recomputed timeout and returns
  // [] no earlier than 1 s. Here SIGALRM comes every 100 ms.
  t.test('test_select_interrupt_noraise', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    await startAlarms(t, () => {});

    s.register(rd, EVENT_READ);
    const t0 = time();
    // select() is interrupted by a signal, but the signal handler doesn't
    // raise an exception, so select() should by retries with a recomputed
    // timeout
    const [result, eintr] = countEintr(() => s.select(1.5));
    const dt = time() - t0;
    t.same(result, []);
    t.ok(dt >= 1.5, `returned after the full timeout (${dt.toFixed(3)} s)`);
    t.ok(eintr > 0, `the syscall saw EINTR ${eintr} times and was retried`);
  });

  // ScalableSelectorMixIn. RLIMIT_NOFILE is 20,000 here and cannot be
  // raised, so the soft limit is used, less the descriptors already open
  // (CPython guards only 32 for stdin, stdout...; a Node process holds more).
  const scalable = SCALABLE.has(name);
  t.test(
    'test_above_fd_setsize',
    { skip: scalable ? false : `${name}TestCase is not a ScalableSelectorMixIn (as in CPython)` },
    async (t) => {
      // A scalable implementation should have no problem with more than
      // FD_SETSIZE file descriptors.
      const [soft, hard] = nofileLimit();
      let NUM_FDS = Math.min(soft, hard, 2 ** 16);

      const s = make(t);

      // guard for already allocated FDs (stdin, stdout...)
      NUM_FDS -= openFds().length + 32;

      const pairs: Socket[] = [];
      t.teardown(() => {
        for (const sock of pairs) sock.close();
      });
      let skip: string | null = null;
      for (let i = 0; i < Math.floor(NUM_FDS / 2) && skip === null; i++) {
        let rd: Socket;
        let wr: Socket;
        try {
          [rd, wr] = socket.socketpair();
        } catch (e) {
          // too many FDs, skip
          if ((e as { name?: unknown }).name !== 'OSError') throw e;
          skip = 'FD limit reached';
          break;
        }
        pairs.push(rd, wr);
        try {
          s.register(rd, EVENT_READ);
          s.register(wr, EVENT_WRITE);
        } catch (e) {
          // this can be raised by epoll if we go over
          // fs.epoll.max_user_watches sysctl
          if ((e as { code?: unknown }).code === 'ENOSPC') skip = 'FD limit reached';
          else throw e;
        }
      }
      if (skip !== null) {
        t.pass(`skipTest(${JSON.stringify(skip)})`, { skip });
        return;
      }
      t.ok(Math.floor(NUM_FDS / 2) > 1024, `${Math.floor(NUM_FDS / 2)} pairs, well above FD_SETSIZE`);

      const fds = s.select();
      t.equal(fds.length, Math.floor(NUM_FDS / 2));
    },
  );

  if (name === 'EpollSelector') {
    t.test('test_register_file', async (t) => {
      // epoll(7) returns EPERM when given a file to watch
      const s = make(t);
      const tmp = path.join(nodeOs.tmpdir(), `@test_${process.pid}_${Date.now()}_tmp`);
      const f = await fs.promises.open(tmp, 'w+');
      t.teardown(async () => {
        await f.close();
        fs.rmSync(tmp, { force: true });
      });
      t.throws(() => s.register(f, EVENT_READ), { name: 'PermissionError', errno: 1, code: 'EPERM' });
      // the SelectorKey has been removed
      t.throws(() => s.getKey(f), { name: 'KeyError' });
      t.equal(s.getMap()!.size, 0);
    });
  }
}
