/**
 * KqueueSelector: CPython 3.11 Lib/selectors.py `KqueueSelector` (BSD,
 * macOS; on Linux through the addon's kqueue emulation, which
 * DefaultSelector never picks there).
 */
import { InterruptedError, OSError, ValueError } from '@iomux/core-native/error-classes';
import { kevent, kqueue, KQ_EV_ADD, KQ_EV_DELETE, KQ_FILTER_READ, KQ_FILTER_WRITE, type Kqueue, type KeventVisitor } from '@iomux/select';
import { BaseSelectorImpl, checkVisit, EVENT_READ, EVENT_WRITE, selectorTimeout, type Ready, type SelectAsyncOptions, type Visit } from './base-selector.js';
import type { SelectorKey } from './selector-key.js';
import { KeyVisits, pairs } from './key-visits.js';

// From the addon; absent without kqueue, where no KqueueSelector is made.
const READ = KQ_FILTER_READ!;
const WRITE = KQ_FILTER_WRITE!;
const ADD = KQ_EV_ADD!;
const DELETE = KQ_EV_DELETE!;

/** `max(timeout, 0)`, None kept: kqueue would ignore it with no events to wait for. */
function toSeconds(t: number | null | undefined): number | null {
  const timeout = selectorTimeout(t);
  return timeout === null ? null : Math.max(timeout, 0);
}

/** Kqueue-based selector. A key ready to read and write is reported twice, once per filter, as in CPython. */
export class KqueueSelector<D = unknown> extends BaseSelectorImpl<D> {
  /** This backend's name: `'kqueue'`. */
  static readonly backend: string = 'kqueue';
  /** @internal The kqueue object (CPython's `self._selector`). */
  protected readonly _selector: Kqueue;
  /** @internal One event per registered filter: what select() asks for. */
  protected _maxEvents = 0;
  /** Each ready descriptor's key, with a kevent's filter as EVENT_READ/EVENT_WRITE. */
  readonly #visits = new KeyVisits<D>(this._fdToKey, keyEvents);

  constructor() {
    if (kqueue === undefined) throw new TypeError('KqueueSelector needs kqueue (BSD, macOS, or the Linux emulation)');
    super();
    this._selector = kqueue();
  }

  protected override _closedError(): ValueError {
    return new ValueError('I/O operation on closed kqueue object');
  }

  /** The kqueue descriptor. */
  fileno(): number {
    return this._selector.fileno();
  }

  override register(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    const key = super.register(fileobj, events, data);
    try {
      if (events & EVENT_READ) {
        this._selector.control([kevent!(key.fd, READ, ADD)], 0, 0);
        this._maxEvents += 1;
      }
      if (events & EVENT_WRITE) {
        this._selector.control([kevent!(key.fd, WRITE, ADD)], 0, 0);
        this._maxEvents += 1;
      }
    } catch (e) {
      super.unregister(fileobj);
      throw e;
    }
    return key;
  }

  override unregister(fileobj: unknown): SelectorKey<D> {
    const key = super.unregister(fileobj);
    for (const [bit, filter] of [[EVENT_READ, READ], [EVENT_WRITE, WRITE]] as const) {
      if (!(key.events & bit)) continue;
      this._maxEvents -= 1;
      try {
        this._selector.control([kevent!(key.fd, filter, DELETE)], 0, 0);
      } catch (e) {
        // This can happen if the FD was closed since it was registered.
        if (!(e instanceof OSError)) throw e;
      }
    }
    return key;
  }

  select(timeout: number | null = null): Ready<D> {
    const seconds = toSeconds(timeout);
    return pairs<D>((visit) => this.#each(seconds, visit));
  }

  /** selectEach() on the kqueue's controlEach(): no kevent objects, no pairs. */
  override selectEach(timeout: number | null | undefined, visit: Visit<D>): number {
    checkVisit(visit, 'selectEach');
    return this.#each(toSeconds(timeout), visit);
  }

  override selectEachAsync(timeout: number | null | undefined, visit: Visit<D>, options?: SelectAsyncOptions): Promise<number> {
    let seconds: number | null;
    try {
      checkVisit(visit, 'selectEachAsync');
      this._checkOpen();
      seconds = toSeconds(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#visits.later(visit, (onEvent) =>
      this._selector.controlEachAsync(null, Math.max(this._maxEvents, 1), seconds, onEvent as KeventVisitor, options),
    );
  }

  /** On the kqueue's controlEachAsync(), as selectEachAsync() (not through it). */
  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    let seconds: number | null;
    try {
      this._checkOpen();
      seconds = toSeconds(timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#visits.pairsLater((onEvent) =>
      this._selector.controlEachAsync(null, Math.max(this._maxEvents, 1), seconds, onEvent as KeventVisitor, options),
    );
  }

  interruptWait(): boolean {
    return this._selector.interruptWait();
  }

  override close(): void {
    this._selector.close();
    super.close();
  }

  /** One control(None, ...) visiting each ready key: how many it visited. */
  #each(seconds: number | null, visit: Visit<D>): number {
    this._checkOpen();
    const max = Math.max(this._maxEvents, 1);
    return this.#visits.run(visit, (onEvent) => {
      try {
        // A descriptor's ident is a small number; the filter stands where OnEvent's event does.
        this._selector.controlEach(null, max, seconds, onEvent as KeventVisitor);
      } catch (e) {
        // CPython's select() returns what it has on InterruptedError.
        if (!(e instanceof InterruptedError)) throw e;
      }
    });
  }
}

/** A kevent's filter as EVENT_READ/EVENT_WRITE. */
function keyEvents(filter: number): number {
  if (filter === READ) return EVENT_READ;
  if (filter === WRITE) return EVENT_WRITE;
  return 0;
}
