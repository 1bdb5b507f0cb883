/**
 * TLS over any stream transport on core-native's memtls engine: CPython
 * 3.11 Lib/asyncio/sslproto.py `SSLProtocol`, line for line where it can
 * be (states UNWRAPPED, DO_HANDSHAKE, WRAPPED, FLUSHING, SHUTDOWN;
 * handshake and shutdown timeouts; flow control both ways). asyncio's
 * `_incoming.write` is `feed`, `_sslobj.read` `read` (-1: want read),
 * `_sslobj.write` `write`, `_outgoing.read` `takeOutput`, `do_handshake`
 * `handshake()`, `unwrap` `shutdown()`. Ciphertext goes to the raw
 * transport's write(), which joins the loop's write batch.
 * The same surface as sslproto.ts's SSLProtocol (the TLSSocket engine);
 * tls-engine.ts says which one a context runs on; ssl-memtls-flow.ts has
 * the outgoing and incoming flows, this file the states on memtls, and
 * ssl-protocol-base.ts what both engines share.
 */
import { memtls } from '@iomux/core-native';
import { ConnectionResetError } from '@iomux/core-native/error-classes';
import type { AnyProtocol, Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { SSLProtocolTransport } from './ssl-transport.js';
import type { SSLContext } from './tls-context.js';
import type { SslProtocolOptions, Waiter } from './ssl-pipe.js';
import { MemtlsFlow } from './ssl-memtls-flow.js';
import { SslProtocolBase, type SslProtocolHost } from './ssl-protocol-base.js';

/** asyncio's `SSLProtocol` on a memtls Connection (Python's SSLObject over two MemoryBIOs). */
export class MemtlsSSLProtocol extends MemtlsFlow implements Protocol, SslProtocolHost {
  /** The settings, the waiter, the timeouts and the states both engines share. */
  readonly #base: SslProtocolBase;
  #eofReceived = false;

  constructor(
    loop: SelectorEventLoop,
    appProtocol: AnyProtocol,
    sslContext: SSLContext,
    waiter: Waiter | null,
    options: SslProtocolOptions = {},
  ) {
    super(loop);
    this.#base = new SslProtocolBase(this, appProtocol, sslContext, waiter, options);
    this._appTr = new SSLProtocolTransport(this);
  }

  connectionMade(transport: unknown): void {
    this._transport = transport as SelectorTransport;
    this.#startHandshake();
  }

  connectionLost(exc: Error | null): void {
    this._backlog = [];
    this._backlogSize = 0;
    this.#base.connectionLost(exc);
    this._conn?.close();
    this._conn = null;
  }

  /** Ciphertext from the peer (asyncio's buffer_updated). */
  dataReceived(data: Buffer): void {
    const conn = this._conn;
    if (conn === null || this._state === 'UNWRAPPED') return;
    if (this._state === 'WRAPPED' && !this._appReadingPaused) {
      // feed and read in one native call (either kind of app protocol).
      this._doRead(data);
      return;
    }
    conn.feed(data);
    this._unread += data.length;
    if (this._state === 'DO_HANDSHAKE') this.#doHandshake();
    else if (this._state === 'WRAPPED') this._doRead();
    else if (this._state === 'FLUSHING') this._doFlush();
    else if (this._state === 'SHUTDOWN') this._doShutdown();
  }

  eofReceived(): boolean | undefined {
    this.#eofReceived = true;
    try {
      if (this._loop.getDebug()) this._loop.logger.warn(`${String(this)} received EOF`);
      if (this._state === 'DO_HANDSHAKE') {
        this.#onHandshakeComplete(new ConnectionResetError('Connection lost during the SSL handshake'));
      } else if (this._state === 'WRAPPED') {
        this._state = 'FLUSHING';
        if (this._appReadingPaused) return true;
        this._doFlush();
      } else if (this._state === 'FLUSHING') {
        this._doWrite();
        this._state = 'SHUTDOWN';
        this._doShutdown();
      } else if (this._state === 'SHUTDOWN') {
        this._doShutdown();
      }
    } catch (e) {
      this._transport?.close();
      throw e;
    }
    return undefined;
  }

  /** @internal asyncio's `_get_extra_info`. */
  override _getExtraInfo(name: string, defaultValue: unknown): unknown {
    return this.#base.getExtraInfo(name, defaultValue);
  }

  // ------------------------------------------------------------ handshake

  #startHandshake(): void {
    this.#base.startHandshake();
    const b = this.#base;
    try {
      const ctx = b.ctx._memtlsContext(b.serverSide, b.serverHostname !== null);
      this._conn = new memtls.Connection(ctx, { serverSide: b.serverSide, serverHostname: b.serverHostname ?? undefined });
    } catch (e) {
      this.#onHandshakeComplete(e);
      return;
    }
    this.#doHandshake();
  }

  #doHandshake(): void {
    try {
      if (this._conn!.handshake() === 'want-read') {
        this._unread = 0;
        this._processOutgoing();
        return;
      }
    } catch (exc) {
      this.#onHandshakeComplete(exc);
      return;
    }
    this._unread = 0;
    this.#onHandshakeComplete(null);
  }

  #onHandshakeComplete(handshakeExc: unknown): void {
    if (!this.#base.handshakeEnded()) return;
    const conn = this._conn;
    let extra: Record<string, unknown> | null = null;
    if (handshakeExc === null && conn !== null) {
      try {
        extra = { peercert: conn.peerCertificateInfo(), cipher: conn.cipher(), compression: null, sslObject: conn, ssl_object: conn };
      } catch (e) {
        handshakeExc = e;
      }
    }
    if (this.#base.handshakeDone(handshakeExc, extra)) this._doRead();
  }

  // ------------------------------------------------------------- shutdown

  /** @internal asyncio's `_start_shutdown`: close_notify after what is buffered. */
  override _startShutdown(): void {
    if (this.#base.startShutdown()) this._doFlush();
  }

  /** @internal asyncio's `_do_flush`. */
  override _doFlush(): void {
    this._doRead();
    // A fatal error while reading ended it all.
    if (this._state !== 'FLUSHING') return;
    this._state = 'SHUTDOWN';
    this._doShutdown();
  }

  /** @internal asyncio's `_do_shutdown`. */
  override _doShutdown(): void {
    const conn = this._conn;
    if (conn === null) return;
    try {
      // 'sent' and 'want-read' are asyncio's SSLWantReadError: the peer's close_notify is still due.
      if (!this.#eofReceived && conn.shutdown() !== 'done') {
        this._processOutgoing();
        return;
      }
      this._processOutgoing();
    } catch (exc) {
      this.#base.onShutdownComplete(exc);
      return;
    }
    this._callEofReceived();
    this.#base.onShutdownComplete(null);
  }

  /** @internal asyncio's `_abort`: the raw transport closes now. */
  override _abort(exc: Error | null): void {
    this.#base.abort(exc);
  }

  override toString(): string {
    return `<SSLProtocol memtls ${this.#base.serverSide ? 'server' : 'client'} state=${this._state}>`;
  }
}
