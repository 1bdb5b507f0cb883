/**
 * Python's exceptions as JavaScript error classes (the contract's "Errors"
 * table), with PEP 3151's OSError subclasses chosen by errno.
 *
 * `instanceof` works across duplicate copies of this package: each class
 * brands its prototype with `Symbol.for('iomux.errorBrands')` and checks the
 * brand in `static override [Symbol.hasInstance]`, as undici does.
 */
import { binding } from './binding.js';
import { errnoConstants as E } from './constants.js';
import { describe } from './pyargs.js';

const BRANDS = Symbol.for('iomux.errorBrands');

function hasBrand(x: unknown, brand: string): boolean {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  const brands = (x as { [BRANDS]?: unknown })[BRANDS];
  return Array.isArray(brands) && brands.includes(brand);
}

function brand(cls: { prototype: object }, name: string, parents: string[]): void {
  Object.defineProperty(cls.prototype, BRANDS, { value: Object.freeze([name, ...parents]) });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}

/** Python's `ValueError`: right type, wrong value (also: use of a closed object). */
export class ValueError extends Error {
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'ValueError');
  }
}
brand(ValueError, 'ValueError', []);

/** Python's `OverflowError`: a number that does not fit the C type. */
export class OverflowError extends RangeError {
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'OverflowError');
  }
}
brand(OverflowError, 'OverflowError', []);

/** Python's `IndexError`: an index past the end (e.g. `path[0]` of an empty path). */
export class IndexError extends RangeError {
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'IndexError');
  }
}
brand(IndexError, 'IndexError', []);

/** Python's `KeyError`; `key` holds the missing key. */
export class KeyError extends Error {
  /** The key that was not found (`KeyError.args[0]` in Python). */
  readonly key: unknown;
  constructor(key?: unknown, options?: ErrorOptions) {
    super(key === undefined ? '' : keyRepr(key), options);
    this.key = key;
  }
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'KeyError');
  }
}
brand(KeyError, 'KeyError', []);

/** A message part: a string as given, anything else described (never a huge or throwing String()). */
function textOf(x: unknown): string {
  return typeof x === 'string' ? x : describe(x);
}

function keyRepr(key: unknown): string {
  if (typeof key === 'string') return `'${key}'`;
  if (typeof key === 'object' && key !== null) {
    const ctor = (key as object).constructor?.name ?? 'object';
    return `<${ctor} object>`;
  }
  return String(key);
}

/** Python's `RuntimeError`, e.g. `concurrent poll() invocation`. */
export class RuntimeError extends Error {
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'RuntimeError');
  }
}
brand(RuntimeError, 'RuntimeError', []);

/** Options of {@link OSError}'s constructor, beside `ErrorOptions.cause`. */
export interface OSErrorOptions extends ErrorOptions {
  /** The failing system call ('epoll_ctl'). */
  syscall?: string;
  /** The symbolic errno name ('EBADF'); derived from the errno when absent. */
  code?: string;
  /** Python's `filename` attribute, appended to the message. */
  filename?: string;
}

/**
 * Python's `OSError` (also exported as `error`, as `select.error is OSError`).
 * `errno` is the positive POSIX number, `code` its symbolic name ('EBADF'),
 * `syscall` the failing call, and the message is Python's
 * `[Errno 9] Bad file descriptor`.
 */
export class OSError extends Error {
  /** The positive POSIX errno (Python's `errno`), or undefined for a message-only error. */
  errno: number | undefined;
  /** The errno's symbolic name ('EBADF'), as Node's system errors have it. */
  code: string | undefined;
  /** The system call that failed ('epoll_wait'), as Node's system errors have it. */
  syscall: string | undefined;
  /** The C library's text for the errno (Python's `strerror`). */
  strerror: string | undefined;
  /** Python's `filename` attribute, when one was given. */
  filename: string | undefined;

  constructor(errnoOrMessage?: number | string, strerror?: string, options?: OSErrorOptions) {
    if (typeof errnoOrMessage === 'number') {
      const text = strerror === undefined ? `Unknown error ${errnoOrMessage}` : textOf(strerror);
      const file = options?.filename !== undefined ? `: '${textOf(options.filename)}'` : '';
      super(`[Errno ${errnoOrMessage}] ${text}${file}`, options);
      this.errno = errnoOrMessage;
      this.strerror = text;
      this.code = options?.code ?? errnoName(errnoOrMessage);
    } else {
      super(errnoOrMessage === undefined ? '' : textOf(errnoOrMessage), options);
      this.errno = undefined;
      this.strerror = undefined;
      this.code = options?.code;
    }
    this.syscall = options?.syscall;
    this.filename = options?.filename;
  }

  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'OSError');
  }
}
brand(OSError, 'OSError', []);

/** `select.error`, an alias of OSError since Python 3.3. */
export const error = OSError;

function osSub(name: string, parents: string[] = []) {
  const cls = class extends OSError {
    /** Brand check, so `instanceof` holds across duplicate copies of this package. */
    static override [Symbol.hasInstance](x: unknown): boolean {
      return hasBrand(x, name);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  brand(cls, name, [...parents, 'OSError']);
  return cls;
}

/**
 * Python's `BlockingIOError`: EAGAIN, EALREADY, EWOULDBLOCK, EINPROGRESS.
 * @class
 */
export const BlockingIOError = osSub('BlockingIOError');
/** An instance of {@link BlockingIOError}. */
export type BlockingIOError = InstanceType<typeof BlockingIOError>;
/**
 * Python's `ChildProcessError`: ECHILD.
 * @class
 */
export const ChildProcessError = osSub('ChildProcessError');
/** An instance of {@link ChildProcessError}. */
export type ChildProcessError = InstanceType<typeof ChildProcessError>;
/**
 * Python's `ConnectionError`: the base of BrokenPipeError and the Connection*Error classes.
 * @class
 */
export const ConnectionError = osSub('ConnectionError');
/** An instance of {@link ConnectionError}. */
export type ConnectionError = InstanceType<typeof ConnectionError>;
/**
 * Python's `BrokenPipeError`: EPIPE, ESHUTDOWN; a ConnectionError.
 * @class
 */
export const BrokenPipeError = osSub('BrokenPipeError', ['ConnectionError']);
/** An instance of {@link BrokenPipeError}. */
export type BrokenPipeError = InstanceType<typeof BrokenPipeError>;
/**
 * Python's `ConnectionAbortedError`: ECONNABORTED; a ConnectionError.
 * @class
 */
export const ConnectionAbortedError = osSub('ConnectionAbortedError', ['ConnectionError']);
/** An instance of {@link ConnectionAbortedError}. */
export type ConnectionAbortedError = InstanceType<typeof ConnectionAbortedError>;
/**
 * Python's `ConnectionRefusedError`: ECONNREFUSED; a ConnectionError.
 * @class
 */
export const ConnectionRefusedError = osSub('ConnectionRefusedError', ['ConnectionError']);
/** An instance of {@link ConnectionRefusedError}. */
export type ConnectionRefusedError = InstanceType<typeof ConnectionRefusedError>;
/**
 * Python's `ConnectionResetError`: ECONNRESET; a ConnectionError.
 * @class
 */
export const ConnectionResetError = osSub('ConnectionResetError', ['ConnectionError']);
/** An instance of {@link ConnectionResetError}. */
export type ConnectionResetError = InstanceType<typeof ConnectionResetError>;
/**
 * Python's `FileExistsError`: EEXIST.
 * @class
 */
export const FileExistsError = osSub('FileExistsError');
/** An instance of {@link FileExistsError}. */
export type FileExistsError = InstanceType<typeof FileExistsError>;
/**
 * Python's `FileNotFoundError`: ENOENT.
 * @class
 */
export const FileNotFoundError = osSub('FileNotFoundError');
/** An instance of {@link FileNotFoundError}. */
export type FileNotFoundError = InstanceType<typeof FileNotFoundError>;
/**
 * Python's `InterruptedError`: EINTR.
 * @class
 */
export const InterruptedError = osSub('InterruptedError');
/** An instance of {@link InterruptedError}. */
export type InterruptedError = InstanceType<typeof InterruptedError>;
/**
 * Python's `IsADirectoryError`: EISDIR.
 * @class
 */
export const IsADirectoryError = osSub('IsADirectoryError');
/** An instance of {@link IsADirectoryError}. */
export type IsADirectoryError = InstanceType<typeof IsADirectoryError>;
/**
 * Python's `NotADirectoryError`: ENOTDIR.
 * @class
 */
export const NotADirectoryError = osSub('NotADirectoryError');
/** An instance of {@link NotADirectoryError}. */
export type NotADirectoryError = InstanceType<typeof NotADirectoryError>;
/**
 * Python's `PermissionError`: EACCES, EPERM.
 * @class
 */
export const PermissionError = osSub('PermissionError');
/** An instance of {@link PermissionError}. */
export type PermissionError = InstanceType<typeof PermissionError>;
/**
 * Python's `ProcessLookupError`: ESRCH.
 * @class
 */
export const ProcessLookupError = osSub('ProcessLookupError');
/** An instance of {@link ProcessLookupError}. */
export type ProcessLookupError = InstanceType<typeof ProcessLookupError>;
/**
 * Python's `TimeoutError`: ETIMEDOUT.
 * @class
 */
export const TimeoutError = osSub('TimeoutError');
/** An instance of {@link TimeoutError}. */
export type TimeoutError = InstanceType<typeof TimeoutError>;

/**
 * Python's `ssl.SSLError`, an OSError: a TLS failure that OpenSSL (in Node)
 * reported. `library` and `reason` are OpenSSL's ('SSL', 'WRONG_VERSION_NUMBER');
 * the message is Python's `[SSL: REASON] text`.
 */
export class SSLError extends OSError {
  /** OpenSSL's library name ('SSL'), or undefined. */
  library: string | undefined;
  /** OpenSSL's reason mnemonic ('WRONG_VERSION_NUMBER', 'CERTIFICATE_VERIFY_FAILED'), or undefined. */
  reason: string | undefined;
  constructor(message?: string, options?: OSErrorOptions & { library?: string; reason?: string }) {
    super(message, undefined, options);
    this.library = options?.library;
    this.reason = options?.reason;
  }
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'SSLError');
  }
}
brand(SSLError, 'SSLError', ['OSError']);

/**
 * Python's `ssl.SSLCertVerificationError` (an SSLError and a ValueError): the
 * peer's certificate failed verification. `verifyCode` is OpenSSL's
 * X509_V_ERR number (10: expired, 18: self-signed, 62: hostname mismatch),
 * `verifyMessage` its text, and `code` its name ('CERT_HAS_EXPIRED').
 */
export class SSLCertVerificationError extends SSLError {
  /** OpenSSL's X509_V_ERR_* number (Python's `verify_code`). */
  verifyCode: number | undefined;
  /** Its text (Python's `verify_message`): 'certificate has expired'. */
  verifyMessage: string | undefined;
  constructor(message?: string, options?: OSErrorOptions & { verifyCode?: number; verifyMessage?: string }) {
    super(message, { ...options, library: 'SSL', reason: 'CERTIFICATE_VERIFY_FAILED' });
    this.verifyCode = options?.verifyCode;
    this.verifyMessage = options?.verifyMessage;
  }
  /** Brand check, so `instanceof` holds across duplicate copies of this package. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return hasBrand(x, 'SSLCertVerificationError');
  }
}
brand(SSLCertVerificationError, 'SSLCertVerificationError', ['SSLError', 'ValueError', 'OSError']);

type OSErrorClass = new (errno?: number | string, strerror?: string, options?: OSErrorOptions) => OSError;

// PEP 3151's errno -> class table, built from this platform's numbers.
const BY_ERRNO = new Map<number, OSErrorClass>();
function map(cls: OSErrorClass, ...names: string[]): void {
  for (const n of names) {
    const v = (E as Record<string, number | undefined>)[n];
    if (v !== undefined) BY_ERRNO.set(v, cls);
  }
}
map(BlockingIOError, 'EAGAIN', 'EALREADY', 'EWOULDBLOCK', 'EINPROGRESS');
map(ChildProcessError, 'ECHILD');
map(BrokenPipeError, 'EPIPE', 'ESHUTDOWN');
map(ConnectionAbortedError, 'ECONNABORTED');
map(ConnectionRefusedError, 'ECONNREFUSED');
map(ConnectionResetError, 'ECONNRESET');
map(FileExistsError, 'EEXIST');
map(FileNotFoundError, 'ENOENT');
map(InterruptedError, 'EINTR');
map(IsADirectoryError, 'EISDIR');
map(NotADirectoryError, 'ENOTDIR');
map(PermissionError, 'EACCES', 'EPERM');
map(ProcessLookupError, 'ESRCH');
map(TimeoutError, 'ETIMEDOUT');

const NAMES = new Map<number, string>();
for (const [k, v] of Object.entries(E)) {
  if (typeof v === 'number' && !NAMES.has(v)) NAMES.set(v, k);
}
// EWOULDBLOCK aliases EAGAIN on Linux; Node and Python both say EAGAIN.
if (E.EAGAIN !== undefined) NAMES.set(E.EAGAIN, 'EAGAIN');

/** The symbolic name of an errno value ('EBADF'), or undefined. */
export function errnoName(errno: number): string | undefined {
  return NAMES.get(errno);
}

/**
 * Builds the OSError (or PEP 3151 subclass) for `errno`, as Python's
 * `OSError(errno, strerror)` constructor does. Without `strerror` the text is
 * the C library's `strerror(errno)`, as CPython's `PyErr_SetFromErrno` gives,
 * so the message never depends on which errors were seen before.
 */
export function fromErrno(errno: number, strerror?: string, options?: OSErrorOptions): OSError {
  const cls = BY_ERRNO.get(errno) ?? OSError;
  return new cls(errno, strerror ?? strerrorOf(errno), options);
}

/** `strerror(errno)` from the addon; a value that is no C int has no text. */
function strerrorOf(errno: number): string {
  if (!Number.isInteger(errno) || errno < -2147483648 || errno > 2147483647) return `Unknown error ${errno}`;
  return binding.strerror(errno);
}

interface NativeError {
  message: string;
  errno?: unknown;
  code?: unknown;
  syscall?: unknown;
  strerror?: unknown;
  pyType?: unknown;
}

/**
 * Turns an error thrown by the addon into the contract's class: errno errors
 * become OSError and its subclasses, argument errors ValueError or
 * OverflowError; anything else (TypeError) is returned unchanged.
 */
export function fromNative(e: unknown): unknown {
  if (e === null || typeof e !== 'object') return e;
  if (hasBrand(e, 'OSError') || hasBrand(e, 'ValueError') || hasBrand(e, 'OverflowError')) return e;
  const n = e as NativeError;
  if (typeof n.errno === 'number' && typeof n.syscall === 'string') {
    const strerror = typeof n.strerror === 'string' ? n.strerror : undefined;
    const err = fromErrno(n.errno, strerror, {
      syscall: n.syscall,
      code: typeof n.code === 'string' ? n.code : undefined,
    });
    return err;
  }
  if (n.pyType === 'ValueError') return new ValueError(n.message);
  if (n.pyType === 'OverflowError') return new OverflowError(n.message);
  return e;
}
