/**
 * Loop entry points that start child processes: subprocessExec and
 * subprocessShell, createSubprocessExec/Shell, and the methods of the
 * Process and subprocess transport they give; also the programs and values
 * targets-spawn.ts (the raw spawn binding and its os wrappers) uses.
 *
 * Children are bounded by construction: the only programs are /bin/true,
 * /bin/cat and /bin/sh -c with fixed scripts; one that reads its stdin
 * (cat, sh) gets a new pipe, /dev/null or the child's own /dev/null as
 * stdin and writes only to those, so it ends once this process dies. At the
 * episode's end a Process is killed and its pipes closed, a subprocess
 * transport closed (which kills its child).
 */
import * as L from '@iomux/loop';
import type { Env } from './env.js';
import { type Target, type Call, vs, ok, apply } from './target.js';
import { type V, FuzzBoom } from './values.js';

type Obj = Record<string, unknown>;

// ------------------------------------------------------------ programs

/** sh -c scripts: all end on their own; `reads` ones read stdin. */
export const SCRIPTS: Array<[string, boolean]> = [
  ['exit 3', false],
  ['echo out; echo err >&2', false],
  ['kill -9 $$', false],
  ['sleep 0.05', false],
  ['exec 0<&- 1>&-; exit 0', false],
  ['cat', true],
  ['head -c 5', true],
];

export interface Prog {
  path: V;
  argv: V;
  reads: boolean;
}

/** A program and argv: true (any stdio), cat or sh (reads stdin), or hostile ones that cannot start. */
export function program(env: Env, search: boolean): Prog {
  const r = env.rng.next();
  const p = (s: string): V => ok(s, `'${s}'`);
  if (r < 0.35) return { path: p(search ? 'true' : '/bin/true'), argv: env.or(0.8, () => ok(['true', ...(env.rng.chance(0.3) ? ['a', 'b'] : [])], "['true', ...]")), reads: false };
  if (r < 0.65) {
    const [s, reads] = env.rng.pick(SCRIPTS);
    return { path: p(search ? 'sh' : '/bin/sh'), argv: ok(['sh', '-c', s], `['sh', '-c', '${s}']`), reads: reads || env.rng.chance(0.1) };
  }
  if (r < 0.75) return { path: p(search ? 'cat' : '/bin/cat'), argv: ok(['cat'], "['cat']"), reads: true };
  // Cannot start: the argv does not matter, a reader's stdio is still used.
  const bad = env.rng.pick<() => V>([() => env.h(), () => p('/nonexistent-iomux/prog'), () => p(env.tmpdir), () => p('/dev/null'), () => p('no-such-program-iomux'), () => p('')])();
  return { path: bad, argv: env.or(0.5, () => ok(['x'], "['x']")), reads: true };
}

/** The arguments after argv[0] of a valid argv; a hostile one as it is (never copied: its length may lie). */
function tail(argv: unknown, whole: V): V {
  if (!Array.isArray(argv) || argv.length > 8 || whole.d.startsWith('Proxy') || whole.d.startsWith('Array(')) return whole;
  return ok(argv.slice(1), JSON.stringify(argv.slice(1)));
}

export const FAR = 17777;

/** A stdio value of the loop's API: PIPE, DEVNULL, STDOUT, null, a descriptor, a fileno() object, or hostile. */
function stdioSpec(env: Env, which: 0 | 1 | 2, safe: boolean): V {
  const r = env.rng.next();
  if (r < 0.3) return ok(L.PIPE, 'PIPE');
  if (r < 0.45) return ok(L.DEVNULL, 'DEVNULL');
  if (r < 0.55) return which === 2 || env.rng.chance(0.3) ? ok(L.STDOUT, 'STDOUT') : ok(null, 'null');
  if (r < 0.6) return ok(null, 'null');
  if (r < 0.65) return env.rng.pick([ok(-7, '-7'), ok(FAR, `closedfd(${FAR})`), ok(2 ** 40, '2**40')]);
  if (r < 0.8 && !safe) {
    const fd = env.fd();
    return env.rng.chance(0.3) ? ok({ fileno: () => fd.v }, `{ fileno: () => ${fd.d} }`) : fd;
  }
  return env.hFd();
}

/** Options for subprocessExec & co: valid ones mostly, each key sometimes hostile. */
function subOptions(env: Env, prog: Prog, shell: boolean, create: boolean): V {
  if (env.rng.chance(0.06)) return env.h();
  const o: Obj = {};
  const d: string[] = [];
  const set = (k: string, v: V): void => {
    o[k] = v.v;
    d.push(`${k}: ${v.d}`);
  };
  const c = (p: number): boolean => env.rng.chance(p);
  // asyncio's own defaults are PIPE: the module functions' are null (inherit /dev/null and the stderr pipe).
  set('stdin', stdioSpec(env, 0, prog.reads));
  set('stdout', stdioSpec(env, 1, prog.reads));
  if (c(0.8)) set('stderr', stdioSpec(env, 2, false));
  if (c(0.2)) set('cwd', env.or(0.5, () => env.rng.pick([ok(env.tmpdir, '<tmpdir>'), ok('/', "'/'"), ok('/nonexistent-iomux', "'/nonexistent-iomux'"), ok('/dev/null', "'/dev/null'")])));
  if (c(0.2)) set('env', envValue(env));
  if (c(0.08)) set('executable', env.or(0.4, () => ok('/bin/true', "'/bin/true'")));
  if (c(0.08)) set('startNewSession', env.or(0.6, () => ok(true, 'true')));
  if (c(0.08)) set('processGroup', env.or(0.5, () => env.rng.pick([ok(0, '0'), ok(-1, '-1'), ok(2 ** 31, '2**31'), ok(null, 'null')])));
  if (c(0.08)) set('restoreSignals', env.or(0.6, () => ok(false, 'false')));
  if (c(0.05)) set('closeFds', env.or(0.5, () => ok(env.rng.chance(0.5), 'bool')));
  if (c(0.05)) set(env.rng.pick(['universalNewlines', 'shell', 'bufsize', 'encoding', 'errors', 'text']), env.or(0.3, () => ok(shell, String(shell))));
  if (c(0.03)) set('preexecFn', ok(() => {}, '() => {}'));
  if (create && c(0.2)) set('limit', env.int([1, 16, 65536, 0, -1]));
  return ok(o, `{ ${d.join(', ')} }`);
}

export function envValue(env: Env): V {
  return env.or(0.5, () =>
    env.rng.pick([
      ok({ PATH: '/bin:/usr/bin', A: '1' }, "{ PATH, A: '1' }"),
      ok({}, '{}'),
      ok({ A: 1 }, '{ A: 1 }'),
      ok({ 'A=B': '1' }, "{ 'A=B': '1' }"),
      ok({ '': 'x' }, "{ '': 'x' }"),
      ok({ A: 'x\0y' }, "{ A: 'x\\0y' }"),
      ok({ 'A\0': 'x' }, "{ 'A\\0': 'x' }"),
      ok({ A: 'x'.repeat(70000) }, "{ A: 'x'.repeat(70000) }"),
      ok({ get A(): string { throw new FuzzBoom('env getter'); } }, '{ get A() throws }'),
    ]),
  );
}

/** The running loop, or the episode's closed one. */
function loopV(env: Env): V {
  if (env.rng.chance(0.95)) return ok(L.getRunningLoop(), 'runningLoop');
  return env.obj('loop') ?? env.h();
}

/** A subprocess protocol factory: quiet, recording, throwing, or hostile. */
function subFactory(env: Env): V {
  return env.rng.pick<() => V>([
    () => ok(() => ({}), '() => ({})'),
    () => ok(() => ({ pipeDataReceived: () => {}, pipeConnectionLost: () => {}, processExited: () => {}, connectionMade: () => {}, connectionLost: () => {} }), 'recordingProtocol'),
    () => {
      const b = (): never => {
        throw new FuzzBoom('subprocess protocol');
      };
      return ok(() => ({ connectionMade: b, pipeDataReceived: b, pipeConnectionLost: b, processExited: b, connectionLost: b }), 'throwingProtocol');
    },
    () => ok(() => { throw new FuzzBoom('factory'); }, '() => { throw }'),
    () => {
      const h = env.h();
      return ok(() => h.v, `() => ${h.d}`);
    },
    () => env.h(),
  ])();
}

/** Registers a Process: its streams go to the pools; at the episode's end it is killed and its pipes closed, and wait() must then settle. */
function takeProcess(env: Env, desc: string, p: unknown): void {
  if (!(p instanceof L.Process)) return;
  env.put('Process', ok(p, `Process(${desc})`));
  if (p.stdout !== null) env.put('reader', ok(p.stdout, 'Process.stdout'));
  if (p.stderr !== null) env.put('reader', ok(p.stderr, 'Process.stderr'));
  if (p.stdin !== null) env.put('writer', ok(p.stdin, 'Process.stdin'));
  const w = p.wait();
  env.pend('Process#wait', `(at the episode's end) ${desc}`, w, null);
  const rec = env.pending[env.pending.length - 1]!;
  w.then(() => (rec.settled = true), () => (rec.settled = true));
  // A settler, not a closer: wait() then settles while the episode waits for its promises.
  env.settlers.push(() => {
    try {
      p.kill();
    } catch {
      // Finished already.
    }
    p.stdin?.close();
    // A reader paused at its limit never sees the pipe's end: close its transport.
    for (const r of [p.stdout, p.stderr]) (r?._transport as { close?: () => void } | null | undefined)?.close?.();
  });
}

const SIGS: unknown[] = [0, 15, 9, 19, 18, 10, -1, 65, 999, NaN, 1.5, 'SIGTERM', '9', 9n, null];
export const sig = (env: Env): V => {
  const s = env.rng.pick(SIGS);
  return env.or(0.85, () => ok(s, typeof s === 'string' ? `'${s}'` : String(s)));
};

const t = (name: string, weight: number, make: (env: Env) => Call): Target => ({ name, weight, make });

/** A method of the class called on a pooled object or, sometimes, on a hostile receiver (never the hostile value's own method). */
const objMeth = (cls: string, proto: object, kind: string, name: string, weight: number, gen: (env: Env) => V[], extra: Partial<Call> = {}): Target =>
  t(`${cls}#${name}`, weight, (env) => {
    const recv = env.rng.chance(0.95) ? (env.obj(kind) ?? env.h()) : env.h();
    const args = gen(env);
    return { recv, args, invoke: () => apply((proto as Obj)[name], recv.v, args), ...extra };
  });
const PP = L.Process.prototype;
const TP = L.SubprocessTransport.prototype;

/** Entry points that need the running loop (loop episodes). */
/** Half the weights written below: a spawn costs more than most calls (fuzz:smoke's time, see the README). */
export const SPAWN_WEIGHT = 0.5;

export const subprocessLoopTargets: Target[] = [
  t('EventLoop#subprocessExec', 1.2, (env) => {
    const recv = loopV(env);
    const prog = program(env, env.rng.chance(0.3));
    const argv = prog.argv.v;
    const args = vs(subFactory(env), prog.path, tail(argv, prog.argv), subOptions(env, prog, false, false));
    return { recv, args, invoke: () => apply((L.EventLoop.prototype as unknown as Obj).subprocessExec, recv.v, args), bound: null };
  }),
  t('EventLoop#subprocessShell', 0.8, (env) => {
    const recv = loopV(env);
    const [s, reads] = env.rng.pick(SCRIPTS);
    const cmd = env.or(0.8, () => (env.rng.chance(0.2) ? ok(Buffer.from(s), `Buffer('${s}')`) : ok(s, `'${s}'`)));
    // A hostile command is a string or view the shell fails to find, or a wrong type.
    const args = vs(subFactory(env), cmd, subOptions(env, { path: cmd, argv: cmd, reads: reads || cmd.v !== s }, true, false));
    return { recv, args, invoke: () => apply((L.EventLoop.prototype as unknown as Obj).subprocessShell, recv.v, args), bound: null };
  }),
  t('createSubprocessExec', 1.2, (env) => {
    const prog = program(env, env.rng.chance(0.5));
    const argv = prog.argv.v;
    const args = vs(prog.path, tail(argv, prog.argv), subOptions(env, prog, false, true));
    const desc = `${prog.path.d}`;
    return { args, invoke: () => (apply(L.createSubprocessExec, undefined, args) as Promise<unknown>).then((p) => (takeProcess(env, desc, p), p)), bound: null };
  }),
  t('createSubprocessShell', 0.8, (env) => {
    const [s, reads] = env.rng.pick(SCRIPTS);
    const cmd = env.or(0.8, () => ok(s, `'${s}'`));
    const args = vs(cmd, subOptions(env, { path: cmd, argv: cmd, reads: reads || cmd.v !== s }, true, true));
    return { args, invoke: () => (apply(L.createSubprocessShell, undefined, args) as Promise<unknown>).then((p) => (takeProcess(env, cmd.d, p), p)), bound: null };
  }),
  objMeth('Process', PP, 'Process', 'wait', 0.5, () => [], { bound: null }),
  objMeth('Process', PP, 'Process', 'communicate', 0.8, (e) => (e.rng.chance(0.2) ? [] : vs(e.or(0.6, () => e.rng.pick([ok(null, 'null'), ok('hi\n', "'hi\\n'"), ok(Buffer.alloc(10), 'Buffer(10)'), ok(Buffer.alloc(200000, 0x61), 'Buffer(200000)')])))), { bound: null }),
  objMeth('Process', PP, 'Process', 'sendSignal', 0.8, (e) => vs(sig(e))),
  objMeth('Process', PP, 'Process', 'terminate', 0.3, () => []),
  objMeth('Process', PP, 'Process', 'kill', 0.3, () => []),
  t('Process#returncode/pid/toString', 0.2, (env) => {
    const recv = env.obj('Process') ?? env.h();
    const p = recv.v instanceof L.Process ? recv.v : null;
    return { recv, args: [], invoke: () => (p === null ? null : [p.returncode, p.pid, p.toString()]) };
  }),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'getPid', 0.2, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'getReturncode', 0.2, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'getPipeTransport', 0.8, (e) => vs(e.int([0, 1, 2, 3, -1]))),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'sendSignal', 0.8, (e) => vs(sig(e))),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'terminate', 0.3, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'kill', 0.3, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'close', 0.4, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'isClosing', 0.1, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'getExtraInfo', 0.3, (e) => vs(e.or(0.5, () => ok('subprocess', "'subprocess'")), e.h())),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'setProtocol', 0.3, (e) => vs(e.or(0.5, () => ok({}, '{}')))),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'getProtocol', 0.1, () => []),
  objMeth('SubprocessTransport', TP, 'BaseSubprocessTransport', 'toString', 0.1, () => []),
].map((x) => ({ ...x, weight: x.weight * SPAWN_WEIGHT }));
