/**
 * A FIFO ring buffer: collections.deque's append/popleft, O(1) both ways
 * (Array.shift is O(n) once the array is long). The loop's ready queue.
 */
export class Deque<T> {
  #buf: Array<T | undefined>;
  #head = 0;
  #size = 0;

  constructor(capacity = 64) {
    this.#buf = new Array(capacity);
  }

  get length(): number {
    return this.#size;
  }

  push(x: T): void {
    const cap = this.#buf.length;
    if (this.#size === cap) {
      const grown = new Array<T | undefined>(cap * 2);
      for (let i = 0; i < this.#size; i++) grown[i] = this.#buf[(this.#head + i) % cap];
      this.#buf = grown;
      this.#head = 0;
    }
    this.#buf[(this.#head + this.#size) % this.#buf.length] = x;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const x = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#buf.length;
    this.#size--;
    return x;
  }

  clear(): void {
    this.#buf = new Array(this.#buf.length);
    this.#head = 0;
    this.#size = 0;
  }
}
