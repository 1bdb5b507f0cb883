// The loop-subprocess example, run the way a user runs it: a command's
// stdout and stderr arrive on the example's own, with the exit status line
// after them and the command's code as the exit code; a shell command; a
// command killed by a signal (128 + N); a missing program (127, Python's
// FileNotFoundError); 1 MiB of output streamed whole; bad command lines (2).
import t from 'tap';
import { checkNoFdLeak } from '../../test/support/fds.js';
import { runExample } from './example-run.js';

checkNoFdLeak(t);

const run = (args: string[]) => runExample('loop-subprocess', args, 30000);

t.test('streams stdout and stderr, prints the exit status, exits with it', async (t) => {
  const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.equal(r.code, 3);
  t.equal(r.stdout, 'out\n[sh -c echo out; echo err >&2; exit 3 exited with 3]\n');
  t.equal(r.stderr, 'err\n');
});

t.test('--shell, on each backend', async (t) => {
  for (const backend of ['epoll', 'poll', 'select']) {
    const r = await run(['--shell', '--backend', backend, 'echo a; ls /zzz-iomux']);
    t.equal(r.code, 2, backend);
    t.match(r.stdout, /^a\n\[echo a; ls \/zzz-iomux exited with 2\]\n$/);
    t.match(r.stderr, /zzz-iomux/);
  }
});

t.test('a command killed by a signal: -N, exit code 128 + N', async (t) => {
  const r = await run(['--', 'sh', '-c', 'kill -TERM $$']);
  t.equal(r.code, 143);
  t.match(r.stdout, /exited with -15\]/);
});

t.test('a missing program: FileNotFoundError, 127', async (t) => {
  const r = await run(['no-such-program-iomux', 'x']);
  t.equal(r.code, 127);
  t.match(r.stderr, /FileNotFoundError: \[Errno 2\] No such file or directory: 'no-such-program-iomux'/);
});

t.test('1 MiB of output arrives whole', async (t) => {
  const r = await run(['head', '-c', '1048576', '/dev/zero']);
  t.equal(r.code, 0);
  t.equal(r.stdout.length, 1048576 + '[head -c 1048576 /dev/zero exited with 0]\n'.length);
});

t.test('bad command lines exit 2', async (t) => {
  t.equal((await run([])).code, 2);
  t.equal((await run(['--bogus', 'ls'])).code, 2);
  t.equal((await run(['--shell', 'ls', '-l'])).code, 2);
  t.equal((await run(['--backend', 'nope', 'ls'])).code, 2);
});
