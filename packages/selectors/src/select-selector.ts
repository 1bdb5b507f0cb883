/**
 * SelectSelector: CPython 3.11 Lib/selectors.py `SelectSelector`, on
 * @iomux/select's select() (so descriptors must be below FD_SETSIZE).
 */
import { checkWaitOptions, select, selectAsync } from '@iomux/select';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { BaseSelectorImpl, EVENT_READ, EVENT_WRITE, selectorTimeout, type Ready, type SelectAsyncOptions } from './base-selector.js';
import type { SelectorKey } from './selector-key.js';

/** The abort reason interruptWait() uses: settles the wait with []. */
const INTERRUPTED = Symbol('iomux.interrupted');

/** Select-based selector. */
export class SelectSelector<D = unknown> extends BaseSelectorImpl<D> {
  /** This backend's name: `'select'`. */
  static readonly backend: string = 'select';
  #readers = new Set<number>();
  #writers = new Set<number>();
  #inFlight: AbortController | null = null;

  override register(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    const key = super.register(fileobj, events, data);
    if (events & EVENT_READ) this.#readers.add(key.fd);
    if (events & EVENT_WRITE) this.#writers.add(key.fd);
    return key;
  }

  override unregister(fileobj: unknown): SelectorKey<D> {
    const key = super.unregister(fileobj);
    this.#readers.delete(key.fd);
    this.#writers.delete(key.fd);
    return key;
  }

  select(timeout: number | null = null): Ready<D> {
    this._checkOpen();
    if (this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
    const sec = selectorTimeout(timeout);
    const t = sec === null ? null : Math.max(sec, 0);
    const [r, w] = select([...this.#readers], [...this.#writers], [], t);
    return this.#ready(r, w);
  }

  selectAsync(timeout: number | null = null, options?: SelectAsyncOptions): Promise<Ready<D>> {
    let user: AbortSignal | undefined;
    let t: number | null;
    try {
      this._checkOpen();
      if (this.#inFlight !== null) throw new RuntimeError('concurrent poll() invocation');
      user = checkWaitOptions(options, 'selectAsync');
      const sec = selectorTimeout(timeout);
      t = sec === null ? null : Math.max(sec, 0);
    } catch (e) {
      return Promise.reject(e);
    }
    // close() settles a wait in flight through this controller.
    const ac = new AbortController();
    const signal = user === undefined ? ac.signal : AbortSignal.any([user, ac.signal]);
    this.#inFlight = ac;
    return selectAsync([...this.#readers], [...this.#writers], [], t, { signal, assumeNotReady: options?.assumeNotReady }).then(
      ([r, w]) => {
        this.#inFlight = null;
        return this.#ready(r, w);
      },
      (e: unknown) => {
        this.#inFlight = null;
        if (ac.signal.aborted && ac.signal.reason === INTERRUPTED) return [];
        throw e;
      },
    );
  }

  interruptWait(): boolean {
    const ac = this.#inFlight;
    if (ac === null) return false;
    ac.abort(INTERRUPTED);
    return true;
  }

  #ready(r: number[], w: number[]): Ready<D> {
    const ready: Ready<D> = [];
    const rs = new Set(r);
    const ws = new Set(w);
    for (const fd of new Set([...r, ...w])) {
      let events = 0;
      if (rs.has(fd)) events |= EVENT_READ;
      if (ws.has(fd)) events |= EVENT_WRITE;
      const key = this._keyFromFd(fd);
      if (key !== null) ready.push([key, events & key.events]);
    }
    return ready;
  }

  override close(): void {
    this.#inFlight?.abort(new ValueError('I/O operation on closed selector'));
    this.#inFlight = null;
    this.#readers.clear();
    this.#writers.clear();
    super.close();
  }
}
