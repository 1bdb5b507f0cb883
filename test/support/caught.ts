/** The error `fn` throws, for tests that check its fields; a failed assertion if it returns. */
export function caught(t: { fail(msg: string): unknown }, fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  t.fail('expected to throw');
  return undefined;
}
