/**
 * The calls of socket.ts's Socket (its base class) that say where the
 * socket is and how it behaves: bind, listen and connect, its own and its
 * peer's address, shutdown, options and inheritability. None is on a
 * per-call path; each reaches the descriptor through Socket's members
 * (fileno, gettimeout, _fdFor). Socket holds the state and the calls
 * measured per call (bench/README.md CALLS): recv/send, accept, the
 * blocking mode and timeout.
 */
import { binding } from '../binding.js';
import { errnoConstants as E } from '../constants.js';
import { TimeoutError } from '../errors.js';
import { toCInt } from '../pyargs.js';
import { addressArg, makeAddress, type Address, type SocketAddress } from './address.js';
import { sockoptValue } from './socket-args.js';
import { SO_ERROR, SOL_SOCKET, SOMAXCONN } from './constants.js';
import { call, osError } from './errors.js';
import { waitUntil } from './timeout.js';

const EBADF = E.EBADF!;
const EINTR = E.EINTR!;
const EAGAIN = E.EAGAIN!;
const EWOULDBLOCK = E.EWOULDBLOCK ?? EAGAIN;
const EINPROGRESS = E.EINPROGRESS!;

/**
 * @internal Socket's base: connecting, addresses and options (see the
 * module comment). Not exported from the package: use Socket.
 */
export abstract class SocketBase {
  /** The address family (Socket's). */
  abstract get family(): number;
  /** The descriptor, or -1 once closed or detached (Socket's). */
  abstract fileno(): number;
  /** The timeout in seconds, or null when blocking (Socket's). */
  abstract gettimeout(): number | null;
  /** @internal The descriptor, or OSError(EBADF) for `syscall` once closed (Socket's). */
  protected abstract _fdFor(syscall: string): number;

  /** A receiver that is not a Socket is a TypeError here, before any of its properties is read. */
  #own(): void {}

  /**
   * Binds the socket to `address`.
   * @throws {TypeError} if the address does not fit the family
   * @throws {OverflowError} if the port is not 0-65535
   * @throws {gaierror} if the host is not a numeric address or localhost
   * @throws {OSError} if bind(2) fails (EADDRINUSE, EACCES, ...)
   */
  bind(address: Address): void {
    this.#own();
    const [host, port] = addressArg(this.family, address, 'bind');
    const fd = this._fdFor('bind');
    call(() => binding.bind(fd, this.family, host, port));
  }

  /**
   * Enables a server to accept connections. `backlog` defaults to
   * min(SOMAXCONN, 128); a negative value is taken as 0.
   */
  listen(backlog?: number): void {
    this.#own();
    let b = backlog === undefined ? Math.min(SOMAXCONN, 128) : toCInt(backlog);
    if (b < 0) b = 0;
    const fd = this._fdFor('listen');
    call(() => binding.listen(fd, b));
  }

  /**
   * CPython's internal_connect(): 0 or the errno; throws when `raise`.
   */
  #connect(address: unknown, raise: boolean, op: string): number {
    const [host, port] = addressArg(this.family, address, op);
    const fd = this.fileno();
    if (fd < 0) {
      if (raise) throw osError(EBADF, 'connect');
      return EBADF;
    }
    let res = call(() => binding.connect(fd, this.family, host, port));
    const timeout = this.gettimeout();
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
    this.#own();
    this.#connect(address, true, 'connect');
  }

  /**
   * Like connect(), but returns the errno instead of throwing for errors
   * from connect(2) (0 on success, EINPROGRESS while in progress on a
   * non-blocking socket). Address errors still throw.
   */
  connectEx(address: Address): number {
    this.#own();
    return this.#connect(address, false, 'connect_ex');
  }

  /** Shuts down one or both halves: SHUT_RD, SHUT_WR or SHUT_RDWR. */
  shutdown(how: number): void {
    this.#own();
    const h = toCInt(how);
    const fd = this._fdFor('shutdown');
    call(() => binding.shutdown(fd, h));
  }

  /** The socket's own address. */
  getsockname(): SocketAddress {
    this.#own();
    const fd = this._fdFor('getsockname');
    const [fam, host, port] = call(() => binding.getsockname(fd));
    return makeAddress(fam, host, port);
  }

  /** The address of the connected peer. */
  getpeername(): SocketAddress {
    this.#own();
    const fd = this._fdFor('getpeername');
    const [fam, host, port] = call(() => binding.getpeername(fd));
    return makeAddress(fam, host, port);
  }

  /**
   * Sets an int socket option (SO_REUSEADDR, SO_REUSEPORT, TCP_NODELAY,
   * SO_RCVBUF, ...). `value` is an int or a boolean, or a 4-byte buffer
   * holding a native int.
   */
  setsockopt(level: number, optname: number, value: number | boolean | ArrayBufferView): void {
    this.#own();
    const lv = toCInt(level);
    const opt = toCInt(optname);
    const v = sockoptValue(value);
    const fd = this._fdFor('setsockopt');
    call(() => binding.setsockopt_int(fd, lv, opt, v));
  }

  /** Reads an int socket option; SO_ERROR reads and clears the pending error. */
  getsockopt(level: number, optname: number): number {
    this.#own();
    const lv = toCInt(level);
    const opt = toCInt(optname);
    const fd = this._fdFor('getsockopt');
    return call(() => binding.getsockopt_int(fd, lv, opt));
  }

  /** Whether the descriptor is inherited by child processes (false by default). */
  getInheritable(): boolean {
    this.#own();
    const fd = this._fdFor('fcntl');
    return call(() => binding.get_inheritable(fd));
  }

  /** Sets whether the descriptor is inherited by child processes. */
  setInheritable(inheritable: boolean): void {
    this.#own();
    const fd = this._fdFor('fcntl');
    call(() => binding.set_inheritable(fd, Boolean(inheritable)));
  }
}
