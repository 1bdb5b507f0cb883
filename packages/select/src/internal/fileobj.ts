/**
 * Python's `PyObject_AsFileDescriptor`: what every iomux call that takes "an
 * int or an object with a fileno() method" does with its argument, plus the
 * Node handles the contract adds (net.Socket, net.Server, tty streams and
 * child-process pipes through their libuv handle; fs.promises.FileHandle and
 * fs streams through their `fd`).
 */
import { OverflowError, ValueError } from '@iomux/core-native/error-classes';

const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

export const NOT_A_FILEOBJ = 'argument must be an int, or have a fileno() method.';

let allowNegative = false;

/** Range checks shared by every path: C int, then non-negative. */
function checked(v: number): number {
  if (v > INT_MAX || v < INT_MIN) throw new OverflowError('Python int too large to convert to C int');
  if (v < 0 && !allowNegative) throw new ValueError(`file descriptor cannot be a negative integer (${v})`);
  return v;
}

function fromBigint(v: bigint): number {
  if (v > BigInt(INT_MAX) || v < BigInt(INT_MIN)) throw new OverflowError('Python int too large to convert to C int');
  return checked(Number(v));
}

/**
 * fdOf() that returns a negative descriptor instead of throwing (a closed
 * Python socket's fileno() is -1): what selectors' _fileobj_to_fd needs.
 */
export function fdOfAllowNegative(obj: unknown): number {
  allowNegative = true;
  try {
    return fdOf(obj);
  } finally {
    allowNegative = false;
  }
}

interface MaybeNode {
  fileno?: unknown;
  _handle?: { fd?: unknown } | null;
  fd?: unknown;
  close?: unknown;
}

/**
 * The descriptor behind `obj`. A `fileno()` that throws propagates; one that
 * returns a non-integer is a TypeError; a negative number is a ValueError; a
 * number past a C int is an OverflowError, all with CPython's messages.
 * A destroyed Node socket (no libuv handle) counts as descriptor -1, as a
 * closed Python socket's fileno() does.
 */
export function fdOf(obj: unknown): number {
  if (typeof obj === 'number') {
    if (Number.isInteger(obj)) return checked(obj);
    throw new TypeError(NOT_A_FILEOBJ);
  }
  if (typeof obj === 'bigint') return fromBigint(obj);
  if ((typeof obj === 'object' && obj !== null) || typeof obj === 'function') {
    const o = obj as MaybeNode;
    const fileno = o.fileno;
    if (typeof fileno === 'function') {
      const v: unknown = fileno.call(obj);
      if (typeof v === 'number' && Number.isInteger(v)) return checked(v);
      if (typeof v === 'bigint') return fromBigint(v);
      throw new TypeError('fileno() returned a non-integer');
    }
    if ('_handle' in o) {
      // net.Socket, net.Server, tty.ReadStream/WriteStream, child stdio.
      const h = o._handle;
      if (h === null || h === undefined) return checked(-1);
      if (typeof h.fd === 'number' && Number.isInteger(h.fd)) return checked(h.fd);
    } else if (typeof o.fd === 'number' && Number.isInteger(o.fd) && typeof o.close === 'function') {
      // fs.promises.FileHandle (fd -1 once closed), fs.ReadStream/WriteStream.
      return checked(o.fd);
    }
  }
  throw new TypeError(NOT_A_FILEOBJ);
}
