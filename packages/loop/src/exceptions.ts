/**
 * The loop's exception handler and debug mode: CPython 3.11
 * Lib/asyncio/base_events.py default_exception_handler,
 * call_exception_handler and the slow-callback warning of _run_once.
 * BaseEventLoop (base-events.ts) calls these from its methods of the
 * same names.
 */
import { describe } from '@iomux/core-native';
import type { BaseEventLoop } from './base-events.js';
import type { ExceptionContext, Handle } from './events.js';

/** `loop.setExceptionHandler(handler)`'s handler: called as `handler(loop, context)`. */
export type ExceptionHandler = (loop: BaseEventLoop, context: ExceptionContext) => void;

/** Where the loop logs (asyncio's `logger`): `console` by default. */
export interface Logger {
  /** Logs an error (an unhandled exception in a callback). */
  error(...args: unknown[]): void;
  /** Logs a warning (a slow callback in debug mode). */
  warn(...args: unknown[]): void;
}

/**
 * setExceptionHandler's check.
 * @throws {TypeError} if `handler` is neither a function nor null
 */
export function checkExceptionHandler(handler: unknown): void {
  if (handler !== null && typeof handler !== 'function') {
    throw new TypeError(`A callable object or None is expected, got ${describe(handler)}`);
  }
}

/** asyncio's default handler: logs the message and the exception to `logger`. */
export function logContext(logger: Logger, context: ExceptionContext): void {
  const { message, exception, ...rest } = context;
  const extra = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${String(v)}`);
  logger.error(message || 'Unhandled exception in event loop', ...extra, ...(exception !== undefined ? [exception] : []));
}

/**
 * Hands `context` to `handler` (null: `loop.defaultExceptionHandler`).
 * Never throws: an exception in the handler is logged, and the loop goes on.
 */
export function callExceptionHandler(loop: BaseEventLoop, handler: ExceptionHandler | null, context: ExceptionContext): void {
  if (handler === null) {
    try {
      loop.defaultExceptionHandler(context);
    } catch (exc) {
      // Second protection layer for unexpected errors in the default
      // implementation, as well as for subclassed event loops with
      // overridden defaultExceptionHandler.
      try {
        loop.logger.error('Exception in default exception handler', exc);
      } catch {
        // The logger itself failed: nothing better to do than go on.
      }
    }
    return;
  }
  try {
    handler(loop, context);
  } catch (exc) {
    try {
      loop.defaultExceptionHandler({
        message: 'Unhandled error in exception handler',
        exception: exc,
        context,
      });
    } catch (exc2) {
      // Guard defaultExceptionHandler in case it is overridden.
      try {
        loop.logger.error('Exception in default exception handler while handling an unexpected error in custom exception handler', exc2);
      } catch {
        // as above
      }
    }
  }
}

/** What runTimed needs of a loop. */
export interface TimedLoop {
  time(): number;
  readonly slowCallbackDuration: number;
  readonly logger: Logger;
}

/**
 * Debug mode's run of one callback: runs `h`, and logs a warning when it
 * took `loop.slowCallbackDuration` seconds or more.
 */
export function runTimed(loop: TimedLoop, h: Handle): void {
  const t0 = loop.time();
  h._run();
  const dt = loop.time() - t0;
  if (dt >= loop.slowCallbackDuration) {
    loop.logger.warn(`Executing ${h.toString()} took ${dt.toFixed(3)} seconds`);
  }
}
