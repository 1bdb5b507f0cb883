/**
 * Test support for the base-events-*.test.ts files: CPython's mocked
 * selector as a loop subclass, and a callback that does nothing.
 */
import { EventLoop } from '@iomux/loop';

/** CPython's mocked selector: records each timeout and reports no I/O at once. */
export class RecordingLoop extends EventLoop {
  timeouts: Array<number | null> = [];
  protected override _select(timeout: number | null): number {
    this.timeouts.push(timeout);
    return super._select(0) as number;
  }
}

export const noop = (): void => {};
