/**
 * Just the contract's error classes (and `error`, Python's `select.error`),
 * for the packages that re-export them: `export * from
 * '@iomux/core-native/error-classes'`.
 */
export {
  error,
  OSError,
  ValueError,
  OverflowError,
  KeyError,
  IndexError,
  RuntimeError,
  BlockingIOError,
  ChildProcessError,
  ConnectionError,
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FileExistsError,
  FileNotFoundError,
  InterruptedError,
  IsADirectoryError,
  NotADirectoryError,
  PermissionError,
  ProcessLookupError,
  TimeoutError,
  SSLError,
  SSLCertVerificationError,
} from './errors.js';
