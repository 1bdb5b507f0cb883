// Hostile input: every bad argument iomux can be handed, at the Python-level
// API (select, poll, epoll, os, socket) and directly at the native binding.
// Each case asserts the error class and message; the expected values are
// CPython 3.11's, checked case by case with python3 (the snippet is in the
// comment where it is not obvious). Where iomux deliberately differs from
// Python, the case says so and asserts iomux's documented behaviour.
//
// This file holds what the hostile-input-*.test.ts files share; each of
// them ends with the process alive and /proc/self/fd as before
// (checkNoFdLeak; hostile-input-binding.test.ts also compares numbers).
import t, { type Test } from 'tap';
import * as select from '@iomux/select';
import { fromNative, os } from '@iomux/core-native';

export type ErrorClass = abstract new (...args: any[]) => Error;

/** Lets a case pass what the types forbid. */
export const bad = (x: unknown): any => x;
export const epoll = select.epoll!;
export const EPOLLIN = select.EPOLLIN!;
export const EPOLLOUT = select.EPOLLOUT!;
export const { POLLIN, POLLOUT } = select;

/**
 * Asserts that `fn` throws an instance of `cls` whose name is the class's
 * Python name and whose message is exactly `message` (t.throws alone matches
 * a substring), plus any `extra` fields (errno, code).
 */
export function raises(t: Test, fn: () => unknown, cls: ErrorClass, message: string, extra: Record<string, unknown> = {}): unknown {
  let caught: unknown;
  t.throws(
    () => {
      try {
        fn();
      } catch (e) {
        caught = e;
        throw e;
      }
    },
    { name: cls.name, message, ...extra },
  );
  t.ok(caught instanceof cls, `instanceof ${cls.name}`);
  t.equal((caught as Error | undefined)?.message, message, 'exact message');
  return caught;
}

/** One named subtest per case. */
export function bad1(name: string, fn: () => unknown, cls: ErrorClass, message: string, extra: Record<string, unknown> = {}): void {
  t.test(name, async (t) => {
    raises(t, fn, cls, message, extra);
  });
}

/** Runs `fn` on the raw binding and maps what it throws as the TS layer does. */
export const nat =
  (fn: () => unknown) =>
  (): unknown => {
    try {
      return fn();
    } catch (e) {
      throw fromNative(e);
    }
  };

/** A pipe closed again at once: its numbers are descriptors that were open. */
export function closedPipe(): [number, number] {
  const [r, w] = os.pipe();
  os.close(r);
  os.close(w);
  return [r, w];
}

/** Runs `body` with a fresh pipe, closed afterwards whatever happens. */
export function withPipe<T>(body: (r: number, w: number) => T): T {
  const [r, w] = os.pipe();
  try {
    return body(r, w);
  } finally {
    os.close(r);
    os.close(w);
  }
}

export function withEpoll<T>(body: (ep: select.Epoll, r: number, w: number) => T): T {
  return withPipe((r, w) => {
    const ep = epoll();
    try {
      return body(ep, r, w);
    } finally {
      ep.close();
    }
  });
}

export const fileno = (v: unknown) => ({
  fileno(): unknown {
    if (v instanceof Error) throw v;
    return v;
  },
});

export const NOT_FILEOBJ = 'argument must be an int, or have a fileno() method.';
export const NEG = (n: number) => `file descriptor cannot be a negative integer (${n})`;
export const TOO_BIG_INT = 'Python int too large to convert to C int';
export const EBADF = { errno: 9, code: 'EBADF' };
export const EBADF_MSG = '[Errno 9] Bad file descriptor';
