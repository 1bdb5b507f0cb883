// @iomux/loop from ESM: the package is CommonJS, so its named exports reach
// `import { ... }` only through Node's cjs-module-lexer. This file is plain
// JS, run by tap as it is (not compiled): the names are there, they are the
// very ones `require()` gives, and a loop made through them runs.
import t from 'tap';
import { createRequire } from 'node:module';
import { EventLoop, run, openConnection, startServer, StreamReader, getRunningLoop, RuntimeError, OSError } from '@iomux/loop';
import * as loopNs from '@iomux/loop';
// test/support/fds.ts, as tsc -b tsconfig.tests.json compiles it.
import { checkNoFdLeak } from '../../../build/tests/test/support/fds.js';

checkNoFdLeak(t);

const require = createRequire(import.meta.url);

t.test('named exports are there and are require()\'s', async (t) => {
  const cjs = require('@iomux/loop');
  for (const name of [
    'EventLoop', 'SelectorEventLoop', 'BaseEventLoop', 'Handle', 'TimerHandle', 'getRunningLoop', 'run',
    'Server', 'SelectorSocketTransport', 'openConnection', 'startServer', 'StreamReader', 'StreamWriter',
    'StreamReaderProtocol', 'IncompleteReadError', 'LimitOverrunError', 'DEFAULT_LIMIT',
    'OSError', 'ValueError', 'RuntimeError', 'ConnectionResetError', 'BlockingIOError',
  ]) {
    t.ok(name in loopNs, `${name} is a named export`);
    t.equal(loopNs[name], cjs[name], `${name} is the same object as require() gives`);
  }
  t.equal(EventLoop, cjs.SelectorEventLoop, 'EventLoop is SelectorEventLoop');
  t.type(openConnection, 'function');
  t.type(startServer, 'function');
  t.type(StreamReader, 'function');
  t.type(OSError, 'function');
});

t.test('a loop made from ESM runs', async (t) => {
  t.equal(await run(async (loop) => {
    await new Promise((r) => loop.callLater(0.01, r));
    return getRunningLoop() === loop;
  }), true);
  t.throws(() => getRunningLoop(), RuntimeError);
});
