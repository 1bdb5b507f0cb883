// The os descriptor primitives (src/os.ts over native/os.cc) on real pipes:
// pipe, read, readinto, write, close, dup, inheritable and blocking flags,
// strerror. Expected messages are CPython 3.11's (checked with python3).
import t from 'tap';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { binding, os, errnoConstants as E, OSError, BlockingIOError, BrokenPipeError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);
const bad = (x: unknown): any => x;
const ebadf = { name: 'OSError', errno: E.EBADF, code: 'EBADF', message: '[Errno 9] Bad file descriptor' };

/** A closed descriptor number: opened, then closed at once. */
function closedFd(): number {
  const [r, w] = os.pipe();
  os.close(w);
  os.close(r);
  return r;
}

// Runs first, before any native error, so it sees what a fresh process sees:
// the OSError text comes from strerror(3), not from errors seen earlier.
t.test('EBADF from a negative descriptor has the C library\'s text', async (t) => {
  t.throws(() => os.close(-1), ebadf, 'close(-1)');
  t.throws(() => os.read(-1, 1), ebadf, 'read(-1, 1)');
  t.throws(() => os.dup(-1), ebadf, 'dup(-1)');
  const [r, w] = os.pipe();
  t.throws(() => os.read(r, -1), { name: 'OSError', errno: E.EINVAL, message: '[Errno 22] Invalid argument' },
    'read(fd, -1)');
  os.close(r);
  os.close(w);
});

t.test('pipe: two non-inheritable, blocking descriptors', async (t) => {
  const [r, w] = os.pipe();
  t.ok(Number.isInteger(r) && Number.isInteger(w) && r >= 0 && w >= 0);
  t.not(r, w);
  t.ok(isOpen(r) && isOpen(w));
  t.equal(os.getInheritable(r), false, 'read end is close-on-exec');
  t.equal(os.getInheritable(w), false, 'write end is close-on-exec');
  t.equal(os.getBlocking(r), true);
  t.equal(os.getBlocking(w), true);
  os.close(r);
  os.close(w);
  t.notOk(isOpen(r), 'close closes');
});

t.test('write and read; EOF is an empty Buffer', async (t) => {
  const [r, w] = os.pipe();
  t.equal(os.write(w, Buffer.from('hello world')), 11);
  const first = os.read(r, 5);
  t.ok(Buffer.isBuffer(first));
  t.equal(first.toString(), 'hello', 'read returns at most n bytes');
  t.equal(os.read(r, 100).toString(), ' world', 'and fewer when fewer are there');
  t.equal(os.read(r, 0).length, 0, 'read(fd, 0) is empty');
  os.write(w, Buffer.from('tail'));
  os.close(w);
  t.equal(os.read(r, 100).toString(), 'tail', 'data written before close is still read');
  const eof = os.read(r, 100);
  t.ok(Buffer.isBuffer(eof) && eof.length === 0, 'EOF once the write end is closed');
  t.equal(os.read(r, 100).length, 0, 'and stays at EOF');
  os.close(r);
});

t.test('write takes any TypedArray, DataView or Buffer view, as bytes', async (t) => {
  const [r, w] = os.pipe();
  const ints = new Int32Array([1, 2]);
  t.equal(os.write(w, ints), 8, 'an Int32Array writes its bytes');
  t.same(os.read(r, 100), Buffer.from(ints.buffer));
  const f64 = new Float64Array([1.5, -2]);
  t.equal(os.write(w, f64), 16);
  const back = os.read(r, 16);
  t.same(new Float64Array(back.buffer.slice(back.byteOffset, back.byteOffset + 16)), f64);
  const base = Buffer.from('abcdef');
  t.equal(os.write(w, base.subarray(2, 4)), 2, 'a view writes only its window');
  t.equal(os.read(r, 10).toString(), 'cd');
  const dv = new DataView(base.buffer, base.byteOffset + 1, 3);
  t.equal(os.write(w, dv), 3);
  t.equal(os.read(r, 10).toString(), 'bcd');
  t.equal(os.write(w, new Uint8Array(0)), 0, 'an empty write');
  os.close(r);
  os.close(w);
});

t.test('readinto fills a caller buffer', async (t) => {
  const [r, w] = os.pipe();
  os.write(w, Buffer.from('xyz'));
  const into = new Uint8Array(8);
  t.equal(os.readinto(r, into), 3);
  t.equal(Buffer.from(into.subarray(0, 3)).toString(), 'xyz');
  t.throws(() => os.readinto(r, bad('x')), { name: 'TypeError', message: "a bytes-like object is required, not 'str'" });
  os.close(w);
  t.equal(os.readinto(r, into), 0, 'EOF');
  os.close(r);
});

t.test('dup: a new non-inheritable descriptor on the same pipe', async (t) => {
  const [r, w] = os.pipe();
  const w2 = os.dup(w);
  t.not(w2, w);
  t.not(w2, r);
  t.equal(os.getInheritable(w2), false, 'the copy is non-inheritable');
  os.write(w2, Buffer.from('via dup'));
  t.equal(os.read(r, 20).toString(), 'via dup');
  os.close(w);
  os.write(w2, Buffer.from('!'));
  t.equal(os.read(r, 20).toString(), '!', 'the copy outlives the original');
  os.close(w2);
  t.equal(os.read(r, 20).length, 0, 'EOF once every write end is closed');
  os.close(r);
});

t.test('inheritable flag: round trip, and a child process sees the difference', async (t) => {
  const [r, w] = os.pipe();
  os.setInheritable(r, true);
  t.equal(os.getInheritable(r), true);
  os.setInheritable(r, true);
  t.equal(os.getInheritable(r), true, 'setting twice is harmless');
  os.setInheritable(r, false);
  t.equal(os.getInheritable(r), false);
  if (process.platform === 'linux') {
    const probe = (fd: number): number | null =>
      spawnSync('/bin/sh', ['-c', `test -e /proc/$$/fd/${fd}`], { stdio: 'ignore' }).status;
    t.equal(probe(r), 1, 'a non-inheritable descriptor is closed in the child');
    os.setInheritable(r, true);
    t.equal(probe(r), 0, 'an inheritable one is passed on');
  }
  os.close(r);
  os.close(w);
});

t.test('blocking flag: round trip; a non-blocking empty read is BlockingIOError', async (t) => {
  const [r, w] = os.pipe();
  os.setBlocking(r, false);
  t.equal(os.getBlocking(r), false);
  t.equal(os.getBlocking(w), true, 'the other end keeps its own flag');
  const e = (() => {
    try {
      os.read(r, 10);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  t.ok(e instanceof BlockingIOError, 'EAGAIN is BlockingIOError');
  t.ok(e instanceof OSError);
  t.match(e, { errno: E.EAGAIN, code: 'EAGAIN', syscall: 'read', message: `[Errno ${E.EAGAIN}] ${os.strerror(E.EAGAIN!)}` });
  os.write(w, Buffer.from('now'));
  t.equal(os.read(r, 10).toString(), 'now', 'a non-blocking read returns what is there');
  os.setBlocking(r, true);
  t.equal(os.getBlocking(r), true);
  os.close(w);
  t.equal(os.read(r, 10).length, 0, 'EOF, not EAGAIN, once the writer is gone');
  os.close(r);
});

t.test('a non-blocking write to a full pipe is BlockingIOError after a short write', async (t) => {
  const [r, w] = os.pipe();
  os.setBlocking(w, false);
  const chunk = Buffer.alloc(1 << 16, 0x61);
  let total = 0;
  let short = false;
  let err: unknown;
  for (let i = 0; i < 1024; i++) {
    try {
      const n = os.write(w, chunk);
      if (n < chunk.length) short = true;
      total += n;
    } catch (e) {
      err = e;
      break;
    }
  }
  t.ok(err instanceof BlockingIOError, 'the pipe filled up');
  t.match(err, { errno: E.EAGAIN });
  t.ok(total > 0, `${total} bytes went in first`);
  t.ok(short || total % chunk.length === 0, 'writes are whole or short, never over-reported');
  let drained = 0;
  os.setBlocking(r, false);
  for (;;) {
    try {
      const b = os.read(r, 1 << 16);
      drained += b.length;
    } catch (e) {
      if (e instanceof BlockingIOError) break;
      throw e;
    }
  }
  t.equal(drained, total, 'every byte written is read back');
  os.close(r);
  os.close(w);
});

t.test('writing to a pipe with no reader is BrokenPipeError', async (t) => {
  const [r, w] = os.pipe();
  os.close(r);
  t.throws(() => os.write(w, Buffer.from('x')), {
    name: 'BrokenPipeError', errno: E.EPIPE, code: 'EPIPE', message: `[Errno ${E.EPIPE}] ${os.strerror(E.EPIPE!)}`,
  });
  t.throws(() => os.write(w, Buffer.from('x')), BrokenPipeError);
  os.close(w);
});

t.test('EBADF on closed and wrong-direction descriptors', async (t) => {
  const fd = closedFd();
  t.throws(() => os.read(fd, 1), ebadf);
  t.throws(() => os.readinto(fd, new Uint8Array(1)), ebadf);
  t.throws(() => os.write(fd, Buffer.from('x')), ebadf);
  t.throws(() => os.close(fd), ebadf, 'closing twice');
  t.throws(() => os.dup(fd), ebadf);
  t.throws(() => os.getInheritable(fd), ebadf);
  t.throws(() => os.setInheritable(fd, true), ebadf);
  t.throws(() => os.getBlocking(fd), ebadf);
  t.throws(() => os.setBlocking(fd, true), ebadf);
  const [r, w] = os.pipe();
  t.throws(() => os.read(w, 1), ebadf, 'reading the write end');
  t.throws(() => os.write(r, Buffer.from('x')), ebadf, 'writing the read end');
  os.close(r);
  os.close(w);
  for (const f of [-1, 2 ** 30]) {
    t.throws(() => os.close(f), { name: 'OSError', errno: E.EBADF }, `close(${f})`);
    t.throws(() => os.read(f, 1), { name: 'OSError', errno: E.EBADF });
    t.throws(() => os.write(f, Buffer.from('x')), { name: 'OSError', errno: E.EBADF });
    t.throws(() => os.dup(f), { name: 'OSError', errno: E.EBADF });
    t.throws(() => os.getInheritable(f), { name: 'OSError', errno: E.EBADF });
    t.throws(() => os.getBlocking(f), { name: 'OSError', errno: E.EBADF });
    t.throws(() => os.setBlocking(f, true), { name: 'OSError', errno: E.EBADF });
  }
});

t.test('bad arguments: TypeError with Python\'s messages', async (t) => {
  const [r, w] = os.pipe();
  const notInt = (ty: string) => ({ name: 'TypeError', message: `'${ty}' object cannot be interpreted as an integer` });
  t.throws(() => os.read(r, bad('x')), notInt('str'));
  t.throws(() => os.read(r, 1.5), notInt('float'));
  t.throws(() => os.read(bad('x'), 1), notInt('str'));
  t.throws(() => os.read(1.5, 1), notInt('float'));
  t.throws(() => os.read(bad(null), 1), notInt('NoneType'));
  t.throws(() => os.close(bad('x')), notInt('str'));
  t.throws(() => os.dup(bad(undefined)), notInt('NoneType'));
  t.throws(() => os.strerror(bad('x')), notInt('str'));
  for (const [v, ty] of [['str', 'str'], [null, 'NoneType'], [5, 'int']] as const) {
    t.throws(() => os.write(w, bad(v)), { name: 'TypeError', message: `a bytes-like object is required, not '${ty}'` });
  }
  t.throws(() => os.read(r, -1), { name: 'OSError', errno: E.EINVAL }, 'a negative count is EINVAL, as Python');
  os.close(r);
  os.close(w);
});

t.test('out-of-range integers: OverflowError with Python\'s messages', async (t) => {
  const [r, w] = os.pipe();
  const big = { name: 'OverflowError', message: 'Python int too large to convert to C int' };
  const ssize = { name: 'OverflowError', message: 'Python int too large to convert to C ssize_t' };
  t.throws(() => os.close(2 ** 40), big, 'close(2**40)');
  t.throws(() => os.close(-(2 ** 40)), big, 'close(-2**40)');
  t.throws(() => os.read(2 ** 31, 1), big, 'read(2**31, 1)');
  t.throws(() => os.read(-(2 ** 31) - 1, 1), big, 'read(-2**31-1, 1)');
  t.throws(() => os.read(2 ** 31 - 1, 1), { name: 'OSError', errno: E.EBADF }, 'read(2**31-1, 1) is in range: EBADF');
  t.throws(() => os.read(bad(2n ** 40n), 1), big, 'read(2n**40n, 1)');
  t.throws(() => os.write(2 ** 31, Buffer.from('x')), big, 'write(2**31, b"x")');
  t.throws(() => os.dup(2 ** 31), big, 'dup(2**31)');
  t.throws(() => os.getInheritable(2 ** 31), big, 'getInheritable(2**31)');
  t.throws(() => os.setBlocking(2 ** 31, true), big, 'setBlocking(2**31, true)');
  t.throws(() => os.read(r, bad(2n ** 70n)), ssize, 'read(fd, 2**70)');
  t.throws(() => os.read(r, bad(2n ** 63n)), ssize, 'read(fd, 2**63)');
  t.throws(() => os.read(r, bad(-(2n ** 70n))), ssize, 'read(fd, -2**70)');
  t.throws(() => os.read(r, 2 ** 70), ssize, 'read(fd, 2**70) as a number');
  t.throws(() => os.read(r, bad(-1n)), { name: 'OSError', errno: E.EINVAL }, 'read(fd, -1n) is EINVAL');
  t.throws(() => os.setBlocking(r, bad(2n ** 70n)), big, 'setBlocking(fd, 2**70)');
  t.throws(() => os.setInheritable(r, 2 ** 40 as any), big, 'setInheritable(fd, 2**40)');
  t.throws(() => os.strerror(2 ** 40), big, 'strerror(2**40)');
  t.throws(() => os.strerror(2 ** 31), big, 'strerror(2**31)');
  t.throws(() => os.strerror(-(2 ** 31) - 1), big, 'strerror(-2**31-1)');
  t.equal(os.strerror(2 ** 31 - 1), 'Unknown error 2147483647', 'strerror(INT_MAX) is in range');
  os.close(r);
  os.close(w);
});

t.test('a huge read count within ssize_t reads what is there', async (t) => {
  // CPython allocates all n bytes first (MemoryError for a huge n); iomux
  // allocates no more than one read(2) can return, so these just work.
  const [r, w] = os.pipe();
  os.write(w, Buffer.from('abc'));
  t.equal(os.read(r, 2 ** 53).toString(), 'abc', 'read(fd, 2**53)');
  os.write(w, Buffer.from('def'));
  t.equal(os.read(r, bad(2n ** 63n - 1n)).toString(), 'def', 'read(fd, 2**63-1)');
  os.write(w, Buffer.from('ghi'));
  t.equal(os.read(r, bad(7n)).toString(), 'ghi', 'a bigint count');
  os.close(r);
  os.close(w);
});

t.test('argument order: every argument is parsed before EBADF, as in Python', async (t) => {
  const notInt = (ty: string) => ({ name: 'TypeError', message: `'${ty}' object cannot be interpreted as an integer` });
  t.throws(() => os.read(-1, -1), { name: 'OSError', errno: E.EINVAL }, 'read(-1, -1) is EINVAL');
  t.throws(() => os.read(-1, bad('x')), notInt('str'), "read(-1, 'x')");
  t.throws(() => os.write(-1, bad(5)), { name: 'TypeError', message: "a bytes-like object is required, not 'int'" },
    'write(-1, 5)');
  t.throws(() => os.setBlocking(-1, bad('x')), notInt('str'), "setBlocking(-1, 'x')");
  t.throws(() => os.setInheritable(-1, bad(null)), notInt('NoneType'), 'setInheritable(-1, null)');
  t.throws(() => os.read(2 ** 31, bad('x')), { name: 'OverflowError' }, "read(2**31, 'x'): the fd comes first");
  t.throws(() => os.read(bad('x'), bad(2n ** 70n)), notInt('str'), "read('x', 2**70): the fd comes first");
});

t.test('Python type names in TypeError messages', async (t) => {
  const [r, w] = os.pipe();
  const notBytes = (ty: string) => ({ name: 'TypeError', message: `a bytes-like object is required, not '${ty}'` });
  t.throws(() => os.write(w, bad([1])), notBytes('list'), 'write(fd, [1])');
  t.throws(() => os.write(w, bad({})), notBytes('dict'), 'write(fd, {})');
  t.throws(() => os.write(w, bad(Object.create(null))), notBytes('dict'), 'a null-prototype object is a dict');
  t.throws(() => os.write(w, bad(new Map())), notBytes('dict'), 'a Map is a dict');
  t.throws(() => os.write(w, bad(new Set())), notBytes('set'), 'a Set is a set');
  t.throws(() => os.write(w, bad(undefined)), notBytes('NoneType'), 'undefined is None');
  t.throws(() => os.write(w, bad(true)), notBytes('bool'));
  t.throws(() => os.write(w, bad(1.5)), notBytes('float'));
  t.throws(() => os.write(w, bad(5n)), notBytes('int'));
  t.throws(() => os.write(w, bad(new Date(0))), notBytes('Date'), 'a class instance is named by its class');
  t.throws(() => os.read(r, bad([])), { name: 'TypeError', message: "'list' object cannot be interpreted as an integer" });
  os.close(r);
  os.close(w);
});

t.test('setBlocking/setInheritable take a bool or an int, as Python', async (t) => {
  const [r, w] = os.pipe();
  const notInt = (ty: string) => ({ name: 'TypeError', message: `'${ty}' object cannot be interpreted as an integer` });
  t.throws(() => os.setBlocking(r, bad('x')), notInt('str'), "setBlocking(fd, 'x')");
  t.throws(() => os.setBlocking(r, bad(null)), notInt('NoneType'), 'setBlocking(fd, null)');
  t.throws(() => os.setBlocking(r, bad(undefined)), notInt('NoneType'), 'setBlocking(fd) (missing)');
  t.throws(() => os.setBlocking(r, bad(1.5)), notInt('float'), 'setBlocking(fd, 1.5)');
  t.throws(() => os.setBlocking(r, bad([])), notInt('list'), 'setBlocking(fd, [])');
  t.throws(() => os.setInheritable(r, bad(null)), notInt('NoneType'), 'setInheritable(fd, null)');
  t.throws(() => os.setInheritable(r, bad('x')), notInt('str'), "setInheritable(fd, 'x')");
  t.throws(() => os.setInheritable(r, bad(1.5)), notInt('float'), 'setInheritable(fd, 1.5)');
  t.equal(os.getBlocking(r), true, 'a rejected flag changes nothing');
  t.equal(os.getInheritable(r), false, 'a rejected flag changes nothing');
  os.setBlocking(r, bad(0));
  t.equal(os.getBlocking(r), false, 'setBlocking(fd, 0) clears');
  os.setBlocking(r, bad(5));
  t.equal(os.getBlocking(r), true, 'setBlocking(fd, 5): non-zero is true');
  os.setInheritable(r, bad(2n));
  t.equal(os.getInheritable(r), true, 'setInheritable(fd, 2n): a bigint is an int');
  os.setInheritable(r, bad(0));
  t.equal(os.getInheritable(r), false);
  os.close(r);
  os.close(w);
});

t.test('strerror', async (t) => {
  t.equal(os.strerror(E.EBADF!), 'Bad file descriptor', "the C library's text, as Python");
  t.equal(os.strerror(E.EAGAIN!), 'Resource temporarily unavailable');
  t.equal(os.strerror(E.ENOENT!), 'No such file or directory');
  t.match(os.strerror(99999), /99999/, 'an unknown code names the number');
  t.type(os.strerror(-1), 'string');
  t.throws(() => os.strerror(1.5), { name: 'TypeError' });
});

t.test('address_mod_4096: where a view starts in its 4 KiB block', async (t) => {
  // 256 KiB is an mmap'd chunk: page-aligned storage, so the offsets are exact.
  const big = Buffer.allocUnsafeSlow(256 * 1024);
  const base = binding.address_mod_4096(big);
  t.ok(Number.isInteger(base) && base >= 0 && base < 4096);
  for (const off of [1, 16, 2048, 4095, 4096, 5000]) {
    t.equal(binding.address_mod_4096(big.subarray(off)), (base + off) % 4096, `subarray(${off})`);
  }
  const u32 = new Uint32Array(big.buffer, big.byteOffset + 8, 4);
  t.equal(binding.address_mod_4096(u32), (base + 8) % 4096, 'any TypedArray');
  for (const v of [5, 'x', null, undefined, {}, [1, 2]]) {
    t.throws(() => binding.address_mod_4096(bad(v)), { name: 'TypeError', message: 'view must be a Buffer or TypedArray' });
  }
  t.throws(() => bad(binding.address_mod_4096)(), { name: 'TypeError' });
});
