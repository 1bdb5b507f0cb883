/**
 * Test support for the stream tests (streams-*.test.ts): CPython's DATA,
 * short spellings for bytes and for bad arguments, and a loop for the
 * StreamReader cases.
 */
import type { Test } from 'tap';
import { EventLoop, type StreamReader } from '@iomux/loop';

export const DATA = Buffer.from('line1\nline2\nline3\n');
export const bad = (x: unknown): any => x;
export const b = (s: string): Buffer => Buffer.from(s);
export const buffered = (s: StreamReader): string => s._buffer.view().toString();

/** A loop for the StreamReader cases, closed by the teardown. */
export function loopFor(t: Test): EventLoop {
  const loop = new EventLoop();
  t.teardown(() => {
    if (!loop.isClosed()) loop.close();
  });
  return loop;
}
