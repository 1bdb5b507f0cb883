/** PollSelector: CPython 3.11 Lib/selectors.py `PollSelector`. */
import { poll, POLLIN, POLLOUT, type Poll } from '@iomux/select';
import { ValueError } from '@iomux/core-native/error-classes';
import { selectorTimeout, type Ready, type SelectAsyncOptions } from './base-selector.js';
import { PollLikeSelector } from './poll-like-selector.js';

/** poll() timeouts are milliseconds, rounded away from zero. */
function toMs(t: number | null | undefined): number | null {
  const timeout = selectorTimeout(t);
  if (timeout === null) return null;
  if (timeout <= 0) return 0;
  // poll() has a resolution of 1 millisecond, round away from zero to wait
  // *at least* timeout seconds.
  return Math.ceil(timeout * 1e3);
}

/** Poll-based selector. */
export class PollSelector<D = unknown> extends PollLikeSelector<D, Poll> {
  /** This backend's name: `'poll'`. */
  static readonly backend: string = 'poll';

  constructor() {
    super(poll(), POLLIN, POLLOUT);
  }

  protected override _closedError(): ValueError {
    return new ValueError('I/O operation on closed poll object');
  }

  select(timeout: number | null = null): Ready<D> {
    this._checkOpen();
    return this._ready(this._selector.poll(toMs(timeout)));
  }

  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    let ms: number | null;
    try {
      this._checkOpen();
      ms = toMs(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this._selector.pollAsync(ms, options).then((list) => this._ready(list));
  }
}
