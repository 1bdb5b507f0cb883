/**
 * The event loop with I/O through a selector: CPython 3.11
 * Lib/asyncio/selector_events.py (the sock_* methods, servers and
 * connections; the selector, readers and writers are its base class's, in
 * selector-io.ts; transports are in transports.ts).
 */
import type { Socket } from '@iomux/core-native';
import { releaseChildren } from './child-watcher.js';
import type { AnyProtocol, BaseProtocol, DatagramProtocol, Protocol, ProtocolFactory } from './protocols.js';
import type { Server } from './server.js';
import type { Transport } from './transports.js';
import { SelectorIO } from './selector-io.js';
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
export type { EventLoopOptions } from './selector-io.js';

/**
 * asyncio's `SelectorEventLoop` (CPython 3.11 Lib/asyncio/selector_events.py):
 * the I/O half of the loop on an iomux selector (readers and writers, sock_*
 * coroutines, servers and connections), running inside Node's own loop: it
 * waits with the selector's promise twin, so Node is never blocked. Exported
 * also as `EventLoop`.
 */
export class SelectorEventLoop extends SelectorIO {
  /**
   * Closes the loop (it must not be running): its selector, the default
   * executor's threads, and the pidfds of children it still watches.
   */
  override close(): void {
    const wasClosed = this.isClosed();
    super.close(); // throws while running
    if (wasClosed) return;
    this._executors.close();
    releaseChildren(this);
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

