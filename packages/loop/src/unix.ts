/**
 * Unix-domain stream sockets: CPython 3.11 Lib/asyncio/unix_events.py
 * `create_unix_connection` and `create_unix_server` (stale socket files
 * removed before bind; Linux abstract names, a leading NUL, left alone),
 * with 3.13's `cleanup_socket` as an option.
 */
import { stat, unlink } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { errnoConstants as E, fromErrno, pyTypeName, socket as S, type Socket } from '@iomux/core-native';
import { IndexError, OSError, ValueError } from '@iomux/core-native/error-classes';
import type { AnyProtocol, ProtocolFactory } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import { Server } from './server.js';
import type { Transport } from './transports.js';
import { checkFactory, connectResolved, connectionTransport, socketArg } from './connect.js';
import { sslServerFactory, sslSetup, type SslOptions } from './start-tls.js';
import { backlogArg, startServer } from './create-server.js';

/** A Unix socket's name: a path, or bytes (a leading NUL byte is a Linux abstract name). */
export type UnixPath = string | Uint8Array;

/** `loop.createUnixConnection()`'s options. */
export interface CreateUnixConnectionOptions extends SslOptions {
  /** A connected AF_UNIX SOCK_STREAM socket (or its descriptor), instead of a path. */
  sock?: Socket | number | null;
}

/** `loop.createUnixServer()`'s options. */
export interface CreateUnixServerOptions extends Omit<SslOptions, 'serverHostname'> {
  /** A bound AF_UNIX SOCK_STREAM socket (or its descriptor), instead of a path. */
  sock?: Socket | number | null;
  /** listen() backlog, and connections accepted per wake-up (100). */
  backlog?: number;
  /** Start accepting at once (default true). */
  startServing?: boolean;
  /**
   * Remove the socket file when the server closes, if it is still the one
   * bound (asyncio 3.13's `cleanup_socket`). Default false: asyncio 3.11
   * leaves it, and the next createUnixServer on the path removes it.
   */
  cleanupSocket?: boolean;
}

/** os.fspath(path), and whether it names a Linux abstract socket. */
function pathArg(path: unknown): [UnixPath, boolean] {
  if (typeof path !== 'string' && !(path instanceof Uint8Array)) {
    throw new TypeError(`expected str, bytes or os.PathLike object, not ${pyTypeName(path)}`);
  }
  // Empty: connect() refuses it with EINVAL, as CPython's does.
  const abstract = path.length > 0 && (typeof path === 'string' ? path.charCodeAt(0) : path[0]!) === 0;
  if (!abstract) {
    const bytes = typeof path === 'string' ? path : Buffer.from(path).toString('latin1');
    if (bytes.includes('\0')) throw new ValueError('embedded null byte');
  }
  return [path, abstract];
}

/** A server's path: asyncio looks at path[0] first, an IndexError when it is empty. */
function serverPathArg(path: unknown): [UnixPath, boolean] {
  const r = pathArg(path);
  if (r[0].length === 0) throw new IndexError(typeof path === 'string' ? 'string index out of range' : 'index out of range');
  return r;
}

function fsPath(path: UnixPath): string | Buffer {
  return typeof path === 'string' ? path : Buffer.from(path);
}

function checkUnixStream(sock: Socket, given: unknown): void {
  if (sock.family !== S.AF_UNIX || sock.type !== S.SOCK_STREAM) {
    if (typeof given === 'number') sock.detach();
    throw new ValueError(`A UNIX Domain Stream Socket was expected, got ${String(sock)}`);
  }
}

/** asyncio's `loop.create_unix_connection(protocol_factory, path, *, sock)`. */
export async function createUnixConnection<P extends AnyProtocol>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  path: UnixPath | null = null,
  options: CreateUnixConnectionOptions = {},
): Promise<[Transport, P]> {
  loop._checkClosed();
  checkFactory(protocolFactory);
  const opts = options ?? {};
  // No host: serverHostname is needed with ssl (asyncio's 'You must set server_hostname').
  const ssl = sslSetup(opts, false);
  let sock: Socket;
  if (path !== null && path !== undefined) {
    if (opts.sock !== null && opts.sock !== undefined) throw new ValueError('path and sock can not be specified at the same time');
    const [p] = pathArg(path);
    sock = new S.Socket(S.AF_UNIX, S.SOCK_STREAM, 0);
    try {
      sock.setblocking(false);
      await connectResolved(loop, sock, p);
    } catch (e) {
      sock.close();
      throw e;
    }
  } else {
    if (opts.sock === null || opts.sock === undefined) throw new ValueError('no path and sock were specified');
    sock = socketArg(opts.sock);
    checkUnixStream(sock, opts.sock);
  }
  return connectionTransport(loop, sock, protocolFactory, undefined, ssl);
}

/** Removes a stale socket file at `path`, as asyncio does before bind(). */
async function removeStale(loop: SelectorEventLoop, path: UnixPath): Promise<void> {
  try {
    if ((await stat(fsPath(path))).isSocket()) await unlink(fsPath(path));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return;
    // Directory may have permissions only to create socket.
    loop.logger.error(`Unable to check or remove stale UNIX socket ${String(path)}: ${String(err)}`);
  }
}

/** asyncio's `loop.create_unix_server(protocol_factory, path, *, sock, backlog, start_serving)`. */
export async function createUnixServer(
  loop: SelectorEventLoop,
  protocolFactory: ProtocolFactory,
  path: UnixPath | null = null,
  options: CreateUnixServerOptions = {},
): Promise<Server> {
  loop._checkClosed();
  checkFactory(protocolFactory);
  const opts = options ?? {};
  const ssl = sslSetup(opts, true);
  const backlog = backlogArg(opts.backlog);
  let sock: Socket;
  if (path !== null && path !== undefined) {
    if (opts.sock !== null && opts.sock !== undefined) throw new ValueError('path and sock can not be specified at the same time');
    const [p, abstract] = serverPathArg(path);
    sock = new S.Socket(S.AF_UNIX, S.SOCK_STREAM);
    try {
      if (!abstract) await removeStale(loop, p);
      sock.bind(p);
    } catch (exc) {
      sock.close();
      if (exc instanceof OSError && exc.errno !== undefined && exc.errno === E.EADDRINUSE) {
        // Let's improve the error message by adding with what exact address it occurs.
        throw fromErrno(exc.errno, `Address ${reprPath(p)} is already in use`, { syscall: 'bind' });
      }
      throw exc;
    }
  } else {
    if (opts.sock === null || opts.sock === undefined) throw new ValueError('path was not specified, and no sock specified');
    sock = socketArg(opts.sock);
    checkUnixStream(sock, opts.sock);
  }
  sock.setblocking(false);
  const server = new Server(loop, [sock], ssl === null ? protocolFactory : sslServerFactory(loop, protocolFactory, ssl), backlog);
  if (opts.cleanupSocket) {
    try {
      const name = sock.getsockname();
      const bound = typeof name === 'string' ? name : null;
      if (bound !== null && bound.length > 0 && bound.charCodeAt(0) !== 0) {
        const st = statSync(bound);
        server._unixCleanup = { path: bound, dev: st.dev, ino: st.ino };
      }
    } catch {
      // Unbound, or the file is already gone: nothing to clean up.
    }
  }
  return startServer(server, opts.startServing ?? true);
}

/** Python's repr of a path: 'str' or b'bytes'. */
function reprPath(p: UnixPath): string {
  if (typeof p === 'string') return `'${p.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `b'${Buffer.from(p).toString('latin1').replace(/\0/g, '\\x00')}'`;
}
