// The socket module's functions: socketpair, fromfd, close, createServer, createConnection.
import { binding } from '../binding.js';
import { errnoConstants } from '../constants.js';
import { fromErrno, OSError, ValueError } from '../errors.js';
import { pyTypeName, toClinicInt, toInt } from '../pyargs.js';
import { pyRepr, streamTargets, type Address } from './address.js';
import {
  AF_INET, AF_INET6, AF_UNIX, hasIpv6, IPPROTO_IPV6, IPPROTO_TCP, IPV6_V6ONLY, SO_REUSEADDR, SO_REUSEPORT,
  SOCK_STREAM, SOL_SOCKET,
} from './constants.js';
import { call, osError } from './errors.js';
import { Socket } from './socket.js';

const EBADF = errnoConstants.EBADF!;

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
