// The addon's multiplexing syscalls (select.cc, poll.cc, epoll.cc,
// kqueue.cc, devpoll.cc), typed; binding.ts assembles the whole Binding.

/** select.cc to devpoll.cc: part of `Binding` (binding.ts). */
export interface SelectBinding {
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
}
