/**
 * The loop's batched socket I/O, as uvloop batches it: the writes its
 * callbacks make go out in one call into the addon before it next looks at
 * I/O (WriteBatch), and the transports a look finds readable are received
 * for in chunks of up to 64, each in one call (ReadBatch). Both go through
 * @iomux/core-native's `batch` API, whose tables have one entry layout for
 * sends and receives (ENTRY).
 */
import type { Buffer } from 'node:buffer';
import { batch } from '@iomux/core-native';
import * as buffers from '../buffers.js';

// Read once: the package's re-exports are getters (see selector-io.ts).
const { sendBatch, recvBatch, recvOne, BATCH_LAYOUT } = batch;
const { FastBuffer, RecvArea, SMALL_MAX, copyOut, copyRun, runPool, typedArraySet } = buffers;
type RecvArea = buffers.RecvArea;

/**
 * A batch table's entry, in int32s from HEADER + i * ENTRY.stride: the
 * same fields for sends and receives (native/batch.cc, checked below).
 */
export const ENTRY = Object.freeze({ fd: 0, offset: 1, length: 2, result: 3, stride: 4 });
/** table[0] counts the entries; they start after it. */
const HEADER = 1;
const STRIDE = ENTRY.stride;
const FD = ENTRY.fd;
const OFFSET = ENTRY.offset;
const LENGTH = ENTRY.length;
const RESULT = ENTRY.result;
if (
  BATCH_LAYOUT.header !== HEADER ||
  BATCH_LAYOUT.stride !== STRIDE ||
  BATCH_LAYOUT.fd !== FD ||
  BATCH_LAYOUT.offset !== OFFSET ||
  BATCH_LAYOUT.length !== LENGTH ||
  BATCH_LAYOUT.result !== RESULT
) {
  throw new Error(`@iomux/loop: the addon's batch layout ${JSON.stringify(BATCH_LAYOUT)} is not the loop's ${JSON.stringify(ENTRY)}`);
}

/** Bytes a write batch holds; a write that does not fit goes alone. */
const SEND_SLAB_SIZE = 256 * 1024;
/**
 * Transports a write batch holds: a full batch goes at once, so the first
 * replies are not held back while the loop runs the rest of its callbacks.
 */
const SEND_ENTRIES = 64;
/**
 * Bytes a read batch receives into (then copied out): a 64 KiB share for
 * each of RECV_ENTRIES transports (recvBatch's shares). Memory the kernel
 * never writes to is never made resident.
 */
const RECV_SLAB_SIZE = 4 * 1024 * 1024;
/**
 * Transports a read batch receives for in one call (one io_uring call's
 * worth). A look that finds more is received for in chunks, each just
 * before its transports' readers run, while the kernel's caches are warm
 * (bench/README.md, IO-BATCH).
 */
const RECV_ENTRIES = 64;
/** Ready transports queued per look (more receive alone). */
const RECV_QUEUE_MAX = 8192;
/** The most one entry receives: a transport's own recv's (transports.ts MAX_SIZE). */
const RECV_ENTRY_MAX = 256 * 1024;
/**
 * Received bytes are copied out of the slab in runs of up to this many
 * bytes, into buffers.ts's small pool, each message a view of its part:
 * one copy per run, and a kept message keeps no more alive than a small
 * Buffer does. A bigger message is copied alone (copyOut).
 */
const RUN_MAX = SMALL_MAX;

/** A transport's part in the loop's batches (one object per transport). */
export class BatchState {
  /**
   * A read batch received for it and its reader has not taken the
   * outcome yet: `got` bytes in `data` (0 at end of stream, -errno).
   */
  pending = false;
  got = 0;
  data: Buffer | null = null;
  /** Queued for a read batch by this look, not received for yet. */
  queued = false;
  /** Its entry in the write batch, or -1, and the bytes queued there. */
  sendIdx = -1;
  sendLen = 0;
}

/** What the batches need of a transport (SelectorSocketTransport). */
export interface BatchTransport {
  readonly _batch: BatchState;
  readonly _sockFd: number;
  readonly _buffered: boolean;
  readonly _closing: boolean;
  readonly _paused: boolean;
  readonly _connLost: number;
  /** After the batch went out: buffers a short send's rest; true when _sentNotify has work. */
  _sent(result: number, slab: Uint8Array, off: number, len: number): boolean;
  /** What a short send, an error or a close needs of the protocol. */
  _sentNotify(): void;
}

/**
 * The writes of one loop turn: data copied into the slab and an entry per
 * transport, sent in one call by send(). A transport has at most one
 * entry (its later writes extend it while it is the last, else the batch
 * goes first), so a short send never has a later entry of its socket
 * behind it.
 */
export class WriteBatch {
  #slab: Uint8Array | null = null;
  #used = 0;
  readonly #table = new Int32Array(HEADER + SEND_ENTRIES * STRIDE);
  readonly #for: Array<BatchTransport | null> = [];

  /** Transports with an entry. */
  get size(): number {
    return this.#table[0]!;
  }

  /**
   * Queues `data` (copied) for `t`; false when it does not fit, or when
   * `t` already has an entry that is not the last.
   */
  queue(t: BatchTransport, data: Uint8Array): boolean {
    const n = data.length;
    const slab = (this.#slab ??= new Uint8Array(SEND_SLAB_SIZE));
    const used = this.#used;
    if (used + n > SEND_SLAB_SIZE) return false;
    const table = this.#table;
    const count = table[0]!;
    const b = t._batch;
    const idx = b.sendIdx;
    if (idx >= 0) {
      // Its entry ends where the slab's used part ends, if it is the last.
      if (idx !== count - 1) return false;
      table[HEADER + idx * STRIDE + LENGTH]! += n;
    } else {
      if (count === SEND_ENTRIES) return false;
      const e = HEADER + count * STRIDE;
      table[e + FD] = t._sockFd;
      table[e + OFFSET] = used;
      table[e + LENGTH] = n;
      table[0] = count + 1;
      this.#for[count] = t;
      b.sendIdx = count;
    }
    // Called directly: slab.set is a generic load through two prototypes.
    typedArraySet.call(slab, data, used);
    this.#used = used + n;
    b.sendLen += n;
    return true;
  }

  /** Drops `t`'s entry (an abort: nothing more is sent). */
  cancel(t: BatchTransport): void {
    const b = t._batch;
    const idx = b.sendIdx;
    if (idx < 0) return;
    this.#table[HEADER + idx * STRIDE + FD] = -1;
    this.#for[idx] = null;
    b.sendIdx = -1;
    b.sendLen = 0;
  }

  /**
   * Sends the batch in one call, then tells each transport its result;
   * what a transport's _sentNotify throws goes to `report`.
   */
  send(report: (t: BatchTransport, exc: unknown) => void): void {
    const table = this.#table;
    const count = table[0]!;
    if (count === 0) return;
    const slab = this.#slab!;
    const sendFor = this.#for;
    try {
      try {
        sendBatch(slab, table);
      } catch (exc) {
        // Not for anything a transport did (the slab and the table are the
        // loop's own): the batch is dropped, its transports left consistent.
        for (let i = 0; i < count; i++) {
          const t = sendFor[i];
          if (t !== null && t !== undefined) this.cancel(t);
        }
        throw exc;
      }
      // First every transport's state, with no user code in between...
      let notify = 0;
      for (let i = 0; i < count; i++) {
        const t = sendFor[i];
        if (t === null || t === undefined) continue;
        const e = HEADER + i * STRIDE;
        this.cancel(t); // its entry is done: nothing of it is sent again
        if (t._sent(table[e + RESULT]!, slab, table[e + OFFSET]!, table[e + LENGTH]!)) sendFor[notify++] = t;
      }
      table[0] = 0;
      this.#used = 0;
      // ...then what a short send, an error or a close needs of the protocol.
      for (let i = 0; i < notify; i++) {
        const t = sendFor[i]!;
        sendFor[i] = null;
        try {
          t._sentNotify();
        } catch (exc) {
          report(t, exc);
        }
      }
    } finally {
      table[0] = 0;
      this.#used = 0;
    }
  }
}

/**
 * The reads of one look: the selector's visitor queues each readable
 * transport (add), and the first of them whose reader runs receives for
 * the next chunk of up to RECV_ENTRIES queued ones in one call (receive);
 * each keeps its outcome in its BatchState until its own reader runs.
 */
export class ReadBatch {
  #slab: RecvArea | null = null;
  /** The slab's first RECV_ENTRY_MAX bytes: where a lone entry receives. */
  #one: Uint8Array | null = null;
  readonly #table = new Int32Array(HEADER + RECV_ENTRIES * STRIDE);
  readonly #for: Array<BatchTransport | null> = [];
  /** This look's queued transports, in the order of their readers; #head is the next chunk's first. */
  readonly #queue: Array<BatchTransport | null> = [];
  #queued = 0;
  #head = 0;

  /** Queues `t`, found readable, unless it reads on its own or has bytes waiting. */
  add(t: BatchTransport): void {
    const b = t._batch;
    if (b.queued || b.pending || t._buffered) return;
    const n = this.#queued;
    if (n === RECV_QUEUE_MAX) return;
    this.#queue[n] = t;
    this.#queued = n + 1;
    b.queued = true;
  }

  /** Forgets what the last look queued and no reader came to receive. */
  clear(): void {
    const end = this.#queued;
    if (end === 0) return;
    const q = this.#queue;
    for (let i = this.#head; i < end; i++) {
      q[i]!._batch.queued = false;
      q[i] = null;
    }
    this.#queued = 0;
    this.#head = 0;
  }

  /**
   * Receives for the next chunk of the queued transports in one call. One
   * that is no longer reading (paused, closing, switched to a
   * BufferedProtocol) by now is left out, as its reader would not receive;
   * so each descriptor is its transport's own (a transport closes its
   * socket only after it has stopped reading).
   */
  receive(): void {
    const q = this.#queue;
    const end = this.#queued;
    let head = this.#head;
    if (end - head === 1) {
      // A lone transport (one connection ready): a plain recv, no table.
      const t = q[head]!;
      q[head] = null;
      this.#queued = 0;
      this.#head = 0;
      t._batch.queued = false;
      if (!(t._closing || t._paused || t._connLost || t._buffered || t._batch.pending)) this.#receiveOne(t);
      return;
    }
    const table = this.#table;
    const recvFor = this.#for;
    let count = 0;
    while (head < end && count < RECV_ENTRIES) {
      const t = q[head]!;
      q[head++] = null;
      t._batch.queued = false;
      if (t._closing || t._paused || t._connLost || t._buffered || t._batch.pending) continue;
      const e = HEADER + count * STRIDE;
      table[e + FD] = t._sockFd;
      table[e + LENGTH] = RECV_ENTRY_MAX;
      recvFor[count++] = t;
    }
    this.#head = head;
    if (head === end) {
      this.#queued = 0;
      this.#head = 0;
    }
    if (count === 0) return;
    table[0] = count;
    this.#receive(count);
  }

  /** recvBatch's work for one transport: recvOne into the slab, then a copy. */
  #receiveOne(t: BatchTransport): void {
    const slab = (this.#slab ??= new RecvArea(RECV_SLAB_SIZE));
    const view = (this.#one ??= slab.u8.subarray(0, RECV_ENTRY_MAX));
    let n: number;
    try {
      n = recvOne(t._sockFd, view);
    } catch (exc) {
      const errno = (exc as { errno?: unknown }).errno;
      if (typeof errno !== 'number') throw exc;
      n = -errno;
    }
    const b = t._batch;
    b.got = n;
    // Outside the try block (see #receive).
    if (n > 0) b.data = copyOut(slab.ab, slab.base, n);
    b.pending = true;
  }

  /** recvBatch for the `count` entries in the table, and each its outcome. */
  #receive(count: number): void {
    const table = this.#table;
    const recvFor = this.#for;
    const slab = (this.#slab ??= new RecvArea(RECV_SLAB_SIZE));
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
    // error) take no room. Not in a try block, where `new FastBuffer`
    // stays a generic construct (bench/README.md, CALLGRIND); only a failed
    // allocation could throw.
    let runFirst = -1;
    let runStart = 0;
    let runEnd = 0;
    for (let i = 0; i < done; i++) {
      const e = HEADER + i * STRIDE;
      const n = table[e + RESULT]!;
      const b = recvFor[i]!._batch;
      b.got = n;
      if (n <= 0) {
        b.pending = true;
        continue;
      }
      const off = table[e + OFFSET]!;
      if (runFirst < 0) {
        runFirst = i;
        runStart = off;
      } else if (off + n - runStart > RUN_MAX) {
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
   * get their parts. A run over RUN_MAX bytes is one entry's (first).
   */
  #copyRun(slab: RecvArea, first: number, last: number, start: number, end: number): void {
    const recvFor = this.#for;
    if (end - start > RUN_MAX) {
      const b = recvFor[first]!._batch;
      b.data = copyOut(slab.ab, slab.base + start, end - start);
      b.pending = true;
      return;
    }
    const table = this.#table;
    const at = copyRun(slab.ab, slab.base + start, end - start) - start;
    const ab = runPool();
    for (let i = first; i < last; i++) {
      const e = HEADER + i * STRIDE;
      const n = table[e + RESULT]!;
      if (n > 0) {
        const b = recvFor[i]!._batch;
        b.data = new FastBuffer(ab, at + table[e + OFFSET]!, n);
        b.pending = true;
      }
    }
  }
}
