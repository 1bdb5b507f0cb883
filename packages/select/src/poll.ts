/**
 * poll(): Python's select.poll object.
 *
 * The struct pollfd array handed to poll(2) lives in an Int32Array that is
 * kept up to date on every register/modify/unregister, so poll() itself does
 * no per-call marshalling. Registration order is Python's dict order: a new
 * descriptor goes last, re-registering keeps its place, and unregister
 * leaves a hole (fd -1, which poll(2) ignores) that is compacted away once
 * holes outnumber live entries, so results come back in registration order.
 */
import { fromErrno } from '@iomux/core-native';
import { KeyError, OverflowError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { fdOf } from './internal/fileobj.js';
import { B, C } from './internal/native.js';
import { ENOENT, isEintr, maxArgs, rethrow } from './internal/errors.js';
import { toPollMs, now, remainingMs } from './internal/timeout.js';
import { PendingWait, checkWaitOptions, isOptions, type AsyncWaitOptions } from './internal/async.js';
import { openWakeSource, type WakeSource } from './internal/wakeup.js';

const DEFAULT_MASK = C.POLLIN! | C.POLLPRI! | C.POLLOUT!;
const USHRT_MAX = 65535;

/** The "unsigned short" event mask converter of CPython 3.11's poll. */
function toMask(x: unknown): number {
  let v: number;
  if (typeof x === 'number' && Number.isInteger(x)) v = x;
  else if (typeof x === 'bigint') v = x >= 2n ** 64n ? Infinity : x < 0n ? -1 : Number(x);
  else throw new TypeError('an integer is required');
  if (v < 0) throw new ValueError('value must be positive');
  if (v >= 2 ** 64) throw new OverflowError('Python int too large to convert to C unsigned long');
  if (v > USHRT_MAX) throw new OverflowError('Python int too large for C unsigned short');
  return v;
}

const TOKEN = Symbol('iomux.poll');

/** A poll object; make one with `poll()`. */
export class Poll {
  /** fd -> slot index in #pfd (insertion-ordered, as Python's dict). */
  #slots = new Map<number, number>();
  /** struct pollfd[]: [fd, events | revents << 16] per slot. */
  #pfd = new Int32Array(16);
  /** Slots in use, holes included. */
  #used = 0;
  #holes = 0;
  #out = new Int32Array(16);
  #running = false;
  /** The wait in flight (pollAsync), if any. */
  #inFlight: PendingWait<[number, number]> | null = null;
  /** The wake source watching the registered descriptors (pollAsync only). */
  #wake: WakeSource | null = null;

  /** @internal Use `poll()`: like Python, the type cannot be instantiated. */
  constructor(token?: unknown) {
    if (token !== TOKEN) throw new TypeError("cannot create 'select.poll' instances");
  }

  /**
   * Registers `fd` (an int, an object with fileno(), or a Node handle) for
   * `eventmask` (default POLLIN | POLLPRI | POLLOUT). Registering again
   * replaces the mask.
   */
  register(fd: unknown, eventmask?: number): void {
    const n = arguments.length;
    if (n < 1) throw new TypeError('register expected at least 1 argument, got 0');
    maxArgs('register', n, 2);
    const f = fdOf(fd);
    const mask = eventmask === undefined ? DEFAULT_MASK : toMask(eventmask);
    const slot = this.#slots.get(f);
    if (slot !== undefined) this.#pfd[2 * slot + 1] = mask;
    else this.#append(f, mask);
    this.#wakeSet(f, mask);
  }

  /** Changes the mask of a registered `fd`; FileNotFoundError if unknown. */
  modify(fd: unknown, eventmask: number): void {
    const n = arguments.length;
    if (n !== 2) throw new TypeError(`modify expected 2 arguments, got ${n}`);
    const f = fdOf(fd);
    const mask = toMask(eventmask);
    const slot = this.#slots.get(f);
    if (slot === undefined) throw fromErrno(ENOENT);
    this.#pfd[2 * slot + 1] = mask;
    this.#wakeSet(f, mask);
  }

  /** Removes `fd`; KeyError if it is not registered. */
  unregister(fd: unknown): void {
    const n = arguments.length;
    if (n !== 1) throw new TypeError(`poll.unregister() takes exactly one argument (${n} given)`);
    const f = fdOf(fd);
    const slot = this.#slots.get(f);
    if (slot === undefined) throw new KeyError(f);
    this.#slots.delete(f);
    this.#wake?.delete(f);
    this.#pfd[2 * slot] = -1;
    this.#pfd[2 * slot + 1] = 0;
    this.#holes++;
    if (this.#holes > 32 && this.#holes * 2 > this.#used) this.#compact();
  }

  /**
   * Waits for events on the registered descriptors. `timeout` is in
   * milliseconds (floats allowed, rounded up); omitted, null or negative
   * blocks. Returns `[fd, revents]` pairs in registration order.
   */
  poll(timeout?: number | null): Array<[number, number]> {
    if (arguments.length > 1) throw new TypeError(`poll expected at most 1 argument, got ${arguments.length}`);
    const ms = toPollMs(timeout, 1e6);
    if (this.#running || this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    return this.#wait(ms);
  }

  /**
   * The promise twin of poll() (timeout in milliseconds): waits without
   * blocking the JS thread. `signal` aborts the wait (rejecting with its
   * reason) and leaves the object usable; a second wait while one is in
   * flight is `RuntimeError('concurrent poll() invocation')`.
   *
   * Beyond Python: the first wait that has to block opens a private wake
   * source watching the registered descriptors (on Linux an epoll
   * descriptor, which the addon watches; see internal/wakeup.ts).
   * `close()` releases it; garbage collection does too.
   */
  pollAsync(timeout?: number | null | AsyncWaitOptions, options?: AsyncWaitOptions): Promise<Array<[number, number]>> {
    try {
      let opts: AsyncWaitOptions | undefined;
      if (isOptions(timeout)) {
        opts = timeout as AsyncWaitOptions;
        timeout = undefined;
      } else {
        opts = options;
      }
      const signal = checkWaitOptions(opts, 'pollAsync');
      const ms = toPollMs(timeout, 1e6);
      if (this.#running || this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
      const wait = new PendingWait<[number, number]>(
        () => this.#wait(0),
        ms,
        signal,
        () => {
          this.#inFlight = null;
        },
        opts?.assumeNotReady !== true,
      );
      if (!wait.done) {
        this.#inFlight = wait;
        try {
          let refused = false;
          // A source with no handle (EMFILE last time) is opened again.
          if (this.#wake === null || this.#wake.handle === null) {
            const s = openWakeSource();
            this.#wake = s;
            const pfd = this.#pfd;
            for (const [fd, slot] of this.#slots) if (!s.set(fd, pfd[2 * slot + 1]! & 0xffff)) refused = true;
          }
          wait.watch(this.#wake);
          // poll(2) reports a descriptor the source refuses at once: look now.
          if (refused) wait.poke();
        } catch (e) {
          // Settle the armed wait, or #inFlight stays set.
          wait.cancel(e);
        }
      }
      return wait.promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Beyond Python: ends a pollAsync() in flight now, resolving it with []
   * (no error). Returns whether a wait was in flight.
   */
  interruptWait(): boolean {
    return this.#inFlight?.interrupt() ?? false;
  }

  /**
   * Beyond Python: releases the wake source pollAsync() opened, and
   * rejects a wait in flight with ValueError. The object stays usable.
   */
  close(): void {
    this.#inFlight?.cancel(new ValueError('I/O operation on closed poll object'));
    const s = this.#wake;
    this.#wake = null;
    s?.close();
  }

  /** Runs close() at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  #wakeSet(fd: number, mask: number): void {
    const s = this.#wake;
    if (s === null) return;
    // A descriptor the source refuses (a regular file, a closed one) is
    // ready for poll(2) at once: let a wait in flight look now.
    if (!s.set(fd, mask) && this.#inFlight !== null) {
      const w = this.#inFlight;
      queueMicrotask(() => w.poke());
    }
  }

  /** poll(2) with the PEP 475 retry; the result as [fd, revents] pairs. */
  #wait(ms: number): Array<[number, number]> {
    const nfds = this.#used;
    if (this.#out.length < 2 * nfds) this.#out = new Int32Array(2 * this.#pfd.length);
    const out = this.#out;
    const deadline = ms > 0 ? now() + ms : 0;
    let got: number;
    this.#running = true;
    try {
      for (;;) {
        try {
          got = B.poll(this.#pfd, nfds, ms, out);
          break;
        } catch (e) {
          if (!isEintr(e)) rethrow(e);
          if (ms > 0) ms = remainingMs(deadline);
        }
      }
    } finally {
      this.#running = false;
    }
    const result: Array<[number, number]> = new Array(got);
    for (let i = 0; i < got; i++) result[i] = [out[2 * i]!, out[2 * i + 1]!];
    return result;
  }

  #append(fd: number, mask: number): void {
    if (2 * (this.#used + 1) > this.#pfd.length) {
      if (this.#holes * 2 > this.#used) {
        this.#compact();
      } else {
        const grown = new Int32Array(this.#pfd.length * 2);
        grown.set(this.#pfd);
        this.#pfd = grown;
      }
    }
    const slot = this.#used++;
    this.#pfd[2 * slot] = fd;
    this.#pfd[2 * slot + 1] = mask;
    this.#slots.set(fd, slot);
  }

  /** Squeezes out the holes, keeping registration order. */
  #compact(): void {
    const pfd = this.#pfd;
    let j = 0;
    for (let i = 0; i < this.#used; i++) {
      const fd = pfd[2 * i]!;
      if (fd === -1) continue;
      if (i !== j) {
        pfd[2 * j] = fd;
        pfd[2 * j + 1] = pfd[2 * i + 1]!;
        this.#slots.set(fd, j);
      }
      j++;
    }
    for (let i = j; i < this.#used; i++) {
      pfd[2 * i] = -1;
      pfd[2 * i + 1] = 0;
    }
    this.#used = j;
    this.#holes = 0;
  }
}

/** Python's `select.poll()`: a new poll object. */
export const poll: {
  (): Poll;
  /** `Poll.prototype`, so that `p instanceof poll` holds. */
  readonly prototype: Poll;
} = Object.assign(
  function poll(): Poll {
    if (arguments.length > 0) throw new TypeError(`select.poll() takes no arguments (${arguments.length} given)`);
    return new Poll(TOKEN);
  },
  {},
) as never;
// `p instanceof poll` holds, as isinstance(p, type(select.poll())) does.
Object.defineProperty(poll, 'prototype', { value: Poll.prototype });
