/**
 * The byte-moving half of sslproto-memtls.ts's MemtlsSSLProtocol: CPython
 * 3.11 sslproto.py's outgoing flow (`_write_appdata`, `_do_write`,
 * `_process_outgoing`, the raw transport's pause/resume_writing) and
 * incoming flow (`_do_read` for Protocol and BufferedProtocol,
 * `_control_ssl_reading`) on a memtls Connection; `_call_eof_received`,
 * `_fatal_error`, the dropped write and the states are ssl-protocol-base.ts's.
 * The state machine (handshake, shutdown) is the subclass's. asyncio's
 * loop of reads until SSLWantReadError is one readAll/feedReadAll call, and
 * a take is skipped when memtls knows its output empty (bench/README.md, MEMTLS).
 */
import type { memtls } from '@iomux/core-native';
import { isBufferedProtocol, type AnyProtocol, type BufferedProtocol, type Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { AppWriteFlow, type SSLProtocolTransport } from './ssl-transport.js';
import { MAX_SIZE, appBuffer, copyOut, outScratch, readScratch, takeAll } from './ssl-memtls-io.js';
import { App, appdataDropped, callEofReceived, fatalError, type SslProtocolHost, type State } from './ssl-protocol-base.js';

/** asyncio's _set_read_buffer_limits defaults (FLOW_CONTROL_HIGH_WATER_SSL_READ, 256 KiB). */
const INCOMING_HIGH = 256 * 1024;
const INCOMING_LOW = INCOMING_HIGH / 4;

/** The outgoing and incoming flows of asyncio's SSLProtocol on memtls (fields shared with the subclass are `_`-named). */
export abstract class MemtlsFlow implements SslProtocolHost {
  /** @internal */
  readonly _loop: SelectorEventLoop;
  /** @internal The application's protocol. */
  _appProtocol: AnyProtocol | null = null;
  /** @internal */
  _appBuffered = false;
  /** @internal */
  _appTr: SSLProtocolTransport | null = null;
  /** @internal The raw transport. */
  _transport: SelectorTransport | null = null;
  /** @internal */
  _state: State = 'UNWRAPPED';
  /** @internal */
  _appState: App = App.INIT;
  /** @internal */
  _connLost = 0;
  /** @internal */
  _conn: memtls.Connection | null = null;
  /** @internal Plaintext the app wrote that memtls has not taken yet (asyncio's _write_backlog). */
  _backlog: Uint8Array[] = [];
  /** @internal */
  _backlogSize = 0;
  /** @internal Ciphertext fed and not yet read through (asyncio's _incoming.pending, as near as memtls tells). */
  _unread = 0;
  #sslWritingPaused = false;
  #sslReadingPaused = false;
  /** @internal The app paused reading. */
  _appReadingPaused = false;
  /** @internal The app's write flow control (asyncio's _control_app_writing and its marks). */
  readonly _flow: AppWriteFlow;

  constructor(loop: SelectorEventLoop) {
    this._loop = loop;
    this._flow = new AppWriteFlow(loop, this);
  }

  /** @internal The app transport (asyncio's `_app_transport`). */
  get _appTransport(): SSLProtocolTransport | null {
    return this._appTr;
  }

  /** @internal */
  _setAppProtocol(appProtocol: AnyProtocol): void {
    this._appProtocol = appProtocol;
    this._appBuffered = isBufferedProtocol(appProtocol);
  }

  abstract _getExtraInfo(name: string, defaultValue: unknown): unknown;
  abstract _startShutdown(): void;
  abstract _abort(exc: Error | null): void;
  /** asyncio's `_do_flush`. */
  abstract _doFlush(): void;
  /** asyncio's `_do_shutdown`. */
  abstract _doShutdown(): void;

  // ------------------------------------------------------------- outgoing

  /** @internal asyncio's `_write_appdata`. */
  _writeAppdata(list: ArrayBufferView[]): void {
    if (appdataDropped(this)) return;
    try {
      if (this._state === 'WRAPPED' && list.length === 1 && this._backlog.length === 0 && !this.#sslWritingPaused) {
        // The echo's path: write and take in one native call.
        const d = list[0]!;
        const n = this._conn!.writeTake(d, 0, d.byteLength, outScratch());
        if (n >= 0) {
          this.#send(takeAll(this._conn!, n));
          this._flow.control();
          return;
        }
      }
      for (const d of list) {
        // Kept until memtls takes it: a copy, as Python's bytes cannot change under it.
        const b = new Uint8Array(d.byteLength);
        b.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        this._backlog.push(b);
        this._backlogSize += b.length;
      }
      if (this._state === 'WRAPPED') this._doWrite();
    } catch (ex) {
      this._fatalError(ex, 'Fatal error on SSL protocol');
    }
  }

  /** @internal asyncio's `_do_write`. */
  _doWrite(): void {
    const conn = this._conn;
    if (conn === null) return;
    const bl = this._backlog;
    while (bl.length > 0) {
      const d = bl[0]!;
      const count = conn.write(d);
      // asyncio's SSLAgainErrors: the handshake (a renegotiation) wants ciphertext first.
      if (count < 0) break;
      if (count < d.length) {
        bl[0] = d.subarray(count);
        this._backlogSize -= count;
      } else {
        bl.shift();
        this._backlogSize -= d.length;
      }
    }
    this._processOutgoing();
  }

  /** @internal asyncio's `_process_outgoing`. */
  _processOutgoing(): void {
    if (!this.#sslWritingPaused && this._conn !== null) this.#send(takeAll(this._conn, -1));
    this._flow.control();
  }

  /** Ciphertext to the raw transport (none once it is lost: an alert would go nowhere). */
  #send(data: Buffer | null): void {
    const t = this._transport;
    if (data !== null && t !== null && t._connLost === 0) t.write(data);
  }

  /** The raw transport went over its high-water mark: ciphertext stays in memtls's outgoing BIO. */
  pauseWriting(): void {
    this.#sslWritingPaused = true;
  }

  /** The raw transport drained. */
  resumeWriting(): void {
    this.#sslWritingPaused = false;
    this._processOutgoing();
  }

  /** @internal asyncio's `_get_write_buffer_size`: outgoing ciphertext plus the backlog. */
  _getWriteBufferSize(): number {
    // Unpaused, every call takes all of the outgoing BIO.
    const pending = this.#sslWritingPaused && this._conn !== null ? this._conn.outputPending() : 0;
    return pending + this._backlogSize;
  }

  // ------------------------------------------------------------- incoming

  /** asyncio's `_do_read`; `data`: ciphertext still to feed (fed by the read's feedReadAll). */
  _doRead(data: Buffer | null = null): void {
    if (this._state !== 'WRAPPED' && this._state !== 'FLUSHING') return;
    try {
      if (!this._appReadingPaused) {
        if (this._appBuffered) this.#doReadBuffered(data);
        else this.#doReadCopied(data);
        if (this._backlog.length > 0) this._doWrite();
        else this._processOutgoing();
      }
      this.#controlSslReading();
    } catch (ex) {
      this._fatalError(ex, 'Fatal error on SSL protocol');
    }
  }

  #doReadBuffered(data: Buffer | null): void {
    const conn = this._conn!;
    const app = this._appProtocol as BufferedProtocol;
    // The hint counts `data` as fed, as asyncio's buffer_updated has it in _incoming first.
    const pending = this._unread + (data === null ? 0 : data.length);
    const buf = appBuffer(app.getBuffer(pending > 0 ? pending : MAX_SIZE));
    const wants = buf.length;
    // asyncio's loop of reads until want-read, close_notify or a full buffer, natively (after feeding all of `data`).
    let offset = data === null ? conn.readAll(buf, 0, wants) : conn.feedReadAll(data, 0, data.length, buf);
    while (conn.readEnd === 'full' && offset < wants) offset += conn.readAll(buf, offset, wants - offset);
    if (conn.readEnd === 'full') {
      // The rest waits for the next turn, counted as unread.
      this._unread = pending;
      this._loop.callSoon(() => this._doRead());
    } else this._unread = 0;
    if (offset > 0) {
      app.bufferUpdated(offset);
      const at = this._appTr;
      if (at !== null && at.listenerCount('data') !== 0) at.emit('data', Buffer.from(buf.subarray(0, offset)));
    }
    // close_notify
    if (conn.readEnd === 'close-notify') {
      this._callEofReceived();
      this._startShutdown();
    }
  }

  #doReadCopied(data: Buffer | null): void {
    const conn = this._conn!;
    const buf = readScratch();
    let list: Buffer[] | null = null;
    // Reads until want-read or close_notify in the one call, as asyncio's loop of reads.
    let off = data === null ? conn.readAll(buf, 0, buf.length) : conn.feedReadAll(data, 0, data.length, buf);
    while (conn.readEnd === 'full') {
      (list ??= []).push(copyOut(buf, off));
      off = conn.readAll(buf, 0, buf.length);
    }
    this._unread = 0;
    let chunk: Buffer | null = off > 0 ? copyOut(buf, off) : null;
    if (list !== null) chunk = Buffer.concat(chunk === null ? list : [...list, chunk]);
    if (chunk !== null) {
      (this._appProtocol as Protocol).dataReceived?.(chunk);
      const at = this._appTr;
      if (at !== null && at.listenerCount('data') !== 0) at.emit('data', chunk);
    }
    // close_notify
    if (conn.readEnd === 'close-notify') {
      this._callEofReceived();
      this._startShutdown();
    }
  }

  /** @internal asyncio's `_call_eof_received`. */
  _callEofReceived(): void {
    callEofReceived(this);
  }

  /** @internal */
  _pauseReading(): void {
    this._appReadingPaused = true;
  }

  /** @internal */
  _resumeReading(): void {
    if (!this._appReadingPaused) return;
    this._appReadingPaused = false;
    this._loop.callSoon(() => {
      if (this._state === 'WRAPPED') this._doRead();
      else if (this._state === 'FLUSHING') this._doFlush();
      else if (this._state === 'SHUTDOWN') this._doShutdown();
    });
  }

  /** asyncio's `_control_ssl_reading`: the raw transport pauses at 256 KiB unread. */
  #controlSslReading(): void {
    const size = this._unread;
    if (size >= INCOMING_HIGH && !this.#sslReadingPaused) {
      this.#sslReadingPaused = true;
      this._transport?.pauseReading();
    } else if (size <= INCOMING_LOW && this.#sslReadingPaused) {
      this.#sslReadingPaused = false;
      this._transport?.resumeReading();
    }
  }

  /** @internal asyncio's `_fatal_error`. */
  _fatalError(exc: unknown, message?: string): void {
    fatalError(this, exc, message);
  }
}
