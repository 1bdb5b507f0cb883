/**
 * The event loop with I/O through a selector: CPython 3.11
 * Lib/asyncio/selector_events.py (readers and writers, the sock_* methods;
 * transports are in transports.ts and use this loop's readers/writers).
 */
import { pyTypeName, type Socket } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import {
  DefaultSelector,
  EVENT_READ as SELECTORS_EVENT_READ,
  EVENT_WRITE as SELECTORS_EVENT_WRITE,
  selectorClass,
  BaseSelector,
  type Ready,
  type SelectorKey,
} from '@iomux/selectors';
import { BaseEventLoop, type Timeout } from './base-events.js';
import { releaseChildren } from './child-watcher.js';
import { Handle } from './events.js';
import type { AnyProtocol, BaseProtocol, DatagramProtocol, Protocol, ProtocolFactory } from './protocols.js';
import type { Server } from './server.js';
import type { Transport } from './transports.js';
import { ReadBatch, WriteBatch, type BatchTransport } from './internal/io-batch.js';
import { DatagramSends } from './datagram-send.js';
import { connectAcceptedSocket, createConnection, sockConnect, type CreateConnectionOptions } from './connect.js';
import { createServer, type CreateServerOptions, type ServerHosts } from './create-server.js';
import { startTls, type SslArg, type StartTlsOptions } from './start-tls.js';
import type { SSLProtocolTransport } from './ssl-transport.js';
import { createUnixConnection, createUnixServer, type CreateUnixConnectionOptions, type CreateUnixServerOptions, type UnixPath } from './unix.js';
import { getaddrinfo, getnameinfo, type AddrInfo, type GetaddrinfoOptions } from './resolve.js';
import { ExecutorSlot, type Executor } from './executor.js';
import { sendfile, sockSendfile, type SendfileFile, type SendfileOptions } from './sendfile.js';
import { UnixReadPipeTransport, UnixWritePipeTransport, connectPipe, type PipeLike } from './unix-pipes.js';
import { subprocessExec, subprocessShell, type SubprocessOptions } from './subprocess.js';
import type { BaseSubprocessTransport, SubprocessProtocol } from './base-subprocess.js';
import type { DatagramAddress, DatagramTransport } from './datagram.js';
import { signalOf, sockOp, sockSendall, withSignal, type AbortOptions } from './sock-op.js';
import { createDatagramEndpoint, sockRecvfrom, sockRecvfromInto, sockSendto, type CreateDatagramEndpointOptions } from './datagram-endpoint.js';

export type { CreateServerOptions } from './create-server.js';

type Callback = (...args: any[]) => unknown;
/** What a key's data holds: [reader, writer]. */
type ReaderWriter = [Handle | null, Handle | null];

// Local copies: an imported name compiles to a load from the package's
// exports object, which is in dictionary mode (its re-exports are getters),
// and these are read for every event the selector reports.
const EVENT_READ = SELECTORS_EVENT_READ;
const EVENT_WRITE = SELECTORS_EVENT_WRITE;
const NOT_READY = Object.freeze({ assumeNotReady: true });

/** Options of `new EventLoop()` and `run()`. */
export interface EventLoopOptions {
  /** A selector instance or a backend name ('epoll', 'poll', 'select'). */
  selector?: BaseSelector | string;
}

/**
 * asyncio's `SelectorEventLoop` (CPython 3.11 Lib/asyncio/selector_events.py):
 * the I/O half of the loop on an iomux selector (readers and writers, sock_*
 * coroutines, servers and connections), running inside Node's own loop: it
 * waits with the selector's promise twin, so Node is never blocked. Exported
 * also as `EventLoop`.
 */
export class SelectorEventLoop extends BaseEventLoop {
  /** @internal The selector; each key's data is [reader handle, writer handle]. */
  readonly _selector: BaseSelector<ReaderWriter>;

  /** @internal The writes of this turn, sent before the next look (io-batch.ts). */
  readonly _writeBatch = new WriteBatch();
  /** @internal The transports this look found readable, received for in chunks. */
  readonly _readBatch = new ReadBatch();
  /** @internal The datagram transports' sendto()s of this turn, one sendmmsg each (datagram-send.ts). */
  readonly _datagramSends = new DatagramSends();

  constructor(options: EventLoopOptions | null = {}) {
    super();
    const sel = options?.selector;
    if (sel === undefined) this._selector = new DefaultSelector<ReaderWriter>();
    else if (typeof sel === 'string') this._selector = new (selectorClass(sel))() as BaseSelector<ReaderWriter>;
    else if (sel instanceof BaseSelector) this._selector = sel as BaseSelector<ReaderWriter>;
    // Checked here, not at the first turn, where it would fail inside the loop.
    else throw new TypeError(`selector must be a BaseSelector or a backend name, not '${pyTypeName(sel)}'`);
  }

  override close(): void {
    if (this.isRunning()) super.close(); // throws
    if (this.isClosed()) return;
    super.close();
    this._selector.close();
    this._executors.close();
    releaseChildren(this);
  }

  // ------------------------------------------------------------ I/O waits

  /**
   * CPython's `selector.select(timeout)` then `_process_events(event_list)`,
   * in one pass: the selector hands each ready key to #processEvent.
   */
  protected _select(timeout: Timeout): number | Promise<number> {
    this._readBatch.clear();
    // _runOnce has just looked with timeout 0 and found nothing.
    if (timeout !== 0) return this._selector.selectEachAsync(timeout, this.#processEvent, NOT_READY);
    return this._selector.selectEach(0, this.#processEvent);
  }

  protected _interruptSelect(): void {
    // Resolves the wait in flight with [] (no AbortController per wait).
    this._selector.interruptWait();
  }

  protected _hasWaiters(): boolean {
    const m = this._selector.getMap();
    return m !== null && m.size > 0;
  }

  /** CPython's `_process_events`: queues the callbacks of `[key, events]` pairs. */
  _processEvents(eventList: Ready<ReaderWriter>): void {
    this._readBatch.clear();
    for (let i = 0; i < eventList.length; i++) this.#processEvent(eventList[i]![0], eventList[i]![1]);
  }

  /** Queues the reader and/or writer of one ready key. */
  readonly #processEvent = (key: SelectorKey<ReaderWriter>, mask: number): void => {
    // Indexed, not destructured: no iterator protocol per event.
    const rw = key.data!;
    const reader = rw[0];
    const writer = rw[1];
    if (mask & EVENT_READ && reader !== null) {
      if (reader._cancelled) {
        this._removeReader(key.fd);
      } else {
        this._ready.push(reader);
        // A transport's reader: its bytes come in the look's read batch.
        const t = reader._reads as BatchTransport | null;
        if (t !== null) this._readBatch.add(t);
      }
    }
    if (mask & EVENT_WRITE && writer !== null) {
      if (writer._cancelled) this._removeWriter(key.fd);
      else this._ready.push(writer);
    }
  };

  override _flushWrites(): void {
    if (this._datagramSends.size !== 0) this._datagramSends.flush(this);
    const batch = this._writeBatch;
    if (batch.size === 0) return;
    const open = this._batchOpen;
    // What the protocols' callbacks write meanwhile goes out at once, after
    // every short send's rest is buffered.
    this._batchOpen = false;
    try {
      batch.send(this.#reportSend);
    } finally {
      this._batchOpen = open;
    }
  }

  /** What a transport's notification after the write batch threw. */
  readonly #reportSend = (t: BatchTransport, exc: unknown): void => {
    // As from the callback that wrote (an 'error' listener that throws).
    this.callExceptionHandler({ message: `Exception in callback ${String(t)} (its batched write)`, exception: exc, transport: t });
  };

  // ------------------------------------------------------ readers/writers

  #key(fd: unknown): SelectorKey<ReaderWriter> | undefined {
    const m = this._selector.getMap();
    if (m === null) throw new ValueError('Selector is closed'); // loop closed
    return m.get(fd as number);
  }

  /** @internal addReader() with the arguments as an array; returns the handle. */
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

  /** @internal removeReader(). */
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

  /** @internal addWriter() with the arguments as an array; returns the handle. */
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

  /** @internal removeWriter(). */
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
  // Each sock* method takes a trailing `{ signal }`: an abort rejects with
  // its reason and removes the reader or writer (asyncio's cancellation).

  /**
   * Resolves with up to `n` bytes from `sock` (non-blocking); an empty
   * Buffer at end of stream.
   */
  sockRecv(sock: Socket, n: number, options?: AbortOptions): Promise<Buffer> {
    return withSignal(options, (signal) => sockOp(this, sock, false, () => sock.recv(n), signal));
  }

  /** Reads into `buf`; resolves with the number of bytes read. */
  sockRecvInto(sock: Socket, buf: ArrayBufferView, options?: AbortOptions): Promise<number> {
    return withSignal(options, (signal) => sockOp(this, sock, false, () => sock.recvInto(buf), signal));
  }

  /** Resolves once all of `data` is sent (sock-op.ts). */
  sockSendall(sock: Socket, data: ArrayBufferView, options?: AbortOptions): Promise<void> {
    return withSignal(options, (signal) => sockSendall(this, sock, data, signal));
  }

  /** Resolves with `[conn, address]`; `conn` is non-blocking. */
  async sockAccept(sock: Socket, options?: AbortOptions): Promise<[Socket, unknown]> {
    const [conn, addr] = await sockOp(this, sock, false, () => sock.accept(), signalOf(options));
    conn.setblocking(false);
    return [conn, addr];
  }

  /** Connects `sock` (non-blocking) to `address`; a host name is resolved first (connect.ts). */
  sockConnect(sock: Socket, address: Parameters<Socket['connect']>[0], options?: AbortOptions): Promise<void> {
    return sockConnect(this, sock, address, options);
  }

  /** asyncio's sock_sendto: resolves with the bytes sent; a host name is resolved first (datagram-endpoint.ts). */
  sockSendto(sock: Socket, data: ArrayBufferView, address: DatagramAddress, options?: AbortOptions): Promise<number> {
    return sockSendto(this, sock, data, address, options);
  }

  /** asyncio's sock_recvfrom: resolves with `[data, address]`. */
  sockRecvfrom(sock: Socket, bufsize: number, options?: AbortOptions): Promise<[Buffer, DatagramAddress]> {
    return sockRecvfrom(this, sock, bufsize, options);
  }

  /** asyncio's sock_recvfrom_into: resolves with `[nbytes, address]`. */
  sockRecvfromInto(sock: Socket, buf: ArrayBufferView, nbytes: number = 0, options?: AbortOptions): Promise<[number, DatagramAddress]> {
    return sockRecvfromInto(this, sock, buf, nbytes, options);
  }

  // ------------------------------------------------ servers and connections

  /** asyncio's create_datagram_endpoint (datagram-endpoint.ts): resolves with `[transport, protocol]`. */
  createDatagramEndpoint<P extends DatagramProtocol>(protocolFactory: () => P, options: CreateDatagramEndpointOptions = {}): Promise<[DatagramTransport, P]> {
    return createDatagramEndpoint(this, protocolFactory, options);
  }

  /**
   * asyncio's create_server: listens on every address of `host` (a name, a
   * list, or null/'' for every family) at `port`, or on `options.sock`
   * (create-server.ts). Resolves with the Server, serving unless
   * `startServing: false`.
   */
  createServer(protocolFactory: ProtocolFactory, host: ServerHosts = null, port: number | string | null = null, options: CreateServerOptions = {}): Promise<Server> {
    return createServer(this, protocolFactory, host, port, options);
  }

  /**
   * asyncio's create_connection: connects to `host`:`port` (every resolved
   * address in turn, or raced with happyEyeballsDelay), or wraps
   * `options.sock` (connect.ts); resolves with `[transport, protocol]` once
   * connectionMade has run.
   */
  createConnection<P extends AnyProtocol>(protocolFactory: () => P, host: string | null = null, port: number | string | null = null, options: CreateConnectionOptions = {}): Promise<[Transport, P]> {
    return createConnection(this, protocolFactory, host, port, options);
  }

  /** asyncio's connect_accepted_socket: a transport on a connection accepted elsewhere (a Socket or a descriptor). */
  connectAcceptedSocket<P extends AnyProtocol>(
    protocolFactory: () => P,
    sock: Socket | number,
    options: { ssl?: SslArg; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
  ): Promise<[Transport, P]> {
    return connectAcceptedSocket(this, protocolFactory, sock, options);
  }

  /** asyncio's start_tls: upgrades `transport` to TLS for `protocol`; resolves with the new transport (start-tls.ts). */
  startTls(transport: Transport, protocol: AnyProtocol, sslContext: SslArg, options: StartTlsOptions = {}): Promise<SSLProtocolTransport> {
    return startTls(this, transport, protocol, sslContext, options);
  }

  /** asyncio's create_unix_server: listens on the Unix socket `path` or `options.sock` (unix.ts). */
  createUnixServer(protocolFactory: ProtocolFactory, path: UnixPath | null = null, options: CreateUnixServerOptions = {}): Promise<Server> {
    return createUnixServer(this, protocolFactory, path, options);
  }

  /** asyncio's create_unix_connection: connects to the Unix socket `path`, or wraps `options.sock` (unix.ts). */
  createUnixConnection<P extends AnyProtocol>(protocolFactory: () => P, path: UnixPath | null = null, options: CreateUnixConnectionOptions = {}): Promise<[Transport, P]> {
    return createUnixConnection(this, protocolFactory, path, options);
  }

  /** asyncio's getaddrinfo, on Node's resolver (resolve.ts): `[family, type, proto, canonname, sockaddr]` entries. */
  async getaddrinfo(host: unknown, port: unknown, options: GetaddrinfoOptions = {}): Promise<AddrInfo[]> {
    this._checkClosed();
    return getaddrinfo(host, port, options);
  }

  /** asyncio's getnameinfo, on Node's resolver (resolve.ts): `[host, service]`. */
  async getnameinfo(sockaddr: unknown, flags: number = 0): Promise<[string, string]> {
    this._checkClosed();
    return getnameinfo(sockaddr, flags);
  }

  // ------------------------------------------------------------- sendfile

  /**
   * asyncio's sock_sendfile: sends `file` (a descriptor, an object with
   * fileno(), a FileHandle) from `offset`, `count` bytes or to its end, with
   * zero-copy sendfile(2), else (`fallback`, default true) by reading and
   * sending (sendfile.ts). Resolves with the bytes sent.
   */
  sockSendfile(sock: Socket, file: SendfileFile, offset: number = 0, count: number | null = null, options: SendfileOptions = {}): Promise<number> {
    return sockSendfile(this, sock, file, offset, count, options);
  }

  /** asyncio's sendfile: sockSendfile() through a socket transport, its reading paused meanwhile. */
  sendfile(transport: Transport, file: SendfileFile, offset: number = 0, count: number | null = null, options: SendfileOptions = {}): Promise<number> {
    return sendfile(this, transport, file, offset, count, options);
  }

  // ------------------------------------------------------------ executors

  /** @internal The default executor (executor.ts). */
  readonly _executors = new ExecutorSlot();

  /**
   * asyncio's run_in_executor: `fn(...args)` on `executor` (null: the
   * default, an ImmediateExecutor: the JS thread, a macrotask later; it does
   * not free the loop from a CPU-bound `fn`). Resolves with its result.
   */
  runInExecutor<A extends unknown[], R>(executor: Executor | null, fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    try {
      this._checkClosed();
      return this._executors.run(executor, fn, args);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** asyncio's set_default_executor: what runInExecutor(null, ...) uses. */
  setDefaultExecutor(executor: Executor): void {
    this._executors.setDefault(executor);
  }

  /** asyncio's shutdown_default_executor: waits for the default executor's work; refuses it after. */
  shutdownDefaultExecutor(): Promise<void> {
    return this._executors.shutdownDefault();
  }

  // ---------------------------------------------------------------- pipes

  /**
   * asyncio's connect_read_pipe: reads `pipe` (a pipe, FIFO, socket or
   * character device: a descriptor or an object with fileno(), which the
   * transport then owns) into a protocol from `protocolFactory`.
   */
  connectReadPipe<P extends Protocol>(protocolFactory: () => P, pipe: PipeLike): Promise<[UnixReadPipeTransport, P]> {
    return connectPipe(this, protocolFactory, (p) => new UnixReadPipeTransport(this, pipe, p));
  }

  /** asyncio's connect_write_pipe: a write transport on `pipe`, as connectReadPipe. */
  connectWritePipe<P extends BaseProtocol>(protocolFactory: () => P, pipe: PipeLike): Promise<[UnixWritePipeTransport, P]> {
    return connectPipe(this, protocolFactory, (p) => new UnixWritePipeTransport(this, pipe, p));
  }

  /** asyncio's subprocess_exec: runs `program` with `args`; resolves to `[transport, protocol]` (subprocess.ts). */
  subprocessExec<P extends SubprocessProtocol>(protocolFactory: () => P, program: string, args: readonly string[] = [], options: SubprocessOptions = {}): Promise<[BaseSubprocessTransport, P]> {
    return subprocessExec(this, protocolFactory, program, args, options);
  }

  /** asyncio's subprocess_shell: runs `cmd` with /bin/sh -c (subprocess.ts). */
  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, cmd: string | Uint8Array, options: SubprocessOptions = {}): Promise<[BaseSubprocessTransport, P]> {
    return subprocessShell(this, protocolFactory, cmd, options);
  }
}

