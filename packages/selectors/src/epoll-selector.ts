/** EpollSelector: CPython 3.11 Lib/selectors.py `EpollSelector` (Linux). */
import { epoll, EPOLLIN, EPOLLOUT, type Epoll } from '@iomux/select';
import { ValueError } from '@iomux/core-native/error-classes';
import { checkVisit, selectorTimeout, type Ready, type SelectAsyncOptions, type Visit } from './base-selector.js';
import { PollLikeSelector, selectorEvents } from './poll-like-selector.js';

const NO_VISIT: Visit<any> = () => {};
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
  /** The visit of the #each() running now, and how many keys it was given. */
  #visitKey: Visit<D> = NO_VISIT;
  #visited = 0;

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
    const ready: Ready<D> = [];
    this.#each(toSeconds(timeout), (key, events) => ready.push([key, events]));
    return ready;
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
    // One closure per wait (not per event); its visit runs when the wait ends.
    let visited = 0;
    const fdToKey = this._fdToKey;
    const onEvent = (fd: number, event: number): void => {
      const key = fdToKey.get(fd);
      if (key === undefined) return;
      visited++;
      visit(key, selectorEvents(event, NOT_READ, NOT_WRITE) & key.events);
    };
    // epoll_wait() expects `maxevents` to be greater than zero.
    const waited = this._selector.pollEachAsync(seconds, Math.max(fdToKey.size, 1), onEvent, options);
    return waited.then(() => visited);
  }

  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    const ready: Ready<D> = [];
    return this.selectEachAsync(timeout, (key, events) => ready.push([key, events]), options).then(() => ready);
  }

  /** One poll(seconds) visiting each ready key: how many it visited. */
  #each(seconds: number, visit: Visit<D>): number {
    const outer = this.#visitKey;
    this.#visitKey = visit;
    this.#visited = 0;
    try {
      // epoll_wait() expects `maxevents` to be greater than zero; we want to
      // make sure that `select()` can be called when no FD is registered.
      this._selector.pollEach(seconds, Math.max(this._fdToKey.size, 1), this.#onEvent);
      return this.#visited;
    } finally {
      this.#visitKey = outer;
    }
  }

  /** One epoll event: its key, if still registered, goes to #visitKey. */
  readonly #onEvent = (fd: number, event: number): void => {
    const key = this._fdToKey.get(fd);
    if (key === undefined) return;
    this.#visited++;
    this.#visitKey(key, selectorEvents(event, NOT_READ, NOT_WRITE) & key.events);
  };
}
