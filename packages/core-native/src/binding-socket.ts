// The addon's socket calls (socket.cc) and send/recv batches (batch.cc),
// typed; binding.ts assembles the whole Binding.

/** socket.cc and batch.cc: part of `Binding` (binding.ts). */
export interface SocketBinding {
  // socket.cc. Addresses cross as (family, host, port): host is the numeric
  // address for AF_INET/AF_INET6 and the path for AF_UNIX (port ignored).
  /** socket(2), close-on-exec. */
  socket(family: number, type: number, proto: number): number;
  /** socketpair(2), close-on-exec. */
  socketpair(family: number, type: number, proto: number): [number, number];
  /** bind(2) to (family, host, port). */
  bind(fd: number, family: number, host: string, port: number): void;
  /** listen(2). */
  listen(fd: number, backlog: number): void;
  /** accept4 with SOCK_CLOEXEC: [fd, family, host, port]. */
  accept(fd: number): [number, number, string, number];
  /** Returns 0 or the errno (connect_ex semantics); EINTR handled natively. */
  connect(fd: number, family: number, host: string, port: number): number;
  /** recv(2) into `buf[offset, offset + length)`. */
  recv(fd: number, buf: ArrayBufferView, offset: number, length: number, flags: number): number;
  /** send(2) from `buf[offset, offset + length)`. */
  send(fd: number, buf: ArrayBufferView, offset: number, length: number, flags: number): number;
  /** recv(fd, view, view.byteLength, 0): a transport's read, two arguments and a leaner call. */
  recv_view(fd: number, view: ArrayBufferView): number;
  /** send(fd, view, view.byteLength, MSG_NOSIGNAL): a transport's write. */
  send_view(fd: number, view: ArrayBufferView): number;
  // batch.cc: a table is table[0] entries of batch_layout.stride int32s
  // after batch_layout.header, each [fd, offset, length, result].
  /**
   * A batch of sends: slab[offset, offset + length) on each entry's fd (a
   * negative fd is skipped), result the bytes sent or -errno. Returns the
   * entries done (all). See batch.ts sendBatch.
   */
  send_batch(slab: ArrayBufferView, table: Int32Array): number;
  /**
   * A batch of receives: up to length bytes from each entry's fd into the
   * slab, result the bytes received (or -errno) and offset where they went.
   * Returns the entries done. See batch.ts recvBatch.
   */
  recv_batch(slab: ArrayBufferView, table: Int32Array): number;
  /**
   * How this thread's send_batch/recv_batch reach the kernel, and turning
   * its io_uring off ('syscalls') and on ('io_uring'). See batch.ts batchIo.
   */
  batch_io(mode?: 'io_uring' | 'syscalls'): 'io_uring' | 'disabled' | 'unavailable' | 'unsupported';
  /**
   * The batch tables' layout in int32 units: entries start at `header`,
   * `stride` apart; the offsets of each field in an entry; `ring_ops`, the
   * most entries one io_uring call takes.
   */
  batch_layout: Readonly<{
    /** Index of the first entry (table[0] is the count). */
    header: number;
    /** Int32s per entry. */
    stride: number;
    /** The descriptor's offset in an entry. */
    fd: number;
    /** The slab offset's offset in an entry. */
    offset: number;
    /** The length's offset in an entry. */
    length: number;
    /** The result's offset in an entry. */
    result: number;
    /** The most entries one io_uring call takes. */
    ring_ops: number;
  }>;
  /** shutdown(2): `how` is SHUT_RD, SHUT_WR or SHUT_RDWR. */
  shutdown(fd: number, how: number): void;
  /** [family, host, port] */
  getsockname(fd: number): [number, string, number];
  /** [family, host, port] of the peer. */
  getpeername(fd: number): [number, string, number];
  /** setsockopt(2) of an int option. */
  setsockopt_int(fd: number, level: number, opt: number, value: number): void;
  /** getsockopt(2) of an int option. */
  getsockopt_int(fd: number, level: number, opt: number): number;
}
