/**
 * BaseSelector and the shared implementation of every backend: CPython 3.11
 * Lib/selectors.py `BaseSelector`, `_BaseSelectorImpl` and
 * `_SelectorMapping`, line for line where JavaScript allows.
 *
 * Beyond Python: selectAsync(timeout?, { signal }) waits without blocking
 * the JS thread (see @iomux/select's promise twins).
 */
import { pyTypeName } from '@iomux/core-native';
import { asFileDescriptorOrNegative } from '@iomux/select';
import { KeyError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { SelectorKey, repr } from './selector-key.js';

/** Ready for reading. */
export const EVENT_READ = 1 << 0;
/** Ready for writing. */
export const EVENT_WRITE = 1 << 1;

/** `selectAsync()`'s options beside its timeout: what asyncio's loop passes. */
export interface SelectAsyncOptions {
  /** Rejects the wait with the signal's reason when aborted. */
  signal?: AbortSignal;
  /** The caller just ran select(0) and found nothing: skip the first look. */
  assumeNotReady?: boolean;
}

/**
 * A selector's timeout in seconds as a number, or null to block. CPython's
 * selectors compare or multiply it first, so anything but a number (or an
 * int, here a bigint) is a TypeError there, and here.
 * @throws {TypeError} if timeout is not a number, a bigint or null
 */
export function selectorTimeout(timeout: unknown): number | null {
  if (typeof timeout === 'number') return timeout;
  if (timeout === null || timeout === undefined) return null;
  if (typeof timeout === 'bigint') return Number(timeout);
  throw new TypeError(`timeout must be a number or None, not '${pyTypeName(timeout)}'`);
}

/** What selectEach() calls for each ready key, with its ready events. */
export type Visit<D = unknown> = (key: SelectorKey<D>, events: number) => void;

/** @throws {TypeError} unless `visit` is a function */
export function checkVisit(visit: unknown, fname: string): void {
  if (typeof visit !== 'function') throw new TypeError(`${fname}() visit must be a function, not '${pyTypeName(visit)}'`);
}

/** What select() returns: each ready key with the events it is ready for. */
export type Ready<D = unknown> = Array<[SelectorKey<D>, number]>;

/**
 * `register`'s check: `if (not events) or (events & ~(EVENT_READ | EVENT_WRITE))`.
 * Compared, not masked: JS `&` would truncate 2 ** 32 to 0 and accept it.
 * @throws {TypeError} a mask Python's `&` refuses (1.5, '1')
 * @throws {ValueError} 'Invalid events: N' for any other mask but 1, 2, 3
 */
function checkEvents(events: unknown): void {
  if (events === EVENT_READ || events === EVENT_WRITE || events === (EVENT_READ | EVENT_WRITE)) return;
  // Python tests `not events` first; bool and bigint stand for its int.
  const falsy = events === null || events === undefined || events === '' || (Array.isArray(events) && events.length === 0);
  const intLike = typeof events === 'boolean' || typeof events === 'bigint' || Number.isInteger(events);
  if (!falsy && !intLike) throw new TypeError(`unsupported operand type(s) for &: '${pyTypeName(events)}' and 'int'`);
  throw new ValueError(`Invalid events: ${repr(events)}`);
}

/**
 * `_fileobj_to_fd`: the descriptor of `fileobj`.
 * @throws {ValueError} 'Invalid file object: ...' or 'Invalid file descriptor: N'
 */
export function fileobjToFd(fileobj: unknown): number {
  let fd: number;
  try {
    fd = asFileDescriptorOrNegative(fileobj);
  } catch (e) {
    if (e instanceof TypeError || e instanceof ValueError) {
      throw new ValueError(`Invalid file object: ${repr(fileobj)}`);
    }
    throw e;
  }
  if (fd < 0) throw new ValueError(`Invalid file descriptor: ${fd}`);
  return fd;
}

/**
 * A selector: registers file objects for events and waits for them.
 * Abstract, as Python's; use DefaultSelector or a backend class.
 */
export abstract class BaseSelector<D = unknown> implements Disposable {
  /**
   * Registers `fileobj` for `events` (EVENT_READ | EVENT_WRITE), with
   * optional `data`.
   * @throws {TypeError} if events is not an integer
   * @throws {ValueError} if events is invalid
   * @throws {KeyError} if fileobj is already registered
   * @throws {OSError} if fileobj is closed or otherwise unacceptable to the
   *   backend (only checked by some backends)
   */
  abstract register(fileobj: unknown, events: number, data?: D | null): SelectorKey<D>;

  /**
   * Unregisters `fileobj`; it may have been closed since it was registered.
   * @throws {KeyError} if fileobj is not registered
   */
  abstract unregister(fileobj: unknown): SelectorKey<D>;

  /**
   * Changes a registered file object's events or data.
   * @throws {KeyError} if fileobj is not registered
   */
  modify(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    this.unregister(fileobj);
    return this.register(fileobj, events, data);
  }

  /**
   * Waits until some registered file objects are ready, or `timeout`
   * seconds pass (null/omitted: wait forever; <= 0: poll). Returns
   * `[key, events]` pairs.
   */
  abstract select(timeout?: number | null): Ready<D>;

  /**
   * The promise twin of select(): the JS thread stays free while it waits.
   * `signal` aborts it; a second wait in flight is RuntimeError; close()
   * during a wait rejects it with ValueError.
   */
  abstract selectAsync(timeout?: number | null, options?: SelectAsyncOptions): Promise<Ready<D>>;

  /**
   * Beyond Python: ends a selectAsync() in flight now, resolving it with []
   * (an event loop woken by work from elsewhere). Returns whether a wait
   * was in flight.
   */
  abstract interruptWait(): boolean;

  /**
   * Beyond Python: select() that calls `visit(key, events)` once per ready
   * key instead of returning `[key, events]` pairs (for loops that must not
   * allocate per event); returns how many keys it visited. This default
   * goes through select(); a backend may read the events where its kernel
   * call left them. A subclass that changes what select() reports should
   * override this too. Throws as select() does, and TypeError when `visit`
   * is not a function.
   */
  selectEach(timeout: number | null | undefined, visit: Visit<D>): number {
    checkVisit(visit, 'selectEach');
    const ready = this.select(timeout);
    for (let i = 0; i < ready.length; i++) visit(ready[i]![0], ready[i]![1]);
    return ready.length;
  }

  /**
   * Beyond Python: the promise twin of selectEach(), as selectAsync() is
   * select()'s: `visit` runs once per ready key, then the promise resolves
   * with how many it visited (0 on a timeout or interruptWait()). A visit
   * that throws rejects the promise. This default goes through
   * selectAsync().
   */
  selectEachAsync(timeout: number | null | undefined, visit: Visit<D>, options?: SelectAsyncOptions): Promise<number> {
    try {
      checkVisit(visit, 'selectEachAsync');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.selectAsync(timeout, options).then((ready) => {
      for (let i = 0; i < ready.length; i++) visit(ready[i]![0], ready[i]![1]);
      return ready.length;
    });
  }

  /** Closes the selector and frees what it holds. */
  close(): void {}

  /**
   * The key registered for `fileobj`.
   * @throws {RuntimeError} 'Selector is closed'
   * @throws {KeyError} if fileobj is not registered
   */
  getKey(fileobj: unknown): SelectorKey<D> {
    const mapping = this.getMap();
    if (mapping === null) throw new RuntimeError('Selector is closed');
    if (mapping instanceof SelectorMapping) return mapping.getItem(fileobj);
    const key = mapping.get(fileobj as number);
    if (key === undefined) throw new KeyError(`${repr(fileobj)} is not registered`);
    return key;
  }

  /** A read-only live view fd -> key; null once closed. */
  abstract getMap(): ReadonlyMap<number, SelectorKey<D>> | null;

  /** Runs close() at the end of a `using` block, as Python's `with` does. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * `_SelectorMapping`: a live read-only Map view of a selector's keys, keyed
 * by descriptor. `get`/`has` also take the file object itself, as Python's
 * `mapping[fileobj]` does.
 */
export class SelectorMapping<D> implements ReadonlyMap<number, SelectorKey<D>> {
  readonly #selector: BaseSelectorImpl<D>;

  constructor(selector: BaseSelectorImpl<D>) {
    this.#selector = selector;
  }

  /** How many file objects are registered. */
  get size(): number {
    return this.#selector._fdToKey.size;
  }

  /**
   * Python's `mapping[fileobj]`.
   * @throws {KeyError} '... is not registered'
   * @throws {ValueError} if fileobj has no descriptor and is not registered
   */
  getItem(fileobj: unknown): SelectorKey<D> {
    const key = this.#selector._fdToKey.get(this.#selector._fileobjLookup(fileobj));
    if (key === undefined) throw new KeyError(`${repr(fileobj)} is not registered`);
    return key;
  }

  /** Map semantics: undefined for anything not registered. */
  get(fileobj: unknown): SelectorKey<D> | undefined {
    let fd: number;
    try {
      fd = this.#selector._fileobjLookup(fileobj);
    } catch (e) {
      if (e instanceof ValueError) return undefined;
      throw e;
    }
    return this.#selector._fdToKey.get(fd);
  }

  /** Whether `fileobj` (a descriptor or a file object) is registered. */
  has(fileobj: unknown): boolean {
    return this.get(fileobj) !== undefined;
  }

  /** Map semantics: `cb(key, fd, mapping)` for each registered key. */
  forEach(cb: (value: SelectorKey<D>, key: number, map: ReadonlyMap<number, SelectorKey<D>>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#selector._fdToKey) cb.call(thisArg, v, k, this);
  }

  // Map's own iterator types, spelled so the .d.ts compiles on TypeScript 5.0+
  // (they are IterableIterator there; MapIterator, named only since 5.6, here).
  entries(): ReturnType<Map<number, SelectorKey<D>>['entries']> {
    return this.#selector._fdToKey.entries();
  }

  keys(): ReturnType<Map<number, SelectorKey<D>>['keys']> {
    return this.#selector._fdToKey.keys();
  }

  values(): ReturnType<Map<number, SelectorKey<D>>['values']> {
    return this.#selector._fdToKey.values();
  }

  /** Iterates `[fd, key]` entries, as a Map does. */
  [Symbol.iterator](): ReturnType<Map<number, SelectorKey<D>>['entries']> {
    return this.entries();
  }

  /** `'SelectorMapping'`. */
  get [Symbol.toStringTag](): string {
    return 'SelectorMapping';
  }
}

/** `_BaseSelectorImpl`: the bookkeeping every backend shares. */
export abstract class BaseSelectorImpl<D = unknown> extends BaseSelector<D> {
  /** fd -> key. Backends and the mapping read it; only this class writes it. */
  _fdToKey = new Map<number, SelectorKey<D>>();
  #map: SelectorMapping<D> | null = new SelectorMapping<D>(this);

  /**
   * The descriptor of `fileobj`; if it has none any more (closed since it
   * was registered), the descriptor it was registered with.
   */
  _fileobjLookup(fileobj: unknown): number {
    try {
      return fileobjToFd(fileobj);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      // Do an exhaustive search.
      for (const key of this._fdToKey.values()) {
        if (key.fileobj === fileobj) return key.fd;
      }
      throw e;
    }
  }

  /** The error every call on this selector raises once it is closed. */
  protected _closedError(): ValueError {
    return new ValueError('I/O operation on closed selector');
  }

  /**
   * Differs from CPython: every closed selector raises, as a closed
   * EpollSelector does there (a closed SelectSelector or PollSelector
   * would select nothing, or block forever).
   */
  protected _checkOpen(): void {
    if (this.#map === null) throw this._closedError();
  }

  register(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    this._checkOpen();
    checkEvents(events);
    const key = new SelectorKey<D>(fileobj, this._fileobjLookup(fileobj), events, data);
    if (this._fdToKey.has(key.fd)) throw new KeyError(`${repr(fileobj)} (FD ${key.fd}) is already registered`);
    this._fdToKey.set(key.fd, key);
    return key;
  }

  unregister(fileobj: unknown): SelectorKey<D> {
    const fd = this.#lookupRegistered(fileobj);
    const key = this._fdToKey.get(fd)!;
    this._fdToKey.delete(fd);
    return key;
  }

  override modify(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    const fd = this.#lookupRegistered(fileobj);
    let key = this._fdToKey.get(fd)!;
    if (events !== key.events) {
      this.unregister(fileobj);
      key = this.register(fileobj, events, data);
    } else if (data !== key.data) {
      // Use a shortcut to update the data.
      key = key.withChanges({ data });
      this._fdToKey.set(key.fd, key);
    }
    return key;
  }

  /** The registered fd of `fileobj`, or KeyError '... is not registered'. */
  protected _registeredFd(fileobj: unknown): number {
    return this.#lookupRegistered(fileobj);
  }

  /** As CPython: a ValueError from the lookup propagates; unknown is KeyError. */
  #lookupRegistered(fileobj: unknown): number {
    const fd = this._fileobjLookup(fileobj);
    if (!this._fdToKey.has(fd)) throw new KeyError(`${repr(fileobj)} is not registered`);
    return fd;
  }

  override close(): void {
    this._fdToKey.clear();
    this.#map = null;
  }

  getMap(): ReadonlyMap<number, SelectorKey<D>> | null {
    return this.#map;
  }

  /** The key for `fd`, or null (the fd was unregistered meanwhile). */
  protected _keyFromFd(fd: number): SelectorKey<D> | null {
    return this._fdToKey.get(fd) ?? null;
  }
}
