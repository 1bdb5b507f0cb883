/**
 * The promise twins' wake-up: one descriptor iomux owns that becomes
 * readable when something a wait watches may be ready, for the addon to
 * watch on Node's loop (native/wait.cc, through PendingWait.watch()).
 *
 * A poll object or a selectAsync() call opens a wake source and tells it
 * which descriptors to watch, with poll(2)'s bits; each mechanism
 * translates them into its own (epoll: the same bits; kqueue:
 * EVFILT_READ/EVFILT_WRITE; /dev/poll: pollfd writes). It is only a signal:
 * results always come from the real poll(2)/select(2) with timeout 0, so
 * Python's semantics (order, POLLNVAL, revents) are untouched.
 *
 * A mechanism is one file, internal/wakeup-<name>.ts, and one line in
 * MECHANISMS below; callers never name it. Where none exists, or none could
 * open a descriptor (EMFILE), the source has no handle and the wait looks on
 * a timer instead (PendingWait.lookEvery), as select(2) and poll(2) need no
 * descriptor: the twins never block Node's thread either way.
 */
import type { FdHandle } from '@iomux/core-native';
import { isScarce } from './async.js';
import { epollWakeup } from './wakeup-epoll.js';
import { kqueueWakeup } from './wakeup-kqueue.js';

/** A set of descriptors whose readiness wakes a wait (see the header). */
export interface WakeSource {
  /** The descriptor the addon watches; null: none, the wait looks on a timer. */
  readonly handle: FdHandle | null;
  /**
   * Watches `fd` for `pollMask` (POLLIN, POLLPRI, POLLOUT, ... as the addon
   * defines them), replacing an earlier mask. Returns false when the
   * mechanism refuses `fd` (a regular file, a closed descriptor): poll(2)
   * and select(2) report those at once, so the caller looks now.
   */
  set(fd: number, pollMask: number): boolean;
  /** Stops watching `fd`; a descriptor not watched (or closed) is ignored. */
  delete(fd: number): void;
  /** Releases the descriptor; never throws (it may run from a timer). */
  close(): void;
}

/** One way to make a wake source. */
export interface WakeMechanism {
  /** As Python names it: 'epoll', 'kqueue', 'devpoll'. */
  readonly name: string;
  /** Whether this platform's addon has it. */
  readonly available: boolean;
  /** A new source; throws the contract's OSError (EMFILE, ...) when it cannot. */
  open(): WakeSource;
}

/** The mechanisms, best first: the first available one is used. */
const MECHANISMS: readonly WakeMechanism[] = [epollWakeup, kqueueWakeup];

/** The source with no descriptor: a wait on it looks on a timer. */
const TIMER_SOURCE: WakeSource = Object.freeze({
  handle: null,
  set: (): boolean => true,
  delete: (): void => {},
  close: (): void => {},
});

// IOMUX_WAKEUP (internal, for tests): 'timer' forces the fallback of platforms
// with no mechanism; a mechanism's name picks it where available (kqueue on Linux).
const FORCED = process.env.IOMUX_WAKEUP;
const CHOSEN: WakeMechanism | null =
  FORCED === 'timer' ? null : (MECHANISMS.find((m) => m.available && m.name === FORCED) ?? MECHANISMS.find((m) => m.available) ?? null);

/** The mechanism in use ('epoll'), or 'timer' when waits look on a timer. */
export const wakeMechanism: string = CHOSEN?.name ?? 'timer';

/**
 * A new wake source for this platform's mechanism; the timer source (no
 * handle) where there is none or no descriptor could be had. Other errors
 * of the mechanism are thrown (the contract's classes).
 */
export function openWakeSource(): WakeSource {
  if (CHOSEN === null) return TIMER_SOURCE;
  try {
    return CHOSEN.open();
  } catch (e) {
    if (isScarce(e)) return TIMER_SOURCE;
    throw e;
  }
}
