/**
 * select(rlist, wlist, xlist, timeout?): Python's select.select.
 *
 * Each list may be an array (read live, as CPython reads a list, so a
 * fileno() that shrinks it is safe) or any iterable. The result holds the
 * caller's own objects, in the caller's order, in three new arrays.
 */
import { binding, FD_SETSIZE, ValueError } from '@iomux/core-native';
import { fdOf } from './internal/fileobj.js';
import { isEintr, rethrow } from './internal/errors.js';
import { toNanoseconds, now } from './internal/timeout.js';

export type FileLike = number | { fileno(): number } | object;

interface Prepared {
  objs: unknown[];
  fds: Int32Array;
}

function prepare(seq: unknown): Prepared {
  let list: ArrayLike<unknown>;
  if (Array.isArray(seq)) {
    list = seq;
  } else if (seq !== null && seq !== undefined && typeof (seq as Iterable<unknown>)[Symbol.iterator] === 'function') {
    list = Array.from(seq as Iterable<unknown>);
  } else {
    throw new TypeError('arguments 1-3 must be sequences');
  }
  const objs: unknown[] = [];
  const fds: number[] = [];
  // The length is re-read on every turn: a fileno() may shrink the array
  // (CPython issue 16230); what was taken before stays taken.
  for (let i = 0; i < list.length; i++) {
    if (fds.length >= FD_SETSIZE) throw new ValueError('too many file descriptors in select()');
    const o = list[i];
    const fd = fdOf(o);
    if (fd >= FD_SETSIZE) throw new ValueError('filedescriptor out of range in select()');
    objs.push(o);
    fds.push(fd);
  }
  return { objs, fds: Int32Array.from(fds) };
}

function harvest<T>(p: Prepared): T[] {
  const out: T[] = [];
  const { objs, fds } = p;
  for (let i = 0; i < fds.length; i++) if (fds[i] !== -1) out.push(objs[i] as T);
  return out;
}

/** Microseconds for select(2), rounded up; -1 blocks. */
function toSelectUs(timeout: unknown): number {
  if (timeout === undefined || timeout === null) return -1;
  const ns = toNanoseconds(timeout, 1e9, 'timeout must be a float or None');
  if (ns < 0) throw new ValueError('timeout must be non-negative');
  // 2**53 us is 285 years: past that, a wait is a wait forever.
  return Math.min(Math.ceil(ns / 1000), Number.MAX_SAFE_INTEGER);
}

/**
 * Waits until one or more descriptors are ready for I/O. `timeout` is in
 * seconds (floats allowed); omitted or null blocks. Returns
 * `[readable, writable, exceptional]`.
 */
export function select<R = FileLike, W = FileLike, X = FileLike>(
  rlist: Iterable<R>,
  wlist: Iterable<W>,
  xlist: Iterable<X>,
  timeout?: number | null,
): [R[], W[], X[]] {
  const n = arguments.length;
  if (n < 3) throw new TypeError(`select expected at least 3 arguments, got ${n}`);
  if (n > 4) throw new TypeError(`select expected at most 4 arguments, got ${n}`);
  // CPython converts the timeout before it looks at the lists.
  let us = toSelectUs(timeout);
  const r = prepare(rlist);
  const w = prepare(wlist);
  const x = prepare(xlist);
  const deadline = us > 0 ? now() + us / 1000 : 0;
  for (;;) {
    try {
      binding.select(r.fds, w.fds, x.fds, us);
      break;
    } catch (e) {
      if (!isEintr(e)) rethrow(e);
      // PEP 475: retry with what is left of the timeout.
      if (us > 0) us = Math.max(0, Math.ceil((deadline - now()) * 1000));
    }
  }
  return [harvest<R>(r), harvest<W>(w), harvest<X>(x)];
}
