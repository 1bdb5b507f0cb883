/**
 * A private epoll descriptor that mirrors the descriptors a poll object or a
 * select() call waits on, so that their promise twins have one descriptor of
 * their own for the addon to watch (see async.ts). It is only a wake-up
 * signal: results always come from the real poll(2)/select(2) with timeout
 * 0, so Python's semantics (order, POLLNVAL, revents) are untouched.
 * poll's event bits equal epoll's on Linux (POLLIN == EPOLLIN, ...).
 */
import { binding, errnoConstants, fromNative, selectConstants, type FdHandle } from '@iomux/core-native';

// Read once (the package's exports object is in dictionary mode): epoll_ctl
// runs on every register and modify.
const B = binding;

// From the addon; absent without epoll, where no mirror is made (canMirror).
const { EPOLL_CTL_ADD: ADD = 0, EPOLL_CTL_DEL: DEL = 0, EPOLL_CTL_MOD: MOD = 0 } = selectConstants;
const EEXIST = errnoConstants.EEXIST;

export class EpollMirror {
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

  /**
   * Mirrors `fd` with `mask`. Returns false when epoll refuses it (a regular
   * file: EPERM; a closed descriptor: EBADF); poll(2) and select(2) report
   * those at once, so the caller re-checks now instead of waiting.
   */
  set(fd: number, mask: number): boolean {
    try {
      B.epoll_ctl!(this.#fd, ADD, fd, mask);
      return true;
    } catch (e) {
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
      // not mirrored (refused earlier) or already closed: nothing to undo
    }
  }

  close(): void {
    try {
      B.fdhandle_close(this.handle);
    } catch {
      // EBADF: the number was closed behind our back (and maybe reused);
      // as Epoll.close(), nothing is left to release, and a wait settling
      // through here must not throw from a timer.
    }
  }
}

/** Whether this platform can mirror (Linux: epoll). */
export const canMirror: boolean = typeof B.epoll_create1 === 'function';
