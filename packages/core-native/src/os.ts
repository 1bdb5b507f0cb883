/**
 * Python's `os` descriptor primitives (ports the parts of CPython's
 * Modules/posixmodule.c that iomux needs): pipe, read, write, close, dup,
 * get/set_inheritable, get/set_blocking, strerror. Descriptors are plain
 * integers, as in Python; new ones are non-inheritable (close-on-exec).
 *
 * Calls that cannot time out retry EINTR natively (PEP 475).
 */
import { binding } from './binding.js';
import { errnoConstants, } from './constants.js';
import { fromErrno, fromNative, OverflowError } from './errors.js';
import { pyTypeName, toInt, INT_MAX } from './pyargs.js';

const EBADF = errnoConstants.EBADF!;

/** Checks a descriptor as Python's `fildes` converter does. */
export function fdArg(fd: unknown, syscall: string): number {
  const v = toInt(fd);
  if (v < 0) throw fromErrno(EBADF, undefined, { syscall });
  if (v > INT_MAX) throw new OverflowError('fd is greater than maximum');
  return v;
}

function bytesArg(data: unknown): ArrayBufferView {
  if (ArrayBuffer.isView(data)) return data;
  throw new TypeError(`a bytes-like object is required, not '${pyTypeName(data)}'`);
}

/** Python's `os.strerror(code)`. */
export function strerror(code: number): string {
  return binding.strerror(toInt(code));
}

/** Creates a pipe: `[readFd, writeFd]`, both non-inheritable. */
export function pipe(): [number, number] {
  try {
    return binding.pipe();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Reads at most `n` bytes; an empty Buffer means end of file. */
export function read(fd: number, n: number): Buffer {
  const f = fdArg(fd, 'read');
  const count = toInt(n);
  if (count < 0) throw fromErrno(errnoConstants.EINVAL!, undefined, { syscall: 'read' });
  if (count > Number.MAX_SAFE_INTEGER) throw new OverflowError('Python int too large to convert to C ssize_t');
  const buf = Buffer.allocUnsafe(count);
  let got: number;
  try {
    got = binding.read(f, buf, 0, count);
  } catch (e) {
    throw fromNative(e);
  }
  return got === count ? buf : buf.subarray(0, got);
}

/** Reads into `buffer` (Python's `os.readinto`, 3.14); returns bytes read. */
export function readinto(fd: number, buffer: ArrayBufferView): number {
  const f = fdArg(fd, 'read');
  const b = bytesArg(buffer);
  try {
    return binding.read(f, b, 0, b.byteLength);
  } catch (e) {
    throw fromNative(e);
  }
}

/** Writes `data` (a Buffer or any ArrayBufferView); returns bytes written. */
export function write(fd: number, data: ArrayBufferView | string): number {
  const f = fdArg(fd, 'write');
  const b = bytesArg(data);
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

export function getInheritable(fd: number): boolean {
  const f = fdArg(fd, 'fcntl');
  try {
    return binding.get_inheritable(f);
  } catch (e) {
    throw fromNative(e);
  }
}

export function setInheritable(fd: number, inheritable: boolean): void {
  const f = fdArg(fd, 'fcntl');
  try {
    binding.set_inheritable(f, Boolean(inheritable));
  } catch (e) {
    throw fromNative(e);
  }
}

export function getBlocking(fd: number): boolean {
  const f = fdArg(fd, 'fcntl');
  try {
    return binding.get_blocking(f);
  } catch (e) {
    throw fromNative(e);
  }
}

export function setBlocking(fd: number, blocking: boolean): void {
  const f = fdArg(fd, 'fcntl');
  try {
    binding.set_blocking(f, Boolean(blocking));
  } catch (e) {
    throw fromNative(e);
  }
}
