/**
 * The loop's subprocess_exec and subprocess_shell: CPython 3.11
 * Lib/asyncio/base_events.py (the argument checks and their messages) and
 * unix_events.py (`_UnixSubprocessTransport._start`,
 * `_make_subprocess_transport`), with subprocess.py's Popen reduced to what
 * they need: pipes (pipe2, close-on-exec), posix_spawn through the addon,
 * and child-watcher.ts for the exit.
 *
 * Differs from CPython: options are camelCase keys of one object
 * (`startNewSession`, `processGroup`, `restoreSignals`); Popen's
 * `preexec_fn`, `pass_fds`, `user`/`group`, `umask` are not there, and
 * `closeFds` can only be true (posix_spawn gives the child just 0-2).
 */
import * as fs from 'node:fs';
import { errnoConstants as E, fromErrno, os, pyTypeName } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import { BaseSubprocessTransport, type ChildProcess, type SubprocessProtocol } from './base-subprocess.js';
import { addChildHandler, openPidfd, signalChild, type WatchedChild } from './child-watcher.js';
import type { SelectorEventLoop } from './selector-events.js';

/** subprocess.PIPE: a new pipe to the child, read or written through the loop. */
export const PIPE = -1;
/** subprocess.STDOUT: stderr goes where stdout goes. */
export const STDOUT = -2;
/** subprocess.DEVNULL: /dev/null. */
export const DEVNULL = -3;

/** One of the child's streams: PIPE, STDOUT (stderr only), DEVNULL, a descriptor, an object with fileno(), or null (the parent's own). */
export type StdioSpec = number | HasFileno | null;

/** An object that stands for a descriptor, as Python's file objects do. */
export interface HasFileno {
  /** The descriptor the child gets. */
  fileno(): number;
}

/** Options of subprocessExec/subprocessShell: asyncio's keywords and Popen's, camelCase. */
export interface SubprocessOptions {
  /** Default PIPE. */
  stdin?: StdioSpec;
  /** Default PIPE. */
  stdout?: StdioSpec;
  /** Default PIPE. */
  stderr?: StdioSpec;
  /** The child's working directory. */
  cwd?: string | null;
  /** The child's whole environment (null: this process's). */
  env?: Record<string, string> | null;
  /** The program to run instead of argv[0] (the shell, for subprocessShell). */
  executable?: string | null;
  /** setsid() in the child. */
  startNewSession?: boolean;
  /** setpgid(0, processGroup) in the child. */
  processGroup?: number | null;
  /** SIGPIPE and SIGXFSZ back to their default action in the child (default true). */
  restoreSignals?: boolean;
  /** Only true: the child gets no descriptor but 0, 1 and 2. */
  closeFds?: boolean;
  /** asyncio: must be false. */
  universalNewlines?: boolean;
  /** asyncio: false for exec, true for shell. */
  shell?: boolean;
  /** asyncio: must be 0. */
  bufsize?: number;
  /** asyncio: must be null. */
  encoding?: string | null;
  /** asyncio: must be null. */
  errors?: string | null;
  /** asyncio: must be false. */
  text?: boolean;
}

const KNOWN = new Set(['stdin', 'stdout', 'stderr', 'cwd', 'env', 'executable', 'startNewSession', 'processGroup', 'restoreSignals', 'closeFds', 'universalNewlines', 'shell', 'bufsize', 'encoding', 'errors', 'text']);

/** The most arguments a spawn takes (core-native's posixSpawn and spawn.cc bound too). */
const MAX_ARGS = 1 << 20;

/** os.defpath: the search path when `env` has no PATH. */
const DEFPATH = '/bin:/usr/bin';

function pathArg(x: unknown): string {
  if (typeof x !== 'string') throw new TypeError(`expected str, bytes or os.PathLike object, not ${pyTypeName(x)}`);
  if (x.includes('\0')) throw new ValueError('embedded null byte');
  return x;
}

/** base_events.py's checks, in its order; then Popen's unknown keywords. */
function checkOptions(options: unknown, shell: boolean): SubprocessOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`options must be an object, not '${pyTypeName(options)}'`);
  const o = options as SubprocessOptions;
  if (o.universalNewlines) throw new ValueError('universal_newlines must be False');
  if (shell && o.shell === false) throw new ValueError('shell must be True');
  if (!shell && o.shell) throw new ValueError('shell must be False');
  if (o.bufsize !== undefined && o.bufsize !== 0) throw new ValueError('bufsize must be 0');
  if (o.text) throw new ValueError('text must be False');
  if (o.encoding !== undefined && o.encoding !== null) throw new ValueError('encoding must be None');
  if (o.errors !== undefined && o.errors !== null) throw new ValueError('errors must be None');
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw new TypeError(`Popen.__init__() got an unexpected keyword argument '${k}'`);
  }
  if (o.closeFds === false) throw new ValueError('closeFds must be true: posix_spawn gives the child only 0, 1 and 2');
  return o;
}

/** The descriptors to close when the spawn is done or failed. */
class Fds {
  readonly list: number[] = [];
  pipe(): [number, number] {
    const p = os.pipe();
    this.list.push(p[0], p[1]);
    return p;
  }
  closeAll(keep: ReadonlySet<number>): void {
    for (const fd of this.list) if (!keep.has(fd)) os.close(fd);
  }
}

/** A stream spec as Popen's `_get_handles` takes it: the child's end, the parent's end (PIPE only). */
function stdioEnd(spec: unknown, which: 0 | 1 | 2, fds: Fds): [child: number, parent: number | null] {
  if (spec === null) return [os.SPAWN_INHERIT, null];
  if (spec === PIPE) {
    const [r, w] = fds.pipe();
    return which === 0 ? [r, w] : [w, r];
  }
  if (spec === DEVNULL) return [os.SPAWN_DEVNULL, null];
  if (typeof spec === 'number' && Number.isInteger(spec)) {
    // Popen passes any other int on, and the child's dup2 says EBADF.
    if (spec < 0) throw fromErrno(E.EBADF!, undefined, { syscall: 'dup2' });
    return [os.fdArg(spec, 'dup2'), null];
  }
  const fileno = (spec as { fileno?: unknown } | undefined)?.fileno;
  if (typeof fileno !== 'function') throw new TypeError(`'${pyTypeName(spec)}' object has no attribute 'fileno'`);
  return [os.fdArg(fileno.call(spec), 'dup2'), null];
}

/** Python's `os.get_exec_path(env)` search, for a program without '/' and an `env` of its own. */
function searchPath(program: string, env: Record<string, string>): string {
  const dirs = (typeof env.PATH === 'string' ? env.PATH : DEFPATH).split(':');
  for (const dir of dirs) {
    const candidate = `${dir === '' ? '.' : dir}/${program}`;
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not there: the next directory
    }
  }
  throw fromErrno(E.ENOENT!, undefined, { filename: program });
}

/** The working directory checked first, so its error names it (Python reports the cwd, not the program). */
function checkCwd(cwd: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(cwd);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const errno = code === undefined ? undefined : E[code];
    throw errno === undefined ? e : fromErrno(errno, undefined, { syscall: 'chdir', filename: cwd });
  }
  if (!st.isDirectory()) throw fromErrno(E.ENOTDIR!, undefined, { syscall: 'chdir', filename: cwd });
}

/** Popen for the loop: the pipes, the spawn, the pidfd. Closes every descriptor it made if it fails. */
function startChild(argv: string[], o: SubprocessOptions): ChildProcess & WatchedChild {
  const program = pathArg(o.executable ?? argv[0]);
  const cwd = o.cwd === undefined || o.cwd === null ? null : pathArg(o.cwd);
  const env = o.env ?? null;
  if (env !== null) os.envArg(env); // type errors before any pipe is made
  const fds = new Fds();
  let pid: number;
  const parents = new Set<number>();
  let ends: [number | null, number | null, number | null];
  try {
    const [in0, p0] = stdioEnd(o.stdin === undefined ? PIPE : o.stdin, 0, fds);
    const [in1, p1] = stdioEnd(o.stdout === undefined ? PIPE : o.stdout, 1, fds);
    const errSpec = o.stderr === undefined ? PIPE : o.stderr;
    let in2: number;
    let p2: number | null = null;
    if (errSpec === STDOUT) in2 = in1 === os.SPAWN_INHERIT ? 1 : in1;
    else [in2, p2] = stdioEnd(errSpec, 2, fds);
    ends = [p0, p1, p2];
    for (const p of ends) if (p !== null) parents.add(p);
    if (cwd !== null) checkCwd(cwd);
    const spawnOpts: os.PosixSpawnOptions = {
      stdio: [in0, in1, in2],
      cwd,
      setsid: o.startNewSession === true,
      setpgroup: o.processGroup ?? null,
      restoreSignals: o.restoreSignals !== false,
    };
    if (program.includes('/')) pid = os.posixSpawn(program, argv, env, spawnOpts);
    else if (env === null) pid = os.posixSpawnp(program, argv, env, spawnOpts);
    else pid = os.posixSpawn(searchPath(program, env), argv, env, spawnOpts);
  } catch (e) {
    fds.closeAll(new Set());
    throw e;
  }
  // The child has its copies: the parent keeps only its own ends.
  fds.closeAll(parents);
  const child = {
    pid,
    pidfd: openPidfd(pid),
    returncode: null as number | null,
    stdin: ends[0],
    stdout: ends[1],
    stderr: ends[2],
    sendSignal(sig: number): void {
      signalChild(child, sig);
    },
  };
  return child;
}

/** unix_events.py's `_make_subprocess_transport`: starts the child, watches it, connects its pipes. */
async function makeSubprocessTransport(loop: SelectorEventLoop, protocol: SubprocessProtocol, argv: string[], o: SubprocessOptions): Promise<BaseSubprocessTransport> {
  const holder: { child?: ChildProcess & WatchedChild } = {};
  const isPipe = (v: StdioSpec | undefined): boolean => v === undefined || v === PIPE;
  const pipes = { stdin: isPipe(o.stdin), stdout: isPipe(o.stdout), stderr: isPipe(o.stderr) };
  const transp = new BaseSubprocessTransport(loop, protocol, pipes, () => (holder.child = startChild(argv, o)));
  addChildHandler(loop, holder.child!, (code) => loop.callSoon(() => transp._processExited(code)));
  try {
    await transp._connected;
  } catch (e) {
    transp._abortPipes();
    transp.close();
    await transp._wait();
    throw e;
  }
  return transp;
}

function factoryArg(protocolFactory: unknown): () => SubprocessProtocol {
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
  return protocolFactory as () => SubprocessProtocol;
}

/**
 * asyncio's `loop.subprocess_exec(protocol_factory, program, *args, ...)`:
 * runs `program` (searched on PATH when it has no '/') with `args`.
 * Resolves to `[transport, protocol]` once the pipes are connected.
 */
export async function subprocessExec<P extends SubprocessProtocol>(loop: SelectorEventLoop, protocolFactory: () => P, program: string, args: readonly string[] = [], options: SubprocessOptions = {}): Promise<[BaseSubprocessTransport, P]> {
  loop._checkClosed();
  const o = checkOptions(options, false);
  const factory = factoryArg(protocolFactory);
  if (!Array.isArray(args)) throw new TypeError(`args must be an array, not '${pyTypeName(args)}'`);
  // Before any copy: a sparse array of length 2**32-1 would take minutes, a Proxy's 2**53-1 a RangeError.
  if (args.length >= MAX_ARGS) throw new ValueError('too many arguments');
  const argv = [pathArg(program)];
  for (let i = 0; i < args.length; i++) argv.push(pathArg(args[i]));
  const protocol = factory() as P;
  const transport = await makeSubprocessTransport(loop, protocol, argv, o);
  return [transport, protocol];
}

/**
 * asyncio's `loop.subprocess_shell(protocol_factory, cmd, ...)`: runs
 * `/bin/sh -c cmd` (`executable` replaces the shell).
 */
export async function subprocessShell<P extends SubprocessProtocol>(loop: SelectorEventLoop, protocolFactory: () => P, cmd: string | Uint8Array, options: SubprocessOptions = {}): Promise<[BaseSubprocessTransport, P]> {
  loop._checkClosed();
  if (typeof cmd !== 'string' && !(cmd instanceof Uint8Array)) throw new ValueError('cmd must be a string');
  const o = checkOptions(options, true);
  const factory = factoryArg(protocolFactory);
  const text = typeof cmd === 'string' ? cmd : Buffer.from(cmd.buffer, cmd.byteOffset, cmd.byteLength).toString();
  const argv = ['/bin/sh', '-c', pathArg(text)];
  const protocol = factory() as P;
  const transport = await makeSubprocessTransport(loop, protocol, argv, o);
  return [transport, protocol];
}
