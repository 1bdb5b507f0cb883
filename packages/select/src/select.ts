/**
 * select(rlist, wlist, xlist, timeout?): Python's select.select.
 *
 * Each list may be an array (read live, as CPython reads a list, so a
 * fileno() that shrinks it is safe) or any iterable. The result holds the
 * caller's own objects, in the caller's order, in three new arrays.
 */
import { ValueError } from '@iomux/core-native/error-classes';
import { fdOf } from './internal/fileobj.js';
import { B, C, SETSIZE } from './internal/native.js';
import { isEintr, rethrow } from './internal/errors.js';
import { toNanoseconds, now } from './internal/timeout.js';
import { PendingWait, checkWaitOptions, isOptions, type AsyncWaitOptions } from './internal/async.js';
import { openWakeSource, type WakeSource } from './internal/wakeup.js';

// From the addon: what selectAsync's wake source watches each list for.
const POLLIN = C.POLLIN!;
const POLLOUT = C.POLLOUT!;
const POLLPRI = C.POLLPRI!;

/**
 * What select() and the poll objects take as a descriptor: an int, or an object
 * with a `fileno()` method (a Socket, a selector key's fileobj), or a Node handle.
 */
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
    // One item past FD_SETSIZE is enough to fail: never copy a huge iterable.
    const items: unknown[] = [];
    for (const o of seq as Iterable<unknown>) if (items.push(o) > SETSIZE) break;
    list = items;
  } else {
    throw new TypeError('arguments 1-3 must be sequences');
  }
  const len0 = Math.min(list.length, SETSIZE);
  const objs: unknown[] = new Array(len0);
  let fds = new Int32Array(len0);
  let n = 0;
  // The length is re-read on every turn: a fileno() may shrink the array
  // (CPython issue 16230); what was taken before stays taken.
  for (let i = 0; i < list.length; i++) {
    if (n >= SETSIZE) throw new ValueError('too many file descriptors in select()');
    const o = list[i];
    // Fast path for the common case, a small non-negative int.
    const fd = typeof o === 'number' && (o | 0) === o && o >= 0 ? o : fdOf(o);
    if (fd >= SETSIZE) throw new ValueError('filedescriptor out of range in select()');
    if (n === fds.length) {
      // A fileno() grew the list: make room.
      const grown = new Int32Array(Math.min(SETSIZE, 2 * n + 8));
      grown.set(fds);
      fds = grown;
    }
    objs[n] = o;
    fds[n++] = fd;
  }
  objs.length = n;
  return { objs, fds: n === fds.length ? fds : fds.slice(0, n) };
}

/** select(2) with the PEP 475 retry; leaves -1 in every entry not ready. */
function selectOnce(r: Prepared, w: Prepared, x: Prepared, us: number): void {
  const deadline = us > 0 ? now() + us / 1000 : 0;
  for (;;) {
    try {
      B.select(r.fds, w.fds, x.fds, us);
      return;
    } catch (e) {
      if (!isEintr(e)) rethrow(e);
      // PEP 475: retry with what is left of the timeout.
      if (us > 0) us = Math.max(0, Math.ceil((deadline - now()) * 1000));
    }
  }
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
  selectOnce(r, w, x, us);
  return [harvest<R>(r), harvest<W>(w), harvest<X>(x)];
}

/**
 * The promise twin of select(): waits without blocking the JS thread, so
 * Node's timers, sockets and fs keep running meanwhile. Same arguments,
 * checks and result as select(); `signal` aborts the wait, rejecting with
 * its reason.
 *
 * How it waits: one select() with timeout 0 first; if nothing is ready, a
 * private wake source watching the three lists (read: POLLIN, write:
 * POLLOUT, exceptional: POLLPRI; epoll on Linux, a timer where there is no
 * such mechanism) wakes Node's own loop, and each wake-up runs select() with
 * timeout 0 again (internal/wakeup.ts, internal/async.ts).
 */
export function selectAsync<R = FileLike, W = FileLike, X = FileLike>(
  rlist: Iterable<R>,
  wlist: Iterable<W>,
  xlist: Iterable<X>,
  timeout?: number | null,
  options?: AsyncWaitOptions,
): Promise<[R[], W[], X[]]> {
  try {
    const n = arguments.length;
    if (n < 3) throw new TypeError(`select expected at least 3 arguments, got ${n}`);
    if (n > 5) throw new TypeError(`select expected at most 4 arguments, got ${n - 1}`);
    if (isOptions(timeout)) {
      if (n > 4) throw new TypeError('selectAsync() takes the options object last');
      options = timeout as AsyncWaitOptions;
      timeout = undefined;
    }
    const signal = checkWaitOptions(options, 'selectAsync');
    const assumeNotReady = options?.assumeNotReady === true;
    const us = toSelectUs(timeout);
    const r = prepare(rlist);
    const w = prepare(wlist);
    const x = prepare(xlist);
    const saved = [r.fds.slice(), w.fds.slice(), x.fds.slice()] as const;
    const attempt = (): Array<[R[], W[], X[]]> => {
      r.fds.set(saved[0]);
      w.fds.set(saved[1]);
      x.fds.set(saved[2]);
      selectOnce(r, w, x, 0);
      const res: [R[], W[], X[]] = [harvest<R>(r), harvest<W>(w), harvest<X>(x)];
      return res[0].length + res[1].length + res[2].length > 0 ? [res] : [];
    };
    let source: WakeSource | null = null;
    const ms = us < 0 ? -1 : Math.ceil(us / 1000);
    const wait = new PendingWait<[R[], W[], X[]]>(
      attempt,
      ms,
      signal,
      () => {
        source?.close();
        source = null;
      },
      !assumeNotReady,
    );
    if (!wait.done) {
      try {
        const s = openWakeSource();
        source = s;
        const masks = new Map<number, number>();
        const add = (fds: Int32Array, bit: number): void => {
          for (const fd of fds) masks.set(fd, (masks.get(fd) ?? 0) | bit);
        };
        add(saved[0], POLLIN);
        add(saved[1], POLLOUT);
        add(saved[2], POLLPRI);
        let refused = false;
        for (const [fd, mask] of masks) if (!s.set(fd, mask)) refused = true;
        wait.watch(s);
        // select(2) reports a descriptor the source refuses at once: look now.
        if (refused) wait.poke();
      } catch (e) {
        source?.close();
        source = null;
        // Settle the armed wait (timer, abort listener), never orphan it.
        wait.cancel(e);
      }
    }
    return wait.promise.then((v) => v[0] ?? [[], [], []]);
  } catch (e) {
    return Promise.reject(e);
  }
}
