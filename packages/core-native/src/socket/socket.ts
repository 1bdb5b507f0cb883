// Python's `socket.socket` class.
import { constants as bufferConstants } from 'node:buffer';
import { binding, type FdHandle } from '../binding.js';
import { errnoConstants as E } from '../constants.js';
import { fromNative, OverflowError, TimeoutError, ValueError } from '../errors.js';
import { pyTypeName, toCInt, toInt } from '../pyargs.js';
import { addressArg, makeAddress, typeName, type Address, type SocketAddress } from './address.js';
import { dataArg, direct, socketArgs, socketRepr, sockoptValue, type SocketOptions } from './socket-args.js';
import {
  SO_ERROR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOL_SOCKET, SOMAXCONN,
} from './constants.js';
import { call, isErrno, osError } from './errors.js';
import { copyOut, SCRATCH_SIZE, scratchView } from './scratch.js';
import { recvfrom as dgramRecvfrom, recvfromInto as dgramRecvfromInto, sendto as dgramSendto } from './dgram.js';
import { getdefaulttimeout, timeoutArg, waitUntil } from './timeout.js';

const EBADF = E.EBADF!;
const EINTR = E.EINTR!;
const EAGAIN = E.EAGAIN!;
const EWOULDBLOCK = E.EWOULDBLOCK ?? EAGAIN;
const EINPROGRESS = E.EINPROGRESS!;
const ECONNRESET = E.ECONNRESET!;
const NONBLOCK_FLAGS = (SOCK_NONBLOCK ?? 0) | (SOCK_CLOEXEC ?? 0);
// The per-call bindings, read once, not on every call.
const recvView = binding.recv_view;
const sendView = binding.send_view;
const setBlocking = binding.set_blocking;
const acceptFn = binding.accept;

/**
 * Python's `socket.socket`: a socket that owns its descriptor. The
 * descriptor is closed by `close()`, by `[Symbol.dispose]()` (`using`), or
 * when the object is garbage-collected or its worker ends.
 *
 * Blocking calls block the JavaScript thread, as they block Python's; use
 * `setblocking(false)` with a selector (or the loop) to avoid that.
 */
export class Socket implements Disposable {
  #handle: FdHandle | null;
  #fd: number;
  #family: number;
  #type: number;
  #proto: number;
  /** Seconds; null blocks, 0 is non-blocking (CPython's sock_timeout). */
  #timeout: number | null;

  /**
   * Creates a socket, or wraps the descriptor `fileno` (whose family, type
   * and protocol are then read from the kernel when not given). Arguments
   * may also be given as one options object.
   * @throws {OSError} if socket(2) fails (EAFNOSUPPORT, EINVAL, EMFILE, ...)
   * @throws {ValueError} if fileno is negative
   */
  constructor(family?: number | null | SocketOptions, type?: number | null, proto?: number | null, fileno?: number | null) {
    const [fd, fam, typ, pro] = socketArgs(family, type, proto, fileno);
    this.#handle = binding.fdhandle_new(fd);
    this.#fd = fd;
    this.#family = fam;
    this.#type = typ & ~NONBLOCK_FLAGS;
    this.#proto = pro;
    if (SOCK_NONBLOCK !== undefined && (typ & SOCK_NONBLOCK) !== 0) {
      this.#timeout = 0;
    } else {
      this.#timeout = getdefaulttimeout();
      if (this.#timeout !== null) {
        try {
          call(() => binding.set_blocking(fd, false));
        } catch (e) {
          try {
            this.close();
          } catch {
            // The fcntl() error is the one to report.
          }
          throw e;
        }
      }
    }
  }

  /** The address family (AF_INET, AF_INET6, AF_UNIX). */
  get family(): number {
    return this.#family;
  }

  /** The socket type (SOCK_STREAM, SOCK_DGRAM), without SOCK_NONBLOCK/SOCK_CLOEXEC. */
  get type(): number {
    return this.#type;
  }

  /** The protocol number. */
  get proto(): number {
    return this.#proto;
  }

  /** True once close() or detach() has run. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** The descriptor, or -1 once closed or detached, as in Python. */
  fileno(): number {
    return this.#fd;
  }

  #fdFor(syscall: string): number {
    if (this.#fd < 0) throw osError(EBADF, syscall);
    return this.#fd;
  }

  /**
   * CPython's sock_call_ex(): runs `fn` once for a blocking or non-blocking
   * socket; with a timeout, waits for readiness first and retries
   * EWOULDBLOCK until the deadline, then throws TimeoutError('timed out').
   */
  #io<T>(writing: boolean, syscall: string, fn: (fd: number) => T, deadline?: number): T {
    const fd = this.#fdFor(syscall);
    const timeout = this.#timeout;
    if (timeout === null || timeout === 0) {
      try {
        return fn(fd);
      } catch (e) {
        throw fromNative(e);
      }
    }
    const end = deadline ?? performance.now() + timeout * 1000;
    for (;;) {
      if (!waitUntil(fd, writing, end)) throw new TimeoutError('timed out');
      try {
        return call(() => fn(fd));
      } catch (e) {
        if (isErrno(e, EAGAIN, EWOULDBLOCK)) continue;
        throw e;
      }
    }
  }

  /**
   * Binds the socket to `address`.
   * @throws {TypeError} if the address does not fit the family
   * @throws {OverflowError} if the port is not 0-65535
   * @throws {gaierror} if the host is not a numeric address or localhost
   * @throws {OSError} if bind(2) fails (EADDRINUSE, EACCES, ...)
   */
  bind(address: Address): void {
    const [host, port] = addressArg(this.#family, address, 'bind');
    const fd = this.#fdFor('bind');
    call(() => binding.bind(fd, this.#family, host, port));
  }

  /**
   * Enables a server to accept connections. `backlog` defaults to
   * min(SOMAXCONN, 128); a negative value is taken as 0.
   */
  listen(backlog?: number): void {
    let b = backlog === undefined ? Math.min(SOMAXCONN, 128) : toCInt(backlog);
    if (b < 0) b = 0;
    const fd = this.#fdFor('listen');
    call(() => binding.listen(fd, b));
  }

  /**
   * Accepts a connection: `[socket, address]`. The new socket is
   * non-inheritable and blocking unless a default timeout is set.
   * @throws {BlockingIOError} if non-blocking and no connection is waiting
   * @throws {TimeoutError} if the timeout passes first
   */
  accept(): [Socket, SocketAddress] {
    const t = this.#timeout;
    const fd = this.#fd;
    let res: [number, number, string, number];
    if ((t === null || t === 0) && fd >= 0) res = direct(acceptFn, fd, undefined);
    else res = this.#io(false, 'accept', (f) => acceptFn(f));
    const [nfd, fam, host, port] = res;
    // The constructor owns nfd from its first step (every argument is an
    // int already) and closes it if it fails, so nothing can leak here.
    const sock = new Socket(this.#family, this.#type, this.#proto, nfd);
    // Issue #7995: if no default timeout is set and the listening socket had
    // a (non-zero) timeout, force the new socket in blocking mode to override
    // platform-specific socket flags inheritance.
    if (getdefaulttimeout() === null && this.#timeout) sock.setblocking(true);
    return [sock, makeAddress(fam, host, port)];
  }

  /**
   * CPython's internal_connect(): 0 or the errno; throws when `raise`.
   */
  #connect(address: unknown, raise: boolean, op: string): number {
    const [host, port] = addressArg(this.#family, address, op);
    const fd = this.#fd;
    if (fd < 0) {
      if (raise) throw osError(EBADF, 'connect');
      return EBADF;
    }
    let res = call(() => binding.connect(fd, this.#family, host, port));
    const timeout = this.#timeout;
    const wait = res === EINTR ? timeout !== 0 : timeout !== null && timeout > 0 && res === EINPROGRESS;
    if (wait) {
      // The connection goes on in the background: wait for it with the
      // timeout, then read its outcome from SO_ERROR.
      const deadline = timeout === null ? Infinity : performance.now() + timeout * 1000;
      for (;;) {
        if (!waitUntil(fd, true, deadline)) {
          if (raise) throw new TimeoutError('timed out');
          return EWOULDBLOCK;
        }
        res = call(() => binding.getsockopt_int(fd, SOL_SOCKET, SO_ERROR));
        if (res !== EINTR) break;
      }
    }
    if (res !== 0 && raise) throw osError(res, 'connect');
    return res;
  }

  /**
   * Connects to `address`. On a non-blocking socket a connection in
   * progress is BlockingIOError (EINPROGRESS), as in Python.
   * @throws {ConnectionRefusedError} and other OSErrors from connect(2)
   * @throws {TimeoutError} if the timeout passes first
   */
  connect(address: Address): void {
    this.#connect(address, true, 'connect');
  }

  /**
   * Like connect(), but returns the errno instead of throwing for errors
   * from connect(2) (0 on success, EINPROGRESS while in progress on a
   * non-blocking socket). Address errors still throw.
   */
  connectEx(address: Address): number {
    return this.#connect(address, false, 'connect_ex');
  }

  /**
   * Receives at most `bufsize` bytes. An empty Buffer means the peer shut
   * down its side (or a zero-length datagram arrived).
   * @throws {ValueError} if bufsize is negative
   * @throws {BlockingIOError} if non-blocking and nothing is available
   */
  recv(bufsize: number, flags: number = 0): Buffer {
    // The common call first: a small count, no flags, nothing to wait for.
    const t = this.#timeout;
    const fd = this.#fd;
    if (typeof bufsize === 'number' && bufsize > 0 && bufsize <= SCRATCH_SIZE && (bufsize | 0) === bufsize &&
        flags === 0 && (t === null || t === 0) && fd >= 0) {
      return copyOut(direct(recvView, fd, scratchView(bufsize)));
    }
    const n = toInt(bufsize);
    if (n < 0) throw new ValueError('negative buffersize in recv');
    const fl = toCInt(flags);
    // As CPython: a zero-byte recv returns at once, without a syscall.
    if (n === 0) return Buffer.alloc(0);
    if (n <= SCRATCH_SIZE) {
      const got = this.#io(false, 'recv', (f) => binding.recv(f, scratchView(n), 0, n, fl));
      return copyOut(got);
    }
    const size = Math.min(n, bufferConstants.MAX_LENGTH);
    const buf = Buffer.allocUnsafe(size);
    const got = this.#io(false, 'recv', (fd) => binding.recv(fd, buf, 0, size, fl));
    if (got === size) return buf;
    // Copy so a short read does not pin the whole allocation.
    return Buffer.from(buf.subarray(0, got));
  }

  /**
   * Receives into `buffer` (any TypedArray, DataView or Buffer), at most
   * `nbytes` bytes (0: the whole buffer). Returns the number received.
   * @throws {ValueError} if nbytes is negative or larger than the buffer
   */
  recvInto(buffer: ArrayBufferView, nbytes: number = 0, flags: number = 0): number {
    const t = this.#timeout;
    const fd = this.#fd;
    if (nbytes === 0 && flags === 0 && (t === null || t === 0) && fd >= 0 && ArrayBuffer.isView(buffer) &&
        buffer.byteLength > 0) {
      return direct(recvView, fd, buffer);
    }
    if (!ArrayBuffer.isView(buffer)) {
      throw new TypeError(`recv_into() argument 1 must be read-write bytes-like object, not ${typeName(buffer, 'list')}`);
    }
    let n = toInt(nbytes);
    const fl = toCInt(flags);
    if (n < 0) throw new ValueError('negative buffersize in recv_into');
    if (n === 0) n = buffer.byteLength;
    if (n > buffer.byteLength) throw new ValueError('buffer too small for requested bytes');
    // As CPython: nothing to receive into returns at once, without a syscall.
    if (n === 0) return 0;
    const len = n;
    return this.#io(false, 'recv', (fd) => binding.recv(fd, buffer, 0, len, fl));
  }

  /**
   * Sends `data`; returns the number of bytes sent, which may be fewer.
   * A peer that has gone away is BrokenPipeError, never a SIGPIPE.
   * @throws {TypeError} if data is not bytes-like
   * @throws {BlockingIOError} if non-blocking and the send buffer is full
   */
  send(data: ArrayBufferView, flags: number = 0): number {
    const t = this.#timeout;
    const fd = this.#fd;
    if (flags === 0 && (t === null || t === 0) && fd >= 0 && ArrayBuffer.isView(data)) return direct(sendView, fd, data);
    const b = dataArg(data);
    const fl = toCInt(flags);
    return this.#io(true, 'send', (fd) => binding.send(fd, b, 0, b.byteLength, fl));
  }

  /**
   * Sends all of `data`, looping over partial sends. On a non-blocking
   * socket a full buffer is BlockingIOError (some data may have gone); with
   * a timeout, the whole call must finish within it.
   */
  sendall(data: ArrayBufferView, flags: number = 0): void {
    const timeout = this.#timeout;
    const fd = this.#fd;
    let off = 0;
    if (flags === 0 && (timeout === null || timeout === 0) && fd >= 0 && ArrayBuffer.isView(data)) {
      off = direct(sendView, fd, data);
      if (off === data.byteLength) return;
    }
    const b = dataArg(data);
    const fl = toCInt(flags);
    const deadline = timeout !== null && timeout > 0 ? performance.now() + timeout * 1000 : undefined;
    do {
      if (deadline !== undefined && deadline - performance.now() <= 0 && off > 0) {
        throw new TimeoutError('timed out');
      }
      const start = off;
      off += this.#io(true, 'send', (fd) => binding.send(fd, b, start, b.byteLength - start, fl), deadline);
    } while (off < b.byteLength);
  }

  /**
   * Python's `sendto(data[, flags], address)`: one datagram to `address`;
   * returns the bytes sent (dgram.ts).
   * @throws {TypeError} for a wrong number of arguments or an address of the wrong shape
   * @throws {OSError} from sendto(2): EMSGSIZE for a datagram too big, ...
   */
  sendto(data: ArrayBufferView, ...rest: [address: Address] | [flags: number, address: Address]): number {
    return dgramSendto(this, data, ...rest);
  }

  /**
   * Python's `recvfrom(bufsize[, flags])`: one datagram (at most `bufsize`
   * bytes of it) and the sender's address, null when it has none (dgram.ts).
   * @throws {ValueError} if bufsize is negative
   */
  recvfrom(bufsize: number, flags: number = 0): [Buffer, SocketAddress | null] {
    return dgramRecvfrom(this, bufsize, flags);
  }

  /**
   * Python's `recvfrom_into(buffer[, nbytes[, flags]])`: one datagram into
   * `buffer`, `[nbytes, address]` (dgram.ts).
   * @throws {ValueError} if nbytes is negative or larger than the buffer
   */
  recvfromInto(buffer: ArrayBufferView, nbytes: number = 0, flags: number = 0): [number, SocketAddress | null] {
    return dgramRecvfromInto(this, buffer, nbytes, flags);
  }

  /** Shuts down one or both halves: SHUT_RD, SHUT_WR or SHUT_RDWR. */
  shutdown(how: number): void {
    const h = toCInt(how);
    const fd = this.#fdFor('shutdown');
    call(() => binding.shutdown(fd, h));
  }

  /**
   * Sets blocking (true) or non-blocking (false) mode: the same as
   * settimeout(null) and settimeout(0).
   */
  setblocking(flag: boolean | number): void {
    const cur = this.#fd;
    if (typeof flag === 'boolean' && cur >= 0) {
      this.#timeout = flag ? null : 0;
      direct(setBlocking, cur, flag);
      return;
    }
    let block: boolean;
    if (typeof flag === 'boolean') block = flag;
    else if (typeof flag === 'number' && Number.isInteger(flag)) block = flag !== 0;
    else if (typeof flag === 'bigint') {
      if (flag > 2n ** 63n - 1n || flag < -(2n ** 63n)) throw new OverflowError('Python int too large to convert to C long');
      block = flag !== 0n;
    } else throw new TypeError(`'${pyTypeName(flag)}' object cannot be interpreted as an integer`);
    // CPython records the mode before fcntl(), even when fcntl fails.
    this.#timeout = block ? null : 0;
    const fd = this.#fdFor('fcntl');
    call(() => binding.set_blocking(fd, block));
  }

  /** True unless the socket is non-blocking (timeout 0), as `gettimeout() != 0`. */
  getblocking(): boolean {
    return this.#timeout !== 0;
  }

  /**
   * Sets the timeout in seconds for blocking operations: null blocks
   * forever, 0 is non-blocking, a positive number makes calls throw
   * TimeoutError('timed out') when it passes.
   * @throws {ValueError} if negative or NaN
   */
  settimeout(value: number | null): void {
    if (arguments.length === 0) throw new TypeError('socket.settimeout() takes exactly one argument (0 given)');
    const t = timeoutArg(value);
    this.#timeout = t;
    const fd = this.#fdFor('fcntl');
    call(() => binding.set_blocking(fd, t === null));
  }

  /** The timeout in seconds, or null when blocking. */
  gettimeout(): number | null {
    return this.#timeout;
  }

  /** The socket's own address. */
  getsockname(): SocketAddress {
    const fd = this.#fdFor('getsockname');
    const [fam, host, port] = call(() => binding.getsockname(fd));
    return makeAddress(fam, host, port);
  }

  /** The address of the connected peer. */
  getpeername(): SocketAddress {
    const fd = this.#fdFor('getpeername');
    const [fam, host, port] = call(() => binding.getpeername(fd));
    return makeAddress(fam, host, port);
  }

  /**
   * Sets an int socket option (SO_REUSEADDR, SO_REUSEPORT, TCP_NODELAY,
   * SO_RCVBUF, ...). `value` is an int or a boolean, or a 4-byte buffer
   * holding a native int.
   */
  setsockopt(level: number, optname: number, value: number | boolean | ArrayBufferView): void {
    const lv = toCInt(level);
    const opt = toCInt(optname);
    const v = sockoptValue(value);
    const fd = this.#fdFor('setsockopt');
    call(() => binding.setsockopt_int(fd, lv, opt, v));
  }

  /** Reads an int socket option; SO_ERROR reads and clears the pending error. */
  getsockopt(level: number, optname: number): number {
    const lv = toCInt(level);
    const opt = toCInt(optname);
    const fd = this.#fdFor('getsockopt');
    return call(() => binding.getsockopt_int(fd, lv, opt));
  }

  /** Whether the descriptor is inherited by child processes (false by default). */
  getInheritable(): boolean {
    const fd = this.#fdFor('fcntl');
    return call(() => binding.get_inheritable(fd));
  }

  /** Sets whether the descriptor is inherited by child processes. */
  setInheritable(inheritable: boolean): void {
    const fd = this.#fdFor('fcntl');
    call(() => binding.set_inheritable(fd, Boolean(inheritable)));
  }

  /** A new socket on a duplicate (non-inheritable) descriptor, same timeout. */
  dup(): Socket {
    const fd = this.#fdFor('dup');
    const nfd = call(() => binding.dup(fd));
    const sock = new Socket(this.#family, this.#type, this.#proto, nfd);
    sock.settimeout(this.#timeout);
    return sock;
  }

  /**
   * Closes the socket. Closing again does nothing; ECONNRESET from close()
   * is ignored, as in CPython.
   */
  close(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    this.#fd = -1;
    try {
      binding.fdhandle_close(h);
    } catch (e) {
      const err = fromNative(e);
      if (isErrno(err, ECONNRESET)) return;
      throw err;
    }
  }

  /**
   * Gives up the descriptor without closing it and returns it (-1 if
   * already closed); the socket then acts as closed.
   */
  detach(): number {
    const h = this.#handle;
    if (h === null) return -1;
    this.#handle = null;
    this.#fd = -1;
    return binding.fdhandle_detach(h);
  }

  /** `using sock = new Socket()` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Python's repr(): `<socket.socket fd=3, family=2, type=1, proto=0, laddr=...>`. */
  toString(): string {
    return socketRepr(this, this.#fd, this.#family, this.#type, this.#proto);
  }
}
