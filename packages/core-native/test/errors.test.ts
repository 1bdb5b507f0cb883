// Error classes: Python's names, PEP 3151 subclasses by errno, instanceof
// across copies (brand check), native errors mapped by fromNative().
import t from 'tap';
import {
  OSError, ValueError, OverflowError, IndexError, KeyError, RuntimeError, error,
  BlockingIOError, FileExistsError, FileNotFoundError, InterruptedError, PermissionError,
  ConnectionResetError, ConnectionError, BrokenPipeError, fromErrno, fromNative, errnoConstants as E, binding, os,
} from '@iomux/core-native';

// Runs first, before any native error, so it sees what a fresh process sees.
t.test('fromErrno: the message is strerror(3)\'s text, whatever came before', async (t) => {
  t.equal(fromErrno(E.EBADF!).message, '[Errno 9] Bad file descriptor');
  t.equal(fromErrno(E.EBADF!).strerror, 'Bad file descriptor');
  t.equal(fromErrno(E.EAGAIN!).message, `[Errno ${E.EAGAIN}] Resource temporarily unavailable`);
  t.equal(fromErrno(E.ENOENT!).message, `[Errno ${E.ENOENT}] No such file or directory`);
  t.equal(fromErrno(99999).message, '[Errno 99999] Unknown error 99999', 'an unknown errno names the number');
  t.equal(fromErrno(E.EBADF!, 'custom').message, '[Errno 9] custom', 'an explicit strerror wins');
  for (const name of ['EBADF', 'EINVAL', 'EPIPE', 'EINTR', 'ECONNRESET']) {
    const e = fromErrno(E[name]!);
    t.equal(e.message, `[Errno ${E[name]}] ${os.strerror(E[name]!)}`, `${name} has os.strerror's text`);
    t.equal(e.code, name);
  }
});

t.test('names and hierarchy', async (t) => {
  t.equal(new ValueError('x').name, 'ValueError');
  t.equal(new OverflowError('x').name, 'OverflowError');
  t.ok(new OverflowError('x') instanceof RangeError);
  t.equal(new IndexError('string index out of range').name, 'IndexError');
  t.ok(new IndexError('x') instanceof RangeError);
  t.notOk(new OverflowError('x') instanceof IndexError, 'two RangeErrors, two brands');
  t.equal(new KeyError(5).message, '5');
  t.equal(new KeyError('a').message, "'a'");
  t.equal(new RuntimeError('r').name, 'RuntimeError');
  t.equal(error, OSError);
  const e = new OSError(9, 'Bad file descriptor');
  t.equal(e.message, '[Errno 9] Bad file descriptor');
  t.equal(e.errno, 9);
  t.equal(e.code, 'EBADF');
  t.notOk(new ValueError('x') instanceof OSError);
});

t.test('PEP 3151 subclasses by errno', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['EAGAIN', BlockingIOError], ['EINPROGRESS', BlockingIOError], ['EEXIST', FileExistsError],
    ['ENOENT', FileNotFoundError], ['EINTR', InterruptedError], ['EACCES', PermissionError],
    ['EPERM', PermissionError], ['ECONNRESET', ConnectionResetError], ['EPIPE', BrokenPipeError],
  ];
  for (const [name, cls] of cases) {
    const e = fromErrno(E[name]!);
    t.ok(e instanceof (cls as typeof OSError), `${name} -> ${(cls as { name: string }).name}`);
    t.ok(e instanceof OSError);
    t.equal(e.name, (cls as { name: string }).name);
  }
  t.ok(fromErrno(E.EPIPE!) instanceof ConnectionError);
  t.equal(fromErrno(E.EBADF!).constructor, OSError);
});

t.test('instanceof works across copies (brand, not prototype)', async (t) => {
  // A second copy of the class would have another prototype but the same brand.
  const foreign = Object.create(Object.getPrototypeOf(new ValueError('x')));
  t.ok(foreign instanceof ValueError);
  const brands = Symbol.for('iomux.errorBrands');
  const lookalike = { [brands]: ['FileExistsError', 'OSError'] };
  t.ok(lookalike instanceof FileExistsError);
  t.ok(lookalike instanceof OSError);
  t.notOk(lookalike instanceof ValueError);
  t.notOk(new Error('x') instanceof OSError);
  t.notOk((null as unknown) instanceof OSError);
});

t.test('native errors carry errno, code, syscall and map to classes', async (t) => {
  t.throws(() => os.close(2 ** 30), {
    name: 'OSError', errno: E.EBADF, code: 'EBADF', syscall: 'close',
    strerror: 'Bad file descriptor', message: '[Errno 9] Bad file descriptor',
  });
  t.throws(() => os.close(2 ** 30), OSError);
  let raw: unknown;
  try {
    binding.select(new Int32Array([1 << 20]), new Int32Array(0), new Int32Array(0), 0);
  } catch (e) {
    raw = e;
  }
  const mapped = fromNative(raw);
  t.ok(mapped instanceof ValueError);
  t.equal((mapped as Error).message, 'filedescriptor out of range in select()');
  const te = new TypeError('x');
  t.equal(fromNative(te), te, 'TypeError passes through');
});
