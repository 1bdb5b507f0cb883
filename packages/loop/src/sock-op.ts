/**
 * The loop's sock_* pattern (CPython 3.11 Lib/asyncio/selector_events.py
 * `sock_recv`, `_sock_recv`, `sock_sendall`, `sock_sendto`, ...): try the
 * call at once, else add a reader or writer that retries it until it no
 * longer says EAGAIN, then remove it. An `AbortSignal` stands for asyncio's
 * cancellation: its abort removes the reader or writer (as the future's
 * `_sock_read_done`/`_sock_write_done` callback does) and rejects with the
 * signal's reason.
 */
import { pyTypeName } from '@iomux/core-native';
import type { Socket } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import { isRetryError } from './internal/retry.js';
import type { SelectorEventLoop } from './selector-events.js';

/** The trailing options of the sock* methods and the StreamReader reads. */
export interface AbortOptions {
  /** Cancels the operation (asyncio's task cancellation): it rejects with `signal.reason`. */
  signal?: AbortSignal | null;
}

/**
 * The `signal` of a trailing options object, checked: null when there is none.
 * @throws {TypeError} if `options` is not an object, or its `signal` not an AbortSignal
 */
export function signalOf(options: unknown): AbortSignal | null {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object') throw new TypeError(`options must be an object, not '${pyTypeName(options)}'`);
  const signal = (options as { signal?: unknown }).signal;
  if (signal === undefined || signal === null) return null;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, not '${pyTypeName(signal)}'`);
  return signal;
}

/** `op(signal)` with the checked signal of `options`; a bad one rejects with its TypeError. */
export function withSignal<T>(options: unknown, op: (signal: AbortSignal | null) => Promise<T>): Promise<T> {
  let signal: AbortSignal | null;
  try {
    signal = signalOf(options);
  } catch (e) {
    return Promise.reject(e);
  }
  return op(signal);
}

/**
 * A loop sock_* operation (selector_events.py's pattern): `op()` at once if
 * it can, else each time `sock` is ready until it no longer says EAGAIN.
 * Every error comes through the promise; an abort of `signal` removes the
 * reader or writer and rejects with its reason.
 */
export function sockOp<T>(loop: SelectorEventLoop, sock: Socket, write: boolean, op: () => T, signal: AbortSignal | null = null): Promise<T> {
  try {
    if (loop.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
    // As a task cancelled before it ran: nothing is done.
    if (signal?.aborted) return Promise.reject(signal.reason);
    return Promise.resolve(op());
  } catch (e) {
    if (!isRetryError(e)) return Promise.reject(e);
  }
  return new Promise<T>((resolve, reject) => {
    const fd = sock.fileno();
    const remove = (): void => {
      signal?.removeEventListener('abort', onAbort);
      if (write) loop.removeWriter(fd);
      else loop.removeReader(fd);
    };
    const onAbort = (): void => {
      remove();
      reject(signal!.reason);
    };
    const ready = (): void => {
      let r: T;
      try {
        r = op();
      } catch (e) {
        if (isRetryError(e)) return;
        remove();
        reject(e);
        return;
      }
      remove();
      resolve(r);
    };
    if (write) loop.addWriter(fd, ready);
    else loop.addReader(fd, ready);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * asyncio's `sock_sendall`: resolves once all of `data` is sent. An abort
 * removes the writer; what was not sent yet stays unsent (asyncio's
 * cancellation leaves the same).
 */
export async function sockSendall(loop: SelectorEventLoop, sock: Socket, data: ArrayBufferView, signal: AbortSignal | null): Promise<void> {
  if (loop.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
  if (!ArrayBuffer.isView(data)) throw new TypeError(`a bytes-like object is required, not '${pyTypeName(data)}'`);
  signal?.throwIfAborted();
  let view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let n = 0;
  try {
    n = sock.send(view);
  } catch (e) {
    if (!isRetryError(e)) throw e;
  }
  if (n === view.length) return;
  view = view.subarray(n);
  await new Promise<void>((resolve, reject) => {
    const fd = sock.fileno();
    const finish = (err?: unknown): void => {
      signal?.removeEventListener('abort', onAbort);
      loop.removeWriter(fd);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish(signal!.reason);
    const onWritable = (): void => {
      let sent: number;
      try {
        sent = sock.send(view);
      } catch (e) {
        if (isRetryError(e)) return;
        finish(e);
        return;
      }
      view = view.subarray(sent);
      if (view.length === 0) finish();
    };
    loop.addWriter(fd, onWritable);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
