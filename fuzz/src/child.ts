/**
 * One fuzz batch, in its own process: `node fuzz/dist/child.js --seed S
 * --batch B --calls N --dir D [--trace]`. Runs episodes of calls and writes
 * what it finds to D/findings.jsonl as it goes (synchronously, so a crash
 * loses nothing), the call in flight to D/current.json, and per-entry call
 * counts to D/counts.json. Installs no handler that would keep it alive
 * after an uncaught exception or unhandled rejection: a monitor only writes
 * down what escaped, then Node dies as it would.
 */
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { types } from 'node:util';
import { binding, socket } from '@iomux/core-native';
import * as L from '@iomux/loop';
import { Env, fdSet, fdKind, fdLink } from './env.js';
import { documented, describeError, suspectTypeError } from './judge.js';
import type { Call, Target } from './target.js';
import { bindingTargets } from './targets-binding.js';
import { coreTargets } from './targets-core.js';
import { selectTargets, setupSelect } from './targets-select.js';
import { loopTargets, setupLoop, setLoopWorld } from './targets-loop.js';
import { spawnTargets } from './targets-spawn.js';
import { subprocessLoopTargets } from './targets-subprocess.js';
import { setupTls, tlsTargets } from './targets-tls.js';
import { tlsUpgradeTargets } from './targets-tls-upgrade.js';
import { Rng } from './values.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1]! : dflt;
};
const SEED = Number(opt('seed', '1'));
const BATCH = Number(opt('batch', '0'));
const CALLS = Number(opt('calls', '3000'));
// A directory of its own only when run alone (the parent passes its batch's).
const DIR = argv.includes('--dir') ? opt('dir', '') : fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-fuzz-'));
const TRACE = argv.includes('--trace');
/** Calls per episode (the pools are remade and the descriptor count compared between episodes). */
const EPISODE = 60;
/** Slack on a promise's own bound before it counts as a hang (a shared 2-CPU machine). */
const SLACK_MS = 2000;

const out = fs.openSync(path.join(DIR, 'findings.jsonl'), 'a');
const cur = fs.openSync(path.join(DIR, 'current.json'), 'w');
const counts = new Map<string, number>();
let done = 0;
let current = { entry: '(setup)', desc: '(setup)', call: -1 };
let lastAsync: string[] = [];
let lastAsyncEntry = '(unattributed)';
let lastAfter = new Set<number>();

function emit(rec: Record<string, unknown>): void {
  fs.writeSync(out, JSON.stringify({ ...rec, seed: SEED, batch: BATCH }) + '\n');
}

function finding(kind: string, entry: string, desc: string, what: string, extra: Record<string, unknown> = {}): void {
  emit({ t: 'finding', kind, entry, desc, what, call: done, ...extra });
}

function writeCurrent(): void {
  const b = Buffer.from(JSON.stringify({ ...current, done }).slice(0, 4000).padEnd(4096, ' '));
  fs.writeSync(cur, b, 0, b.length, 0);
}

function writeCounts(): void {
  fs.writeFileSync(path.join(DIR, 'counts.json'), JSON.stringify({ done, counts: Object.fromEntries(counts) }));
}

process.on('uncaughtExceptionMonitor', (err, origin) => {
  emit({ t: 'escaped', origin, what: describeError(err), stack: String((err as Error)?.stack ?? '').split('\n').slice(0, 8).join('\n'), current, lastAsync, call: done });
  writeCounts();
});

const PLAIN: Target[] = [...bindingTargets, ...coreTargets, ...selectTargets, ...spawnTargets];
const LOOP_ONLY: Target[] = [...loopTargets, ...tlsTargets, ...tlsUpgradeTargets, ...subprocessLoopTargets];
const LOOP: Target[] = [...LOOP_ONLY, ...PLAIN];

function picker(targets: Target[]): (rng: Rng) => Target {
  const total = targets.reduce((s, x) => s + x.weight, 0);
  return (rng) => {
    let r = rng.next() * total;
    for (const x of targets) if ((r -= x.weight) < 0) return x;
    return targets[targets.length - 1]!;
  };
}
const pickPlain = picker(PLAIN);
const pickLoop = picker(LOOP.map((x) => (LOOP_ONLY.includes(x) ? { ...x, weight: x.weight * 4 } : x)));

/** Descriptors already reported, by identity (a leak is counted once, where it happened). */
const known = new Set<string>();
/** A descriptor's identity (its /proc link, with the inode) -> the call after which it appeared. */
const madeBy = new Map<string, { entry: string; desc: string }>();
const link = (fd: number): string => `${fd}:${fdLink(fd)}`;

function describe(target: Target, c: Call): string {
  const args = c.args.map((a) => a.d).join(', ');
  return c.recv !== undefined ? `${c.recv.d} :: ${target.name}(${args})` : `${target.name}(${args})`;
}

function owns(r: unknown, fd: number): boolean {
  for (const x of Array.isArray(r) ? r : [r]) {
    try {
      if (x !== null && typeof x === 'object' && typeof (x as { fileno?: unknown }).fileno === 'function' && (x as { fileno(): number }).fileno() === fd) return true;
      if (binding.fdhandle_fd(x as never) === fd) return true;
    } catch {
      // Not an owner.
    }
  }
  return false;
}

function runOne(env: Env, target: Target): void {
  // Taken before make(): what it opens (a fresh loop for the call) is the call's too, for attribution.
  const pre = fdSet();
  let c: Call;
  env.deep = env.rng.chance(0.35);
  try {
    c = target.make(env);
  } catch (e) {
    emit({ t: 'harness', entry: target.name, what: describeError(e), stack: String((e as Error)?.stack) });
    return;
  }
  const desc = describe(target, c);
  const isBinding = target.name.startsWith('binding.');
  const hostileThis = c.recv !== undefined && env.hostile.includes(c.recv);
  current = { entry: target.name, desc, call: done };
  writeCurrent();
  if (TRACE) process.stderr.write(`#${done} ${desc}\n`);
  counts.set(target.name, (counts.get(target.name) ?? 0) + 1);
  done++;
  for (const fd of c.adopt ?? []) madeBy.set(link(fd), { entry: target.name, desc });
  const before = fdSet();
  // Descriptors that appeared since the last call came from a promise settling.
  for (const fd of pre) if (!lastAfter.has(fd)) madeBy.set(link(fd), { entry: lastAsyncEntry, desc: `(settled later) ${lastAsync[lastAsync.length - 1] ?? ''}` });
  const handlesBefore = binding.fdhandle_open_count();
  let r: unknown;
  let threw = false;
  let err: unknown;
  try {
    r = c.invoke();
  } catch (e) {
    threw = true;
    err = e;
  }
  try {
    c.after?.();
  } catch {
    // Restoring global state is best effort.
  }
  if (c.changesBlocking) env.resetBlocking();
  const handleGrew = binding.fdhandle_open_count() > handlesBefore;
  for (const fd of c.adopt ?? []) {
    // A failed call that made a handle may have handed it the descriptor: then it is the call's leak, not ours to close.
    if (!fdSet().has(fd)) continue;
    if (threw ? !handleGrew : !owns(r, fd)) env.closeRawLater(fd);
    else if (threw && !known.has(link(fd))) {
      known.add(link(fd));
      finding('leak', target.name, desc, `a failed call (${describeError(err)}) kept the descriptor it was handed in a handle it did not close (only GC would): ${fdKind(fd)}`, { fds: 1 });
    }
  }
  const after = fdSet();
  lastAfter = after;
  const fresh = [...after].filter((fd) => !before.has(fd) && !(c.adopt ?? []).includes(fd));
  for (const fd of after) if (!pre.has(fd)) madeBy.set(link(fd), { entry: target.name, desc });
  if (threw) {
    if (!documented(err, isBinding)) finding('undocumented', target.name, desc, `threw ${describeError(err)}`);
    else if (suspectTypeError(err) && !hostileThis) emit({ t: 'note', entry: target.name, desc, what: `threw ${describeError(err)}` });
    const leaked = fresh.filter((fd) => !known.has(link(fd)) && fdLink(fd) !== 'gone');
    if (leaked.length > 0) {
      leaked.forEach((fd) => known.add(link(fd)));
      finding('leak', target.name, desc, `a failed call (${describeError(err)}) left ${leaked.length} descriptor(s) open: ${leaked.map(fdKind).join(', ')}`, { fds: leaked.length });
    }
    return;
  }
  // A Proxy handed back (fromNative returns what it cannot map) would run its traps in instanceof.
  if (!types.isProxy(r) && r instanceof Promise) {
    lastAsync = [...lastAsync.slice(-4), desc];
    lastAsyncEntry = target.name;
    env.pend(target.name, desc, r, c.bound === undefined ? 200 : c.bound);
    const rec = env.pending[env.pending.length - 1]!;
    r.then(
      (v) => {
        rec.settled = true;
        env.track(v, desc, false);
      },
      (e) => {
        rec.settled = true;
        if (!documented(e, isBinding)) finding('undocumented', target.name, desc, `rejected with ${describeError(e)}`);
        else if (suspectTypeError(e) && !hostileThis) emit({ t: 'note', entry: target.name, desc, what: `rejected with ${describeError(e)}` });
      },
    );
    return;
  }
  if (c.ret === 'fd') env.track(r, desc, true);
  else if (c.ret === 'fds' && Array.isArray(r)) r.forEach((x) => env.track(x, desc, true));
  else if (c.ret === 'fd0' && Array.isArray(r)) env.track(r[0], desc, true);
  else env.track(r, desc, false);
}

const turn = (ms = 0): Promise<void> => new Promise((res) => setTimeout(res, ms));

async function waitPending(env: Env, until: number, which: (p: Env['pending'][number]) => boolean): Promise<void> {
  while (performance.now() < until && env.pending.some((p) => !p.settled && which(p))) await turn(5);
}

/** Runs the closers not run yet (newest first), then waits (bounded) for the servers' connections to go. */
async function closeAll(env: Env): Promise<void> {
  while (env.closers.length > 0) {
    try {
      env.closers.pop()!();
    } catch {
      // Closed by a call already.
    }
  }
  const servers = env.servers.splice(0).map((s) => {
    try {
      return Promise.resolve(s.waitClosed()).catch(() => {});
    } catch {
      return Promise.resolve();
    }
  });
  await Promise.race([Promise.all(servers), turn(SLACK_MS)]);
}

/** Ends an episode: own bounds, then settlers, then closing; unsettled promises are hangs. */
async function finish(env: Env): Promise<void> {
  const selfBounded = (p: Env['pending'][number]): boolean => p.bound !== null;
  const until = Math.max(0, ...env.pending.filter(selfBounded).map((p) => p.start + p.bound!)) + SLACK_MS;
  await waitPending(env, until, selfBounded);
  for (const p of env.pending) {
    // A loop that died under the episode settles none of its promises (asyncio's neither): not hangs.
    if (!p.settled && p.bound !== null && !env.brokenLoop) {
      p.settled = true;
      finding('hang', p.entry, p.desc, `promise still pending ${SLACK_MS} ms after its own bound (${p.bound} ms: timeout, abort or readiness)`);
    }
  }
  for (const s of env.settlers) {
    try {
      s();
    } catch {
      // Best effort.
    }
  }
  await turn(10);
  await waitPending(env, performance.now() + SLACK_MS / 2, () => true);
  await closeAll(env);
  await waitPending(env, performance.now() + SLACK_MS, () => true);
  // Promises that settled meanwhile handed over more objects.
  await closeAll(env);
  for (const p of env.pending) {
    if (!p.settled && !env.brokenLoop) finding('hang', p.entry, p.desc, 'promise still pending after EOF, shutdown() and close() of every object of the episode');
  }
}

function checkLeaks(before: Set<number>): void {
  const now = fdSet();
  // 'gone': readdir's own descriptor, closed by the time we look.
  const leaked = [...now].filter((fd) => !before.has(fd) && !known.has(link(fd)) && fdLink(fd) !== 'gone');
  const byEntry = new Map<string, { desc: string; fds: number[] }>();
  for (const fd of leaked) {
    known.add(link(fd));
    const m = madeBy.get(link(fd)) ?? { entry: '(unattributed)', desc: `(made outside a call: ${link(fd)})` };
    const e = byEntry.get(m.entry) ?? { desc: m.desc, fds: [] };
    e.fds.push(fd);
    byEntry.set(m.entry, e);
  }
  for (const [entry, { desc, fds }] of byEntry) {
    finding('leak', entry, desc, `${fds.length} descriptor(s) still open after every returned object was closed: ${fds.map(fdKind).join(', ')}`, { fds: fds.length });
  }
  madeBy.clear();
}

async function plainEpisode(env: Env, n: number): Promise<void> {
  setupSelect(env);
  lastAfter = fdSet();
  for (let i = 0; i < n; i++) {
    runOne(env, pickPlain(env.rng));
    if (i % 16 === 15) await turn();
  }
  await finish(env);
}

async function loopEpisode(env: Env, n: number): Promise<void> {
  const loop = new L.EventLoop({ selector: env.rng.pick([undefined, 'epoll', 'poll', 'select']) });
  const handler = (_l: unknown, ctx: L.ExceptionContext): void => {
    const e = ctx.exception;
    if (e !== undefined && !documented(e)) finding('undocumented', current.entry, current.desc, `reached the loop's exception handler: ${describeError(e)} (${String(ctx.message)})`);
  };
  loop.setExceptionHandler(handler);
  const main = async (): Promise<void> => {
    setLoopWorld(await setupLoop(env, loop));
    await setupTls(env, loop);
    setupSelect(env);
    lastAfter = fdSet();
    for (let i = 0; i < n && !ended; i++) {
      runOne(env, pickLoop(env.rng));
      if (!loop.isClosed()) loop.setExceptionHandler(handler);
      if (i % 8 === 7) await turn();
    }
    await finish(env);
    finished = true;
  };
  let finished = false;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'limit'>((res) => (timer = setTimeout(() => res('limit'), 30000)));
  try {
    const r = await Promise.race([loop.runUntilComplete(main), limit]);
    if (r === 'limit') finding('hang', 'EventLoop#runUntilComplete', 'a loop episode', 'the episode did not finish within 30 s');
  } catch (e) {
    if (!documented(e)) finding('undocumented', 'EventLoop#runUntilComplete', 'a loop episode', `rejected with ${describeError(e)}`);
    else {
      // asyncio's behaviour too: a descriptor closed under the loop's selector ends the loop with OSError.
      env.brokenLoop = true;
      emit({ t: 'note', entry: current.entry, desc: current.desc, what: `the loop episode's runUntilComplete rejected: ${describeError(e)}` });
    }
  } finally {
    ended = true;
    clearTimeout(timer);
    setLoopWorld(null);
    try {
      loop.close();
    } catch {
      // Still running after a hang: the batch ends soon anyway.
    }
  }
  if (!finished) {
    for (const s of env.settlers) {
      try {
        s();
      } catch {
        // Best effort.
      }
    }
    await closeAll(env);
  }
}

/** Makes the descriptors Node and the addon open lazily once (signal pipe, io_uring ring), before the baseline. */
function prewarm(): void {
  const f = (): void => {};
  // A loop's default exception handler writes through console: Node opens its stdio streams on first use.
  console.log('');
  console.error('');
  process.on('SIGWINCH', f);
  process.off('SIGWINCH', f);
  const [a, b] = socket.socketpair();
  binding.send_batch(Buffer.alloc(8), new Int32Array([1, a.fileno(), 0, 1, 0]));
  binding.recv_batch(Buffer.alloc(4096), new Int32Array([1, b.fileno(), 0, 16, 0])); // [count, fd, offset, length, result]
  a.close();
  b.close();
}

async function main(): Promise<void> {
  // A relative path among the hostile values (an AF_UNIX bind to '::1')
  // lands in the batch's own directory, not in the caller's.
  process.chdir(DIR);
  prewarm();
  const rng = new Rng(SEED * 1000003 + BATCH);
  let episode = 0;
  while (done < CALLS) {
    const before = fdSet();
    const tmp = fs.mkdtempSync(path.join(DIR, 'ep-'));
    const env = new Env(rng.int(2 ** 31), tmp, before);
    env.setup();
    if (process.env.FUZZ_DEBUG) emit({ t: 'debug', episode, setup: [...fdSet()].filter((fd) => !before.has(fd)).map(link) });
    const n = Math.min(EPISODE, CALLS - done);
    if (rng.chance(0.2)) await loopEpisode(env, n);
    else await plainEpisode(env, n);
    await turn(5);
    // A dead loop cannot finish closing its transports: nothing to count there.
    if (env.brokenLoop) for (const fd of fdSet()) known.add(link(fd));
    else checkLeaks(before);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (++episode % 4 === 0) writeCounts();
  }
  writeCounts();
  emit({ t: 'done', calls: done });
  process.exit(0);
}

main().catch((e) => {
  emit({ t: 'harness', entry: current.entry, what: describeError(e), stack: String((e as Error)?.stack) });
  writeCounts();
  process.exit(3);
});
