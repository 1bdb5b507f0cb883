/**
 * Python's `socket` module, the part iomux needs (ports CPython 3.11's
 * Lib/socket.py and the matching parts of Modules/socketmodule.c): the
 * `Socket` class for AF_INET, AF_INET6 and AF_UNIX stream and datagram
 * sockets, `socketpair`, `fromfd`, `createServer`, `createConnection`,
 * per-socket and default timeouts, `gaierror`, and the constants.
 *
 * Addresses are Python's tuples as arrays: AF_INET `['127.0.0.1', port]`,
 * AF_INET6 `['::1', port, flowinfo, scopeId]`, AF_UNIX a path string (or a
 * Buffer for a Linux abstract name, as Python returns bytes for those).
 *
 * Deliberate differences (README, "Differences from Python"):
 * - Host names are not looked up: a host is a numeric address, `''` (any),
 *   `'<broadcast>'` (AF_INET) or `localhost`; anything else is `gaierror`
 *   (EAI_NONAME), since a synchronous DNS lookup would block Node's thread.
 * - AF_INET6 flowinfo is range-checked but not passed to the kernel, and
 *   comes back as 0; a non-zero scope id comes back in the host as `%<n>`
 *   rather than `%<interface name>`.
 * - `setsockopt`/`getsockopt` handle int options only (a 4-byte buffer is
 *   read as a native int).
 * - `recv(bufsize)` asks for at most `buffer.constants.MAX_LENGTH` bytes.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as net from 'node:net';
import { binding, type FdHandle } from './binding.js';
import { errnoConstants, selectConstants, socketConstants as C } from './constants.js';
import {
  fromErrno, fromNative, OSError, OverflowError, TimeoutError, ValueError, type OSErrorOptions,
} from './errors.js';
import { INT_MAX, pyTypeName, toCInt, toClinicInt, toInt } from './pyargs.js';

// ---------------------------------------------------------------------------
// Constants, read from the addon: a constant this platform lacks is undefined.

/** Address family: unspecified (any family). */
export const AF_UNSPEC: number = C.AF_UNSPEC!;
/** Address family: IPv4; addresses are `[host, port]`. */
export const AF_INET: number = C.AF_INET!;
/** Address family: IPv6; addresses are `[host, port, flowinfo, scopeId]`. */
export const AF_INET6: number = C.AF_INET6!;
/** Address family: Unix domain; addresses are a path string (or a Buffer for an abstract name). */
export const AF_UNIX: number = C.AF_UNIX!;
/** Socket type: a byte stream (TCP for AF_INET/AF_INET6). */
export const SOCK_STREAM: number = C.SOCK_STREAM!;
/** Socket type: datagrams (UDP for AF_INET/AF_INET6). */
export const SOCK_DGRAM: number = C.SOCK_DGRAM!;
/** Socket type: raw network protocol access; undefined where the platform lacks it. */
export const SOCK_RAW: number | undefined = C.SOCK_RAW;
/** Socket type: ordered, reliable datagrams; undefined where the platform lacks it. */
export const SOCK_SEQPACKET: number | undefined = C.SOCK_SEQPACKET;
/** Flag or-ed into a socket type: create the socket non-blocking (Linux); undefined elsewhere. */
export const SOCK_NONBLOCK: number | undefined = C.SOCK_NONBLOCK;
/** Flag or-ed into a socket type: close-on-exec (Linux); undefined elsewhere. */
export const SOCK_CLOEXEC: number | undefined = C.SOCK_CLOEXEC;
/** `setsockopt`/`getsockopt` level of the socket-level options (SO_*). */
export const SOL_SOCKET: number = C.SOL_SOCKET!;
/** Socket option: allow binding an address in TIME_WAIT. */
export const SO_REUSEADDR: number = C.SO_REUSEADDR!;
/** Socket option: let several sockets bind one port; undefined where the platform lacks it. */
export const SO_REUSEPORT: number | undefined = C.SO_REUSEPORT;
/** Socket option (read-only): the pending error, cleared on read (a non-blocking connect's result). */
export const SO_ERROR: number = C.SO_ERROR!;
/** Socket option: send TCP keep-alive probes. */
export const SO_KEEPALIVE: number = C.SO_KEEPALIVE!;
/** Socket option: the receive buffer size, in bytes. */
export const SO_RCVBUF: number = C.SO_RCVBUF!;
/** Socket option: the send buffer size, in bytes. */
export const SO_SNDBUF: number = C.SO_SNDBUF!;
/** Socket option (read-only): the socket type (SOCK_STREAM, ...). */
export const SO_TYPE: number = C.SO_TYPE!;
/** Socket option: linger on close (iomux reads and writes int options only). */
export const SO_LINGER: number = C.SO_LINGER!;
/** Socket option: allow sending datagrams to a broadcast address; undefined where absent. */
export const SO_BROADCAST: number | undefined = C.SO_BROADCAST;
/** Socket option: the minimum bytes for a receive to return; undefined where absent. */
export const SO_RCVLOWAT: number | undefined = C.SO_RCVLOWAT;
/** Socket option: the minimum bytes for a send to proceed; undefined where absent. */
export const SO_SNDLOWAT: number | undefined = C.SO_SNDLOWAT;
/** Socket option (read-only, Linux): the address family; undefined elsewhere. */
export const SO_DOMAIN: number | undefined = C.SO_DOMAIN;
/** Socket option (read-only, Linux): the protocol; undefined elsewhere. */
export const SO_PROTOCOL: number | undefined = C.SO_PROTOCOL;
/** Protocol number of IP; also the `setsockopt` level of IPv4 options. */
export const IPPROTO_IP: number = C.IPPROTO_IP!;
/** Protocol number of TCP; also the `setsockopt` level of TCP options (TCP_NODELAY). */
export const IPPROTO_TCP: number = C.IPPROTO_TCP!;
/** Protocol number of UDP. */
export const IPPROTO_UDP: number = C.IPPROTO_UDP!;
/** Protocol number of IPv6; also the `setsockopt` level of IPv6 options (IPV6_V6ONLY). */
export const IPPROTO_IPV6: number = C.IPPROTO_IPV6!;
/** IPv6 socket option: accept IPv6 only, not IPv4-mapped addresses; undefined where absent. */
export const IPV6_V6ONLY: number | undefined = C.IPV6_V6ONLY;
/** TCP socket option: send at once, without Nagle's algorithm. */
export const TCP_NODELAY: number = C.TCP_NODELAY!;
/** `shutdown(how)`: no more receives. */
export const SHUT_RD: number = C.SHUT_RD!;
/** `shutdown(how)`: no more sends (the peer reads end of stream). */
export const SHUT_WR: number = C.SHUT_WR!;
/** `shutdown(how)`: no more receives or sends. */
export const SHUT_RDWR: number = C.SHUT_RDWR!;
/** `recv` flag: return the data without removing it from the queue. */
export const MSG_PEEK: number = C.MSG_PEEK!;
/** `recv`/`send` flag: out-of-band data. */
export const MSG_OOB: number = C.MSG_OOB!;
/** `recv` flag: wait for the full amount (on a blocking socket). */
export const MSG_WAITALL: number = C.MSG_WAITALL!;
/** `recv` flag: return the real length of a truncated datagram; undefined where absent. */
export const MSG_TRUNC: number | undefined = C.MSG_TRUNC;
/** `recv`/`send` flag: this call only is non-blocking; undefined where absent. */
export const MSG_DONTWAIT: number | undefined = C.MSG_DONTWAIT;
/** `send` flag: EPIPE instead of SIGPIPE on a closed peer (Linux); undefined elsewhere. */
export const MSG_NOSIGNAL: number | undefined = C.MSG_NOSIGNAL;
/** The largest `listen()` backlog the platform advertises. */
export const SOMAXCONN: number = C.SOMAXCONN!;
/** `gaierror` errno (getaddrinfo): a temporary failure in name resolution; undefined where absent. */
export const EAI_AGAIN: number | undefined = C.EAI_AGAIN;
/** `gaierror` errno (getaddrinfo): invalid flags; undefined where absent. */
export const EAI_BADFLAGS: number | undefined = C.EAI_BADFLAGS;
/** `gaierror` errno (getaddrinfo): a non-recoverable failure in name resolution; undefined where absent. */
export const EAI_FAIL: number | undefined = C.EAI_FAIL;
/** `gaierror` errno (getaddrinfo): the address family is not supported; undefined where absent. */
export const EAI_FAMILY: number | undefined = C.EAI_FAMILY;
/** `gaierror` errno (getaddrinfo): out of memory; undefined where absent. */
export const EAI_MEMORY: number | undefined = C.EAI_MEMORY;
/**
 * `gaierror` errno (getaddrinfo): the host is unknown (iomux gives it for any host name that is no numeric address); undefined where absent.
 */
export const EAI_NONAME: number | undefined = C.EAI_NONAME;
/** `gaierror` errno (getaddrinfo): the service is not known for the socket type; undefined where absent. */
export const EAI_SERVICE: number | undefined = C.EAI_SERVICE;
/** `gaierror` errno (getaddrinfo): the socket type is not supported; undefined where absent. */
export const EAI_SOCKTYPE: number | undefined = C.EAI_SOCKTYPE;
/** `gaierror` errno (getaddrinfo): the host has no address in the family; undefined where absent. */
export const EAI_ADDRFAMILY: number | undefined = C.EAI_ADDRFAMILY;
/** `gaierror` errno (getaddrinfo): the host has no address; undefined where absent. */
export const EAI_NODATA: number | undefined = C.EAI_NODATA;
/** Python's `socket.has_ipv6`: this build knows AF_INET6. */
export const hasIpv6: boolean = C.AF_INET6 !== undefined;

const E = errnoConstants;
const EBADF = E.EBADF!;
const EINTR = E.EINTR!;
const EAGAIN = E.EAGAIN!;
const EWOULDBLOCK = E.EWOULDBLOCK ?? EAGAIN;
const EINPROGRESS = E.EINPROGRESS!;
const ECONNRESET = E.ECONNRESET!;
const POLLIN = selectConstants.POLLIN!;
const POLLOUT = selectConstants.POLLOUT!;
const NONBLOCK_FLAGS = (SOCK_NONBLOCK ?? 0) | (SOCK_CLOEXEC ?? 0);

// ---------------------------------------------------------------------------
// Errors

const BRANDS = Symbol.for('iomux.errorBrands');

/**
 * Python's `socket.gaierror`: an address-related error from name resolution.
 * `errno` is the (platform's) EAI_* value, as in Python.
 */
export class gaierror extends OSError {
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
    const brands = (x as { [BRANDS]?: unknown })[BRANDS];
    return Array.isArray(brands) && brands.includes('gaierror');
  }
}
Object.defineProperty(gaierror.prototype, BRANDS, { value: Object.freeze(['gaierror', 'OSError']) });
Object.defineProperty(gaierror.prototype, 'name', { value: 'gaierror', writable: true, configurable: true });

/** Python's `socket.error`, an alias of OSError since Python 3.3. */
export const error = OSError;
/** Python's `socket.timeout`, an alias of TimeoutError since Python 3.10. */
export const timeout = TimeoutError;

// gai_strerror(3) texts. Differs from CPython: taken from the C library's
// table here, since the addon exports no gai_strerror.
const GAI_TEXT: Record<string, [linux: string, bsd: string]> = {
  EAI_NONAME: ['Name or service not known', 'nodename nor servname provided, or not known'],
  EAI_ADDRFAMILY: ['Address family for hostname not supported', 'address family for nodename not supported'],
  EAI_SERVICE: ['Servname not supported for ai_socktype', 'servname not supported for ai_socktype'],
};

function gai(name: 'EAI_NONAME' | 'EAI_ADDRFAMILY' | 'EAI_SERVICE'): gaierror {
  const code = C[name] ?? (name === 'EAI_ADDRFAMILY' ? C.EAI_FAMILY : undefined) ?? -2;
  const text = GAI_TEXT[name]![process.platform === 'linux' ? 0 : 1];
  return new gaierror(code, text, { code: name });
}

/** OSError (or its PEP 3151 subclass) for `errno`, with the C library's text. */
function osError(errno: number, syscall: string, options?: OSErrorOptions): OSError {
  return fromErrno(errno, binding.strerror(errno), { syscall, ...options });
}

/** Runs a binding call, turning native errors into the contract's classes. */
function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

// ---------------------------------------------------------------------------
// Default timeout

let defaultTimeout: number | null = null;

/** Python's `socket.getdefaulttimeout()`: seconds, or null (blocking). */
export function getdefaulttimeout(): number | null {
  return defaultTimeout;
}

/**
 * Python's `socket.setdefaulttimeout(timeout)`: the timeout, in seconds, of
 * sockets created from now on; null means blocking.
 * @throws {ValueError} if timeout is negative or NaN
 */
export function setdefaulttimeout(value: number | null): void {
  defaultTimeout = timeoutArg(value);
}

/** Python's `_PyTime_FromSecondsObject` checks for a socket timeout. */
function timeoutArg(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  let v: number;
  if (typeof value === 'boolean') v = value ? 1 : 0;
  else if (typeof value === 'number') v = value;
  else if (typeof value === 'bigint') v = Number(value);
  else throw new TypeError(`'${pyTypeName(value)}' object cannot be interpreted as an integer`);
  if (Number.isNaN(v)) throw new ValueError('Invalid value NaN (not a number)');
  if (!Number.isFinite(v) || Math.abs(v) * 1e9 >= 2 ** 63) {
    throw new OverflowError('timestamp out of range for platform time_t');
  }
  if (v < 0) throw new ValueError('Timeout value out of range');
  return v;
}

// ---------------------------------------------------------------------------
// Waiting for readiness (sockets with a timeout), through the poll binding.

// One struct pollfd: int32 fd, int16 events, int16 revents, in native order.
const pollBuf = new ArrayBuffer(8);
const pollFds = new Int32Array(pollBuf);
const pollEvents = new Int16Array(pollBuf);
const pollOut = new Int32Array(2);

/**
 * Waits until fd is readable (or writable) or `ms` milliseconds pass.
 * Returns false on timeout. EINTR is thrown (the caller retries, PEP 475).
 */
function waitFd(fd: number, writing: boolean, ms: number): boolean {
  pollFds[0] = fd;
  pollEvents[2] = writing ? POLLOUT : POLLIN;
  pollEvents[3] = 0;
  return call(() => binding.poll(pollFds, 1, ms, pollOut)) > 0;
}

function isErrno(e: unknown, ...errnos: number[]): boolean {
  return e instanceof OSError && e.errno !== undefined && errnos.includes(e.errno);
}

/**
 * Waits for readiness before the deadline (performance.now() milliseconds).
 * Returns false once the deadline has passed, as CPython's internal_select.
 */
function waitUntil(fd: number, writing: boolean, deadline: number): boolean {
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining < 0) return false;
    // Round up, never down, to poll's millisecond resolution.
    const ms = Math.min(Math.ceil(remaining), INT_MAX);
    let ready: boolean;
    try {
      ready = waitFd(fd, writing, ms);
    } catch (e) {
      if (isErrno(e, EINTR)) continue;
      throw e;
    }
    if (ready) return true;
    if (ms === Math.ceil(remaining)) return false;
  }
}

// ---------------------------------------------------------------------------
// Addresses

/** A Python address tuple as iomux takes it. */
export type InetAddress = readonly [host: string | Uint8Array, port: number];
/** An AF_INET6 address tuple: `[host, port, flowinfo?, scopeId?]`. */
export type Inet6Address = readonly [host: string | Uint8Array, port: number, flowinfo?: number, scopeId?: number];
/** An AF_UNIX address: a path, or bytes (a leading NUL byte names a Linux abstract socket). */
export type UnixAddress = string | Uint8Array;
/** Any address iomux takes: AF_INET, AF_INET6 or AF_UNIX. */
export type Address = InetAddress | Inet6Address | UnixAddress;
/** An address as iomux returns it (getsockname, getpeername, accept). */
export type SocketAddress = [string, number] | [string, number, number, number] | string | Buffer;

/** Python's type name, with arrays as the tuples they stand for. */
function typeName(x: unknown, arrayName = 'tuple'): string {
  return Array.isArray(x) ? arrayName : pyTypeName(x);
}

function hostArg(x: unknown): string {
  if (typeof x === 'string') return x;
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1');
  throw new TypeError(`str, bytes or bytearray expected, not ${typeName(x)}`);
}

/** An int parsed as the "i" format, with Python's port message on overflow. */
function portArg(x: unknown, op: string): number {
  let v: number;
  try {
    v = toCInt(x);
  } catch (e) {
    if (e instanceof OverflowError) throw new OverflowError(`${op}(): port must be 0-65535.`);
    throw e;
  }
  return v;
}

/** An int parsed as the "I" format: masked to 32 bits, as CPython does. */
function uintMaskArg(x: unknown): number {
  if (typeof x === 'bigint') return Number(BigInt.asUintN(32, x));
  return toInt(x) >>> 0;
}

function isLocalhost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || host.toLowerCase() === 'localhost.';
}

/** CPython's setipaddr(), numeric addresses only (see the module header). */
function resolveHost(host: string, family: number): string {
  if (family === AF_INET) {
    if (host === '') return '0.0.0.0';
    if (host === '<broadcast>') return '255.255.255.255';
    if (net.isIPv4(host)) return host;
    if (isLocalhost(host)) return '127.0.0.1';
    throw gai(net.isIPv6(host) ? 'EAI_ADDRFAMILY' : 'EAI_NONAME');
  }
  if (host === '') return '::';
  const pct = host.indexOf('%');
  const bare = pct < 0 ? host : host.slice(0, pct);
  if (net.isIPv6(bare) && pct !== host.length - 1) return bare;
  if (isLocalhost(host)) return '::1';
  throw gai(net.isIPv4(host) ? 'EAI_ADDRFAMILY' : 'EAI_NONAME');
}

/** AF_UNIX name bytes, as CPython's getsockaddrarg checks them. */
function unixPathArg(address: unknown): string {
  let bytes: Buffer;
  if (typeof address === 'string') bytes = Buffer.from(address, 'utf8');
  else if (ArrayBuffer.isView(address)) bytes = Buffer.from(address.buffer, address.byteOffset, address.byteLength);
  else throw new TypeError(`a bytes-like object is required, not '${typeName(address)}'`);
  const abstract = process.platform === 'linux' && (bytes.length === 0 || bytes[0] === 0);
  // sizeof(sockaddr_un.sun_path): 108 on Linux, 104 on the BSDs and macOS.
  const max = process.platform === 'linux' ? 108 : 104;
  if (abstract ? bytes.length > max : bytes.length >= max) throw new OSError('AF_UNIX path too long');
  // The addon takes abstract names as Latin-1 (one char per byte) and path
  // names as UTF-8.
  if (abstract) return bytes.toString('latin1');
  const path = bytes.toString('utf8');
  if (!Buffer.from(path, 'utf8').equals(bytes)) {
    // Differs from CPython: a path name must be valid UTF-8.
    throw new ValueError('AF_UNIX path must be valid UTF-8');
  }
  return path;
}

/**
 * CPython's getsockaddrarg(): checks `address` for `family` and returns the
 * (host, port) the addon takes. `op` names the caller in messages.
 */
function addressArg(family: number, address: unknown, op: string): [string, number] {
  if (family === AF_UNIX) return [unixPathArg(address), 0];
  if (family === AF_INET) {
    if (!Array.isArray(address)) {
      throw new TypeError(`${op}(): AF_INET address must be tuple, not ${typeName(address)}`);
    }
    if (address.length !== 2) throw new TypeError('AF_INET address must be a pair (host, port)');
    const host = hostArg(address[0]);
    const port = portArg(address[1], op);
    const ip = resolveHost(host, AF_INET);
    if (port < 0 || port > 0xffff) throw new OverflowError(`${op}(): port must be 0-65535.`);
    return [ip, port];
  }
  if (family === AF_INET6) {
    if (!Array.isArray(address)) {
      throw new TypeError(`${op}(): AF_INET6 address must be tuple, not ${typeName(address)}`);
    }
    if (address.length < 2 || address.length > 4) {
      throw new TypeError('AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])');
    }
    const host = hostArg(address[0]);
    const port = portArg(address[1], op);
    const flowinfo = address.length > 2 ? uintMaskArg(address[2]) : 0;
    const scopeId = address.length > 3 ? uintMaskArg(address[3]) : 0;
    const ip = resolveHost(host, AF_INET6);
    if (port < 0 || port > 0xffff) throw new OverflowError(`${op}(): port must be 0-65535.`);
    if (flowinfo > 0xfffff) throw new OverflowError(`${op}(): flowinfo must be 0-1048575.`);
    // CPython sets sin6_scope_id from the tuple, overriding any zone in the
    // host string; so does this.
    return [scopeId !== 0 ? `${ip}%${scopeId}` : ip, port];
  }
  throw new OSError(`${op}(): bad family`);
}

/** CPython's makesockaddr(): the Python-shaped address from the addon's. */
function makeAddress(family: number, host: string, port: number): SocketAddress {
  if (family === AF_INET) return [host, port];
  if (family === AF_INET6) {
    const pct = host.indexOf('%');
    const scopeId = pct < 0 ? 0 : Number(host.slice(pct + 1));
    return [host, port, 0, scopeId];
  }
  if (family === AF_UNIX) {
    // A Linux abstract name is bytes in Python; a path name is a str.
    if (host.length > 0 && host.charCodeAt(0) === 0) return Buffer.from(host, 'latin1');
    return host;
  }
  return host;
}

/** Python's repr() of an address, for createServer's message. */
function pyRepr(x: unknown): string {
  if (typeof x === 'string') {
    const q = x.includes("'") && !x.includes('"') ? '"' : "'";
    const body = x.replace(/\\/g, '\\\\').replace(/\0/g, '\\x00').replace(new RegExp(q, 'g'), `\\${q}`);
    return `${q}${body}${q}`;
  }
  if (Array.isArray(x)) return x.length === 1 ? `(${pyRepr(x[0])},)` : `(${x.map(pyRepr).join(', ')})`;
  if (x instanceof Uint8Array) return `b${pyRepr(Buffer.from(x).toString('latin1'))}`;
  if (x === null || x === undefined) return 'None';
  if (typeof x === 'boolean') return x ? 'True' : 'False';
  return String(x);
}

// ---------------------------------------------------------------------------
// Socket

/** The `Socket` constructor's arguments (Python's keywords) as one options object. */
export interface SocketOptions {
  /** AF_INET (the default), AF_INET6 or AF_UNIX; with `fileno`, read from the kernel when omitted. */
  family?: number | null;
  /** SOCK_STREAM (the default) or SOCK_DGRAM, optionally or-ed with SOCK_NONBLOCK/SOCK_CLOEXEC. */
  type?: number | null;
  /** The protocol number; 0 (the default) picks the family's usual one. */
  proto?: number | null;
  /** Wrap this open descriptor instead of creating a socket (the Socket then owns it). */
  fileno?: number | null;
}

function isOptions(x: unknown): x is SocketOptions {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** "Unset" for the constructor: omitted, null, or Python's -1 sentinel. */
function unset(x: unknown): boolean {
  return x === undefined || x === null || x === -1;
}

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
    if (isOptions(family)) ({ family, type, proto, fileno } = family);
    let fam: number;
    let typ: number;
    let pro: number;
    let fd: number;
    if (fileno === undefined || fileno === null) {
      fam = unset(family) ? AF_INET : toClinicInt(family);
      typ = unset(type) ? SOCK_STREAM : toClinicInt(type);
      pro = unset(proto) ? 0 : toClinicInt(proto);
      fd = call(() => binding.socket(fam, typ, pro));
    } else {
      fd = toInt(fileno);
      if (fd < 0) throw new ValueError('negative file descriptor');
      if (fd > INT_MAX) throw new OverflowError('signed integer is greater than maximum');
      const f = fd;
      fam = unset(family) ? call(() => binding.getsockname(f))[0] : toClinicInt(family);
      typ = unset(type) ? call(() => binding.getsockopt_int(f, SOL_SOCKET, SO_TYPE)) : toClinicInt(type);
      pro = !unset(proto) ? toClinicInt(proto) : SO_PROTOCOL !== undefined ? call(() => binding.getsockopt_int(f, SOL_SOCKET, SO_PROTOCOL)) : 0;
    }
    this.#handle = binding.fdhandle_new(fd);
    this.#fd = fd;
    this.#family = fam;
    this.#type = typ & ~NONBLOCK_FLAGS;
    this.#proto = pro;
    if (SOCK_NONBLOCK !== undefined && (typ & SOCK_NONBLOCK) !== 0) {
      this.#timeout = 0;
    } else {
      this.#timeout = defaultTimeout;
      if (defaultTimeout !== null) {
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
    if (timeout === null || timeout === 0) return call(() => fn(fd));
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
    const [nfd, fam, host, port] = this.#io(false, 'accept', (fd) => binding.accept(fd));
    // The constructor owns nfd from its first step (every argument is an
    // int already) and closes it if it fails, so nothing can leak here.
    const sock = new Socket(this.#family, this.#type, this.#proto, nfd);
    // Issue #7995: if no default timeout is set and the listening socket had
    // a (non-zero) timeout, force the new socket in blocking mode to override
    // platform-specific socket flags inheritance.
    if (defaultTimeout === null && this.#timeout) sock.setblocking(true);
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
    const n = toInt(bufsize);
    if (n < 0) throw new ValueError('negative buffersize in recv');
    const fl = toCInt(flags);
    // As CPython: a zero-byte recv returns at once, without a syscall.
    if (n === 0) return Buffer.alloc(0);
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
    const b = dataArg(data);
    const fl = toCInt(flags);
    const timeout = this.#timeout;
    const deadline = timeout !== null && timeout > 0 ? performance.now() + timeout * 1000 : undefined;
    let off = 0;
    do {
      if (deadline !== undefined && deadline - performance.now() <= 0 && off > 0) {
        throw new TimeoutError('timed out');
      }
      const start = off;
      off += this.#io(true, 'send', (fd) => binding.send(fd, b, start, b.byteLength - start, fl), deadline);
    } while (off < b.byteLength);
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
    let v: number;
    if (typeof value === 'boolean') v = value ? 1 : 0;
    else if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value <= INT_MAX) v = value;
    else if (ArrayBuffer.isView(value)) {
      if (value.byteLength !== 4) {
        // Differs from CPython: only int options are supported.
        throw new TypeError('setsockopt(): only int options are supported (a 4-byte buffer)');
      }
      v = new DataView(value.buffer, value.byteOffset, 4).getInt32(0, isLittleEndian);
    } else throw new TypeError(`a bytes-like object is required, not '${typeName(value, 'list')}'`);
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
    const closed = this.closed;
    let s = `<socket.socket${closed ? ' [closed]' : ''} fd=${this.#fd}, family=${this.#family}, type=${this.#type}, proto=${this.#proto}`;
    if (!closed) {
      try {
        const laddr = this.getsockname();
        if (laddr.length) s += `, laddr=${pyRepr(laddr)}`;
      } catch {
        // No local address: leave it out, as Python does.
      }
      try {
        const raddr = this.getpeername();
        if (raddr.length) s += `, raddr=${pyRepr(raddr)}`;
      } catch {
        // Not connected.
      }
    }
    return `${s}>`;
  }
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function dataArg(data: unknown): ArrayBufferView {
  if (ArrayBuffer.isView(data)) return data;
  throw new TypeError(`a bytes-like object is required, not '${typeName(data, 'list')}'`);
}

// ---------------------------------------------------------------------------
// Module functions

/**
 * Python's `socket.socketpair()`: two connected sockets, both
 * non-inheritable. The family defaults to AF_UNIX.
 */
export function socketpair(family?: number | null, type: number = SOCK_STREAM, proto: number = 0): [Socket, Socket] {
  const fam = family === undefined || family === null ? AF_UNIX : toClinicInt(family);
  const typ = toClinicInt(type);
  const pro = toClinicInt(proto);
  const [a, b] = call(() => binding.socketpair(fam, typ, pro));
  // Each constructor owns its descriptor from its first step and closes it
  // if it fails; only the other one needs closing here.
  let sa: Socket;
  try {
    sa = new Socket(fam, typ, pro, a);
  } catch (e) {
    call(() => binding.close(b));
    throw e;
  }
  try {
    return [sa, new Socket(fam, typ, pro, b)];
  } catch (e) {
    sa.close();
    throw e;
  }
}

/**
 * Python's `socket.fromfd(fd, family, type, proto=0)`: a socket on a
 * duplicate of `fd` (the original stays open and yours).
 */
export function fromfd(fd: number, family: number, type: number, proto: number = 0): Socket {
  const f = toInt(fd);
  const fam = toClinicInt(family);
  const typ = toClinicInt(type);
  const pro = toClinicInt(proto);
  if (f < 0) throw osError(EBADF, 'dup');
  const nfd = call(() => binding.dup(f));
  try {
    return new Socket(fam, typ, pro, nfd);
  } catch (e) {
    // The duplicate is ours until a Socket owns it.
    binding.close(nfd);
    throw e;
  }
}

/** Python's `socket.close(fd)`: closes a socket descriptor. */
export function close(fd: number): void {
  const f = toInt(fd);
  if (f < 0) throw osError(EBADF, 'close');
  call(() => binding.close(f));
}

/**
 * Python's `socket.has_dualstack_ipv6()`: whether one AF_INET6 socket can
 * accept both IPv4 and IPv6 connections here.
 */
export function hasDualstackIpv6(): boolean {
  if (!hasIpv6 || IPV6_V6ONLY === undefined) return false;
  try {
    using sock = new Socket(AF_INET6, SOCK_STREAM);
    sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0);
    return true;
  } catch (e) {
    if (e instanceof OSError) return false;
    throw e;
  }
}

/** Options of `createServer` (Python's `socket.create_server` keywords). */
export interface CreateServerOptions {
  /** AF_INET (default) or AF_INET6 (or AF_UNIX with a path address). */
  family?: number;
  /** listen() backlog; omitted means listen()'s default. */
  backlog?: number | null;
  /** Set SO_REUSEPORT. */
  reusePort?: boolean;
  /** Accept IPv4 and IPv6 on one AF_INET6 socket. */
  dualstackIpv6?: boolean;
}

/**
 * Python's `socket.create_server(address, *, family, backlog, reuse_port,
 * dualstack_ipv6)`: a listening SOCK_STREAM socket bound to `address`, with
 * SO_REUSEADDR set (POSIX).
 * @throws {ValueError} if reusePort or dualstackIpv6 is not supported, or
 *   dualstackIpv6 is asked for without AF_INET6
 * @throws {OSError} if bind fails; the message names the address
 */
export function createServer(address: Address, options: CreateServerOptions = {}): Socket {
  const { family = AF_INET, backlog = null, reusePort = false, dualstackIpv6 = false } = options;
  if (reusePort && SO_REUSEPORT === undefined) throw new ValueError('SO_REUSEPORT not supported on this platform');
  if (dualstackIpv6) {
    if (!hasDualstackIpv6()) throw new ValueError('dualstack_ipv6 not supported on this platform');
    if (family !== AF_INET6) throw new ValueError('dualstack_ipv6 requires AF_INET6 family');
  }
  const sock = new Socket(family, SOCK_STREAM);
  try {
    // SO_REUSEADDR lets a restarted server bind while old connections sit
    // in TIME_WAIT; it is not set on Windows, where it means something else.
    try {
      sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    } catch (e) {
      if (!(e instanceof OSError)) throw e;
    }
    if (reusePort) sock.setsockopt(SOL_SOCKET, SO_REUSEPORT!, 1);
    if (hasIpv6 && family === AF_INET6 && IPV6_V6ONLY !== undefined) {
      // Linux enables dual-stack by default; disable it unless asked, so
      // that an IPv4 server on the same port can coexist.
      sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, dualstackIpv6 ? 0 : 1);
    }
    try {
      sock.bind(address);
    } catch (e) {
      if (!(e instanceof OSError)) throw e;
      const msg = `${e.strerror ?? 'None'} (while attempting to bind on address ${pyRepr(address)})`;
      if (e.errno === undefined) throw new OSError(`[Errno None] ${msg}`);
      throw fromErrno(e.errno, msg, { syscall: 'bind', code: e.code });
    }
    if (backlog === null || backlog === undefined) sock.listen();
    else sock.listen(backlog);
    return sock;
  } catch (e) {
    sock.close();
    throw e;
  }
}

/** Options of `createConnection` (Python's `socket.create_connection` keywords). */
export interface CreateConnectionOptions {
  /** Seconds; null blocks; omitted means getdefaulttimeout(). */
  timeout?: number | null;
  /** Bind to this (host, port) before connecting. */
  sourceAddress?: Address | null;
  /** Throw an AggregateError of every attempt's error instead of the first. */
  allErrors?: boolean;
}

/** Python's `host, port = address` unpacking. */
function unpackPair(address: unknown): [unknown, unknown] {
  if (typeof address === 'string' || Array.isArray(address)) {
    // As Python's unpacking: stop at the third item, never copy a huge sequence.
    const items: unknown[] = [];
    for (const item of address as Iterable<unknown>) {
      if (items.length === 2) throw new ValueError('too many values to unpack (expected 2)');
      items.push(item);
    }
    if (items.length < 2) throw new ValueError(`not enough values to unpack (expected 2, got ${items.length})`);
    return [items[0], items[1]];
  }
  throw new TypeError(`cannot unpack non-iterable ${pyTypeName(address)} object`);
}

/**
 * getaddrinfo(host, port, 0, SOCK_STREAM) for numeric hosts and localhost:
 * [family, address] pairs to try in order (no DNS; see the README).
 */
export function streamTargets(hostArgIn: unknown, portIn: unknown): Array<[number, Address]> {
  let port: number;
  if (typeof portIn === 'string' || portIn instanceof Uint8Array) {
    const s = typeof portIn === 'string' ? portIn : Buffer.from(portIn).toString('latin1');
    // Differs from CPython: service names ('http') are not looked up.
    if (!/^[0-9]+$/.test(s)) throw gai('EAI_SERVICE');
    port = Number(s);
  } else if (portIn === null || portIn === undefined) {
    port = 0;
  } else if ((typeof portIn === 'number' && Number.isInteger(portIn)) || typeof portIn === 'bigint') {
    port = toInt(portIn);
  } else {
    throw new TypeError('getaddrinfo() argument 2 must be integer or string');
  }
  if (hostArgIn === null || hostArgIn === undefined) {
    return [[AF_INET6, ['::1', port, 0, 0]], [AF_INET, ['127.0.0.1', port]]];
  }
  if (typeof hostArgIn !== 'string' && !(hostArgIn instanceof Uint8Array)) {
    throw new TypeError('getaddrinfo() argument 1 must be string or None');
  }
  const host = hostArg(hostArgIn);
  if (net.isIPv4(host)) return [[AF_INET, [host, port]]];
  const pct = host.indexOf('%');
  if (net.isIPv6(pct < 0 ? host : host.slice(0, pct))) {
    const scope = pct < 0 ? 0 : Number(host.slice(pct + 1));
    return [[AF_INET6, [host, port, 0, Number.isInteger(scope) ? scope : 0]]];
  }
  if (isLocalhost(host)) return [[AF_INET, ['127.0.0.1', port]], [AF_INET6, ['::1', port, 0, 0]]];
  throw gai('EAI_NONAME');
}

/**
 * Python's `socket.create_connection(address, timeout, source_address, *,
 * all_errors)`: connects a SOCK_STREAM socket to `[host, port]`, trying each
 * address the host has (IPv4 then IPv6 for localhost) until one connects.
 * With a timeout (seconds) the socket keeps it, as Python's does.
 * @throws {OSError} the first attempt's error (ConnectionRefusedError, ...),
 *   or an AggregateError of all of them with `allErrors`
 * @throws {TimeoutError} if the timeout passes first
 */
export function createConnection(
  address: readonly [string | Uint8Array | null, number | string | null],
  timeoutOrOptions?: number | null | CreateConnectionOptions,
  sourceAddress?: Address | null,
): Socket {
  let opts: CreateConnectionOptions;
  if (typeof timeoutOrOptions === 'object' && timeoutOrOptions !== null) opts = timeoutOrOptions;
  else {
    opts = { sourceAddress: sourceAddress ?? null };
    if (timeoutOrOptions !== undefined) opts.timeout = timeoutOrOptions;
  }
  const [host, port] = unpackPair(address);
  const exceptions: OSError[] = [];
  for (const [af, sa] of streamTargets(host, port)) {
    let sock: Socket | null = null;
    try {
      sock = new Socket(af, SOCK_STREAM, IPPROTO_TCP);
      if (opts.timeout !== undefined) sock.settimeout(opts.timeout);
      if (opts.sourceAddress) sock.bind(opts.sourceAddress);
      sock.connect(sa);
      return sock;
    } catch (e) {
      sock?.close();
      if (!(e instanceof OSError)) throw e;
      exceptions.push(e);
    }
  }
  if (opts.allErrors) throw new AggregateError(exceptions, 'create_connection failed');
  throw exceptions[0]!;
}
