/**
 * @iomux/loop: asyncio's event loop (CPython 3.11 Lib/asyncio) for Node.js,
 * on an iomux selector, running inside Node's own event loop.
 *
 *   import { EventLoop } from '@iomux/loop';
 *   const loop = new EventLoop({ selector: 'epoll' });
 *   loop.callLater(0.5, () => loop.stop());
 *   await loop.runForever();
 *   loop.close();
 *
 * @module @iomux/loop
 */
export { Handle, TimerHandle, getRunningLoop, type ExceptionContext } from './events.js';
export { BaseEventLoop, type ExceptionHandler, type Logger } from './base-events.js';
export { SelectorEventLoop, SelectorEventLoop as EventLoop, type EventLoopOptions, type CreateServerOptions } from './selector-events.js';
export { isBufferedProtocol, type AnyProtocol, type BaseProtocol, type BufferedProtocol, type Protocol, type ProtocolFactory } from './protocols.js';
export { SelectorSocketTransport, type Transport } from './transports.js';
export type { FlowControlledTransport } from './selector-transport.js';
export { Server, type ServerAddress, type ServeForeverOptions } from './server.js';
export { type CreateConnectionOptions } from './connect.js';
export { SSLContext, createSslContext, type SSLContextOptions } from './tls-context.js';
export { SSLProtocol, SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT } from './sslproto.js';
export { SSLProtocolTransport } from './ssl-transport.js';
export { type SslArg, type SslOptions, type StartTlsOptions } from './start-tls.js';
export { type ServerHosts } from './create-server.js';
export { type UnixPath, type CreateUnixConnectionOptions, type CreateUnixServerOptions } from './unix.js';
export { type AddrInfo, type GetaddrinfoOptions, type InetSockaddr } from './resolve.js';
export { run } from './run.js';
export { Timeout, timeout, timeoutAt, waitFor, type Awaitable } from './timeouts.js';
export type { AbortOptions } from './sock-op.js';
export { DefaultExecutor, ImmediateExecutor, ThreadPoolExecutor, isExecutor, workerFunction, type Executor, type WorkerFunction, type WorkerFunctionSource } from './executor.js';
export { SendfileNotAvailableError, type SendfileFile, type SendfileOptions } from './sendfile.js';
export { UnixReadPipeTransport, UnixWritePipeTransport, type PipeLike } from './unix-pipes.js';
export { SelectorDatagramTransport, type DatagramTransport, type DatagramAddress } from './datagram.js';
export { type CreateDatagramEndpointOptions } from './datagram-endpoint.js';
export { type DatagramProtocol } from './protocols.js';
export {
  openConnection,
  startServer,
  openUnixConnection,
  startUnixServer,
  StreamReader,
  StreamWriter,
  StreamReaderProtocol,
  IncompleteReadError,
  LimitOverrunError,
  DEFAULT_LIMIT,
  type StreamOptions,
} from './streams.js';
export { BaseSubprocessTransport, BaseSubprocessTransport as SubprocessTransport, type SubprocessProtocol } from './base-subprocess.js';
export { PIPE, STDOUT, DEVNULL, type HasFileno, type StdioSpec, type SubprocessOptions } from './subprocess.js';
export { createSubprocessExec, createSubprocessShell, Process, SubprocessStreamProtocol, type CreateSubprocessOptions } from './subprocess-streams.js';
// The contract's error classes, as Python's modules expose them.
export * from '@iomux/core-native/error-classes';
