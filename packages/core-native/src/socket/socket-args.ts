// Argument conversion for `Socket` (socket.ts): the constructor's arguments,
// setsockopt values, data buffers, and repr(); kept apart from the
// per-call I/O paths.
import { binding } from '../binding.js';
import { fromNative, OverflowError, ValueError } from '../errors.js';
import { INT_MAX, toClinicInt, toInt } from '../pyargs.js';
import { pyRepr, typeName, type SocketAddress } from './address.js';
import { AF_INET, SO_PROTOCOL, SO_TYPE, SOCK_STREAM, SOL_SOCKET } from './constants.js';
import { call } from './errors.js';

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
 * The constructor's [fd, family, type, proto]: a new socket, or `fileno`
 * with what was not given read from the kernel.
 */
export function socketArgs(
  family?: number | null | SocketOptions,
  type?: number | null,
  proto?: number | null,
  fileno?: number | null,
): [fd: number, family: number, type: number, proto: number] {
  if (isOptions(family)) ({ family, type, proto, fileno } = family);
  if (fileno === undefined || fileno === null) {
    const fam = unset(family) ? AF_INET : toClinicInt(family);
    const typ = unset(type) ? SOCK_STREAM : toClinicInt(type);
    const pro = unset(proto) ? 0 : toClinicInt(proto);
    return [call(() => binding.socket(fam, typ, pro)), fam, typ, pro];
  }
  const fd = toInt(fileno);
  if (fd < 0) throw new ValueError('negative file descriptor');
  if (fd > INT_MAX) throw new OverflowError('signed integer is greater than maximum');
  const fam = unset(family) ? call(() => binding.getsockname(fd))[0] : toClinicInt(family);
  const typ = unset(type) ? call(() => binding.getsockopt_int(fd, SOL_SOCKET, SO_TYPE)) : toClinicInt(type);
  const pro = !unset(proto) ? toClinicInt(proto) : SO_PROTOCOL !== undefined ? call(() => binding.getsockopt_int(fd, SOL_SOCKET, SO_PROTOCOL!)) : 0;
  return [fd, fam, typ, pro];
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** setsockopt's value: an int, a boolean, or a 4-byte buffer holding a native int. */
export function sockoptValue(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value <= INT_MAX) return value;
  if (ArrayBuffer.isView(value)) {
    if (value.byteLength !== 4) {
      // Differs from CPython: only int options are supported.
      throw new TypeError('setsockopt(): only int options are supported (a 4-byte buffer)');
    }
    return new DataView(value.buffer, value.byteOffset, 4).getInt32(0, isLittleEndian);
  }
  throw new TypeError(`a bytes-like object is required, not '${typeName(value, 'list')}'`);
}

/** A bytes-like argument, or CPython's TypeError. */
export function dataArg(data: unknown): ArrayBufferView {
  if (ArrayBuffer.isView(data)) return data;
  throw new TypeError(`a bytes-like object is required, not '${typeName(data, 'list')}'`);
}

/** f(a, b), its native error turned into the contract's class (no closure, unlike call()). */
export function direct<A, B, R>(f: (a: A, b: B) => R, a: A, b: B): R {
  try {
    return f(a, b);
  } catch (e) {
    throw fromNative(e);
  }
}

/** What socketRepr reads from a socket. */
interface Named {
  readonly closed: boolean;
  getsockname(): SocketAddress;
  getpeername(): SocketAddress;
}

/** Python's repr(): `<socket.socket fd=3, family=2, type=1, proto=0, laddr=...>`. */
export function socketRepr(sock: Named, fd: number, family: number, type: number, proto: number): string {
  const closed = sock.closed;
  let s = `<socket.socket${closed ? ' [closed]' : ''} fd=${fd}, family=${family}, type=${type}, proto=${proto}`;
  if (!closed) {
    try {
      const laddr = sock.getsockname();
      if (laddr.length) s += `, laddr=${pyRepr(laddr)}`;
    } catch {
      // No local address: leave it out, as Python does.
    }
    try {
      const raddr = sock.getpeername();
      if (raddr.length) s += `, raddr=${pyRepr(raddr)}`;
    } catch {
      // Not connected.
    }
  }
  return `${s}>`;
}
