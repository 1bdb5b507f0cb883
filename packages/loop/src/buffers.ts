/**
 * Where received bytes go: the loop receives into buffers of its own (one
 * per thread for single reads, one per loop for read batches) and copies
 * each message out into memory of its own, handed to the protocol as a
 * Buffer. Everything here avoids what a hot path pays for per call on a
 * Buffer: subarray() (a species lookup, then a view), `.buffer` and
 * `.byteOffset` (getters through Buffer's prototype chain, which optimized
 * code loads with a generic IC), and the allocation of an ArrayBuffer per
 * message.
 */
import { Buffer } from 'node:buffer';
import { batch } from '@iomux/core-native';

/**
 * TypedArray.prototype.set, called directly: `out.set` is a lookup through
 * two prototypes, a generic property load per call in optimized code
 * (bench/README.md, CALLGRIND).
 */
export const typedArraySet = Uint8Array.prototype.set;

/**
 * Node's FastBuffer: the class of every Buffer (Buffer.from(ab, offset,
 * length) is `new FastBuffer(ab, offset, length)` after argument checks that
 * call into the runtime; subarray() finds it by a species lookup, two
 * property loads and a getter call). Buffer[Symbol.species] is how Node
 * exposes it; where it is not a constructor of Buffers, Buffer.from.
 */
export const FastBuffer: new (ab: ArrayBufferLike, offset: number, length: number) => Buffer = (() => {
  const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
  if (typeof species === 'function' && species !== Buffer) {
    try {
      const probe = new (species as new (ab: ArrayBuffer, o: number, n: number) => unknown)(new ArrayBuffer(8), 2, 4);
      if (Buffer.isBuffer(probe) && probe.byteOffset === 2 && probe.length === 4) {
        return species as new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
      }
    } catch {
      // not the FastBuffer we know
    }
  }
  return function (ab: ArrayBufferLike, offset: number, length: number): Buffer {
    return Buffer.from(ab, offset, length);
  } as unknown as new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
})();

/**
 * `size` bytes starting `at` bytes into a 4 KiB block of memory. Copies
 * between addresses nearly equal modulo 4096 ("4K aliasing") run slower on
 * x86, and a plain 256 KiB allocation starts 16 bytes into a page, just past
 * the page-aligned data the kernel copies from (bench/README.md,
 * RECV-PLACEMENT); half a page in is far from it. Not zero-filled: every
 * byte handed out is written first.
 */
function placed(size: number, at: number): Buffer {
  const raw = Buffer.allocUnsafeSlow(size + 4096);
  const start = (at - batch.addressMod4096(raw) + 4096) % 4096;
  return raw.subarray(start, start + size);
}

/**
 * Memory that received bytes are received into: a plain Uint8Array (the
 * addon's argument), and its ArrayBuffer and offset, read once.
 */
export class RecvArea {
  readonly u8: Uint8Array;
  readonly ab: ArrayBuffer;
  readonly base: number;
  constructor(size: number) {
    // Half a page away from the copy pools' page-aligned chunks.
    const b = placed(size, 2048);
    this.ab = b.buffer as ArrayBuffer;
    this.base = b.byteOffset;
    this.u8 = new Uint8Array(this.ab, this.base, size);
  }
}

/**
 * Chunks of memory that received bytes are copied into, handed out in
 * slices as Node's Buffer pool hands out small Buffers: one allocation per
 * chunk, not per message. A slice kept alive keeps its chunk alive.
 */
class CopyPool {
  /** The current chunk's memory; take() gives offsets into it. */
  ab!: ArrayBuffer;
  u8!: Uint8Array;
  #off = 0;
  #end = 0;
  readonly #size: number;
  readonly #pageAligned: boolean;
  constructor(size: number, pageAligned: boolean) {
    this.#size = size;
    this.#pageAligned = pageAligned;
  }
  /** The offset in `ab` of `n` (at most the chunk size) fresh bytes. */
  take(n: number): number {
    let off = this.#off;
    if (off + n > this.#end) off = this.#refill();
    // 8-byte aligned, as Node's pool keeps its slices.
    this.#off = off + ((n + 7) & ~7);
    return off;
  }
  #refill(): number {
    const b = this.#pageAligned ? placed(this.#size, 0) : Buffer.allocUnsafeSlow(this.#size);
    this.ab = b.buffer as ArrayBuffer;
    this.u8 = new Uint8Array(this.ab);
    this.#end = b.byteOffset + this.#size;
    return b.byteOffset;
  }
}

/**
 * Messages under 4 KiB (and read-batch runs of several, which stay under
 * 4 KiB) are copied into 8 KiB chunks: a small message kept alive keeps no
 * more memory alive than a small Buffer from Node's pool does.
 */
export const SMALL_MAX = 4095;
const smallPool = new CopyPool(8 * 1024, false);
/**
 * Messages of 4 to 8 KiB are copied into 64 KiB chunks (page-aligned: see
 * placed): an ArrayBuffer of its own costs a malloc and GC bookkeeping per
 * message (bench/README.md, CALLGRIND). One kept alive keeps at most 16
 * times its size alive; bigger ones get memory of their own.
 */
const BIG_MAX = 8 * 1024;
const bigPool = new CopyPool(64 * 1024, true);

/** A Buffer of its own holding the `n` bytes at `at` in `ab`. */
export function copyOut(ab: ArrayBuffer, at: number, n: number): Buffer {
  const from = new Uint8Array(ab, at, n);
  if (n > BIG_MAX) {
    const own = Buffer.allocUnsafeSlow(n);
    typedArraySet.call(own, from);
    return own;
  }
  const pool = n <= SMALL_MAX ? smallPool : bigPool;
  const off = pool.take(n);
  typedArraySet.call(pool.u8, from, off);
  return new FastBuffer(pool.ab, off, n);
}

/**
 * Copies the `n` bytes at `at` in `ab` (n <= SMALL_MAX) into the small
 * pool, for a run of messages that each get a view of their part; returns
 * the run's offset in runPool().
 */
export function copyRun(ab: ArrayBuffer, at: number, n: number): number {
  const off = smallPool.take(n);
  typedArraySet.call(smallPool.u8, new Uint8Array(ab, at, n), off);
  return off;
}

/** The memory of the run copyRun() last copied. */
export function runPool(): ArrayBuffer {
  return smallPool.ab;
}
