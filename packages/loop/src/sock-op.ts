/**
 * The loop's sock_* pattern (CPython 3.11 Lib/asyncio/selector_events.py
 * `sock_recv`, `_sock_recv`, `sock_sendto`, `_sock_sendto`, ...): try the
 * call at once, else add a reader or writer that retries it until it no
 * longer says EAGAIN, then remove it.
 */
import type { Socket } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import { isRetryError } from './internal/retry.js';
import type { SelectorEventLoop } from './selector-events.js';

/**
 * A loop sock_* operation (selector_events.py's pattern): `op()` at once if
 * it can, else each time `sock` is ready until it no longer says EAGAIN.
 * Every error comes through the promise.
 */
export function sockOp<T>(loop: SelectorEventLoop, sock: Socket, write: boolean, op: () => T): Promise<T> {
  try {
    if (loop.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
    return Promise.resolve(op());
  } catch (e) {
    if (!isRetryError(e)) return Promise.reject(e);
  }
  return new Promise<T>((resolve, reject) => {
    const fd = sock.fileno();
    const remove = (): boolean => (write ? loop.removeWriter(fd) : loop.removeReader(fd));
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
  });
}
