/**
 * Test support: descriptor accounting through /proc/self/fd, so every test
 * file can assert it leaked nothing.
 */
import * as fs from 'node:fs';

/**
 * Whether `fd` is an io_uring: libuv's own on Node 22+, which it opens and
 * closes on its own schedule (iomux's ring takes no slot in the table).
 */
function isUring(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[io_uring]';
  } catch {
    return false; // closed meanwhile (readdir's own descriptor)
  }
}

/** The descriptors this process holds now, sorted (libuv's io_urings left out). */
export function openFds(): number[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map(Number)
    .filter((n) => Number.isInteger(n) && !isUring(n))
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
