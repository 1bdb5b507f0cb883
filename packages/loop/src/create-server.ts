/**
 * TCP servers: CPython 3.11 Lib/asyncio/base_events.py `create_server` and
 * `_create_server_getaddrinfo`: every address of every host (null or ''
 * is every family's wildcard, IPv6 with IPV6_V6ONLY beside IPv4), or a
 * listening socket of your own.
 */
import { fromErrno, socket as S, socketConstants as C, toCInt, type Socket } from '@iomux/core-native';
import { OSError, ValueError } from '@iomux/core-native/error-classes';
import type { ProtocolFactory } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import { Server } from './server.js';
import { ensureResolved, type AddrInfo } from './resolve.js';
import { addrRepr, checkFactory, socketArg } from './connect.js';
import { sslServerFactory, sslSetup, type SslOptions } from './start-tls.js';

/** `loop.createServer()`'s options (Python's keywords of `loop.create_server`). */
export interface CreateServerOptions extends Omit<SslOptions, 'serverHostname'> {
  /** AF_UNSPEC (0, the default), AF_INET or AF_INET6: the families to resolve the hosts for. */
  family?: number;
  /** AI_* flags for getaddrinfo (default AI_PASSIVE). */
  flags?: number;
  /** A listening-ready SOCK_STREAM socket of your own (or its descriptor), instead of host and port. */
  sock?: Socket | number | null;
  /** listen() backlog, and connections accepted per wake-up (100). */
  backlog?: number;
  /** SO_REUSEADDR (default true, as asyncio on POSIX). */
  reuseAddress?: boolean;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
  /** Start accepting at once (default true); else call `server.startServing()` or `serveForever()`. */
  startServing?: boolean;
}

/** The host or hosts to listen on: one, a list, or null/'' for every family's wildcard. */
export type ServerHosts = string | null | Iterable<string | null>;

/** The backlog checked before any socket exists (at least 1: a server accepting 0 per turn never accepts). */
export function backlogArg(backlog: unknown): number {
  return Math.max(toCInt(backlog ?? 100), 1);
}

/** asyncio's `_set_reuseport`. */
export function setReuseport(sock: Socket): void {
  if (S.SO_REUSEPORT === undefined) throw new ValueError('reuse_port not supported by socket module');
  try {
    sock.setsockopt(S.SOL_SOCKET, S.SO_REUSEPORT, 1);
  } catch (e) {
    if (!(e instanceof OSError)) throw e;
    throw new ValueError('reuse_port not supported by socket module, SO_REUSEPORT defined but not implemented.');
  }
}

function hostList(host: ServerHosts): Array<string | null> {
  if (host === '' || host === null) return [null];
  if (typeof host === 'string') return [host];
  if (typeof (host as Iterable<unknown>)?.[Symbol.iterator] !== 'function') return [host as never];
  const out: Array<string | null> = [];
  for (const h of host) {
    // As many hosts as anyone listens on: a longer "list" is a runaway iterable.
    if (out.length === 4096) throw new ValueError('too many hosts');
    out.push(h);
  }
  return out;
}

/** The resolved addresses, without duplicates (asyncio makes a set of them), in the resolver's order. */
function unique(infos: AddrInfo[]): AddrInfo[] {
  const seen = new Set<string>();
  return infos.filter((i) => {
    const k = JSON.stringify(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** asyncio's `loop.create_server(protocol_factory, host, port, ...)`. */
export async function createServer(
  loop: SelectorEventLoop,
  protocolFactory: ProtocolFactory,
  host: ServerHosts = null,
  port: number | string | null = null,
  options: CreateServerOptions = {},
): Promise<Server> {
  loop._checkClosed();
  checkFactory(protocolFactory);
  const opts = options ?? {};
  const ssl = sslSetup(opts, true);
  const backlog = backlogArg(opts.backlog);
  let sockets: Socket[];
  if ((host !== null && host !== undefined) || (port !== null && port !== undefined)) {
    if (opts.sock !== null && opts.sock !== undefined) throw new ValueError('host/port and sock can not be specified at the same time');
    const reuseAddress = opts.reuseAddress ?? true;
    const hints = { family: opts.family ?? 0, type: S.SOCK_STREAM, flags: opts.flags ?? C.AI_PASSIVE ?? 1 };
    const resolver = (h: unknown, p: unknown, o: object) => loop.getaddrinfo(h, p, o);
    const perHost = await Promise.all(
      hostList(host ?? null).map(async (h) => {
        const infos = await ensureResolved([h, port], hints, resolver);
        if (infos.length === 0) throw new OSError(`getaddrinfo(${addrRepr(h)}) returned empty list`);
        return infos;
      }),
    );
    sockets = [];
    try {
      for (const [af, socktype, proto, , sa] of unique(perHost.flat())) {
        let sock: Socket;
        try {
          sock = new S.Socket(af, socktype, proto);
        } catch (e) {
          // Assume it's a bad family/type/protocol combination (no IPv6 here).
          if (e instanceof OSError) continue;
          throw e;
        }
        sockets.push(sock);
        if (reuseAddress) sock.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1);
        if (opts.reusePort) setReuseport(sock);
        // Disable IPv4/IPv6 dual stack support (enabled by default on
        // Linux) which makes a single socket listen on both families.
        if (af === S.AF_INET6 && S.IPV6_V6ONLY !== undefined) sock.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 1);
        try {
          sock.bind(sa);
        } catch (err) {
          if (!(err instanceof OSError) || err.errno === undefined) throw err;
          const msg = `error while attempting to bind on address ${addrRepr(sa)}: ${(err.strerror ?? '').toLowerCase()}`;
          throw fromErrno(err.errno, msg, { syscall: 'bind' });
        }
      }
    } catch (e) {
      for (const s of sockets) s.close();
      throw e;
    }
  } else {
    if (opts.sock === null || opts.sock === undefined) throw new ValueError('Neither host/port nor sock were specified');
    const sock = socketArg(opts.sock);
    if (sock.type !== S.SOCK_STREAM) {
      if (typeof opts.sock === 'number') sock.detach();
      throw new ValueError(`A Stream Socket was expected, got ${String(sock)}`);
    }
    sockets = [sock];
  }
  for (const s of sockets) s.setblocking(false);
  const factory = ssl === null ? protocolFactory : sslServerFactory(loop, protocolFactory, ssl);
  return startServer(new Server(loop, sockets, factory, backlog), opts.startServing ?? true);
}

/** Starts `server` unless told not to (startServing() lets a running loop turn once, as asyncio's sleep(0)). */
export async function startServer(server: Server, start: boolean): Promise<Server> {
  if (start) await server.startServing();
  return server;
}
