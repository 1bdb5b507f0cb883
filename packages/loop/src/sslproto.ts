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
 * transport's callback (see the README's "TLS").
 */
import type * as tls from 'node:tls';
import { ConnectionAbortedError, ConnectionResetError, OSError, TimeoutError } from '@iomux/core-native/error-classes';
import type { TimerHandle } from './events.js';
import { isBufferedProtocol, type AnyProtocol, type BufferedProtocol, type Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { AppWriteFlow, SSLProtocolTransport } from './ssl-transport.js';
import { toSslError, type SSLContext } from './tls-context.js';
import { CipherPipe, clientCertError, sslSettings, feedBuffered, handshakeExtra, openTlsSocket, pyNumber } from './ssl-pipe.js';
import type { SslProtocolOptions, Waiter } from './ssl-pipe.js';

export { SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT, checkSslTimeout, type Waiter } from './ssl-pipe.js';

/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

type State = 'UNWRAPPED' | 'DO_HANDSHAKE' | 'WRAPPED' | 'FLUSHING' | 'SHUTDOWN';
/** asyncio's AppProtocolState: STATE_INIT, STATE_CON_MADE, STATE_EOF, STATE_CON_LOST. */
const enum App { INIT, CON_MADE, EOF, CON_LOST }

/**
 * asyncio's `SSLProtocol`: the raw transport's protocol, running a TLS
 * socket in Node and an app protocol over an SSLProtocolTransport.
 */
export class SSLProtocol implements Protocol {
  readonly #loop: SelectorEventLoop;
  readonly #ctx: SSLContext;
  readonly #serverSide: boolean;
  readonly #serverHostname: string | null;
  readonly #handshakeTimeout: number;
  readonly #shutdownTimeout: number;
  #waiter: Waiter | null;
  /** @internal The application's protocol. */
  _appProtocol: AnyProtocol | null = null;
  #appBuffered = false;
  #appTransport: SSLProtocolTransport | null;
  #transport: SelectorTransport | null = null;
  #state: State = 'UNWRAPPED';
  #appState: App;
  #connLost = 0;
  readonly #extra: Record<string, unknown>;
  #tls: tls.TLSSocket | null = null;
  #pipe: CipherPipe | null = null;
  #handshakeTimer: TimerHandle | null = null;
  #shutdownTimer: TimerHandle | null = null;
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
    const settings = sslSettings(options);
    this.#handshakeTimeout = settings.handshakeTimeout;
    this.#shutdownTimeout = settings.shutdownTimeout;
    this.#loop = loop;
    this.#ctx = sslContext;
    this.#serverSide = settings.serverSide;
    this.#serverHostname = settings.serverHostname;
    this.#extra = { sslcontext: sslContext };
    this.#waiter = waiter;
    this._setAppProtocol(appProtocol);
    this.#appState = options.callConnectionMade === false ? App.CON_MADE : App.INIT;
    this._flow = new AppWriteFlow(loop, this);
    this.#appTransport = new SSLProtocolTransport(this);
  }

  /** @internal The app transport (asyncio's `_app_transport`). */
  get _appTransport(): SSLProtocolTransport | null {
    return this.#appTransport;
  }

  /** @internal */
  _setAppProtocol(appProtocol: AnyProtocol): void {
    this._appProtocol = appProtocol;
    this.#appBuffered = isBufferedProtocol(appProtocol);
  }

  #wakeupWaiter(exc: unknown = null): void {
    const w = this.#waiter;
    if (w === null) return;
    this.#waiter = null;
    if (exc !== null) w.reject(exc);
    else w.resolve();
  }

  connectionMade(transport: unknown): void {
    this.#transport = transport as SelectorTransport;
    this.#startHandshake();
  }

  connectionLost(exc: Error | null): void {
    this.#pipe?.detach();
    this.#connLost += 1;
    // Just mark the app transport as closed.
    if (this.#appTransport !== null) this.#appTransport._closed = true;
    if (this.#state !== 'DO_HANDSHAKE' && (this.#appState === App.CON_MADE || this.#appState === App.EOF)) {
      this.#appState = App.CON_LOST;
      const app = this._appProtocol!;
      const at = this.#appTransport;
      this.#loop.callSoon(() => {
        try {
          app.connectionLost?.(exc);
        } finally {
          // As the raw transports, Node's name too.
          at?.emit('close', exc !== null);
        }
      });
    }
    this.#state = 'UNWRAPPED';
    this.#transport = null;
    this.#appTransport = null;
    this._appProtocol = null;
    // Differs from CPython: a handshake the peer cut off fails (asyncio 3.11 would resolve).
    this.#wakeupWaiter(exc ?? new ConnectionResetError('Connection lost during the SSL handshake'));
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    const t = this.#tls;
    this.#tls = null;
    this.#pipe = null;
    t?.destroy();
  }

  /** Ciphertext from the peer, to the TLS socket. */
  dataReceived(data: Buffer): void {
    if (this.#state !== 'UNWRAPPED') this.#pipe?.feed(data);
  }

  eofReceived(): boolean | undefined {
    this.#eofReceived = true;
    if (this.#loop.getDebug()) this.#loop.logger.warn(`${String(this)} received EOF`);
    if (this.#state === 'DO_HANDSHAKE') {
      this.#onHandshakeComplete(new ConnectionResetError('Connection lost during the SSL handshake'));
      return undefined;
    }
    if (this.#state === 'UNWRAPPED') return undefined;
    // What came before it is decrypted first; the TLS socket's 'end' goes on (#onTlsEnd).
    this.#pipe?.push(null);
    return true;
  }

  /** @internal asyncio's `_get_extra_info`. */
  _getExtraInfo(name: string, defaultValue: unknown): unknown {
    if (typeof name === 'string' && Object.hasOwn(this.#extra, name)) return this.#extra[name];
    if (this.#transport !== null) return this.#transport.getExtraInfo(name, defaultValue);
    return defaultValue;
  }

  // ------------------------------------------------------------ handshake

  #startHandshake(): void {
    this.#state = 'DO_HANDSHAKE';
    // start handshake timeout count down
    this.#handshakeTimer = this.#loop.callLater(this.#handshakeTimeout, () => this.#checkHandshakeTimeout());
    const pipe = (this.#pipe = new CipherPipe(this.#transport!, () => this.#onCipherEnded(), (exc) => this.#fatalError(exc, 'Fatal error on SSL protocol')));
    let sock: tls.TLSSocket;
    try {
      sock = openTlsSocket(pipe, this.#ctx, this.#serverSide, this.#serverHostname);
    } catch (e) {
      this.#onHandshakeComplete(toSslError(e));
      return;
    }
    pipe.earlyWriteCompletion(sock, (fn) => this.#loop.isClosed() || this.#loop.callSoon(fn));
    sock.once(this.#serverSide ? 'secure' : 'secureConnect', () => this.#alive() && this.#onHandshakeComplete(null));
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
    if (!this.#loop.isClosed()) return true;
    this.#pipe?.detach();
    this.#tls?.destroy();
    return false;
  }

  #checkHandshakeTimeout(): void {
    if (this.#state === 'DO_HANDSHAKE') {
      const msg = `SSL handshake is taking longer than ${pyNumber(this.#handshakeTimeout)} seconds: aborting the connection`;
      const exc = new ConnectionAbortedError(msg);
      this.#fatalError(exc);
      // Now, not from connectionLost(): a transport whose protocol was replaced would never call it (startTls would hang).
      this.#wakeupWaiter(exc);
    }
  }

  #onHandshakeComplete(handshakeExc: unknown): void {
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    if (this.#state !== 'DO_HANDSHAKE') return;
    const sock = this.#tls;
    if (handshakeExc === null && sock !== null && this.#serverSide) handshakeExc = clientCertError(sock, this.#ctx);
    if (handshakeExc !== null || sock === null) {
      const exc = handshakeExc ?? new ConnectionResetError('Connection lost during the SSL handshake');
      this.#state = 'UNWRAPPED';
      const verifying = (exc as { name?: unknown }).name === 'SSLCertVerificationError';
      this.#fatalError(exc, verifying ? 'SSL handshake failed on verifying the certificate' : 'SSL handshake failed');
      this.#wakeupWaiter(exc);
      return;
    }
    this.#state = 'WRAPPED';
    Object.assign(this.#extra, handshakeExtra(sock));
    if (this.#appState === App.INIT) {
      this.#appState = App.CON_MADE;
      try {
        this._appProtocol!.connectionMade?.(this.#appTransport!);
      } catch (exc) {
        this.#fatalError(exc, 'Fatal error: protocol.connection_made() call failed.');
        this.#wakeupWaiter(exc);
        return;
      }
    }
    this.#wakeupWaiter();
  }

  #onTlsError(e: Error): void {
    const exc = toSslError(e);
    if (this.#state === 'DO_HANDSHAKE') this.#onHandshakeComplete(exc);
    else if (this.#state !== 'UNWRAPPED') this.#fatalError(exc, 'Fatal error on SSL protocol');
  }

  // ------------------------------------------------------------- shutdown

  /** The peer's close_notify, or the raw transport's EOF (asyncio's SSLZeroReturnError path). */
  #onTlsEnd(): void {
    this.#eofReceived = true;
    if (this.#state === 'WRAPPED') {
      this.#callEofReceived();
      this._startShutdown();
    } else if (this.#state === 'SHUTDOWN' && this.#cipherEnded) {
      this.#onShutdownComplete(null);
    }
  }

  /** @internal asyncio's `_start_shutdown`: close_notify after what is buffered. */
  _startShutdown(): void {
    if (this.#state === 'FLUSHING' || this.#state === 'SHUTDOWN' || this.#state === 'UNWRAPPED') return;
    if (this.#appTransport !== null) this.#appTransport._closed = true;
    if (this.#state === 'DO_HANDSHAKE') {
      this._abort(null);
      return;
    }
    this.#state = 'FLUSHING';
    this.#shutdownTimer = this.#loop.callLater(this.#shutdownTimeout, () => this.#checkShutdownTimeout());
    // Node flushes the plaintext written so far, then sends close_notify (#cipherEnded next).
    this.#tls?.end();
  }

  #checkShutdownTimeout(): void {
    if (this.#state === 'FLUSHING' || this.#state === 'SHUTDOWN') {
      this.#transport?._forceClose(new TimeoutError('SSL shutdown timed out'));
    }
  }

  /** Our close_notify is in the raw transport's hands. */
  #onCipherEnded(): void {
    this.#cipherEnded = true;
    if (!this.#alive()) return;
    if (this.#state !== 'FLUSHING') return;
    this.#state = 'SHUTDOWN';
    if (this.#eofReceived) this.#onShutdownComplete(null);
  }

  #onShutdownComplete(shutdownExc: unknown): void {
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    if (shutdownExc !== null) {
      this.#fatalError(shutdownExc);
      return;
    }
    this.#callEofReceived();
    const t = this.#transport;
    this.#loop.callSoon(() => t?.close());
  }

  /** @internal asyncio's `_abort`: the raw transport closes now. */
  _abort(exc: Error | null): void {
    this.#state = 'UNWRAPPED';
    this.#transport?._forceClose(exc);
  }

  // ------------------------------------------------------------- outgoing

  /** @internal asyncio's `_write_appdata`: plaintext to the TLS socket. */
  _writeAppdata(list: ArrayBufferView[]): void {
    if (this.#state === 'FLUSHING' || this.#state === 'SHUTDOWN' || this.#state === 'UNWRAPPED') {
      if (this.#connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) this.#loop.logger.warn('SSL connection is closed');
      this.#connLost += 1;
      return;
    }
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
      this.#fatalError(ex, 'Fatal error on SSL protocol');
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
    if (this.#state !== 'WRAPPED' && this.#state !== 'FLUSHING') return;
    try {
      const app = this._appProtocol;
      if (this.#appBuffered) feedBuffered(app as BufferedProtocol, chunk, () => this._appProtocol === app);
      else (this._appProtocol as Protocol).dataReceived?.(chunk);
    } catch (ex) {
      this.#fatalError(ex, 'Fatal error on SSL protocol');
      return;
    }
    const at = this.#appTransport;
    if (at !== null && at.listenerCount('data') !== 0) at.emit('data', chunk);
  }

  #callEofReceived(): void {
    try {
      if (this.#appState === App.CON_MADE) {
        this.#appState = App.EOF;
        const keepOpen = this._appProtocol?.eofReceived?.();
        if (keepOpen) this.#loop.logger.warn('returning true from eof_received() has no effect when using ssl');
        this.#appTransport?.emit('end');
      }
    } catch (ex) {
      this.#fatalError(ex, 'Error calling eof_received()');
    }
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
    this.#loop.callSoon(() => {
      if (!this._appReadingPaused) this.#tls?.resume();
    });
  }

  #fatalError(exc: unknown, message = 'Fatal error on transport'): void {
    this.#transport?._forceClose(exc as Error);
    if (exc instanceof OSError) {
      if (this.#loop.getDebug()) this.#loop.logger.warn(`${String(this)}: ${message}`, exc);
    } else {
      this.#loop.callExceptionHandler({ message, exception: exc, transport: this.#transport, protocol: this });
    }
  }

  toString(): string {
    return `<SSLProtocol ${this.#serverSide ? 'server' : 'client'} state=${this.#state}>`;
  }
}
