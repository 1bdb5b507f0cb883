/**
 * Connections: CPython 3.11 Lib/asyncio/base_events.py `create_connection`
 * (every resolved address in turn, or raced with Happy Eyeballs, RFC 8305),
 * `_connect_sock`, `_interleave_addrinfos`, `connect_accepted_socket`, and
 * selector_events.py `sock_connect` (which resolves names too).
 */
import { fromErrno, pyTypeName, socket as S, type Socket } from '@iomux/core-native';
import { OSError, ValueError } from '@iomux/core-native/error-classes';
import type { AnyProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import { SelectorSocketTransport, type Transport } from './transports.js';
import { ensureResolved, type AddrInfo } from './resolve.js';
import { staggeredRace } from './staggered.js';
import { isRetryError } from './internal/retry.js';
import { sslConnectionTransport, sslSetup, type SslArg, type SslSetup } from './start-tls.js';
import { signalOf, type AbortOptions } from './sock-op.js';

/** `loop.createConnection()`'s options (Python's keywords of `loop.create_connection`). */
export interface CreateConnectionOptions {
  /** TLS: true (Node's default CAs), an SSLContext, a Node SecureContext, or createSecureContext options. */
  ssl?: SslArg;
  /** AF_UNSPEC (0), AF_INET or AF_INET6: the family to resolve `host` for. */
  family?: number;
  /** The protocol for getaddrinfo (0 or IPPROTO_TCP). */
  proto?: number;
  /** AI_* flags for getaddrinfo. */
  flags?: number;
  /** An already connected SOCK_STREAM socket (then no host or port). */
  sock?: Socket | null;
  /** `[host, port]` to bind to before connecting (names are resolved). */
  localAddr?: readonly [string | null, number | string | null] | null;
  /** TLS: the name the certificate must have (default `host`; '' skips the check); only with `ssl`. */
  serverHostname?: string | null;
  /** TLS: seconds for the handshake (60); only with `ssl`. */
  sslHandshakeTimeout?: number | null;
  /** TLS: seconds to wait for the peer's close_notify (30); only with `ssl`. */
  sslShutdownTimeout?: number | null;
  /** Happy Eyeballs: start the next address after this many seconds (asyncio suggests 0.25). */
  happyEyeballsDelay?: number | null;
  /** Reorder the addresses by family, this many of the first family first (1 with happyEyeballsDelay). */
  interleave?: number | null;
}

/** Python's repr of an address tuple, for the messages that name it. */
export function addrRepr(address: unknown): string {
  if (Array.isArray(address)) {
    const items = address.map((x) => (typeof x === 'string' ? `'${x}'` : String(x)));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  return typeof address === 'string' ? `'${address}'` : String(address);
}

/** A connect() still under way (asyncio's BlockingIOError, InterruptedError). */
function inProgress(e: unknown): boolean {
  return isRetryError(e) || (e instanceof OSError && (e.code === 'EINPROGRESS' || e.code === 'EALREADY'));
}

/**
 * selector_events' `_sock_connect`/`_sock_connect_cb`: connects the
 * non-blocking `sock` to a resolved `address`; an error found when the
 * connect completes names the address, as asyncio's 'Connect call failed'.
 */
export function connectResolved(loop: SelectorEventLoop, sock: Socket, address: unknown, signal?: AbortSignal): Promise<void> {
  try {
    sock.connect(address as Parameters<Socket['connect']>[0]);
    return Promise.resolve();
  } catch (e) {
    if (!inProgress(e)) return Promise.reject(e);
  }
  const fd = sock.fileno();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      loop.removeWriter(fd);
      reject(signal!.reason);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    loop.addWriter(fd, () => {
      let err: number;
      try {
        err = sock.getsockopt(S.SOL_SOCKET, S.SO_ERROR);
      } catch (e) {
        if (isRetryError(e)) return;
        loop.removeWriter(fd);
        signal?.removeEventListener('abort', onAbort);
        reject(e);
        return;
      }
      loop.removeWriter(fd);
      signal?.removeEventListener('abort', onAbort);
      if (err !== 0) reject(fromErrno(err, `Connect call failed ${addrRepr(address)}`, { syscall: 'connect' }));
      else resolve();
    });
  });
}

/** asyncio's `loop.sock_connect`: resolves a name in `address` first (AF_INET/AF_INET6). */
export async function sockConnect(loop: SelectorEventLoop, sock: Socket, address: unknown, options?: AbortOptions): Promise<void> {
  if (!(sock instanceof S.Socket)) throw new TypeError(`sock must be a Socket, not '${pyTypeName(sock)}'`);
  if (loop.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
  const signal = signalOf(options) ?? undefined;
  signal?.throwIfAborted();
  if (sock.family === S.AF_INET || sock.family === S.AF_INET6) {
    const resolved = await ensureResolved(address, { family: sock.family, type: sock.type, proto: sock.proto }, (h, p, o) => loop.getaddrinfo(h, p, o));
    signal?.throwIfAborted();
    address = resolved[0]![4];
  }
  // An abort removes the writer and leaves the socket open: it is the caller's, as in asyncio.
  await connectResolved(loop, sock, address, signal);
}

/** asyncio's `_interleave_addrinfos`: alternates families, `firstFamilyCount` of the first first. */
export function interleaveAddrinfos(addrinfos: AddrInfo[], firstFamilyCount = 1): AddrInfo[] {
  const byFamily = new Map<number, AddrInfo[]>();
  for (const a of addrinfos) {
    let l = byFamily.get(a[0]);
    if (l === undefined) byFamily.set(a[0], (l = []));
    l.push(a);
  }
  const lists = [...byFamily.values()];
  const out: AddrInfo[] = [];
  if (firstFamilyCount > 1 && lists.length > 0) out.push(...lists[0]!.splice(0, firstFamilyCount - 1));
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

/** asyncio's `_connect_sock`: one attempt, binding to a local address of the family first. */
async function connectSock(
  loop: SelectorEventLoop,
  exceptions: unknown[][],
  addrInfo: AddrInfo,
  localAddrInfos: AddrInfo[] | null,
  signal?: AbortSignal,
): Promise<Socket> {
  const mine: unknown[] = [];
  exceptions.push(mine);
  const [family, type, proto, , address] = addrInfo;
  let sock: Socket | null = null;
  try {
    sock = new S.Socket(family, type, proto);
    sock.setblocking(false);
    if (localAddrInfos !== null) {
      let bound = false;
      for (const [lfamily, , , , laddr] of localAddrInfos) {
        // skip local addresses of different family
        if (lfamily !== family) continue;
        try {
          sock.bind(laddr);
          bound = true;
          break;
        } catch (exc) {
          if (!(exc instanceof OSError)) throw exc;
          const msg = `error while attempting to bind on address ${addrRepr(laddr)}: ${(exc.strerror ?? exc.message).toLowerCase()}`;
          mine.push(exc.errno === undefined ? new OSError(msg) : fromErrno(exc.errno, msg, { syscall: 'bind' }));
        }
      }
      if (!bound) {
        // all bind attempts failed
        if (mine.length > 0) throw mine.pop();
        throw new OSError(`no matching local address with family=${family} found`);
      }
    }
    await connectResolved(loop, sock, address, signal);
    return sock;
  } catch (exc) {
    if (exc instanceof OSError) mine.push(exc);
    sock?.close();
    throw exc;
  }
}

/** asyncio's `_create_connection_transport`: the transport once connectionMade has run (with `ssl`, after the handshake). */
export async function connectionTransport<P extends AnyProtocol>(
  loop: SelectorEventLoop,
  sock: Socket,
  protocolFactory: () => P,
  extra?: Record<string, unknown>,
  ssl: SslSetup | null = null,
): Promise<[Transport, P]> {
  if (ssl !== null) return sslConnectionTransport(loop, sock, protocolFactory, ssl);
  let protocol: P;
  let transport: SelectorSocketTransport;
  try {
    sock.setblocking(false);
    protocol = protocolFactory();
    transport = new SelectorSocketTransport(loop, sock, protocol, extra);
  } catch (e) {
    // Nothing owns the connected socket yet.
    sock.close();
    throw e;
  }
  // Resolve once connectionMade() has been called (it is queued first).
  await new Promise<void>((resolve) => loop.callSoon(resolve));
  return [transport, protocol];
}

/** The one error for every failed attempt, as asyncio words it; `.errors` keeps them all. */
export function combinedError(errors: unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const model = String(errors[0]);
  if (errors.every((e) => String(e) === model)) return errors[0];
  const err = new OSError(`Multiple exceptions: ${errors.map((e) => describeError(e)).join(', ')}`);
  Object.defineProperty(err, 'errors', { value: errors, enumerable: false, writable: true, configurable: true });
  return err as OSError & { errors: unknown[] };
}

/** Python's str(exc): the message ('[Errno 111] Connect call failed (...)'). */
function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function checkFactory(protocolFactory: unknown): void {
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
}

function checkStreamSocket(sock: unknown): Socket {
  if (!(sock instanceof S.Socket)) throw new TypeError(`sock must be a Socket, not '${pyTypeName(sock)}'`);
  if (sock.type !== S.SOCK_STREAM) throw new ValueError(`A Stream Socket was expected, got ${String(sock)}`);
  return sock;
}

/** asyncio's `loop.create_connection(protocol_factory, host, port, ...)`. */
export async function createConnection<P extends AnyProtocol>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  host: string | null = null,
  port: number | string | null = null,
  options: CreateConnectionOptions = {},
): Promise<[Transport, P]> {
  loop._checkClosed();
  checkFactory(protocolFactory);
  const opts = options ?? {};
  const ssl = sslSetup(opts, false, host);
  let sock = opts.sock ?? null;
  const delay = opts.happyEyeballsDelay ?? null;
  let interleave = opts.interleave ?? null;
  if (delay !== null && (typeof delay !== 'number' || !(delay >= 0))) throw new ValueError(`happyEyeballsDelay must be a non-negative number, not ${String(delay)}`);
  if (interleave !== null && !Number.isSafeInteger(interleave)) throw new TypeError(`'${pyTypeName(interleave)}' object cannot be interpreted as an integer`);
  if (delay !== null && interleave === null) interleave = 1;
  if ((host !== null && host !== undefined) || (port !== null && port !== undefined)) {
    if (sock !== null) throw new ValueError('host/port and sock can not be specified at the same time');
    const hints = { family: opts.family ?? 0, type: S.SOCK_STREAM, proto: opts.proto ?? 0, flags: opts.flags ?? 0 };
    const resolver = (h: unknown, p: unknown, o: object) => loop.getaddrinfo(h, p, o);
    let infos = await ensureResolved([host, port], hints, resolver);
    if (infos.length === 0) throw new OSError('getaddrinfo() returned empty list');
    let laddrInfos: AddrInfo[] | null = null;
    if (opts.localAddr !== null && opts.localAddr !== undefined) {
      laddrInfos = await ensureResolved(opts.localAddr, hints, resolver);
      if (laddrInfos.length === 0) throw new OSError('getaddrinfo() returned empty list');
    }
    if (interleave) infos = interleaveAddrinfos(infos, interleave);
    const exceptions: unknown[][] = [];
    if (delay === null) {
      for (const info of infos) {
        try {
          sock = await connectSock(loop, exceptions, info, laddrInfos);
          break;
        } catch (e) {
          if (!(e instanceof OSError)) throw e;
        }
      }
    } else {
      const attempts = infos.map((info) => (signal: AbortSignal) => connectSock(loop, exceptions, info, laddrInfos, signal));
      const [winner, , errs] = await staggeredRace(loop, attempts, delay, (s) => s.close());
      sock = winner;
      // An error that is no OSError (a bug, not a refusal) is asyncio's to raise too.
      if (sock === null) for (const e of errs) if (e !== null && !(e instanceof OSError)) throw e;
    }
    if (sock === null) throw combinedError(exceptions.flat());
  } else {
    if (sock === null) throw new ValueError('host and port was not specified and no sock specified');
    checkStreamSocket(sock);
  }
  return connectionTransport(loop, sock, protocolFactory, undefined, ssl);
}

/** An accepted socket or its descriptor as a Socket (a descriptor becomes the Socket's own). */
export function socketArg(sock: unknown): Socket {
  if (typeof sock === 'number') {
    if (!Number.isInteger(sock)) throw new TypeError(`sock must be a Socket or a descriptor, not '${pyTypeName(sock)}'`);
    return new S.Socket(null, null, null, sock);
  }
  if (!(sock instanceof S.Socket)) throw new TypeError(`sock must be a Socket or a descriptor, not '${pyTypeName(sock)}'`);
  return sock;
}

/** asyncio's `loop.connect_accepted_socket(protocol_factory, sock)`: wraps a connection accepted elsewhere. */
export async function connectAcceptedSocket<P extends AnyProtocol>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  sock: Socket | number,
  options: { ssl?: SslArg; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
): Promise<[Transport, P]> {
  loop._checkClosed();
  checkFactory(protocolFactory);
  // The server's side of the handshake, for which true is no context.
  if (options?.ssl === true) throw new ValueError('Server side SSL needs a valid SSLContext');
  const ssl = sslSetup({ ...options, ssl: options?.ssl === false ? null : options?.ssl }, true);
  const s = socketArg(sock);
  try {
    checkStreamSocket(s);
  } catch (e) {
    // A descriptor that is refused stays the caller's.
    if (typeof sock === 'number') s.detach();
    throw e;
  }
  return connectionTransport(loop, s, protocolFactory, undefined, ssl);
}
