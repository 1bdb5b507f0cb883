// The default socket timeout, waiting for readiness (through poll) under a
// timeout, and a socket's call under its timeout (sock_call_ex).
import { binding } from '../binding.js';
import { errnoConstants, selectConstants } from '../constants.js';
import { fromNative, OverflowError, TimeoutError, ValueError } from '../errors.js';
import { INT_MAX, pyTypeName } from '../pyargs.js';
import { call, isErrno, osError } from './errors.js';

const EINTR = errnoConstants.EINTR!;
const EBADF = errnoConstants.EBADF!;
const EAGAIN = errnoConstants.EAGAIN!;
const EWOULDBLOCK = errnoConstants.EWOULDBLOCK ?? EAGAIN;
const POLLIN = selectConstants.POLLIN!;
const POLLOUT = selectConstants.POLLOUT!;

let defaultTimeout: number | null = null;

/** Python's `socket.getdefaulttimeout()`: seconds, or null (blocking). */
export function getdefaulttimeout(): number | null {
  return defaultTimeout;
}

/**
 * Python's `socket.setdefaulttimeout(timeout)`: the timeout, in seconds, of
 * sockets created from now on; null means blocking.
 * @throws {ValueError} if timeout is negative or NaN
 */
export function setdefaulttimeout(value: number | null): void {
  defaultTimeout = timeoutArg(value);
}

/** Python's `_PyTime_FromSecondsObject` checks for a socket timeout. */
export function timeoutArg(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  let v: number;
  if (typeof value === 'boolean') v = value ? 1 : 0;
  else if (typeof value === 'number') v = value;
  else if (typeof value === 'bigint') v = Number(value);
  else throw new TypeError(`'${pyTypeName(value)}' object cannot be interpreted as an integer`);
  if (Number.isNaN(v)) throw new ValueError('Invalid value NaN (not a number)');
  if (!Number.isFinite(v) || Math.abs(v) * 1e9 >= 2 ** 63) {
    throw new OverflowError('timestamp out of range for platform time_t');
  }
  if (v < 0) throw new ValueError('Timeout value out of range');
  return v;
}

// One struct pollfd: int32 fd, int16 events, int16 revents, in native order.
const pollBuf = new ArrayBuffer(8);
const pollFds = new Int32Array(pollBuf);
const pollEvents = new Int16Array(pollBuf);
const pollOut = new Int32Array(2);

/**
 * Waits until fd is readable (or writable) or `ms` milliseconds pass.
 * Returns false on timeout. EINTR is thrown (the caller retries, PEP 475).
 */
function waitFd(fd: number, writing: boolean, ms: number): boolean {
  pollFds[0] = fd;
  pollEvents[2] = writing ? POLLOUT : POLLIN;
  pollEvents[3] = 0;
  return call(() => binding.poll(pollFds, 1, ms, pollOut)) > 0;
}

/**
 * Waits for readiness before the deadline (performance.now() milliseconds).
 * Returns false once the deadline has passed, as CPython's internal_select.
 */
export function waitUntil(fd: number, writing: boolean, deadline: number): boolean {
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining < 0) return false;
    // Round up, never down, to poll's millisecond resolution.
    const ms = Math.min(Math.ceil(remaining), INT_MAX);
    let ready: boolean;
    try {
      ready = waitFd(fd, writing, ms);
    } catch (e) {
      if (isErrno(e, EINTR)) continue;
      throw e;
    }
    if (ready) return true;
    if (ms === Math.ceil(remaining)) return false;
  }
}

/**
 * CPython's sock_call_ex(): runs `fn` once for a blocking or non-blocking
 * socket; with a timeout, waits for readiness first and retries
 * EWOULDBLOCK until the deadline, then throws TimeoutError('timed out').
 * `fd` and `timeout` are the socket's (Socket's #fd and #timeout).
 */
export function sockCallEx<T>(fd: number, timeout: number | null, writing: boolean, syscall: string, fn: (fd: number) => T, deadline?: number): T {
  if (fd < 0) throw osError(EBADF, syscall);
  if (timeout === null || timeout === 0) {
    try {
      return fn(fd);
    } catch (e) {
      throw fromNative(e);
    }
  }
  const end = deadline ?? performance.now() + timeout * 1000;
  for (;;) {
    if (!waitUntil(fd, writing, end)) throw new TimeoutError('timed out');
    try {
      return call(() => fn(fd));
    } catch (e) {
      if (isErrno(e, EAGAIN, EWOULDBLOCK)) continue;
      throw e;
    }
  }
}
