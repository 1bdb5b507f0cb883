/**
 * Test support: a module of @iomux/loop's build that the package does not
 * export (resolve.js, staggered.js), for the tests that port CPython's
 * tests of private helpers (`_ipaddr_info`, `_interleave_addrinfos`).
 */
import * as path from 'node:path';

/** `require()`s packages/loop/dist/<name> (these tests run from build/tests/packages/loop/test). */
export function loopInternal<T>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, '../../../../../packages/loop/dist', name)) as T;
}
