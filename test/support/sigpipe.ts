/**
 * Test support: counts the SIGPIPE signals the process receives, and checks
 * that the count can move at all (a control write(2) to a broken pipe, which
 * raises one), so a test that expects none is not passing by deafness.
 */
import type { Test } from 'tap';
import { BrokenPipeError, os } from '@iomux/core-native';

/** Listens for SIGPIPE until `t` ends; returns the count so far. */
export function watchSigpipe(t: Test): () => number {
  let signals = 0;
  const onPipe = (): void => {
    signals++;
  };
  process.on('SIGPIPE', onPipe);
  t.teardown(() => {
    process.removeListener('SIGPIPE', onPipe);
  });
  return () => signals;
}

/**
 * After the code under test: no SIGPIPE came (`what` names the call), then
 * a plain write(2) to a broken pipe raises one, which the listener sees.
 */
export async function expectNoSigpipeThenControl(t: Test, signals: () => number, what: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
  t.equal(signals(), 0, `${what} uses MSG_NOSIGNAL: no SIGPIPE`);
  const [r, w] = os.pipe();
  os.close(r);
  t.throws(() => os.write(w, Buffer.from('x')), BrokenPipeError);
  os.close(w);
  for (let i = 0; i < 50 && signals() === 0; i++) await new Promise((res) => setTimeout(res, 10));
  t.equal(signals(), 1, 'the control write raised SIGPIPE');
}
