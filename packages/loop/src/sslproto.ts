/**
 * TLS over any stream transport: CPython 3.11 Lib/asyncio/sslproto.py
 * `SSLProtocol` (states UNWRAPPED, DO_HANDSHAKE, WRAPPED, FLUSHING,
 * SHUTDOWN; handshake and shutdown timeouts; flow control both ways).
 *
 * asyncio drives an `ssl.SSLObject` over two `ssl.MemoryBIO`s; here OpenSSL
 * stays in Node: a `tls.TLSSocket` runs over CipherPipe, an in-memory Duplex
 * that the raw transport feeds with ciphertext (dataReceived) and that hands
 * the TLS socket's ciphertext to the raw transport's write(). The plaintext
 * side is the TLS socket's 'data' and write(). See the README's "TLS".
 * Differs from CPython: Node reports a finished handshake and the peer's
 * close_notify on its own ticks (process.nextTick), not inside the raw
 * transport's callback (see the README's "TLS"). What both engines share
 * is in ssl-protocol-base.ts.
 */
import type * as tls from 'node:tls';
import { ConnectionResetError } from '@iomux/core-native/error-classes';
import { isBufferedProtocol, type AnyProtocol, type BufferedProtocol, type Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { AppWriteFlow, SSLProtocolTransport } from './ssl-transport.js';
import { toSslError, type SSLContext } from './tls-context.js';
import { CipherPipe, clientCertError, feedBuffered, handshakeExtra, openTlsSocket } from './ssl-pipe.js';
import type { SslProtocolOptions, Waiter } from './ssl-pipe.js';
import { App, SslProtocolBase, appdataDropped, callEofReceived, fatalError, type SslProtocolHost, type State } from './ssl-protocol-base.js';

export { SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT, checkSslTimeout, type Waiter } from './ssl-pipe.js';

/**
 * asyncio's `SSLProtocol`: the raw transport's protocol, running a TLS
 * socket in Node and an app protocol over an SSLProtocolTransport.
 */
export class SSLProtocol implements Protocol, SslProtocolHost {
  /** @internal */
  readonly _loop: SelectorEventLoop;
  /** The settings, the waiter, the timeouts and the states both engines share. */
  readonly #base: SslProtocolBase;
  /** @internal The application's protocol. */
  _appProtocol: AnyProtocol | null = null;
  #appBuffered = false;
  /** @internal */
  _appTr: SSLProtocolTransport | null;
  /** @internal The raw transport. */
  _transport: SelectorTransport | null = null;
  /** @internal */
  _state: State = 'UNWRAPPED';
  /** @internal */
  _appState: App = App.INIT;
  /** @internal */
  _connLost = 0;
  #tls: tls.TLSSocket | null = null;
  #pipe: CipherPipe | null = null;
  #eofReceived = false;
  /** Our close_notify went out (CipherPipe ended). */
  #cipherEnded = false;
  /** @internal The app paused reading. */
  _appReadingPaused = false;
  /** @internal The app's write flow control (asyncio's _control_app_writing and its marks). */
  readonly _flow: AppWriteFlow;
  readonly #onWritten = (): void => {
    if (this._flow.paused) this._flow.control();
  };

  constructor(
    loop: SelectorEventLoop,
    appProtocol: AnyProtocol,
    sslContext: SSLContext,
    waiter: Waiter | null,
    options: SslProtocolOptions = {},
  ) {
    this.#base = new SslProtocolBase(this, appProtocol, sslContext, waiter, options);
    this._loop = loop;
    this._flow = new AppWriteFlow(loop, this);
    this._appTr = new SSLProtocolTransport(this);
  }

  /** @internal The app transport (asyncio's `_app_transport`). */
  get _appTransport(): SSLProtocolTransport | null {
    return this._appTr;
  }

  /** @internal */
  _setAppProtocol(appProtocol: AnyProtocol): void {
    this._appProtocol = appProtocol;
    this.#appBuffered = isBufferedProtocol(appProtocol);
  }

  connectionMade(transport: unknown): void {
    this._transport = transport as SelectorTransport;
    this.#startHandshake();
  }

  connectionLost(exc: Error | null): void {
    this.#pipe?.detach();
    this.#base.connectionLost(exc);
    const t = this.#tls;
    this.#tls = null;
    this.#pipe = null;
    t?.destroy();
  }

  /** Ciphertext from the peer, to the TLS socket. */
  dataReceived(data: Buffer): void {
    if (this._state !== 'UNWRAPPED') this.#pipe?.feed(data);
  }

  eofReceived(): boolean | undefined {
    this.#eofReceived = true;
    if (this._loop.getDebug()) this._loop.logger.warn(`${String(this)} received EOF`);
    if (this._state === 'DO_HANDSHAKE') {
      this.#onHandshakeComplete(new ConnectionResetError('Connection lost during the SSL handshake'));
      return undefined;
    }
    if (this._state === 'UNWRAPPED') return undefined;
    // What came before it is decrypted first; the TLS socket's 'end' goes on (#onTlsEnd).
    this.#pipe?.push(null);
    return true;
  }

  /** @internal asyncio's `_get_extra_info`. */
  _getExtraInfo(name: string, defaultValue: unknown): unknown {
    return this.#base.getExtraInfo(name, defaultValue);
  }

  // ------------------------------------------------------------ handshake

  #startHandshake(): void {
    this.#base.startHandshake();
    const b = this.#base;
    const pipe = (this.#pipe = new CipherPipe(this._transport!, () => this.#onCipherEnded(), (exc) => this._fatalError(exc, 'Fatal error on SSL protocol')));
    let sock: tls.TLSSocket;
    try {
      sock = openTlsSocket(pipe, b.ctx, b.serverSide, b.serverHostname);
    } catch (e) {
      this.#onHandshakeComplete(toSslError(e));
      return;
    }
    pipe.earlyWriteCompletion(sock, (fn) => this._loop.isClosed() || this._loop.callSoon(fn));
    sock.once(b.serverSide ? 'secure' : 'secureConnect', () => this.#alive() && this.#onHandshakeComplete(null));
    this.#tls = sock;
    sock.on('error', (e: Error) => this.#alive() && this.#onTlsError(e));
    sock.on('data', (chunk: Buffer) => this.#alive() && this.#onTlsData(chunk));
    sock.on('end', () => this.#alive() && this.#onTlsEnd());
  }

  /**
   * Node's events come on Node's ticks, maybe after the loop was closed:
   * then the TLS socket is only destroyed (nothing may be scheduled).
   */
  #alive(): boolean {
    if (!this._loop.isClosed()) return true;
    this.#pipe?.detach();
    this.#tls?.destroy();
    return false;
  }

  #onHandshakeComplete(handshakeExc: unknown): void {
    if (!this.#base.handshakeEnded()) return;
    const sock = this.#tls;
    if (handshakeExc === null && sock !== null && this.#base.serverSide) handshakeExc = clientCertError(sock, this.#base.ctx);
    this.#base.handshakeDone(handshakeExc, handshakeExc === null && sock !== null ? handshakeExtra(sock) : null);
  }

  #onTlsError(e: Error): void {
    const exc = toSslError(e);
    if (this._state === 'DO_HANDSHAKE') this.#onHandshakeComplete(exc);
    else if (this._state !== 'UNWRAPPED') this._fatalError(exc, 'Fatal error on SSL protocol');
  }

  // ------------------------------------------------------------- shutdown

  /** The peer's close_notify, or the raw transport's EOF (asyncio's SSLZeroReturnError path). */
  #onTlsEnd(): void {
    this.#eofReceived = true;
    if (this._state === 'WRAPPED') {
      this._callEofReceived();
      this._startShutdown();
    } else if (this._state === 'SHUTDOWN' && this.#cipherEnded) {
      this.#onShutdownComplete();
    }
  }

  /** @internal asyncio's `_start_shutdown`: close_notify after what is buffered. */
  _startShutdown(): void {
    if (!this.#base.startShutdown()) return;
    // Node flushes the plaintext written so far, then sends close_notify (#cipherEnded next).
    this.#tls?.end();
  }

  /** Our close_notify is in the raw transport's hands. */
  #onCipherEnded(): void {
    this.#cipherEnded = true;
    if (!this.#alive()) return;
    if (this._state !== 'FLUSHING') return;
    this._state = 'SHUTDOWN';
    if (this.#eofReceived) this.#onShutdownComplete();
  }

  /** Both close_notifys went: asyncio's `_do_shutdown` once unwrap() is done. */
  #onShutdownComplete(): void {
    this._callEofReceived();
    this.#base.onShutdownComplete(null);
  }

  /** @internal asyncio's `_abort`: the raw transport closes now. */
  _abort(exc: Error | null): void {
    this.#base.abort(exc);
  }

  // ------------------------------------------------------------- outgoing

  /** @internal asyncio's `_write_appdata`: plaintext to the TLS socket. */
  _writeAppdata(list: ArrayBufferView[]): void {
    if (appdataDropped(this)) return;
    const sock = this.#tls!;
    try {
      for (const d of list) {
        const b = Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
        // A callback only for bytes above the low-water mark: a pause can
        // only come from them, and their callbacks see the drain.
        if (this._getWriteBufferSize() + b.length > this._flow.low) sock.write(b, this.#onWritten);
        else sock.write(b);
      }
    } catch (ex) {
      this._fatalError(ex, 'Fatal error on SSL protocol');
      return;
    }
    this._flow.control();
  }

  /** The raw transport went over its high-water mark: the ciphertext waits in CipherPipe. */
  pauseWriting(): void {
    this.#pipe?.pauseWriting();
  }

  /** The raw transport drained. */
  resumeWriting(): void {
    this.#pipe?.resumeWriting();
    this._flow.control();
  }

  /** @internal asyncio's `_get_write_buffer_size`. */
  _getWriteBufferSize(): number {
    return (this.#tls?.writableLength ?? 0) + (this.#pipe?.heldBytes ?? 0);
  }

  // ------------------------------------------------------------- incoming

  /** Plaintext from the TLS socket, to the app protocol. */
  #onTlsData(chunk: Buffer): void {
    if (this._state !== 'WRAPPED' && this._state !== 'FLUSHING') return;
    try {
      const app = this._appProtocol;
      if (this.#appBuffered) feedBuffered(app as BufferedProtocol, chunk, () => this._appProtocol === app);
      else (this._appProtocol as Protocol).dataReceived?.(chunk);
    } catch (ex) {
      this._fatalError(ex, 'Fatal error on SSL protocol');
      return;
    }
    const at = this._appTr;
    if (at !== null && at.listenerCount('data') !== 0) at.emit('data', chunk);
  }

  /** @internal asyncio's `_call_eof_received`. */
  _callEofReceived(): void {
    callEofReceived(this);
  }

  /** @internal */
  _pauseReading(): void {
    this._appReadingPaused = true;
    this.#tls?.pause();
  }

  /** @internal */
  _resumeReading(): void {
    if (!this._appReadingPaused) return;
    this._appReadingPaused = false;
    this._loop.callSoon(() => {
      if (!this._appReadingPaused) this.#tls?.resume();
    });
  }

  /** @internal asyncio's `_fatal_error`. */
  _fatalError(exc: unknown, message?: string): void {
    fatalError(this, exc, message);
  }

  toString(): string {
    return `<SSLProtocol ${this.#base.serverSide ? 'server' : 'client'} state=${this._state}>`;
  }
}
