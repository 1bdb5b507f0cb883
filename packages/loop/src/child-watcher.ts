/**
 * Child exit watching: CPython 3.11 Lib/asyncio/unix_events.py
 * `PidfdChildWatcher`, on the loop's own selector and without a thread per
 * child. A pidfd turns readable when its process exits: the loop reads it
 * like any descriptor, then reaps the child with waitpid(pid, WNOHANG).
 *
 * Differs from CPython: where pidfd_open is missing (ENOSYS: not Linux, or
 * Linux before 5.3), the fallback polls waitpid(pid, WNOHANG) on a loop
 * timer, from 1 ms doubling up to 100 ms, instead of a SIGCHLD handler or
 * a thread: Node owns SIGCHLD for its own children. libuv reaps only the
 * pids it started, so it never takes one of these.
 */
import { errnoConstants as E, FD_SETSIZE, os } from '@iomux/core-native';
import { selectorBackend } from '@iomux/selectors';
import { ChildProcessError, OSError } from '@iomux/core-native/error-classes';
import type { SelectorEventLoop } from './selector-events.js';

/** The fallback's first and longest wait between two waitpid() polls, in seconds. */
const POLL_FIRST = 0.001;
const POLL_MAX = 0.1;

/** Each loop's children not yet reaped: what its close() lets go of. */
const watched = new WeakMap<SelectorEventLoop, Set<WatchedChild>>();

/** Whether pidfd_open works here: unknown until the first child, false after ENOSYS. */
let pidfdWorks: boolean | null = null;

/** @internal For tests of the fallback: false forces polling; null looks again. */
export function _setPidfdAvailable(v: boolean | null): void {
  pidfdWorks = v;
}

/** A child being watched: its pid, its pidfd (null with the fallback). */
export interface WatchedChild {
  readonly pid: number;
  /** Open until the child is reaped; signals go through it (no pid reuse race). */
  pidfd: number | null;
  /** Set once reaped. */
  returncode: number | null;
}

/**
 * Opens a pidfd for `pid` where the system has them (close-on-exec).
 * Returns null when it does not (the fallback).
 */
export function openPidfd(pid: number): number | null {
  if (pidfdWorks === false) return null;
  try {
    const fd = os.pidfdOpen(pid);
    pidfdWorks = true;
    return fd;
  } catch (e) {
    if (e instanceof OSError && (e.errno === E.ENOSYS || e.errno === E.EPERM)) pidfdWorks = false;
    // Any other failure (EMFILE) polls this one child: it is running and must be reaped.
    return null;
  }
}

/** waitpid(pid, WNOHANG): the return code, or null while the child runs. */
function reap(loop: SelectorEventLoop, pid: number): number | null {
  let status: number;
  try {
    const [got, st] = os.waitpid(pid, os.WNOHANG);
    if (got === 0) return null;
    status = st;
  } catch (e) {
    if (!(e instanceof ChildProcessError)) throw e;
    loop.logger.warn(`child process pid ${pid} exit status already read:  will report returncode 255`);
    return 255;
  }
  return os.waitstatusToExitcode(status);
}

/**
 * asyncio's `add_child_handler(pid, callback)`: calls `callback(returncode)`
 * once, from the loop, when `child` exits, and reaps it.
 */
export function addChildHandler(loop: SelectorEventLoop, child: WatchedChild, callback: (returncode: number) => void): void {
  let children = watched.get(loop);
  if (children === undefined) watched.set(loop, (children = new Set()));
  children.add(child);
  const done = (code: number): void => {
    children.delete(child);
    child.returncode = code;
    if (child.pidfd !== null) {
      os.close(child.pidfd);
      child.pidfd = null;
    }
    callback(code);
  };
  const pidfd = child.pidfd;
  // select() takes no descriptor past FD_SETSIZE, and says so only when it
  // waits, breaking the loop: such a pidfd is polled instead.
  if (pidfd !== null && (pidfd < FD_SETSIZE || selectorBackend(loop._selector) !== 'select')) {
    try {
      loop._addReader(pidfd, () => {
        const code = reap(loop, child.pid);
        // A pidfd is readable only once the process exited; waitpid agrees.
        if (code === null) return;
        loop._removeReader(pidfd);
        done(code);
      }, []);
      return;
    } catch {
      // A selector that refuses it: the child still runs and must be
      // reaped, so poll for it instead.
    }
  }
  let delay = POLL_FIRST;
  const poll = (): void => {
    const code = reap(loop, child.pid);
    if (code !== null) {
      done(code);
      return;
    }
    delay = Math.min(delay * 2, POLL_MAX);
    loop.callLater(delay, poll);
  };
  loop.callLater(delay, poll);
}

/** Sends `sig` to a watched child: through its pidfd while open, else kill(pid). */
export function signalChild(child: WatchedChild, sig: number): void {
  if (child.returncode !== null) return;
  if (child.pidfd !== null) os.pidfdSendSignal(child.pidfd, sig);
  else os.kill(child.pid, sig);
}

/**
 * At loop close: closes the pidfds of children still running (no
 * descriptor outlives the loop) and reaps those that have exited; one that
 * still runs is left to run, with asyncio's warning ('Loop ... that handles
 * pid ... is closed'), and is a zombie after it exits until this process
 * ends or something else reaps it.
 */
export function releaseChildren(loop: SelectorEventLoop): void {
  const children = watched.get(loop);
  if (children === undefined) return;
  watched.delete(loop);
  for (const child of children) {
    if (child.pidfd !== null) {
      os.close(child.pidfd);
      child.pidfd = null;
    }
    let code: number | null = null;
    try {
      code = reap(loop, child.pid);
    } catch {
      // Reaped elsewhere: nothing left to hold.
    }
    if (code !== null) child.returncode = code;
    else loop.logger.warn(`Loop ${String(loop)} that handles pid ${child.pid} is closed`);
  }
}
