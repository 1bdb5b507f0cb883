/**
 * The sending half of datagram transports: CPython 3.11
 * Lib/asyncio/selector_events.py `_SelectorDatagramTransport.sendto` and
 * `_sendto_ready`, with transports.py's flow control (`_FlowControlMixin`);
 * datagram.ts builds the transport on it.
 *
 * Differs from CPython: as the stream transports batch their writes
 * (internal/io-batch.ts), a sendto() made while the loop runs callbacks is
 * copied into the transport's batch, and the loop sends each transport's
 * batch in one sendmmsg before it next looks at I/O (DatagramSends, from
 * _flushWrites). A datagram the kernel refuses is reported to
 * errorReceived and the rest still go; what would block waits for the
 * socket to be writable, as asyncio's queue does (README, "Differences
 * from Python"; bench/README.md, DGRAM-UNIX-ECHO).
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'eventemitter3';
import { pyTypeName, socket as socketModule, type Socket, type socket } from '@iomux/core-native';
import { OSError, ValueError } from '@iomux/core-native/error-classes';
import { isRetryError } from './internal/retry.js';
import type { DatagramProtocol } from './protocols.js';
import type { BaseEventLoop } from './base-events.js';
import type { SelectorEventLoop } from './selector-events.js';

/** An address as a datagram socket takes and gives it: a tuple as an array, a path, or null. */
export type DatagramAddress = unknown;

/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

const { sendmmsg, SENDMMSG_MAX, AF_INET, AF_INET6, AF_UNIX } = socketModule;

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

const isPort = (p: unknown): boolean => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 0xffff;

/**
 * Whether sendto(addr) on a socket of `family` can fail only with an
 * OSError (the kernel's, or gaierror for the host): then it may wait in
 * the batch. Anything else goes at once, where its TypeError or
 * OverflowError is fatal in the sendto() call, as in asyncio.
 */
function batchable(family: number, addr: unknown): boolean {
  if (family === AF_UNIX) return typeof addr === 'string' || Buffer.isBuffer(addr);
  if (!Array.isArray(addr) || typeof addr[0] !== 'string' || !isPort(addr[1])) return false;
  if (addr.length === 2) return family === AF_INET || family === AF_INET6;
  // recvmmsg's own IPv6 addresses: (host, port, 0, scope id).
  return family === AF_INET6 && addr.length === 4 && addr[2] === 0 && Number.isInteger(addr[3]) && addr[3] >= 0 && addr[3] <= 0xffffffff;
}

/**
 * The loop's datagram transports with a batch to send, each sent in one
 * sendmmsg by flush() (from the loop's _flushWrites).
 */
export class DatagramSends {
  #list: DatagramSender[] = [];

  /** Transports listed since the last flush. */
  get size(): number {
    return this.#list.length;
  }

  /** @internal Lists `t`, whose batch has its first datagram. */
  add(t: DatagramSender): void {
    this.#list.push(t);
  }

  /** Sends every listed transport's batch; a sendto() from the callbacks this runs goes at once. */
  flush(loop: BaseEventLoop): void {
    const list = this.#list;
    this.#list = [];
    const open = loop._batchOpen;
    loop._batchOpen = false;
    try {
      for (let i = 0; i < list.length; i++) {
        const t = list[i]!;
        try {
          t._flushSends();
        } catch (exc) {
          // Not the protocol's (its errors are reported in _flushSends): the next transports still send.
          loop.callExceptionHandler({ message: `Exception in callback ${String(t)} (its batched sendto)`, exception: exc, transport: t });
        }
      }
    } finally {
      loop._batchOpen = open;
    }
  }
}

/** asyncio's `_SelectorDatagramTransport`, its sending half (sendto, the queue, flow control). */
export abstract class DatagramSender extends EventEmitter {
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
  /** @internal The socket is connected (a peername): datagrams go without an address. */
  _connected = false;
  /** @internal Non-zero once the transport was lost: sends are then dropped. */
  _connLost = 0;
  /** @internal close() or abort() was called. */
  _closing = false;
  #protocolPaused = false;
  #highWater = 64 * 1024;
  #lowWater = 16 * 1024;
  /** Queued [data, addr] the socket could not take yet; #head is the next to send. */
  #queue: Array<[Buffer, DatagramAddress]> = [];
  #head = 0;
  #bufferSize = 0;
  /** This loop turn's datagrams (copies), for one sendmmsg: only while #queue is empty. */
  #batch: Array<[Buffer, DatagramAddress]> = [];
  #batchSize = 0;
  readonly #family: number;
  readonly #sendtoReady = (): void => this._sendtoReady();

  constructor(loop: SelectorEventLoop, sock: Socket, protocol: DatagramProtocol, address: DatagramAddress | null) {
    super();
    this._loop = loop;
    this._sock = sock;
    this._sockFd = sock.fileno();
    this._protocol = protocol;
    this._address = address ?? null;
    this.#family = sock.family;
  }

  /** @internal Reports `exc` and closes now, dropping what is queued. */
  abstract _fatalError(exc: unknown, message?: string): void;
  /** @internal connectionLost(exc), then the socket is closed. */
  abstract _callConnectionLost(exc: Error | null): void;

  /** @internal errorReceived(exc), and 'error' to its listeners. */
  _errorReceived(exc: OSError): void {
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
      // Closing with a batch: this one follows it (close() waits for the batch).
      if (this._loop._batchOpen && (this.#batchRoom(buf.length) || this._closing) && (this._connected || batchable(this.#family, addr))) {
        this.#batchPush(buf, addr);
        return;
      }
      // It goes after what this transport batched: those first.
      if (this.#batch.length !== 0) this._flushSends();
      if (this._connLost) return;
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
          this._errorReceived(exc);
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

  /** Whether the batch takes `n` more bytes: not past the high-water mark, nor SENDMMSG_MAX datagrams. */
  #batchRoom(n: number): boolean {
    return this.#batchSize + n <= this.#highWater && this.#batch.length < SENDMMSG_MAX;
  }

  #batchPush(buf: Buffer, addr: DatagramAddress): void {
    if (this.#batch.length === 0) this._loop._datagramSends.add(this);
    // A copy: the caller may reuse its buffer once sendto() returns.
    this.#batch.push([Buffer.from(buf), this._connected ? null : addr]);
    this.#batchSize += buf.length;
  }

  #sendOne(data: Buffer, addr: DatagramAddress): void {
    const sock = this._sock!;
    if (this._connected) sock.send(data);
    else sock.sendto(data, addr as socket.Address);
  }

  /**
   * @internal Sends the batch, in sendmmsg calls from the first datagram
   * not yet sent: one the kernel refused is reported after the rest went
   * (errorReceived), and what would block joins the queue, sent when the
   * socket is writable.
   */
  _flushSends(): void {
    const batch = this.#batch;
    const count = batch.length;
    if (count === 0) return;
    this.#batch = [];
    this.#batchSize = 0;
    const sock = this._sock;
    if (this._connLost || sock === null) return;
    let sent = 0;
    let errors: OSError[] | null = null;
    let fatal: { exc: unknown } | null = null;
    while (sent < count) {
      try {
        if (count - sent === 1) {
          // One (a ping-pong's reply): sendto's arguments cross cheaper than a list.
          this.#sendOne(batch[sent]![0], batch[sent]![1]);
          sent++;
        } else {
          sent += sendmmsg(sock, (sent === 0 ? batch : batch.slice(sent)) as socket.Datagram[]);
        }
      } catch (exc) {
        if (isRetryError(exc)) break;
        if (!(exc instanceof OSError)) {
          fatal = { exc };
          break;
        }
        (errors ??= []).push(exc);
        sent++;
      }
    }
    // First the transport's state, with no user code in between...
    if (fatal === null && sent < count) {
      for (let i = sent; i < count; i++) {
        this.#queue.push(batch[i]!);
        this.#bufferSize += batch[i]![0].length;
      }
      this._loop._addWriter(this._sockFd, this.#sendtoReady, []);
    }
    // ...then what the protocol is told.
    if (errors !== null) {
      for (const exc of errors) {
        try {
          this._errorReceived(exc);
        } catch (e) {
          this._loop.callExceptionHandler({ message: `Exception in callback ${String(this)} (its batched sendto)`, exception: e, transport: this, protocol: this._protocol });
        }
      }
    }
    if (fatal !== null) {
      this._fatalError(fatal.exc, 'Fatal write error on datagram transport');
    } else if (this.#bufferSize !== 0) {
      this.#maybePauseProtocol();
    } else if (this._closing && !this._connLost) {
      this._closeDrained();
    }
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
        if (exc instanceof OSError) this._errorReceived(exc);
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

  /** @internal Nothing queued or batched: close() need not wait. */
  _sendsDone(): boolean {
    return this.#bufferSize === 0 && this.#batch.length === 0;
  }

  /** @internal close() with nothing left to send: connectionLost(null) soon. */
  _closeDrained(): void {
    this._connLost++;
    this._loop._removeWriter(this._sockFd);
    this._loop.callSoon(() => this._callConnectionLost(null));
  }

  /** @internal Drops what is queued and batched (an abort). */
  _dropSends(): void {
    this.#batch = [];
    this.#batchSize = 0;
    if (this.#bufferSize > 0) {
      this.#queue = [];
      this.#head = 0;
      this.#bufferSize = 0;
      this._loop._removeWriter(this._sockFd);
    }
  }

  // --------------------------------------------------------- flow control

  getWriteBufferSize(): number {
    // With what waits in the batch, as the stream transports count theirs.
    return this.#bufferSize + this.#batchSize;
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
}
