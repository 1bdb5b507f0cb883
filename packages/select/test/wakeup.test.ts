// The promise twins' wake-up (internal/wakeup.ts): selectAsync() and
// pollAsync() settle alike whether a wake source's descriptor wakes them
// (epoll on Linux) or, where a platform has no such mechanism, they look on
// a timer. IOMUX_WAKEUP=timer forces the timer in a child process, so the
// fallback that macOS and FreeBSD take runs here on real pipes and sockets;
// each case must settle with what the same case gives through epoll.
import t from 'tap';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as select from '@iomux/select';
import { plainEnv } from '../../../test/support/env.js';

const CASES = path.join(__dirname, 'wakeup-cases.js');
const POLLIN = select.POLLIN;
const POLLOUT = select.POLLOUT;
const hasEpoll = select.epoll !== undefined;

interface Line {
  name: string;
  result: unknown;
  ms: number;
  epolls: number | null;
}

/** Runs wakeup-cases.js with `env` added; its exit code, stderr and lines. */
async function runCases(env: Record<string, string>): Promise<{ status: number | null; err: string; lines: Map<string, Line>; mechanism: string }> {
  // The default child must not inherit a forced mode from this process.
  const { IOMUX_WAKEUP: _, ...base } = plainEnv();
  const child = spawn(process.execPath, [CASES], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...base, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  // A wait that never settled, or a timer left behind, keeps the child alive.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [status] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  const lines = new Map<string, Line>();
  let mechanism = '';
  for (const l of out.split('\n')) {
    if (l === '') continue;
    const line = JSON.parse(l) as Line;
    if (line.name === '#mechanism') mechanism = line.result as string;
    else lines.set(line.name, line);
  }
  return { status, err, lines, mechanism };
}

const closed = { error: 'ValueError', message: 'I/O operation on closed poll object' };
const stopped = { error: 'ValueError', message: 'stopped' };

/** Each case's result, in either mode. */
const expected: Record<string, unknown> = {
  'select: ready at once (read and write lists)': { value: [['r'], ['a'], []] },
  'select: ready later': { value: [['a'], [], []] },
  'select: a regular file, assumeNotReady': { value: [['f'], [], []] },
  'select: timeout': { value: [[], [], []] },
  'select: abort': stopped,
  'poll: ready at once': { value: [['r', POLLIN], ['a', POLLOUT]] },
  'poll: ready later, assumeNotReady': { value: [['a', POLLIN]] },
  'poll: a descriptor registered during the wait': { value: [['r', POLLIN]] },
  'poll: a regular file, assumeNotReady': { value: [['f', POLLIN]] },
  'poll: timeout': { value: [] },
  'poll: abort': stopped,
  'poll: interruptWait': { value: [] },
  'poll: close during a wait, then usable again': { value: [closed, { value: [['r', POLLIN]] }] },
};

t.test('selectAsync and pollAsync settle alike through the timer fallback and the platform wake-up', async (t) => {
  const [timer, native] = await Promise.all([runCases({ IOMUX_WAKEUP: 'timer' }), runCases({})]);
  t.equal(timer.mechanism, 'timer', 'IOMUX_WAKEUP=timer forces the timer');
  if (hasEpoll) t.equal(native.mechanism, 'epoll', 'Linux wakes through epoll by default, never the kqueue emulation');
  for (const [mode, run] of [
    ['timer', timer],
    ['default', native],
  ] as const) {
    t.equal(run.status, 0, `${mode}: the child exits 0 by itself, nothing left pending (${run.err.trim().split('\n').pop() ?? ''})`);
    t.equal(run.err, '', `${mode}: and writes nothing to stderr`);
    t.same([...run.lines.keys()], Object.keys(expected), `${mode}: every case ran`);
  }
  for (const [name, want] of Object.entries(expected)) {
    const a = timer.lines.get(name);
    const b = native.lines.get(name);
    t.same(a?.result, want, `timer: ${name}`);
    t.same(b?.result, a?.result, `default gives the same: ${name}`);
  }
  for (const name of ['select: ready later', 'poll: ready later, assumeNotReady']) {
    const a = timer.lines.get(name);
    const b = native.lines.get(name);
    // Written 60 ms in: woken then, not at the 5 s timeout.
    t.ok(a !== undefined && a.ms >= 50 && a.ms < 2000, `timer: ${name} woke after the write (${a?.ms} ms)`);
    t.ok(b !== undefined && b.ms >= 50 && b.ms < 2000, `default: ${name} woke after the write (${b?.ms} ms)`);
    if (a?.epolls !== -1) t.equal(a?.epolls, 0, `timer: ${name} waited with no epoll descriptor`);
    if (hasEpoll) t.ok((b?.epolls ?? 0) > 0, `default: ${name} waited on an epoll descriptor (${b?.epolls})`);
  }
  for (const name of ['select: a regular file, assumeNotReady', 'poll: a regular file, assumeNotReady']) {
    // epoll refuses a regular file: the wait looks at once, not at the timeout.
    for (const [mode, run] of [
      ['timer', timer],
      ['default', native],
    ] as const) {
      t.ok((run.lines.get(name)?.ms ?? Infinity) < 1000, `${mode}: ${name} settled at once (${run.lines.get(name)?.ms} ms)`);
    }
  }
  for (const name of ['select: timeout', 'poll: timeout']) {
    t.ok((timer.lines.get(name)?.ms ?? 0) >= 99, `timer: ${name} is never shorter than asked`);
  }
});

// The kqueue wake source runs here through the addon's emulation, so the
// one BSD and macOS take is tested on Linux: every case must settle as
// through the timer.
t.test('the same cases through the kqueue wake source (IOMUX_WAKEUP=kqueue)', { skip: select.kqueue ? false : 'needs kqueue (native or emulated)' }, async (t) => {
  const [timer, kq] = await Promise.all([runCases({ IOMUX_WAKEUP: 'timer' }), runCases({ IOMUX_WAKEUP: 'kqueue' })]);
  t.equal(kq.mechanism, 'kqueue', 'the wake sources are kqueues');
  t.equal(kq.status, 0, `the child exits 0 by itself (${kq.err.trim().split('\n').pop() ?? ''})`);
  t.equal(kq.err, '', 'and writes nothing to stderr');
  t.same([...kq.lines.keys()], Object.keys(expected), 'every case ran');
  for (const [name, want] of Object.entries(expected)) {
    t.same(kq.lines.get(name)?.result, want, `kqueue: ${name}`);
    t.same(kq.lines.get(name)?.result, timer.lines.get(name)?.result, `kqueue gives what the timer gives: ${name}`);
  }
  for (const name of ['select: ready later', 'poll: ready later, assumeNotReady']) {
    const ms = kq.lines.get(name)?.ms;
    t.ok(ms !== undefined && ms >= 50 && ms < 2000, `kqueue: ${name} woke after the write (${ms} ms)`);
    // The emulation's kqueue descriptor is an epoll one.
    if (hasEpoll) t.ok((kq.lines.get(name)?.epolls ?? 0) > 0, `kqueue: ${name} waited on the kqueue's descriptor`);
  }
  for (const name of ['select: a regular file, assumeNotReady', 'poll: a regular file, assumeNotReady']) {
    t.ok((kq.lines.get(name)?.ms ?? Infinity) < 1000, `kqueue: ${name} settled at once (${kq.lines.get(name)?.ms} ms)`);
  }
  for (const name of ['select: timeout', 'poll: timeout']) {
    t.ok((kq.lines.get(name)?.ms ?? 0) >= 99, `kqueue: ${name} is never shorter than asked`);
  }
});
