// Hostile input to the subprocess API: bad programs, bad stdio values, bad
// cwd/env types, asyncio's text-mode keywords, bad signals. Each call fails
// with the class (and message) asyncio and CPython's subprocess give,
// leaves no descriptor or child behind, and the loop keeps running.
import t from 'tap';
import * as fs from 'node:fs';
import { os } from '@iomux/core-native';
import { createSubprocessExec, createSubprocessShell, PIPE, STDOUT, type EventLoop } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { newLoop, pipeAndPidfdCount, runBriefly } from './helpers.js';

checkNoFdLeak(t);

const bad = (x: unknown): any => x;

/** [what, call, expected error shape]: every call rejects. */
type Case = [string, (loop: EventLoop) => Promise<unknown>, object];

const closedFd = (): number => {
  const [r, w] = os.pipe();
  os.close(r);
  os.close(w);
  return r;
};

const cases: Case[] = [
  ['missing program', () => createSubprocessExec('no-such-program-iomux'), { name: 'FileNotFoundError', errno: 2, message: "[Errno 2] No such file or directory: 'no-such-program-iomux'" }],
  ['missing program by path', () => createSubprocessExec('/nonexistent/prog', [], { stdout: PIPE }), { name: 'FileNotFoundError', filename: '/nonexistent/prog' }],
  ['missing program on env PATH', () => createSubprocessExec('sh', [], { env: { PATH: '/nonexistent' } }), { name: 'FileNotFoundError', message: "[Errno 2] No such file or directory: 'sh'" }],
  ['program is a directory', () => createSubprocessExec('/tmp'), { name: 'PermissionError', errno: 13 }],
  ['program not executable', () => createSubprocessExec('/etc/passwd'), { name: 'PermissionError', errno: 13 }],
  ['program not a string', () => createSubprocessExec(bad(42)), { name: 'TypeError', message: 'expected str, bytes or os.PathLike object, not int' }],
  ['args not an array', () => createSubprocessExec('true', bad('-x')), { name: 'TypeError' }],
  ['argument with a NUL', () => createSubprocessExec('echo', ['a\0b']), { name: 'ValueError', message: 'embedded null byte' }],
  ['argument not a string', () => createSubprocessExec('echo', [bad(null)]), { name: 'TypeError', message: 'expected str, bytes or os.PathLike object, not NoneType' }],
  ['stdin a string', () => createSubprocessExec('true', [], { stdin: bad('pipe') }), { name: 'TypeError', message: "'str' object has no attribute 'fileno'" }],
  ['stdout a float', () => createSubprocessExec('true', [], { stdout: bad(1.5) }), { name: 'TypeError', message: "'float' object has no attribute 'fileno'" }],
  ['stdin a negative descriptor', () => createSubprocessExec('true', [], { stdin: -7 }), { name: 'OSError', errno: 9 }],
  ['stdin STDOUT', () => createSubprocessExec('true', [], { stdin: STDOUT }), { name: 'OSError', errno: 9 }],
  ['stdout a closed descriptor', () => createSubprocessExec('true', [], { stdout: closedFd() }), { name: 'OSError', errno: 9 }],
  ['stdout a huge descriptor', () => createSubprocessExec('true', [], { stdout: 2 ** 40 }), { name: 'OverflowError' }],
  ['fileno() returning junk', () => createSubprocessExec('true', [], { stdin: { fileno: () => bad('x') } }), { name: 'TypeError' }],
  ['cwd missing', () => createSubprocessExec('true', [], { cwd: '/nonexistent-dir-iomux' }), { name: 'FileNotFoundError', message: "[Errno 2] No such file or directory: '/nonexistent-dir-iomux'" }],
  ['cwd a file', () => createSubprocessExec('true', [], { cwd: '/etc/passwd' }), { name: 'NotADirectoryError', errno: 20 }],
  ['cwd a number', () => createSubprocessExec('true', [], { cwd: bad(3) }), { name: 'TypeError', message: 'expected str, bytes or os.PathLike object, not int' }],
  ['env an array', () => createSubprocessExec('true', [], { env: bad(['A=1']) }), { name: 'TypeError' }],
  ['env value a number', () => createSubprocessExec('true', [], { env: bad({ A: 1 }) }), { name: 'TypeError', message: 'expected str, bytes or os.PathLike object, not int' }],
  ['env name with =', () => createSubprocessExec('true', [], { env: { 'A=B': '1' } }), { name: 'ValueError', message: 'illegal environment variable name' }],
  ['env value with NUL', () => createSubprocessExec('true', [], { env: { A: 'x\0' } }), { name: 'ValueError', message: 'embedded null byte' }],
  ['text mode (exec)', () => createSubprocessExec('true', [], { text: true }), { name: 'ValueError', message: 'text must be False' }],
  ['encoding (exec)', () => createSubprocessExec('true', [], { encoding: 'utf-8' }), { name: 'ValueError', message: 'encoding must be None' }],
  ['errors (exec)', () => createSubprocessExec('true', [], { errors: 'strict' }), { name: 'ValueError', message: 'errors must be None' }],
  ['text mode (shell)', () => createSubprocessShell('true', { text: true }), { name: 'ValueError', message: 'text must be False' }],
  ['encoding (shell)', () => createSubprocessShell('true', { encoding: 'utf-8' }), { name: 'ValueError', message: 'encoding must be None' }],
  ['errors (shell)', () => createSubprocessShell('true', { errors: 'strict' }), { name: 'ValueError', message: 'errors must be None' }],
  ['universal_newlines', () => createSubprocessExec('true', [], { universalNewlines: true }), { name: 'ValueError', message: 'universal_newlines must be False' }],
  ['bufsize', () => createSubprocessExec('true', [], { bufsize: 1 }), { name: 'ValueError', message: 'bufsize must be 0' }],
  ['shell=True for exec', (loop) => loop.subprocessExec(() => ({}), 'true', [], { shell: true }), { name: 'ValueError', message: 'shell must be False' }],
  ['shell=False for shell', (loop) => loop.subprocessShell(() => ({}), 'true', { shell: false }), { name: 'ValueError', message: 'shell must be True' }],
  ['shell cmd not a string', () => createSubprocessShell(bad(['ls'])), { name: 'ValueError', message: 'cmd must be a string' }],
  ['unknown keyword', () => createSubprocessExec('true', [], bad({ preexecFn: () => {} })), { name: 'TypeError', message: "Popen.__init__() got an unexpected keyword argument 'preexecFn'" }],
  ['closeFds false', () => createSubprocessExec('true', [], { closeFds: false }), { name: 'ValueError' }],
  ['protocol factory not callable', (loop) => loop.subprocessExec(bad(null), 'true'), { name: 'TypeError' }],
  ['limit 0', () => createSubprocessExec('true', [], { limit: 0 }), { name: 'ValueError', message: 'Limit cannot be <= 0' }],
  // Found by the fuzzer: args whose length lies are refused before any copy (it hung, or threw RangeError).
  ['args of length 2**32-1', () => createSubprocessExec('true', sparseArgs()), { name: 'ValueError', message: 'too many arguments' }],
  ['args a Proxy of length 2**53-1', () => createSubprocessExec('true', new Proxy([], { get: (o, k) => (k === 'length' ? 2 ** 53 - 1 : Reflect.get(o, k)) })), { name: 'ValueError', message: 'too many arguments' }],
];

function sparseArgs(): string[] {
  const a: string[] = [];
  a.length = 2 ** 32 - 1;
  return a;
}

t.test('each hostile call rejects with asyncio\'s class; nothing leaks', async (t) => {
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    await (await createSubprocessExec('true')).wait();
  });
  await runBriefly(loop);
  const before = pipeAndPidfdCount();
  await loop.runUntilComplete(async () => {
    for (const [what, call, shape] of cases) {
      let err: unknown = null;
      try {
        await call(loop);
      } catch (e) {
        err = e;
      }
      t.match(err, shape, what);
    }
  });
  await runBriefly(loop);
  t.equal(pipeAndPidfdCount(), before, 'no descriptor left open');
  t.equal(fs.readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim(), '', 'no child left');
  t.ok(cases.length >= 30);
});

t.test('bad signals and calls on a finished process', async (t) => {
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    const p = await createSubprocessExec('sleep', ['3600'], { stdin: PIPE, stdout: PIPE });
    t.throws(() => p.sendSignal(bad('TERM')), TypeError);
    t.throws(() => p.sendSignal(1000), { name: 'OSError', errno: 22 });
    t.throws(() => p.sendSignal(2 ** 40), { name: 'OverflowError' });
    await t.rejects(p.communicate(bad(123)), { name: 'TypeError', message: "a bytes-like object is required, not 'int'" });
    p.kill();
    const [out] = await p.communicate();
    t.equal(out!.length, 0);
    t.equal(p.returncode, -9);
    t.throws(() => p.kill(), { name: 'ProcessLookupError' }, 'finished: _check_proc');
    const q = await createSubprocessExec('true');
    await t.rejects(q.communicate(Buffer.from('x')), { name: 'RuntimeError' }, 'input without stdin=PIPE');
    await q.wait();
  });
});

t.test('connecting a pipe fails: the child is killed and reaped, its pipes closed (test_popen_error)', async (t) => {
  const loop = newLoop(t);
  class Marker extends Error {}
  const before = pipeAndPidfdCount();
  await loop.runUntilComplete(async () => {
    const own = loop.connectReadPipe.bind(loop);
    let calls = 0;
    // The second read pipe (stderr) fails, after stdin and stdout connected.
    loop.connectReadPipe = ((f: never, p: never) => (++calls === 2 ? Promise.reject(new Marker('connect')) : own(f, p))) as typeof loop.connectReadPipe;
    await t.rejects(createSubprocessExec('sleep', ['3600'], { stdin: PIPE, stdout: PIPE, stderr: PIPE }), { message: 'connect' });
    loop.connectReadPipe = own;
  });
  await runBriefly(loop);
  t.equal(pipeAndPidfdCount(), before, 'no pipe or pidfd left');
  t.equal(fs.readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim(), '', 'the child was killed and reaped');
});
