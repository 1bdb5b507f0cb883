/**
 * Datagram transports: CPython 3.11 Lib/asyncio/selector_events.py
 * `_SelectorDatagramTransport` with what it takes from `_SelectorTransport`
 * (closing, fatal errors, connectionLost, pause/resume reading) and
 * transports.py's flow control (`_FlowControlMixin`). Where asyncio reads
 * one datagram per wake-up, this reads up to 32 in one recvmmsg() and
 * delivers them in order. Sending (sendto, the queue, the batch sent with
 * sendmmsg, flow control) is datagram-send.ts's DatagramSender, which this
 * transport extends.
 *
 * Beyond asyncio, the transport is an eventemitter3 emitter with Node
 * dgram's names: 'message' (data, addr), 'error' (Error), 'drain', 'close'
 * (hadError: boolean).
 */
import type { Buffer } from 'node:buffer';
import { socket as socketModule, type Socket, type socket } from '@iomux/core-native';
import { OSError } from '@iomux/core-native/error-classes';
import { RecvArea, copyOut } from './buffers.js';
import { DatagramSender, type DatagramAddress } from './datagram-send.js';
import { isRetryError } from './internal/retry.js';
import type { DatagramProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { FlowControlledTransport } from './selector-transport.js';

export type { DatagramAddress } from './datagram-send.js';

/** asyncio: max bytes read per recvfrom(). */
export const MAX_SIZE = 256 * 1024;

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

/** asyncio's `_SelectorDatagramTransport`. */
export class SelectorDatagramTransport extends DatagramSender implements DatagramTransport {
  /** @internal Reading is paused. */
  _paused = false;
  /** Datagrams received in a batch, not yet delivered (reading paused meanwhile). */
  #pending: Array<[Buffer, DatagramAddress]> = [];
  readonly #extra: Record<string, unknown>;
  readonly #readReady = (): void => this._readReady();

  constructor(loop: SelectorEventLoop, sock: Socket, protocol: DatagramProtocol, address: DatagramAddress | null = null, extra: Record<string, unknown> = {}) {
    super(loop, sock, protocol, address);
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
    this._connected = Boolean(this.#extra.peername);
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
    if (exc instanceof OSError) this._errorReceived(exc);
    else this._fatalError(exc, 'Fatal read error on datagram transport');
  }

  #deliver(data: Buffer, addr: DatagramAddress): void {
    this._protocol.datagramReceived?.(data, addr);
    if (this.listenerCount('message') !== 0) this.emit('message', data, addr);
  }

  // --------------------------------------------------------------- close

  close(): void {
    if (this._closing) return;
    this._closing = true;
    this._loop._removeReader(this._sockFd);
    // With datagrams in the batch, _flushSends closes after them.
    if (this._sendsDone()) this._closeDrained();
  }

  abort(): void {
    this._forceClose(null);
  }

  /** @internal Reports `exc` (an OSError only in debug mode) and closes now. */
  override _fatalError(exc: unknown, message = 'Fatal error on transport'): void {
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
    this._dropSends();
    if (!this._closing) {
      this._closing = true;
      this._loop._removeReader(this._sockFd);
    }
    this._connLost++;
    this._loop.callSoon(() => this._callConnectionLost(exc));
  }

  /** @internal connectionLost(exc), then the socket is closed. */
  override _callConnectionLost(exc: Error | null): void {
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
