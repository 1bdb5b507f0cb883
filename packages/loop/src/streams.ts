/**
 * Streams: CPython 3.11 Lib/asyncio/streams.py. openConnection and
 * startServer (on the running loop, as asyncio's module functions),
 * StreamReaderProtocol and StreamWriter (write, drain, close,
 * waitClosed); StreamReader is in stream-reader.ts.
 */
import { pyTypeName } from '@iomux/core-native';
import { getRunningLoop } from './events.js';
import type { Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { CreateConnectionOptions } from './connect.js';
import type { CreateServerOptions, ServerHosts } from './create-server.js';
import type { CreateUnixConnectionOptions, CreateUnixServerOptions, UnixPath } from './unix.js';
import type { Server } from './server.js';
import type { Transport } from './transports.js';
import type { SslArg } from './start-tls.js';

import { checkLimit, DEFAULT_LIMIT, StreamReader, deferred, type Waiter } from './stream-reader.js';
import { FlowControlMixin } from './flow-control.js';

export { DEFAULT_LIMIT, IncompleteReadError, LimitOverrunError, StreamReader } from './stream-reader.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * StreamReaderProtocol: feeds a StreamReader from a transport, with
 * asyncio's FlowControlMixin for the writer's drain().
 */
export class StreamReaderProtocol extends FlowControlMixin implements Protocol {
  /** @internal The reader it feeds; null once the connection is lost. */
  _reader: StreamReader | null;
  /** @internal The writer made for the server callback. */
  _streamWriter: StreamWriter | null = null;
  /** @internal The transport, once connected. */
  _transport: Transport | null = null;
  readonly #loop: SelectorEventLoop;
  readonly #clientConnectedCb: ((r: StreamReader, w: StreamWriter) => unknown) | null;
  /** @internal The transport is TLS (asyncio's _over_ssl): no half-close. */
  _overSsl = false;
  #closed: Promise<void>;
  #closedWaiter: Waiter;

  constructor(reader: StreamReader, clientConnectedCb: ((r: StreamReader, w: StreamWriter) => unknown) | null, loop: SelectorEventLoop) {
    super();
    this._reader = reader;
    this.#clientConnectedCb = clientConnectedCb;
    this.#loop = loop;
    [this.#closed, this.#closedWaiter] = deferred();
    // Never an unhandled rejection: waitClosed() rethrows it.
    this.#closed.catch(() => {});
  }

  connectionMade(transport: Transport): void {
    this._transport = transport;
    this._overSsl = transport.getExtraInfo('sslcontext') !== null;
    this._reader!.setTransport(transport);
    if (this.#clientConnectedCb !== null) {
      this._streamWriter = new StreamWriter(transport, this, this._reader!, this.#loop);
      let res: unknown;
      try {
        res = this.#clientConnectedCb(this._reader!, this._streamWriter);
      } catch (exc) {
        this.#reportCallbackError(exc);
        transport.close();
        return;
      }
      if (res instanceof Promise) {
        res.catch((exc: unknown) => {
          this.#reportCallbackError(exc);
          transport.close();
        });
      }
    }
  }

  #reportCallbackError(exc: unknown): void {
    this.#loop.callExceptionHandler({
      message: 'Unhandled exception in client_connected_cb',
      exception: exc,
      transport: this._transport,
    });
  }

  connectionLost(exc: Error | null): void {
    const reader = this._reader;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    if (exc === null) this.#closedWaiter.resolve();
    else this.#closedWaiter.reject(exc);
    this._flowConnectionLost(exc);
    this._reader = null;
    this._streamWriter = null;
    this._transport = null;
  }

  dataReceived(data: Buffer): void {
    // The transport hands over a fresh Buffer per recv() (see Protocol).
    this._reader?._feedOwned(data);
  }

  eofReceived(): boolean {
    this._reader?.feedEof();
    // Half-close: keep the transport open for writing, as asyncio does for
    // TCP (TLS has no half-close: asyncio's _over_ssl).
    return !this._overSsl;
  }

  /** @internal Made by startServer (asyncio: `_client_connected_cb is not None`). */
  _isServerSide(): boolean {
    return this.#clientConnectedCb !== null;
  }

  /** @internal asyncio's `_replace_writer`, after startTls. */
  _replaceWriter(writer: StreamWriter): void {
    this._transport = writer.transport;
    this._streamWriter = writer;
    this._overSsl = writer.transport.getExtraInfo('sslcontext') !== null;
  }

  /** @internal */
  _getClosed(): Promise<void> {
    return this.#closed;
  }
}

/** StreamWriter: writes to a transport, with drain() for flow control. */
export class StreamWriter {
  /** @internal The transport (startTls() replaces it). */
  _transport: Transport;
  /** @internal The protocol, for drain(). */
  readonly _protocol: StreamReaderProtocol;
  /** @internal The reader of the same connection. */
  readonly _reader: StreamReader | null;
  /** @internal The loop. */
  readonly _loop: SelectorEventLoop;

  constructor(transport: Transport, protocol: StreamReaderProtocol, reader: StreamReader | null, loop: SelectorEventLoop) {
    this._transport = transport;
    this._protocol = protocol;
    this._reader = reader;
    this._loop = loop;
  }

  /** The underlying transport. */
  get transport(): Transport {
    return this._transport;
  }

  /** Writes `data` (a string as UTF-8) without waiting; `await writer.drain()` for flow control. */
  write(data: ArrayBufferView | string): void {
    this._transport.write(typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Writes each buffer in turn, as write() does. */
  writelines(data: Iterable<ArrayBufferView>): void {
    this._transport.writelines(data);
  }

  /** Shuts down the write side after the buffered data is sent. */
  writeEof(): void {
    this._transport.writeEof();
  }

  /** Whether the transport supports writeEof() (true for TCP). */
  canWriteEof(): boolean {
    return this._transport.canWriteEof();
  }

  /** Closes the transport; `await writer.waitClosed()` to know it is done. */
  close(): void {
    this._transport.close();
  }

  /** True once close() has been called (or the connection was lost). */
  isClosing(): boolean {
    return this._transport.isClosing();
  }

  /** Resolves once the connection is closed (rejects with its error). */
  waitClosed(): Promise<void> {
    return this._protocol._getClosed();
  }

  /** The transport's `getExtraInfo(name, defaultValue)`: 'peername', 'sockname', 'socket'. */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return this._transport.getExtraInfo(name, defaultValue);
  }

  /**
   * asyncio 3.11's `StreamWriter.start_tls(sslcontext, ...)`: drains, then
   * upgrades the connection to TLS (the server's side on a startServer
   * connection); the reader then reads plaintext.
   */
  async startTls(sslContext: SslArg, options: { serverHostname?: string | null; sslHandshakeTimeout?: number | null } = {}): Promise<void> {
    const protocol = this._protocol;
    await this.drain();
    const transport = await this._loop.startTls(this._transport, protocol, sslContext, {
      serverSide: protocol._isServerSide(),
      serverHostname: options?.serverHostname ?? null,
      sslHandshakeTimeout: options?.sslHandshakeTimeout ?? null,
    });
    this._transport = transport;
    protocol._replaceWriter(this);
  }

  /**
   * Waits until the write buffer is below the high-water mark:
   * `w.write(data); await w.drain()`.
   */
  drain(): Promise<void> {
    // Fast path, no async frame: nothing to wait for (the common case).
    const p = this._protocol;
    if (!p._paused && !p._connectionLost && !this._transport.isClosing() && (this._reader === null || this._reader.exception() === null)) {
      return RESOLVED;
    }
    return this.#drain();
  }

  async #drain(): Promise<void> {
    if (this._reader !== null) {
      const exc = this._reader.exception();
      if (exc !== null) throw exc;
    }
    if (this._transport.isClosing()) {
      // Wait for protocol.connectionLost() call; raise connection closing
      // error if any, ConnectionResetError otherwise. Yield to the loop so
      // that connectionLost() can be called (asyncio: sleep(0)).
      await new Promise<void>((r) => this._loop.callSoon(r));
    }
    await this._protocol._drainHelper();
  }
}

/** Options of `openConnection` and `startServer`. */
export interface StreamOptions {
  /** The StreamReader's buffer limit (64 KiB). */
  limit?: number;
}

/**
 * asyncio.open_connection: resolves with `[reader, writer]` connected to
 * `host`:`port` (a name is resolved), on the running loop; the other
 * options are createConnection's.
 */
export async function openConnection(
  host: string | null = null,
  port: number | string | null = null,
  options: StreamOptions & CreateConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const loop = getRunningLoop<SelectorEventLoop>();
  const { limit, ...rest } = options ?? {};
  const reader = new StreamReader(limit ?? DEFAULT_LIMIT);
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const [transport] = await loop.createConnection(() => protocol, host, port, rest);
  const writer = new StreamWriter(transport, protocol, reader, loop);
  return [reader, writer];
}

type ClientConnected = (reader: StreamReader, writer: StreamWriter) => unknown;

/** The protocol factory of startServer and startUnixServer (checked before any socket exists). */
function serverFactory(loop: SelectorEventLoop, clientConnected: ClientConnected, limit: number | undefined): () => StreamReaderProtocol {
  if (typeof clientConnected !== 'function') throw new TypeError(`clientConnected must be callable, not '${pyTypeName(clientConnected)}'`);
  // Checked now: each connection's StreamReader would fail on it later.
  const lim = checkLimit(limit ?? DEFAULT_LIMIT);
  return () => new StreamReaderProtocol(new StreamReader(lim), clientConnected, loop);
}

/**
 * asyncio.start_server: serves `host`:`port` (a name, a list, or null/''
 * for every family) on the running loop, calling `clientConnected(reader,
 * writer)` (may be async) for each connection; the other options are
 * createServer's.
 */
export async function startServer(
  clientConnected: ClientConnected,
  host: ServerHosts = null,
  port: number | string | null = null,
  options: StreamOptions & CreateServerOptions = {},
): Promise<Server> {
  const loop = getRunningLoop<SelectorEventLoop>();
  const { limit, ...rest } = options ?? {};
  return loop.createServer(serverFactory(loop, clientConnected, limit), host, port, rest);
}

/** asyncio.open_unix_connection: `[reader, writer]` connected to the Unix socket `path` (or `options.sock`). */
export async function openUnixConnection(
  path: UnixPath | null = null,
  options: StreamOptions & CreateUnixConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const loop = getRunningLoop<SelectorEventLoop>();
  const { limit, ...rest } = options ?? {};
  const reader = new StreamReader(limit ?? DEFAULT_LIMIT);
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const [transport] = await loop.createUnixConnection(() => protocol, path, rest);
  const writer = new StreamWriter(transport, protocol, reader, loop);
  return [reader, writer];
}

/** asyncio.start_unix_server: serves the Unix socket `path` (or `options.sock`), as startServer. */
export async function startUnixServer(
  clientConnected: ClientConnected,
  path: UnixPath | null = null,
  options: StreamOptions & CreateUnixServerOptions = {},
): Promise<Server> {
  const loop = getRunningLoop<SelectorEventLoop>();
  const { limit, ...rest } = options ?? {};
  return loop.createUnixServer(serverFactory(loop, clientConnected, limit), path, rest);
}
