/** Error helpers shared by select, poll and epoll. */
import { errnoConstants, fromNative } from '@iomux/core-native';

export const EINTR: number = errnoConstants.EINTR!;
export const ENOENT: number = errnoConstants.ENOENT!;
export const EBADF: number = errnoConstants.EBADF!;

/** True when the addon reported EINTR (the call is retried, PEP 475). */
export function isEintr(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { errno?: unknown }).errno === EINTR;
}

/** Rethrows an addon error as the contract's class. */
export function rethrow(e: unknown): never {
  throw fromNative(e);
}

/** CPython's "f expected at most N arguments, got M" check. */
export function maxArgs(name: string, given: number, max: number): void {
  if (given > max) {
    throw new TypeError(`${name} expected at most ${max} argument${max === 1 ? '' : 's'}, got ${given}`);
  }
}
