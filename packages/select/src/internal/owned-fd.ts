/**
 * A poller's own descriptor (epoll, kqueue, /dev/poll), held by an fd handle
 * from the addon: release() closes it, and so do garbage collection and the
 * end of the thread (main or worker) that made it, whichever comes first.
 */
import type { FdHandle } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import { B } from './native.js';
import { EBADF, rethrow } from './errors.js';

export class OwnedFd {
  /** The descriptor; -1 once released. */
  fd: number;
  /** What a promise twin's wait arms; null once released (or for fd -1). */
  handle: FdHandle | null;

  constructor(fd: number) {
    this.fd = fd;
    this.handle = fd >= 0 ? B.fdhandle_new(fd) : null;
  }

  /** The descriptor, or ValueError(closedMessage) once released (CPython's fileno()). */
  get(closedMessage: string): number {
    if (this.fd < 0) throw new ValueError(closedMessage);
    return this.fd;
  }

  /** Closes the descriptor; later calls do nothing. */
  release(): void {
    const h = this.handle;
    this.fd = -1;
    this.handle = null;
    if (h === null) return;
    try {
      B.fdhandle_close(h);
    } catch (e) {
      // Closed behind our back (another fromfd() owner, say): CPython's
      // close() ignores that too.
      if ((e as { errno?: unknown }).errno !== EBADF) rethrow(e);
    }
  }
}
