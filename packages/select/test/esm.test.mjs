// @iomux/select and @iomux/core-native from ESM: the packages are CommonJS,
// so their named exports reach `import { ... }` only through Node's
// cjs-module-lexer. This file is plain JS, run by tap as it is (not compiled),
// and checks that the names are there, that they work, and that they are the
// very functions and classes `require()` gives.
import t from 'tap';
import { createRequire } from 'node:module';
import { select, poll, epoll, POLLIN, ValueError, error, OSError } from '@iomux/select';
import * as selectNs from '@iomux/select';
import selectDefault from '@iomux/select';
import * as core from '@iomux/core-native';
// test/support/fds.ts, as tsc -b tsconfig.tests.json compiles it.
import { checkNoFdLeak } from '../../../build/tests/test/support/fds.js';

checkNoFdLeak(t);

const require = createRequire(import.meta.url);

t.test('named exports of @iomux/select are there', async (t) => {
  t.type(select, 'function', 'select');
  t.type(poll, 'function', 'poll');
  t.type(ValueError, 'function', 'ValueError');
  t.type(OSError, 'function', 'OSError');
  t.equal(error, OSError, 'select.error is OSError');
  t.type(POLLIN, 'number', 'POLLIN');
  if (process.platform === 'linux') {
    t.type(epoll, 'function', 'epoll on Linux');
    t.equal(POLLIN, 1, 'POLLIN has the header value');
  } else {
    t.equal(epoll, undefined, 'no epoll off Linux');
  }
  // The lexer saw the re-exports (export * from constants, errors from
  // core-native), not only the module's own names.
  for (const name of ['selectAsync', 'POLLOUT', 'POLLNVAL', 'PIPE_BUF', 'KeyError', 'OverflowError', 'RuntimeError']) {
    t.ok(name in selectNs, `${name} is a named export`);
  }
});

t.test('named exports of @iomux/core-native are there', async (t) => {
  for (const name of ['os', 'socket', 'binding', 'Socket', 'socketpair', 'createServer', 'OSError', 'errnoConstants']) {
    t.ok(name in core, `${name} is a named export`);
  }
  t.type(core.os.pipe, 'function');
  t.type(core.socket.Socket, 'function');
});

t.test('they work: select, poll, epoll and the errors on a real pipe', async (t) => {
  const [r, w] = core.os.pipe();
  try {
    t.same(select([r], [w], [], 0), [[], [w], []], 'only the write end is ready');
    core.os.write(w, Buffer.from('x'));
    t.same(select([r], [], [], 0), [[r], [], []], 'the read end is ready once written');

    const p = poll();
    p.register(r, POLLIN);
    t.same(p.poll(0), [[r, POLLIN]], 'poll() sees it too');

    if (epoll) {
      const ep = epoll();
      try {
        ep.register(r, selectNs.EPOLLIN);
        t.same(ep.poll(0), [[r, selectNs.EPOLLIN]], 'and epoll');
        t.equal(core.os.getInheritable(ep.fileno()), false);
      } finally {
        ep.close();
      }
      t.throws(() => ep.fileno(), { name: 'ValueError', message: 'I/O operation on closed epoll object' });
    }
    t.equal(core.os.read(r, 10).toString(), 'x');

    t.throws(() => select([], [], [], -1), { name: 'ValueError', message: 'timeout must be non-negative' });
    let err;
    try {
      select([], [], [], -1);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ValueError, 'instanceof the imported ValueError');
    t.ok(err instanceof Error);
  } finally {
    core.os.close(r);
    core.os.close(w);
  }

  const [r2, w2] = core.os.pipe();
  core.os.close(r2);
  core.os.close(w2);
  let err;
  try {
    select([r2], [], [], 0);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof OSError, 'EBADF is an OSError');
  t.ok(err instanceof error, 'and a select.error');
  t.ok(err instanceof core.OSError, 'and core-native\'s OSError');
  t.equal(err.errno, core.errnoConstants.EBADF);
});

t.test('require() of the same packages gives the same objects', async (t) => {
  const cjs = require('@iomux/select');
  const cjsCore = require('@iomux/core-native');
  t.equal(cjs.select, select, 'select');
  t.equal(cjs.poll, poll, 'poll');
  t.equal(cjs.epoll, epoll, 'epoll');
  t.equal(cjs.POLLIN, POLLIN, 'POLLIN');
  t.equal(cjs.ValueError, ValueError, 'ValueError');
  t.equal(cjs.error, error, 'error');
  t.equal(cjs.OSError, OSError, 'OSError');
  t.equal(selectDefault, cjs, 'the default import is module.exports');
  t.equal(cjsCore.os, core.os, 'core-native os');
  t.equal(cjsCore.socket, core.socket, 'core-native socket');
  t.equal(cjsCore.OSError, OSError, '@iomux/select re-exports core-native\'s OSError');
  t.equal(cjsCore.OSError, core.OSError);
});
