/** EpollSelector: CPython 3.11 Lib/selectors.py `EpollSelector` (Linux). */
import { epoll, EPOLLIN, EPOLLOUT, type Epoll } from '@iomux/select';
import { ValueError } from '@iomux/core-native/error-classes';
import { checkVisit, selectorTimeout, type Ready, type SelectAsyncOptions, type Visit } from './base-selector.js';
import { PollLikeSelector, selectorEvents } from './poll-like-selector.js';
import { KeyVisits, pairs } from './key-visits.js';

// The complements of epoll's read and write bits (see selectorEvents).
const NOT_READ = ~EPOLLIN!;
const NOT_WRITE = ~EPOLLOUT!;

/** epoll timeouts are seconds, rounded away from zero to the millisecond. */
function toSeconds(t: number | null | undefined): number {
  const timeout = selectorTimeout(t);
  if (timeout === null) return -1;
  if (timeout <= 0) return 0;
  // epoll_wait() has a resolution of 1 millisecond, round away from zero to
  // wait *at least* timeout seconds.
  return Math.ceil(timeout * 1e3) * 1e-3;
}

/** Epoll-based selector. */
export class EpollSelector<D = unknown> extends PollLikeSelector<D, Epoll> {
  /** This backend's name: `'epoll'`. */
  static readonly backend: string = 'epoll';
  /** Each ready descriptor's key, with epoll's bits as EVENT_READ/EVENT_WRITE. */
  readonly #visits = new KeyVisits<D>(this._fdToKey, (event) => selectorEvents(event, NOT_READ, NOT_WRITE));

  constructor() {
    if (epoll === undefined) throw new TypeError('EpollSelector needs epoll (Linux)');
    super(epoll(), EPOLLIN!, EPOLLOUT!);
  }

  protected override _closedError(): ValueError {
    return new ValueError('I/O operation on closed epoll object');
  }

  /** The epoll descriptor. */
  fileno(): number {
    return this._selector.fileno();
  }

  select(timeout: number | null = null): Ready<D> {
    const seconds = toSeconds(timeout);
    return pairs<D>((visit) => this.#each(seconds, visit));
  }

  /** selectEach() on the epoll object's pollEach(): no pairs at any level. */
  override selectEach(timeout: number | null | undefined, visit: Visit<D>): number {
    checkVisit(visit, 'selectEach');
    return this.#each(toSeconds(timeout), visit);
  }

  override selectEachAsync(timeout: number | null | undefined, visit: Visit<D>, options?: SelectAsyncOptions): Promise<number> {
    let seconds: number;
    try {
      checkVisit(visit, 'selectEachAsync');
      seconds = toSeconds(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    // epoll_wait() expects `maxevents` to be greater than zero.
    return this.#visits.later(visit, (onEvent) => this._selector.pollEachAsync(seconds, Math.max(this._fdToKey.size, 1), onEvent, options));
  }

  /** On the epoll object's pollEachAsync(), as selectEachAsync() (not through it): no visit closure, no then() hop when events are there at once. */
  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    let seconds: number;
    try {
      seconds = toSeconds(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#visits.pairsLater((onEvent) => this._selector.pollEachAsync(seconds, Math.max(this._fdToKey.size, 1), onEvent, options));
  }

  /** One poll(seconds) visiting each ready key: how many it visited. */
  #each(seconds: number, visit: Visit<D>): number {
    // epoll_wait() expects `maxevents` to be greater than zero; we want to
    // make sure that `select()` can be called when no FD is registered.
    return this.#visits.run(visit, (onEvent) => this._selector.pollEach(seconds, Math.max(this._fdToKey.size, 1), onEvent));
  }
}
