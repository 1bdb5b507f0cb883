/**
 * loop.sockSendfile(): sendfile(2) each time the socket is writable
 * (unix_events.py `_sock_sendfile_native`), or base_events.py's fallback
 * reading the file and sending each block. See sendfile.ts.
 */
import * as fs from 'node:fs';
import { errnoConstants as E, os, pyTypeName, socket as S, Socket } from '@iomux/core-native';
import { ConnectionError, OSError, ValueError } from '@iomux/core-native/error-classes';
import type { SelectorEventLoop } from './selector-events.js';
import { isRetryError } from './internal/retry.js';
import { SendfileNotAvailableError, checkParams, checkSignal, fdOf, readinto, seek, type SendfileFile, type SendfileOptions } from './sendfile-file.js';

/** asyncio: constants.SENDFILE_FALLBACK_READBUFFER_SIZE */
const SENDFILE_FALLBACK_READBUFFER_SIZE = 256 * 1024;

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
export async function sockSendfileNative(loop: SelectorEventLoop, sock: Socket, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
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
