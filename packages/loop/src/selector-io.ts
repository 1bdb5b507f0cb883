/**
 * The selector half of SelectorEventLoop (selector-events.ts), as its base
 * class: the selector and the loop's I/O batches, the one look per
 * iteration (_select) that queues the ready readers and writers, and the
 * readers and writers themselves (CPython 3.11 Lib/asyncio/selector_events.py,
 * `_add_reader` to `remove_writer`). The sock_* methods, servers,
 * connections, pipes and subprocesses are SelectorEventLoop's.
 */
import { pyTypeName } from '@iomux/core-native';
import { ValueError } from '@iomux/core-native/error-classes';
import {
  DefaultSelector,
  EVENT_READ as SELECTORS_EVENT_READ,
  EVENT_WRITE as SELECTORS_EVENT_WRITE,
  selectorClass,
  BaseSelector,
  type Ready,
  type SelectorKey,
} from '@iomux/selectors';
import { BaseEventLoop, type Timeout } from './base-events.js';
import { Handle } from './events.js';
import { ReadBatch, WriteBatch, type BatchTransport } from './internal/io-batch.js';
import { DatagramSends } from './datagram-send.js';

type Callback = (...args: any[]) => unknown;
/** What a key's data holds: [reader, writer]. */
type ReaderWriter = [Handle | null, Handle | null];

// Local copies: an imported name compiles to a load from the package's
// exports object, which is in dictionary mode (its re-exports are getters),
// and these are read for every event the selector reports.
const EVENT_READ = SELECTORS_EVENT_READ;
const EVENT_WRITE = SELECTORS_EVENT_WRITE;
const NOT_READY = Object.freeze({ assumeNotReady: true });

/** Options of `new EventLoop()` and `run()`. */
export interface EventLoopOptions {
  /** A selector instance or a backend name ('epoll', 'poll', 'select'). */
  selector?: BaseSelector | string;
}

/**
 * @internal SelectorEventLoop's base: I/O through a selector (see the
 * module comment). Not exported from the package: use SelectorEventLoop.
 */
export abstract class SelectorIO extends BaseEventLoop {
  /** @internal The selector; each key's data is [reader handle, writer handle]. */
  readonly _selector: BaseSelector<ReaderWriter>;

  /** @internal The writes of this turn, sent before the next look (io-batch.ts). */
  readonly _writeBatch = new WriteBatch();
  /** @internal The transports this look found readable, received for in chunks. */
  readonly _readBatch = new ReadBatch();
  /** @internal The datagram transports' sendto()s of this turn, one sendmmsg each (datagram-send.ts). */
  readonly _datagramSends = new DatagramSends();

  constructor(options: EventLoopOptions | null = {}) {
    super();
    const sel = options?.selector;
    if (sel === undefined) this._selector = new DefaultSelector<ReaderWriter>();
    else if (typeof sel === 'string') this._selector = new (selectorClass(sel))() as BaseSelector<ReaderWriter>;
    else if (sel instanceof BaseSelector) this._selector = sel as BaseSelector<ReaderWriter>;
    // Checked here, not at the first turn, where it would fail inside the loop.
    else throw new TypeError(`selector must be a BaseSelector or a backend name, not '${pyTypeName(sel)}'`);
  }

  override close(): void {
    if (this.isRunning()) super.close(); // throws
    if (this.isClosed()) return;
    super.close();
    this._selector.close();
  }

  // ------------------------------------------------------------ I/O waits

  /**
   * CPython's `selector.select(timeout)` then `_process_events(event_list)`,
   * in one pass: the selector hands each ready key to #processEvent.
   */
  protected _select(timeout: Timeout): number | Promise<number> {
    this._readBatch.clear();
    // _runOnce has just looked with timeout 0 and found nothing.
    if (timeout !== 0) return this._selector.selectEachAsync(timeout, this.#processEvent, NOT_READY);
    return this._selector.selectEach(0, this.#processEvent);
  }

  protected _interruptSelect(): void {
    // Resolves the wait in flight with [] (no AbortController per wait).
    this._selector.interruptWait();
  }

  protected _hasWaiters(): boolean {
    const m = this._selector.getMap();
    return m !== null && m.size > 0;
  }

  /** CPython's `_process_events`: queues the callbacks of `[key, events]` pairs. */
  _processEvents(eventList: Ready<ReaderWriter>): void {
    this._readBatch.clear();
    for (let i = 0; i < eventList.length; i++) this.#processEvent(eventList[i]![0], eventList[i]![1]);
  }

  /** Queues the reader and/or writer of one ready key. */
  readonly #processEvent = (key: SelectorKey<ReaderWriter>, mask: number): void => {
    // Indexed, not destructured: no iterator protocol per event.
    const rw = key.data!;
    const reader = rw[0];
    const writer = rw[1];
    if (mask & EVENT_READ && reader !== null) {
      if (reader._cancelled) {
        this._removeReader(key.fd);
      } else {
        this._ready.push(reader);
        // A transport's reader: its bytes come in the look's read batch.
        const t = reader._reads as BatchTransport | null;
        if (t !== null) this._readBatch.add(t);
      }
    }
    if (mask & EVENT_WRITE && writer !== null) {
      if (writer._cancelled) this._removeWriter(key.fd);
      else this._ready.push(writer);
    }
  };

  override _flushWrites(): void {
    if (this._datagramSends.size !== 0) this._datagramSends.flush(this);
    const batch = this._writeBatch;
    if (batch.size === 0) return;
    const open = this._batchOpen;
    // What the protocols' callbacks write meanwhile goes out at once, after
    // every short send's rest is buffered.
    this._batchOpen = false;
    try {
      batch.send(this.#reportSend);
    } finally {
      this._batchOpen = open;
    }
  }

  /** What a transport's notification after the write batch threw. */
  readonly #reportSend = (t: BatchTransport, exc: unknown): void => {
    // As from the callback that wrote (an 'error' listener that throws).
    this.callExceptionHandler({ message: `Exception in callback ${String(t)} (its batched write)`, exception: exc, transport: t });
  };

  // ------------------------------------------------------ readers/writers

  #key(fd: unknown): SelectorKey<ReaderWriter> | undefined {
    const m = this._selector.getMap();
    if (m === null) throw new ValueError('Selector is closed'); // loop closed
    return m.get(fd as number);
  }

  /** @internal addReader() with the arguments as an array; returns the handle. */
  _addReader(fd: unknown, callback: Callback, args: unknown[]): Handle {
    this._checkClosed();
    const handle = new Handle(callback, args, this);
    const key = this.#key(fd);
    if (key === undefined) {
      this._selector.register(fd, EVENT_READ, [handle, null]);
    } else {
      const [reader, writer] = key.data!;
      this._selector.modify(fd, key.events | EVENT_READ, [handle, writer]);
      reader?.cancel();
    }
    this._wakeup();
    return handle;
  }

  /** @internal removeReader(). */
  _removeReader(fd: unknown): boolean {
    if (this.isClosed()) return false;
    const key = this.#key(fd);
    if (key === undefined) return false;
    const [reader, writer] = key.data!;
    const mask = key.events & ~EVENT_READ;
    if (!mask) this._selector.unregister(fd);
    else this._selector.modify(fd, mask, [null, writer]);
    if (reader !== null) {
      reader.cancel();
      return true;
    }
    return false;
  }

  /** @internal addWriter() with the arguments as an array; returns the handle. */
  _addWriter(fd: unknown, callback: Callback, args: unknown[]): Handle {
    this._checkClosed();
    const handle = new Handle(callback, args, this);
    const key = this.#key(fd);
    if (key === undefined) {
      this._selector.register(fd, EVENT_WRITE, [null, handle]);
    } else {
      const [reader, writer] = key.data!;
      this._selector.modify(fd, key.events | EVENT_WRITE, [reader, handle]);
      writer?.cancel();
    }
    this._wakeup();
    return handle;
  }

  /** @internal removeWriter(). */
  _removeWriter(fd: unknown): boolean {
    if (this.isClosed()) return false;
    const key = this.#key(fd);
    if (key === undefined) return false;
    const [reader, writer] = key.data!;
    const mask = key.events & ~EVENT_WRITE;
    if (!mask) this._selector.unregister(fd);
    else this._selector.modify(fd, mask, [reader, null]);
    if (writer !== null) {
      writer.cancel();
      return true;
    }
    return false;
  }

  /** Calls `callback(...args)` whenever `fd` is readable. */
  addReader(fd: unknown, callback: Callback, ...args: unknown[]): void {
    this._addReader(fd, callback, args);
  }

  /** Stops watching `fd` for reading; false if it was not watched. */
  removeReader(fd: unknown): boolean {
    return this._removeReader(fd);
  }

  /** Calls `callback(...args)` whenever `fd` is writable. */
  addWriter(fd: unknown, callback: Callback, ...args: unknown[]): void {
    this._addWriter(fd, callback, args);
  }

  /** Stops watching `fd` for writing; false if it was not watched. */
  removeWriter(fd: unknown): boolean {
    return this._removeWriter(fd);
  }
}
