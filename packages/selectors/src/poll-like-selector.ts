/**
 * `_PollLikeSelector`: CPython 3.11 Lib/selectors.py, shared by PollSelector
 * and EpollSelector. A backend is a few facts: the poller it makes and its
 * read and write bits.
 */
import { KeyError, OSError } from '@iomux/core-native/error-classes';
import { BaseSelectorImpl, EVENT_READ, EVENT_WRITE, type Ready, type SelectAsyncOptions } from './base-selector.js';
import { repr, type SelectorKey } from './selector-key.js';

/** The part of poll and epoll objects a selector uses. */
export interface Poller {
  /** Settles a wait in flight so that a new one can start; false when none was in flight. */
  interruptWait(): boolean;
  /** Starts watching `fd` for the poller's event bits in `mask`. */
  register(fd: number, mask: number): void;
  /** Changes the event bits `fd` is watched for. */
  modify(fd: number, mask: number): void;
  /** Stops watching `fd`. */
  unregister(fd: number): void;
  /** Releases the poller (an epoll object closes its descriptor). */
  close(): void;
}

/**
 * A poller's event bits as EVENT_READ/EVENT_WRITE, as CPython reads them:
 * anything but the read bit (error, hang-up included) makes it writable,
 * anything but the write bit readable. `notRead`/`notWrite` are the
 * complements of the poller's read and write bits.
 */
export function selectorEvents(event: number, notRead: number, notWrite: number): number {
  let events = 0;
  if (event & notRead) events |= EVENT_WRITE;
  if (event & notWrite) events |= EVENT_READ;
  return events;
}

export abstract class PollLikeSelector<D = unknown, P extends Poller = Poller> extends BaseSelectorImpl<D> {
  /** @internal The poller (CPython's `self._selector`). */
  protected readonly _selector: P;
  /** @internal The poller's read bit (POLLIN, EPOLLIN). */
  protected readonly _EVENT_READ: number;
  /** @internal The poller's write bit (POLLOUT, EPOLLOUT). */
  protected readonly _EVENT_WRITE: number;

  constructor(poller: P, read: number, write: number) {
    super();
    this._selector = poller;
    this._EVENT_READ = read;
    this._EVENT_WRITE = write;
  }

  override register(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    const key = super.register(fileobj, events, data);
    let pollerEvents = 0;
    if (events & EVENT_READ) pollerEvents |= this._EVENT_READ;
    if (events & EVENT_WRITE) pollerEvents |= this._EVENT_WRITE;
    try {
      this._selector.register(key.fd, pollerEvents);
    } catch (e) {
      super.unregister(fileobj);
      throw e;
    }
    return key;
  }

  override unregister(fileobj: unknown): SelectorKey<D> {
    const key = super.unregister(fileobj);
    try {
      this._selector.unregister(key.fd);
    } catch (e) {
      // This can happen if the FD was closed since it was registered.
      if (!(e instanceof OSError) && !(e instanceof KeyError)) throw e;
    }
    return key;
  }

  override modify(fileobj: unknown, events: number, data: D | null = null): SelectorKey<D> {
    const fd = this._registeredFd(fileobj);
    let key = this._fdToKey.get(fd);
    if (key === undefined) throw new KeyError(`${repr(fileobj)} is not registered`);
    let changed = false;
    if (events !== key.events) {
      let selectorEvents = 0;
      if (events & EVENT_READ) selectorEvents |= this._EVENT_READ;
      if (events & EVENT_WRITE) selectorEvents |= this._EVENT_WRITE;
      try {
        this._selector.modify(key.fd, selectorEvents);
      } catch (e) {
        super.unregister(fileobj);
        throw e;
      }
      changed = true;
    }
    if (data !== key.data) changed = true;
    if (changed) {
      key = key.withChanges({ events, data });
      this._fdToKey.set(key.fd, key);
    }
    return key;
  }

  /** Turns the poller's [fd, event] pairs into [key, events]. */
  protected _ready(fdEventList: Array<[number, number]>): Ready<D> {
    const ready: Ready<D> = [];
    const notRead = ~this._EVENT_READ;
    const notWrite = ~this._EVENT_WRITE;
    for (let i = 0; i < fdEventList.length; i++) {
      const [fd, event] = fdEventList[i]!;
      const key = this._fdToKey.get(fd);
      if (key !== undefined) ready.push([key, selectorEvents(event, notRead, notWrite) & key.events]);
    }
    return ready;
  }

  interruptWait(): boolean {
    return this._selector.interruptWait();
  }

  abstract override select(timeout?: number | null): Ready<D>;
  abstract override selectAsync(timeout?: number | null, options?: SelectAsyncOptions): Promise<Ready<D>>;

  override close(): void {
    this._selector.close();
    super.close();
  }
}
