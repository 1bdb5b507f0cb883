/**
 * The kqueue wake source (BSD, macOS; on Linux the addon's emulation, for
 * tests with IOMUX_WAKEUP=kqueue): a private kqueue descriptor with an
 * EVFILT_READ and/or EVFILT_WRITE filter per watched descriptor (see
 * wakeup.ts). A kqueue descriptor is readable while events are pending.
 */
import { fromNative, has, type FdHandle } from '@iomux/core-native';
import { B, C } from './native.js';
import type { WakeMechanism, WakeSource } from './wakeup.js';

// From the addon; absent without kqueue, where no source is opened.
const FILTER_READ = C.KQ_FILTER_READ ?? 0;
const FILTER_WRITE = C.KQ_FILTER_WRITE ?? 0;
const EV_ADD = C.KQ_EV_ADD ?? 0;
const EV_DELETE = C.KQ_EV_DELETE ?? 0;
/** poll(2)'s bits that mean "readable" and "writable" to kqueue. */
const READ_BITS = (C.POLLIN ?? 0) | (C.POLLPRI ?? 0) | (C.POLLRDNORM ?? 0) | (C.POLLRDBAND ?? 0);
const WRITE_BITS = (C.POLLOUT ?? 0) | (C.POLLWRNORM ?? 0) | (C.POLLWRBAND ?? 0);

const LAYOUT = B.kevent_layout;
const STRIDE = LAYOUT?.stride ?? 0;

class KqueueWakeSource implements WakeSource {
  readonly handle: FdHandle;
  readonly #fd: number;
  /** One struct kevent: the change of each call (one per call, so each fails alone). */
  readonly #change = new Int32Array(STRIDE);

  constructor() {
    let fd: number;
    try {
      fd = B.kqueue_create!();
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

  /** Applies one change; false when kevent refuses it. */
  #apply(fd: number, filter: number, flags: number): boolean {
    const a = this.#change;
    const l = LAYOUT!;
    a.fill(0);
    a[l.identLo] = fd;
    a[l.filter] = filter;
    a[l.flags] = flags;
    try {
      B.kevent!(this.#fd, a, 1, null, 0, 0, 0);
      return true;
    } catch {
      return false;
    }
  }

  set(fd: number, pollMask: number): boolean {
    const read = (pollMask & READ_BITS) !== 0;
    const write = (pollMask & WRITE_BITS) !== 0;
    // EV_ADD on a filter already added modifies it; a filter not wanted goes.
    if (read && !this.#apply(fd, FILTER_READ, EV_ADD)) return false;
    if (!read) this.#apply(fd, FILTER_READ, EV_DELETE);
    if (write && !this.#apply(fd, FILTER_WRITE, EV_ADD)) return false;
    if (!write) this.#apply(fd, FILTER_WRITE, EV_DELETE);
    return true;
  }

  delete(fd: number): void {
    // ENOENT (not watched) and EBADF (closed: the kernel dropped it) are fine.
    this.#apply(fd, FILTER_READ, EV_DELETE);
    this.#apply(fd, FILTER_WRITE, EV_DELETE);
  }

  close(): void {
    try {
      B.fdhandle_close(this.handle);
    } catch {
      // EBADF: closed behind our back; nothing is left to release.
    }
  }
}

export const kqueueWakeup: WakeMechanism = {
  name: 'kqueue',
  available: has.kqueue && typeof B.kqueue_create === 'function' && STRIDE > 0,
  open: () => new KqueueWakeSource(),
};
