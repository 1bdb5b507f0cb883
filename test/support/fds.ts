/**
 * Test support: descriptor accounting through /proc/self/fd, so every test
 * file can assert it leaked nothing.
 */
import * as fs from 'node:fs';

/**
 * NODE_EXTRA_CA_CERTS's file: Node 22 and later read it on a thread of
 * their own after startup, so its descriptor comes and goes under a test.
 */
const EXTRA_CA = ((): string | null => {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return null;
  try {
    return fs.realpathSync.native(file);
  } catch {
    return file; // missing: Node warns and opens nothing
  }
})();

function isExtraCa(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === EXTRA_CA;
  } catch {
    return false; // closed meanwhile (readdir's own descriptor)
  }
}

/** The descriptors this process holds now, sorted (Node's read of NODE_EXTRA_CA_CERTS left out). */
export function openFds(): number[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map(Number)
    .filter((n) => Number.isInteger(n) && (EXTRA_CA === null || !isExtraCa(n)))
    .sort((a, b) => a - b);
}

/** The descriptor count, less the one readdir itself briefly holds. */
export function fdCount(): number {
  return openFds().length;
}

interface TapLike {
  teardown(fn: () => unknown): unknown;
}

/**
 * Registers a teardown that fails the test file (an error thrown in teardown)
 * unless the process holds exactly as many descriptors as when this was
 * called, after letting pending finalizers and handles settle.
 */
export function checkNoFdLeak(t: TapLike): void {
  const before = openFds();
  t.teardown(async () => {
    let now = openFds();
    for (let i = 0; i < 20 && now.length !== before.length; i++) {
      await new Promise((r) => setTimeout(r, 10));
      now = openFds();
    }
    if (now.length !== before.length) {
      const leaked = now.filter((fd) => !before.includes(fd));
      throw new Error(`descriptor leak: ${before.length} open before, ${now.length} after; new: ${leaked.join(', ')}`);
    }
  });
}
