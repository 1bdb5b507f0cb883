/**
 * Python-style argument checks shared by every iomux package, so that a bad
 * argument gets the TypeError text CPython's argument parsing gives.
 */
import { OverflowError } from './errors.js';

/**
 * Python's type name for a JS value, as it appears in CPython's TypeError
 * messages ("... not 'list'"). Kept simple, by what a Python user would call
 * the value:
 *
 * - `null` and `undefined` are `'NoneType'` (both stand for `None`);
 * - strings `'str'`, booleans `'bool'`, integral numbers and bigints `'int'`,
 *   other numbers (1.5, NaN, Infinity) `'float'`;
 * - an Array is `'list'`; a plain object (`{}` or `Object.create(null)`) and a
 *   Map are `'dict'`; a Set is `'set'`; a function is `'function'`;
 * - anything else is its constructor's name (`'Uint8Array'`, `'Socket'`), or
 *   `'object'` when it has none. Byte views keep their JS names: where Python
 *   wants bytes they are accepted, so they rarely appear in a message.
 */
export function pyTypeName(x: unknown): string {
  if (x === null || x === undefined) return 'NoneType';
  switch (typeof x) {
    case 'string': return 'str';
    case 'number': return Number.isInteger(x) ? 'int' : 'float';
    case 'bigint': return 'int';
    case 'boolean': return 'bool';
    case 'function': return 'function';
    case 'symbol': return 'symbol';
    default: {
      if (Array.isArray(x)) return 'list';
      if (x instanceof Map) return 'dict';
      if (x instanceof Set) return 'set';
      const proto: unknown = Object.getPrototypeOf(x);
      if (proto === null || proto === Object.prototype) return 'dict';
      const c = (x as object).constructor;
      return typeof c === 'function' && c.name ? c.name : 'object';
    }
  }
}

/**
 * A value for an error message: a string, number, bigint, boolean or symbol
 * as it prints (at most 200 characters), anything else by its type name
 * (`<list object>`): never a huge string, and never the value's own
 * toString(), which may throw.
 */
export function describe(x: unknown): string {
  let text: string;
  switch (typeof x) {
    case 'string': text = x; break;
    case 'number': case 'bigint': case 'boolean': case 'symbol': case 'undefined': text = String(x); break;
    default: text = x === null ? 'null' : `<${pyTypeName(x)} object>`;
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * An integer argument, as PyLong_AsLong: a JS number with no fraction (or a
 * bigint that fits), else `TypeError: 'float' object cannot be interpreted as
 * an integer`. Range is checked by the caller (or `intInRange`).
 */
export function toInt(x: unknown): number {
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  if (typeof x === 'bigint' && x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x);
  if (typeof x === 'bigint') throw new OverflowError('Python int too large to convert to C int');
  throw new TypeError(`'${pyTypeName(x)}' object cannot be interpreted as an integer`);
}

/** The largest C `int` (2**31 - 1): the bound of an argument Python parses as `int`. */
export const INT_MAX = 2147483647;
/** The smallest C `int` (-2**31). */
export const INT_MIN = -2147483648;
/** The largest C `unsigned int` (2**32 - 1). */
export const UINT_MAX = 4294967295;
/** The largest C `unsigned short` (65535): the bound of a poll() event mask. */
export const USHRT_MAX = 65535;

/**
 * An integer that must fit a C int, as Argument Clinic's `int` converter
 * (`_PyLong_AsInt`, used by most of the `os` module):
 * `OverflowError: Python int too large to convert to C int` past either end.
 */
export function toClinicInt(x: unknown): number {
  const v = toInt(x);
  if (v > INT_MAX || v < INT_MIN) throw new OverflowError('Python int too large to convert to C int');
  return v;
}

const SSIZE_MAX = 2n ** 63n - 1n;
const SSIZE_MIN = -(2n ** 63n);

/**
 * An integer that must fit a 64-bit `Py_ssize_t`, as Argument Clinic's
 * `Py_ssize_t` converter: `OverflowError: Python int too large to convert to
 * C ssize_t` past either end. A bigint past 2**53 comes back rounded to the
 * nearest double, which is harmless for sizes and counts.
 */
export function toSsizeT(x: unknown): number {
  if (typeof x === 'bigint') {
    if (x > SSIZE_MAX || x < SSIZE_MIN) throw new OverflowError('Python int too large to convert to C ssize_t');
    return Number(x);
  }
  const v = toInt(x);
  // 2**63 is the first double past SSIZE_MAX; -(2**63) is SSIZE_MIN itself.
  if (v >= 2 ** 63 || v < -(2 ** 63)) throw new OverflowError('Python int too large to convert to C ssize_t');
  return v;
}

/** An integer that must fit a C int, as the "i" format: OverflowError past it. */
export function toCInt(x: unknown): number {
  const v = toInt(x);
  if (v > INT_MAX) throw new OverflowError('signed integer is greater than maximum');
  if (v < INT_MIN) throw new OverflowError('signed integer is less than minimum');
  return v;
}
