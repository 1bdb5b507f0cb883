/**
 * Batched socket I/O: many non-blocking send()s or recv()s, one per socket,
 * in one call into the addon (and, where the thread has an io_uring, one
 * syscall). What an event loop uses to write or read for all the
 * connections a wake-up found ready (native/batch.cc).
 *
 * A table is an Int32Array: `table[0]` is the number of entries, then the
 * entries, each `BATCH_LAYOUT.stride` int32s from `BATCH_LAYOUT.header`,
 * with the same fields for sends and receives: `fd`, `offset`, `length`,
 * `result`. The native code checks every value it reads (the count against
 * the table's length, each window against the slab): a bad entry gets
 * `-EINVAL` as its result, a bad table or slab throws, nothing crashes.
 */
import { binding } from './binding.js';
import { fromNative } from './errors.js';

const B = binding;

/** Where a batch table's fields sit, in int32 units (see the module comment). */
export interface BatchLayout {
  /** Index of the first entry (table[0] is the count). */
  readonly header: number;
  /** Int32s per entry. */
  readonly stride: number;
  /** The socket's descriptor; a negative one skips the entry (result 0). */
  readonly fd: number;
  /** Sends: where the entry's bytes start in the slab. Receives: written, where they went. */
  readonly offset: number;
  /** Sends: how many bytes. Receives: the most to receive (at least 1). */
  readonly length: number;
  /** Written: the bytes moved, or -errno. */
  readonly result: number;
  /** The most entries one io_uring call takes (a batch may have more). */
  readonly ringOps: number;
}

/** The layout the addon was built with, checked once at load. */
export const BATCH_LAYOUT: BatchLayout = checkedLayout(binding.batch_layout);

function checkedLayout(raw: typeof binding.batch_layout): BatchLayout {
  const { header, stride, fd, offset, length, result, ring_ops: ringOps } = raw;
  const fields = [fd, offset, length, result];
  const ok =
    [header, stride, ringOps, ...fields].every((v) => Number.isInteger(v) && v >= 0) &&
    header >= 1 &&
    ringOps >= 1 &&
    new Set(fields).size === fields.length &&
    fields.every((f) => f < stride);
  if (!ok) throw new Error(`@iomux/core-native: the addon's batch_layout is not a table layout: ${JSON.stringify(raw)}`);
  return Object.freeze({ header, stride, fd, offset, length, result, ringOps });
}

/** An empty table (count 0) with room for `entries` entries. */
export function batchTable(entries: number): Int32Array {
  return new Int32Array(BATCH_LAYOUT.header + entries * BATCH_LAYOUT.stride);
}

/**
 * Sends `slab[offset, offset + length)` on each entry's fd, in order
 * (MSG_NOSIGNAL, never blocking: a full socket is -EAGAIN or a short
 * count), and writes each entry's result. A window outside the slab is
 * -EINVAL. Returns the number of entries done: all of them.
 * @throws {TypeError} when the slab is no ArrayBufferView or the table no Int32Array
 * @throws {ValueError} when `table[0]` is negative or more entries than the table holds
 */
export function sendBatch(slab: ArrayBufferView, table: Int32Array): number {
  try {
    return B.send_batch(slab, table);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Receives up to `length` bytes from each entry's fd into the slab, in
 * order and never blocking, and writes each entry's result (bytes, 0 at
 * EOF, or -errno) and offset (where its bytes start, 8-byte aligned).
 * Entries are packed from offset 0; with 2 or more entries whose equal
 * share of the slab is 4096 bytes or more, none takes more than its
 * share, and otherwise the batch stops early at an entry when what is left
 * of the slab is below both its length and 4096 bytes. Returns the number
 * of entries done (the rest are not touched).
 * @throws {TypeError} when the slab is no ArrayBufferView or the table no Int32Array
 * @throws {ValueError} when `table[0]` is negative or more entries than the table holds
 */
export function recvBatch(slab: ArrayBufferView, table: Int32Array): number {
  try {
    return B.recv_batch(slab, table);
  } catch (e) {
    throw fromNative(e);
  }
}

/** How a thread's batches reach the kernel (see batchIo). */
export type BatchIoState = 'io_uring' | 'disabled' | 'unavailable' | 'unsupported';

/**
 * How this thread's batches reach the kernel: 'io_uring' (one syscall per
 * batch of two or more entries; a lone entry is a plain syscall), or why
 * they make a syscall per entry: 'disabled' (IOMUX_URING=0 when the
 * thread's ring would be made, or turned off), 'unavailable' (the
 * kernel or a seccomp profile refused it), 'unsupported' (not Linux).
 * `mode` 'syscalls' turns this thread's ring off, 'io_uring' on again
 * where it can be; returns the state after. The results are the same
 * either way.
 * @throws {TypeError} when `mode` is given and is no string
 * @throws {ValueError} when `mode` is another string
 */
export function batchIo(mode?: 'io_uring' | 'syscalls'): BatchIoState {
  try {
    return mode === undefined ? B.batch_io() : B.batch_io(mode);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * The one-socket forms an event loop uses beside its batches, for a read or
 * a write that cannot wait for the next batch: recv(2) into the whole of
 * `view` on a non-blocking socket, returning the bytes received (0 at end
 * of stream). The addon's own function, not wrapped (it runs per message):
 * an error is thrown as the addon's plain Error with `errno`, `code` and
 * `syscall` (`fromNative` maps it to the contract's classes).
 */
export const recvOne: (fd: number, view: ArrayBufferView) => number = B.recv_view;

/** send(2) of the whole of `view` with MSG_NOSIGNAL: the bytes sent (see recvOne for errors). */
export const sendOne: (fd: number, view: ArrayBufferView) => number = B.send_view;

/**
 * Where `view` starts within its 4 KiB page (its address modulo 4096): for
 * placing receive buffers away from the kernel's page-aligned source
 * (copies between addresses nearly equal modulo 4096 run slower on x86).
 */
export const addressMod4096: (view: ArrayBufferView) => number = B.address_mod_4096;
