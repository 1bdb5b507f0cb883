/**
 * Python's `os.sendfile` and `os.lseek` (CPython Modules/posixmodule.c),
 * re-exported by os.ts: a zero-copy sendfile(2) from a file to a
 * descriptor, and the file-position call that goes with it. Arguments are
 * parsed as CPython parses them (TypeError, then OverflowError past the C
 * type), and checked again natively (native/sendfile.cc). Each call retries
 * EINTR (PEP 475).
 */
import { binding } from './binding.js';
import { errnoConstants } from './constants.js';
import { fromErrno, fromNative, OverflowError } from './errors.js';
import { toClinicInt, toInt, toSsizeT } from './pyargs.js';

const EBADF = errnoConstants.EBADF!;
const EINVAL = errnoConstants.EINVAL!;

/** The native half (native/sendfile.cc). */
interface SendfileBinding {
  sendfile(outFd: number, inFd: number, offset: number | null, count: number): number;
  lseek(fd: number, pos: number, how: number): number;
  SEEK_SET: number;
  SEEK_CUR: number;
  SEEK_END: number;
}
const native = binding as unknown as SendfileBinding;

/** lseek: the position is the file's start plus `pos`. */
export const SEEK_SET: number = native.SEEK_SET;
/** lseek: the position is the current one plus `pos`. */
export const SEEK_CUR: number = native.SEEK_CUR;
/** lseek: the position is the file's end plus `pos`. */
export const SEEK_END: number = native.SEEK_END;

const OFF_MAX = 2n ** 63n - 1n;
const OFF_MIN = -(2n ** 63n);
/** The largest double below 2**63. */
const OFF_SAFE_MAX = 2n ** 63n - 1024n;

/**
 * An off_t as CPython's `Py_off_t_converter` takes it: an integer
 * (TypeError otherwise), `OverflowError: Python int too large to convert to
 * C long` past 64 bits. A bigint past 2**53 comes back rounded, which only
 * matters to offsets no file reaches.
 */
function offArg(x: unknown): number {
  if (typeof x === 'bigint') {
    if (x > OFF_MAX || x < OFF_MIN) throw new OverflowError('Python int too large to convert to C long');
    // The nearest doubles to 2**63 - 1 round up past it: the largest below, which no file reaches either.
    return x > OFF_SAFE_MAX ? Number(OFF_SAFE_MAX) : Number(x);
  }
  const v = toInt(x);
  if (v >= 2 ** 63 || v < -(2 ** 63)) throw new OverflowError('Python int too large to convert to C long');
  return v;
}

/** A descriptor: a C int, parsed before the call; negative is EBADF from the call. */
function fdConv(fd: unknown): number {
  return toClinicInt(fd);
}

/**
 * Python's `os.sendfile(out_fd, in_fd, offset, count)`: sends up to `count`
 * bytes of `inFd` from `offset` to `outFd` inside the kernel; returns the
 * bytes sent (0 at end of file). `offset` null reads from `inFd`'s own
 * position and advances it (Linux); a number leaves it unchanged.
 * @throws {TypeError} a non-integer descriptor, offset or count
 * @throws {OverflowError} a descriptor past a C int; an offset or count past 64 bits
 * @throws {OSError} EBADF for a descriptor not open; EINVAL for a negative
 *   offset or count, an offset + count past the largest off_t, or an
 *   `inFd` sendfile cannot read (a pipe, a socket); EAGAIN
 *   (BlockingIOError) when a non-blocking `outFd` is full
 */
export function sendfile(outFd: number, inFd: number, offset: number | bigint | null, count: number | bigint): number {
  const out = fdConv(outFd);
  const inp = fdConv(inFd);
  const off = offset === null ? null : offArg(offset);
  const n = toSsizeT(count);
  if (out < 0 || inp < 0) throw fromErrno(EBADF, undefined, { syscall: 'sendfile' });
  // Exact, before 2**53 rounding: a range past the largest off_t is the kernel's EINVAL.
  if (offset !== null && off !== null && off >= 0 && n >= 0 && BigInt(offset) + BigInt(count) > OFF_MAX) {
    throw fromErrno(EINVAL, undefined, { syscall: 'sendfile' });
  }
  try {
    return native.sendfile(out, inp, off, n);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Python's `os.lseek(fd, pos, how)`: moves the file position; returns the
 * new one, from the start of the file. `how` is SEEK_SET, SEEK_CUR or
 * SEEK_END.
 * @throws {OSError} ESPIPE for a pipe or socket; EINVAL for a position
 *   before the start or an unknown `how`; EBADF for a descriptor not open
 */
export function lseek(fd: number, pos: number | bigint, how: number): number {
  const f = fdConv(fd);
  const p = offArg(pos);
  const h = toClinicInt(how);
  if (f < 0) throw fromErrno(EBADF, undefined, { syscall: 'lseek' });
  try {
    return native.lseek(f, p, h);
  } catch (e) {
    throw fromNative(e);
  }
}
