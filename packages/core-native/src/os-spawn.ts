/**
 * Python's process primitives (CPython Modules/posixmodule.c and
 * signalmodule.c), re-exported by os.ts: `posix_spawn`/`posix_spawnp`,
 * `pidfd_open`, `pidfd_send_signal`, `waitpid`, `waitstatus_to_exitcode`,
 * `kill`, `WNOHANG`, and the signal numbers the loop's subprocesses use.
 * The native half is native/spawn.cc, which checks every value again.
 *
 * Differs from CPython: posixSpawn takes the child's stdio as three
 * descriptors (`stdio`) and a `cwd`, instead of a list of file actions
 * (glibc's posix_spawn_file_actions_addchdir_np, 2.29+); both map to the
 * same file actions.
 */
import { constants as osConstants } from 'node:os';
import { binding } from './binding.js';
import { errnoConstants } from './constants.js';
import { fromErrno, fromNative, type OSError, ValueError } from './errors.js';
import { pyTypeName, toClinicInt } from './pyargs.js';

/** The native half (native/spawn.cc). */
interface SpawnBinding {
  posix_spawn(path: string, argv: string[], env: string[] | null, stdio: Int32Array, cwd: string | null, flags: number, pgroup: number): number;
  pidfd_open(pid: number): number;
  pidfd_send_signal(pidfd: number, sig: number): void;
  waitpid(pid: number, options: number): [number, number];
  waitstatus_to_exitcode(status: number): number;
  kill(pid: number, sig: number): void;
  spawn_constants: { WNOHANG: number; WUNTRACED: number };
}
const native = binding as unknown as SpawnBinding;

/** waitpid: return at once, `[0, 0]`, when no child has changed state. */
export const WNOHANG: number = native.spawn_constants.WNOHANG;
/** waitpid: also report stopped children. */
export const WUNTRACED: number = native.spawn_constants.WUNTRACED;

const S = osConstants.signals as Record<string, number>;
/** Signal number of SIGHUP, hangup, as Python's `signal.SIGHUP`. */
export const SIGHUP: number = S.SIGHUP!;
/** Signal number of SIGINT, interrupt (Ctrl-C), as Python's `signal.SIGINT`. */
export const SIGINT: number = S.SIGINT!;
/** Signal number of SIGKILL, kill (cannot be caught), as Python's `signal.SIGKILL`. */
export const SIGKILL: number = S.SIGKILL!;
/** Signal number of SIGPIPE, write to a pipe with no reader, as Python's `signal.SIGPIPE`. */
export const SIGPIPE: number = S.SIGPIPE!;
/** Signal number of SIGTERM, termination request (`terminate()`), as Python's `signal.SIGTERM`. */
export const SIGTERM: number = S.SIGTERM!;
/** Signal number of SIGCHLD, a child stopped or ended, as Python's `signal.SIGCHLD`. */
export const SIGCHLD: number = S.SIGCHLD!;
/** Signal number of SIGUSR1, user-defined signal 1, as Python's `signal.SIGUSR1`. */
export const SIGUSR1: number = S.SIGUSR1!;
/** Signal number of SIGSTOP, stop (cannot be caught), as Python's `signal.SIGSTOP`. */
export const SIGSTOP: number = S.SIGSTOP!;
/** Signal number of SIGCONT, continue after a stop, as Python's `signal.SIGCONT`. */
export const SIGCONT: number = S.SIGCONT!;

/** posixSpawn's `stdio` entry: the child keeps the parent's descriptor. */
export const SPAWN_INHERIT = -1;
/** posixSpawn's `stdio` entry: the child gets /dev/null. */
export const SPAWN_DEVNULL = -2;

/** Options of {@link posixSpawn}, beyond Python's path, argv and env. */
export interface PosixSpawnOptions {
  /** The child's descriptors 0, 1, 2: a descriptor to dup2, SPAWN_INHERIT (default) or SPAWN_DEVNULL. */
  stdio?: readonly [number, number, number];
  /** The child's working directory (a chdir file action); null: the parent's. */
  cwd?: string | null;
  /** Python's `setsid`: the child leads a new session. */
  setsid?: boolean;
  /** Python's `setpgroup`: the child's process group (0: a new one, its own pid). */
  setpgroup?: number | null;
  /** Python's subprocess `restore_signals` (default true): SIGPIPE and SIGXFSZ back to their default action. */
  restoreSignals?: boolean;
}

/** A path or argument as Python's fsencode takes it: a str without NUL. */
function strArg(x: unknown): string {
  if (typeof x !== 'string') throw new TypeError(`expected str, bytes or os.PathLike object, not ${pyTypeName(x)}`);
  if (x.includes('\0')) throw new ValueError('embedded null byte');
  return x;
}

/** The most arguments one spawn takes (native/spawn.cc's bound too): a longer list is a lie or far past ARG_MAX. */
const SPAWN_MAX_ARGS = 1 << 20;

/** Python's `argv` check: a non-empty list or tuple of str. */
function argvArg(argv: unknown): string[] {
  if (!Array.isArray(argv)) throw new TypeError('posix_spawn: argv must be a tuple or list');
  if (argv.length === 0) throw new ValueError('posix_spawn: argv must not be empty');
  // Before any copy: a sparse array of length 2**32-1 would take minutes, a Proxy's 2**53-1 a RangeError.
  if (argv.length > SPAWN_MAX_ARGS) throw new ValueError('too many arguments');
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) out.push(strArg(argv[i]));
  return out;
}

/** Python's `env` check: a mapping of str to str, keys without '='. */
export function envArg(env: unknown): string[] | null {
  if (env === null || env === undefined) return null;
  if (typeof env !== 'object' || Array.isArray(env)) throw new TypeError('posix_spawn: environment must be a mapping object');
  const out: string[] = [];
  for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
    strArg(k);
    const value = strArg(v);
    if (k.length === 0 || k.includes('=')) throw new ValueError('illegal environment variable name');
    out.push(`${k}=${value}`);
  }
  return out;
}

function stdioArg(stdio: unknown): Int32Array {
  if (stdio === undefined) return new Int32Array([SPAWN_INHERIT, SPAWN_INHERIT, SPAWN_INHERIT]);
  if (!Array.isArray(stdio) || stdio.length !== 3) throw new TypeError('stdio must be an array of 3 descriptors');
  const out = new Int32Array(3);
  for (let i = 0; i < 3; i++) {
    const fd = toClinicInt(stdio[i]);
    if (fd < SPAWN_DEVNULL) throw new ValueError(`stdio[${i}] must be a descriptor, SPAWN_INHERIT or SPAWN_DEVNULL, not ${fd}`);
    out[i] = fd;
  }
  return out;
}

function spawn(path: unknown, argv: unknown, env: unknown, options: PosixSpawnOptions, search: boolean): number {
  const p = strArg(path);
  const args = argvArg(argv);
  const envs = envArg(env);
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${pyTypeName(options)}`);
  const stdio = stdioArg(options.stdio);
  const cwd = options.cwd === undefined || options.cwd === null ? null : strArg(options.cwd);
  const pgroup = options.setpgroup === undefined || options.setpgroup === null ? -1 : toClinicInt(options.setpgroup);
  if (pgroup < -1) throw new ValueError('setpgroup must be a process group id');
  let flags = search ? 2 : 0;
  if (options.setsid === true) flags |= 1;
  if (options.restoreSignals !== false) flags |= 4;
  try {
    return native.posix_spawn(p, args, envs, stdio, cwd, flags, pgroup);
  } catch (e) {
    const err = fromNative(e);
    // Python's path_error: the failing path in the message.
    if (err instanceof Error && typeof (err as OSError).errno === 'number' && (err as OSError).syscall === 'posix_spawn') {
      throw withFilename(err as OSError, p);
    }
    throw err;
  }
}

/** The same OSError class and errno, with Python's `: 'filename'` in the message. */
export function withFilename(err: OSError, filename: string): OSError {
  const Cls = err.constructor as new (errno: number, strerror?: string, options?: { syscall?: string; filename?: string }) => OSError;
  return new Cls(err.errno!, err.strerror, { syscall: err.syscall, filename });
}

/**
 * Python's `os.posix_spawn(path, argv, env)`: starts `path` (not searched
 * on PATH) with `argv` and `env` (a mapping; null: this process's
 * environment). Returns the child's pid. Exec failures come back as the
 * exec's errno, e.g. FileNotFoundError with the path as filename.
 */
export function posixSpawn(path: string, argv: readonly string[], env: Record<string, string> | null, options: PosixSpawnOptions = {}): number {
  return spawn(path, argv, env, options, false);
}

/** Python's `os.posix_spawnp`: as posixSpawn, searching `path` on this process's PATH. */
export function posixSpawnp(path: string, argv: readonly string[], env: Record<string, string> | null, options: PosixSpawnOptions = {}): number {
  return spawn(path, argv, env, options, true);
}

/** A signal number: a C int, and EINVAL from the call (as the kernel says) outside 0..64. */
function sigArg(sig: unknown, syscall: string): number {
  const s = toClinicInt(sig);
  if (s < 0 || s > 64) throw fromErrno(errnoConstants.EINVAL!, undefined, { syscall });
  return s;
}

function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Python's `os.pidfd_open(pid)`: a descriptor (close-on-exec) that turns
 * readable when the process exits. OSError ENOSYS off Linux (or before 5.3).
 */
export function pidfdOpen(pid: number, flags: number = 0): number {
  const p = toClinicInt(pid);
  if (toClinicInt(flags) !== 0) throw fromErrno(errnoConstants.EINVAL!, undefined, { syscall: 'pidfd_open' });
  return call(() => native.pidfd_open(p));
}

/** Python's `signal.pidfd_send_signal(pidfd, sig)`. */
export function pidfdSendSignal(pidfd: number, sig: number): void {
  const fd = toClinicInt(pidfd);
  const s = sigArg(sig, 'pidfd_send_signal');
  call(() => native.pidfd_send_signal(fd, s));
}

/** Python's `os.waitpid(pid, options)`: `[pid, status]`, `[0, 0]` with WNOHANG and nothing to report. */
export function waitpid(pid: number, options: number): [number, number] {
  const p = toClinicInt(pid);
  const o = toClinicInt(options);
  return call(() => native.waitpid(p, o));
}

/** Python's `os.waitstatus_to_exitcode(status)`: the exit code, or `-signal` for a killed process. */
export function waitstatusToExitcode(status: number): number {
  const s = toClinicInt(status);
  return call(() => native.waitstatus_to_exitcode(s));
}

/** Python's `os.kill(pid, sig)`; ProcessLookupError when no such process. */
export function kill(pid: number, sig: number): void {
  const p = toClinicInt(pid);
  const s = sigArg(sig, 'kill');
  call(() => native.kill(p, s));
}
