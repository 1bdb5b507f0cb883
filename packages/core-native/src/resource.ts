/**
 * Python's `resource` module, the part iomux needs: `getrlimit`,
 * `setrlimit` and the `RLIMIT_*` constants the platform defines (ports
 * CPython's Modules/resource.c). A limit is a number; `RLIM_INFINITY` is -1,
 * as Python has it on Linux. Limits past 2**53 come back rounded to a double.
 */
import { binding } from './binding.js';
import { errnoConstants } from './constants.js';
import { OverflowError, ValueError } from './error-classes.js';
import { fromNative } from './errors.js';
import { pyTypeName, toClinicInt, toInt } from './pyargs.js';

const EINVAL = errnoConstants.EINVAL!;
const EPERM = errnoConstants.EPERM!;
const C = binding.resource_constants;

/** The unlimited value of a limit (RLIM_INFINITY). */
export const RLIM_INFINITY = -1;
/** The most descriptors a process may open (its soft limit bounds `open`, `pipe`, `accept`...). */
export const RLIMIT_NOFILE: number = C.RLIMIT_NOFILE!;
/** The largest core file. */
export const RLIMIT_CORE: number = C.RLIMIT_CORE!;
/** CPU time in seconds. */
export const RLIMIT_CPU: number = C.RLIMIT_CPU!;
/** The largest file the process may create. */
export const RLIMIT_FSIZE: number = C.RLIMIT_FSIZE!;
/** The largest data segment. */
export const RLIMIT_DATA: number = C.RLIMIT_DATA!;
/** The largest stack. */
export const RLIMIT_STACK: number = C.RLIMIT_STACK!;
/** The largest address space, where the platform has it. */
export const RLIMIT_AS: number | undefined = C.RLIMIT_AS;
/** The most processes of the user, where the platform has it. */
export const RLIMIT_NPROC: number | undefined = C.RLIMIT_NPROC;
/** The most locked memory, where the platform has it. */
export const RLIMIT_MEMLOCK: number | undefined = C.RLIMIT_MEMLOCK;

const KNOWN = new Set(Object.values(C));

function resourceArg(resource: unknown): number {
  const r = toClinicInt(resource);
  if (!KNOWN.has(r)) throw new ValueError('invalid resource specified');
  return r;
}

/** A limit as CPython's py2rlim reads it (a C long long). */
function limitArg(x: unknown): number {
  if (typeof x === 'bigint') {
    if (x >= 2n ** 63n || x < -(2n ** 63n)) throw new OverflowError('Python int too large to convert to C long');
    return Number(x);
  }
  const v = toInt(x);
  if (v >= 2 ** 63 || v < -(2 ** 63)) throw new OverflowError('Python int too large to convert to C long');
  return v;
}

/** `[soft, hard]` limits of `resource`; ValueError for a resource the platform lacks. */
export function getrlimit(resource: number): [number, number] {
  const r = resourceArg(resource);
  try {
    return binding.resource_getrlimit(r);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Sets `resource`'s limits to `limits`, a `[soft, hard]` pair (any iterable
 * of two integers). As CPython: a soft limit above the hard one is
 * `ValueError: current limit exceeds maximum limit`, raising the hard limit
 * without the privilege `ValueError: not allowed to raise maximum limit`.
 */
export function setrlimit(resource: number, limits: Iterable<number>): void {
  const r = resourceArg(resource);
  if (limits === null || limits === undefined || typeof (limits as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new TypeError(`'${pyTypeName(limits)}' object is not iterable`);
  }
  const items: unknown[] = [];
  for (const x of limits) {
    if (items.length === 2) throw new ValueError('expected a tuple of 2 integers');
    items.push(x);
  }
  if (items.length !== 2) throw new ValueError('expected a tuple of 2 integers');
  const soft = limitArg(items[0]);
  const hard = limitArg(items[1]);
  try {
    binding.resource_setrlimit(r, soft, hard);
  } catch (e) {
    const err = fromNative(e) as { errno?: number };
    if (err.errno === EINVAL) throw new ValueError('current limit exceeds maximum limit');
    if (err.errno === EPERM) throw new ValueError('not allowed to raise maximum limit');
    throw err;
  }
}
