/**
 * Loads the compiled addon (node-gyp-build: a prebuild for this platform, or
 * the local build) and types every native function. The native layer is a
 * thin syscall layer (see native/backend.h): numbers and Int32Arrays in, raw
 * results out, every value re-checked in C++. Errors it throws are plain
 * Errors with errno/code/syscall; errors.ts fromNative() maps them.
 */
import nodeGypBuild from 'node-gyp-build';
import * as path from 'node:path';

/** An opaque owner of one descriptor; closes it on GC and env teardown. */
export type FdHandle = { readonly __brand: 'iomux.FdHandle' };

export interface Binding {
  // fdhandle.cc
  fdhandle_new(fd: number): FdHandle;
  fdhandle_close(h: FdHandle): void;
  fdhandle_detach(h: FdHandle): number;
  fdhandle_fd(h: FdHandle): number;
  fdhandle_open_count(): number;

  // wait.cc: a one-shot libuv watch on the handle's own descriptor (an epoll
  // fd); callback(status) runs on the JS thread once it is readable.
  fdhandle_watch(h: FdHandle, callback: (status: number) => void): void;
  fdhandle_unwatch(h: FdHandle): void;

  // constants.cc
  select_constants: Readonly<Record<string, number>>;
  socket_constants: Readonly<Record<string, number>>;
  errno_constants: Readonly<Record<string, number>>;
  has: Readonly<{ select: boolean; poll: boolean; epoll: boolean; kqueue: boolean; devpoll: boolean }>;

  // select.cc: entries not ready are overwritten with -1; timeoutUs -1 blocks.
  select(r: Int32Array, w: Int32Array, x: Int32Array, timeoutUs: number): number;

  // poll.cc: pollfds is struct pollfd[] as int32 pairs; ready [fd, revents]
  // pairs go to out; returns the number of pairs.
  poll(pollfds: Int32Array, nfds: number, timeoutMs: number, out: Int32Array): number;

  // epoll.cc (Linux): out receives [fd, events] pairs.
  epoll_create1?(flags: number): number;
  epoll_ctl?(epfd: number, op: number, fd: number, events: number): void;
  /** out receives struct epoll_event[] in place: see epoll_event_layout. */
  epoll_wait?(epfd: number, out: Int32Array, maxevents: number, timeoutMs: number): number;
  /** struct epoll_event in int32 units: stride per event, events and data.fd offsets. */
  epoll_event_layout?: Readonly<{ stride: number; events: number; fd: number }>;

  // os.cc
  strerror(errno: number): string;
  pipe(): [number, number];
  read(fd: number, buf: ArrayBufferView, offset: number, length: number): number;
  write(fd: number, buf: ArrayBufferView, offset: number, length: number): number;
  close(fd: number): void;
  dup(fd: number): number;
  get_inheritable(fd: number): boolean;
  set_inheritable(fd: number, inheritable: boolean): void;
  get_blocking(fd: number): boolean;
  set_blocking(fd: number, blocking: boolean): void;
  /** The view's first byte's address modulo 4096 (buffer placement). */
  address_mod_4096(view: ArrayBufferView): number;

  // socket.cc. Addresses cross as (family, host, port): host is the numeric
  // address for AF_INET/AF_INET6 and the path for AF_UNIX (port ignored).
  socket(family: number, type: number, proto: number): number;
  socketpair(family: number, type: number, proto: number): [number, number];
  bind(fd: number, family: number, host: string, port: number): void;
  listen(fd: number, backlog: number): void;
  /** accept4 with SOCK_CLOEXEC: [fd, family, host, port]. */
  accept(fd: number): [number, number, string, number];
  /** Returns 0 or the errno (connect_ex semantics); EINTR handled natively. */
  connect(fd: number, family: number, host: string, port: number): number;
  recv(fd: number, buf: ArrayBufferView, offset: number, length: number, flags: number): number;
  send(fd: number, buf: ArrayBufferView, offset: number, length: number, flags: number): number;
  /** recv(fd, view, view.byteLength, 0): a transport's read, two arguments and a leaner call. */
  recv_view(fd: number, view: ArrayBufferView): number;
  /** send(fd, view, view.byteLength, MSG_NOSIGNAL): a transport's write. */
  send_view(fd: number, view: ArrayBufferView): number;
  /**
   * A loop's batch of sends: table[0] entries of [fd, offset, length,
   * result] after it; sends slab[offset, offset+length) on each fd (a
   * negative fd is skipped) and writes the bytes sent or -errno.
   * Returns the entries done.
   */
  send_batch(slab: ArrayBufferView, table: Int32Array): number;
  /**
   * A loop's batch of reads: table[0] entries of [fd, max, result, offset];
   * receives up to max bytes from each fd into the slab, packed from 0,
   * and writes the bytes received (or -errno) and where. Two or more
   * entries with an equal share of the slab of 4096 bytes or more each
   * take at most that share; otherwise each takes up to max of what is
   * left. Returns the entries done (it stops early when the slab runs
   * short). See native/socket.cc.
   */
  recv_batch(slab: ArrayBufferView, table: Int32Array): number;
  /**
   * How this thread's send_batch/recv_batch reach the kernel: 'io_uring'
   * (one syscall per batch), or why they make a syscall per entry:
   * 'disabled' (IOMUX_URING=0 when the thread's ring would be made, or
   * turned off), 'unavailable' (the kernel or a seccomp profile refused
   * it), 'unsupported' (not Linux). `mode` 'syscalls' turns this thread's
   * ring off, 'io_uring' on again where it can be; returns the state after.
   */
  batch_io(mode?: 'io_uring' | 'syscalls'): 'io_uring' | 'disabled' | 'unavailable' | 'unsupported';
  shutdown(fd: number, how: number): void;
  /** [family, host, port] */
  getsockname(fd: number): [number, string, number];
  getpeername(fd: number): [number, string, number];
  setsockopt_int(fd: number, level: number, opt: number, value: number): void;
  getsockopt_int(fd: number, level: number, opt: number): number;

  // bench.cc: plain-C loops for `npm run bench` (never used by the library).
  // Each returns the elapsed nanoseconds for `iters` iterations.
  bench_noop(a?: unknown, b?: unknown, c?: unknown, d?: unknown): number;
  bench_arg_int32array(a: Int32Array): number;
  bench_arg_int32array_capi(a: Int32Array): number;
  bench_last_result(): number;
  bench_poll(pollfds: Int32Array, nfds: number, iters: number): number;
  bench_select(fds: Int32Array, iters: number): number;
  bench_epoll_wait?(epfd: number, maxevents: number, iters: number): number;
  bench_epoll_wait_once?(epfd: number, maxevents: number): number;
  bench_epoll_ctl?(epfd: number, fds: Int32Array, iters: number): number;
  [name: `bench_${string}`]: ((...args: any[]) => any) | undefined;
}

// IOMUX_ADDON_DIR: another directory with a build/Release/ to load from (npm run test:asan's sanitized build).
const addon = nodeGypBuild(process.env.IOMUX_ADDON_DIR || path.join(__dirname, '..')) as Binding;

/**
 * The addon's functions on a plain object with V8 fast properties (the
 * addon's own exports object is in dictionary mode), so that a hot call
 * such as `binding.epoll_wait(...)` is one cheap property load.
 */
export const binding: Binding = { ...addon };
