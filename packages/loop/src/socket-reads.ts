/**
 * The read half of transports.ts's SelectorSocketTransport, as its base
 * class: CPython 3.11 Lib/asyncio/selector_events.py
 * `_SelectorSocketTransport._read_ready__*` for Protocol and
 * BufferedProtocol. A read comes from the loop's read batch (received for
 * every ready transport in one call, internal/io-batch.ts) or from this
 * transport's own recv, and every one reaches the protocol through
 * _deliver.
 */
import { Buffer } from 'node:buffer';
import { batch, fromErrno } from '@iomux/core-native';
import { RuntimeError } from '@iomux/core-native/error-classes';
import * as buffers from './buffers.js';
import * as retry from './internal/retry.js';
import type { BufferedProtocol, Protocol } from './protocols.js';
import { SelectorTransport } from './selector-transport.js';

/** asyncio: max bytes read per recv(). */
export const MAX_SIZE = 256 * 1024;

// The hot path uses core-native's one-socket I/O (see transports.ts).
const { recvOne } = batch;
// Constants, not loads from an exports object (see selector-io.ts).
const { RecvArea, copyOut } = buffers;
const { isRetryErrno } = retry;
type RecvArea = buffers.RecvArea;

/**
 * One receive buffer per thread, as uvloop has: recv() goes into it and the
 * bytes received are copied out into a right-sized Buffer (see copyOut),
 * instead of allocating MAX_SIZE bytes per read.
 */
let recvArea: RecvArea | null = null;

/**
 * @internal SelectorSocketTransport's base: its reads (see the module
 * comment). Not exported from the package.
 */
export abstract class SocketReads extends SelectorTransport {
  /** @internal The socket is readable: receive, and deliver what came. */
  _readReady(): void {
    if (this._connLost) return;
    const b = this._batch;
    // The first reader of a chunk of the look's ready transports receives for it.
    if (b.queued) this._loop._readBatch.receive();
    if (b.pending) {
      const data = b.data;
      b.pending = false;
      b.data = null;
      this._deliver(b.got, data, null);
      return;
    }
    if (this._buffered) {
      const buf = this.#getBuffer(this._protocol as BufferedProtocol, -1);
      if (buf !== null) this._deliver(this.#recv(buf), null, buf);
      return;
    }
    const area = (recvArea ??= new RecvArea(MAX_SIZE));
    const n = this.#recv(area.u8);
    this._deliver(n, n > 0 ? copyOut(area.ab, area.base, n) : null, null);
  }

  /**
   * @internal The one way a read reaches the protocol, in every mode: `n`
   * bytes (in `data`, or already in `into`, the buffer a BufferedProtocol
   * gave for this read), 0 at end of stream, or -errno.
   */
  _deliver(n: number, data: Buffer | null, into: ArrayBufferView | null): void {
    if (n < 0) {
      if (!isRetryErrno(-n)) this._fatalError(fromErrno(-n, undefined, { syscall: 'recv' }), 'Fatal read error on socket transport');
      return;
    }
    if (n === 0) {
      this._readReadyOnEof();
      return;
    }
    if (into !== null) {
      this.#bufferUpdated(n, into);
      return;
    }
    if (this._buffered) {
      // Received for a Protocol, which became a BufferedProtocol since.
      this.#feedBuffered(data!);
      return;
    }
    try {
      (this._protocol as Protocol).dataReceived?.(data!);
    } catch (exc) {
      this._fatalError(exc, 'Fatal error: protocol.data_received() call failed.');
      return;
    }
    if (this.listenerCount('data') !== 0) this.emit('data', data);
  }

  /**
   * protocol.getBuffer(sizeHint), checked as asyncio checks it; null (the
   * transport closed with the error) when it fails or is not a buffer.
   */
  #getBuffer(protocol: BufferedProtocol, sizeHint: number): ArrayBufferView | null {
    try {
      const buf = protocol.getBuffer(sizeHint);
      if (!ArrayBuffer.isView(buf)) {
        throw new TypeError(`get_buffer() must return a bytes-like object, not ${buf === null ? 'null' : typeof buf}`);
      }
      if (buf.byteLength === 0) throw new RuntimeError('get_buffer() returned an empty buffer');
      return buf;
    } catch (exc) {
      this._fatalError(exc, 'Fatal error: protocol.get_buffer() call failed.');
      return null;
    }
  }

  /** Hands `data` to a BufferedProtocol through its buffers. */
  #feedBuffered(data: Buffer): void {
    const protocol = this._protocol as BufferedProtocol;
    let pos = 0;
    while (pos < data.length) {
      const buf = this.#getBuffer(protocol, data.length - pos);
      if (buf === null) return;
      const n = Math.min(buf.byteLength, data.length - pos);
      new Uint8Array(buf.buffer, buf.byteOffset, n).set(data.subarray(pos, pos + n));
      try {
        protocol.bufferUpdated(n);
      } catch (exc) {
        this._fatalError(exc, 'Fatal error: protocol.buffer_updated() call failed.');
        return;
      }
      pos += n;
      if (this._connLost) return;
      if (this._paused) {
        // Paused in bufferUpdated: the rest waits for resumeReading().
        if (pos < data.length) {
          const b = this._batch;
          b.pending = true;
          b.got = data.length - pos;
          b.data = data.subarray(pos);
        }
        return;
      }
    }
    if (this.listenerCount('data') > 0) this.emit('data', data);
  }

  /** recv() into the whole of `buf`: the bytes received (0 at EOF), or -errno. */
  #recv(buf: ArrayBufferView): number {
    try {
      return recvOne(this._sockFd, buf);
    } catch (exc) {
      const errno = (exc as { errno?: unknown }).errno;
      if (typeof errno !== 'number') throw exc;
      return -errno;
    }
  }

  /** A BufferedProtocol's own recv() put `n` bytes into `buf`. */
  #bufferUpdated(n: number, buf: ArrayBufferView): void {
    // Node-style listeners get their own copy, taken before the protocol
    // may reuse its buffer.
    let copy: Buffer | null = null;
    if (this.listenerCount('data') !== 0) {
      copy = Buffer.from(new Uint8Array(buf.buffer, buf.byteOffset, n));
    }
    try {
      (this._protocol as BufferedProtocol).bufferUpdated(n);
    } catch (exc) {
      this._fatalError(exc, 'Fatal error: protocol.buffer_updated() call failed.');
      return;
    }
    if (copy !== null) this.emit('data', copy);
  }

  /** @internal End of stream: eofReceived(), then close unless it returned true. */
  _readReadyOnEof(): void {
    let keepOpen: unknown;
    try {
      keepOpen = this._protocol.eofReceived?.();
    } catch (exc) {
      this._fatalError(exc, 'Fatal error: protocol.eof_received() call failed.');
      return;
    }
    this.emit('end');
    if (keepOpen) {
      // We're keeping the connection open so the protocol can write more,
      // but we still can't receive more, so remove the reader callback.
      this._loop._removeReader(this._sockFd);
    } else {
      this.close();
    }
  }
}
