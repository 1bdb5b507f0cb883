/**
 * DevpollSelector: CPython 3.11 Lib/selectors.py `DevpollSelector`
 * (illumos, Solaris; on Linux through the addon's /dev/poll emulation,
 * which DefaultSelector never picks there).
 */
import { devpoll, POLLIN, POLLOUT, type Devpoll } from '@iomux/select';
import { ValueError } from '@iomux/core-native/error-classes';
import { checkVisit, selectorTimeout, type Ready, type SelectAsyncOptions, type Visit } from './base-selector.js';
import { PollLikeSelector, selectorEvents } from './poll-like-selector.js';
import { KeyVisits, pairs } from './key-visits.js';

// The complements of poll's read and write bits (see selectorEvents).
const NOT_READ = ~POLLIN;
const NOT_WRITE = ~POLLOUT;

/** /dev/poll timeouts are milliseconds, rounded away from zero; null blocks. */
function toMs(t: number | null | undefined): number | null {
  const timeout = selectorTimeout(t);
  if (timeout === null) return null;
  if (timeout <= 0) return 0;
  return Math.ceil(timeout * 1e3);
}

/** Solaris /dev/poll selector. */
export class DevpollSelector<D = unknown> extends PollLikeSelector<D, Devpoll> {
  /** This backend's name: `'devpoll'`. */
  static readonly backend: string = 'devpoll';
  /** Each ready descriptor's key, with poll's bits as EVENT_READ/EVENT_WRITE. */
  readonly #visits = new KeyVisits<D>(this._fdToKey, (event) => selectorEvents(event, NOT_READ, NOT_WRITE));

  constructor() {
    if (devpoll === undefined) throw new TypeError('DevpollSelector needs /dev/poll (illumos, Solaris, or the Linux emulation)');
    super(devpoll(), POLLIN, POLLOUT);
  }

  protected override _closedError(): ValueError {
    return new ValueError('I/O operation on closed devpoll object');
  }

  /** The /dev/poll descriptor. */
  fileno(): number {
    return this._selector.fileno();
  }

  select(timeout: number | null = null): Ready<D> {
    const ms = toMs(timeout);
    return pairs<D>((visit) => this.#each(ms, visit));
  }

  /** selectEach() on the devpoll object's pollEach(): no pairs at any level. */
  override selectEach(timeout: number | null | undefined, visit: Visit<D>): number {
    checkVisit(visit, 'selectEach');
    return this.#each(toMs(timeout), visit);
  }

  override selectEachAsync(timeout: number | null | undefined, visit: Visit<D>, options?: SelectAsyncOptions): Promise<number> {
    let ms: number | null;
    try {
      checkVisit(visit, 'selectEachAsync');
      this._checkOpen();
      ms = toMs(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#visits.later(visit, (onEvent) => this._selector.pollEachAsync(ms, onEvent, options));
  }

  /** On the devpoll object's pollEachAsync(), as selectEachAsync() (not through it). */
  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    let ms: number | null;
    try {
      this._checkOpen();
      ms = toMs(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#visits.pairsLater((onEvent) => this._selector.pollEachAsync(ms, onEvent, options));
  }

  /** One poll(ms) visiting each ready key: how many it visited. */
  #each(ms: number | null, visit: Visit<D>): number {
    this._checkOpen();
    return this.#visits.run(visit, (onEvent) => this._selector.pollEach(ms, onEvent));
  }
}
