// Shared by the base-selector suites (base-selector.suite.ts runs them):
// the context each concern's cases get, and the helpers several of them use.
import type { Test } from 'tap';
import { type BaseSelector } from '@iomux/selectors';
import { socket, type Socket } from '@iomux/core-native';

export type SelectorClass = new () => BaseSelector;

/** What every concern's cases get from selectorSuite(). */
export interface SuiteContext {
  /** `s = self.SELECTOR(); self.addCleanup(s.close)`. */
  make: (t: Test) => BaseSelector;
  /** The class's Python name ('EpollSelector', 'DefaultSelector', ...). */
  name: string;
  /** The class a selector instance really is (DefaultSelector makes one of the others). */
  instanceName: string;
  instanceClass: Function;
}

/** Lets a test do what the types forbid, as the Python tests do. */
export const loose = (x: unknown): any => x;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Python's time.monotonic(), in seconds. */
export const time = (): number => performance.now() / 1000;

/** `self.make_socketpair()`: closed by the test's teardown. */
export function makeSocketpair(t: Test): [Socket, Socket] {
  const [rd, wr] = socket.socketpair();
  t.teardown(() => {
    rd.close();
    wr.close();
  });
  return [rd, wr];
}
