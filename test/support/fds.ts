/**
 * Test support: descriptor accounting through /proc/self/fd, so every test
 * file can assert it leaked nothing.
 */
import * as fs from 'node:fs';

/** The descriptors this process holds now, sorted. */
export function openFds(): number[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map(Number)
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b);
}

/** The descriptor count, less the one readdir itself briefly holds. */
export function fdCount(): number {
  return openFds().length;
}

interface TapLike {
  teardown(fn: () => void | Promise<void>): void;
  equal(a: unknown, b: unknown, msg?: string): unknown;
}

/**
 * Registers a teardown that asserts the process holds exactly the
 * descriptors it held when this was called (after letting pending
 * finalizers and handles settle).
 */
export function checkNoFdLeak(t: TapLike): void {
  const before = fdCount();
  t.teardown(async () => {
    await new Promise((r) => setImmediate(r));
    t.equal(fdCount(), before, 'descriptor count is back where it started');
  });
}
