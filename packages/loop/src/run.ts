/**
 * run(main): asyncio.run. Makes a loop, runs `main` (an async function,
 * called once the loop is running) to completion, and closes the loop.
 */
import { SelectorEventLoop, type EventLoopOptions } from './selector-events.js';

/**
 * Python's `asyncio.run(main())`: makes a {@link SelectorEventLoop} (with
 * `options`), runs `main(loop)` to completion, shuts the default executor
 * down (waiting for its work), closes the loop, and
 * returns `main`'s result (or throws its error).
 */
export async function run<T>(main: (loop: SelectorEventLoop) => Promise<T> | T, options: EventLoopOptions = {}): Promise<T> {
  const loop = new SelectorEventLoop(options);
  try {
    return await loop.runUntilComplete(() => main(loop));
  } finally {
    try {
      // As asyncio.run: the default executor finishes its work before the loop closes.
      if (!loop.isClosed()) await loop.runUntilComplete(() => loop.shutdownDefaultExecutor());
    } finally {
      loop.close();
    }
  }
}
