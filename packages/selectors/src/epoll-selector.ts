/** EpollSelector: CPython 3.11 Lib/selectors.py `EpollSelector` (Linux). */
import { _EPOLL_RAW_EVENTS_AT, _EPOLL_RAW_FD_AT, _EPOLL_RAW_STRIDE, epoll, EPOLLIN, EPOLLOUT, ValueError, type Epoll } from '@iomux/select';
import { selectorTimeout, type Ready, type SelectAsyncOptions } from './base-selector.js';
import type { SelectorKey } from './selector-key.js';
import { PollLikeSelector, selectorEvents } from './poll-like-selector.js';

// Copied once: a package's re-exports are getters, called on every use.
const STRIDE = _EPOLL_RAW_STRIDE;
const FD_AT = _EPOLL_RAW_FD_AT;
const EV_AT = _EPOLL_RAW_EVENTS_AT;

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
  /** _ready, bound once: what each selectAsync() maps its result with. */
  readonly #toReady = (list: Array<[number, number]>): Ready<D> => this._ready(list);

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
    // epoll_wait() expects `maxevents` to be greater than zero; we want to
    // make sure that `select()` can be called when no FD is registered.
    const maxEv = Math.max(this._fdToKey.size, 1);
    return this._ready(this._selector.poll(toSeconds(timeout), maxEv));
  }

  /**
   * select(0) without the pairs: the kernel's events are read where it
   * wrote them and each ready key goes straight to `visit` (no [fd, events]
   * or [key, events] array per event). A subclass or an object whose
   * select() was replaced gets the plain path, so it sees every look.
   */
  override _selectNowEach(visit: (key: SelectorKey<D>, events: number) => void): number {
    if (this.select !== EPOLL_SELECT) return super._selectNowEach(visit);
    const n = this._selector._pollNowRaw(Math.max(this._fdToKey.size, 1));
    this.#visitRaw(n, visit);
    return n;
  }

  /** Visits the first `n` events in the epoll object's raw buffer. */
  #visitRaw(n: number, visit: (key: SelectorKey<D>, events: number) => void): void {
    const fdToKey = this._fdToKey;
    const out = this._selector._rawEvents();
    const notRead = ~this._EVENT_READ;
    const notWrite = ~this._EVENT_WRITE;
    for (let i = 0, j = 0; i < n; i++, j += STRIDE) {
      const key = fdToKey.get(out[j + FD_AT]!);
      if (key !== undefined) visit(key, selectorEvents(out[j + EV_AT]! >>> 0, notRead, notWrite) & key.events);
    }
  }

  /**
   * @internal selectAsync() for an event loop that visits the ready keys
   * itself (_visitWaited), with no [key, events] pairs: resolves with a
   * non-empty list (its contents mean nothing) when events are waiting, []
   * on a timeout or interruptWait(); null (nothing started) where
   * select() or selectAsync() was replaced, for selectAsync() instead.
   */
  _waitAsync(timeout: number | null, options: SelectAsyncOptions): Promise<unknown[]> | null {
    // A replaced select()/selectAsync() sees every look: the plain path.
    if (this.selectAsync !== EPOLL_SELECT_ASYNC || this.select !== EPOLL_SELECT) return null;
    return this._selector._pollAsyncRaw(toSeconds(timeout), Math.max(this._fdToKey.size, 1), options);
  }

  /**
   * @internal Visits what the last _waitAsync() found, as _selectNowEach
   * does without a look of its own; 0 when it found nothing or another
   * look came since. Returns how many events there were.
   */
  _visitWaited(visit: (key: SelectorKey<D>, events: number) => void): number {
    const n = this._selector._rawWaited();
    if (n > 0) this.#visitRaw(n, visit);
    return n;
  }

  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    let seconds: number;
    try {
      seconds = toSeconds(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    const maxEv = Math.max(this._fdToKey.size, 1);
    return this._selector._pollAsyncMapped(seconds, maxEv, options, this.#toReady);
  }
}

const EPOLL_SELECT = EpollSelector.prototype.select;
const EPOLL_SELECT_ASYNC = EpollSelector.prototype.selectAsync;
