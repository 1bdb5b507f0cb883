/**
 * TLS for the loop's connections: CPython 3.11 Lib/asyncio/base_events.py
 * `start_tls`, the `ssl` checks of `create_connection`/`create_server`,
 * `_create_connection_transport`'s TLS branch, and selector_events.py
 * `_make_ssl_transport` / `_accept_connection2`'s (a server's protocol
 * factory makes an SSLProtocol per connection).
 */
import type { Socket } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import type { AnyProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import { SelectorTransport } from './selector-transport.js';
import { SSLProtocol, checkSslTimeout, SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT } from './sslproto.js';
import { MemtlsSSLProtocol } from './sslproto-memtls.js';
import type { SSLProtocolTransport } from './ssl-transport.js';
import { toSslContext, type SSLContext, type SSLContextOptions } from './tls-context.js';
import { SelectorSocketTransport, type Transport } from './transports.js';
import type * as tls from 'node:tls';

/** What `ssl` takes: an SSLContext, a Node SecureContext, createSecureContext options, or true (client: the default context). */
export type SslArg = boolean | SSLContext | tls.SecureContext | SSLContextOptions | null | undefined;

/** The TLS keywords of createConnection, createServer and their Unix twins. */
export interface SslOptions {
  /** Speak TLS: see {@link SslArg}. */
  ssl?: SslArg;
  /** Client: the name the server's certificate must have (and SNI); default the host; '' skips the check. */
  serverHostname?: string | null;
  /** Seconds for the TLS handshake before the connection is aborted (60). */
  sslHandshakeTimeout?: number | null;
  /** Seconds to wait for the peer's close_notify before the connection is aborted (30). */
  sslShutdownTimeout?: number | null;
}

/** A checked TLS setup for one connection or server. */
export interface SslSetup {
  context: SSLContext;
  serverSide: boolean;
  serverHostname: string | null;
  sslHandshakeTimeout: number;
  sslShutdownTimeout: number;
}

/**
 * asyncio's checks of the TLS keywords, in its order; null when `ssl` is
 * off. `host` is the client's host (the default serverHostname).
 */
export function sslSetup(opts: SslOptions, serverSide: boolean, host: string | null = null): SslSetup | null {
  const ssl = opts.ssl;
  const on = ssl !== undefined && ssl !== null && ssl !== false;
  let serverHostname = opts.serverHostname ?? null;
  if (serverSide) {
    if (typeof ssl === 'boolean') throw new TypeError('ssl argument must be an SSLContext or None');
  } else {
    if (serverHostname !== null && !on) throw new ValueError('server_hostname is only meaningful with ssl');
    if (serverHostname !== null && typeof serverHostname !== 'string') throw new TypeError(`server_hostname must be a str, not '${typeof serverHostname}'`);
    if (serverHostname === null && on) {
      // Use host as default for server_hostname. It is an error if host is
      // empty or not set, e.g. when an already-connected socket was passed
      // or when only a port is given. To avoid this error, you can pass
      // serverHostname: '' -- this will bypass the hostname check.
      if (!host) throw new ValueError('You must set server_hostname when using ssl without a host');
      serverHostname = host;
    }
  }
  if (opts.sslHandshakeTimeout !== undefined && opts.sslHandshakeTimeout !== null && !on) throw new ValueError('ssl_handshake_timeout is only meaningful with ssl');
  if (opts.sslShutdownTimeout !== undefined && opts.sslShutdownTimeout !== null && !on) throw new ValueError('ssl_shutdown_timeout is only meaningful with ssl');
  if (!on) return null;
  const sslHandshakeTimeout = checkSslTimeout(opts.sslHandshakeTimeout, 'ssl_handshake_timeout', SSL_HANDSHAKE_TIMEOUT);
  const sslShutdownTimeout = checkSslTimeout(opts.sslShutdownTimeout, 'ssl_shutdown_timeout', SSL_SHUTDOWN_TIMEOUT);
  return { context: toSslContext(ssl, serverSide), serverSide, serverHostname, sslHandshakeTimeout, sslShutdownTimeout };
}

/** The SSL protocol of the context's engine: memtls's, or the TLSSocket's. */
function makeProtocol(loop: SelectorEventLoop, app: AnyProtocol, s: SslSetup, waiter: { resolve(): void; reject(e: unknown): void } | null, callConnectionMade = true): SSLProtocol | MemtlsSSLProtocol {
  const Engine = s.context.engine === 'memtls' ? MemtlsSSLProtocol : SSLProtocol;
  return new Engine(loop, app, s.context, waiter, {
    serverSide: s.serverSide,
    serverHostname: s.serverHostname,
    callConnectionMade,
    sslHandshakeTimeout: s.sslHandshakeTimeout,
    sslShutdownTimeout: s.sslShutdownTimeout,
  });
}

/**
 * `_create_connection_transport` with ssl: the app transport once the
 * handshake is done and connectionMade() has run (the raw transport closed
 * if it fails).
 */
export async function sslConnectionTransport<P extends AnyProtocol>(loop: SelectorEventLoop, sock: Socket, protocolFactory: () => P, s: SslSetup): Promise<[Transport, P]> {
  let protocol: P;
  let transport: SelectorSocketTransport;
  let ssl: SSLProtocol | MemtlsSSLProtocol;
  let waiter!: { resolve(): void; reject(e: unknown): void };
  const done = new Promise<void>((resolve, reject) => (waiter = { resolve, reject }));
  try {
    sock.setblocking(false);
    protocol = protocolFactory();
    ssl = makeProtocol(loop, protocol, s, waiter);
    transport = new SelectorSocketTransport(loop, sock, ssl);
  } catch (e) {
    // Nothing owns the connected socket yet.
    sock.close();
    throw e;
  }
  try {
    await done;
  } catch (e) {
    transport.close();
    throw e;
  }
  return [ssl._appTransport!, protocol];
}

/** A server's protocol factory for TLS: each accepted connection's protocol is an SSLProtocol over the app's. */
export function sslServerFactory(loop: SelectorEventLoop, protocolFactory: () => AnyProtocol, s: SslSetup): () => AnyProtocol {
  return () => {
    // The handshake's failure closes the connection; asyncio reports it only in debug mode.
    const waiter = {
      resolve(): void {},
      reject(exc: unknown): void {
        if (loop.getDebug()) loop.callExceptionHandler({ message: 'Error on transport creation for incoming connection', exception: exc });
      },
    };
    return makeProtocol(loop, protocolFactory(), s, waiter) as unknown as AnyProtocol;
  };
}

/** `loop.startTls()`'s options (asyncio's keywords of `loop.start_tls`). */
export interface StartTlsOptions {
  /** The server's side of the handshake (default false). */
  serverSide?: boolean;
  /** Client: the name the server's certificate must have (and SNI); null or '' skips the check. */
  serverHostname?: string | null;
  /** Seconds for the handshake (60). */
  sslHandshakeTimeout?: number | null;
  /** Seconds for the shutdown (30). */
  sslShutdownTimeout?: number | null;
}

/**
 * asyncio's `loop.start_tls(transport, protocol, sslcontext, ...)`: upgrades
 * a plain connection to TLS and resolves with the new transport, which
 * `protocol` then uses; the old one must not be used any more.
 * @throws {TypeError} if `sslContext` is no context or `transport` cannot be upgraded
 */
export async function startTls(loop: SelectorEventLoop, transport: Transport, protocol: AnyProtocol, sslContext: unknown, options: StartTlsOptions = {}): Promise<SSLProtocolTransport> {
  loop._checkClosed();
  const opts = options ?? {};
  const serverSide = opts.serverSide ?? false;
  if (typeof serverSide !== 'boolean') throw new TypeError(`serverSide must be a boolean, not '${typeof serverSide}'`);
  if (sslContext === null || sslContext === undefined || typeof sslContext === 'boolean') {
    throw new TypeError(`sslcontext is expected to be an instance of ssl.SSLContext, got ${String(sslContext)}`);
  }
  const context = toSslContext(sslContext, serverSide);
  if (!(transport instanceof SelectorTransport) || transport.isClosing()) {
    throw new TypeError(`transport ${String(transport)} is not supported by start_tls()`);
  }
  // A second upgrade would leave the first SSLProtocol without its transport's events: its promise would never settle.
  const current = transport.getProtocol();
  if (current instanceof SSLProtocol || current instanceof MemtlsSSLProtocol) throw new TypeError(`transport ${String(transport)} is not supported by start_tls(): already upgraded`);
  if (protocol === null || typeof protocol !== 'object') throw new TypeError(`protocol must be a protocol object, not '${typeof protocol}'`);
  const hostname = opts.serverHostname ?? null;
  if (hostname !== null && typeof hostname !== 'string') throw new TypeError(`server_hostname must be a str, not '${typeof hostname}'`);
  let waiter!: { resolve(): void; reject(e: unknown): void };
  const done = new Promise<void>((resolve, reject) => (waiter = { resolve, reject }));
  const s: SslSetup = {
    context,
    serverSide,
    serverHostname: hostname,
    sslHandshakeTimeout: checkSslTimeout(opts.sslHandshakeTimeout, 'ssl_handshake_timeout', SSL_HANDSHAKE_TIMEOUT),
    sslShutdownTimeout: checkSslTimeout(opts.sslShutdownTimeout, 'ssl_shutdown_timeout', SSL_SHUTDOWN_TIMEOUT),
  };
  const sslProtocol = makeProtocol(loop, protocol, s, waiter, false);
  // Pause early so that "sslProtocol.dataReceived()" doesn't have a chance
  // to get called before "sslProtocol.connectionMade()".
  transport.pauseReading();
  transport.setProtocol(sslProtocol as unknown as AnyProtocol);
  const conmade = loop.callSoon(() => sslProtocol.connectionMade(transport));
  const resume = loop.callSoon(() => transport.resumeReading());
  try {
    await done;
  } catch (e) {
    transport.close();
    conmade.cancel();
    resume.cancel();
    throw e;
  }
  return sslProtocol._appTransport!;
}
