// Not a test file: the script wakeup.test.ts runs in child processes, once
// as the platform wakes up (epoll on Linux), once with IOMUX_WAKEUP=timer and
// once with IOMUX_WAKEUP=kqueue. A first line names the mechanism in use;
// then each case prints one JSON line: its name, what the promise settled with
// (descriptors given as the names of their fixtures, since a wake source
// shifts the numbers), how long it took in ms, and how many epoll
// descriptors the process held beyond its start while the wait was pending.
import * as fs from 'node:fs';
import * as select from '@iomux/select';
import { os, socketpair } from '@iomux/core-native';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The epoll descriptors this process holds (Linux; -1 elsewhere). */
function epollCount(): number {
  if (!fs.existsSync('/proc/self/fd')) return -1;
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventpoll]') n++;
    } catch {
      // readdir's own descriptor, gone by now
    }
  }
  return n;
}

interface Fixtures {
  r: number;
  w: number;
  /** A connected socket pair: `a` is waited on, `b` sends. */
  a: number;
  b: number;
  /** A regular file: always ready, and epoll refuses it (EPERM). */
  f: number;
  send(bytes: string): void;
}

/** A fixture's name for a descriptor number. */
function nameOf(fd: number, fx: Fixtures): string {
  for (const k of ['r', 'w', 'a', 'b', 'f'] as const) if (fx[k] === fd) return k;
  return String(fd);
}

/** select()'s result with names: every number is a descriptor. */
const selNames = (v: unknown, fx: Fixtures): unknown => (v as number[][]).map((l) => l.map((fd) => nameOf(fd, fx)));
/** poll()'s result with names: [fd, revents] pairs. */
const pollNames = (v: unknown, fx: Fixtures): unknown => (v as Array<[number, number]>).map(([fd, ev]) => [nameOf(fd, fx), ev]);

/** What a settled wait reports: its value, or its error's class and message. */
async function outcome(p: Promise<unknown>, fx: Fixtures, names: (v: unknown, fx: Fixtures) => unknown): Promise<unknown> {
  try {
    return { value: names(await p, fx) };
  } catch (e) {
    const err = e as Error;
    return { error: err.name, message: err.message };
  }
}

/** A case: its wait, given the fixtures and a function to call while it is pending. */
type Case = (fx: Fixtures, pending: () => void) => Promise<unknown>;

const POLLIN = select.POLLIN;
const POLLOUT = select.POLLOUT;

const cases: Record<string, Case> = {
  async 'select: ready at once (read and write lists)'(fx) {
    os.write(fx.w, Buffer.from('x'));
    return select.selectAsync([fx.r, fx.a], [fx.a], [], 5);
  },
  async 'select: ready later'(fx, pending) {
    setTimeout(() => fx.send('x'), 60);
    const p = select.selectAsync([fx.r, fx.a], [], [], 5);
    await sleep(20);
    pending();
    return p;
  },
  async 'select: a regular file, assumeNotReady'(fx) {
    return select.selectAsync([fx.r, fx.f], [], [], 5, { assumeNotReady: true });
  },
  async 'select: timeout'(fx) {
    return select.selectAsync([fx.r, fx.a], [], [], 0.1);
  },
  async 'select: abort'(fx) {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new select.ValueError('stopped')), 40);
    return select.selectAsync([fx.r], [], [], 5, { signal: ac.signal });
  },
  async 'poll: ready at once'(fx) {
    const p = select.poll();
    p.register(fx.r, POLLIN);
    p.register(fx.a, POLLOUT);
    os.write(fx.w, Buffer.from('x'));
    try {
      return await p.pollAsync(5000);
    } finally {
      p.close();
    }
  },
  async 'poll: ready later, assumeNotReady'(fx, pending) {
    const p = select.poll();
    p.register(fx.a, POLLIN);
    setTimeout(() => fx.send('x'), 60);
    try {
      const w = p.pollAsync(5000, { assumeNotReady: true });
      await sleep(20);
      pending();
      return await w;
    } finally {
      p.close();
    }
  },
  async 'poll: a descriptor registered during the wait'(fx) {
    const p = select.poll();
    p.register(fx.a, POLLIN);
    try {
      const w = p.pollAsync(5000);
      await sleep(20);
      p.register(fx.r, POLLIN);
      os.write(fx.w, Buffer.from('x'));
      return await w;
    } finally {
      p.close();
    }
  },
  async 'poll: a regular file, assumeNotReady'(fx) {
    const p = select.poll();
    p.register(fx.f, POLLIN);
    try {
      return await p.pollAsync(5000, { assumeNotReady: true });
    } finally {
      p.close();
    }
  },
  async 'poll: timeout'(fx) {
    const p = select.poll();
    p.register(fx.r, POLLIN);
    try {
      return await p.pollAsync(100);
    } finally {
      p.close();
    }
  },
  async 'poll: abort'(fx) {
    const p = select.poll();
    p.register(fx.r, POLLIN);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new select.ValueError('stopped')), 40);
    try {
      return await p.pollAsync(5000, { signal: ac.signal });
    } finally {
      p.close();
    }
  },
  async 'poll: interruptWait'(fx) {
    const p = select.poll();
    p.register(fx.r, POLLIN);
    setTimeout(() => p.interruptWait(), 40);
    try {
      return await p.pollAsync(5000);
    } finally {
      p.close();
    }
  },
  async 'poll: close during a wait, then usable again'(fx) {
    const p = select.poll();
    p.register(fx.r, POLLIN);
    setTimeout(() => p.close(), 40);
    const first = await outcome(p.pollAsync(5000), fx, pollNames);
    os.write(fx.w, Buffer.from('x'));
    const again = await outcome(p.pollAsync(5000, { assumeNotReady: true }), fx, pollNames);
    p.close();
    return [first, again];
  },
};

/** The mechanism the wake sources use (internal/wakeup.ts), read from the built file. */
function mechanism(): string {
  const file = require('node:path').join(require('node:path').dirname(require.resolve('@iomux/select')), 'internal', 'wakeup.js');
  return (require(file) as { wakeMechanism: string }).wakeMechanism;
}

async function main(): Promise<void> {
  console.log(JSON.stringify({ name: '#mechanism', result: mechanism(), ms: 0, epolls: null }));
  const base = epollCount();
  for (const [name, run] of Object.entries(cases)) {
    const [r, w] = os.pipe();
    const [sa, sb] = socketpair();
    const f = fs.openSync(__filename, 'r');
    const fx: Fixtures = { r, w, a: sa.fileno(), b: sb.fileno(), f, send: (s) => void sb.send(Buffer.from(s)) };
    let epolls: number | null = null;
    const t0 = performance.now();
    const names = name.startsWith('select') ? selNames : name.includes('close') ? (v: unknown) => v : pollNames;
    const result = await outcome(
      run(fx, () => (epolls = epollCount() - base)),
      fx,
      names,
    );
    const ms = Math.round(performance.now() - t0);
    console.log(JSON.stringify({ name, result, ms, epolls }));
    os.close(r);
    os.close(w);
    sa.close();
    sb.close();
    fs.closeSync(f);
  }
}

void main();
