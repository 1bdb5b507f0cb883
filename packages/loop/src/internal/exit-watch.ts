/**
 * Lifetimes: a running loop with nothing to wait on does not keep the
 * process alive (it waits on a plain promise). When Node then has nothing
 * left either, no callback can ever settle the run: asyncio would block
 * forever, Node ends the process (code 13 for a top-level await) without a
 * word. This says why, once, on stderr, from a 'beforeExit' listener that
 * exists only while a loop runs.
 */

/**
 * Installs the listener for one run; `report()` gives the line, or null to
 * stay silent (the loop stopped meanwhile). Returns the remover.
 */
export function watchExit(report: () => string | null): () => void {
  let told = false;
  const onBeforeExit = (): void => {
    if (told) return;
    const line = report();
    if (line === null) return;
    told = true;
    process.stderr.write(`${line}\n`);
  };
  process.on('beforeExit', onBeforeExit);
  return () => process.off('beforeExit', onBeforeExit);
}

/** The line: a loop still running, what it waits on, and why nothing can end the wait. */
export function exitReport(hasDescriptors: boolean, timers: number): string {
  const waits = hasDescriptors || timers > 0 ? `its ${timers} timer(s) and descriptors never came due` : 'it has no reader, writer or timer to wait on';
  return (
    'iomux: the process is exiting while an event loop is still running (run(), runUntilComplete() or runForever() has not finished): ' +
    `${waits} and Node has no other pending work, so nothing can settle it (asyncio would block here forever)`
  );
}
