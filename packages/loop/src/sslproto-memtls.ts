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
 * tls-engine.ts says which one a context runs on.
 */
import { memtls } from '@iomux/core-native';
import { ConnectionAbortedError, ConnectionResetError, OSError, TimeoutError } from '@iomux/core-native/error-classes';
import type { TimerHandle } from './events.js';
import { isBufferedProtocol, type AnyProtocol, type BufferedProtocol, type Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { AppWriteFlow, SSLProtocolTransport, type SslProtocolLike } from './ssl-transport.js';
import type { SSLContext } from './tls-context.js';
import { SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT, checkSslTimeout, pyNumber, type Waiter } from './ssl-pipe.js';
import { MAX_SIZE, appBuffer, copyOut, outScratch, readScratch, takeAll } from './ssl-memtls-io.js';

/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
/** asyncio's _set_read_buffer_limits defaults (FLOW_CONTROL_HIGH_WATER_SSL_READ, 256 KiB). */
const INCOMING_HIGH = 256 * 1024;
const INCOMING_LOW = INCOMING_HIGH / 4;

type State = 'UNWRAPPED' | 'DO_HANDSHAKE' | 'WRAPPED' | 'FLUSHING' | 'SHUTDOWN';
/** asyncio's AppProtocolState: STATE_INIT, STATE_CON_MADE, STATE_EOF, STATE_CON_LOST. */
const enum App { INIT, CON_MADE, EOF, CON_LOST }

/** asyncio's `SSLProtocol` on a memtls Connection (Python's SSLObject over two MemoryBIOs). */
export class MemtlsSSLProtocol implements Protocol, SslProtocolLike {
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
  #conn: memtls.Connection | null = null;
  #handshakeTimer: TimerHandle | null = null;
  #shutdownTimer: TimerHandle | null = null;
  #eofReceived = false;
  /** Plaintext the app wrote that memtls has not taken yet (asyncio's _write_backlog). */
  #backlog: Uint8Array[] = [];
  #backlogSize = 0;
  #sslWritingPaused = false;
  #sslReadingPaused = false;
  /** Ciphertext fed and not yet read through (asyncio's _incoming.pending, as near as memtls tells). */
  #unread = 0;
  /** @internal The app paused reading. */
  _appReadingPaused = false;
  /** @internal The app's write flow control (asyncio's _control_app_writing and its marks). */
  readonly _flow: AppWriteFlow;

  constructor(
    loop: SelectorEventLoop,
    appProtocol: AnyProtocol,
    sslContext: SSLContext,
    waiter: Waiter | null,
    options: { serverSide?: boolean; serverHostname?: string | null; callConnectionMade?: boolean; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
  ) {
    this.#handshakeTimeout = checkSslTimeout(options.sslHandshakeTimeout, 'ssl_handshake_timeout', SSL_HANDSHAKE_TIMEOUT);
    this.#shutdownTimeout = checkSslTimeout(options.sslShutdownTimeout, 'ssl_shutdown_timeout', SSL_SHUTDOWN_TIMEOUT);
    this.#loop = loop;
    this.#ctx = sslContext;
    this.#serverSide = options.serverSide ?? false;
    this.#serverHostname = options.serverHostname && !this.#serverSide ? options.serverHostname : null;
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
    this.#backlog = [];
    this.#backlogSize = 0;
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
    // Differs from CPython: a handshake the peer cut off fails (asyncio 3.11 would resolve), as the node engine.
    this.#wakeupWaiter(exc ?? new ConnectionResetError('Connection lost during the SSL handshake'));
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    this.#conn?.close();
    this.#conn = null;
  }

  /** Ciphertext from the peer (asyncio's buffer_updated). */
  dataReceived(data: Buffer): void {
    const conn = this.#conn;
    if (conn === null || this.#state === 'UNWRAPPED') return;
    if (this.#state === 'WRAPPED' && !this._appReadingPaused && !this.#appBuffered) {
      // feed and read in one native call.
      this.#doRead(data);
      return;
    }
    conn.feed(data);
    this.#unread += data.length;
    if (this.#state === 'DO_HANDSHAKE') this.#doHandshake();
    else if (this.#state === 'WRAPPED') this.#doRead();
    else if (this.#state === 'FLUSHING') this.#doFlush();
    else if (this.#state === 'SHUTDOWN') this.#doShutdown();
  }

  eofReceived(): boolean | undefined {
    this.#eofReceived = true;
    try {
      if (this.#loop.getDebug()) this.#loop.logger.warn(`${String(this)} received EOF`);
      if (this.#state === 'DO_HANDSHAKE') {
        this.#onHandshakeComplete(new ConnectionResetError('Connection lost during the SSL handshake'));
      } else if (this.#state === 'WRAPPED') {
        this.#state = 'FLUSHING';
        if (this._appReadingPaused) return true;
        this.#doFlush();
      } else if (this.#state === 'FLUSHING') {
        this.#doWrite();
        this.#state = 'SHUTDOWN';
        this.#doShutdown();
      } else if (this.#state === 'SHUTDOWN') {
        this.#doShutdown();
      }
    } catch (e) {
      this.#transport?.close();
      throw e;
    }
    return undefined;
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
    try {
      const ctx = this.#ctx._memtlsContext(this.#serverSide, this.#serverHostname !== null);
      this.#conn = new memtls.Connection(ctx, { serverSide: this.#serverSide, serverHostname: this.#serverHostname ?? undefined });
    } catch (e) {
      this.#onHandshakeComplete(e);
      return;
    }
    this.#doHandshake();
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

  #doHandshake(): void {
    try {
      if (this.#conn!.handshake() === 'want-read') {
        this.#unread = 0;
        this.#processOutgoing();
        return;
      }
    } catch (exc) {
      this.#onHandshakeComplete(exc);
      return;
    }
    this.#unread = 0;
    this.#onHandshakeComplete(null);
  }

  #onHandshakeComplete(handshakeExc: unknown): void {
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    if (this.#state !== 'DO_HANDSHAKE') return;
    const conn = this.#conn;
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
      this.#state = 'UNWRAPPED';
      const verifying = (exc as { name?: unknown }).name === 'SSLCertVerificationError';
      this.#fatalError(exc, verifying ? 'SSL handshake failed on verifying the certificate' : 'SSL handshake failed');
      this.#wakeupWaiter(exc);
      return;
    }
    this.#state = 'WRAPPED';
    Object.assign(this.#extra, extra);
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
    this.#doRead();
  }

  // ------------------------------------------------------------- shutdown

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
    this.#doFlush();
  }

  #checkShutdownTimeout(): void {
    if (this.#state === 'FLUSHING' || this.#state === 'SHUTDOWN') {
      this.#transport?._forceClose(new TimeoutError('SSL shutdown timed out'));
    }
  }

  #doFlush(): void {
    this.#doRead();
    // A fatal error while reading ended it all.
    if (this.#state !== 'FLUSHING') return;
    this.#state = 'SHUTDOWN';
    this.#doShutdown();
  }

  #doShutdown(): void {
    const conn = this.#conn;
    if (conn === null) return;
    try {
      // 'sent' and 'want-read' are asyncio's SSLWantReadError: the peer's close_notify is still due.
      if (!this.#eofReceived && conn.shutdown() !== 'done') {
        this.#processOutgoing();
        return;
      }
      this.#processOutgoing();
    } catch (exc) {
      this.#onShutdownComplete(exc);
      return;
    }
    this.#callEofReceived();
    this.#onShutdownComplete(null);
  }

  #onShutdownComplete(shutdownExc: unknown): void {
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    if (shutdownExc !== null) {
      this.#fatalError(shutdownExc);
      return;
    }
    const t = this.#transport;
    this.#loop.callSoon(() => t?.close());
  }

  /** @internal asyncio's `_abort`: the raw transport closes now. */
  _abort(exc: Error | null): void {
    this.#state = 'UNWRAPPED';
    this.#transport?._forceClose(exc);
  }

  // ------------------------------------------------------------- outgoing

  /** @internal asyncio's `_write_appdata`. */
  _writeAppdata(list: ArrayBufferView[]): void {
    if (this.#state === 'FLUSHING' || this.#state === 'SHUTDOWN' || this.#state === 'UNWRAPPED') {
      if (this.#connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) this.#loop.logger.warn('SSL connection is closed');
      this.#connLost += 1;
      return;
    }
    try {
      if (this.#state === 'WRAPPED' && list.length === 1 && this.#backlog.length === 0 && !this.#sslWritingPaused) {
        // The echo's path: write and take in one native call.
        const d = list[0]!;
        const n = this.#conn!.writeTake(d, 0, d.byteLength, outScratch());
        if (n >= 0) {
          this.#send(takeAll(this.#conn!, n));
          this._flow.control();
          return;
        }
      }
      for (const d of list) {
        // Kept until memtls takes it: a copy, as Python's bytes cannot change under it.
        const b = new Uint8Array(d.byteLength);
        b.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        this.#backlog.push(b);
        this.#backlogSize += b.length;
      }
      if (this.#state === 'WRAPPED') this.#doWrite();
    } catch (ex) {
      this.#fatalError(ex, 'Fatal error on SSL protocol');
    }
  }

  #doWrite(): void {
    const conn = this.#conn;
    if (conn === null) return;
    const bl = this.#backlog;
    while (bl.length > 0) {
      const d = bl[0]!;
      const count = conn.write(d);
      // asyncio's SSLAgainErrors: the handshake (a renegotiation) wants ciphertext first.
      if (count < 0) break;
      if (count < d.length) {
        bl[0] = d.subarray(count);
        this.#backlogSize -= count;
      } else {
        bl.shift();
        this.#backlogSize -= d.length;
      }
    }
    this.#processOutgoing();
  }

  #processOutgoing(): void {
    if (!this.#sslWritingPaused && this.#conn !== null) this.#send(takeAll(this.#conn, -1));
    this._flow.control();
  }

  /** Ciphertext to the raw transport (none once it is lost: an alert would go nowhere). */
  #send(data: Buffer | null): void {
    const t = this.#transport;
    if (data !== null && t !== null && t._connLost === 0) t.write(data);
  }

  /** The raw transport went over its high-water mark: ciphertext stays in memtls's outgoing BIO. */
  pauseWriting(): void {
    this.#sslWritingPaused = true;
  }

  /** The raw transport drained. */
  resumeWriting(): void {
    this.#sslWritingPaused = false;
    this.#processOutgoing();
  }

  /** @internal asyncio's `_get_write_buffer_size`: outgoing ciphertext plus the backlog. */
  _getWriteBufferSize(): number {
    // Unpaused, every call takes all of the outgoing BIO.
    const pending = this.#sslWritingPaused && this.#conn !== null ? this.#conn.outputPending() : 0;
    return pending + this.#backlogSize;
  }

  // ------------------------------------------------------------- incoming

  /** asyncio's `_do_read`; `data`: ciphertext still to feed (the copied path's feedRead). */
  #doRead(data: Buffer | null = null): void {
    if (this.#state !== 'WRAPPED' && this.#state !== 'FLUSHING') return;
    try {
      if (!this._appReadingPaused) {
        if (this.#appBuffered) this.#doReadBuffered();
        else this.#doReadCopied(data);
        if (this.#backlog.length > 0) this.#doWrite();
        else this.#processOutgoing();
      }
      this.#controlSslReading();
    } catch (ex) {
      this.#fatalError(ex, 'Fatal error on SSL protocol');
    }
  }

  #doReadBuffered(): void {
    const conn = this.#conn!;
    const app = this._appProtocol as BufferedProtocol;
    const buf = appBuffer(app.getBuffer(this.#unread > 0 ? this.#unread : MAX_SIZE));
    const wants = buf.length;
    let offset = 0;
    let count = conn.read(buf, 0, wants);
    if (count > 0) {
      offset = count;
      while (offset < wants) {
        count = conn.read(buf, offset, wants - offset);
        if (count > 0) offset += count;
        else break;
      }
      if (offset >= wants) this.#loop.callSoon(() => this.#doRead());
    }
    if (count <= 0) this.#unread = 0;
    if (offset > 0) {
      app.bufferUpdated(offset);
      const at = this.#appTransport;
      if (at !== null && at.listenerCount('data') !== 0) at.emit('data', Buffer.from(buf.subarray(0, offset)));
    }
    // close_notify
    if (count === 0) {
      this.#callEofReceived();
      this._startShutdown();
    }
  }

  #doReadCopied(data: Buffer | null): void {
    const conn = this.#conn!;
    const buf = readScratch();
    let off = 0;
    let list: Buffer[] | null = null;
    let n = data === null ? conn.read(buf, 0, buf.length) : conn.feedRead(data, 0, data.length, buf);
    while (n > 0) {
      off += n;
      if (off === buf.length) {
        (list ??= []).push(copyOut(buf, off));
        off = 0;
      }
      n = conn.read(buf, off, buf.length - off);
    }
    this.#unread = 0;
    let chunk: Buffer | null = off > 0 ? copyOut(buf, off) : null;
    if (list !== null) chunk = Buffer.concat(chunk === null ? list : [...list, chunk]);
    if (chunk !== null) {
      (this._appProtocol as Protocol).dataReceived?.(chunk);
      const at = this.#appTransport;
      if (at !== null && at.listenerCount('data') !== 0) at.emit('data', chunk);
    }
    // close_notify
    if (n === 0) {
      this.#callEofReceived();
      this._startShutdown();
    }
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
  }

  /** @internal */
  _resumeReading(): void {
    if (!this._appReadingPaused) return;
    this._appReadingPaused = false;
    this.#loop.callSoon(() => {
      if (this.#state === 'WRAPPED') this.#doRead();
      else if (this.#state === 'FLUSHING') this.#doFlush();
      else if (this.#state === 'SHUTDOWN') this.#doShutdown();
    });
  }

  /** asyncio's `_control_ssl_reading`: the raw transport pauses at 256 KiB unread. */
  #controlSslReading(): void {
    const size = this.#unread;
    if (size >= INCOMING_HIGH && !this.#sslReadingPaused) {
      this.#sslReadingPaused = true;
      this.#transport?.pauseReading();
    } else if (size <= INCOMING_LOW && this.#sslReadingPaused) {
      this.#sslReadingPaused = false;
      this.#transport?.resumeReading();
    }
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
    return `<SSLProtocol memtls ${this.#serverSide ? 'server' : 'client'} state=${this.#state}>`;
  }
}
