/**
 * Socket transports on a selector loop: CPython 3.11
 * Lib/asyncio/selector_events.py `_SelectorSocketTransport` on
 * selector-transport.ts's `_SelectorTransport`, its reads in its base class
 * (socket-reads.ts) and its writes here: partial writes buffer and
 * wait for EVENT_WRITE, EAGAIN retries, EOF and half-close, peer reset,
 * EPIPE.
 *
 * As in uvloop, I/O is batched per loop iteration (internal/io-batch.ts):
 * the loop receives for the ready transports in one call per chunk of 64,
 * when the first reader of the chunk runs (each keeps its bytes in its
 * BatchState until its own reader runs), and a write() made while the loop
 * runs callbacks is copied into the loop's write batch, sent in one call
 * before the loop next looks at I/O. A write outside the loop's callbacks,
 * one over 64 KiB or past the high-water mark, goes out at once as in
 * asyncio. Every read, batched or not, reaches the protocol through
 * _deliver.
 *
 * Beyond asyncio, a transport is also an eventemitter3 emitter with Node's
 * names: 'data' (Buffer), 'end', 'drain', 'error' (Error), 'close'
 * (hadError: boolean).
 */
import { Buffer } from 'node:buffer';
import { batch, fromErrno, fromNative, socket as S } from '@iomux/core-native';
import { RuntimeError } from '@iomux/core-native/error-classes';
import * as retry from './internal/retry.js';
import { SocketReads } from './socket-reads.js';

export type { Transport } from './selector-transport.js';

export { MAX_SIZE } from './socket-reads.js';
/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
/** Bytes joined into one send() when the buffer holds many small writes. */
const MAX_JOIN = 256 * 1024;

// The hot path uses core-native's one-socket I/O (the Socket methods re-check
// their arguments and handle timeouts a non-blocking transport never has).
const { sendOne } = batch;
// Constants, not loads from an exports object (see selector-io.ts).
const { isRetryErrno, isRetryError } = retry;

/** Bytes a write may have to join the loop's batch (more go out alone). */
const SEND_BATCH_MAX = 64 * 1024;
/** _sent's verdicts, for _sentNotify. */
const SENT_DONE = 1;
const SENT_SHORT = 2;
const SENT_ERROR = 3;

function asBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const t = data === null ? 'NoneType' : typeof data === 'string' ? 'str' : typeof data;
  throw new TypeError(`data argument must be a bytes-like object, not '${t}'`);
}

/**
 * asyncio's `_SelectorSocketTransport`: a stream socket's reads (every one
 * through _deliver) and writes (through the loop's write batch, or at once).
 */
export class SelectorSocketTransport extends SocketReads {
  /** What _sentNotify has to do after the batch: see _sent. */
  #sentAction = 0;
  #sentError = 0;
  readonly #writeReady = (): void => this._writeReady();

  // --------------------------------------------------------------- write

  /** Queues `data` to send, without blocking; the protocol's pauseWriting() says when to stop. */
  write(data: ArrayBufferView): void {
    // A Uint8Array (every Buffer is one) goes into the batch as it is:
    // `instanceof Uint8Array` compiles to a prototype-chain walk, where
    // Buffer.isBuffer() is two property loads on Buffer, which has so many
    // properties that V8 keeps them in a dictionary (a call into a generic
    // load each).
    if (!(data instanceof Uint8Array)) {
      this.#writeOther(data);
      return;
    }
    if (this._eof) throw new RuntimeError('Cannot call write() after write_eof()');
    if (this._sendfileActive) throw new RuntimeError('unable to write; sendfile is in progress');
    const n = data.length;
    if (n === 0) return;
    if (this._bufferSize === 0 && this._connLost === 0) {
      // While the loop runs callbacks, a write joins its batch, sent before
      // the loop next looks at I/O (with the other transports' writes, in
      // one call into the addon).
      // Not past the high-water mark: as without a batch, only what the
      // kernel refuses makes the protocol pause.
      const loop = this._loop;
      const batch = this._batch;
      if (loop._batchOpen && n <= SEND_BATCH_MAX && batch.sendLen + n <= this._highWater) {
        if (loop._writeBatch.queue(this, data)) return;
        // The batch is full, or this transport's entry is not its last: the
        // batch goes now and this write starts the next one (unless what
        // the protocols did meanwhile changed this transport's state).
        loop._flushWrites();
        if (this._bufferSize === 0 && this._connLost === 0 && loop._batchOpen && loop._writeBatch.queue(this, data)) return;
      } else if (batch.sendIdx >= 0) {
        // It goes alone, after what this transport queued.
        loop._flushWrites();
      } else if (!loop._batchOpen) {
        loop._lateWrite();
      }
    }
    this.#write(asBuffer(data));
  }

  /**
   * write() of a view that is not a Uint8Array (or of no view: TypeError),
   * as a Uint8Array of the same bytes, which write() takes the usual way.
   */
  #writeOther(data: unknown): void {
    const buf = asBuffer(data);
    this.write(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
  }

  /**
   * @internal After the loop's batch went out: this transport's entry, sent
   * `result` bytes of slab[off, off + len) (or -errno). Buffers the rest of
   * a short send (no user code runs here); true when _sentNotify has
   * something to tell the protocol.
   */
  _sent(result: number, slab: Uint8Array, off: number, len: number): boolean {
    if (result === len) {
      if (!this._closing && !this._eof && !this._protocolPaused) return false;
      this.#sentAction = SENT_DONE;
      return true;
    }
    if (result < 0 && !isRetryErrno(-result)) {
      this.#sentAction = SENT_ERROR;
      this.#sentError = -result;
      return true;
    }
    const sent = result < 0 ? 0 : result;
    // A copy: the slab is the next batch's.
    this._buffer.push(Buffer.from(slab.subarray(off + sent, off + len)));
    this._bufferSize += len - sent;
    this._loop._addWriter(this._sockFd, this.#writeReady, []);
    this.#sentAction = SENT_SHORT;
    return true;
  }

  /** @internal The protocol's side of _sent. */
  _sentNotify(): void {
    const action = this.#sentAction;
    this.#sentAction = 0;
    if (this._connLost) return;
    if (action === SENT_SHORT) {
      this._maybePauseProtocol();
    } else if (action === SENT_ERROR) {
      this._fatalError(fromErrno(this.#sentError, undefined, { syscall: 'send' }), 'Fatal write error on socket transport');
    } else if (this._bufferSize === 0) {
      this._maybeResumeProtocol();
      if (this._closing) {
        this._closeDrained();
      } else if (this._eof) {
        this.#shutdownWrite();
      }
    }
  }

  #write(buf: Buffer): void {
    if (this._connLost) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) this._loop.logger.warn('socket.send() raised exception.');
      this._connLost++;
      return;
    }
    let rest = buf;
    if (this._bufferSize === 0) {
      // Optimization: try to send now.
      let n = 0;
      try {
        n = sendOne(this._sockFd, buf);
      } catch (exc) {
        if (!isRetryError(exc)) {
          this._fatalError(fromNative(exc), 'Fatal write error on socket transport');
          return;
        }
      }
      if (n === buf.length) return;
      rest = buf.subarray(n);
      // Not all was written; register write handler.
      this._loop._addWriter(this._sockFd, this.#writeReady, []);
    }
    // Keep a copy: the caller may reuse its buffer after write() returns.
    this._buffer.push(Buffer.from(rest));
    this._bufferSize += rest.length;
    this._maybePauseProtocol();
  }

  /** Writes each buffer in turn, as write() does. */
  writelines(list: Iterable<ArrayBufferView>): void {
    const parts: Buffer[] = [];
    for (const d of list) parts.push(asBuffer(d));
    this.write(Buffer.concat(parts));
  }

  /** @internal The socket is writable: send what is buffered. */
  _writeReady(): void {
    if (this._connLost) return;
    const head = this._buffer.length === 1 ? this._buffer[0]! : this.#joinHead();
    let n = 0;
    try {
      n = sendOne(this._sockFd, head);
    } catch (exc) {
      if (isRetryError(exc)) return;
      this._loop._removeWriter(this._sockFd);
      this._buffer = [];
      this._bufferSize = 0;
      this._fatalError(fromNative(exc), 'Fatal write error on socket transport');
      return;
    }
    if (n > 0) this.#consume(n);
    this._maybeResumeProtocol(); // May append to buffer.
    if (this._bufferSize === 0) {
      this._loop._removeWriter(this._sockFd);
      if (this._closing) {
        // Counted, so that a write() after this never sends on the
        // descriptor number, which the close below frees for reuse.
        this._connLost++;
        this._callConnectionLost(null);
      } else if (this._eof) {
        this.#shutdownWrite();
      }
    }
  }

  /** Joins the first buffers (up to MAX_JOIN bytes) into one. */
  #joinHead(): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    for (const b of this._buffer) {
      if (size > 0 && size + b.length > MAX_JOIN) break;
      parts.push(b);
      size += b.length;
    }
    if (parts.length === 1) return parts[0]!;
    const joined = Buffer.concat(parts, size);
    this._buffer.splice(0, parts.length, joined);
    return joined;
  }

  #consume(n: number): void {
    this._bufferSize -= n;
    const buf = this._buffer;
    while (n > 0) {
      const b = buf[0]!;
      if (n >= b.length) {
        buf.shift();
        n -= b.length;
      } else {
        buf[0] = b.subarray(n);
        n = 0;
      }
    }
  }

  #shutdownWrite(): void {
    try {
      this._sock!.shutdown(S.SHUT_WR);
    } catch (exc) {
      this._fatalError(exc, 'Fatal error on shutdown');
    }
  }

  /** Shuts down the write side once the buffered data is sent. */
  writeEof(): void {
    if (this._closing || this._eof) return;
    this._eof = true;
    // With a write in the loop's batch, _sentNotify shuts down after it.
    if (this._bufferSize === 0 && this._batch.sendIdx < 0) this.#shutdownWrite();
  }

  /** Whether writeEof() is supported (true for TCP). */
  canWriteEof(): boolean {
    return true;
  }
}
