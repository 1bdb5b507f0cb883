/**
 * Python's timeout conversions (Python/pytime.c, Modules/selectmodule.c in
 * CPython 3.11), so that every iomux wait takes the same values, rounds the
 * same way (away from zero: a wait is never shorter than asked) and fails
 * with the same errors and messages.
 */
import { OverflowError, ValueError } from '@iomux/core-native/error-classes';

/** The largest `_PyTime_t` (int64 nanoseconds). */
const PYTIME_MAX = 9223372036854775807;
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/**
 * A timeout in `unitNs` nanoseconds per unit (1e9 for seconds, 1e6 for
 * milliseconds) as int64 nanoseconds, rounded away from zero
 * (`_PyTime_ROUND_TIMEOUT`). `typeError` is the message for a non-number.
 *
 * JS has one number type, so Python's int/float distinction is guessed: a
 * safe integer or a bigint overflows as a Python int does ("too large to
 * convert to C _PyTime_t"), anything else as a float ("out of range for
 * platform time_t"). Both are OverflowError.
 */
export function toNanoseconds(t: unknown, unitNs: number, typeError: string): number {
  let v: number;
  let isInt: boolean;
  if (typeof t === 'number') {
    v = t;
    isInt = Number.isSafeInteger(t);
  } else if (typeof t === 'bigint') {
    v = Number(t);
    isInt = true;
  } else {
    throw new TypeError(typeError);
  }
  if (Number.isNaN(v)) throw new ValueError('Invalid value NaN (not a number)');
  let ns = v * unitNs;
  ns = ns >= 0 ? Math.ceil(ns) : Math.floor(ns);
  if (!(ns <= PYTIME_MAX && ns >= -PYTIME_MAX)) {
    throw new OverflowError(isInt ? 'timestamp too large to convert to C _PyTime_t' : 'timestamp out of range for platform time_t');
  }
  return ns;
}

/**
 * poll()/epoll.poll(): int milliseconds for the syscall, rounded up; -1
 * (block) for null/undefined and for any negative value, as CPython does.
 */
export function toPollMs(t: unknown, unitNs: number): number {
  if (t === undefined || t === null) return -1;
  if (t === 0) return 0; // fast path: the common non-blocking poll
  const ns = toNanoseconds(t, unitNs, 'timeout must be an integer or None');
  const ms = ns >= 0 ? Math.ceil(ns / 1e6) : Math.floor(ns / 1e6);
  if (ms > INT_MAX || ms < INT_MIN) throw new OverflowError('timeout is too large');
  return ms < 0 ? -1 : ms;
}

/** Monotonic milliseconds (CLOCK_MONOTONIC, as the kernel's timeouts use). */
export const now: () => number = performance.now.bind(performance);

/** Remaining whole milliseconds to `deadline`, rounded up, never negative. */
export function remainingMs(deadline: number): number {
  const left = Math.ceil(deadline - now());
  return left > 0 ? Math.min(left, INT_MAX) : 0;
}
