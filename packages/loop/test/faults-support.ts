/**
 * Test support for the fault tests (faults-*.test.ts): the flood's sizes,
 * the errors a reset may surface as, and the checks every case ends with.
 */
import type { Test } from 'tap';
import type { EventLoop, ExceptionContext } from '@iomux/loop';
import { watchEscapes } from '../../../test/support/escapes.js';

export const RESET_NAMES = /^(ConnectionResetError|BrokenPipeError)$/;
export const HIGH = 64 * 1024;
export const LOW = 16 * 1024;
export const CHUNK = 16 * 1024;

/**
 * Watches the file's run for exceptions that escape (watchEscapes on `t`),
 * and returns what escaped with the checks each case ends with.
 */
export function watchFaults(t: Test): { escaped: unknown[]; finish: (t: Test, loop: EventLoop, errors: ExceptionContext[], escapedBefore: number) => void } {
  const escaped = watchEscapes(t);

  /** Common per-case checks: handler contexts, escapes, selector empty. */
  function finish(t: Test, loop: EventLoop, errors: ExceptionContext[], escapedBefore: number): void {
    t.same(
      errors.map((c) => c.message),
      [],
      'no exception reached the loop',
    );
    t.equal(escaped.length, escapedBefore, 'no unhandled rejection or uncaught exception');
    t.equal(loop._selector.getMap()!.size, 0, 'no reader or writer left in the selector');
    loop.close();
  }

  return { escaped, finish };
}
