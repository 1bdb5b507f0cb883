/**
 * SelectorKey: Python's `selectors.SelectorKey` namedtuple (CPython 3.11
 * Lib/selectors.py), as a frozen object with readonly fields.
 */

/** What a selector knows about one registered file object. */
export class SelectorKey<D = unknown> {
  /** The registered file object (an int, an object with fileno(), a Node handle). */
  readonly fileobj: unknown;
  /** Its descriptor. */
  readonly fd: number;
  /** EVENT_READ and/or EVENT_WRITE. */
  readonly events: number;
  /** The caller's data, or null. */
  readonly data: D | null;

  constructor(fileobj: unknown, fd: number, events: number, data: D | null) {
    this.fileobj = fileobj;
    this.fd = fd;
    this.events = events;
    this.data = data;
    Object.freeze(this);
  }

  /** namedtuple `_replace`: a copy with some fields changed. @internal */
  withChanges(changes: { events?: number; data?: D | null }): SelectorKey<D> {
    return new SelectorKey(this.fileobj, this.fd, changes.events ?? this.events, 'data' in changes ? (changes.data as D | null) : this.data);
  }

  /** Python's tuple unpacking: `const [fileobj, fd, events, data] = key`. */
  *[Symbol.iterator](): IterableIterator<unknown> {
    yield this.fileobj;
    yield this.fd;
    yield this.events;
    yield this.data;
  }

  /** Python's namedtuple repr: `SelectorKey(fileobj=..., fd=..., events=..., data=...)`. */
  toString(): string {
    return `SelectorKey(fileobj=${repr(this.fileobj)}, fd=${this.fd}, events=${this.events}, data=${repr(this.data)})`;
  }
}

/** A short Python-like repr for messages. */
export function repr(x: unknown): string {
  if (x === null || x === undefined) return 'None';
  if (typeof x === 'string') return `'${x}'`;
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return String(x);
  if (typeof x === 'object' || typeof x === 'function') {
    const name = (x as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    return `<${name} object>`;
  }
  return String(x);
}
