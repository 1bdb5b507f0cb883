/**
 * Running attempts with staggered start times: CPython 3.11
 * Lib/asyncio/staggered.py `staggered_race`, the core of Happy Eyeballs
 * (RFC 8305) in createConnection. asyncio cancels the losing tasks; here
 * each attempt gets an AbortSignal, aborted when another one wins.
 */
import type { TimerHandle } from './events.js';
import type { BaseEventLoop } from './base-events.js';

/** One attempt: resolves with its result, rejects on failure; gives up when `signal` aborts. */
export type Attempt<T> = (signal: AbortSignal) => Promise<T>;

/**
 * asyncio's `staggered_race(coro_fns, delay)`: starts the first attempt at
 * once, and each next one when the one before it fails or `delay` seconds
 * after it started (only on failure when `delay` is null), until one
 * succeeds; the others are then aborted. Resolves, once every started
 * attempt has settled, with `[winnerResult, winnerIndex, exceptions]`:
 * `exceptions[i]` is attempt i's error (null for the winner), one entry per
 * attempt started. `discard` gets any result that came after the winner's
 * (an attempt that ignored its signal), which asyncio would leak.
 */
export function staggeredRace<T>(
  loop: BaseEventLoop,
  attempts: Iterable<Attempt<T>>,
  delay: number | null,
  discard?: (result: T) => void,
): Promise<[T | null, number | null, unknown[]]> {
  const it = attempts[Symbol.iterator]();
  const exceptions: unknown[] = [];
  const controllers: AbortController[] = [];
  let winnerResult: T | null = null;
  let winnerIndex: number | null = null;
  let running = 0;
  let exhausted = false;
  let timer: TimerHandle | null = null;
  return new Promise((resolve, reject) => {
    const finishIfDone = (): void => {
      if (running !== 0 || (!exhausted && winnerIndex === null)) return;
      timer?.cancel();
      resolve([winnerResult, winnerIndex, exceptions]);
    };
    const startNext = (): void => {
      timer?.cancel();
      timer = null;
      if (winnerIndex !== null || exhausted) return;
      let next: IteratorResult<Attempt<T>>;
      try {
        next = it.next();
      } catch (e) {
        // The iterable itself failed (asyncio: the task's exception).
        exhausted = true;
        for (const c of controllers) c.abort();
        reject(e);
        return;
      }
      if (next.done) {
        exhausted = true;
        finishIfDone();
        return;
      }
      const index = exceptions.length;
      exceptions.push(null);
      const ac = new AbortController();
      controllers.push(ac);
      running++;
      let p: Promise<T>;
      try {
        p = Promise.resolve(next.value(ac.signal));
      } catch (e) {
        p = Promise.reject(e);
      }
      if (delay !== null) {
        try {
          timer = loop.callLater(delay, startNext);
        } catch {
          // The loop closed: the next attempt starts when this one fails.
        }
      }
      p.then(
        (result) => {
          running--;
          if (winnerIndex === null) {
            winnerIndex = index;
            winnerResult = result;
            timer?.cancel();
            controllers.forEach((c, i) => i !== index && c.abort());
          } else if (discard !== undefined) {
            discard(result);
          }
          finishIfDone();
        },
        (e: unknown) => {
          running--;
          exceptions[index] = e;
          // Kickstart the next attempt, if this was the latest started.
          if (index === exceptions.length - 1) startNext();
          finishIfDone();
        },
      );
    };
    startNext();
  });
}
