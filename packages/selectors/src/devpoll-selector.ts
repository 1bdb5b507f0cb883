/**
 * DevpollSelector: CPython 3.11 Lib/selectors.py `DevpollSelector`
 * (illumos, Solaris; on Linux through the addon's /dev/poll emulation,
 * which DefaultSelector never picks there).
 */
import { devpoll, POLLIN, POLLOUT, type Devpoll } from '@iomux/select';
import { ValueError } from '@iomux/core-native/error-classes';
import { checkVisit, selectorTimeout, type Ready, type SelectAsyncOptions, type Visit } from './base-selector.js';
import { PollLikeSelector, selectorEvents } from './poll-like-selector.js';

const NO_VISIT: Visit<any> = () => {};
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
  /** The visit of the #each() running now, and how many keys it was given. */
  #visitKey: Visit<D> = NO_VISIT;
  #visited = 0;

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
    const ready: Ready<D> = [];
    this.#each(toMs(timeout), (key, events) => ready.push([key, events]));
    return ready;
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
    // One closure per wait (not per event); its visit runs when the wait ends.
    let visited = 0;
    const fdToKey = this._fdToKey;
    const onEvent = (fd: number, event: number): void => {
      const key = fdToKey.get(fd);
      if (key === undefined) return;
      visited++;
      visit(key, selectorEvents(event, NOT_READ, NOT_WRITE) & key.events);
    };
    return this._selector.pollEachAsync(ms, onEvent, options).then(() => visited);
  }

  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    const ready: Ready<D> = [];
    return this.selectEachAsync(timeout, (key, events) => ready.push([key, events]), options).then(() => ready);
  }

  /** One poll(ms) visiting each ready key: how many it visited. */
  #each(ms: number | null, visit: Visit<D>): number {
    this._checkOpen();
    const outer = this.#visitKey;
    this.#visitKey = visit;
    this.#visited = 0;
    try {
      this._selector.pollEach(ms, this.#onEvent);
      return this.#visited;
    } finally {
      this.#visitKey = outer;
    }
  }

  /** One ready descriptor: its key, if still registered, goes to #visitKey. */
  readonly #onEvent = (fd: number, event: number): void => {
    const key = this._fdToKey.get(fd);
    if (key === undefined) return;
    this.#visited++;
    this.#visitKey(key, selectorEvents(event, NOT_READ, NOT_WRITE) & key.events);
  };
}
