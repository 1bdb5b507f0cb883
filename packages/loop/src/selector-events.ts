/**
 * The event loop with I/O through a selector: CPython 3.11
 * Lib/asyncio/selector_events.py (readers and writers, the sock_* methods;
 * transports are in transports.ts and use this loop's readers/writers).
 */
import { BlockingIOError, InterruptedError, OSError, ValueError, errnoConstants, fromErrno, socket, type Socket } from '@iomux/core-native';
import {
  DefaultSelector,
  EVENT_READ,
  EVENT_WRITE,
  selectorClass,
  type BaseSelector,
  type Ready,
  type SelectorKey,
} from '@iomux/selectors';
import { BaseEventLoop, type Timeout } from './base-events.js';
import { Handle } from './events.js';

type Callback = (...args: any[]) => unknown;
/** What a key's data holds: [reader, writer]. */
type ReaderWriter = [Handle | null, Handle | null];

const EINPROGRESS = errnoConstants.EINPROGRESS;
const { SOL_SOCKET, SO_ERROR } = socket;

export interface EventLoopOptions {
  /** A selector instance or a backend name ('epoll', 'poll', 'select'). */
  selector?: BaseSelector | string;
}

function isRetryable(e: unknown): boolean {
  return e instanceof BlockingIOError || e instanceof InterruptedError;
}

export class SelectorEventLoop extends BaseEventLoop {
  readonly _selector: BaseSelector<ReaderWriter>;
  #abort: AbortController | null = null;

  constructor(options: EventLoopOptions = {}) {
    super();
    const sel = options.selector;
    if (sel === undefined) this._selector = new DefaultSelector<ReaderWriter>();
    else if (typeof sel === 'string') this._selector = new (selectorClass(sel))() as BaseSelector<ReaderWriter>;
    else this._selector = sel as BaseSelector<ReaderWriter>;
  }

  override close(): void {
    if (this.isRunning()) super.close(); // throws
    if (this.isClosed()) return;
    super.close();
    this._selector.close();
  }

  // ------------------------------------------------------------ I/O waits

  protected _select(timeout: Timeout): Ready<ReaderWriter> | Promise<Ready<ReaderWriter>> {
    if (timeout === 0) return this._selector.select(0);
    const ac = new AbortController();
    this.#abort = ac;
    return this._selector.selectAsync(timeout, { signal: ac.signal }).then(
      (r) => {
        this.#abort = null;
        return r;
      },
      (e: unknown) => {
        this.#abort = null;
        if (ac.signal.aborted) return [];
        throw e;
      },
    );
  }

  protected _interruptSelect(): void {
    this.#abort?.abort();
  }

  protected _hasWaiters(): boolean {
    const m = this._selector.getMap();
    return m !== null && m.size > 0;
  }

  protected _processEvents(events: unknown[]): void {
    const list = events as Ready<ReaderWriter>;
    for (let i = 0; i < list.length; i++) {
      const [key, mask] = list[i]!;
      const [reader, writer] = key.data!;
      if (mask & EVENT_READ && reader !== null) {
        if (reader._cancelled) this._removeReader(key.fd);
        else this._ready.push(reader);
      }
      if (mask & EVENT_WRITE && writer !== null) {
        if (writer._cancelled) this._removeWriter(key.fd);
        else this._ready.push(writer);
      }
    }
  }

  // ------------------------------------------------------ readers/writers

  #key(fd: unknown): SelectorKey<ReaderWriter> | undefined {
    const m = this._selector.getMap();
    if (m === null) throw new ValueError('Selector is closed'); // loop closed
    return m.get(fd as number);
  }

  _addReader(fd: unknown, callback: Callback, args: unknown[]): Handle {
    this._checkClosed();
    const handle = new Handle(callback, args, this);
    const key = this.#key(fd);
    if (key === undefined) {
      this._selector.register(fd, EVENT_READ, [handle, null]);
    } else {
      const [reader, writer] = key.data!;
      this._selector.modify(fd, key.events | EVENT_READ, [handle, writer]);
      reader?.cancel();
    }
    this._wakeup();
    return handle;
  }

  _removeReader(fd: unknown): boolean {
    if (this.isClosed()) return false;
    const key = this.#key(fd);
    if (key === undefined) return false;
    const [reader, writer] = key.data!;
    const mask = key.events & ~EVENT_READ;
    if (!mask) this._selector.unregister(fd);
    else this._selector.modify(fd, mask, [null, writer]);
    if (reader !== null) {
      reader.cancel();
      return true;
    }
    return false;
  }

  _addWriter(fd: unknown, callback: Callback, args: unknown[]): Handle {
    this._checkClosed();
    const handle = new Handle(callback, args, this);
    const key = this.#key(fd);
    if (key === undefined) {
      this._selector.register(fd, EVENT_WRITE, [null, handle]);
    } else {
      const [reader, writer] = key.data!;
      this._selector.modify(fd, key.events | EVENT_WRITE, [reader, handle]);
      writer?.cancel();
    }
    this._wakeup();
    return handle;
  }

  _removeWriter(fd: unknown): boolean {
    if (this.isClosed()) return false;
    const key = this.#key(fd);
    if (key === undefined) return false;
    const [reader, writer] = key.data!;
    const mask = key.events & ~EVENT_WRITE;
    if (!mask) this._selector.unregister(fd);
    else this._selector.modify(fd, mask, [reader, null]);
    if (writer !== null) {
      writer.cancel();
      return true;
    }
    return false;
  }

  /** Calls `callback(...args)` whenever `fd` is readable. */
  addReader(fd: unknown, callback: Callback, ...args: unknown[]): void {
    this._addReader(fd, callback, args);
  }

  /** Stops watching `fd` for reading; false if it was not watched. */
  removeReader(fd: unknown): boolean {
    return this._removeReader(fd);
  }

  /** Calls `callback(...args)` whenever `fd` is writable. */
  addWriter(fd: unknown, callback: Callback, ...args: unknown[]): void {
    this._addWriter(fd, callback, args);
  }

  /** Stops watching `fd` for writing; false if it was not watched. */
  removeWriter(fd: unknown): boolean {
    return this._removeWriter(fd);
  }

  // ------------------------------------------------------------- sockets

  #checkNonBlocking(sock: Socket): void {
    if (this.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
  }

  /**
   * Resolves with up to `n` bytes from `sock` (non-blocking); an empty
   * Buffer at end of stream.
   */
  sockRecv(sock: Socket, n: number): Promise<Buffer> {
    return this.#sockOp(sock, 'read', () => sock.recv(n));
  }

  /** Reads into `buf`; resolves with the number of bytes read. */
  sockRecvInto(sock: Socket, buf: ArrayBufferView): Promise<number> {
    return this.#sockOp(sock, 'read', () => sock.recvInto(buf));
  }

  /** Resolves once all of `data` is sent. */
  async sockSendall(sock: Socket, data: ArrayBufferView): Promise<void> {
    this.#checkNonBlocking(sock);
    let view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let n = 0;
    try {
      n = sock.send(view);
    } catch (e) {
      if (!isRetryable(e)) throw e;
    }
    if (n === view.length) return;
    view = view.subarray(n);
    await new Promise<void>((resolve, reject) => {
      const fd = sock.fileno();
      const onWritable = (): void => {
        let sent: number;
        try {
          sent = sock.send(view);
        } catch (e) {
          if (isRetryable(e)) return;
          this.removeWriter(fd);
          reject(e);
          return;
        }
        view = view.subarray(sent);
        if (view.length === 0) {
          this.removeWriter(fd);
          resolve();
        }
      };
      this.addWriter(fd, onWritable);
    });
  }

  /** Resolves with `[conn, address]`; `conn` is non-blocking. */
  async sockAccept(sock: Socket): Promise<[Socket, unknown]> {
    const [conn, addr] = await this.#sockOp(sock, 'read', () => sock.accept());
    conn.setblocking(false);
    return [conn, addr];
  }

  /** Connects `sock` (non-blocking) to `address`. */
  async sockConnect(sock: Socket, address: Parameters<Socket['connect']>[0]): Promise<void> {
    this.#checkNonBlocking(sock);
    try {
      sock.connect(address);
      return;
    } catch (e) {
      if (!(isRetryable(e) || (e instanceof OSError && e.errno === EINPROGRESS))) throw e;
    }
    const fd = sock.fileno();
    await new Promise<void>((resolve, reject) => {
      this.addWriter(fd, () => {
        this.removeWriter(fd);
        let err: number;
        try {
          err = sock.getsockopt(SOL_SOCKET, SO_ERROR);
        } catch (e) {
          reject(e);
          return;
        }
        if (err !== 0) reject(fromErrno(err, undefined, { syscall: 'connect' }));
        else resolve();
      });
    });
  }

  #sockOp<T>(sock: Socket, _kind: 'read', op: () => T): Promise<T> {
    this.#checkNonBlocking(sock);
    try {
      return Promise.resolve(op());
    } catch (e) {
      if (!isRetryable(e)) return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      const fd = sock.fileno();
      this.addReader(fd, () => {
        let r: T;
        try {
          r = op();
        } catch (e) {
          if (isRetryable(e)) return;
          this.removeReader(fd);
          reject(e);
          return;
        }
        this.removeReader(fd);
        resolve(r);
      });
    });
  }
}
