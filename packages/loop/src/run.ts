/**
 * run(main): asyncio.run. Makes a loop, runs `main` (an async function,
 * called once the loop is running) to completion, and closes the loop.
 *
 * Lifetimes: while the loop waits on I/O (a serving server, an open
 * transport, a sock* call) or a timer, its selector wait keeps the process
 * alive, as asyncio.run blocks in select(). When it has nothing to wait on
 * and Node has nothing left either, no callback can ever settle `main`:
 * asyncio.run would block forever, Node ends the process (code 13 for an
 * unsettled top-level await). The running loop then says so on stderr,
 * once (internal/exit-watch.ts).
 */
import { SelectorEventLoop, type EventLoopOptions } from './selector-events.js';

/**
 * Python's `asyncio.run(main())`: makes a {@link SelectorEventLoop} (with
 * `options`), runs `main(loop)` to completion, shuts the default executor
 * down (waiting for its work), closes the loop, and
 * returns `main`'s result (or throws its error). The process stays alive
 * while the loop has I/O or timers to wait for; if it is about to end with
 * `main` unsettled, one line on stderr says why.
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

