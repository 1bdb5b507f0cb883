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
export * from './constants.js';
export { gaierror, error, timeout } from './errors.js';
export { getdefaulttimeout, setdefaulttimeout } from './timeout.js';
export {
  streamTargets, type Address, type Inet6Address, type InetAddress, type SocketAddress, type UnixAddress,
} from './address.js';
export { Socket } from './socket.js';
export { type SocketOptions } from './socket-args.js';
export { recvmmsg, type RecvBatch, sendmmsg, SENDMMSG_MAX, type Datagram, recvFds, sendFds, MSG_CMSG_CLOEXEC, MSG_CTRUNC, SCM_RIGHTS, type RecvFdsResult } from './dgram.js';
export {
  close, createConnection, createServer, fromfd, hasDualstackIpv6, socketpair,
  type CreateConnectionOptions, type CreateServerOptions,
} from './functions.js';
