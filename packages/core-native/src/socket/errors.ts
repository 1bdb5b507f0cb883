// The socket module's error classes and the helpers that raise them.
import { binding } from '../binding.js';
import { socketConstants as C } from '../constants.js';
import { fromErrno, fromNative, OSError, TimeoutError, type OSErrorOptions } from '../errors.js';

const BRANDS = Symbol.for('iomux.errorBrands');

/**
 * Python's `socket.gaierror`: an address-related error from name resolution.
 * `errno` is the (platform's) EAI_* value, as in Python.
 */
export class gaierror extends OSError {
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
    const brands = (x as { [BRANDS]?: unknown })[BRANDS];
    return Array.isArray(brands) && brands.includes('gaierror');
  }
}
Object.defineProperty(gaierror.prototype, BRANDS, { value: Object.freeze(['gaierror', 'OSError']) });
Object.defineProperty(gaierror.prototype, 'name', { value: 'gaierror', writable: true, configurable: true });

/** Python's `socket.error`, an alias of OSError since Python 3.3. */
export const error = OSError;
/** Python's `socket.timeout`, an alias of TimeoutError since Python 3.10. */
export const timeout = TimeoutError;

// gai_strerror(3) texts. Differs from CPython: taken from the C library's
// table here, since the addon exports no gai_strerror.
const GAI_TEXT: Record<string, [linux: string, bsd: string]> = {
  EAI_NONAME: ['Name or service not known', 'nodename nor servname provided, or not known'],
  EAI_ADDRFAMILY: ['Address family for hostname not supported', 'address family for nodename not supported'],
  EAI_SERVICE: ['Servname not supported for ai_socktype', 'servname not supported for ai_socktype'],
};

export function gai(name: 'EAI_NONAME' | 'EAI_ADDRFAMILY' | 'EAI_SERVICE'): gaierror {
  const code = C[name] ?? (name === 'EAI_ADDRFAMILY' ? C.EAI_FAMILY : undefined) ?? -2;
  const text = GAI_TEXT[name]![process.platform === 'linux' ? 0 : 1];
  return new gaierror(code, text, { code: name });
}

/** OSError (or its PEP 3151 subclass) for `errno`, with the C library's text. */
export function osError(errno: number, syscall: string, options?: OSErrorOptions): OSError {
  return fromErrno(errno, binding.strerror(errno), { syscall, ...options });
}

/** Runs a binding call, turning native errors into the contract's classes. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

export function isErrno(e: unknown, ...errnos: number[]): boolean {
  return e instanceof OSError && e.errno !== undefined && errnos.includes(e.errno);
}
