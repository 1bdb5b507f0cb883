// The addon's descriptor handles (fdhandle.cc) and their one-shot watch
// (wait.cc), typed; binding.ts assembles the whole Binding.

/**
 * An opaque owner of one descriptor; closes it on GC and env teardown.
 * @property __brand Type-only: no value has it, so no other type is an FdHandle.
 */
export type FdHandle = { readonly __brand: 'iomux.FdHandle' };

/** fdhandle.cc and wait.cc: part of `Binding` (binding.ts). */
export interface FdBinding {
  // fdhandle.cc
  /** Wraps an open descriptor in a handle that owns it (closed on GC or env teardown). */
  fdhandle_new(fd: number): FdHandle;
  /** Closes the handle's descriptor now (idempotent). */
  fdhandle_close(h: FdHandle): void;
  /** Gives up ownership: returns the descriptor, which the handle no longer closes. */
  fdhandle_detach(h: FdHandle): number;
  /** The handle's descriptor, or -1 once closed or detached. */
  fdhandle_fd(h: FdHandle): number;
  /** How many handles still own a descriptor (leak checks in tests). */
  fdhandle_open_count(): number;

  // wait.cc: a one-shot libuv watch on the handle's own descriptor (an epoll
  // fd); callback(status) runs on the JS thread once it is readable.
  /**
   * Calls `callback(status)` once, on the JS thread, when the handle's
   * descriptor is readable. With `out` and `maxevents` (an epoll handle), the
   * addon looks first (`epoll_wait(fd, out, maxevents, 0)`): a wake that
   * finds nothing stays armed, and `found` is how many events it wrote.
   */
  fdhandle_watch(h: FdHandle, callback: (status: number, found?: number) => void, out?: Int32Array, maxevents?: number): void;
  /** Cancels a pending fdhandle_watch. */
  fdhandle_unwatch(h: FdHandle): void;
}
