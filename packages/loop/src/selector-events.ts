/**
 * The event loop with I/O through a selector: CPython 3.11
 * Lib/asyncio/selector_events.py (readers and writers, the sock_* methods;
 * transports are in transports.ts and use this loop's readers/writers).
 */
import { OSError, ValueError, errnoConstants, fromErrno, pyTypeName, socket, toCInt, type Socket } from '@iomux/core-native';
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
import type { AnyProtocol, ProtocolFactory } from './protocols.js';
import { Server } from './server.js';
import { MAX_SIZE as MAX_RECV, SelectorSocketTransport, type Transport } from './transports.js';
import * as buffers from './buffers.js';
import { isRetryError } from './internal/retry.js';
import { batch } from '@iomux/core-native';

/** `loop.createServer()`'s options (Python's keywords of `loop.create_server`). */
export interface CreateServerOptions {
  /** listen() backlog, and connections accepted per wake-up (100). */
  backlog?: number;
  /** SO_REUSEADDR (default true, as asyncio on POSIX). */
  reuseAddress?: boolean;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
}

type Callback = (...args: any[]) => unknown;
/** What a key's data holds: [reader, writer]. */
type ReaderWriter = [Handle | null, Handle | null];

// Local copies: an imported name compiles to a load from the package's
// exports object, which is in dictionary mode (its re-exports are getters),
// and these are read for every event the selector reports.
const EVENT_READ = SELECTORS_EVENT_READ;
const EVENT_WRITE = SELECTORS_EVENT_WRITE;
const EINPROGRESS = errnoConstants.EINPROGRESS;
const EALREADY = errnoConstants.EALREADY;
// The same for the read batch's copies, read for every message.
const { FastBuffer, RecvArea, SMALL_MAX, copyOut, copyRun, runPool, typedArraySet } = buffers;
type RecvArea = buffers.RecvArea;
const { sendBatch, recvBatch } = batch;
const NOT_READY = Object.freeze({ assumeNotReady: true });
const { SOL_SOCKET, SO_ERROR } = socket;

/** Options of `new EventLoop()` and `run()`. */
export interface EventLoopOptions {
  /** A selector instance or a backend name ('epoll', 'poll', 'select'). */
  selector?: BaseSelector | string;
}

/** Bytes a loop's write batch holds; a write that does not fit goes alone. */
const SEND_SLAB_SIZE = 256 * 1024;
/**
 * Transports a write batch holds: a full batch goes at once. More would
 * save little (one call per 64 messages) and hold the first replies back
 * while a loop with many ready connections runs the rest of its callbacks.
 */
const SEND_BATCH_ENTRIES = 64;
/**
 * Bytes a loop's read batch receives into (then copied out): a share of
 * 64 KiB for each of RECV_BATCH_ENTRIES transports (recvBatch's shares, in
 * native/batch.cc: every entry of a batch is received for in one call, and
 * none gets more than its share). Memory the kernel never writes to is
 * never made resident; small messages are packed at the front.
 */
const RECV_SLAB_SIZE = 4 * 1024 * 1024;
/**
 * Transports a read batch holds. A poll that finds more ready is received
 * for in chunks, each just before its transports' readers run: receiving for
 * a thousand sockets and only then replying on each went cold in the
 * kernel's caches (on one CPU, 1000 connections: 0.89x the system time
 * with chunks of 64 than with one batch of all, although more calls).
 */
const RECV_BATCH_ENTRIES = 64;
/** Ready transports queued for read batches per poll (more receive alone). */
const RECV_QUEUE_MAX = 8192;
/**
 * The received bytes are copied out of the slab in runs of up to this many
 * bytes, each message's Buffer a view of its part: one copy per run instead
 * of per message. A run goes into buffers.ts's small pool (8 KiB chunks, as
 * Node's Buffer pool), so a message kept alive keeps no more memory alive
 * than any small Buffer does; a message of 4 KiB or more is a run of its
 * own, copied as a single read's is (copyOut).
 */
const RECV_RUN_MAX = SMALL_MAX;
/** Int32s per batch entry (native/batch.cc kStride). */
const STRIDE = 4;

/**
 * asyncio's `SelectorEventLoop` (CPython 3.11 Lib/asyncio/selector_events.py):
 * the I/O half of the loop on an iomux selector (readers and writers, sock_*
 * coroutines, servers and connections), running inside Node's own loop: it
 * waits with the selector's promise twin, so Node is never blocked. Exported
 * also as `EventLoop`.
 */
export class SelectorEventLoop extends BaseEventLoop {
  /** @internal The selector; each key's data is [reader handle, writer handle]. */
  readonly _selector: BaseSelector<ReaderWriter>;

  /**
   * The write batch: data copied into the slab, and per transport an entry
   * [fd, offset, length, result] in the table (table[0] counts them), sent
   * by _flushWrites in one call. A transport has at most one entry (its
   * later writes extend it while it is the last, else flush first), so a
   * short send never has a later entry of the same socket behind it.
   */
  #sendSlab: Uint8Array | null = null;
  #sendUsed = 0;
  readonly #sendTable = new Int32Array(1 + SEND_BATCH_ENTRIES * STRIDE);
  readonly #sendFor: Array<SelectorSocketTransport | null> = [];

  /**
   * The read batch: up to RECV_BATCH_ENTRIES transports whose readers are
   * ready, an entry [fd, offset, length, result] each in the table (table[0]
   * counts them), received for by #recvBatch in one call, each chunk from
   * #recvQueue by _recvChunk when the first of its readers runs.
   */
  #recvSlab: RecvArea | null = null;
  readonly #recvTable = new Int32Array(1 + RECV_BATCH_ENTRIES * STRIDE);
  readonly #recvFor: Array<SelectorSocketTransport | null> = [];
  /**
   * The transports the last poll found ready, in the order of their
   * readers in the ready queue; each chunk of the next RECV_BATCH_ENTRIES
   * from #recvHead is received for when the first of them runs its reader.
   */
  readonly #recvQueue: Array<SelectorSocketTransport | null> = [];
  #recvQueued = 0;
  #recvHead = 0;

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
    if (this.#recvQueued !== 0) this.#recvQueueClear();
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
    for (let i = 0; i < eventList.length; i++) this.#processEvent(eventList[i]![0], eventList[i]![1]);
  }

  /** Forgets what the last poll queued and no reader came to receive. */
  #recvQueueClear(): void {
    const q = this.#recvQueue;
    for (let i = this.#recvHead; i < this.#recvQueued; i++) {
      q[i]!._recvQueued = false;
      q[i] = null;
    }
    this.#recvQueued = 0;
    this.#recvHead = 0;
  }

  /**
   * @internal Receives for the next chunk of the queued transports (see
   * #recvQueue) in one call; each keeps its bytes until its reader runs.
   * A transport that is no longer reading (paused, closing, switched to a
   * BufferedProtocol) by now is left out, as its reader would not receive.
   */
  _recvChunk(): void {
    const q = this.#recvQueue;
    const table = this.#recvTable;
    const end = this.#recvQueued;
    let head = this.#recvHead;
    let count = 0;
    while (head < end && count < RECV_BATCH_ENTRIES) {
      const t = q[head]!;
      q[head++] = null;
      t._recvQueued = false;
      if (t._closing || t._paused || t._connLost || t._buffered || t._pre) continue;
      this.#recvEntry(count++, t._sockFd, t);
    }
    this.#recvHead = head;
    if (head === end) {
      this.#recvQueued = 0;
      this.#recvHead = 0;
    }
    if (count === 0) return;
    table[0] = count;
    this.#recvBatch();
  }

  /** Entry `i` of the read batch: up to MAX_RECV bytes from `fd` for `t`. */
  #recvEntry(i: number, fd: number, t: SelectorSocketTransport): void {
    const e = 1 + i * STRIDE;
    this.#recvTable[e] = fd;
    this.#recvTable[e + 2] = MAX_RECV; // [fd, offset, length, result]
    this.#recvFor[i] = t;
  }

  /**
   * Receives for the transports in the table (recvFor), in one call into
   * the addon, and gives each its bytes (see SelectorSocketTransport._pre).
   * Each descriptor is its transport's own: a transport in a chunk is
   * reading, not closing, and closes its socket only in connectionLost,
   * which the loop calls after it has stopped reading.
   */
  #recvBatch(): void {
    const table = this.#recvTable;
    const count = table[0]!;
    const recvFor = this.#recvFor;
    const slab = (this.#recvSlab ??= new RecvArea(RECV_SLAB_SIZE));
    let done: number;
    try {
      done = recvBatch(slab.u8, table);
    } catch (exc) {
      recvFor.fill(null, 0, count);
      throw exc;
    } finally {
      table[0] = 0;
    }
    // Copies out in runs: entries are packed in the slab in order. A run
    // starts at an entry with bytes (runFirst); those without (EOF, an
    // error) take no room in the slab. Not in a try block: inside one, the
    // optimizing compiler leaves `new FastBuffer` a generic construct
    // (about 130 instructions more per message). Only a failed allocation
    // could throw here, and it would lose no more than the bytes of the
    // entries not yet given theirs (_pre is set with the data).
    let runFirst = -1;
    let runStart = 0;
    let runEnd = 0;
    for (let i = 0; i < done; i++) {
      const e = 1 + i * STRIDE;
      const n = table[e + 3]!;
      const t = recvFor[i]!;
      t._preN = n;
      if (n <= 0) {
        t._pre = true;
        continue;
      }
      const off = table[e + 1]!;
      if (runFirst < 0) {
        runFirst = i;
        runStart = off;
      } else if (off + n - runStart > RECV_RUN_MAX) {
        this.#copyRun(slab, runFirst, i, runStart, runEnd);
        runFirst = i;
        runStart = off;
      }
      runEnd = off + n;
    }
    if (runFirst >= 0) this.#copyRun(slab, runFirst, done, runStart, runEnd);
    // The entries not done (the slab ran short) receive on their own.
    for (let i = 0; i < count; i++) recvFor[i] = null;
  }

  /**
   * Copies slab[start, end) out; the entries with bytes in [first, last)
   * get their parts. A run over RECV_RUN_MAX bytes is one entry's (first).
   */
  #copyRun(slab: RecvArea, first: number, last: number, start: number, end: number): void {
    const recvFor = this.#recvFor;
    if (end - start > RECV_RUN_MAX) {
      const t = recvFor[first]!;
      t._preData = copyOut(slab.ab, slab.base + start, end - start);
      t._pre = true;
      return;
    }
    const table = this.#recvTable;
    const at = copyRun(slab.ab, slab.base + start, end - start) - start;
    const ab = runPool();
    for (let i = first; i < last; i++) {
      const e = 1 + i * STRIDE;
      const n = table[e + 3]!;
      if (n > 0) {
        const t = recvFor[i]!;
        t._preData = new FastBuffer(ab, at + table[e + 1]!, n);
        t._pre = true;
      }
    }
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
        const t = reader._reads as SelectorSocketTransport | null;
        // A transport with a Protocol and nothing received before is queued
        // for a read batch, received for when the first reader runs.
        if (t !== null && !t._buffered && !t._pre && !t._recvQueued) {
          const n = this.#recvQueued;
          if (n < RECV_QUEUE_MAX) {
            this.#recvQueue[n] = t;
            this.#recvQueued = n + 1;
            t._recvQueued = true;
          }
        }
      }
    }
    if (mask & EVENT_WRITE && writer !== null) {
      if (writer._cancelled) this._removeWriter(key.fd);
      else this._ready.push(writer);
    }
  };

  // ---------------------------------------------------------- write batch

  /**
   * @internal Queues `data` (copied) for `t`, whose fd is `fd`; false when
   * it does not fit, or when `t` already has an entry that is not the last.
   */
  _queueSend(t: SelectorSocketTransport, fd: number, data: Uint8Array): boolean {
    const n = data.length;
    const slab = (this.#sendSlab ??= new Uint8Array(SEND_SLAB_SIZE));
    const used = this.#sendUsed;
    if (used + n > SEND_SLAB_SIZE) return false;
    const table = this.#sendTable;
    const count = table[0]!;
    const idx = t._sendIdx;
    if (idx >= 0) {
      // Its entry ends where the slab's used part ends, if it is the last.
      if (idx !== count - 1) return false;
      table[1 + idx * STRIDE + 2]! += n;
    } else {
      if (count === SEND_BATCH_ENTRIES) return false;
      const e = 1 + count * STRIDE;
      table[e] = fd;
      table[e + 1] = used;
      table[e + 2] = n;
      table[0] = count + 1;
      this.#sendFor[count] = t;
      t._sendIdx = count;
    }
    // Called directly: slab.set is a generic load through two prototypes.
    typedArraySet.call(slab, data, used);
    this.#sendUsed = used + n;
    t._sendLen += n;
    return true;
  }

  /** @internal Drops `t`'s queued entry (abort: nothing more is sent). */
  _cancelSend(t: SelectorSocketTransport): void {
    const idx = t._sendIdx;
    if (idx < 0) return;
    this.#sendTable[1 + idx * STRIDE] = -1;
    this.#sendFor[idx] = null;
    t._sendIdx = -1;
    t._sendLen = 0;
  }

  override _flushWrites(): void {
    const table = this.#sendTable;
    const count = table[0]!;
    if (count === 0) return;
    const slab = this.#sendSlab!;
    const open = this._batchOpen;
    // What the protocols' callbacks below write goes out at once, after
    // every short send's rest is buffered.
    this._batchOpen = false;
    const sendFor = this.#sendFor;
    try {
      try {
        sendBatch(slab, table);
      } catch (exc) {
        // Not for anything a transport did (the slab and the table are the
        // loop's own): the batch is dropped, its transports left consistent.
        for (let i = 0; i < count; i++) {
          const t = sendFor[i];
          if (t !== null && t !== undefined) this._cancelSend(t);
        }
        throw exc;
      }
      // First every transport's state, with no user code in between...
      let notify = 0;
      for (let i = 0; i < count; i++) {
        const t = sendFor[i];
        if (t === null || t === undefined) continue;
        const e = 1 + i * STRIDE;
        this._cancelSend(t); // its entry is done: nothing of it is sent again
        if (t._sent(table[e + 3]!, slab, table[e + 1]!, table[e + 2]!)) sendFor[notify++] = t;
      }
      table[0] = 0;
      this.#sendUsed = 0;
      // ...then what a short send, an error or a close needs of the protocol.
      for (let i = 0; i < notify; i++) {
        const t = sendFor[i]!;
        sendFor[i] = null;
        try {
          t._sentNotify();
        } catch (exc) {
          // As from the callback that wrote (an 'error' listener that throws).
          this.callExceptionHandler({ message: `Exception in callback ${t.toString()} (its batched write)`, exception: exc, transport: t });
        }
      }
    } finally {
      table[0] = 0;
      this.#sendUsed = 0;
      this._batchOpen = open;
    }
  }

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

  // ------------------------------------------------------------- sockets

  #checkNonBlocking(sock: Socket): void {
    if (this.getDebug() && sock.gettimeout() !== 0) throw new ValueError('the socket must be non-blocking');
  }

  /**
   * Resolves with up to `n` bytes from `sock` (non-blocking); an empty
   * Buffer at end of stream.
   */
  sockRecv(sock: Socket, n: number): Promise<Buffer> {
    return this.#sockOp(sock, () => sock.recv(n));
  }

  /** Reads into `buf`; resolves with the number of bytes read. */
  sockRecvInto(sock: Socket, buf: ArrayBufferView): Promise<number> {
    return this.#sockOp(sock, () => sock.recvInto(buf));
  }

  /** Resolves once all of `data` is sent. */
  async sockSendall(sock: Socket, data: ArrayBufferView): Promise<void> {
    this.#checkNonBlocking(sock);
    if (!ArrayBuffer.isView(data)) throw new TypeError(`a bytes-like object is required, not '${pyTypeName(data)}'`);
    let view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let n = 0;
    try {
      n = sock.send(view);
    } catch (e) {
      if (!isRetryError(e)) throw e;
    }
    if (n === view.length) return;
    view = view.subarray(n);
    await new Promise<void>((resolve, reject) => {
      const fd = sock.fileno();
      const onWritable = (): void => {
        let sent: number;
        try {
          sent = sock.send(view);
        } catch (e) {
          if (isRetryError(e)) return;
          this.removeWriter(fd);
          reject(e);
          return;
        }
        view = view.subarray(sent);
        if (view.length === 0) {
          this.removeWriter(fd);
          resolve();
        }
      };
      this.addWriter(fd, onWritable);
    });
  }

  /** Resolves with `[conn, address]`; `conn` is non-blocking. */
  async sockAccept(sock: Socket): Promise<[Socket, unknown]> {
    const [conn, addr] = await this.#sockOp(sock, () => sock.accept());
    conn.setblocking(false);
    return [conn, addr];
  }

  /** Connects `sock` (non-blocking) to `address`. */
  async sockConnect(sock: Socket, address: Parameters<Socket['connect']>[0]): Promise<void> {
    this.#checkNonBlocking(sock);
    try {
      sock.connect(address);
      return;
    } catch (e) {
      // The rest of asyncio's BlockingIOError: a connect still under way.
      if (!(isRetryError(e) || (e instanceof OSError && (e.errno === EINPROGRESS || e.errno === EALREADY)))) throw e;
    }
    const fd = sock.fileno();
    await new Promise<void>((resolve, reject) => {
      this.addWriter(fd, () => {
        this.removeWriter(fd);
        let err: number;
        try {
          err = sock.getsockopt(SOL_SOCKET, SO_ERROR);
        } catch (e) {
          reject(e);
          return;
        }
        if (err !== 0) reject(fromErrno(err, undefined, { syscall: 'connect' }));
        else resolve();
      });
    });
  }

  // ------------------------------------------------ servers and connections

  /**
   * asyncio's create_server: listens on `host`:`port` (port 0 picks one;
   * host null or '' is every interface) and makes a transport and a
   * protocol from `protocolFactory` for each connection. Resolves with the
   * Server, already serving.
   */
  async createServer(
    protocolFactory: ProtocolFactory,
    host: string | null = null,
    port: number = 0,
    options: CreateServerOptions = {},
  ): Promise<Server> {
    this._checkClosed();
    if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
    // Checked before any socket exists (listen() would throw after bind); a
    // server that accepts 0 connections per turn would never accept.
    const backlog = Math.max(toCInt(options.backlog ?? 100), 1);
    const targets: Array<[number, unknown]> =
      host === null || host === ''
        ? [[socket.AF_INET, ['0.0.0.0', port]]]
        : socket.streamTargets(host, port);
    const sockets: Socket[] = [];
    try {
      for (const [af, sa] of targets) {
        const sock = new socket.Socket(af, socket.SOCK_STREAM, socket.IPPROTO_TCP);
        sockets.push(sock);
        if (options.reuseAddress ?? true) sock.setsockopt(SOL_SOCKET, socket.SO_REUSEADDR, 1);
        if (options.reusePort) {
          if (socket.SO_REUSEPORT === undefined) throw new ValueError('reuse_port not supported by socket module');
          sock.setsockopt(SOL_SOCKET, socket.SO_REUSEPORT, 1);
        }
        // Disable IPv4/IPv6 dual stack support (enabled by default on
        // Linux) which makes a single socket listen on both families.
        if (af === socket.AF_INET6 && socket.IPV6_V6ONLY !== undefined) sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1);
        sock.bind(sa as Parameters<Socket['bind']>[0]);
        sock.setblocking(false);
        // With port 0, one address only: each family would get its own port.
        if (port === 0 && targets.length > 1) break;
      }
    } catch (e) {
      for (const s of sockets) s.close();
      throw e;
    }
    const server = new Server(this, sockets, protocolFactory, backlog);
    server._startServing();
    return server;
  }

  /**
   * asyncio's create_connection: connects to `host`:`port` (each address in
   * turn) and resolves with `[transport, protocol]` once the protocol's
   * connectionMade has run.
   */
  async createConnection<P extends AnyProtocol>(protocolFactory: () => P, host: string, port: number): Promise<[Transport, P]> {
    this._checkClosed();
    if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
    const errors: unknown[] = [];
    let sock: Socket | null = null;
    for (const [af, sa] of socket.streamTargets(host, port)) {
      const s = new socket.Socket(af, socket.SOCK_STREAM, socket.IPPROTO_TCP);
      try {
        s.setblocking(false);
        await this.sockConnect(s, sa as Parameters<Socket['connect']>[0]);
        sock = s;
        break;
      } catch (e) {
        s.close();
        errors.push(e);
      }
    }
    if (sock === null) throw errors.length === 1 ? errors[0] : new AggregateError(errors, `Multiple exceptions: ${errors.map(String).join(', ')}`);
    let protocol: P;
    let transport: SelectorSocketTransport;
    try {
      protocol = protocolFactory();
      transport = new SelectorSocketTransport(this, sock, protocol);
    } catch (e) {
      // Nothing owns the connected socket yet.
      sock.close();
      throw e;
    }
    // Resolve once connectionMade() has been called (it is queued first).
    await new Promise<void>((resolve) => this.callSoon(resolve));
    return [transport, protocol];
  }

  #sockOp<T>(sock: Socket, op: () => T): Promise<T> {
    // A promise-returning method reports every error through its promise.
    try {
      this.#checkNonBlocking(sock);
    } catch (e) {
      return Promise.reject(e);
    }
    try {
      return Promise.resolve(op());
    } catch (e) {
      if (!isRetryError(e)) return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      const fd = sock.fileno();
      this.addReader(fd, () => {
        let r: T;
        try {
          r = op();
        } catch (e) {
          if (isRetryError(e)) return;
          this.removeReader(fd);
          reject(e);
          return;
        }
        this.removeReader(fd);
        resolve(r);
      });
    });
  }
}

