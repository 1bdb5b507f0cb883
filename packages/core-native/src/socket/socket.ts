// Python's `socket.socket` class: the descriptor's state and the calls that
// read it on every call (recv/send, accept, the blocking mode; bench/README.md
// CALLS); connecting, addresses and options are its base's (socket-base.ts).
import { constants as bufferConstants } from 'node:buffer';
import { binding, type FdHandle } from '../binding.js';
import { errnoConstants as E } from '../constants.js';
import { fromNative, OverflowError, TimeoutError, ValueError } from '../errors.js';
import { pyTypeName, toCInt, toInt } from '../pyargs.js';
import { makeAddress, typeName, type Address, type SocketAddress } from './address.js';
import { dataArg, direct, socketArgs, socketRepr, type SocketOptions } from './socket-args.js';
import { SOCK_CLOEXEC, SOCK_NONBLOCK } from './constants.js';
import { call, isErrno, osError } from './errors.js';
import { copyOut, SCRATCH_SIZE, scratchView } from './scratch.js';
import { recvfrom as dgramRecvfrom, recvfromInto as dgramRecvfromInto, sendto as dgramSendto } from './dgram.js';
import { SocketBase } from './socket-base.js';
import { getdefaulttimeout, sockCallEx, timeoutArg } from './timeout.js';

const EBADF = E.EBADF!;
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
export class Socket extends SocketBase implements Disposable {
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
    super();
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
  override get family(): number {
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
  override fileno(): number {
    return this.#fd;
  }

  /** @internal The descriptor, or OSError(EBADF) for `syscall` once closed. */
  protected override _fdFor(syscall: string): number {
    if (this.#fd < 0) throw osError(EBADF, syscall);
    return this.#fd;
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
    else res = sockCallEx(this.#fd, this.#timeout, false, 'accept', (f) => acceptFn(f));
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
      const got = sockCallEx(this.#fd, this.#timeout, false, 'recv', (f) => binding.recv(f, scratchView(n), 0, n, fl));
      return copyOut(got);
    }
    const size = Math.min(n, bufferConstants.MAX_LENGTH);
    const buf = Buffer.allocUnsafe(size);
    const got = sockCallEx(this.#fd, this.#timeout, false, 'recv', (fd) => binding.recv(fd, buf, 0, size, fl));
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
    return sockCallEx(this.#fd, this.#timeout, false, 'recv', (fd) => binding.recv(fd, buffer, 0, len, fl));
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
    return sockCallEx(this.#fd, this.#timeout, true, 'send', (fd) => binding.send(fd, b, 0, b.byteLength, fl));
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
      off += sockCallEx(this.#fd, this.#timeout, true, 'send', (fd) => binding.send(fd, b, start, b.byteLength - start, fl), deadline);
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
    const fd = this._fdFor('fcntl');
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
    const fd = this._fdFor('fcntl');
    call(() => binding.set_blocking(fd, t === null));
  }

  /** The timeout in seconds, or null when blocking. */
  override gettimeout(): number | null {
    return this.#timeout;
  }

  /** A new socket on a duplicate (non-inheritable) descriptor, same timeout. */
  dup(): Socket {
    const fd = this._fdFor('dup');
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
  override toString(): string {
    return socketRepr(this, this.#fd, this.#family, this.#type, this.#proto);
  }
}