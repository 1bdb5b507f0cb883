/**
 * Python's `os` descriptor primitives (ports the parts of CPython's
 * Modules/posixmodule.c that iomux needs): pipe, read, write, close, dup,
 * get/set_inheritable, get/set_blocking, strerror. Descriptors are plain
 * integers, as in Python; new ones are non-inheritable (close-on-exec).
 *
 * Calls that cannot time out retry EINTR natively (PEP 475).
 */
import { binding } from './binding.js';
import { errnoConstants } from './constants.js';
import { fromErrno, fromNative } from './errors.js';
import { pyTypeName, toClinicInt, toSsizeT, INT_MAX } from './pyargs.js';
import { copyOut, SCRATCH_SIZE, scratchView } from './socket/scratch.js';

const EBADF = errnoConstants.EBADF!;
const EINVAL = errnoConstants.EINVAL!;
// Read once, not on every call (two property loads fewer per read/write).
const readFn = binding.read;
const writeFn = binding.write;

/**
 * Converts a descriptor as Python's `int` converter does: TypeError for a
 * non-integer, `OverflowError: Python int too large to convert to C int`
 * outside a C int. A negative value passes, as in Python, where the syscall
 * then fails with EBADF (see `checkFd`), after the other arguments are parsed.
 */
function fdConv(fd: unknown): number {
  return toClinicInt(fd);
}

/** EBADF for a negative descriptor, as the syscall would give. */
function checkFd(f: number, syscall: string): number {
  if (f < 0) throw fromErrno(EBADF, undefined, { syscall });
  return f;
}

/** Checks a descriptor as Python's `fildes` converter does. */
export function fdArg(fd: unknown, syscall: string): number {
  return checkFd(fdConv(fd), syscall);
}

/**
 * A flag as Python 3.11's `bool(accept={int})` converter parses it
 * (`os.set_blocking`, `os.set_inheritable`): true or false, or an int that is
 * true when non-zero; anything else is `TypeError: '<type>' object cannot be
 * interpreted as an integer`, and an int past a C int an OverflowError.
 */
function boolIntArg(x: unknown): boolean {
  if (typeof x === 'boolean') return x;
  return toClinicInt(x) !== 0;
}

function bytesArg(data: unknown): ArrayBufferView {
  if (ArrayBuffer.isView(data)) return data;
  throw new TypeError(`a bytes-like object is required, not '${pyTypeName(data)}'`);
}

/**
 * Python's `os.strerror(code)`: `code` must fit a C int
 * (`OverflowError: Python int too large to convert to C int`).
 */
export function strerror(code: number): string {
  return binding.strerror(toClinicInt(code));
}

/** Creates a pipe: `[readFd, writeFd]`, both non-inheritable. */
export function pipe(): [number, number] {
  try {
    return binding.pipe();
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * The most `read` asks the kernel for in one call, as CPython's `_Py_read`
 * caps it (`_PY_READ_MAX`): macOS refuses more than INT_MAX and Linux never
 * returns more than 0x7ffff000 bytes, so a larger buffer could never fill.
 * Unlike CPython, which first allocates all `n` bytes (MemoryError for a huge
 * `n`), iomux allocates at most this much, so any count that fits a ssize_t
 * works.
 */
const READ_MAX = INT_MAX;

/**
 * Reads at most `n` bytes; an empty Buffer means end of file. `n` is a
 * ssize_t, as in Python: past it is `OverflowError: Python int too large to
 * convert to C ssize_t`, a negative count `[Errno 22] Invalid argument`.
 */
export function read(fd: number, n: number): Buffer {
  // The common call first: a small count into the reused scratch area.
  if (typeof fd === 'number' && fd >= 0 && (fd | 0) === fd &&
      typeof n === 'number' && n > 0 && n <= SCRATCH_SIZE && (n | 0) === n) {
    let got: number;
    try {
      got = readFn(fd, scratchView(n), 0, n);
    } catch (e) {
      throw fromNative(e);
    }
    return copyOut(got);
  }
  const f = fdConv(fd);
  const count = toSsizeT(n);
  if (count < 0) throw fromErrno(EINVAL, undefined, { syscall: 'read' });
  checkFd(f, 'read');
  const size = Math.min(count, READ_MAX);
  const buf = Buffer.allocUnsafe(size);
  let got: number;
  try {
    got = binding.read(f, buf, 0, size);
  } catch (e) {
    throw fromNative(e);
  }
  if (got === size) return buf;
  // A short read of a large buffer is copied, so the unused part is freed
  // (CPython shrinks its bytes object the same way).
  return size - got > 8192 ? Buffer.from(buf.subarray(0, got)) : buf.subarray(0, got);
}

/** Reads into `buffer` (Python's `os.readinto`, 3.14); returns bytes read. */
export function readinto(fd: number, buffer: ArrayBufferView): number {
  const f = fdConv(fd);
  const b = bytesArg(buffer);
  checkFd(f, 'read');
  try {
    return binding.read(f, b, 0, b.byteLength);
  } catch (e) {
    throw fromNative(e);
  }
}

/** Writes `data` (a Buffer or any ArrayBufferView); returns bytes written. */
export function write(fd: number, data: ArrayBufferView | string): number {
  if (typeof fd === 'number' && fd >= 0 && (fd | 0) === fd && ArrayBuffer.isView(data)) {
    try {
      return writeFn(fd, data, 0, data.byteLength);
    } catch (e) {
      throw fromNative(e);
    }
  }
  const f = fdConv(fd);
  const b = bytesArg(data);
  checkFd(f, 'write');
  try {
    return binding.write(f, b, 0, b.byteLength);
  } catch (e) {
    throw fromNative(e);
  }
}

/** Closes a descriptor. */
export function close(fd: number): void {
  const f = fdArg(fd, 'close');
  try {
    binding.close(f);
  } catch (e) {
    throw fromNative(e);
  }
}

/** Duplicates a descriptor; the copy is non-inheritable. */
export function dup(fd: number): number {
  const f = fdArg(fd, 'dup');
  try {
    return binding.dup(f);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Python's `os.get_inheritable(fd)`: whether the descriptor survives exec (close-on-exec is clear).
 * @throws {OSError} EBADF for a descriptor that is not open
 */
export function getInheritable(fd: number): boolean {
  const f = fdArg(fd, 'fcntl');
  try {
    return binding.get_inheritable(f);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Sets or clears close-on-exec. `inheritable` is a boolean, or an int as in
 * Python (non-zero is true); anything else is a TypeError.
 */
export function setInheritable(fd: number, inheritable: boolean): void {
  const f = fdConv(fd);
  const flag = boolIntArg(inheritable);
  checkFd(f, 'fcntl');
  try {
    binding.set_inheritable(f, flag);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Python's `os.get_blocking(fd)`: false when O_NONBLOCK is set.
 * @throws {OSError} EBADF for a descriptor that is not open
 */
export function getBlocking(fd: number): boolean {
  const f = fdArg(fd, 'fcntl');
  try {
    return binding.get_blocking(f);
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * Sets or clears O_NONBLOCK. `blocking` is a boolean, or an int as in Python
 * (non-zero is true); anything else is a TypeError.
 */
export function setBlocking(fd: number, blocking: boolean): void {
  const f = fdConv(fd);
  const flag = boolIntArg(blocking);
  checkFd(f, 'fcntl');
  try {
    binding.set_blocking(f, flag);
  } catch (e) {
    throw fromNative(e);
  }
}

export { sendfile, lseek, SEEK_SET, SEEK_CUR, SEEK_END } from './os-sendfile.js';
export * from './os-spawn.js';
