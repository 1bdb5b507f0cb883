// A case-by-case port of CPython 3.11's Lib/test/test_select.py
// (SelectTestCase), under the same test names. Expected messages are
// CPython 3.11's, checked with python3.
import t from 'tap';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as select from '@iomux/select';
import { os, errnoConstants as E } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

/** Lets a test pass what the types forbid, as the Python tests do. */
const bad = (x: unknown): any => x;

class Nope {}

class Almost {
  fileno(): unknown {
    return 'fileno';
  }
}

t.test('test_error_conditions', async (t) => {
  t.throws(() => select.select(bad(1), bad(2), bad(3)), { name: 'TypeError', message: 'arguments 1-3 must be sequences' });
  t.throws(() => select.select([new Nope()], [], []), {
    name: 'TypeError',
    message: 'argument must be an int, or have a fileno() method.',
  });
  t.throws(() => select.select([new Almost()], [], []), { name: 'TypeError', message: 'fileno() returned a non-integer' });
  t.throws(() => select.select([], [], [], bad('not a number')), {
    name: 'TypeError',
    message: 'timeout must be a float or None',
  });
  t.throws(() => select.select([], [], [], -1), { name: 'ValueError', message: 'timeout must be non-negative' });
});

// Issue #12367 (a FreeBSD bug): not skipped on Linux.
t.test('test_errno', async (t) => {
  // `with open(__file__, 'rb') as fp: fd = fp.fileno(); fp.close()`
  const fd = fs.openSync(__filename, 'r');
  fs.closeSync(fd);
  let err: unknown;
  try {
    select.select([fd], [], [], 0);
  } catch (e) {
    err = e;
  }
  if (err === undefined) {
    t.fail('exception not raised');
  } else {
    t.ok(err instanceof select.OSError, 'an OSError');
    t.equal((err as select.OSError).errno, E.EBADF);
    t.match(err, { name: 'OSError', code: 'EBADF', message: '[Errno 9] Bad file descriptor' });
  }
});

// See issue #8329.
t.test('test_returned_list_identity', async (t) => {
  const [r, w, x] = select.select([], [], [], 1);
  t.not(r, w);
  t.not(r, x);
  t.not(w, x);
});

// CPython runs `python -c` printing "testing..." ten times, 50 ms apart,
// into a subprocess.PIPE. Here a real child (sh) writes into a pipe this
// test makes with os.pipe() and hands over as the child's stdout, so Node
// never reads from it. `pipe` stands for proc.stdout (select() must hand back
// this very object) and its readline() reads one byte at a time, so no line
// is ever buffered where select() cannot see it.
t.test('test_select', async (t) => {
  const [rfd, wfd] = os.pipe();
  const proc = spawn('/bin/sh', ['-c', 'for i in 0 1 2 3 4 5 6 7 8 9; do echo testing...; sleep 0.05; done'], {
    stdio: ['ignore', wfd, 'inherit'],
  });
  const exited = once(proc, 'exit');
  os.close(wfd);
  const pipe = {
    fileno: (): number => rfd,
    readline(): string {
      const bytes: number[] = [];
      for (;;) {
        const b = os.read(rfd, 1);
        if (b.length === 0) break;
        bytes.push(b[0]!);
        if (b[0] === 0x0a) break;
      }
      return Buffer.from(bytes).toString();
    },
  };
  let lines = 0;
  let sawEof = false;
  try {
    for (const timeout of [0, 1, 2, 4, 8, 16, ...new Array<null>(10).fill(null)]) {
      const [rfds, wfds, xfds] = select.select([pipe], [], [], timeout);
      t.same(wfds, []);
      t.same(xfds, []);
      if (rfds.length === 0) continue;
      if (rfds.length === 1 && rfds[0] === pipe) {
        const line = pipe.readline();
        if (!line) {
          sawEof = true;
          break;
        }
        lines++;
        continue;
      }
      t.fail('Unexpected return values from select():', { rfds, wfds, xfds });
    }
  } finally {
    os.close(rfd);
    await exited;
  }
  // Not in CPython, which just leaves the loop: all ten lines, then EOF.
  t.equal(lines, 10, 'ten lines read');
  t.ok(sawEof, 'EOF seen');
});

// Issue 16230: Crash on select resized list.
t.test('test_select_mutated', async (t) => {
  const a: F[] = [];
  class F {
    fileno(): number {
      a.pop();
      // sys.__stdout__.fileno(): under tap a pipe, still writable.
      return 1;
    }
  }
  const f = new F();
  a.splice(0, a.length, ...new Array<F>(10).fill(f));
  t.same(select.select([], a, []), [[], a.slice(0, 5), []]);
  t.equal(a.length, 5);
});

t.test('test_disallow_instantiation', async (t) => {
  // support.check_disallow_instantiation(self, type(select.poll()))
  const tp = select.poll().constructor as new (...args: unknown[]) => unknown;
  t.throws(() => new tp(), { name: 'TypeError', message: "cannot create 'select.poll' instances" });
  t.throws(() => Reflect.construct(tp, []), { name: 'TypeError', message: "cannot create 'select.poll' instances" });

  // if hasattr(select, 'devpoll'): (Solaris natively; here the Linux emulation)
  if (select.devpoll !== undefined) {
    const devpoll = select.devpoll();
    t.teardown(() => devpoll.close());
    const dp = devpoll.constructor as new (...args: unknown[]) => unknown;
    t.throws(() => new dp(), { name: 'TypeError', message: "cannot create 'select.devpoll' instances" });
  }
});
