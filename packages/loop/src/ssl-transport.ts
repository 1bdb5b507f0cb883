/**
 * The application's side of a TLS connection: CPython 3.11
 * Lib/asyncio/sslproto.py `_SSLProtocolTransport` and
 * `add_flowcontrol_defaults`. Every call goes to its SSLProtocol
 * (sslproto.ts), which owns the TLS socket and the raw transport.
 */
import { EventEmitter } from 'eventemitter3';
import { pyTypeName } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import type { AnyProtocol } from './protocols.js';
import type { SSLProtocol } from './sslproto.js';
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
 * asyncio's `_SSLProtocolTransport`: what the application protocol of a
 * TLS connection writes to and reads from (plaintext).
 */
export class SSLProtocolTransport extends EventEmitter implements Transport {
  /** @internal The protocol that does the work; null after a second close(). */
  _sslProtocol: SSLProtocol | null;
  /** @internal close() or abort() was called, or the connection is lost. */
  _closed = false;

  constructor(sslProtocol: SSLProtocol) {
    super();
    this._sslProtocol = sslProtocol;
  }

  #proto(): SSLProtocol {
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
    p._setWriteBufferLimits(high, low);
    p._controlAppWriting();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    const p = this.#proto();
    return [p._outgoingLowWater, p._outgoingHighWater];
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

  /** @throws {Error} always: TLS has no half-close (asyncio's NotImplementedError). */
  writeEof(): void {
    const err = new Error("SSL doesn't support half-closes");
    err.name = 'NotImplementedError';
    throw err;
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
