/**
 * Pipe transports: CPython 3.11 Lib/asyncio/unix_events.py
 * `_UnixReadPipeTransport` and `_UnixWritePipeTransport`, and
 * base_events.py's `connect_read_pipe`/`connect_write_pipe`, for any
 * descriptor-backed pipe, FIFO, socket or character device (a tty, a pty,
 * /dev/null). The descriptor is made non-blocking, as asyncio makes it.
 *
 * Beyond asyncio, the pipe may be a descriptor number (asyncio takes a file
 * object); the transport owns it either way: connectionLost closes it (a
 * number with os.close, an object with its own close()). Both transports
 * are eventemitter3 emitters with Node's names, as the socket transports:
 * 'data', 'end', 'drain', 'error', 'close'.
 */
import { Buffer } from 'node:buffer';
import { errnoConstants as E, os, pyTypeName } from '@iomux/core-native';
import { BrokenPipeError, OSError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { asFileDescriptor } from '@iomux/select';
import { RecvArea, copyOut } from './buffers.js';
import { isRetryError } from './internal/retry.js';
import { PipeTransport, asBuffer, fileKind, type PipeLike } from './pipe-transports.js';
import type { BaseProtocol, Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';

export { connectPipe, type PipeLike } from './pipe-transports.js';

/** asyncio: max bytes read in one event loop iteration. */
const MAX_SIZE = 256 * 1024;
/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
/** Bytes joined into one write() when the buffer holds many small writes. */
const MAX_JOIN = 256 * 1024;

let readArea: RecvArea | null = null;

/**
 * asyncio's `_UnixReadPipeTransport`: reads a pipe, FIFO, socket or
 * character device, handing each read to the protocol's dataReceived();
 * at end of file eofReceived() then connectionLost(null).
 */
export class UnixReadPipeTransport extends PipeTransport {
  /** @internal pauseReading() was called. */
  _paused = false;
  readonly #readReady = (): void => this._readReady();
  /** A polled descriptor's reads: one chain of them at a time. */
  #pollChain = false;
  readonly #pollRead = (): boolean => {
    this.#pollChain = this.isReading();
    if (this.#pollChain) this._readReady();
    return (this.#pollChain = this.isReading());
  };

  #startReading(): void {
    if (!this.#pollChain) this._watch(false, this.#readReady, this.#pollRead);
  }

  /**
   * @throws {ValueError} 'Pipe transport is for pipes/sockets only.' for a
   *   regular file or directory; OSError (EBADF) for a descriptor not open
   */
  constructor(loop: SelectorEventLoop, pipe: PipeLike, protocol: Protocol, extra: Record<string, unknown> = {}) {
    const fd = asFileDescriptor(pipe);
    const kind = fileKind(fd);
    if (!(kind.fifo || kind.sock || kind.chr)) throw new ValueError('Pipe transport is for pipes/sockets only.');
    super(loop, pipe, fd, protocol, extra);
    os.setBlocking(fd, false);
    loop.callSoon(() => this._protocol.connectionMade?.(this as never));
    // only start reading when connection_made() has been called
    loop.callSoon(() => {
      if (this.isReading()) this.#startReading();
    });
  }

  /** True unless reading is paused or the transport is closing. */
  isReading(): boolean {
    return !this._paused && !this._closing;
  }

  /** @internal The pipe is readable. */
  _readReady(): void {
    if (this._pipe === null) return;
    const area = (readArea ??= new RecvArea(MAX_SIZE));
    let n: number;
    try {
      n = os.readinto(this._fileno, area.u8);
    } catch (exc) {
      if (isRetryError(exc)) return;
      // EIO is what a pty's master reads once the other side is gone.
      const quiet = exc instanceof OSError && exc.errno === E.EIO;
      this._fatalError(exc, 'Fatal read error on pipe transport', quiet);
      return;
    }
    if (n > 0) {
      const data = copyOut(area.ab, area.base, n);
      (this._protocol as Protocol).dataReceived?.(data);
      if (this.listenerCount('data') !== 0) this.emit('data', data);
      return;
    }
    this._closing = true;
    this._loop._removeReader(this._fileno);
    this._loop.callSoon(() => {
      (this._protocol as Protocol).eofReceived?.();
      this.emit('end');
    });
    this._queueConnectionLost(null);
  }

  /** Stops calling dataReceived() until resumeReading(). */
  pauseReading(): void {
    if (!this.isReading()) return;
    this._paused = true;
    this._loop._removeReader(this._fileno);
  }

  /** Resumes dataReceived() after pauseReading(). */
  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this.#startReading();
  }

  /** Stops reading; connectionLost(null) follows, and the pipe is closed. */
  close(): void {
    if (!this._closing) this._close(null);
  }

  /** @internal */
  _close(exc: Error | null): void {
    // Closed already: its number may be another descriptor's by now.
    if (this._pipe === null) return;
    this._closing = true;
    this._loop._removeReader(this._fileno);
    this._queueConnectionLost(exc);
  }
}

/**
 * asyncio's `_UnixWritePipeTransport` with transports.py's flow control:
 * writes a pipe, FIFO, socket or character device, buffering what the
 * kernel does not take. On a FIFO or socket a reader on the write end sees
 * the other end close (POLLHUP/POLLERR), as asyncio arranges.
 */
export class UnixWritePipeTransport extends PipeTransport {
  /** @internal Data not yet written. */
  _buffer: Buffer[] = [];
  /** @internal Bytes in _buffer. */
  _bufferSize = 0;
  /** @internal Non-zero once a write failed or the pipe closed: writes are dropped. */
  _connLost = 0;
  /** @internal The protocol was told to pause writing. */
  _protocolPaused = false;
  #highWater = 64 * 1024;
  #lowWater = 16 * 1024;
  readonly #writeReady = (): void => this._writeReady();
  readonly #pollWrite = (): boolean => {
    this._writeReady();
    return this._bufferSize > 0;
  };

  /**
   * @throws {ValueError} 'Pipe transport is only for pipes, sockets and
   *   character devices' for a regular file or directory; OSError (EBADF)
   *   for a descriptor not open
   */
  constructor(loop: SelectorEventLoop, pipe: PipeLike, protocol: BaseProtocol, extra: Record<string, unknown> = {}) {
    const fd = asFileDescriptor(pipe);
    const kind = fileKind(fd);
    if (!(kind.fifo || kind.sock || kind.chr)) throw new ValueError('Pipe transport is only for pipes, sockets and character devices');
    super(loop, pipe, fd, protocol, extra);
    os.setBlocking(fd, false);
    loop.callSoon(() => this._protocol.connectionMade?.(this as never));
    // The reader trick: the write end turns readable when the read end closes.
    if (kind.sock || kind.fifo) {
      loop.callSoon(() => {
        if (this._pipe !== null && !this._closing) loop._addReader(fd, () => this._readReady(), []);
      });
    }
  }

  /** Bytes buffered, not yet written. */
  getWriteBufferSize(): number {
    return this._bufferSize;
  }

  /** The flow-control water marks `[low, high]`, in bytes. */
  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#lowWater, this.#highWater];
  }

  /**
   * Sets the water marks in bytes: pauseWriting() above `high` (64 KiB),
   * resumeWriting() at or below `low` (a quarter of `high`).
   * @throws {ValueError} if `high` < `low` or either is negative
   */
  setWriteBufferLimits(high: number | null = null, low: number | null = null): void {
    if (high === null) high = low === null ? 64 * 1024 : 4 * low;
    if (low === null) low = Math.floor(high / 4);
    if (typeof high !== 'number' || typeof low !== 'number') throw new TypeError(`high and low must be numbers, not '${pyTypeName(high)}' and '${pyTypeName(low)}'`);
    if (!(high >= low && low >= 0)) throw new ValueError(`high (${high}) must be >= low (${low}) must be >= 0`);
    this.#highWater = high;
    this.#lowWater = low;
    this.#maybePauseProtocol();
  }

  #maybePauseProtocol(): void {
    if (this._bufferSize <= this.#highWater || this._protocolPaused) return;
    this._protocolPaused = true;
    try {
      this._protocol.pauseWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({ message: 'protocol.pause_writing() failed', exception: exc, transport: this, protocol: this._protocol });
    }
  }

  #maybeResumeProtocol(): void {
    if (!this._protocolPaused || this._bufferSize > this.#lowWater) return;
    this._protocolPaused = false;
    try {
      this._protocol.resumeWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({ message: 'protocol.resume_writing() failed', exception: exc, transport: this, protocol: this._protocol });
    }
    this.emit('drain');
  }

  /** @internal The pipe was closed by its reader. */
  _readReady(): void {
    if (this._pipe === null) return;
    this._close(this._bufferSize > 0 ? new BrokenPipeError() : null);
  }

  /** Queues `data` to write, without blocking; the protocol's pauseWriting() says when to stop. */
  write(data: ArrayBufferView): void {
    let buf = asBuffer(data);
    if (buf.length === 0) return;
    if (this._connLost || this._closing) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) this._loop.logger.warn('pipe closed by peer or os.write(pipe, data) raised exception.');
      this._connLost++;
      return;
    }
    if (this._bufferSize === 0) {
      // Attempt to send it right away first.
      let n = 0;
      try {
        n = os.write(this._fileno, buf);
      } catch (exc) {
        if (!isRetryError(exc)) {
          this._connLost++;
          this._fatalError(exc, 'Fatal write error on pipe transport', exc instanceof OSError);
          return;
        }
      }
      if (n === buf.length) return;
      buf = buf.subarray(n);
      this._watch(true, this.#writeReady, this.#pollWrite);
    }
    // A copy: the caller may reuse its buffer once write() returns.
    this._buffer.push(Buffer.from(buf));
    this._bufferSize += buf.length;
    this.#maybePauseProtocol();
  }

  /** Writes each buffer in turn, as write() does. */
  writelines(list: Iterable<ArrayBufferView>): void {
    const parts: Buffer[] = [];
    for (const d of list) parts.push(asBuffer(d));
    this.write(Buffer.concat(parts));
  }

  /** @internal The pipe is writable: write what is buffered. */
  _writeReady(): void {
    if (this._bufferSize === 0) return;
    const head = this.#joinHead();
    let n = 0;
    try {
      n = os.write(this._fileno, head);
    } catch (exc) {
      if (isRetryError(exc)) return;
      this._buffer = [];
      this._bufferSize = 0;
      this._connLost++;
      // Removed here: _close() leaves the writer to an empty buffer.
      this._loop._removeWriter(this._fileno);
      this._fatalError(exc, 'Fatal write error on pipe transport', exc instanceof OSError);
      return;
    }
    this.#consume(n);
    if (this._bufferSize === 0) {
      this._loop._removeWriter(this._fileno);
      this.#maybeResumeProtocol(); // May append to buffer.
      if (this._closing && this._bufferSize === 0) {
        this._loop._removeReader(this._fileno);
        this._callConnectionLost(null);
      }
      return;
    }
    this.#maybeResumeProtocol();
  }

  #joinHead(): Buffer {
    if (this._buffer.length === 1) return this._buffer[0]!;
    let size = 0;
    let k = 0;
    for (const b of this._buffer) {
      if (size > 0 && size + b.length > MAX_JOIN) break;
      size += b.length;
      k++;
    }
    const joined = Buffer.concat(this._buffer.slice(0, k), size);
    this._buffer.splice(0, k, joined);
    return joined;
  }

  #consume(n: number): void {
    this._bufferSize -= n;
    while (n > 0) {
      const b = this._buffer[0]!;
      if (n >= b.length) {
        this._buffer.shift();
        n -= b.length;
      } else {
        this._buffer[0] = b.subarray(n);
        n = 0;
      }
    }
  }

  /** Always true: writeEof() closes the pipe once the buffer is written. */
  canWriteEof(): boolean {
    return true;
  }

  /** Closes the pipe once the buffered data is written; connectionLost(null) follows. */
  writeEof(): void {
    if (this._closing) return;
    if (this._pipe === null) throw new RuntimeError('write_eof() on a closed pipe transport');
    this._closing = true;
    if (this._bufferSize === 0) {
      this._loop._removeReader(this._fileno);
      this._queueConnectionLost(null);
    }
  }

  /** writeEof(): all a write pipe needs to close. */
  close(): void {
    if (this._pipe !== null && !this._closing) this.writeEof();
  }

  /** Closes now, dropping buffered data; connectionLost(null) follows. */
  abort(): void {
    this._close(null);
  }

  /** @internal */
  _close(exc: Error | null = null): void {
    // Closed already: its number may be another descriptor's by now.
    if (this._pipe === null) return;
    this._closing = true;
    if (this._bufferSize > 0) this._loop._removeWriter(this._fileno);
    this._buffer = [];
    this._bufferSize = 0;
    this._loop._removeReader(this._fileno);
    this._queueConnectionLost(exc);
  }
}
