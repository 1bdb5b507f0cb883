/**
 * The application's side of a TLS connection: CPython 3.11
 * Lib/asyncio/sslproto.py `_SSLProtocolTransport` and
 * `add_flowcontrol_defaults`. Every call goes to its SSL protocol
 * (sslproto.ts or sslproto-memtls.ts), which owns the TLS engine and the raw transport.
 */
import { EventEmitter } from 'eventemitter3';
import { pyTypeName } from '@iomux/core-native';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import type { AnyProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { Transport } from './transports.js';

/** asyncio's add_flowcontrol_defaults: `[high, low]` from either, or from `kb` KiB. */
export function addFlowcontrolDefaults(high: number | null | undefined, low: number | null | undefined, kb: number): [number, number] {
  let hi: number;
  let lo: number;
  if (high === null || high === undefined) hi = low === null || low === undefined ? kb * 1024 : 4 * low;
  else hi = high;
  if (low === null || low === undefined) lo = Math.floor(hi / 4);
  else lo = low;
  if (typeof hi !== 'number' || typeof lo !== 'number') throw new TypeError(`high and low must be numbers, not '${pyTypeName(hi)}' and '${pyTypeName(lo)}'`);
  if (!(hi >= lo && lo >= 0)) throw new ValueError(`high (${hi}) must be >= low (${lo}) must be >= 0`);
  return [hi, lo];
}

/**
 * What the app transport and its write flow call on their SSL protocol:
 * sslproto.ts's (Node's TLSSocket) or sslproto-memtls.ts's (memtls).
 */
export interface SslProtocolLike {
  /** @internal */
  _appProtocol: AnyProtocol | null;
  /** @internal */
  _appReadingPaused: boolean;
  /** @internal */
  readonly _flow: AppWriteFlow;
  /** @internal */
  readonly _appTransport: SSLProtocolTransport | null;
  _getExtraInfo(name: string, defaultValue: unknown): unknown;
  _setAppProtocol(appProtocol: AnyProtocol): void;
  _startShutdown(): void;
  _abort(exc: Error | null): void;
  _writeAppdata(list: ArrayBufferView[]): void;
  _getWriteBufferSize(): number;
  _pauseReading(): void;
  _resumeReading(): void;
}

/** asyncio constants.FLOW_CONTROL_HIGH_WATER_SSL_WRITE, in KiB. */
const FLOW_CONTROL_HIGH_WATER_SSL_WRITE = 512;

/**
 * asyncio's flow control of an SSLProtocol's app writes (`_control_app_writing`
 * and `_set_write_buffer_limits`): pauseWriting() at `high` bytes buffered,
 * resumeWriting() (and 'drain') at `low`.
 */
export class AppWriteFlow {
  /** pauseWriting() at this many bytes buffered (512 KiB). */
  high = 0;
  /** resumeWriting() at or below this many. */
  low = 0;
  /** The app was told to pause. */
  paused = false;
  readonly #loop: SelectorEventLoop;
  readonly #owner: SslProtocolLike;

  constructor(loop: SelectorEventLoop, owner: SslProtocolLike) {
    this.#loop = loop;
    this.#owner = owner;
    this.setLimits();
  }

  setLimits(high: number | null = null, low: number | null = null): void {
    [this.high, this.low] = addFlowcontrolDefaults(high, low, FLOW_CONTROL_HIGH_WATER_SSL_WRITE);
  }

  /** Tells the app to pause or resume, as the buffered size says. */
  control(): void {
    const o = this.#owner;
    const app = o._appProtocol;
    if (app === null) return;
    const size = o._getWriteBufferSize();
    const pause = size >= this.high && !this.paused;
    if (!pause && !(size <= this.low && this.paused)) return;
    this.paused = pause;
    try {
      if (pause) app.pauseWriting?.();
      else app.resumeWriting?.();
    } catch (exc) {
      const message = `protocol.${pause ? 'pause' : 'resume'}_writing() failed`;
      this.#loop.callExceptionHandler({ message, exception: exc, transport: o._appTransport, protocol: o });
    }
    if (!pause) o._appTransport?.emit('drain');
  }
}

/** Python's NotImplementedError, a subclass of RuntimeError (not exported: asyncio's only use is here). */
class NotImplementedError extends RuntimeError {
  override name = 'NotImplementedError';
}

/**
 * asyncio's `_SSLProtocolTransport`: what the application protocol of a
 * TLS connection writes to and reads from (plaintext). Also an
 * eventemitter3 emitter with Node's names, as the raw transports: 'data'
 * (plaintext), 'end' (the peer's close_notify), 'drain', 'close'.
 */
export class SSLProtocolTransport extends EventEmitter implements Transport {
  /** @internal The protocol that does the work; null after a second close(). */
  _sslProtocol: SslProtocolLike | null;
  /** @internal close() or abort() was called, or the connection is lost. */
  _closed = false;

  constructor(sslProtocol: SslProtocolLike) {
    super();
    this._sslProtocol = sslProtocol;
  }

  #proto(): SslProtocolLike {
    // Differs from CPython: a transport closed twice still answers (asyncio's raises AttributeError).
    return this._sslProtocol!;
  }

  /**
   * 'peercert', 'cipher', 'compression', 'sslObject' (also 'ssl_object'),
   * 'sslcontext', then the raw transport's keys ('peername', 'socket', ...).
   */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return this._sslProtocol === null ? defaultValue : this._sslProtocol._getExtraInfo(name, defaultValue);
  }

  setProtocol(protocol: AnyProtocol): void {
    this.#proto()._setAppProtocol(protocol);
  }

  getProtocol(): AnyProtocol {
    return this.#proto()._appProtocol!;
  }

  isClosing(): boolean {
    return this._closed;
  }

  /** Sends what is buffered, then TLS's close_notify, and closes once the peer answers (or sslShutdownTimeout passes). */
  close(): void {
    if (!this._closed) {
      this._closed = true;
      this._sslProtocol?._startShutdown();
    } else {
      this._sslProtocol = null;
    }
  }

  isReading(): boolean {
    return this._sslProtocol !== null && !this._sslProtocol._appReadingPaused;
  }

  pauseReading(): void {
    this._sslProtocol?._pauseReading();
  }

  resumeReading(): void {
    this._sslProtocol?._resumeReading();
  }

  setWriteBufferLimits(high: number | null = null, low: number | null = null): void {
    const p = this.#proto();
    p._flow.setLimits(high, low);
    p._flow.control();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    const p = this.#proto();
    return [p._flow.low, p._flow.high];
  }

  /** Plaintext not yet encrypted, plus ciphertext the raw transport has not taken yet. */
  getWriteBufferSize(): number {
    return this._sslProtocol === null ? 0 : this._sslProtocol._getWriteBufferSize();
  }

  write(data: ArrayBufferView): void {
    if (!ArrayBuffer.isView(data)) throw new TypeError(`data: expecting a bytes-like instance, got ${pyTypeName(data)}`);
    if (data.byteLength === 0) return;
    this._sslProtocol?._writeAppdata([data]);
  }

  writelines(list: Iterable<ArrayBufferView>): void {
    const items = [...list];
    for (const d of items) if (!ArrayBuffer.isView(d)) throw new TypeError(`data: expecting a bytes-like instance, got ${pyTypeName(d)}`);
    this._sslProtocol?._writeAppdata(items.filter((d) => d.byteLength > 0));
  }

  /** @throws {RuntimeError} always, named NotImplementedError as Python's (a RuntimeError there too): TLS has no half-close. */
  writeEof(): void {
    throw new NotImplementedError("SSL doesn't support half-closes");
  }

  canWriteEof(): boolean {
    return false;
  }

  /** Closes now: no close_notify, buffered data dropped. */
  abort(): void {
    this._forceClose(null);
  }

  /** @internal */
  _forceClose(exc: Error | null): void {
    this._closed = true;
    this._sslProtocol?._abort(exc);
  }

  override toString(): string {
    return `<SSLProtocolTransport${this._closed ? ' closed' : ''}>`;
  }
}
