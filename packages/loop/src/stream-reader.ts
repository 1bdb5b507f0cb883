/**
 * StreamReader: CPython 3.11 Lib/asyncio/streams.py's StreamReader (read,
 * readline, readexactly, readuntil, async iteration, limits with asyncio's
 * errors), and the errors it raises. Each read takes a trailing `{ signal
 * }`, asyncio's cancellation: an abort rejects the read with the signal's
 * reason and drops its waiter; the bytes received stay in the buffer.
 */
import { describe, pyTypeName, toInt } from '@iomux/core-native';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { ByteBuffer } from './internal/bytebuf.js';
import { signalOf, type AbortOptions } from './sock-op.js';
import type { Transport } from './transports.js';

/** asyncio: _DEFAULT_LIMIT, 64 KiB. */
export const DEFAULT_LIMIT = 2 ** 16;

/** asyncio.IncompleteReadError (an EOFError): the stream ended early. */
export class IncompleteReadError extends Error {
  /** The bytes read before the end of the stream. */
  readonly partial: Buffer;
  /** The bytes asked for; null when reading up to a separator. */
  readonly expected: number | null;
  constructor(partial: Buffer, expected: number | null) {
    // describe(): a hostile `expected` (a huge array) still makes a message.
    const r = expected === null ? 'undefined' : describe(expected);
    super(`${describe(partial?.length)} bytes read on a total of ${r} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
}
IncompleteReadError.prototype.name = 'IncompleteReadError';

/** asyncio.LimitOverrunError: the buffer limit was reached looking for a separator. */
export class LimitOverrunError extends Error {
  /** How many bytes to consume (asyncio's `consumed`). */
  readonly consumed: number;
  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}
LimitOverrunError.prototype.name = 'LimitOverrunError';

export interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

/** A read(n) waiting for data: feedData()/feedEof() settle it directly. */
interface ReadWaiter {
  readonly n: number;
  resolve(data: Buffer): void;
  reject(e: unknown): void;
}

export function deferred(): [Promise<void>, Waiter] {
  let w!: Waiter;
  const p = new Promise<void>((resolve, reject) => (w = { resolve, reject }));
  return [p, w];
}

/**
 * asyncio's `StreamReader`: reads from a connection as promises (`await
 * reader.read(n)`, `readline()`, `readexactly(n)`, `readuntil(sep)`, and `for
 * await`). End of stream is an empty Buffer, which is truthy: test
 * `data.length === 0`, not `!data`.
 */
export class StreamReader implements AsyncIterable<Buffer> {
  /** @internal The buffer limit, in bytes. */
  readonly _limit: number;
  /** @internal The bytes received, not yet read. */
  _buffer = new ByteBuffer();
  /** @internal feedEof() has run. */
  _eof = false;
  #waiter: Waiter | null = null;
  /**
   * read(n)'s waiter: settled with the data itself (one promise, no async
   * frames between the transport and the awaiting code).
   */
  #readWaiter: ReadWaiter | null = null;
  /** @internal setException()'s error, or null. */
  _exception: unknown = null;
  /** @internal The transport, for pausing and resuming reading. */
  _transport: Transport | null = null;
  /** @internal Reading is paused (the buffer is over twice the limit). */
  _paused = false;

  constructor(limit: number = DEFAULT_LIMIT) {
    // The line length limit is a security feature; it also doubles as half
    // the buffer limit.
    this._limit = checkLimit(limit);
  }

  /** Python's `reader.exception()`: the error set by setException(), or null. */
  exception(): unknown {
    return this._exception;
  }

  /** Makes every pending and later read reject with `exc`. */
  setException(exc: unknown): void {
    this._exception = exc;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.reject(exc);
    }
    const r = this.#readWaiter;
    if (r !== null) {
      this.#readWaiter = null;
      r.reject(exc);
    }
  }

  #wakeupWaiter(): void {
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve();
    }
    const r = this.#readWaiter;
    if (r !== null) {
      this.#readWaiter = null;
      const data = this._buffer.take(r.n);
      this.#maybeResumeTransport();
      r.resolve(data);
    }
  }

  /** Attaches the transport whose reading this reader pauses and resumes (once only). */
  setTransport(transport: Transport): void {
    if (this._transport !== null) throw new RuntimeError('Transport already set');
    this._transport = transport;
  }

  #maybeResumeTransport(): void {
    if (this._paused && this._buffer.length <= this._limit) {
      this._paused = false;
      this._transport!.resumeReading();
    }
  }

  /** Marks the end of stream: reads return what is left, then an empty Buffer. */
  feedEof(): void {
    this._eof = true;
    this.#wakeupWaiter();
  }

  /** Python's `reader.at_eof()`: true once the stream ended and the buffer is empty. */
  atEof(): boolean {
    return this._eof && this._buffer.length === 0;
  }

  /** Appends received bytes (copied), waking a pending read. */
  feedData(view: ArrayBufferView): void {
    const data = view instanceof Uint8Array ? view : bytesView(view);
    if (this._eof) throw new RuntimeError('feed_data after feed_eof');
    if (data.length === 0) return;
    this._buffer.extend(data);
    this.#wakeupWaiter();
    if (this._transport !== null && !this._paused && this._buffer.length > 2 * this._limit) {
      this._transport.pauseReading();
      this._paused = true;
    }
  }

  /**
   * @internal feedData() for a Buffer the reader may keep (the transport's
   * fresh Buffer for each recv(), as asyncio's immutable bytes): a read(n)
   * waiting on an empty buffer gets that very Buffer, with no copy.
   */
  _feedOwned(data: Buffer): void {
    const r = this.#readWaiter;
    if (r !== null && this._buffer.length === 0 && data.length <= r.n && data.length > 0 && !this._eof) {
      this.#readWaiter = null;
      r.resolve(data);
      return;
    }
    this.feedData(data);
  }

  /** A reader about to wait reads again, whatever the buffer holds. */
  #resumeIfPaused(): void {
    if (this._paused) {
      this._paused = false;
      this._transport!.resumeReading();
    }
  }

  /**
   * Waits until feedData() or feedEof() is called; an abort of `signal`
   * drops the waiter (asyncio's finally: `self._waiter = None`).
   */
  async #waitForData(funcName: string, signal: AbortSignal | null): Promise<void> {
    if (this.#waiter !== null || this.#readWaiter !== null) {
      throw new RuntimeError(`${funcName}() called while another coroutine is already waiting for incoming data`);
    }
    signal?.throwIfAborted();
    this.#resumeIfPaused();
    const [p, w] = deferred();
    this.#waiter = w;
    if (signal === null) return p;
    const onAbort = (): void => {
      if (this.#waiter === w) this.#waiter = null;
      w.reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await p;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Puts bytes an aborted read(-1) took back in front of the buffer. */
  #unread(data: Buffer): void {
    const rest = this._buffer.view();
    const buf = new ByteBuffer();
    buf.extend(data);
    buf.extend(rest);
    this._buffer = buf;
  }

  /** Reads one line (up to and including b'\n'); at EOF, what is left. */
  async readline(options?: AbortOptions): Promise<Buffer> {
    const sep = NEWLINE;
    try {
      return await this.readuntil(sep, options);
    } catch (e) {
      if (e instanceof IncompleteReadError) return e.partial;
      if (e instanceof LimitOverrunError) {
        if (this._buffer.startsWith(sep, e.consumed)) this._buffer.drop(e.consumed + sep.length);
        else this._buffer.clear();
        this.#maybeResumeTransport();
        throw new ValueError(e.message);
      }
      throw e;
    }
  }

  /** Reads up to and including `separator`. */
  async readuntil(separator: Uint8Array | string = NEWLINE, options?: AbortOptions): Promise<Buffer> {
    const signal = signalOf(options);
    const sep = typeof separator === 'string' ? Buffer.from(separator) : separator instanceof Uint8Array ? separator : bytesView(separator);
    const seplen = sep.length;
    if (seplen === 0) throw new ValueError('Separator should be at least one-byte string');
    if (this._exception != null) throw this._exception; // None (null or undefined): no error, as in Python
    signal?.throwIfAborted();
    let offset = 0;
    let isep: number;
    for (;;) {
      const buflen = this._buffer.length;
      if (buflen - offset >= seplen) {
        isep = this._buffer.find(sep, offset);
        if (isep !== -1) break;
        offset = buflen + 1 - seplen;
        if (offset > this._limit) throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', offset);
      }
      if (this._eof) {
        const chunk = this._buffer.take(this._buffer.length);
        throw new IncompleteReadError(chunk, null);
      }
      await this.#waitForData('readuntil', signal);
    }
    if (isep > this._limit) throw new LimitOverrunError('Separator is found, but chunk is longer than limit', isep);
    const chunk = this._buffer.take(isep + seplen);
    this.#maybeResumeTransport();
    return chunk;
  }

  /**
   * Reads up to `n` bytes (as soon as any are there); with n -1 (default),
   * everything until EOF. An empty Buffer at EOF.
   */
  read(n: number = -1, options?: AbortOptions): Promise<Buffer> {
    let signal: AbortSignal | null = null;
    try {
      if (typeof n !== 'number' || !Number.isInteger(n)) n = toInt(n);
      if (options !== undefined) {
        signal = signalOf(options);
        signal?.throwIfAborted();
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (this._exception == null && n > 0) {
      // Fast paths, no async frame: data is buffered already (the common
      // case under load), or the stream has ended.
      if (this._buffer.length > 0 || this._eof) {
        const data = this._buffer.take(n);
        this.#maybeResumeTransport();
        return Promise.resolve(data);
      }
      // Nothing yet: one promise, settled by feedData()/feedEof()/
      // setException() with the data.
      if (this.#waiter === null && this.#readWaiter === null) {
        this.#resumeIfPaused();
        if (signal === null) {
          return new Promise<Buffer>((resolve, reject) => {
            this.#readWaiter = { n, resolve, reject };
          });
        }
        return this.#readAbortable(n, signal);
      }
    }
    return this.#read(n, signal);
  }

  /** read(n)'s one-promise wait, which an abort of `signal` takes back. */
  #readAbortable(n: number, signal: AbortSignal): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#readWaiter === r) this.#readWaiter = null;
        reject(signal.reason);
      };
      const r: ReadWaiter = {
        n,
        resolve: (data) => {
          signal.removeEventListener('abort', onAbort);
          resolve(data);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.#readWaiter = r;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #read(n: number, signal: AbortSignal | null): Promise<Buffer> {
    if (this._exception != null) throw this._exception;
    if (n === 0) return Buffer.alloc(0);
    if (n < 0) {
      // Differs from CPython: an abort loses nothing; the blocks read so far go back to the buffer.
      const blocks: Buffer[] = [];
      const opts = signal === null ? undefined : { signal };
      for (;;) {
        let block: Buffer;
        try {
          block = await this.read(this._limit, opts);
        } catch (e) {
          if (signal?.aborted && blocks.length > 0) this.#unread(Buffer.concat(blocks));
          throw e;
        }
        if (block.length === 0) break;
        blocks.push(block);
      }
      return Buffer.concat(blocks);
    }
    if (this._buffer.length === 0 && !this._eof) await this.#waitForData('read', signal);
    const data = this._buffer.take(n);
    this.#maybeResumeTransport();
    return data;
  }

  /** Reads exactly `n` bytes; IncompleteReadError if EOF comes first. */
  async readexactly(n: number, options?: AbortOptions): Promise<Buffer> {
    n = toInt(n);
    const signal = signalOf(options);
    if (n < 0) throw new ValueError('readexactly size can not be less than zero');
    if (this._exception != null) throw this._exception;
    signal?.throwIfAborted();
    if (n === 0) return Buffer.alloc(0);
    while (this._buffer.length < n) {
      if (this._eof) {
        const incomplete = this._buffer.take(this._buffer.length);
        throw new IncompleteReadError(incomplete, n);
      }
      await this.#waitForData('readexactly', signal);
    }
    const data = this._buffer.take(n);
    this.#maybeResumeTransport();
    return data;
  }

  /** Async iteration yields lines, as `async for line in reader`. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }
}

/** A StreamReader's limit, checked: a positive number. */
export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError(`limit must be a number, not '${pyTypeName(limit)}'`);
  if (limit <= 0) throw new ValueError('Limit cannot be <= 0');
  return limit;
}

/** Any byte view as a Uint8Array over its bytes; TypeError for anything else. */
function bytesView(data: unknown): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`a bytes-like object is required, not '${pyTypeName(data)}'`);
}

const NEWLINE = Buffer.from('\n');
