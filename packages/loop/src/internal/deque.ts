/**
 * A FIFO ring buffer: collections.deque's append/popleft, O(1) both ways
 * (Array.shift is O(n) once the array is long). The loop's ready queue.
 */
export class Deque<T> {
  #buf: Array<T | undefined>;
  #head = 0;
  #size = 0;

  /**
   * `capacity` is rounded up to a power of two: positions wrap with a mask
   * (an integer division per push and per shift costs more than the rest
   * of either).
   */
  constructor(capacity = 64) {
    let cap = 1;
    while (cap < capacity) cap *= 2;
    this.#buf = new Array(cap);
  }

  get length(): number {
    return this.#size;
  }

  push(x: T): void {
    const cap = this.#buf.length;
    if (this.#size === cap) {
      const grown = new Array<T | undefined>(cap * 2);
      for (let i = 0; i < this.#size; i++) grown[i] = this.#buf[(this.#head + i) & (cap - 1)];
      this.#buf = grown;
      this.#head = 0;
    }
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = x;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const x = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
    return x;
  }

  clear(): void {
    this.#buf = new Array(this.#buf.length);
    this.#head = 0;
    this.#size = 0;
  }
}
