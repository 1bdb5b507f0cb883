/**
 * Test helpers for @iomux/loop, after CPython's test_asyncio/utils.py:
 * run_briefly, run_until, a sleep on the loop's own clock, the backends to
 * run I/O suites against, and an exception handler that collects contexts.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { availableSelectors } from '@iomux/selectors';
import { EventLoop, type BaseEventLoop, type ExceptionContext } from '@iomux/loop';

/** The selector backends the loop-level I/O suites run on. */
export const BACKENDS: string[] = ['epoll', 'poll', 'select', 'kqueue', 'devpoll'].filter((b) => availableSelectors().includes(b));

/** asyncio.sleep(delay) on `loop`'s clock (callLater), so never early. */
export function sleep(loop: BaseEventLoop, delay: number): Promise<void> {
  return new Promise((resolve) => loop.callLater(delay, resolve));
}

/** asyncio.sleep(0): resolves after one loop iteration. */
export function tick(loop: BaseEventLoop): Promise<void> {
  return new Promise((resolve) => loop.callSoon(resolve));
}

/** test_utils.run_briefly: one or two iterations of a loop that is not running. */
export async function runBriefly(loop: BaseEventLoop): Promise<void> {
  loop.callSoon(() => loop.stop());
  await loop.runForever();
}

/**
 * test_utils.run_until: runs the loop until `pred()` holds (checked every
 * 10 ms of loop time), or rejects after `timeout` seconds.
 */
export async function runUntil(loop: BaseEventLoop, pred: () => boolean, timeout = 30): Promise<void> {
  const deadline = loop.time() + timeout;
  await loop.runUntilComplete(async () => {
    while (!pred()) {
      if (loop.time() > deadline) throw new Error('run_until timed out');
      await sleep(loop, 0.01);
    }
  });
}

/** Waits (inside a running loop) until `pred()` holds, or throws after `timeout` s. */
export async function waitFor(loop: BaseEventLoop, pred: () => boolean, timeout = 30, what = 'condition'): Promise<void> {
  const deadline = loop.time() + timeout;
  while (!pred()) {
    if (loop.time() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(loop, 0.005);
  }
}

/** Makes the loop's exception handler collect every context it gets. */
export function collectExceptions(loop: BaseEventLoop): ExceptionContext[] {
  const seen: ExceptionContext[] = [];
  loop.setExceptionHandler((_loop, ctx) => {
    seen.push(ctx);
  });
  return seen;
}

/** A logger that records what the loop writes, instead of printing it. */
export function recordingLogger(): { error: unknown[][]; warn: unknown[][]; logger: { error(...a: unknown[]): void; warn(...a: unknown[]): void } } {
  const error: unknown[][] = [];
  const warn: unknown[][] = [];
  return {
    error,
    warn,
    logger: {
      error: (...a: unknown[]) => error.push(a),
      warn: (...a: unknown[]) => warn.push(a),
    },
  };
}

/** A loop on `backend`, closed (if still open) by the test's teardown. */
export function newLoop(t: { teardown(fn: () => unknown): unknown }, backend?: string): EventLoop {
  const loop = new EventLoop(backend === undefined ? {} : { selector: backend });
  t.teardown(() => {
    if (!loop.isRunning()) loop.close();
  });
  return loop;
}

/** A deferred promise (asyncio's loop.create_future()). */
export function future<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void; done(): boolean } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((res, rej) => {
    resolve = (v) => {
      settled = true;
      res(v);
    };
    reject = (e) => {
      settled = true;
      rej(e);
    };
  });
  promise.catch(() => {});
  return { promise, resolve, reject, done: () => settled };
}

/**
 * test_utils.run_test_server's HTTP server, on Node's net: answers one
 * request ('...\r\n\r\n') with 'HTTP/1.0 200 OK', a header and 'Test
 * message', then closes. Resolves with its address and a close().
 */
export async function testHttpServer(): Promise<{ host: string; port: number; close(): Promise<void> }> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => {});
    let req = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      req += d;
      if (req.includes('\r\n\r\n')) {
        sock.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nTest message');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The descriptors a subprocess makes: pipes and pidfds. (The loop's
 * selector opens its off-thread wait lazily, at a moment that depends on
 * timing, so the total count is not compared.)
 */
export function pipeAndPidfdCount(): number {
  let n = 0;
  for (const f of fs.readdirSync('/proc/self/fd')) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${f}`);
      if (link.startsWith('pipe:') || link === 'anon_inode:[pidfd]') n++;
    } catch {
      // the directory's own descriptor, gone once listed
    }
  }
  return n;
}
