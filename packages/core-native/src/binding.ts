/**
 * Loads the compiled addon (node-gyp-build: the local build, else a prebuild
 * for this platform) and types every native function. The native layer is a
 * thin syscall layer (see native/backend.h): numbers and Int32Arrays in, raw
 * results out, every value re-checked in C++. Errors it throws are plain
 * Errors with errno/code/syscall; errors.ts fromNative() maps them.
 */
import nodeGypBuild from 'node-gyp-build';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * An opaque owner of one descriptor; closes it on GC and env teardown.
 * @property __brand Type-only: no value has it, so no other type is an FdHandle.
 */
export type FdHandle = { readonly __brand: 'iomux.FdHandle' };

/**
 * The addon's exports, typed: one native function per syscall, named after it.
 * Raw and unchecked by Python's rules: the os, socket, select and selectors
 * APIs are the ones to use. Errors are plain Errors with errno, code and syscall.
 */
export interface Binding {
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

  // constants.cc
  /** The select module's constants this platform has (POLLIN, EPOLLET, FD_SETSIZE, PIPE_BUF, ...). */
  select_constants: Readonly<Record<string, number>>;
  /** The socket constants this platform has (AF_INET, SO_REUSEADDR, ...). */
  socket_constants: Readonly<Record<string, number>>;
  /** errno values by name (EAGAIN, EBADF, ...). */
  errno_constants: Readonly<Record<string, number>>;
  /**
   * Which multiplexing syscalls this build has.
   * @property select select(2)
   * @property poll poll(2)
   * @property epoll epoll(7) (Linux)
   * @property kqueue kqueue(2) (BSD, macOS; on Linux the emulation, which DefaultSelector never picks)
   * @property devpoll /dev/poll (Solaris, illumos)
   */
  has: Readonly<{ select: boolean; poll: boolean; epoll: boolean; kqueue: boolean; devpoll: boolean }>;

  // select.cc: entries not ready are overwritten with -1; timeoutUs -1 blocks.
  /** select(2) on descriptor arrays; entries not ready become -1. `timeoutUs` in microseconds, -1 blocks. */
  select(r: Int32Array, w: Int32Array, x: Int32Array, timeoutUs: number): number;

  // poll.cc: pollfds is struct pollfd[] as int32 pairs; ready [fd, revents]
  // pairs go to out; returns the number of pairs.
  /**
   * poll(2) on struct pollfd[] as int32 pairs; ready [fd, revents] pairs go
   * to `out`. `timeoutMs` in milliseconds, -1 blocks.
   */
  poll(pollfds: Int32Array, nfds: number, timeoutMs: number, out: Int32Array): number;

  // epoll.cc (Linux): out receives [fd, events] pairs.
  /** epoll_create1(2) (Linux): a new epoll descriptor. */
  epoll_create1?(flags: number): number;
  /** epoll_ctl(2) (Linux): `op` is EPOLL_CTL_ADD, _MOD or _DEL. */
  epoll_ctl?(epfd: number, op: number, fd: number, events: number): void;
  /** out receives struct epoll_event[] in place: see epoll_event_layout. */
  epoll_wait?(epfd: number, out: Int32Array, maxevents: number, timeoutMs: number): number;
  /** struct epoll_event in int32 units: stride per event, events and data.fd offsets. */
  epoll_event_layout?: Readonly<{ stride: number; events: number; fd: number }>;

  // kqueue.cc (macOS, the BSDs; Linux through the emulation of
  // native/kqueue-linux.cc). Arrays hold entries of kevent_layout.stride
  // int32s, one slot per field; 64-bit fields as low and high halves.
  /** kqueue(2), close-on-exec. On Linux an epoll descriptor that carries the emulated kqueue. */
  kqueue_create?(): number;
  /**
   * kevent(2): applies `nchanges` entries of `changes`, then writes up to
   * `nevents` entries into `events`; returns how many. `timeoutSec < 0`
   * blocks; else `timeoutNsec` must be in [0, 999999999]. A failed change
   * comes back as a KQ_EV_ERROR entry (data = errno) when `events` has room,
   * else it throws, as BSD does.
   */
  kevent?(
    kq: number,
    changes: Int32Array | null,
    nchanges: number,
    events: Int32Array | null,
    nevents: number,
    timeoutSec: number,
    timeoutNsec: number,
  ): number;
  /**
   * struct kevent in int32 slots: `stride` per entry; ident, data and udata
   * as Lo/Hi halves (udata and ident unsigned, data signed: read Hi as
   * int32), filter (int16), flags (uint16), fflags (uint32: read it >>> 0).
   */
  kevent_layout?: Readonly<{
    /** Int32 slots per entry. */
    stride: number;
    /** ident's low 32 bits. */
    identLo: number;
    /** ident's high 32 bits. */
    identHi: number;
    /** filter (int16). */
    filter: number;
    /** flags (uint16). */
    flags: number;
    /** fflags (uint32). */
    fflags: number;
    /** data's low 32 bits. */
    dataLo: number;
    /** data's high 32 bits (signed). */
    dataHi: number;
    /** udata's low 32 bits. */
    udataLo: number;
    /** udata's high 32 bits. */
    udataHi: number;
  }>;
  /** Linux only: how many emulated kqueues hold state now (leak checks in tests). */
  kqueue_count?(): number;
  /**
   * Linux only: one delivery of signal `signo` (1..31) to the emulated
   * kqueue `kq` whose state has `cookie` (from kqueue_signals); 1 counted,
   * 0 no SIGNAL filter for it, -1 `kq` is not that kqueue any more.
   */
  kqueue_signal_post?(kq: number, cookie: number, signo: number): number;
  /** Linux only: `[cookie, ...signals with a SIGNAL filter]` of an emulated kqueue, or null. */
  kqueue_signals?(kq: number): number[] | null;

  // devpoll.cc (illumos, Solaris; Linux through the emulation of
  // native/devpoll-linux.cc). Records are struct pollfd as int32 pairs.
  /** open("/dev/poll"), close-on-exec. On Linux an epoll descriptor that carries the emulated device. */
  devpoll_open?(): number;
  /**
   * write(2) of `n` [fd, events] records to the device: a record for a
   * registered fd ORs its mask, POLLREMOVE in events removes it (an unknown
   * fd is ignored).
   */
  devpoll_write?(dpfd: number, pollfds: Int32Array, n: number): void;
  /**
   * ioctl(DP_POLL): ready [fd, revents] pairs into `out`, at most `nfds` and
   * at most what `out` holds; returns how many. `timeoutMs` -1 blocks.
   * `nfds` above RLIMIT_NOFILE's soft limit is EINVAL (CPython's max_n_fds
   * is the limit at creation, so a lowered limit fails every poll).
   */
  devpoll_poll?(dpfd: number, out: Int32Array, nfds: number, timeoutMs: number): number;
  /** Linux only: how many emulated devpolls hold state now (leak checks in tests). */
  devpoll_count?(): number;

  // resource.cc
  /** getrlimit(2): `[soft, hard]`, RLIM_INFINITY as -1. */
  resource_getrlimit(resource: number): [number, number];
  /** setrlimit(2); -1 is RLIM_INFINITY, other negatives are cast to rlim_t. */
  resource_setrlimit(resource: number, soft: number, hard: number): void;
  /** The platform's RLIMIT_* numbers. */
  resource_constants: Readonly<Record<string, number>>;

  // os.cc
  /** The C library's text for an errno. */
  strerror(errno: number): string;
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  /** read(2) into `buf[offset, offset + length)`; returns the bytes read. */
  read(fd: number, buf: ArrayBufferView, offset: number, length: number): number;
  /** write(2) from `buf[offset, offset + length)`; returns the bytes written. */
  write(fd: number, buf: ArrayBufferView, offset: number, length: number): number;
  /** close(2). */
  close(fd: number): void;
  /** dup(2), close-on-exec. */
  dup(fd: number): number;
  /** Whether close-on-exec is clear. */
  get_inheritable(fd: number): boolean;
  /** Clears (true) or sets (false) close-on-exec. */
  set_inheritable(fd: number, inheritable: boolean): void;
  /** Whether O_NONBLOCK is clear. */
  get_blocking(fd: number): boolean;
  /** Clears (true) or sets (false) O_NONBLOCK. */
  set_blocking(fd: number, blocking: boolean): void;
  /** The view's first byte's address modulo 4096 (buffer placement). */
  address_mod_4096(view: ArrayBufferView): number;

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

  // ssl.cc, ssl-ctx.cc, ssl-conn.cc: memory-BIO TLS in the running Node's OpenSSL (src/ssl/).
  /**
   * Whether the running Node exports the OpenSSL functions memtls needs.
   * @returns available: all found; reason: the first missing one, or ''; version: OpenSSL's version text, or ''
   */
  memtls_status(): MemtlsStatus;
  /** A new SSL_CTX from normalized options (src/ssl/context.ts). */
  memtls_ctx_new(opts: MemtlsCtxOptions): MemtlsHandle;
  /** Frees a context's or connection's OpenSSL object now (idempotent). */
  memtls_close(h: MemtlsHandle): void;
  /** How many memtls objects this thread still owns (leak checks in tests). */
  memtls_live_count(): number;
  /** A new SSL with two memory BIOs, made from a context. */
  memtls_conn_new(ctx: MemtlsHandle, serverSide: boolean, hostname: string | undefined, isIp: boolean, checkHostname: boolean): MemtlsHandle;
  /** BIO_write of ciphertext into the read BIO: bytes taken (all). */
  memtls_feed(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number): number;
  /** Marks the end of the peer's ciphertext (reads past it fail instead of waiting). */
  memtls_feed_eof(h: MemtlsHandle): void;
  /** SSL_do_handshake: 1 done, -1 want-read. */
  memtls_handshake(h: MemtlsHandle): number;
  /** SSL_read_ex: plaintext bytes, 0 at close_notify, -1 want-read. */
  memtls_read(h: MemtlsHandle, buf: ArrayBufferView, offset: number, length: number): number;
  /** SSL_write_ex of all the bytes: their count, or -1 want-read. */
  memtls_write(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number): number;
  /** BIO_read of ciphertext from the write BIO: bytes copied. */
  memtls_take(h: MemtlsHandle, buf: ArrayBufferView, offset: number, length: number): number;
  /** Ciphertext bytes waiting in the write BIO. */
  memtls_pending(h: MemtlsHandle): number;
  /** feed then read into all of `out`: plaintext bytes, 0 at close_notify, -1 want-read. */
  memtls_feed_read(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number;
  /** write then take into all of `out`: ciphertext bytes copied, or -1 want-read. */
  memtls_write_take(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number;
  /** SSL_shutdown: 1 both close_notify seen, 0 ours queued, -1 want-read. */
  memtls_shutdown(h: MemtlsHandle): number;
  /** The peer's certificate, DER, or null. */
  memtls_peer_certificate(h: MemtlsHandle): Buffer | null;
  /** [name, protocol version, secret bits] of the cipher in use, or null. */
  memtls_cipher(h: MemtlsHandle): [string, string, number] | null;
  /** 'TLSv1.3' once the handshake is done, else null. */
  memtls_version(h: MemtlsHandle): string | null;
  /** The protocol ALPN chose, or null. */
  memtls_alpn_selected(h: MemtlsHandle): string | null;
  /** [X509_V_* code, its text]. */
  memtls_verify_result(h: MemtlsHandle): [number, string];
  /** SSL_session_reused. */
  memtls_session_reused(h: MemtlsHandle): boolean;
  /** SSL_is_init_finished. */
  memtls_handshake_done(h: MemtlsHandle): boolean;
}

/**
 * An opaque owner of one OpenSSL object (SSL_CTX or SSL); freed on close, GC and env teardown.
 * @property __brand Type-only: no value has it, so no other type is a MemtlsHandle.
 */
export type MemtlsHandle = { readonly __brand: 'iomux.MemtlsHandle' };

/** memtls_status's answer. */
export interface MemtlsStatus {
  /** Every OpenSSL function memtls calls was found in the running Node. */
  available: boolean;
  /** Why not (the first missing symbol), or ''. */
  reason: string;
  /** OpenSSL_version(OPENSSL_VERSION), or ''. */
  version: string;
}

/** memtls_ctx_new's options, already checked and converted by src/ssl/context.ts. */
export interface MemtlsCtxOptions {
  /** A server's context. */
  serverSide: boolean;
  /** PEM certificate chain, leaf first. */
  cert?: Uint8Array;
  /** PEM private key. */
  key?: Uint8Array;
  /** The key's passphrase. */
  passphrase?: Uint8Array;
  /** PEM certificates to trust. */
  ca?: Uint8Array;
  /** 0 none, 1 optional, 2 required. */
  verify: number;
  /** TLS1_2_VERSION (0x303) or TLS1_3_VERSION (0x304); 0: OpenSSL's. */
  minVersion: number;
  /** As minVersion; 0: no maximum. */
  maxVersion: number;
  /** The TLS 1.2 cipher list. */
  ciphers?: string;
  /** The TLS 1.3 cipher suites. */
  ciphersuites?: string;
  /** ALPN protocols in wire format (length-prefixed). */
  alpn?: Uint8Array;
  /** Session lifetime in seconds. */
  sessionTimeout?: number;
}

// IOMUX_ADDON_DIR: another directory with a build/Release/ to load from (npm run test:asan's sanitized build).
const addon = loadAddon(process.env.IOMUX_ADDON_DIR || path.join(__dirname, '..'));

/** node-gyp-build's load, with an error that says what to do about a failure. */
function loadAddon(dir: string): Binding {
  try {
    return nodeGypBuild(dir) as Binding;
  } catch (err) {
    throw new Error(loadFailure(dir, err), { cause: err });
  }
}

/** The platform, the prebuilds in `dir` and what to install (as scripts/build-native.js says at install). */
function loadFailure(dir: string, err: unknown): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const libc = process.platform !== 'linux' ? '' : header?.glibcVersionRuntime ? ` (glibc ${header.glibcVersionRuntime})` : ' (not glibc: musl?)';
  let shipped: string[] = [];
  try {
    const pre = path.join(dir, 'prebuilds');
    shipped = fs.readdirSync(pre).filter((d) => fs.readdirSync(path.join(pre, d)).some((f) => f.endsWith('.node')));
  } catch {
    // no prebuilds directory: none shipped
  }
  const cause = String((err as Error)?.message ?? err).split('\n')[0];
  return [
    `@iomux/core-native: cannot load its native addon on ${process.platform}-${process.arch}${libc}, Node ${process.version}: ${cause}`,
    `Prebuilds in ${path.join(dir, 'prebuilds')}: ${shipped.length > 0 ? `${shipped.sort().join(', ')} (glibc)` : 'none'}; no build in ${path.join(dir, 'build', 'Release')}.`,
    process.platform === 'win32'
      ? 'Windows is not supported yet.'
      : 'To build it from source, install a C++17 compiler, make and Python 3 (Debian/Ubuntu: apt-get install -y g++ make python3; ' +
        'Alpine: apk add g++ make python3 linux-headers; Fedora: dnf install -y gcc-c++ make python3; macOS: xcode-select --install), ' +
        'then run `npm rebuild @iomux/core-native` (if install scripts are skipped there, by --ignore-scripts or npm\'s allowScripts, ' +
        'allow this one: `npm install-scripts approve @iomux/core-native`).',
  ].join('\n');
}

/**
 * The addon's functions on a plain object with V8 fast properties (the
 * addon's own exports object is in dictionary mode), so that a hot call
 * such as `binding.epoll_wait(...)` is one cheap property load.
 */
export const binding: Binding = { ...addon };
