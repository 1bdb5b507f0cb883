/**
 * Python-style argument checks shared by every iomux package, so that a bad
 * argument gets the TypeError text CPython's argument parsing gives.
 */
import { OverflowError } from './errors.js';

/** Python's type name for a JS value: 'str', 'float', 'NoneType', ... */
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
      const c = (x as object).constructor;
      return typeof c === 'function' && c.name ? c.name : 'object';
    }
  }
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

export const INT_MAX = 2147483647;
export const INT_MIN = -2147483648;
export const UINT_MAX = 4294967295;
export const USHRT_MAX = 65535;

/** An integer that must fit a C int, as the "i" format: OverflowError past it. */
export function toCInt(x: unknown): number {
  const v = toInt(x);
  if (v > INT_MAX) throw new OverflowError('signed integer is greater than maximum');
  if (v < INT_MIN) throw new OverflowError('signed integer is less than minimum');
  return v;
}
