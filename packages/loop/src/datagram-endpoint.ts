/**
 * UDP endpoints: CPython 3.11 Lib/asyncio/base_events.py
 * `create_datagram_endpoint` and selector_events.py `sock_sendto`,
 * `sock_recvfrom`, `sock_recvfrom_into` (3.11). Host names in `localAddr`
 * and `remoteAddr` (and in sockSendto's address) go through
 * `loop.getaddrinfo`, never blocking the loop.
 *
 * Differs from CPython 3.11: `reuseAddress` is refused whatever its value,
 * as asyncio 3.11 refuses the keyword (a TypeError); SO_REUSEADDR on UDP
 * lets another process take the port (bpo-37228).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { pyTypeName, socket as S, type Socket } from '@iomux/core-native';
import { OSError, ValueError } from '@iomux/core-native/error-classes';
import { SelectorDatagramTransport, type DatagramAddress, type DatagramTransport } from './datagram.js';
import { connectResolved } from './connect.js';
import { ensureResolved, type AddrInfo } from './resolve.js';
import { signalOf, sockOp, withSignal, type AbortOptions } from './sock-op.js';
import type { DatagramProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';

/** `loop.createDatagramEndpoint()`'s options (asyncio's keywords, camelCase). */
export interface CreateDatagramEndpointOptions {
  /** `[host, port]` to bind to (a path for AF_UNIX); names are resolved. */
  localAddr?: readonly [string | null, number | string | null] | string | null;
  /** `[host, port]` to connect to (a path for AF_UNIX); names are resolved. */
  remoteAddr?: readonly [string | null, number | string | null] | string | null;
  /** AF_UNSPEC (0), AF_INET, AF_INET6 or AF_UNIX. */
  family?: number;
  /** The protocol for socket() and getaddrinfo. */
  proto?: number;
  /** AI_* flags for getaddrinfo. */
  flags?: number;
  /** Refused: asyncio 3.11 removed it (see the module header). */
  reuseAddress?: unknown;
  /** SO_REUSEPORT: several endpoints share the port. */
  reusePort?: boolean | null;
  /** SO_BROADCAST; with `remoteAddr`, the socket is then not connected. */
  allowBroadcast?: boolean | null;
  /** An existing SOCK_DGRAM socket (then none of the above). */
  sock?: Socket | null;
}

const truthy = (x: unknown): boolean => !(x === undefined || x === null || x === false || x === 0 || x === '' || (Array.isArray(x) && x.length === 0));

/** Python's repr of an option's value, for the message that lists them. */
function optRepr(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(optRepr).join(', ')})`;
  if (typeof v === 'string') return `'${v}'`;
  if (v === true) return 'True';
  return String(v);
}

/** asyncio's `_set_reuseport`. */
function setReusePort(sock: Socket): void {
  if (S.SO_REUSEPORT === undefined) throw new ValueError('reuse_port not supported by socket module');
  try {
    sock.setsockopt(S.SOL_SOCKET, S.SO_REUSEPORT, 1);
  } catch {
    throw new ValueError('reuse_port not supported by socket module, SO_REUSEPORT defined but not implemented.');
  }
}

type Pair = [key: [family: number, proto: number], addrs: [local: unknown, remote: unknown]];

/** asyncio's address pairs: one (local, remote) per (family, proto) both resolve to. */
async function addressPairs(loop: SelectorEventLoop, o: CreateDatagramEndpointOptions, family: number, proto: number): Promise<Pair[]> {
  const local = o.localAddr ?? null;
  const remote = o.remoteAddr ?? null;
  if (!truthy(local) && !truthy(remote)) {
    if (family === 0) throw new ValueError('unexpected address family');
    return [[[family, proto], [null, null]]];
  }
  if (family === S.AF_UNIX) {
    for (const addr of [local, remote]) if (addr !== null && typeof addr !== 'string') throw new TypeError('string is expected');
    if (typeof local === 'string' && local !== '' && local[0] !== '\0') removeStaleSocket(loop, local);
    return [[[family, proto], [local, remote]]];
  }
  const byKey = new Map<string, Pair>();
  const resolver = (h: unknown, p: unknown, opts: object): Promise<AddrInfo[]> => loop.getaddrinfo(h, p, opts);
  for (const [idx, addr] of [[0, local], [1, remote]] as const) {
    if (addr === null) continue;
    if (!Array.isArray(addr) || addr.length !== 2) throw new TypeError('2-tuple is expected');
    const infos = await ensureResolved(addr, { family, type: S.SOCK_DGRAM, proto, flags: o.flags ?? 0 }, resolver);
    if (infos.length === 0) throw new OSError('getaddrinfo() returned empty list');
    for (const [fam, , pro, , address] of infos) {
      const k = `${fam},${pro}`;
      if (!byKey.has(k)) byKey.set(k, [[fam, pro], [null, null]]);
      byKey.get(k)![1][idx] = address;
    }
  }
  // each addr has to have info for each (family, proto) pair
  const pairs = [...byKey.values()].filter(([, [l, r]]) => !((truthy(local) && l === null) || (truthy(remote) && r === null)));
  if (pairs.length === 0) throw new ValueError('can not get address information');
  return pairs;
}

/** asyncio: a stale socket file at `path` is removed before binding. */
function removeStaleSocket(loop: SelectorEventLoop, path: string): void {
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return;
    // Directory may have permissions only to create socket.
    loop.logger.error(`Unable to check or remove stale UNIX socket '${path}': ${String(err)}`);
  }
}

/** asyncio's `loop.create_datagram_endpoint(protocol_factory, ...)`. */
export async function createDatagramEndpoint<P extends DatagramProtocol>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  options: CreateDatagramEndpointOptions = {},
): Promise<[DatagramTransport, P]> {
  loop._checkClosed();
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
  const o = options ?? {};
  if (o.reuseAddress !== undefined) {
    throw new TypeError("BaseEventLoop.create_datagram_endpoint() got an unexpected keyword argument 'reuse_address'");
  }
  let sock = o.sock ?? null;
  let rAddr: unknown = null;
  if (sock !== null) {
    if (!(sock instanceof S.Socket)) throw new TypeError(`sock must be a Socket, not '${pyTypeName(sock)}'`);
    if (sock.type !== S.SOCK_DGRAM) throw new ValueError(`A UDP Socket was expected, got ${String(sock)}`);
    const opts: Record<string, unknown> = {
      local_addr: o.localAddr, remote_addr: o.remoteAddr, family: o.family, proto: o.proto, flags: o.flags,
      reuse_port: o.reusePort, allow_broadcast: o.allowBroadcast,
    };
    const problems = Object.entries(opts).filter(([, v]) => truthy(v)).map(([k, v]) => `${k}=${optRepr(v)}`);
    if (problems.length > 0) {
      // show the problematic kwargs in exception msg
      throw new ValueError(`socket modifier keyword arguments can not be used when sock is specified. (${problems.join(', ')})`);
    }
    sock.setblocking(false);
  } else {
    const pairs = await addressPairs(loop, o, o.family ?? 0, o.proto ?? 0);
    const exceptions: unknown[] = [];
    for (const [[family, proto], [localAddress, remoteAddress]] of pairs) {
      let s: Socket | null = null;
      rAddr = null;
      try {
        s = new S.Socket(family, S.SOCK_DGRAM, proto);
        if (o.reusePort) setReusePort(s);
        if (o.allowBroadcast) s.setsockopt(S.SOL_SOCKET, S.SO_BROADCAST!, 1);
        s.setblocking(false);
        if (truthy(o.localAddr)) s.bind(localAddress as Parameters<Socket['bind']>[0]);
        if (truthy(o.remoteAddr)) {
          if (!o.allowBroadcast) await connectResolved(loop, s, remoteAddress);
          rAddr = remoteAddress;
        }
      } catch (exc) {
        s?.close();
        if (!(exc instanceof OSError)) throw exc;
        exceptions.push(exc);
        continue;
      }
      sock = s;
      break;
    }
    if (sock === null) throw exceptions[0];
  }
  let protocol: P;
  let transport: SelectorDatagramTransport;
  try {
    protocol = protocolFactory();
    transport = new SelectorDatagramTransport(loop, sock, protocol, rAddr);
  } catch (e) {
    // Nothing owns the socket yet.
    sock.close();
    throw e;
  }
  // Resolve once connectionMade() has been called (it is queued first).
  await new Promise<void>((resolve) => loop.callSoon(resolve));
  return [transport, protocol];
}

/** A Socket, or asyncio's TypeError, through the promise. */
function dgramSock(sock: unknown): Promise<never> | null {
  return sock instanceof S.Socket ? null : Promise.reject(new TypeError(`sock must be a Socket, not '${pyTypeName(sock)}'`));
}

/** asyncio's `loop.sock_recvfrom(sock, bufsize)`: resolves with `[data, address]`. */
export function sockRecvfrom(loop: SelectorEventLoop, sock: Socket, bufsize: number, options?: AbortOptions): Promise<[Buffer, DatagramAddress]> {
  return dgramSock(sock) ?? withSignal(options, (signal) => sockOp(loop, sock, false, () => sock.recvfrom(bufsize), signal));
}

/** asyncio's `loop.sock_recvfrom_into(sock, buf, nbytes=0)`: resolves with `[nbytes, address]`. */
export function sockRecvfromInto(loop: SelectorEventLoop, sock: Socket, buf: ArrayBufferView, nbytes: number = 0, options?: AbortOptions): Promise<[number, DatagramAddress]> {
  return dgramSock(sock) ?? withSignal(options, (signal) => sockOp(loop, sock, false, () => {
    const n = nbytes || (ArrayBuffer.isView(buf) ? buf.byteLength : 0);
    return sock.recvfromInto(buf, n);
  }, signal));
}

/**
 * asyncio's `loop.sock_sendto(sock, data, address)`: resolves with the
 * bytes sent. Differs from CPython: a host name in `address` is resolved
 * through loop.getaddrinfo (Python's sendto resolves it, blocking).
 */
export async function sockSendto(loop: SelectorEventLoop, sock: Socket, data: ArrayBufferView, address: DatagramAddress, options?: AbortOptions): Promise<number> {
  await dgramSock(sock);
  const signal = signalOf(options);
  signal?.throwIfAborted();
  if ((sock.family === S.AF_INET || sock.family === S.AF_INET6) && needsResolving(address)) {
    const infos = await ensureResolved(address, { family: sock.family, type: S.SOCK_DGRAM }, (h, p, o) => loop.getaddrinfo(h, p, o));
    if (infos.length === 0) throw new OSError('getaddrinfo() returned empty list');
    address = infos[0]![4];
  }
  return sockOp(loop, sock, true, () => sock.sendto(data, address as S.Address), signal);
}

/** A `[host, port]` whose host is a name core-native's Socket would not take. */
function needsResolving(address: unknown): boolean {
  if (!Array.isArray(address) || typeof address[0] !== 'string') return false;
  const host = address[0];
  return net.isIP(host.split('%')[0]!) === 0 && host !== '' && host !== '<broadcast>' && host.toLowerCase().replace(/\.$/, '') !== 'localhost';
}
