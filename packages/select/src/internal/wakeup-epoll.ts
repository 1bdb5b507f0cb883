/**
 * The epoll wake source (Linux): a private epoll descriptor watching the
 * descriptors of a poll object or a selectAsync() call (see wakeup.ts).
 */
import { fromNative, has, type FdHandle } from '@iomux/core-native';
import { B, C, E } from './native.js';
import type { WakeMechanism, WakeSource } from './wakeup.js';

// From the addon; absent without epoll, where no source is opened.
const ADD = C.EPOLL_CTL_ADD ?? 0;
const DEL = C.EPOLL_CTL_DEL ?? 0;
const MOD = C.EPOLL_CTL_MOD ?? 0;
const EEXIST = E.EEXIST;

/** poll(2)'s bits and their epoll twins, where the addon defines both. */
const PAIRS: Array<[poll: number, epoll: number]> = [];
for (const bit of ['IN', 'PRI', 'OUT', 'RDNORM', 'RDBAND', 'WRNORM', 'WRBAND', 'MSG', 'RDHUP']) {
  const p = C[`POLL${bit}`];
  const e = C[`EPOLL${bit}`];
  if (p !== undefined && e !== undefined) PAIRS.push([p, e]);
}
/** The poll bits epoll can watch; on Linux each equals its epoll twin. */
const WATCHABLE = PAIRS.reduce((m, [p]) => m | p, 0);
const SAME_BITS = PAIRS.every(([p, e]) => p === e);

/** A poll(2) mask in epoll's bits (POLLERR and POLLHUP epoll always reports). */
function toEpollMask(pollMask: number): number {
  if (SAME_BITS) return pollMask & WATCHABLE;
  let m = 0;
  for (const [p, e] of PAIRS) if (pollMask & p) m |= e;
  return m;
}

class EpollWakeSource implements WakeSource {
  readonly handle: FdHandle;
  readonly #fd: number;

  constructor() {
    let fd: number;
    try {
      fd = B.epoll_create1!(0);
    } catch (e) {
      throw fromNative(e);
    }
    try {
      this.handle = B.fdhandle_new(fd);
    } catch (e) {
      B.close(fd);
      throw fromNative(e);
    }
    this.#fd = fd;
  }

  set(fd: number, pollMask: number): boolean {
    const mask = toEpollMask(pollMask);
    try {
      B.epoll_ctl!(this.#fd, ADD, fd, mask);
      return true;
    } catch (e) {
      // EPERM (a regular file), EBADF (closed): refused; EEXIST: modify.
      if ((e as { errno?: unknown }).errno !== EEXIST) return false;
    }
    try {
      B.epoll_ctl!(this.#fd, MOD, fd, mask);
      return true;
    } catch {
      return false;
    }
  }

  delete(fd: number): void {
    try {
      B.epoll_ctl!(this.#fd, DEL, fd, 0);
    } catch {
      // not watched (refused earlier) or already closed: nothing to undo
    }
  }

  close(): void {
    try {
      B.fdhandle_close(this.handle);
    } catch {
      // EBADF: the number was closed behind our back (and maybe reused);
      // as Epoll.close(), nothing is left to release.
    }
  }
}

export const epollWakeup: WakeMechanism = {
  name: 'epoll',
  available: has.epoll && typeof B.epoll_create1 === 'function',
  open: () => new EpollWakeSource(),
};
