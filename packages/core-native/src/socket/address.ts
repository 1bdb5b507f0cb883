// Addresses: CPython's getsockaddrarg() and makesockaddr(), numeric hosts only.
import * as net from 'node:net';
import { OSError, OverflowError, ValueError } from '../errors.js';
import { pyTypeName, toCInt, toInt } from '../pyargs.js';
import { AF_INET, AF_INET6, AF_UNIX } from './constants.js';
import { gai } from './errors.js';

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
export function typeName(x: unknown, arrayName = 'tuple'): string {
  return Array.isArray(x) ? arrayName : pyTypeName(x);
}

export function hostArg(x: unknown): string {
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
export function addressArg(family: number, address: unknown, op: string): [string, number] {
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
export function makeAddress(family: number, host: string, port: number): SocketAddress {
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
export function pyRepr(x: unknown): string {
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
