/**
 * The loop's one retry check: an errno that only means "not now", so the
 * operation waits for the next readiness (asyncio catches BlockingIOError
 * and InterruptedError for this). Transports test raw results' errno;
 * the loop's sock* methods test the OSError a Socket throws.
 */
import { errnoConstants } from '@iomux/core-native';

const EAGAIN = errnoConstants.EAGAIN;
const EWOULDBLOCK = errnoConstants.EWOULDBLOCK ?? EAGAIN;
const EINTR = errnoConstants.EINTR;

/** Whether `errno` is EAGAIN, EWOULDBLOCK or EINTR. */
export function isRetryErrno(errno: unknown): boolean {
  return errno === EAGAIN || errno === EWOULDBLOCK || errno === EINTR;
}

/** Whether `e` (an OSError, or an addon error) carries a retry errno. */
export function isRetryError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && isRetryErrno((e as { errno?: unknown }).errno);
}
