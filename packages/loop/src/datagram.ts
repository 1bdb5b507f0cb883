/**
 * Datagram transports: CPython 3.11 Lib/asyncio/selector_events.py
 * `_SelectorDatagramTransport` with what it takes from `_SelectorTransport`
 * (closing, fatal errors, connectionLost, pause/resume reading) and
 * transports.py's flow control (`_FlowControlMixin`). Where asyncio reads
 * one datagram per wake-up, this reads up to 32 in one recvmmsg() and
 * delivers them in order; a sendto() that would block is queued, with its
 * address, and sent when the socket is writable.
 *
 * Beyond asyncio, the transport is an eventemitter3 emitter with Node
 * dgram's names: 'message' (data, addr), 'error' (Error), 'drain', 'close'
 * (hadError: boolean).
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'eventemitter3';
import { pyTypeName, socket as socketModule, type Socket, type socket } from '@iomux/core-native';
import { OSError, ValueError } from '@iomux/core-native/error-classes';
import { RecvArea, copyOut } from './buffers.js';
import { isRetryError } from './internal/retry.js';
import type { DatagramProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { FlowControlledTransport } from './selector-transport.js';

/** An address as a datagram socket takes and gives it: a tuple as an array, a path, or null. */
export type DatagramAddress = unknown;

/** asyncio: max bytes read per recvfrom(). */
export const MAX_SIZE = 256 * 1024;
/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

/** Datagrams per wake-up: one recvmmsg fills up to this many MAX_SIZE slots. */
const READ_BATCH = 32;
/** The batch area (READ_BATCH slots), per thread; pages the kernel never writes stay unbacked. */
let batchArea: RecvArea | null = null;

const recvmmsg = socketModule.recvmmsg;

/** asyncio's `DatagramTransport` (with BaseTransport and flow control). */
export interface DatagramTransport extends FlowControlledTransport<DatagramProtocol> {
  /**
   * Sends `data` to `addr` (null: the remote address the endpoint was
   * made with), without blocking; queued if the socket would block.
   * @throws {TypeError} if data is not bytes-like
   * @throws {ValueError} if the endpoint is connected and `addr` is another address
   */
  sendto(data: ArrayBufferView, addr?: DatagramAddress): void;
}

function asBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`data argument must be a bytes-like object, not '${pyTypeName(data)}'`);
}

/** Python's `addr not in (None, self._address)`, on tuples as arrays. */
function sameAddress(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameAddress(x, b[i]));
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

/** Python's repr of an address, for ValueError's message. */
function addrRepr(a: unknown): string {
  if (Array.isArray(a)) return `(${a.map(addrRepr).join(', ')}${a.length === 1 ? ',' : ''})`;
  return typeof a === 'string' ? `'${a}'` : String(a);
}

/** asyncio's `_SelectorDatagramTransport`. */
export class SelectorDatagramTransport extends EventEmitter implements DatagramTransport {
  /** @internal The loop. */
  readonly _loop: SelectorEventLoop;
  /** @internal The socket; null once closed. */
  _sock: Socket | null;
  /** @internal Its descriptor. */
  readonly _sockFd: number;
  /** @internal The protocol. */
  _protocol: DatagramProtocol;
  /** @internal The remote address of a connected endpoint, else null. */
  readonly _address: DatagramAddress | null;
  /** @internal Non-zero once the transport was lost: sends are then dropped. */
  _connLost = 0;
  /** @internal close() or abort() was called. */
  _closing = false;
  /** @internal Reading is paused. */
  _paused = false;
  #protocolPaused = false;
  #highWater = 64 * 1024;
  #lowWater = 16 * 1024;
  /** Queued [data, addr]; #head is the next to send. */
  #queue: Array<[Buffer, DatagramAddress]> = [];
  #head = 0;
  #bufferSize = 0;
  /** Datagrams received in a batch, not yet delivered (reading paused meanwhile). */
  #pending: Array<[Buffer, DatagramAddress]> = [];
  readonly #extra: Record<string, unknown>;
  readonly #readReady = (): void => this._readReady();
  readonly #sendtoReady = (): void => this._sendtoReady();

  constructor(loop: SelectorEventLoop, sock: Socket, protocol: DatagramProtocol, address: DatagramAddress | null = null, extra: Record<string, unknown> = {}) {
    super();
    this._loop = loop;
    this._sock = sock;
    this._sockFd = sock.fileno();
    this._protocol = protocol;
    this._address = address ?? null;
    this.#extra = { socket: sock, ...extra };
    if (this.#extra.sockname === undefined) {
      try {
        this.#extra.sockname = sock.getsockname();
      } catch {
        this.#extra.sockname = null;
      }
    }
    if (this.#extra.peername === undefined) {
      try {
        this.#extra.peername = sock.getpeername();
      } catch {
        this.#extra.peername = null;
      }
    }
    loop.callSoon(() => this._protocol.connectionMade?.(this));
    // only start reading when connection_made() has been called
    loop.callSoon(() => {
      if (!this._closing && !this._paused) loop._addReader(this._sockFd, this.#readReady, []);
    });
  }

  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return typeof name === 'string' && name in this.#extra ? this.#extra[name] : defaultValue;
  }

  setProtocol(protocol: DatagramProtocol): void {
    this._protocol = protocol;
  }

  getProtocol(): DatagramProtocol {
    return this._protocol;
  }

  isClosing(): boolean {
    return this._closing;
  }

  isReading(): boolean {
    return !this._closing && !this._paused;
  }

  pauseReading(): void {
    if (!this.isReading()) return;
    this._paused = true;
    this._loop._removeReader(this._sockFd);
  }

  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this._loop._addReader(this._sockFd, this.#readReady, []);
    // Datagrams read before the pause come first, even if no more arrive.
    if (this.#pending.length !== 0) this._loop.callSoon(this.#readReady);
  }

  // ---------------------------------------------------------------- read

  /**
   * @internal The socket is readable: up to READ_BATCH datagrams in one
   * recvmmsg, each to the protocol in order. Those a pauseReading() or an
   * exception leaves undelivered wait in #pending; close drops them.
   */
  _readReady(): void {
    if (this._connLost || this._closing || this._sock === null) return;
    if (this.#pending.length !== 0 && !this.#deliverPending()) return;
    if (this._paused) return;
    const area = (batchArea ??= new RecvArea(READ_BATCH * MAX_SIZE));
    let batch: socket.RecvBatch;
    try {
      batch = recvmmsg(this._sock, area.u8, MAX_SIZE, READ_BATCH);
    } catch (exc) {
      this.#readFailed(exc);
      return;
    }
    // Copied out first: a callback may re-enter the loop and reuse the area.
    for (let i = 0; i < batch.count; i++) {
      this.#pending.push([copyOut(area.ab, area.base + i * MAX_SIZE, batch.nbytes[i]!), batch.addresses[i]]);
    }
    this.#deliverPending();
  }

  /** Delivers #pending in order while reading; true once it is empty. */
  #deliverPending(): boolean {
    const pending = this.#pending;
    let i = 0;
    try {
      while (i < pending.length && !this._paused && !this._closing && this._sock !== null) {
        const [data, addr] = pending[i++]!;
        this.#deliver(data, addr);
      }
    } finally {
      if (this._closing || this._sock === null) {
        this.#pending = [];
      } else if (i !== 0) {
        this.#pending = i === pending.length ? [] : pending.slice(i);
        // A callback threw: the rest follows on the next iteration.
        if (this.#pending.length !== 0 && !this._paused) this._loop.callSoon(this.#readReady);
      }
    }
    return this.#pending.length === 0;
  }

  #readFailed(exc: unknown): void {
    if (isRetryError(exc)) return;
    if (exc instanceof OSError) this.#errorReceived(exc);
    else this._fatalError(exc, 'Fatal read error on datagram transport');
  }

  #deliver(data: Buffer, addr: DatagramAddress): void {
    this._protocol.datagramReceived?.(data, addr);
    if (this.listenerCount('message') !== 0) this.emit('message', data, addr);
  }

  #errorReceived(exc: OSError): void {
    this._protocol.errorReceived?.(exc);
    if (this.listenerCount('error') !== 0) this.emit('error', exc);
  }

  // --------------------------------------------------------------- write

  sendto(data: ArrayBufferView, addr: DatagramAddress = null): void {
    const buf = asBuffer(data);
    if (buf.length === 0) return;
    if (this._address !== null) {
      if (addr !== null && addr !== undefined && !sameAddress(addr, this._address)) {
        throw new ValueError(`Invalid address: must be None or ${addrRepr(this._address)}`);
      }
      addr = this._address;
    }
    // Differs from CPython: an unconnected transport drops it too (asyncio
    // calls sendto on the closed socket, None by then, and fails).
    if (this._connLost) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) this._loop.logger.warn('socket.send() raised exception.');
      this._connLost++;
      return;
    }
    if (this.#bufferSize === 0) {
      // Attempt to send it right away first.
      try {
        this.#sendOne(buf, addr);
        return;
      } catch (exc) {
        if (isRetryError(exc)) {
          this._loop._addWriter(this._sockFd, this.#sendtoReady, []);
        } else if (exc instanceof OSError) {
          this.#errorReceived(exc);
          return;
        } else {
          this._fatalError(exc, 'Fatal write error on datagram transport');
          return;
        }
      }
    }
    // Ensure that what we buffer is immutable.
    this.#queue.push([Buffer.from(buf), addr]);
    this.#bufferSize += buf.length;
    this.#maybePauseProtocol();
  }

  #sendOne(data: Buffer, addr: DatagramAddress): void {
    const sock = this._sock!;
    if (this.#extra.peername) sock.send(data);
    else sock.sendto(data, addr as socket.Address);
  }

  /** @internal The socket is writable: send the queue, in order. */
  _sendtoReady(): void {
    while (this.#head < this.#queue.length) {
      const [data, addr] = this.#queue[this.#head]!;
      try {
        this.#sendOne(data, addr);
      } catch (exc) {
        if (isRetryError(exc)) break; // Try again later.
        this.#dequeue();
        if (exc instanceof OSError) this.#errorReceived(exc);
        else this._fatalError(exc, 'Fatal write error on datagram transport');
        return;
      }
      this.#dequeue();
    }
    this.#maybeResumeProtocol(); // May append to buffer.
    if (this.#bufferSize === 0) {
      this._loop._removeWriter(this._sockFd);
      if (this._closing) this._callConnectionLost(null);
    }
  }

  #dequeue(): void {
    this.#bufferSize -= this.#queue[this.#head]![0].length;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
  }

  // --------------------------------------------------------- flow control

  getWriteBufferSize(): number {
    return this.#bufferSize;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#lowWater, this.#highWater];
  }

  setWriteBufferLimits(high: number | null = null, low: number | null = null): void {
    if (high === null || high === undefined) high = low === null || low === undefined ? 64 * 1024 : 4 * low;
    if (low === null || low === undefined) low = Math.floor(high / 4);
    if (typeof high !== 'number' || typeof low !== 'number') throw new TypeError(`high and low must be numbers, not '${pyTypeName(high)}' and '${pyTypeName(low)}'`);
    if (!(high >= low && low >= 0)) throw new ValueError(`high (${high}) must be >= low (${low}) must be >= 0`);
    this.#highWater = high;
    this.#lowWater = low;
    this.#maybePauseProtocol();
  }

  #maybePauseProtocol(): void {
    if (this.#bufferSize <= this.#highWater || this.#protocolPaused) return;
    this.#protocolPaused = true;
    try {
      this._protocol.pauseWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({ message: 'protocol.pause_writing() failed', exception: exc, transport: this, protocol: this._protocol });
    }
  }

  #maybeResumeProtocol(): void {
    if (!this.#protocolPaused || this.#bufferSize > this.#lowWater) return;
    this.#protocolPaused = false;
    try {
      this._protocol.resumeWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({ message: 'protocol.resume_writing() failed', exception: exc, transport: this, protocol: this._protocol });
    }
    this.emit('drain');
  }

  // --------------------------------------------------------------- close

  close(): void {
    if (this._closing) return;
    this._closing = true;
    this._loop._removeReader(this._sockFd);
    if (this.#bufferSize === 0) {
      this._connLost++;
      this._loop._removeWriter(this._sockFd);
      this._loop.callSoon(() => this._callConnectionLost(null));
    }
  }

  abort(): void {
    this._forceClose(null);
  }

  /** @internal Reports `exc` (an OSError only in debug mode) and closes now. */
  _fatalError(exc: unknown, message = 'Fatal error on transport'): void {
    if (exc instanceof OSError) {
      if (this._loop.getDebug()) this._loop.logger.warn(`${String(this)}: ${message}`, exc);
    } else {
      this._loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this._protocol });
    }
    this._forceClose(exc as Error);
  }

  /** @internal Closes now, dropping what is queued. */
  _forceClose(exc: Error | null): void {
    if (this._connLost) return;
    if (this.#bufferSize > 0) {
      this.#queue = [];
      this.#head = 0;
      this.#bufferSize = 0;
      this._loop._removeWriter(this._sockFd);
    }
    if (!this._closing) {
      this._closing = true;
      this._loop._removeReader(this._sockFd);
    }
    this._connLost++;
    this._loop.callSoon(() => this._callConnectionLost(exc));
  }

  /** @internal connectionLost(exc), then the socket is closed. */
  _callConnectionLost(exc: Error | null): void {
    if (this._sock === null) return;
    try {
      this._protocol.connectionLost?.(exc);
    } finally {
      this._sock.close();
      this._sock = null;
      this.emit('close', exc !== null);
    }
  }

  override toString(): string {
    const state = this._sock === null ? ' closed' : this._closing ? ' closing' : '';
    return `<_SelectorDatagramTransport${state} fd=${this._sockFd}>`;
  }
}
