/**
 * Test support for the selector-events-*.test.ts files: a loop and
 * socketpairs for one backend's tests, closed by its teardown, and a free
 * TCP port.
 */
import type { Test } from 'tap';
import { EventLoop } from '@iomux/loop';
import { socketpair, Socket } from '@iomux/core-native';

export const noop = (): void => {};

/** A free TCP port on 127.0.0.1 (bound, then closed). */
export function unusedPort(): number {
  const s = new Socket();
  s.bind(['127.0.0.1', 0]);
  const port = (s.getsockname() as [string, number])[1];
  s.close();
  return port;
}

/** `newLoop()` and `pair()` for the tests of `backend`, each closed by `t`'s teardown. */
export function backendKit(t: Test, backend: string): { newLoop(): EventLoop; pair(): [Socket, Socket] } {
  const newLoop = (): EventLoop => {
    const loop = new EventLoop({ selector: backend });
    t.teardown(() => {
      if (!loop.isClosed() && !loop.isRunning()) loop.close();
    });
    return loop;
  };
  const pair = (): [Socket, Socket] => {
    const p = socketpair();
    t.teardown(() => {
      p[0].close();
      p[1].close();
    });
    return p;
  };
  return { newLoop, pair };
}
