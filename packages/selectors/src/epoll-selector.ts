/** EpollSelector: CPython 3.11 Lib/selectors.py `EpollSelector` (Linux). */
import { epoll, EPOLLIN, EPOLLOUT, type Epoll } from '@iomux/select';
import type { Ready, SelectAsyncOptions } from './base-selector.js';
import { PollLikeSelector } from './poll-like-selector.js';

/** epoll timeouts are seconds, rounded away from zero to the millisecond. */
function toSeconds(timeout: number | null | undefined): number {
  if (timeout === null || timeout === undefined) return -1;
  if (timeout <= 0) return 0;
  // epoll_wait() has a resolution of 1 millisecond, round away from zero to
  // wait *at least* timeout seconds.
  return Math.ceil(timeout * 1e3) * 1e-3;
}

/** Epoll-based selector. */
export class EpollSelector<D = unknown> extends PollLikeSelector<D, Epoll> {
  static readonly backend: string = 'epoll';
  /** _ready, bound once: what each selectAsync() maps its result with. */
  readonly #toReady = (list: Array<[number, number]>): Ready<D> => this._ready(list);

  constructor() {
    if (epoll === undefined) throw new TypeError('EpollSelector needs epoll (Linux)');
    super(epoll(), EPOLLIN!, EPOLLOUT!);
  }

  /** The epoll descriptor. */
  fileno(): number {
    return this._selector.fileno();
  }

  select(timeout: number | null = null): Ready<D> {
    // epoll_wait() expects `maxevents` to be greater than zero; we want to
    // make sure that `select()` can be called when no FD is registered.
    const maxEv = Math.max(this._fdToKey.size, 1);
    return this._ready(this._selector.poll(toSeconds(timeout), maxEv));
  }

  selectAsync(timeout: number | null = null, options: SelectAsyncOptions = {}): Promise<Ready<D>> {
    const maxEv = Math.max(this._fdToKey.size, 1);
    return this._selector._pollAsyncMapped(toSeconds(timeout), maxEv, options, this.#toReady);
  }
}
