/**
 * kevent(): Python's select.kevent, the struct kevent of kqueue(2).
 *
 * Each field is converted as CPython's PyArg format for its C type (LP64:
 * "O|hHILK"): `ident` an unsigned 64-bit int or an object with fileno(),
 * `filter` a C short (OverflowError past it), `flags` an unsigned short and
 * `fflags` an unsigned int (reduced modulo 2**16 and 2**32, as CPython does
 * without a check), `data` a signed 64-bit int (OverflowError past it) and
 * `udata` an unsigned 64-bit int (modulo 2**64; an int only, as "K" is).
 *
 * The 64-bit fields come back as a number when the value is a safe integer
 * (|v| < 2**53) and as a bigint otherwise, whichever was passed in; both
 * are accepted everywhere, so one value has one representation and `===`
 * compares fields.
 */
import { OverflowError } from '@iomux/core-native/error-classes';
import { pyTypeName } from '@iomux/core-native';
import { B, C } from './internal/native.js';
import { fdOf } from './internal/fileobj.js';
import { isOptions } from './internal/async.js';

const FILTER_READ = C.KQ_FILTER_READ ?? -1;
const EV_ADD = C.KQ_EV_ADD ?? 1;
const TWO32 = 4294967296;
const U64_MAX = 2n ** 64n - 1n;
const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const LONG_MAX = 2 ** 63;
const KEYWORDS = ['filter', 'flags', 'fflags', 'data', 'udata'] as const;
const TOKEN = Symbol('iomux.kevent');

/** A 64-bit value as this module returns it: a number when safe, else a bigint. */
export type Int64 = number | bigint;

function norm(v: bigint): Int64 {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

const notInt = (x: unknown): TypeError => new TypeError(`'${pyTypeName(x)}' object cannot be interpreted as an integer`);

/** An integer argument as a bigint (PyNumber_Index); TypeError for anything else. */
function big(x: unknown): bigint {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' && Number.isInteger(x)) return BigInt(x);
  throw notInt(x);
}

/** `ident`: PyLong_AsSize_t for an int, PyObject_AsFileDescriptor for anything else. */
function toIdent(x: unknown): Int64 {
  if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) return x;
  if (typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x))) {
    const v = BigInt(x);
    if (v < 0n) throw new OverflowError("can't convert negative value to size_t");
    if (v > U64_MAX) throw new OverflowError('Python int too large to convert to C size_t');
    return norm(v);
  }
  return fdOf(x);
}

/** `filter`: "h", a C short. */
function toFilter(x: unknown): number {
  if (typeof x === 'number' && x >= -32768 && x <= 32767 && Number.isInteger(x)) return x;
  const v = big(x);
  if (v >= -32768n && v <= 32767n) return Number(v);
  // PyLong_AsLong fails first past a C long.
  if (v >= LONG_MAX || v < -LONG_MAX) throw new OverflowError('Python int too large to convert to C long');
  if (v > 32767n) throw new OverflowError('signed short integer is greater than maximum');
  throw new OverflowError('signed short integer is less than minimum');
}

/** `flags`: "H", any int reduced modulo 2**16. */
function toFlags(x: unknown): number {
  if (typeof x === 'number' && Number.isInteger(x)) return Number.isSafeInteger(x) ? x & 0xffff : Number(BigInt.asUintN(16, BigInt(x)));
  return Number(BigInt.asUintN(16, big(x)));
}

/** `fflags`: "I", any int reduced modulo 2**32. */
function toFflags(x: unknown): number {
  if (typeof x === 'number' && Number.isInteger(x)) return Number.isSafeInteger(x) ? x >>> 0 : Number(BigInt.asUintN(32, BigInt(x)));
  return Number(BigInt.asUintN(32, big(x)));
}

/** `data`: "L", a C long long. */
function toData(x: unknown): Int64 {
  if (typeof x === 'number' && Number.isSafeInteger(x)) return x;
  const v = big(x);
  if (v > I64_MAX || v < I64_MIN) throw new OverflowError('int too big to convert');
  return norm(v);
}

/** `udata`: "K", an int (no other integer-like type) reduced modulo 2**64. */
function toUdata(x: unknown, position: string): Int64 {
  if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) return x;
  if (typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x))) return norm(BigInt.asUintN(64, BigInt(x)));
  throw new TypeError(`kevent() argument ${position} must be int, not ${pyTypeName(x)}`);
}

/** `udata` as struct kevent's compare sees it: `(intptr_t)udata`. */
function signedUdata(u: Int64): Int64 {
  return typeof u === 'bigint' ? BigInt.asIntN(64, u) : u;
}

/** `kevent()`'s keywords (Python's `filter=`, `flags=`, ...) as one options object. */
export interface KeventOptions {
  /** `KQ_FILTER_*` (default KQ_FILTER_READ). */
  filter?: number;
  /** `KQ_EV_*` (default KQ_EV_ADD). */
  flags?: number;
  /** `KQ_NOTE_*` (default 0). */
  fflags?: number;
  /** Filter-specific data (default 0). */
  data?: number | bigint;
  /** Opaque user data (default 0). */
  udata?: number | bigint;
}

/** A kevent object (struct kevent); make one with `kevent(ident, ...)`. */
export class Kevent {
  #ident: Int64;
  #filter: number;
  #flags: number;
  #fflags: number;
  #data: Int64;
  #udata: Int64;

  /** @internal Use `kevent()`. The fields are trusted here: already converted. */
  constructor(token: unknown, ident: Int64, filter: number, flags: number, fflags: number, data: Int64, udata: Int64) {
    if (token !== TOKEN) throw new TypeError('use select.kevent() to make a kevent object');
    this.#ident = ident;
    this.#filter = filter;
    this.#flags = flags;
    this.#fflags = fflags;
    this.#data = data;
    this.#udata = udata;
  }

  /** Whether `x` is a kevent object (a brand check, not `instanceof`). */
  static isKevent(x: unknown): x is Kevent {
    return typeof x === 'object' && x !== null && #ident in x;
  }

  /** The descriptor, pid, signal or timer id: an unsigned 64-bit int. */
  get ident(): Int64 {
    return this.#ident;
  }
  /** Sets the ident (an int, or an object with `fileno()`), converted as kevent() converts it. */
  set ident(v: Int64) {
    this.#ident = toIdent(v);
  }
  /** The filter (`KQ_FILTER_*`), a C short. */
  get filter(): number {
    return this.#filter;
  }
  /** Sets the filter; beyond a C short is OverflowError. */
  set filter(v: number) {
    this.#filter = toFilter(v);
  }
  /** The action and returned flags (`KQ_EV_*`), an unsigned short. */
  get flags(): number {
    return this.#flags;
  }
  /** Sets the flags, reduced modulo 2**16 as CPython does. */
  set flags(v: number) {
    this.#flags = toFlags(v);
  }
  /** The filter-specific flags (`KQ_NOTE_*`), an unsigned int. */
  get fflags(): number {
    return this.#fflags;
  }
  /** Sets the fflags, reduced modulo 2**32 as CPython does. */
  set fflags(v: number) {
    this.#fflags = toFflags(v);
  }
  /** The filter-specific data (bytes ready, a timer's period, an errno with KQ_EV_ERROR): a signed 64-bit int. */
  get data(): Int64 {
    return this.#data;
  }
  /** Sets the data; beyond a signed 64-bit int is OverflowError. */
  set data(v: Int64) {
    this.#data = toData(v);
  }
  /** Opaque user data, returned unchanged: an unsigned 64-bit int. */
  get udata(): Int64 {
    return this.#udata;
  }
  /** Sets the udata, reduced modulo 2**64 as CPython does. */
  set udata(v: Int64) {
    this.#udata = toUdata(v, '6');
  }

  /** Python's `==`: true when `other` is a kevent with the same six fields. */
  equals(other: unknown): boolean {
    return Kevent.isKevent(other) && compareKevents(this, other) === 0;
  }

  /** Python's repr(). */
  toString(): string {
    const hex = (v: Int64): string => (typeof v === 'bigint' ? BigInt.asUintN(64, v) : v < 0 ? BigInt.asUintN(64, BigInt(v)) : v).toString(16);
    return `<select.kevent ident=${this.#ident} filter=${this.#filter} flags=0x${this.#flags.toString(16)} fflags=0x${this.#fflags.toString(16)} data=0x${hex(this.#data)} udata=0x${hex(this.#udata)}>`;
  }
}

/** `Kevent` without checks, for the events control() returns. */
export function makeKevent(ident: Int64, filter: number, flags: number, fflags: number, data: Int64, udata: Int64): Kevent {
  return new Kevent(TOKEN, ident, filter, flags, fflags, data, udata);
}

function cmp(a: Int64, b: Int64): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** CPython's kqueue_event_richcompare: ident, filter, flags, fflags, data, then (intptr_t)udata. */
function compareKevents(a: Kevent, b: Kevent): number {
  return (
    cmp(a.ident, b.ident) ||
    cmp(a.filter, b.filter) ||
    cmp(a.flags, b.flags) ||
    cmp(a.fflags, b.fflags) ||
    cmp(a.data, b.data) ||
    cmp(signedUdata(a.udata), signedUdata(b.udata))
  );
}

/**
 * Python's `select.kevent(ident, filter=KQ_FILTER_READ, flags=KQ_EV_ADD,
 * fflags=0, data=0, udata=0)`; also `kevent(ident, { filter, flags, ... })`.
 */
function keventFactory(ident: unknown, filter?: unknown, flags?: unknown, fflags?: unknown, data?: unknown, udata?: unknown): Kevent {
  const n = arguments.length;
  if (n < 1) throw new TypeError("kevent() missing required argument 'ident' (pos 1)");
  if (n > 6) throw new TypeError(`kevent() takes at most 6 arguments (${n} given)`);
  let udataAt = '6';
  if (isOptions(filter)) {
    if (n > 2) throw new TypeError('kevent() takes an options object or positional arguments, not both');
    const o = filter;
    for (const k of Object.keys(o)) {
      if (!(KEYWORDS as readonly string[]).includes(k)) throw new TypeError(`'${k}' is an invalid keyword argument for kevent()`);
    }
    ({ filter, flags, fflags, data, udata } = o);
    udataAt = "'udata'";
  }
  // CPython parses the keyword fields first, then ident.
  const fi = filter === undefined ? FILTER_READ : toFilter(filter);
  const fl = flags === undefined ? EV_ADD : toFlags(flags);
  const ff = fflags === undefined ? 0 : toFflags(fflags);
  const da = data === undefined ? 0 : toData(data);
  const ud = udata === undefined ? 0 : toUdata(udata, udataAt);
  return new Kevent(TOKEN, toIdent(ident), fi, fl, ff, da, ud);
}

/**
 * Beyond Python (whose kevents compare with `<`, `<=`, `>`, `>=`): -1, 0 or
 * 1 in CPython's order (ident, filter, flags, fflags, data, then udata as a
 * signed pointer). TypeError unless both are kevent objects, as `<` is.
 */
function compare(a: Kevent, b: Kevent): -1 | 0 | 1 {
  if (!Kevent.isKevent(a) || !Kevent.isKevent(b)) {
    throw new TypeError(
      `'<' not supported between instances of '${Kevent.isKevent(a) ? 'select.kevent' : pyTypeName(a)}' and '${Kevent.isKevent(b) ? 'select.kevent' : pyTypeName(b)}'`,
    );
  }
  return compareKevents(a, b) as -1 | 0 | 1;
}

export const kevent: {
  (ident: unknown, filter?: number, flags?: number, fflags?: number, data?: number | bigint, udata?: number | bigint): Kevent;
  (ident: unknown, options: KeventOptions): Kevent;
  compare(a: Kevent, b: Kevent): -1 | 0 | 1;
  readonly prototype: Kevent;
} = Object.assign(keventFactory, { compare }) as never;
// `ev instanceof kevent` holds, as isinstance(ev, select.kevent) does.
Object.defineProperty(kevent, 'prototype', { value: Kevent.prototype });

// ---------------------------------------------------------------- layout

/** struct kevent in int32 slots (native/kqueue.cc); zeros where there is no kqueue. */
export const LAYOUT = B.kevent_layout ?? { stride: 0, identLo: 0, identHi: 0, filter: 0, flags: 0, fflags: 0, dataLo: 0, dataHi: 0, udataLo: 0, udataHi: 0 };

/** Writes a 64-bit value into two int32 slots (low, high). */
export function put64(a: Int32Array, lo: number, hi: number, v: Int64): void {
  if (typeof v === 'number') {
    // Int32Array stores ToInt32(v): the low 32 bits of any integer number.
    a[lo] = v;
    a[hi] = Math.floor(v / TWO32);
  } else {
    a[lo] = Number(BigInt.asIntN(32, v));
    a[hi] = Number(BigInt.asIntN(32, v >> 32n));
  }
}

/** An unsigned 64-bit value from two int32 slots. */
export function getU64(lo: number, hi: number): Int64 {
  const h = hi >>> 0;
  if (h < 0x200000) return h * TWO32 + (lo >>> 0);
  return (BigInt(h) << 32n) | BigInt(lo >>> 0);
}

/** A signed 64-bit value from two int32 slots. */
export function getI64(lo: number, hi: number): Int64 {
  if (hi >= -0x200000 && hi < 0x200000) {
    const v = hi * TWO32 + (lo >>> 0);
    if (v !== -9007199254740992) return v;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
}
