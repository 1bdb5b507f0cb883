/**
 * What every selector transport has, whatever it reads and writes: CPython
 * 3.11 Lib/asyncio/selector_events.py `_SelectorTransport` (the protocol,
 * reading paused or not, closing, fatal errors, connectionLost) with
 * transports.py's flow control (`_FlowControlMixin`: pauseWriting and
 * resumeWriting around the write-buffer limits). transports.ts's
 * SelectorSocketTransport adds the reads and writes of a stream socket.
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'eventemitter3';
import { pyTypeName, socket as S, type Socket } from '@iomux/core-native';
import { OSError, ValueError } from '@iomux/core-native/error-classes';
import { BatchState } from './internal/io-batch.js';
import { isBufferedProtocol, type AnyProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { Server } from './server.js';

/**
 * What asyncio's stream and datagram transports share (BaseTransport,
 * ReadTransport's pausing, the write-buffer limits), for a protocol `P`.
 */
export interface FlowControlledTransport<P> extends EventEmitter {
  /** Closes after what is buffered is sent; connectionLost(null) follows. */
  close(): void;
  /** Closes now, dropping what is buffered; connectionLost(null) follows. */
  abort(): void;
  /** True once close() or abort() was called, or the transport was lost. */
  isClosing(): boolean;
  /** Stops delivering to the protocol until resumeReading(). */
  pauseReading(): void;
  /** Resumes delivering after pauseReading(). */
  resumeReading(): void;
  /** True unless reading is paused or the transport is closing. */
  isReading(): boolean;
  /** Bytes buffered, not yet sent. */
  getWriteBufferSize(): number;
  /** The flow-control water marks `[low, high]`, in bytes. */
  getWriteBufferLimits(): [low: number, high: number];
  /**
   * Sets the water marks in bytes: pauseWriting() above `high` (64 KiB),
   * resumeWriting() at or below `low` (a quarter of `high`).
   * @throws {ValueError} if `high` < `low` or either is negative
   */
  setWriteBufferLimits(high?: number | null, low?: number | null): void;
  /** asyncio's `get_extra_info(name, default)`: 'peername', 'sockname', 'socket'. */
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  /** Switches to another protocol. */
  setProtocol(protocol: P): void;
  /** The current protocol. */
  getProtocol(): P;
}

/** The transport interface of asyncio (ReadTransport + WriteTransport). */
export interface Transport extends FlowControlledTransport<AnyProtocol> {
  /** Queues `data` to send, without blocking; the protocol's pauseWriting() says when to stop. */
  write(data: ArrayBufferView): void;
  /** Writes each buffer in turn, as write() does. */
  writelines(list: Iterable<ArrayBufferView>): void;
  /** Shuts down the write side once the buffered data is sent. */
  writeEof(): void;
  /** Whether writeEof() is supported (true for TCP). */
  canWriteEof(): boolean;
}

/**
 * @internal asyncio's `_SelectorTransport` with its flow control; the
 * reads and writes are a subclass's (SelectorSocketTransport).
 */
export abstract class SelectorTransport extends EventEmitter implements Transport {
  /** @internal The loop. */
  _loop: SelectorEventLoop;
  /** @internal The connected socket; null once closed. */
  _sock: Socket | null;
  /** @internal Its descriptor. */
  _sockFd: number;
  /** @internal The protocol it calls. */
  _protocol: AnyProtocol;
  /** The protocol is a BufferedProtocol: recv() goes into its buffer. */
  _buffered: boolean;
  /** @internal connectionMade() has been called. */
  _protocolConnected = false;
  /** @internal The server that accepted it, if any. */
  _server: Server | null;
  /** @internal Data not yet sent. */
  _buffer: Buffer[] = [];
  /** @internal Bytes in _buffer. */
  _bufferSize = 0;
  /** @internal Non-zero once the connection was lost: writes are then dropped. */
  _connLost = 0;
  /** @internal close() or abort() was called. */
  _closing = false;
  /** @internal writeEof() was called. */
  _eof = false;
  /** @internal Reading is paused. */
  _paused = false;
  /** @internal The protocol was told to pause writing. */
  _protocolPaused = false;
  /** @internal A native sendfile runs (asyncio's _empty_waiter is set): write() refuses. */
  _sendfileActive = false;
  /** @internal Its part in the loop's read and write batches. */
  readonly _batch = new BatchState();
  /** @internal pauseWriting() above this many buffered bytes. */
  _highWater = 64 * 1024;
  /** @internal resumeWriting() at or below this many. */
  _lowWater = 16 * 1024;
  /** @internal getExtraInfo()'s values. */
  readonly _extra: Record<string, unknown>;
  readonly #readReady = (): void => this._readReady();
  /** resumeReading: what the batch received before the pause, first. */
  readonly #readPending = (): void => {
    if (this._batch.pending && !this._paused && !this._closing) this._readReady();
  };

  constructor(loop: SelectorEventLoop, sock: Socket, protocol: AnyProtocol, extra: Record<string, unknown> = {}, server: Server | null = null) {
    super();
    this._loop = loop;
    this._sock = sock;
    this._sockFd = sock.fileno();
    this._protocol = protocol;
    this._buffered = isBufferedProtocol(protocol);
    this._server = server;
    this._extra = { socket: sock, ...extra };
    try {
      this._extra.sockname ??= sock.getsockname();
    } catch {
      this._extra.sockname = null;
    }
    if (this._extra.peername === undefined) {
      try {
        this._extra.peername = sock.getpeername();
      } catch {
        this._extra.peername = null;
      }
    }
    server?._attach();
    // Disable the Nagle algorithm, as asyncio does for TCP.
    try {
      if (sock.family !== S.AF_UNIX) sock.setsockopt(S.IPPROTO_TCP, S.TCP_NODELAY, 1);
    } catch {
      // not TCP
    }
    this._protocolConnected = true;
    loop.callSoon(() => this._protocol.connectionMade?.(this));
    // Only start reading when connectionMade() has been called.
    loop.callSoon(() => {
      if (!this._closing && !this._paused) this.#addReader();
    });
  }

  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    // A name that is no string is in no table (and `in` would stringify it).
    return typeof name === 'string' && name in this._extra ? this._extra[name] : defaultValue;
  }

  /** asyncio: a BufferedProtocol switches reads to its buffer, and back. */
  setProtocol(protocol: AnyProtocol): void {
    this._protocol = protocol;
    this._buffered = isBufferedProtocol(protocol);
    this._protocolConnected = true;
  }

  getProtocol(): AnyProtocol {
    return this._protocol;
  }

  isClosing(): boolean {
    return this._closing;
  }

  isReading(): boolean {
    return !this.isClosing() && !this._paused;
  }

  pauseReading(): void {
    if (!this.isReading()) return;
    this._paused = true;
    this._loop._removeReader(this._sockFd);
  }

  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this.#addReader();
    // Received in a batch before the pause: delivered without waiting for
    // the socket to be readable again.
    if (this._batch.pending) this._loop.callSoon(this.#readPending);
  }

  #addReader(): void {
    this._loop._addReader(this._sockFd, this.#readReady, [])._reads = this;
  }

  /** @internal The socket is readable: receive, and deliver what came. */
  abstract _readReady(): void;
  /** @internal After the loop's write batch: see SelectorSocketTransport. */
  abstract _sent(result: number, slab: Uint8Array, off: number, len: number): boolean;
  /** @internal The protocol's side of _sent. */
  abstract _sentNotify(): void;
  abstract write(data: ArrayBufferView): void;
  abstract writelines(list: Iterable<ArrayBufferView>): void;
  abstract writeEof(): void;
  abstract canWriteEof(): boolean;

  // --------------------------------------------------------- flow control

  getWriteBufferSize(): number {
    // With what waits in the loop's batch (uvloop counts its queued writes too).
    return this._bufferSize + this._batch.sendLen;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this._lowWater, this._highWater];
  }

  setWriteBufferLimits(high: number | null = null, low: number | null = null): void {
    if (high === null) high = low === null ? 64 * 1024 : 4 * low;
    if (low === null) low = Math.floor(high / 4);
    if (typeof high !== 'number' || typeof low !== 'number') throw new TypeError(`high and low must be numbers, not '${pyTypeName(high)}' and '${pyTypeName(low)}'`);
    if (!(high >= low && low >= 0)) throw new ValueError(`high (${high}) must be >= low (${low}) must be >= 0`);
    this._highWater = high;
    this._lowWater = low;
    this._maybePauseProtocol();
  }

  /** @internal pauseWriting() once the buffer passes the high water mark. */
  _maybePauseProtocol(): void {
    if (this._bufferSize <= this._highWater) return;
    if (!this._protocolPaused) {
      this._protocolPaused = true;
      try {
        this._protocol.pauseWriting?.();
      } catch (exc) {
        this._loop.callExceptionHandler({
          message: 'protocol.pause_writing() failed',
          exception: exc,
          transport: this,
          protocol: this._protocol,
        });
      }
    }
  }

  /** @internal resumeWriting() once it drains to the low water mark. */
  _maybeResumeProtocol(): void {
    if (this._protocolPaused && this._bufferSize <= this._lowWater) {
      this._protocolPaused = false;
      try {
        this._protocol.resumeWriting?.();
      } catch (exc) {
        this._loop.callExceptionHandler({
          message: 'protocol.resume_writing() failed',
          exception: exc,
          transport: this,
          protocol: this._protocol,
        });
      }
      this.emit('drain');
    }
  }

  // --------------------------------------------------------------- close

  /** Closes after the buffered data is sent; connectionLost(null) follows. */
  close(): void {
    if (this._closing) return;
    this._closing = true;
    this._loop._removeReader(this._sockFd);
    // With a write in the loop's batch, _sentNotify closes after it.
    if (this._bufferSize === 0 && this._batch.sendIdx < 0) this._closeDrained();
  }

  /** @internal close() with nothing left to send: connectionLost(null) soon. */
  _closeDrained(): void {
    this._connLost++;
    this._loop._removeWriter(this._sockFd);
    this._loop.callSoon(() => this._callConnectionLost(null));
  }

  /** Closes at once, dropping buffered data. */
  abort(): void {
    this._forceClose(null);
  }

  /** @internal Reports `exc` (an OSError only in debug mode) and closes now. */
  _fatalError(exc: unknown, message = 'Fatal error on transport'): void {
    // Should be called from exception handler only.
    if (exc instanceof OSError) {
      if (this._loop.getDebug()) this._loop.logger.warn(`${message}:`, exc);
    } else {
      this._loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this._protocol });
    }
    this._forceClose(exc as Error);
    // After: a listener that throws must not leave the transport open.
    if (this.listenerCount('error') > 0) this.emit('error', exc);
  }

  /** @internal Closes now, dropping buffered data. */
  _forceClose(exc: Error | null): void {
    if (this._connLost) return;
    this._loop._writeBatch.cancel(this);
    this._batch.pending = false;
    this._batch.data = null;
    if (this._bufferSize > 0) {
      this._buffer = [];
      this._bufferSize = 0;
      this._loop._removeWriter(this._sockFd);
    }
    if (!this._closing) {
      this._closing = true;
      this._loop._removeReader(this._sockFd);
    }
    this._connLost++;
    this._loop.callSoon(() => this._callConnectionLost(exc));
  }

  /**
   * @internal Calls connectionLost(exc) and closes the socket (asyncio's
   * `_call_connection_lost`).
   */
  _callConnectionLost(exc: Error | null): void {
    try {
      if (this._protocolConnected) this._protocol.connectionLost?.(exc);
    } finally {
      this._sock?.close();
      this._sock = null;
      const server = this._server;
      this._server = null;
      server?._detach();
      this.emit('close', exc !== null);
    }
  }

  override toString(): string {
    return `<SelectorSocketTransport fd=${this._sockFd}${this._closing ? ' closing' : ''}>`;
  }
}
