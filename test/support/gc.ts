/**
 * Test support: a real `gc()` without requiring `--expose-gc` on the command
 * line, and a helper that collects until a condition holds (finalizers run
 * asynchronously after a collection).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
export const gc: () => void = vm.runInNewContext('gc') as () => void;

/** Runs gc() and yields until `cond()` is true, or throws after `rounds`. */
export async function collectUntil(cond: () => boolean, rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    if (cond()) return;
  }
  throw new Error(`condition not met after ${rounds} collections`);
}
