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
 * the outgoing and incoming flows, this file the states.
 */
import { memtls } from '@iomux/core-native';
import { ConnectionAbortedError, ConnectionResetError, TimeoutError } from '@iomux/core-native/error-classes';
import type { TimerHandle } from './events.js';
import type { AnyProtocol, Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { SSLProtocolTransport } from './ssl-transport.js';
import type { SSLContext } from './tls-context.js';
import { pyNumber, sslSettings, type SslProtocolOptions, type Waiter } from './ssl-pipe.js';
import { App, MemtlsFlow } from './ssl-memtls-flow.js';

/** asyncio's `SSLProtocol` on a memtls Connection (Python's SSLObject over two MemoryBIOs). */
export class MemtlsSSLProtocol extends MemtlsFlow implements Protocol {
  readonly #ctx: SSLContext;
  readonly #serverSide: boolean;
  readonly #serverHostname: string | null;
  readonly #handshakeTimeout: number;
  readonly #shutdownTimeout: number;
  #waiter: Waiter | null;
  readonly #extra: Record<string, unknown>;
  #handshakeTimer: TimerHandle | null = null;
  #shutdownTimer: TimerHandle | null = null;
  #eofReceived = false;

  constructor(
    loop: SelectorEventLoop,
    appProtocol: AnyProtocol,
    sslContext: SSLContext,
    waiter: Waiter | null,
    options: SslProtocolOptions = {},
  ) {
    super(loop);
    const settings = sslSettings(options);
    this.#handshakeTimeout = settings.handshakeTimeout;
    this.#shutdownTimeout = settings.shutdownTimeout;
    this.#ctx = sslContext;
    this.#serverSide = settings.serverSide;
    this.#serverHostname = settings.serverHostname;
    this.#extra = { sslcontext: sslContext };
    this.#waiter = waiter;
    this._setAppProtocol(appProtocol);
    this._appState = options.callConnectionMade === false ? App.CON_MADE : App.INIT;
    this._appTr = new SSLProtocolTransport(this);
  }

  #wakeupWaiter(exc: unknown = null): void {
    const w = this.#waiter;
    if (w === null) return;
    this.#waiter = null;
    if (exc !== null) w.reject(exc);
    else w.resolve();
  }

  connectionMade(transport: unknown): void {
    this._transport = transport as SelectorTransport;
    this.#startHandshake();
  }

  connectionLost(exc: Error | null): void {
    this._backlog = [];
    this._backlogSize = 0;
    this._connLost += 1;
    // Just mark the app transport as closed.
    if (this._appTr !== null) this._appTr._closed = true;
    if (this._state !== 'DO_HANDSHAKE' && (this._appState === App.CON_MADE || this._appState === App.EOF)) {
      this._appState = App.CON_LOST;
      const app = this._appProtocol!;
      const at = this._appTr;
      this._loop.callSoon(() => {
        try {
          app.connectionLost?.(exc);
        } finally {
          // As the raw transports, Node's name too.
          at?.emit('close', exc !== null);
        }
      });
    }
    this._state = 'UNWRAPPED';
    this._transport = null;
    this._appTr = null;
    this._appProtocol = null;
    // Differs from CPython: a handshake the peer cut off fails (asyncio 3.11 would resolve), as the node engine.
    this.#wakeupWaiter(exc ?? new ConnectionResetError('Connection lost during the SSL handshake'));
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    this._conn?.close();
    this._conn = null;
  }

  /** Ciphertext from the peer (asyncio's buffer_updated). */
  dataReceived(data: Buffer): void {
    const conn = this._conn;
    if (conn === null || this._state === 'UNWRAPPED') return;
    if (this._state === 'WRAPPED' && !this._appReadingPaused && !this._appBuffered) {
      // feed and read in one native call.
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
    if (typeof name === 'string' && Object.hasOwn(this.#extra, name)) return this.#extra[name];
    if (this._transport !== null) return this._transport.getExtraInfo(name, defaultValue);
    return defaultValue;
  }

  // ------------------------------------------------------------ handshake

  #startHandshake(): void {
    this._state = 'DO_HANDSHAKE';
    // start handshake timeout count down
    this.#handshakeTimer = this._loop.callLater(this.#handshakeTimeout, () => this.#checkHandshakeTimeout());
    try {
      const ctx = this.#ctx._memtlsContext(this.#serverSide, this.#serverHostname !== null);
      this._conn = new memtls.Connection(ctx, { serverSide: this.#serverSide, serverHostname: this.#serverHostname ?? undefined });
    } catch (e) {
      this.#onHandshakeComplete(e);
      return;
    }
    this.#doHandshake();
  }

  #checkHandshakeTimeout(): void {
    if (this._state === 'DO_HANDSHAKE') {
      const msg = `SSL handshake is taking longer than ${pyNumber(this.#handshakeTimeout)} seconds: aborting the connection`;
      const exc = new ConnectionAbortedError(msg);
      this._fatalError(exc);
      // Now, not from connectionLost(): a transport whose protocol was replaced would never call it (startTls would hang).
      this.#wakeupWaiter(exc);
    }
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
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    if (this._state !== 'DO_HANDSHAKE') return;
    const conn = this._conn;
    let extra: Record<string, unknown> | null = null;
    if (handshakeExc === null && conn !== null) {
      try {
        extra = { peercert: conn.peerCertificateInfo(), cipher: conn.cipher(), compression: null, sslObject: conn, ssl_object: conn };
      } catch (e) {
        handshakeExc = e;
      }
    }
    if (extra === null) {
      const exc = handshakeExc ?? new ConnectionResetError('Connection lost during the SSL handshake');
      this._state = 'UNWRAPPED';
      const verifying = (exc as { name?: unknown }).name === 'SSLCertVerificationError';
      this._fatalError(exc, verifying ? 'SSL handshake failed on verifying the certificate' : 'SSL handshake failed');
      this.#wakeupWaiter(exc);
      return;
    }
    this._state = 'WRAPPED';
    Object.assign(this.#extra, extra);
    if (this._appState === App.INIT) {
      this._appState = App.CON_MADE;
      try {
        this._appProtocol!.connectionMade?.(this._appTr!);
      } catch (exc) {
        this._fatalError(exc, 'Fatal error: protocol.connection_made() call failed.');
        this.#wakeupWaiter(exc);
        return;
      }
    }
    this.#wakeupWaiter();
    this._doRead();
  }

  // ------------------------------------------------------------- shutdown

  /** @internal asyncio's `_start_shutdown`: close_notify after what is buffered. */
  override _startShutdown(): void {
    if (this._state === 'FLUSHING' || this._state === 'SHUTDOWN' || this._state === 'UNWRAPPED') return;
    if (this._appTr !== null) this._appTr._closed = true;
    if (this._state === 'DO_HANDSHAKE') {
      this._abort(null);
      return;
    }
    this._state = 'FLUSHING';
    this.#shutdownTimer = this._loop.callLater(this.#shutdownTimeout, () => this.#checkShutdownTimeout());
    this._doFlush();
  }

  #checkShutdownTimeout(): void {
    if (this._state === 'FLUSHING' || this._state === 'SHUTDOWN') {
      this._transport?._forceClose(new TimeoutError('SSL shutdown timed out'));
    }
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
      this.#onShutdownComplete(exc);
      return;
    }
    this._callEofReceived();
    this.#onShutdownComplete(null);
  }

  #onShutdownComplete(shutdownExc: unknown): void {
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    if (shutdownExc !== null) {
      this._fatalError(shutdownExc);
      return;
    }
    const t = this._transport;
    this._loop.callSoon(() => t?.close());
  }

  /** @internal asyncio's `_abort`: the raw transport closes now. */
  override _abort(exc: Error | null): void {
    this._state = 'UNWRAPPED';
    this._transport?._forceClose(exc);
  }

  override toString(): string {
    return `<SSLProtocol memtls ${this.#serverSide ? 'server' : 'client'} state=${this._state}>`;
  }
}
