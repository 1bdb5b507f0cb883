/**
 * A growable byte queue (Python's bytearray as StreamReader uses it):
 * append at the end, find, and consume from the front, in amortized O(1)
 * per byte.
 */
export class ByteBuffer {
  #data = Buffer.allocUnsafe(0);
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  /** The bytes held (a view: valid until the next change). */
  view(): Buffer {
    return this.#data.subarray(this.#start, this.#end);
  }

  extend(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.#end + n > this.#data.length) {
      const len = this.length;
      if (len + n <= this.#data.length && this.#start >= len) {
        // Enough room once the consumed front is dropped.
        this.#data.copy(this.#data, 0, this.#start, this.#end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(2 * (len + n), 4096));
        this.#data.copy(grown, 0, this.#start, this.#end);
        this.#data = grown;
      }
      this.#start = 0;
      this.#end = len;
    }
    this.#data.set(chunk, this.#end);
    this.#end += n;
  }

  /** Index of `sep` at or after `offset` (relative to the front), or -1. */
  find(sep: Uint8Array, offset = 0): number {
    return this.view().indexOf(sep, offset);
  }

  startsWith(sep: Uint8Array, offset: number): boolean {
    const v = this.view();
    if (offset + sep.length > v.length) return false;
    return v.subarray(offset, offset + sep.length).equals(sep);
  }

  /** Removes and returns (a copy of) the first `n` bytes. */
  take(n: number): Buffer {
    n = Math.min(n, this.length);
    const out = Buffer.allocUnsafe(n);
    this.#data.copy(out, 0, this.#start, this.#start + n);
    this.drop(n);
    return out;
  }

  drop(n: number): void {
    this.#start += Math.min(n, this.length);
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
  }

  clear(): void {
    this.#start = 0;
    this.#end = 0;
  }
}
