/**
 * Test support: what escapes to the process, as an unhandled rejection or an
 * uncaught exception, collected for a test file to assert there was none.
 */

interface TapLike {
  teardown(fn: () => unknown): unknown;
}

/** Collects every escape until the test file's teardown; returns the list. */
export function watchEscapes(t: TapLike): unknown[] {
  const escaped: unknown[] = [];
  const onEscape = (e: unknown): void => {
    escaped.push(e);
  };
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
  t.teardown(() => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
  });
  return escaped;
}
