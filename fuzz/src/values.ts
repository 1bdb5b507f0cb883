/**
 * The fuzzer's values: a seeded PRNG and the hostile values (each with a
 * short description for the reproduction line) that every argument is
 * drawn from, mixed with valid ones so that calls get past their first check.
 */

/** A value and how a reproduction line names it. */
export interface V {
  v: unknown;
  d: string;
}

/** mulberry32: small, fast and the same on every machine. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** The fuzzer's own error: thrown by hostile getters, fileno() and callbacks, so it may propagate. */
export class FuzzBoom extends Error {
  override name = 'FuzzBoom';
}
/** The reason the fuzzer aborts its signals with. */
export class FuzzAbort extends Error {
  override name = 'FuzzAbort';
}

const boom = (what: string) => (): never => {
  throw new FuzzBoom(what);
};

/** A sparse array whose length is 2**32 - 1: anything that copies it first hangs. */
function hugeArray(): unknown[] {
  const a: unknown[] = [];
  a.length = 2 ** 32 - 1;
  return a;
}

/** An array-like Proxy reporting a huge length; its elements are undefined. */
function hugeProxy(): unknown {
  return new Proxy([] as unknown[], {
    get(t, k) {
      if (k === 'length') return 2 ** 53 - 1;
      return Reflect.get(t, k);
    },
  });
}

/** A Proxy whose every trap throws. */
function throwingProxy(): unknown {
  const h: ProxyHandler<object> = {};
  for (const trap of ['get', 'has', 'ownKeys', 'getPrototypeOf', 'getOwnPropertyDescriptor', 'set', 'defineProperty', 'apply', 'construct'] as const) {
    (h as Record<string, unknown>)[trap] = boom(`proxy ${trap}`);
  }
  return new Proxy(function () {}, h);
}

function detached(): ArrayBuffer {
  const ab = new ArrayBuffer(64);
  structuredClone(ab, { transfer: [ab] });
  return ab;
}

function detachedView(): Uint8Array {
  const ab = new ArrayBuffer(64);
  const view = new Uint8Array(ab, 8, 32);
  structuredClone(ab, { transfer: [ab] });
  return view;
}

/**
 * The shared hostile values. Integers that could name one of Node's own
 * descriptors (0..2 and a few above) are absent: callers draw descriptors
 * from Env.fd(), which never hands out one the child did not make.
 */
export function hostileList(): V[] {
  const list: V[] = [
    { v: undefined, d: 'undefined' },
    { v: null, d: 'null' },
    { v: true, d: 'true' },
    { v: false, d: 'false' },
    { v: -1, d: '-1' },
    { v: -0, d: '-0' },
    { v: 0.5, d: '0.5' },
    { v: -2.5, d: '-2.5' },
    { v: NaN, d: 'NaN' },
    { v: Infinity, d: 'Infinity' },
    { v: -Infinity, d: '-Infinity' },
    { v: 2 ** 31, d: '2**31' },
    { v: 2 ** 31 - 1, d: '2**31-1' },
    { v: -(2 ** 31) - 1, d: '-(2**31)-1' },
    { v: 2 ** 32, d: '2**32' },
    { v: 2 ** 53, d: '2**53' },
    { v: -(2 ** 53), d: '-(2**53)' },
    { v: Number.MAX_VALUE, d: 'Number.MAX_VALUE' },
    { v: Number.MIN_VALUE, d: 'Number.MIN_VALUE' },
    { v: 19999n, d: '19999n' },
    { v: -1n, d: '-1n' },
    { v: 2n ** 64n, d: '2n**64n' },
    { v: 2n ** 31n, d: '2n**31n' },
    { v: '', d: "''" },
    { v: '7', d: "'7'" },
    { v: 'abc', d: "'abc'" },
    { v: 'x'.repeat(70000), d: "'x'.repeat(70000)" },
    { v: 'a\0b', d: "'a\\0b'" },
    { v: Symbol('fuzz'), d: 'Symbol()' },
    { v: {}, d: '{}' },
    { v: Object.create(null), d: 'Object.create(null)' },
    { v: [], d: '[]' },
    { v: [19999, -1], d: '[19999, -1]' },
    { v: [NaN, Symbol('x')], d: '[NaN, Symbol()]' },
    { v: () => 1, d: '() => 1' },
    { v: boom('called'), d: '() => { throw }' },
    { v: { fileno: boom('fileno') }, d: '{ fileno() throws }' },
    { v: { fileno: () => NaN }, d: '{ fileno: () => NaN }' },
    { v: { fileno: () => -1 }, d: '{ fileno: () => -1 }' },
    { v: { fileno: () => 2 ** 31 }, d: '{ fileno: () => 2**31 }' },
    { v: { fileno: () => 19999n }, d: '{ fileno: () => 19999n }' },
    { v: { fileno: () => '9' }, d: "{ fileno: () => '9' }" },
    { v: { fileno: () => ({ valueOf: boom('valueOf') }) }, d: '{ fileno: () => { valueOf() throws } }' },
    { v: { fileno: 5 }, d: '{ fileno: 5 }' },
    { v: { get fileno() { return boom('fileno getter')(); } }, d: '{ get fileno() throws }' },
    { v: { valueOf: boom('valueOf') }, d: '{ valueOf() throws }' },
    { v: { valueOf: () => 19999 }, d: '{ valueOf: () => 19999 }' },
    { v: { toString: boom('toString'), valueOf: boom('valueOf') }, d: '{ toString/valueOf throw }' },
    { v: { [Symbol.toPrimitive]: boom('toPrimitive') }, d: '{ [Symbol.toPrimitive]() throws }' },
    { v: { [Symbol.iterator]: boom('iterator') }, d: '{ [Symbol.iterator]() throws }' },
    { v: { *[Symbol.iterator]() { yield 1; throw new FuzzBoom('mid-iteration'); } }, d: 'iterable throwing mid-way' },
    { v: throwingProxy(), d: 'Proxy(every trap throws)' },
    { v: hugeProxy(), d: 'Proxy(length 2**53-1)' },
    { v: hugeArray(), d: 'Array(length 2**32-1)' },
    { v: detached(), d: 'detached ArrayBuffer' },
    { v: detachedView(), d: 'Uint8Array of a detached buffer' },
    { v: new Uint8Array(0), d: 'Uint8Array(0)' },
    { v: Buffer.alloc(16, 0x61), d: 'Buffer(16)' },
    { v: new Float64Array(4), d: 'Float64Array(4)' },
    { v: new Int32Array([1, 19999, 2 ** 31 - 1, 5]), d: 'Int32Array([1, 19999, 2**31-1, 5])' },
    { v: new DataView(new ArrayBuffer(8), 3, 4), d: 'DataView(8, 3, 4)' },
    { v: new Uint8Array(new SharedArrayBuffer(16)), d: 'Uint8Array(SharedArrayBuffer)' },
    { v: new ArrayBuffer(8), d: 'ArrayBuffer(8)' },
    { v: new Date(0), d: 'Date' },
    { v: /x/, d: '/x/' },
    { v: new Map([[1, 2]]), d: 'Map' },
    { v: new Set([1]), d: 'Set' },
    { v: Promise.resolve(1), d: 'Promise' },
    { v: new Error('plain'), d: 'Error' },
    { v: Object.freeze({ a: 1 }), d: 'frozen {a: 1}' },
    { v: { signal: null }, d: '{ signal: null }' },
    { v: { signal: 5 }, d: '{ signal: 5 }' },
    { v: { signal: {} }, d: '{ signal: {} }' },
    { v: { signal: { aborted: false, addEventListener: 5 } }, d: '{ signal: { addEventListener: 5 } }' },
    { v: { signal: { aborted: true, reason: 1 } }, d: '{ signal: { aborted: true } }' },
    { v: { get signal() { return boom('signal getter')(); } }, d: '{ get signal() throws }' },
    { v: { get timeout() { return boom('timeout getter')(); } }, d: '{ get timeout() throws }' },
    { v: { timeout: NaN, maxevents: 2 ** 31 }, d: '{ timeout: NaN, maxevents: 2**31 }' },
    { v: { timeout: 'x', flags: -1, sizehint: 2 ** 53 }, d: "{ timeout: 'x', flags: -1, sizehint: 2**53 }" },
    { v: { limit: -1, backlog: 2 ** 53, family: 'x' }, d: "{ limit: -1, backlog: 2**53, family: 'x' }" },
    { v: { backend: 5, selector: {} }, d: '{ backend: 5, selector: {} }' },
  ];
  for (const x of list) if ((typeof x.v === 'object' && x.v !== null) || typeof x.v === 'function') HOSTILE.add(x.v as object);
  return list;
}

/** Every hostile object made: one that comes back as a rejection is the caller's own value propagated (setException). */
const HOSTILE = new WeakSet<object>();

/** Error classes the fuzzer's own code throws on purpose: they may propagate. */
/** Values a call stored to throw later (StreamReader.setException): they may come back as rejections. */
const PROPAGATED = new Set<unknown>();
export function markPropagated(v: unknown): void {
  if (PROPAGATED.size < 1000) PROPAGATED.add(v);
}

export function isFuzzerOwn(e: unknown): boolean {
  if (PROPAGATED.has(e)) return true;
  if (((typeof e === 'object' && e !== null) || typeof e === 'function') && HOSTILE.has(e)) return true;
  return e instanceof FuzzBoom || e instanceof FuzzAbort;
}
