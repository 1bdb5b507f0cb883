/**
 * The event loop with I/O through a selector: CPython 3.11
 * Lib/asyncio/selector_events.py (readers and writers, the sock_* methods;
 * transports are in transports.ts and use this loop's readers/writers).
 */
import { BlockingIOError, InterruptedError, OSError, ValueError, errnoConstants, fromErrno, socket, type Socket } from '@iomux/core-native';
import {
  DefaultSelector,
  EVENT_READ as SELECTORS_EVENT_READ,
  EVENT_WRITE as SELECTORS_EVENT_WRITE,
  selectorClass,
  type BaseSelector,
  type Ready,
  type SelectorKey,
} from '@iomux/selectors';
import { BaseEventLoop, type Timeout } from './base-events.js';
import { Handle } from './events.js';
import type { AnyProtocol, ProtocolFactory } from './protocols.js';
import { Server } from './server.js';
import { SelectorSocketTransport, type Transport } from './transports.js';

export interface CreateServerOptions {
  /** listen() backlog, and connections accepted per wake-up (100). */
  backlog?: number;
  /** SO_REUSEADDR (default true, as asyncio on POSIX). */
  reuseAddress?: boolean;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
}

type Callback = (...args: any[]) => unknown;
/** What a key's data holds: [reader, writer]. */
type ReaderWriter = [Handle | null, Handle | null];

// Local copies: an imported name compiles to a load from the package's
// exports object, which is in dictionary mode (its re-exports are getters),
// and these are read for every event the selector reports.
const EVENT_READ = SELECTORS_EVENT_READ;
const EVENT_WRITE = SELECTORS_EVENT_WRITE;
const EINPROGRESS = errnoConstants.EINPROGRESS;
const NOT_READY = Object.freeze({ assumeNotReady: true });
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
    // _runOnce has just run select(0) and found nothing.
    return this._selector.selectAsync(timeout, NOT_READY);
  }

  protected _interruptSelect(): void {
    // Resolves the wait in flight with [] (no AbortController per wait).
    this._selector.interruptWait();
  }

  protected _hasWaiters(): boolean {
    const m = this._selector.getMap();
    return m !== null && m.size > 0;
  }

  protected _processEvents(events: unknown[]): void {
    const list = events as Ready<ReaderWriter>;
    for (let i = 0; i < list.length; i++) this.#processEvent(list[i]![0], list[i]![1]);
  }

  protected override _pollNow(): number {
    // The selector hands each ready key over without a list of pairs,
    // unless a subclass watches _select.
    if (this._select !== OWN_SELECT) return super._pollNow();
    return this._selector._selectNowEach(this.#processEvent);
  }

  /** Queues the reader and/or writer of one ready key. */
  readonly #processEvent = (key: SelectorKey<ReaderWriter>, mask: number): void => {
    // Indexed, not destructured: no iterator protocol per event.
    const rw = key.data!;
    const reader = rw[0];
    const writer = rw[1];
    if (mask & EVENT_READ && reader !== null) {
      if (reader._cancelled) this._removeReader(key.fd);
      else this._ready.push(reader);
    }
    if (mask & EVENT_WRITE && writer !== null) {
      if (writer._cancelled) this._removeWriter(key.fd);
      else this._ready.push(writer);
    }
  };

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
    return this.#sockOp(sock, () => sock.recv(n));
  }

  /** Reads into `buf`; resolves with the number of bytes read. */
  sockRecvInto(sock: Socket, buf: ArrayBufferView): Promise<number> {
    return this.#sockOp(sock, () => sock.recvInto(buf));
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
    const [conn, addr] = await this.#sockOp(sock, () => sock.accept());
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

  // ------------------------------------------------ servers and connections

  /**
   * asyncio's create_server: listens on `host`:`port` (port 0 picks one;
   * host null or '' is every interface) and makes a transport and a
   * protocol from `protocolFactory` for each connection. Resolves with the
   * Server, already serving.
   */
  async createServer(
    protocolFactory: ProtocolFactory,
    host: string | null = null,
    port: number = 0,
    options: CreateServerOptions = {},
  ): Promise<Server> {
    this._checkClosed();
    const backlog = options.backlog ?? 100;
    const targets: Array<[number, unknown]> =
      host === null || host === ''
        ? [[socket.AF_INET, ['0.0.0.0', port]]]
        : socket.streamTargets(host, port);
    const sockets: Socket[] = [];
    try {
      for (const [af, sa] of targets) {
        const sock = new socket.Socket(af, socket.SOCK_STREAM, socket.IPPROTO_TCP);
        sockets.push(sock);
        if (options.reuseAddress ?? true) sock.setsockopt(SOL_SOCKET, socket.SO_REUSEADDR, 1);
        if (options.reusePort) {
          if (socket.SO_REUSEPORT === undefined) throw new ValueError('reuse_port not supported by socket module');
          sock.setsockopt(SOL_SOCKET, socket.SO_REUSEPORT, 1);
        }
        // Disable IPv4/IPv6 dual stack support (enabled by default on
        // Linux) which makes a single socket listen on both families.
        if (af === socket.AF_INET6 && socket.IPV6_V6ONLY !== undefined) sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1);
        sock.bind(sa as Parameters<Socket['bind']>[0]);
        sock.setblocking(false);
        // With port 0, one address only: each family would get its own port.
        if (port === 0 && targets.length > 1) break;
      }
    } catch (e) {
      for (const s of sockets) s.close();
      throw e;
    }
    const server = new Server(this, sockets, protocolFactory, backlog);
    server._startServing();
    return server;
  }

  /**
   * asyncio's create_connection: connects to `host`:`port` (each address in
   * turn) and resolves with `[transport, protocol]` once the protocol's
   * connectionMade has run.
   */
  async createConnection<P extends AnyProtocol>(protocolFactory: () => P, host: string, port: number): Promise<[Transport, P]> {
    this._checkClosed();
    const errors: unknown[] = [];
    let sock: Socket | null = null;
    for (const [af, sa] of socket.streamTargets(host, port)) {
      const s = new socket.Socket(af, socket.SOCK_STREAM, socket.IPPROTO_TCP);
      try {
        s.setblocking(false);
        await this.sockConnect(s, sa as Parameters<Socket['connect']>[0]);
        sock = s;
        break;
      } catch (e) {
        s.close();
        errors.push(e);
      }
    }
    if (sock === null) throw errors.length === 1 ? errors[0] : new AggregateError(errors, `Multiple exceptions: ${errors.map(String).join(', ')}`);
    const protocol = protocolFactory();
    const transport = new SelectorSocketTransport(this, sock, protocol);
    // Resolve once connectionMade() has been called (it is queued first).
    await new Promise<void>((resolve) => this.callSoon(resolve));
    return [transport, protocol];
  }

  #sockOp<T>(sock: Socket, op: () => T): Promise<T> {
    // A promise-returning method reports every error through its promise.
    try {
      this.#checkNonBlocking(sock);
    } catch (e) {
      return Promise.reject(e);
    }
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

// _select as this class defines it (a subclass may replace it to watch the looks).
const OWN_SELECT = (SelectorEventLoop.prototype as unknown as { _select: unknown })._select;
