/**
 * Server: CPython 3.11 Lib/asyncio/base_events.py `Server`, with the accept
 * loop of selector_events.py `_accept_connection`. Also an eventemitter3
 * emitter: 'connection' (transport), 'close'.
 */
import * as fs from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { errnoConstants as E, pyTypeName, socket as S, type Socket } from '@iomux/core-native';
import { BlockingIOError, ConnectionAbortedError, InterruptedError, OSError, RuntimeError } from '@iomux/core-native/error-classes';
import type { AnyProtocol, ProtocolFactory } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import { SelectorSocketTransport } from './transports.js';

/** asyncio: constants.ACCEPT_RETRY_DELAY (seconds). */
const ACCEPT_RETRY_DELAY = 1;
const RESOURCE_ERRNOS = new Set([E.EMFILE, E.ENFILE, E.ENOBUFS, E.ENOMEM]);

/** `server.address()`: where it listens, as Node's `net.Server.address()` says. */
export interface ServerAddress {
  /** The bound address (the path for AF_UNIX). */
  address: string;
  /** The address family. */
  family: 'IPv4' | 'IPv6' | 'unix';
  /** The bound port (0 for AF_UNIX). */
  port: number;
}

/** A Unix socket path to remove at close, if still the file bound (asyncio 3.13's cleanup_socket). */
export interface UnixCleanup {
  /** The path bound. */
  path: string | Buffer;
  /** Its device and inode right after bind(). */
  dev: number;
  /** Its inode. */
  ino: number;
}

/** `server.serveForever()`'s options. */
export interface ServeForeverOptions {
  /** Aborting it closes the server, waits for it, and rejects with the reason (asyncio's cancellation). */
  signal?: AbortSignal;
}

/**
 * asyncio's `Server` (CPython 3.11 base_events.py): the listening sockets of
 * `loop.createServer()` and `loop.createUnixServer()`, accepting until
 * closed. Also an eventemitter3 emitter: `'connection'` (transport) and
 * `'close'`.
 */
export class Server extends EventEmitter {
  /** @internal The loop it accepts on. */
  readonly _loop: SelectorEventLoop;
  /** @internal The listening sockets; null once closed. */
  _sockets: Socket[] | null;
  readonly #protocolFactory: ProtocolFactory;
  readonly #backlog: number;
  #activeCount = 0;
  #waiters: Array<() => void> | null = [];
  #serving = false;
  /** Settles serveForever() when the server closes. */
  #servingForever: (() => void) | null = null;
  /** @internal The Unix socket file to remove at close (createUnixServer with cleanupSocket). */
  _unixCleanup: UnixCleanup | null = null;

  constructor(loop: SelectorEventLoop, sockets: Socket[], protocolFactory: ProtocolFactory, backlog: number) {
    super();
    // Checked here: close() and waitClosed() must work on whatever was made.
    // (A server listens on a few addresses: a length past 65536 is a lie, or
    // a Proxy's, and checking every element of it would never end.)
    if (!Array.isArray(sockets) || sockets.length > 65536 || !sockets.every((s) => s instanceof S.Socket)) {
      throw new TypeError('sockets must be an array of Socket');
    }
    if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
    this._loop = loop;
    this._sockets = sockets;
    this.#protocolFactory = protocolFactory;
    this.#backlog = backlog;
  }

  /** @internal A transport of this server was made. */
  _attach(): void {
    this.#activeCount++;
  }

  /** @internal A transport of this server was closed. */
  _detach(): void {
    this.#activeCount--;
    if (this.#activeCount === 0 && this._sockets === null) this.#wakeup();
  }

  #wakeup(): void {
    const waiters = this.#waiters;
    this.#waiters = null;
    if (waiters !== null) for (const w of waiters) w();
  }

  /** The listening sockets (empty once closed). */
  get sockets(): Socket[] {
    return this._sockets === null ? [] : [...this._sockets];
  }

  /** Python's `server.is_serving()`: true while it accepts connections. */
  isServing(): boolean {
    return this.#serving;
  }

  /** The loop the server accepts on (Python's `server.get_loop()`). */
  getLoop(): SelectorEventLoop {
    return this._loop;
  }

  /**
   * Python's `server.start_serving()`: starts accepting, if not already
   * (servers start at once unless made with `startServing: false`).
   */
  async startServing(): Promise<void> {
    this._startServing();
    // Skip one loop iteration so that all the readers go through (asyncio's sleep(0)).
    if (this._loop.isRunning()) await new Promise<void>((resolve) => this._loop.callSoon(resolve));
  }

  /**
   * Python's `server.serve_forever()`: starts accepting, if not already, and
   * settles once the server is closed: resolves after `close()`; with
   * `signal`, an abort closes the server, waits for it (waitClosed) and
   * rejects with the abort's reason, as asyncio's cancellation does.
   * @throws {RuntimeError} if already awaited on serveForever(), or closed
   */
  async serveForever(options: ServeForeverOptions = {}): Promise<void> {
    if (this.#servingForever !== null) throw new RuntimeError(`server ${String(this)} is already being awaited on serve_forever()`);
    if (this._sockets === null) throw new RuntimeError(`server ${String(this)} is closed`);
    const signal = options?.signal;
    signal?.throwIfAborted();
    this._startServing();
    let onAbort: (() => void) | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#servingForever = resolve;
        if (signal !== undefined) {
          onAbort = () => {
            this.#servingForever = null;
            this.close();
            this.waitClosed().then(() => reject(signal.reason), reject);
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    } finally {
      if (onAbort !== null) signal!.removeEventListener('abort', onAbort);
      this.#servingForever = null;
    }
  }

  /** @internal Starts accepting (createServer does this). */
  _startServing(): void {
    if (this.#serving) return;
    this.#serving = true;
    for (const sock of this._sockets ?? []) {
      sock.listen(this.#backlog);
      this.#addAcceptReader(sock);
    }
  }

  #addAcceptReader(sock: Socket): void {
    this._loop._addReader(sock.fileno(), () => this.#acceptConnection(sock), []);
  }

  /** Accepts up to `backlog` connections per readiness, as asyncio does. */
  #acceptConnection(sock: Socket): void {
    for (let i = 0; i < this.#backlog; i++) {
      let conn: Socket;
      let addr: unknown;
      try {
        [conn, addr] = sock.accept();
        conn.setblocking(false);
      } catch (exc) {
        if (exc instanceof BlockingIOError || exc instanceof InterruptedError || exc instanceof ConnectionAbortedError) {
          return; // Early exit because the socket accept buffer is empty.
        }
        if (exc instanceof OSError && RESOURCE_ERRNOS.has(exc.errno)) {
          // There's nowhere to send the error, so just log it.
          this._loop.callExceptionHandler({
            message: 'socket.accept() out of system resource',
            exception: exc,
            socket: sock,
          });
          this._loop._removeReader(sock.fileno());
          this._loop.callLater(ACCEPT_RETRY_DELAY, () => {
            if (this.#serving && this._sockets !== null) this.#addAcceptReader(sock);
          });
          return;
        }
        throw exc; // The event loop will catch, log and ignore it.
      }
      let protocol: AnyProtocol;
      try {
        protocol = this.#protocolFactory();
      } catch (exc) {
        conn.close();
        this._loop.callExceptionHandler({ message: 'Error on transport creation for incoming connection', exception: exc, socket: conn });
        continue;
      }
      const transport = new SelectorSocketTransport(this._loop, conn, protocol, { peername: addr }, this);
      this.emit('connection', transport);
    }
  }

  /** Stops listening; open connections are left alone (as asyncio 3.11). */
  close(): void {
    const sockets = this._sockets;
    if (sockets === null) return;
    this._sockets = null;
    this.#serving = false;
    try {
      for (const sock of sockets) {
        this._loop._removeReader(sock.fileno());
        sock.close();
      }
      this.#cleanupUnixPath();
    } finally {
      const forever = this.#servingForever;
      this.#servingForever = null;
      forever?.();
      // waitClosed() settles even if a socket could not be closed.
      if (this.#activeCount === 0) this.#wakeup();
    }
    this.emit('close');
  }

  /** asyncio 3.13's `_stop_serving` for Unix sockets: unlinks the path if it is still ours. */
  #cleanupUnixPath(): void {
    const c = this._unixCleanup;
    if (c === null) return;
    this._unixCleanup = null;
    try {
      const st = fs.statSync(c.path);
      if (st.ino === c.ino && st.dev === c.dev) fs.unlinkSync(c.path);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return;
      this._loop.callExceptionHandler({ message: `Unable to clean up listening UNIX socket ${String(c.path)}`, exception: err });
    }
  }

  /** Python's repr: `<Server sockets=(...)>`. */
  override toString(): string {
    return `<Server sockets=(${this.sockets.map(String).join(', ')})>`;
  }

  /**
   * Resolves once the server is closed and its connections are gone.
   * Differs from CPython 3.11: as 3.12.1 (gh-79033), it waits for the open
   * connections even when called after close(); 3.11 returned at once then.
   */
  waitClosed(): Promise<void> {
    if (this.#waiters === null) return Promise.resolve();
    return new Promise((resolve) => this.#waiters!.push(resolve));
  }

  /** Node's `server.address()`: the first socket's, or null once closed. */
  address(): ServerAddress | null {
    const sock = this._sockets?.[0];
    if (sock === undefined) return null;
    const name = sock.getsockname();
    if (typeof name === 'string' || Buffer.isBuffer(name)) return { address: String(name), family: 'unix', port: 0 };
    const [address, port] = name as [string, number];
    return { address, family: sock.family === S.AF_INET6 ? 'IPv6' : 'IPv4', port };
  }

  /**
   * Closes the server and waits for it at the end of an `await using` block
   * (Python's `async with`).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }
}
