/**
 * What sendfile-sock.ts and sendfile-transport.ts share: asyncio's
 * SendfileNotAvailableError, the options and their checks, and the file's
 * side (its descriptor, its position, one read).
 */
import * as fs from 'node:fs';
import { errnoConstants as E, os, pyTypeName } from '@iomux/core-native';
import { OSError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { asFileDescriptor } from '@iomux/select';
import { fromNodeError } from './pipe-transports.js';

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
export function checkParams(offset: unknown, count: unknown): [number, number | null] {
  if (count !== null && count !== undefined) {
    if (!(typeof count === 'bigint' || (typeof count === 'number' && Number.isInteger(count)))) throw new TypeError(`count must be a positive integer (got ${repr(count)})`);
    if (count <= 0) throw new ValueError(`count must be a positive integer (got ${repr(count)})`);
  }
  if (!(typeof offset === 'bigint' || (typeof offset === 'number' && Number.isInteger(offset)))) throw new TypeError(`offset must be a non-negative integer (got ${repr(offset)})`);
  if (offset < 0) throw new ValueError(`offset must be a non-negative integer (got ${repr(offset)})`);
  return [Number(offset), count === null || count === undefined ? null : Number(count)];
}

/** The `signal` option: an AbortSignal or nothing. */
export function checkSignal(signal: unknown): AbortSignal | null {
  if (signal === undefined || signal === null) return null;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, not '${pyTypeName(signal)}'`);
  return signal;
}

/** The file's descriptor, or null when it has none (an object with readinto()). */
export function fdOf(file: unknown): number | null {
  try {
    return asFileDescriptor(file);
  } catch (e) {
    if (e instanceof TypeError) return null;
    throw e;
  }
}

/** Leaves the file's position at `pos`, where it has one. */
export function seek(file: unknown, fd: number | null, pos: number): void {
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
export function readinto(file: unknown, fd: number | null, view: Uint8Array): Promise<number> {
  if (fd === null) {
    const r = (file as { readinto?: unknown }).readinto;
    if (typeof r !== 'function') return Promise.reject(new TypeError(`file must be a descriptor, have a fileno() method or a readinto() method, not '${pyTypeName(file)}'`));
    return Promise.resolve(r.call(file, view) as number | Promise<number>);
  }
  return new Promise((resolve, reject) => {
    fs.read(fd, view, 0, view.length, null, (err, n) => (err ? reject(fromNodeError(err, 'read')) : resolve(n)));
  });
}
