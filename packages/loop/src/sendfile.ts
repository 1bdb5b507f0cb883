/**
 * sendfile: CPython 3.11 Lib/asyncio/base_events.py `sock_sendfile`,
 * `sendfile`, `_sock_sendfile_fallback`, `_sendfile_fallback` and
 * `_SendfileFallbackProtocol`, unix_events.py `_sock_sendfile_native`, and
 * selector_events.py `_sendfile_native`: a file sent to a socket or a
 * socket transport with zero-copy sendfile(2) (core-native's os.sendfile),
 * or, where that is not possible, read and sent in blocks.
 *
 * The file is a descriptor, an object with fileno(), or an
 * fs.promises.FileHandle; the fallback also takes an object with Python's
 * `readinto(view)` (and `seek(pos)`). Its position is left after what was
 * sent, as asyncio leaves it. Fallback reads go through Node's own async
 * fs.read (libuv's threads), where asyncio uses its default executor.
 *
 * While a transport's native sendfile runs, its write() raises
 * RuntimeError('unable to write; sendfile is in progress'), as asyncio's.
 * Differs from CPython: the wait for the transport's buffer to drain
 * checks every millisecond, not through a waiter the transport resolves.
 */
import * as fs from 'node:fs';
import { errnoConstants as E, os, pyTypeName, socket as S, Socket } from '@iomux/core-native';
import { ConnectionError, OSError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { asFileDescriptor } from '@iomux/select';
import type { Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { SelectorSocketTransport, type Transport } from './transports.js';
import { isRetryError } from './internal/retry.js';
import { fromNodeError } from './pipe-transports.js';

/** asyncio: constants.SENDFILE_FALLBACK_READBUFFER_SIZE */
const SENDFILE_FALLBACK_READBUFFER_SIZE = 256 * 1024;
/** asyncio's _sendfile_fallback block for transports. */
const TRANSPORT_FALLBACK_BLOCK = 16384;

/** asyncio.SendfileNotAvailableError: sendfile(2) cannot send this file to this socket. */
export class SendfileNotAvailableError extends RuntimeError {
  static override [Symbol.hasInstance](x: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, x);
  }
}
Object.defineProperty(SendfileNotAvailableError.prototype, 'name', { value: 'SendfileNotAvailableError', writable: true, configurable: true });

/** What sockSendfile and sendfile send: a descriptor, an object with fileno(), a FileHandle, or an object with readinto(). */
export type SendfileFile = number | object;

/** The options of `loop.sockSendfile()` and `loop.sendfile()`. */
export interface SendfileOptions {
  /** Read and send when sendfile(2) cannot be used (default true); else SendfileNotAvailableError. */
  fallback?: boolean;
  /**
   * Cancels the send (asyncio's task cancellation): the promise rejects with
   * the signal's reason, the socket's writer is removed and the file's
   * position is left after what was sent.
   */
  signal?: AbortSignal;
}

function repr(x: unknown): string {
  return typeof x === 'string' ? `'${x}'` : typeof x === 'bigint' ? `${x}` : String(x);
}

/** base_events.py `_check_sendfile_params`, for an offset and a count. */
function checkParams(offset: unknown, count: unknown): [number, number | null] {
  if (count !== null && count !== undefined) {
    if (!(typeof count === 'bigint' || (typeof count === 'number' && Number.isInteger(count)))) throw new TypeError(`count must be a positive integer (got ${repr(count)})`);
    if (count <= 0) throw new ValueError(`count must be a positive integer (got ${repr(count)})`);
  }
  if (!(typeof offset === 'bigint' || (typeof offset === 'number' && Number.isInteger(offset)))) throw new TypeError(`offset must be a non-negative integer (got ${repr(offset)})`);
  if (offset < 0) throw new ValueError(`offset must be a non-negative integer (got ${repr(offset)})`);
  return [Number(offset), count === null || count === undefined ? null : Number(count)];
}

/** The `signal` option: an AbortSignal or nothing. */
function checkSignal(signal: unknown): AbortSignal | null {
  if (signal === undefined || signal === null) return null;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, not '${pyTypeName(signal)}'`);
  return signal;
}

/** The file's descriptor, or null when it has none (an object with readinto()). */
function fdOf(file: unknown): number | null {
  try {
    return asFileDescriptor(file);
  } catch (e) {
    if (e instanceof TypeError) return null;
    throw e;
  }
}

/** Leaves the file's position at `pos`, where it has one. */
function seek(file: unknown, fd: number | null, pos: number): void {
  if (fd !== null) {
    try {
      os.lseek(fd, pos, os.SEEK_SET);
    } catch (e) {
      if (!(e instanceof OSError && e.errno === E.ESPIPE)) throw e;
    }
  } else if (typeof (file as { seek?: unknown }).seek === 'function') {
    (file as { seek(p: number): unknown }).seek(pos);
  }
}

/** One read into `view` from the file's position: Node's async fs.read, or the object's readinto(). */
function readinto(file: unknown, fd: number | null, view: Uint8Array): Promise<number> {
  if (fd === null) {
    const r = (file as { readinto?: unknown }).readinto;
    if (typeof r !== 'function') return Promise.reject(new TypeError(`file must be a descriptor, have a fileno() method or a readinto() method, not '${pyTypeName(file)}'`));
    return Promise.resolve(r.call(file, view) as number | Promise<number>);
  }
  return new Promise((resolve, reject) => {
    fs.read(fd, view, 0, view.length, null, (err, n) => (err ? reject(fromNodeError(err, 'read')) : resolve(n)));
  });
}

/** loop.sockSendfile(): base_events.py `sock_sendfile`. */
export async function sockSendfile(loop: SelectorEventLoop, sock: Socket, file: SendfileFile, offset: unknown, count: unknown, options: SendfileOptions): Promise<number> {
  loop._checkClosed();
  if (!(sock instanceof Socket)) throw new TypeError(`sock must be a socket, not '${pyTypeName(sock)}'`);
  if (loop.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
  if (sock.type !== S.SOCK_STREAM) throw new ValueError('only SOCK_STREAM type sockets are supported');
  const [off, cnt] = checkParams(offset, count);
  const signal = checkSignal(options.signal);
  try {
    return await sockSendfileNative(loop, sock, file, off, cnt, signal);
  } catch (e) {
    if (!(e instanceof SendfileNotAvailableError) || options.fallback === false) throw e;
  }
  return sockSendfileFallback(loop, sock, file, off, cnt, signal);
}

/** unix_events.py `_sock_sendfile_native`: sendfile(2) each time the socket is writable. */
async function sockSendfileNative(loop: SelectorEventLoop, sock: Socket, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
  const fileno = fdOf(file);
  let fsize: number;
  try {
    if (fileno === null) throw new TypeError();
    fsize = fs.fstatSync(fileno).size;
  } catch {
    throw new SendfileNotAvailableError('not a regular file');
  }
  let blocksize = count ? count : fsize;
  if (!blocksize) return 0; // empty file
  const fd = sock.fileno();
  let total = 0;
  let registered = false;
  signal?.throwIfAborted();
  return new Promise<number>((resolve, reject) => {
    const onAbort = (): void => done(signal!.reason, true);
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const done = (err: unknown, failed: boolean): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (registered) loop.removeWriter(fd);
      try {
        if (total > 0) os.lseek(fileno!, offset, os.SEEK_SET);
      } catch (e) {
        if (!failed) [err, failed] = [e, true];
      }
      if (failed) reject(err);
      else resolve(total);
    };
    const step = (): void => {
      if (settled) return;
      if (count) {
        blocksize = count - total;
        if (blocksize <= 0) return done(null, false);
      }
      let sent: number;
      try {
        sent = os.sendfile(fd, fileno!, offset, blocksize);
      } catch (exc) {
        if (isRetryError(exc)) return wait();
        let err = exc;
        if (registered && exc instanceof OSError && exc.errno === E.ENOTCONN) {
          // The connection closed in the middle: a ConnectionError on every POSIX system.
          err = new ConnectionError(E.ENOTCONN!, 'socket is not connected', { cause: exc });
        }
        return done(total === 0 && exc instanceof OSError ? new SendfileNotAvailableError('os.sendfile call failed', { cause: exc }) : err, true);
      }
      if (sent === 0) return done(null, false); // EOF
      offset += sent;
      total += sent;
      wait();
    };
    const wait = (): void => {
      if (!registered) loop.addWriter(fd, step);
      registered = true;
    };
    step();
  });
}

/**
 * loop.sockSendall(sock, data) that `signal` stops: the fallback's sends.
 * On abort the writer is removed and what was not sent stays unsent.
 */
function sendAll(loop: SelectorEventLoop, sock: Socket, data: Buffer, signal: AbortSignal | null): Promise<void> {
  if (signal === null) return loop.sockSendall(sock, data);
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const fd = sock.fileno();
    let rest = data;
    let waiting = false;
    const finish = (err?: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      if (waiting) loop.removeWriter(fd);
      waiting = false;
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish(signal.reason ?? new Error('aborted'));
    const step = (): void => {
      try {
        rest = rest.subarray(sock.send(rest));
      } catch (e) {
        if (!isRetryError(e)) return finish(e);
      }
      if (rest.length === 0) return finish();
      if (!waiting) loop.addWriter(fd, step);
      waiting = true;
    };
    signal.addEventListener('abort', onAbort, { once: true });
    step();
  });
}

/** base_events.py `_sock_sendfile_fallback`: reads the file and sockSendall()s each block. */
async function sockSendfileFallback(loop: SelectorEventLoop, sock: Socket, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
  const fd = fdOf(file);
  if (offset) seek(file, fd, offset);
  let blocksize = count ? Math.min(count, SENDFILE_FALLBACK_READBUFFER_SIZE) : SENDFILE_FALLBACK_READBUFFER_SIZE;
  const buf = Buffer.allocUnsafe(blocksize);
  let total = 0;
  try {
    for (;;) {
      if (count) {
        blocksize = Math.min(count - total, blocksize);
        if (blocksize <= 0) break;
      }
      signal?.throwIfAborted();
      const view = buf.subarray(0, blocksize);
      const read = await readinto(file, fd, view);
      if (!read) break; // EOF
      await sendAll(loop, sock, view.subarray(0, read), signal);
      total += read;
    }
    return total;
  } finally {
    if (total > 0) seek(file, fd, offset + total);
  }
}

/** loop.sendfile(): base_events.py `sendfile` on a socket transport. */
export async function sendfile(loop: SelectorEventLoop, transport: Transport, file: SendfileFile, offset: unknown, count: unknown, options: SendfileOptions): Promise<number> {
  loop._checkClosed();
  if (typeof (transport as { isClosing?: unknown })?.isClosing !== 'function') throw new TypeError(`transport must be a Transport, not '${pyTypeName(transport)}'`);
  if (transport.isClosing()) throw new RuntimeError('Transport is closing');
  // Only a socket transport can use sendfile(2) or the fallback (asyncio's TRY_NATIVE).
  if (!(transport instanceof SelectorSocketTransport)) throw new RuntimeError(`sendfile is not supported for transport ${String(transport)}`);
  const [off, cnt] = checkParams(offset, count);
  const signal = checkSignal(options.signal);
  try {
    return await sendfileNative(loop, transport, file, off, cnt, signal);
  } catch (e) {
    if (!(e instanceof SendfileNotAvailableError) || options.fallback === false) throw e;
  }
  return sendfileFallback(loop, transport, file, off, cnt, signal);
}

/** Resolves once the transport has nothing buffered (asyncio's `_make_empty_waiter`). */
async function emptied(loop: SelectorEventLoop, tr: Transport): Promise<void> {
  while (tr.getWriteBufferSize() > 0) {
    if (tr.isClosing()) throw new ConnectionError('Connection is closed by peer');
    await new Promise((r) => loop.callLater(0.001, r));
  }
}

/** selector_events.py `_sendfile_native`: reading paused, the buffer drained, then sockSendfile. */
async function sendfileNative(loop: SelectorEventLoop, tr: SelectorSocketTransport, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
  const resumeReading = tr.isReading();
  tr.pauseReading();
  tr._sendfileActive = true;
  try {
    await emptied(loop, tr);
    const sock = tr.getExtraInfo('socket') as Socket;
    return await sockSendfileNative(loop, sock, file, offset, count, signal);
  } finally {
    tr._sendfileActive = false;
    if (resumeReading) tr.resumeReading();
  }
}

/** base_events.py `_SendfileFallbackProtocol`: stands in for the protocol while the fallback writes. */
class SendfileFallbackProtocol implements Protocol {
  readonly #tr: SelectorTransport;
  readonly #proto;
  readonly #shouldResumeReading: boolean;
  readonly #shouldResumeWriting: boolean;
  #writeReady: { promise: Promise<void>; resolve(): void; reject(e: unknown): void } | null = null;

  constructor(tr: SelectorTransport) {
    this.#tr = tr;
    this.#proto = tr.getProtocol();
    this.#shouldResumeReading = tr.isReading();
    this.#shouldResumeWriting = tr._protocolPaused;
    tr.pauseReading();
    tr.setProtocol(this);
    if (this.#shouldResumeWriting) this.#writeReady = deferred();
  }

  /** Resolves once the transport takes more writes; rejects at `signal`'s abort. */
  async drain(signal: AbortSignal | null): Promise<void> {
    if (this.#tr.isClosing()) throw new ConnectionError('Connection closed by peer');
    const ready = this.#writeReady;
    if (ready === null) return;
    if (signal === null) return ready.promise;
    signal.throwIfAborted();
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([ready.promise, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  connectionMade(): void {
    throw new RuntimeError('Invalid state: connection should have been established already.');
  }

  connectionLost(exc: Error | null): void {
    // Never happens if peer disconnects after sending the whole content
    // Thus disconnection is always an exception from user perspective
    this.#writeReady?.reject(exc ?? new ConnectionError('Connection is closed by peer'));
    this.#proto.connectionLost?.(exc);
  }

  pauseWriting(): void {
    this.#writeReady ??= deferred();
  }

  resumeWriting(): void {
    this.#writeReady?.resolve();
    this.#writeReady = null;
  }

  dataReceived(): void {
    throw new RuntimeError('Invalid state: reading should be paused');
  }

  eofReceived(): boolean {
    throw new RuntimeError('Invalid state: reading should be paused');
  }

  restore(): void {
    this.#tr.setProtocol(this.#proto);
    if (this.#shouldResumeReading) this.#tr.resumeReading();
    this.#writeReady = null;
    if (this.#shouldResumeWriting) this.#proto.resumeWriting?.();
  }
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(e: unknown): void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** base_events.py `_sendfile_fallback`: 16 KiB blocks through write(), with the transport's flow control. */
async function sendfileFallback(loop: SelectorEventLoop, tr: SelectorSocketTransport, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
  const fd = fdOf(file);
  if (offset) seek(file, fd, offset);
  let blocksize = count ? Math.min(count, TRANSPORT_FALLBACK_BLOCK) : TRANSPORT_FALLBACK_BLOCK;
  const buf = Buffer.allocUnsafe(blocksize);
  let total = 0;
  const proto = new SendfileFallbackProtocol(tr);
  try {
    for (;;) {
      if (count) {
        blocksize = Math.min(count - total, blocksize);
        if (blocksize <= 0) return total;
      }
      signal?.throwIfAborted();
      const view = buf.subarray(0, blocksize);
      const read = await readinto(file, fd, view);
      if (!read) return total;
      await proto.drain(signal);
      signal?.throwIfAborted();
      tr.write(view.subarray(0, read));
      total += read;
    }
  } finally {
    if (total > 0) seek(file, fd, offset + total);
    proto.restore();
  }
}
