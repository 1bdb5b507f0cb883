/**
 * The raw spawn binding and its os wrappers, in every episode:
 * binding.posix_spawn, pidfd_open, pidfd_send_signal, waitpid,
 * waitstatus_to_exitcode, kill, and os.posixSpawn(p), pidfdOpen,
 * pidfdSendSignal, waitpid, waitstatusToExitcode, kill. The programs and
 * their bounds are targets-subprocess.ts's.
 *
 * Every child is killed through its pidfd and reaped at the episode's end.
 * kill() gets a pid of our own unreaped child, or signal 0 only (this may
 * run as root: a hostile pid of 0 or -1 would reach every process);
 * waitpid() gets WNOHANG unless its pid is no child at all.
 */
import { binding, os } from '@iomux/core-native';
import type { Env } from './env.js';
import { type Target, type Call, vs, ok, apply } from './target.js';
import type { V } from './values.js';
import { FAR, SPAWN_WEIGHT, envValue, program, sig } from './targets-subprocess.js';

type Obj = Record<string, unknown>;
const B = binding as unknown as Obj;

/** A child started by a raw or os spawn call: killed and reaped when the episode ends. */
interface RawChild {
  pid: number;
  pidfd: number;
  reaped: boolean;
}
const rawChildren = new WeakMap<Env, RawChild[]>();

function childrenOf(env: Env): RawChild[] {
  let l = rawChildren.get(env);
  if (l === undefined) rawChildren.set(env, (l = []));
  return l;
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/** SIGKILL through the pidfd, then waitpid(WNOHANG) until reaped (bounded: 2 s). */
function endChild(c: RawChild): void {
  if (c.pidfd >= 0) {
    try {
      os.pidfdSendSignal(c.pidfd, os.SIGKILL);
    } catch {
      // Exited already.
    }
    os.close(c.pidfd);
    c.pidfd = -1;
  } else if (!c.reaped) {
    try {
      os.kill(c.pid, os.SIGKILL);
    } catch {
      // Exited already.
    }
  }
  for (let i = 0; i < 2000 && !c.reaped; i++) {
    try {
      if (os.waitpid(c.pid, os.WNOHANG)[0] !== 0) c.reaped = true;
      else Atomics.wait(nap, 0, 0, 1);
    } catch {
      c.reaped = true;
    }
  }
}

/** Takes charge of a pid a spawn call returned. */
function adoptChild(env: Env, r: unknown): void {
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) return;
  let pidfd = -1;
  try {
    pidfd = os.pidfdOpen(r);
  } catch {
    // No pidfd here: kill(pid) while unreaped.
  }
  const c = { pid: r, pidfd, reaped: false };
  childrenOf(env).push(c);
  env.closers.push(() => endChild(c));
}

/** A waitpid() result: that child is gone (unless it only stopped). */
function noteWaited(env: Env, r: unknown): void {
  if (!Array.isArray(r) || typeof r[0] !== 'number' || r[0] <= 0) return;
  if (((r[1] as number) & 0x7f) === 0x7f) return;
  for (const c of childrenOf(env)) if (c.pid === r[0]) c.reaped = true;
}

const liveChild = (env: Env): RawChild | undefined => {
  const l = childrenOf(env).filter((c) => !c.reaped);
  return l.length === 0 ? undefined : env.rng.pick(l);
};

const t = (name: string, weight: number, make: (env: Env) => Call): Target => ({ name, weight, make });

/** posixSpawn's stdio: three descriptors, SPAWN_INHERIT (-1: this child's /dev/null stdin) or SPAWN_DEVNULL; a reader's stdin and stdout are never a pooled descriptor. */
function rawStdio(env: Env, reads: boolean, typed: boolean): V {
  if (env.rng.chance(0.12)) return env.rng.pick([() => env.h(), () => ok([-1, -1], '[-1, -1]'), () => ok([-3, -1, -1], '[-3, -1, -1]'), () => ok([NaN, -1, -1], '[NaN, -1, -1]')])();
  const one = (i: number): number => {
    if ((reads && i < 2) || env.rng.chance(0.5)) return env.rng.pick([-1, -2]);
    const f = env.fd().v;
    return typeof f === 'number' && Number.isInteger(f) && f < 2 ** 31 ? f : FAR;
  };
  const fds = [one(0), one(1), one(2)];
  return ok(typed ? Int32Array.from(fds) : fds, `${typed ? 'Int32Array' : ''}[${fds.join(', ')}]`);
}

function spawnOptions(env: Env, reads: boolean): V {
  if (env.rng.chance(0.05)) return env.h();
  const stdio = rawStdio(env, reads, false);
  const o: Obj = { stdio: stdio.v };
  const d = [`stdio: ${stdio.d}`];
  if (env.rng.chance(0.2)) {
    const cwd = env.or(0.5, () => env.rng.pick([ok(env.tmpdir, '<tmpdir>'), ok('/nonexistent-iomux', "'/nonexistent-iomux'"), ok('/dev/null', "'/dev/null'")]));
    o.cwd = cwd.v;
    d.push(`cwd: ${cwd.d}`);
  }
  if (env.rng.chance(0.1)) {
    const v = env.or(0.5, () => ok(true, 'true'));
    o.setsid = v.v;
    d.push(`setsid: ${v.d}`);
  }
  if (env.rng.chance(0.1)) {
    const v = env.or(0.5, () => env.rng.pick([ok(0, '0'), ok(-2, '-2'), ok(2 ** 31, '2**31')]));
    o.setpgroup = v.v;
    d.push(`setpgroup: ${v.d}`);
  }
  if (env.rng.chance(0.1)) o.restoreSignals = env.rng.chance(0.5);
  return ok(o, `{ ${d.join(', ')} }`);
}

/** A pid for kill(): an unreaped child of ours with any signal, else signal 0 only. */
function killArgs(env: Env): [V, V] {
  const c = liveChild(env);
  if (c !== undefined && env.rng.chance(0.6)) return [ok(c.pid, `childPid(${c.pid})`), sig(env)];
  const pid = env.or(0.3, () => env.rng.pick([ok(-1, '-1'), ok(0, '0'), ok(1, '1'), ok(2 ** 31 - 1, '2**31-1')]));
  return [pid, ok(0, '0')];
}

/** waitpid's arguments: a blocking wait only for a pid that is no child (2**31-1): ECHILD at once. */
function waitArgs(env: Env): [V, V] {
  const c = liveChild(env);
  const pid = c !== undefined && env.rng.chance(0.5) ? ok(c.pid, `childPid(${c.pid})`) : env.or(0.4, () => env.rng.pick([ok(-1, '-1'), ok(0, '0'), ok(2 ** 31 - 1, '2**31-1')]));
  const nohang = env.rng.pick([ok(os.WNOHANG, 'WNOHANG'), ok(os.WNOHANG | os.WUNTRACED, 'WNOHANG|WUNTRACED')]);
  const opts = pid.v === 2 ** 31 - 1 ? env.or(0.3, () => nohang) : nohang;
  return [pid, opts];
}

/** A pidfd of one of our children, or a pooled descriptor (no pidfd), or hostile. */
function pidfdV(env: Env): V {
  const c = liveChild(env);
  if (c !== undefined && c.pidfd >= 0 && env.rng.chance(0.5)) return ok(c.pidfd, `childPidfd(${c.pidfd})`);
  return env.fd();
}

/** A pid for pidfd_open: the result is closed at once (never pooled: a pidfd of another process must not be signalled). */
const pidV = (env: Env): V => {
  const c = liveChild(env);
  return c !== undefined && env.rng.chance(0.5) ? ok(c.pid, `childPid(${c.pid})`) : env.or(0.3, () => env.rng.pick([ok(-1, '-1'), ok(0, '0'), ok(process.pid, 'ownPid')]));
};

const closeIfFd = (r: unknown): unknown => {
  if (typeof r === 'number' && Number.isInteger(r) && r >= 0) os.close(r);
  return r;
};

const STATUSES = [0, 256, 9, 0x7f, 0x137f, 0xffff, -1, 2 ** 31 - 1];

/** Entry points that need no loop (every episode). */
export const spawnTargets: Target[] = [
  t('os.posixSpawn', 0.5, (env) => {
    const prog = program(env, false);
    const args = vs(prog.path, prog.argv, env.or(0.7, () => ok(null, 'null')), spawnOptions(env, prog.reads));
    return { args, invoke: () => {
      const r = apply(os.posixSpawn, undefined, args);
      adoptChild(env, r);
      return r;
    } };
  }),
  t('os.posixSpawnp', 0.3, (env) => {
    const prog = program(env, true);
    const args = vs(prog.path, prog.argv, envValue(env), spawnOptions(env, prog.reads));
    return { args, invoke: () => {
      const r = apply(os.posixSpawnp, undefined, args);
      adoptChild(env, r);
      return r;
    } };
  }),
  t('binding.posix_spawn', 0.6, (env) => {
    const search = env.rng.chance(0.3);
    const prog = program(env, search);
    const envs = env.or(0.7, () => env.rng.pick([ok(null, 'null'), ok(['PATH=/bin:/usr/bin'], "['PATH=/bin:/usr/bin']"), ok(['A'], "['A']"), ok([5], '[5]')]));
    const cwd = env.or(0.8, () => env.rng.pick([ok(null, 'null'), ok(env.tmpdir, '<tmpdir>'), ok('/nonexistent-iomux', "'/nonexistent-iomux'")]));
    const flags = env.or(0.8, () => ok((search ? 2 : 0) | (env.rng.chance(0.7) ? 4 : 0) | (env.rng.chance(0.1) ? 1 : 0), 'flags'));
    const pgroup = env.int([-1, -1, -1, 0, 2 ** 31 - 1], 0.8);
    const args = vs(prog.path, prog.argv, envs, rawStdio(env, prog.reads, true), cwd, flags, pgroup);
    return { args, invoke: () => {
      const r = apply(B.posix_spawn, B, args);
      adoptChild(env, r);
      return r;
    } };
  }),
  t('os.pidfdOpen', 0.3, (env) => {
    const args = env.rng.chance(0.8) ? vs(pidV(env)) : vs(pidV(env), env.int([0, 1, -1]));
    return { args, invoke: () => closeIfFd(apply(os.pidfdOpen, undefined, args)) };
  }),
  t('binding.pidfd_open', 0.3, (env) => {
    const args = vs(pidV(env));
    return { args, invoke: () => closeIfFd(apply(B.pidfd_open, B, args)) };
  }),
  t('os.pidfdSendSignal', 0.3, (env) => {
    const args = vs(pidfdV(env), sig(env));
    return { args, invoke: () => apply(os.pidfdSendSignal, undefined, args) };
  }),
  t('binding.pidfd_send_signal', 0.3, (env) => {
    const args = vs(pidfdV(env), sig(env));
    return { args, invoke: () => apply(B.pidfd_send_signal, B, args) };
  }),
  t('os.waitpid', 0.4, (env) => {
    const args = vs(...waitArgs(env));
    return { args, invoke: () => {
      const r = apply(os.waitpid, undefined, args);
      noteWaited(env, r);
      return r;
    } };
  }),
  t('binding.waitpid', 0.3, (env) => {
    const args = vs(...waitArgs(env));
    return { args, invoke: () => {
      const r = apply(B.waitpid, B, args);
      noteWaited(env, r);
      return r;
    } };
  }),
  t('os.waitstatusToExitcode', 0.2, (env) => {
    const args = vs(env.int(STATUSES));
    return { args, invoke: () => apply(os.waitstatusToExitcode, undefined, args) };
  }),
  t('binding.waitstatus_to_exitcode', 0.2, (env) => {
    const args = vs(env.int(STATUSES));
    return { args, invoke: () => apply(B.waitstatus_to_exitcode, B, args) };
  }),
  t('os.kill', 0.3, (env) => {
    const args = vs(...killArgs(env));
    return { args, invoke: () => apply(os.kill, undefined, args) };
  }),
  t('binding.kill', 0.3, (env) => {
    const args = vs(...killArgs(env));
    return { args, invoke: () => apply(B.kill, B, args) };
  }),
]
  .filter((x) => !x.name.startsWith('binding.') || typeof B[x.name.slice('binding.'.length)] === 'function')
  .map((x) => ({ ...x, weight: x.weight * SPAWN_WEIGHT }));
