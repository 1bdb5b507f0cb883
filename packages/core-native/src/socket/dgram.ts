/**
 * Datagrams and descriptor passing: CPython 3.11 Modules/socketmodule.c
 * `sock_sendto`, `sock_recvfrom`, `sock_recvfrom_into`, and Lib/socket.py
 * `send_fds`/`recv_fds` (sendmsg/recvmsg with SCM_RIGHTS), as functions of a
 * `Socket` that use only its public methods (native/dgram.cc and dgram-fds.cc underneath).
 * `Socket.sendto`, `recvfrom` and `recvfromInto` delegate here; `recvmmsg`
 * receives a batch of datagrams in one call and `sendmmsg` sends one.
 *
 * Deliberate differences (README, "Differences from Python"):
 * - `recvFds` receives with MSG_CMSG_CLOEXEC: the descriptors are
 *   non-inheritable (PEP 446), where Python's `recv_fds` leaves them
 *   inheritable.
 * - `sendFds` passes `flags` and `address`, and `recvFds` passes `flags`,
 *   as Python's documentation says; CPython 3.11 drops them.
 */
import { Buffer, constants as bufferConstants } from 'node:buffer';
import { binding } from '../binding.js';
import { errnoConstants as E, socketConstants as C } from '../constants.js';
import { OverflowError, ValueError } from '../errors.js';
import { toCInt, toInt } from '../pyargs.js';
import { addressArg, makeAddress, typeName, type Address, type SocketAddress } from './address.js';
import { call, osError } from './errors.js';
import type { Socket } from './socket.js';
import { sockCallEx } from './timeout.js';

/** The addon's calls of native/dgram.cc and dgram-fds.cc. */
interface DgramBinding {
  sendto(fd: number, buf: ArrayBufferView, off: number, len: number, flags: number, family: number, host: string, port: number): number;
  recvfrom(fd: number, buf: ArrayBufferView, off: number, len: number, flags: number): [number, number, string, number];
  recvmmsg(fd: number, buf: ArrayBufferView, off: number, len: number, slot: number, maxmsgs: number, flags: number): Array<number | string>;
  sendmmsg(fd: number, views: ArrayBufferView[], addrs: Array<number | string> | null, count: number, flags: number): number;
  sendmsg_fds(fd: number, buffers: ArrayBufferView[], fds: Int32Array, flags: number, family: number, host: string, port: number): number;
  recvmsg_fds(fd: number, buf: ArrayBufferView, off: number, len: number, maxfds: number, flags: number): [number, number, number[], number, string, number];
}
const dg = binding as unknown as DgramBinding;

const EBADF = E.EBADF!;
const AF_UNSPEC = C.AF_UNSPEC ?? 0;

/** SCM_RIGHTS: the control message that carries descriptors. */
export const SCM_RIGHTS: number | undefined = C.SCM_RIGHTS;
/** recvmsg's flag: control data (descriptors) did not all fit. */
export const MSG_CTRUNC: number | undefined = C.MSG_CTRUNC;
/** recvmsg's flag that makes received descriptors close-on-exec (Linux). */
export const MSG_CMSG_CLOEXEC: number | undefined = C.MSG_CMSG_CLOEXEC;

/** Python's (data, ancdata-free) result of recv_fds: `[data, fds, msgFlags, address]`. */
export type RecvFdsResult = [data: Buffer, fds: number[], msgFlags: number, address: SocketAddress | null];

/** CPython's sock_call() on `sock`'s descriptor and timeout (timeout.ts). */
function sockCall<T>(sock: Socket, writing: boolean, syscall: string, fn: (fd: number) => T): T {
  return sockCallEx(sock.fileno(), sock.gettimeout(), writing, syscall, fn);
}

/** The address the kernel gave, as Python's makesockaddr; null for none (an unnamed AF_UNIX peer). */
function addressOut(family: number, host: string, port: number): SocketAddress | null {
  return family === AF_UNSPEC ? null : makeAddress(family, host, port);
}

function bytesArg(data: unknown): ArrayBufferView {
  if (ArrayBuffer.isView(data)) return data;
  throw new TypeError(`a bytes-like object is required, not '${typeName(data, 'list')}'`);
}

/**
 * Python's `socket.sendto(data[, flags], address)`: sends one datagram to
 * `address` (in the socket's family's shape) and returns the bytes sent.
 * @throws {TypeError} for a wrong number of arguments, non-bytes data or an address of the wrong shape
 * @throws {OverflowError} if the port is not 0-65535
 * @throws {OSError} from sendto(2): EMSGSIZE for a datagram too big, ...
 */
export function sendto(sock: Socket, data: ArrayBufferView, ...rest: [address: Address] | [flags: number, address: Address]): number {
  if (rest.length < 1 || rest.length > 2) throw new TypeError(`sendto() takes 2 or 3 arguments (${rest.length + 1} given)`);
  const b = bytesArg(data);
  const flags = rest.length === 2 ? toCInt(rest[0]) : 0;
  const family = sock.family;
  const [host, port] = addressArg(family, rest[rest.length - 1], 'sendto');
  return sockCall(sock, true, 'sendto', (fd) => dg.sendto(fd, b, 0, b.byteLength, flags, family, host, port));
}

/**
 * Python's `socket.recvfrom(bufsize[, flags])`: one datagram (at most
 * `bufsize` bytes of it; the rest is discarded) and the sender's address,
 * `[data, address]` (address null when the sender has none).
 * @throws {ValueError} if bufsize is negative
 * @throws {BlockingIOError} if non-blocking and nothing is waiting
 */
export function recvfrom(sock: Socket, bufsize: number, flags: number = 0): [Buffer, SocketAddress | null] {
  const n = toInt(bufsize);
  if (n < 0) throw new ValueError('negative buffersize in recvfrom');
  const fl = toCInt(flags);
  const size = Math.min(n, bufferConstants.MAX_LENGTH);
  const buf = Buffer.allocUnsafe(size);
  const [got, fam, host, port] = sockCall(sock, false, 'recvfrom', (fd) => dg.recvfrom(fd, buf, 0, size, fl));
  // Copy a short read, so it does not pin the whole allocation.
  const data = got === size ? buf : size - got > 4096 ? Buffer.from(buf.subarray(0, got)) : buf.subarray(0, got);
  return [data, addressOut(fam, host, port)];
}

/**
 * Python's `socket.recvfrom_into(buffer[, nbytes[, flags]])`: one datagram
 * into `buffer` (at most `nbytes` bytes; 0 means the whole buffer):
 * `[nbytes received, address]`.
 * @throws {ValueError} if nbytes is negative or larger than the buffer
 */
export function recvfromInto(sock: Socket, buffer: ArrayBufferView, nbytes: number = 0, flags: number = 0): [number, SocketAddress | null] {
  if (!ArrayBuffer.isView(buffer)) {
    throw new TypeError(`recvfrom_into() argument 1 must be read-write bytes-like object, not ${typeName(buffer, 'list')}`);
  }
  let n = toInt(nbytes);
  const fl = toCInt(flags);
  if (n < 0) throw new ValueError('negative buffersize in recvfrom_into');
  if (n === 0) n = buffer.byteLength;
  else if (n > buffer.byteLength) throw new ValueError('nbytes is greater than the length of the buffer');
  const len = n;
  const [got, fam, host, port] = sockCall(sock, false, 'recvfrom', (fd) => dg.recvfrom(fd, buffer, 0, len, fl));
  return [got, addressOut(fam, host, port)];
}

/** recvmmsg's result: datagram i is `nbytes[i]` bytes at `i * slotSize` in the buffer, from `addresses[i]`. */
export interface RecvBatch {
  /** Datagrams received, at least 1. */
  count: number;
  /** Bytes of each datagram in its slot (at most the slot size: the rest is discarded). */
  nbytes: number[];
  /** Each sender's address, null when it has none. */
  addresses: Array<SocketAddress | null>;
}

/**
 * Several datagrams in one recvmmsg(2) (Linux; recvfrom in a loop
 * elsewhere), no Python equivalent: up to `maxmsgs` (1-1024) datagrams
 * that are already waiting, datagram i into `buffer` at `i * slotSize`
 * (at most `slotSize` bytes of it). Never waits, whatever the socket's
 * timeout (MSG_DONTWAIT): one datagram waiting costs one call.
 * @throws {ValueError} if slotSize is not positive, maxmsgs is not 1-1024 or the buffer holds no slot
 * @throws {BlockingIOError} if no datagram is waiting
 * @throws {OSError} from recvmmsg(2) for the first datagram (a later error comes with the next call)
 */
export function recvmmsg(sock: Socket, buffer: ArrayBufferView, slotSize: number, maxmsgs: number = 32, flags: number = 0): RecvBatch {
  checkSock(sock, 'recvmmsg');
  if (!ArrayBuffer.isView(buffer)) {
    throw new TypeError(`recvmmsg() argument 1 must be read-write bytes-like object, not ${typeName(buffer, 'list')}`);
  }
  const slot = toInt(slotSize);
  const max = toInt(maxmsgs);
  const fl = toCInt(flags);
  if (slot < 1 || slot > 0x7fffffff) throw new ValueError('slotSize must be 1-2147483647');
  if (max < 1 || max > 1024) throw new ValueError('maxmsgs must be 1-1024');
  if (slot > buffer.byteLength) throw new ValueError('slotSize is greater than the length of the buffer');
  const fd = sock.fileno();
  if (fd < 0) throw osError(EBADF, 'recvmmsg');
  const out = call(() => dg.recvmmsg(fd, buffer, 0, buffer.byteLength, slot, max, fl));
  const count = out[0] as number;
  const nbytes: number[] = new Array(count);
  const addresses: Array<SocketAddress | null> = new Array(count);
  for (let i = 0, j = 1; i < count; i++, j += 4) {
    nbytes[i] = out[j] as number;
    addresses[i] = addressOut(out[j + 1] as number, out[j + 2] as string, out[j + 3] as number);
  }
  return { count, nbytes, addresses };
}

/** One datagram for sendmmsg: its bytes and where to (null or left out: the connected peer). */
export type Datagram = readonly [data: ArrayBufferView, address?: Address | null];

/** Datagrams per sendmmsg call: the kernel's own cap on vlen (UIO_MAXIOV). */
export const SENDMMSG_MAX = 1024;

/**
 * Several datagrams in one sendmmsg(2) (Linux; sendto in a loop
 * elsewhere), no Python equivalent: `datagrams[i]` is `[data, address]`,
 * address in the socket's family's shape as for `sendto`, or null (left
 * out) for a connected socket's peer. Sends the first SENDMMSG_MAX (1024)
 * at most, in order, and returns how many went: fewer when the kernel
 * refused one after the first, or one of them is malformed (the rest are
 * the caller's to send again, which then throws for the one refused).
 * Never waits, whatever the socket's timeout (MSG_DONTWAIT).
 * @throws {TypeError} if datagrams is not an array, or its first datagram is not `[bytes-like, address]`
 * @throws {OverflowError} if the first datagram's port is not 0-65535
 * @throws {BlockingIOError} if the socket's buffer has no room for the first datagram
 * @throws {OSError} from sendmmsg(2) for the first datagram: EMSGSIZE, ECONNREFUSED, ...
 */
export function sendmmsg(sock: Socket, datagrams: readonly Datagram[], flags: number = 0): number {
  checkSock(sock, 'sendmmsg');
  if (!Array.isArray(datagrams)) throw new TypeError(`sendmmsg() argument 1 must be list, not ${typeName(datagrams, 'list')}`);
  const fl = toCInt(flags);
  const family = sock.family;
  const n = Math.min(datagrams.length, SENDMMSG_MAX);
  const views: ArrayBufferView[] = [];
  const addrs: Array<number | string> = [];
  let addressed = false;
  for (let i = 0; i < n; i++) {
    let view: ArrayBufferView;
    let fam = AF_UNSPEC;
    let host = '';
    let port = 0;
    try {
      const d: unknown = datagrams[i];
      if (!Array.isArray(d) || d.length < 1 || d.length > 2) {
        throw new TypeError(`sendmmsg() datagram must be a (data, address) pair, not ${typeName(d, 'list')}`);
      }
      view = bytesArg(d[0]);
      const address: unknown = d[1];
      if (address !== null && address !== undefined) {
        [host, port] = addressArg(family, address, 'sendmmsg');
        fam = family;
      }
    } catch (e) {
      // The ones before it go; it is the first of the next call, which throws.
      if (i === 0) throw e;
      break;
    }
    views.push(view);
    addrs.push(fam, host, port);
    if (fam !== AF_UNSPEC) addressed = true;
  }
  const fd = sock.fileno();
  if (fd < 0) throw osError(EBADF, 'sendmmsg');
  return call(() => dg.sendmmsg(fd, views, addressed ? addrs : null, views.length, fl));
}

/**
 * Python's `socket.send_fds(sock, buffers, fds[, flags[, address]])`: sends
 * the bytes of `buffers` with the descriptors `fds` (SCM_RIGHTS) over an
 * AF_UNIX socket; returns the bytes sent. The descriptors stay open here.
 * @throws {TypeError} if buffers is not an iterable of bytes-like objects, or an fd is not an int
 * @throws {OverflowError} if an fd does not fit a C int
 * @throws {OSError} from sendmsg(2): EBADF for a descriptor not open, EINVAL for too many, ...
 */
export function sendFds(sock: Socket, buffers: Iterable<ArrayBufferView>, fds: Iterable<number>, flags: number = 0, address: Address | null = null): number {
  checkSock(sock, 'sendmsg');
  // Linux refuses more than UIO_MAXIOV (1024) buffers and SCM_MAX_FD (253) descriptors.
  const bufs = iterArg(buffers, 'sendmsg() argument 1 must be an iterable', 1024, () => osError(E.EMSGSIZE!, 'sendmsg')).map(bytesArg);
  const ints = iterArg(fds, `'${typeName(fds, 'list')}' object is not iterable`, 65536, () => osError(E.EINVAL!, 'sendmsg')).map((f) => toCInt(f));
  const fl = toCInt(flags);
  const family = sock.family;
  const [host, port] = address === null || address === undefined ? ['', 0] : addressArg(family, address, 'sendmsg');
  const fam = address === null || address === undefined ? AF_UNSPEC : family;
  const table = Int32Array.from(ints);
  return sockCall(sock, true, 'sendmsg', (fd) => dg.sendmsg_fds(fd, bufs, table, fl, fam, host, port));
}

/**
 * Python's `socket.recv_fds(sock, bufsize, maxfds[, flags])`: at most
 * `bufsize` bytes and at most `maxfds` descriptors:
 * `[data, fds, msgFlags, address]`. The descriptors are new, close-on-exec
 * and the caller's to close. When more were sent than `maxfds`, the kernel
 * closes the rest and `msgFlags` has MSG_CTRUNC.
 * @throws {ValueError} if bufsize is negative
 * @throws {OverflowError} if maxfds is negative or too large (CMSG_LEN's range)
 */
export function recvFds(sock: Socket, bufsize: number, maxfds: number, flags: number = 0): RecvFdsResult {
  checkSock(sock, 'recvmsg');
  const n = toInt(bufsize);
  const m = toInt(maxfds);
  const fl = toCInt(flags);
  // CMSG_LEN(maxfds * sizeof(int)) must fit a socklen_t, as CPython checks.
  if (m < 0 || m * 4 > 0x7fffffff - 16) throw new OverflowError('CMSG_LEN() argument out of range');
  if (n < 0) throw new ValueError('negative buffer size in recvmsg()');
  // One message carries at most SCM_MAX_FD (253 on Linux) descriptors, so a
  // larger maxfds asks for no more than the addon's bound.
  const want = Math.min(m, 65536);
  const size = Math.min(n, bufferConstants.MAX_LENGTH);
  const buf = Buffer.allocUnsafe(size);
  const [got, msgFlags, received, fam, host, port] = sockCall(sock, false, 'recvmsg', (fd) => dg.recvmsg_fds(fd, buf, 0, size, want, fl));
  const data = got === size ? buf : Buffer.from(buf.subarray(0, got));
  return [data, received, msgFlags, addressOut(fam, host, port)];
}

/** The items of an iterable, at most `max` of them: more is `tooMany()` (what the kernel would refuse), never a huge copy. */
function iterArg<T>(x: Iterable<T>, message: string, max: number, tooMany: () => Error): T[] {
  if (x === null || x === undefined || typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new TypeError(message);
  }
  const out: T[] = [];
  for (const item of x) {
    if (out.length === max) throw tooMany();
    out.push(item);
  }
  return out;
}

/** Python's AttributeError for a `sock` that is no socket, as a TypeError. */
function checkSock(sock: unknown, method: string): void {
  if (typeof (sock as { fileno?: unknown } | null)?.fileno !== 'function' || typeof (sock as { gettimeout?: unknown }).gettimeout !== 'function') {
    throw new TypeError(`'${typeName(sock, 'list')}' object has no attribute '${method}'`);
  }
}
