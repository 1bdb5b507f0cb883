// os.sendfile and os.lseek (src/os-sendfile.ts over native/sendfile.cc) on
// real files, pipes and socketpairs: CPython 3.11 test_os.py
// TestSendfile's cases that need no server thread, and every hostile
// argument with CPython's class and message (checked with python3), then
// the same values straight to the binding, which must refuse them itself.
import t from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { binding, os, errnoConstants as E, socketpair, BlockingIOError, OverflowError } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const bad = (x: unknown): any => x;
const DATA = randomBytes(100_000);

/** A temporary file holding DATA, open for reading; closed and removed at teardown. */
function dataFile(t: { teardown(fn: () => void): void }): number {
  const dir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-sendfile-'));
  const file = path.join(dir, 'data');
  fs.writeFileSync(file, DATA);
  const fd = fs.openSync(file, 'r');
  t.teardown(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return fd;
}

/** Everything the socket holds now. */
function recvAll(s: ReturnType<typeof socketpair>[0]): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    try {
      const d = s.recv(1 << 20);
      if (d.length === 0) break;
      parts.push(d);
    } catch (e) {
      if (e instanceof BlockingIOError) break;
      throw e;
    }
  }
  return Buffer.concat(parts);
}

t.test('test_send_whole_file test_send_at_certain_offset test_offset_overflow', async (t) => {
  const f = dataFile(t);
  const [a, b] = socketpair();
  t.teardown(() => (a.close(), b.close()));
  b.setblocking(false);
  let sent = 0;
  while (sent < 5000) sent += os.sendfile(a.fileno(), f, sent, 5000 - sent);
  t.ok(recvAll(b).equals(DATA.subarray(0, 5000)), 'the first 5000 bytes');
  t.equal(os.lseek(f, 0, os.SEEK_CUR), 0, 'a number offset leaves the position');
  t.equal(os.sendfile(a.fileno(), f, 1000, 10), 10);
  t.ok(recvAll(b).equals(DATA.subarray(1000, 1010)), 'from an offset');
  t.equal(os.sendfile(a.fileno(), f, DATA.length, 100), 0, '0 at end of file');
  t.equal(os.sendfile(a.fileno(), f, DATA.length + 4096, 100), 0, 'past the end too');
  t.equal(os.sendfile(a.fileno(), f, 0, 0), 0, 'count 0');
});

t.test('a null offset reads from the position and advances it', async (t) => {
  const f = dataFile(t);
  const [r, w] = os.pipe();
  t.teardown(() => (os.close(r), os.close(w)));
  t.equal(os.lseek(f, 7, os.SEEK_SET), 7);
  t.equal(os.sendfile(w, f, null, 100), 100, 'to a pipe (Linux 2.6.33+)');
  t.ok(os.read(r, 200).equals(DATA.subarray(7, 107)));
  t.equal(os.lseek(f, 0, os.SEEK_CUR), 107);
  t.equal(os.lseek(f, -10, os.SEEK_END), DATA.length - 10);
  t.equal(os.lseek(f, 5n, os.SEEK_SET), 5, 'a bigint position');
});

t.test('a full non-blocking socket: BlockingIOError', async (t) => {
  const f = dataFile(t);
  const [a, b] = socketpair();
  t.teardown(() => (a.close(), b.close()));
  a.setblocking(false);
  t.throws(() => {
    for (let i = 0; i < 10_000; i++) os.sendfile(a.fileno(), f, 0, DATA.length);
  }, { name: 'BlockingIOError', errno: E.EAGAIN });
});

t.test('hostile arguments, each with CPython\'s class and message', async (t) => {
  const f = dataFile(t);
  const [r, w] = os.pipe();
  t.teardown(() => (os.close(r), os.close(w)));
  const einval = { name: 'OSError', errno: E.EINVAL, message: '[Errno 22] Invalid argument' };
  const ebadf = { name: 'OSError', errno: E.EBADF, message: '[Errno 9] Bad file descriptor' };
  t.throws(() => os.sendfile(w, f, -1, 10), einval, 'a negative offset');
  t.throws(() => os.sendfile(w, f, 0, -1), einval, 'a negative count');
  t.throws(() => os.sendfile(w, f, 2n ** 63n - 1n, 1), einval, 'offset + count past off_t');
  t.throws(() => os.sendfile(w, f, 2n ** 63n - 2n, 1), { name: 'OSError', message: /^\[Errno \d+\] Value too large for defined data type$/ }, 'past any file: the kernel\'s EOVERFLOW');
  t.throws(() => os.sendfile(w, f, 2n ** 63n, 1), new OverflowError('Python int too large to convert to C long'));
  t.throws(() => os.sendfile(w, f, 2 ** 64, 1), new OverflowError('Python int too large to convert to C long'));
  t.throws(() => os.sendfile(w, f, 0, 2n ** 63n), new OverflowError('Python int too large to convert to C ssize_t'));
  t.throws(() => os.sendfile(2 ** 31, f, 0, 1), new OverflowError('Python int too large to convert to C int'));
  t.throws(() => os.sendfile(w, bad(-(2 ** 31) - 1), 0, 1), OverflowError);
  t.throws(() => os.sendfile(-1, f, 0, 1), ebadf);
  t.throws(() => os.sendfile(w, -1, 0, 1), ebadf);
  // A number no descriptor has (a just-closed one may be reused at once).
  t.throws(() => os.sendfile(w, 2 ** 30, 0, 1), ebadf, 'a descriptor not open');
  t.throws(() => os.sendfile(2 ** 30, f, 0, 1), ebadf);
  t.throws(() => os.sendfile(f, w, 0, 1), ebadf, 'a read-only file as out_fd');
  t.throws(() => os.sendfile(w, r, 0, 1), { name: 'OSError', errno: E.ESPIPE }, 'a pipe as in_fd, with an offset');
  t.throws(() => os.sendfile(w, f, 1.5, 3), new TypeError('\'float\' object cannot be interpreted as an integer'));
  t.throws(() => os.sendfile(w, f, bad('0'), 1), new TypeError('\'str\' object cannot be interpreted as an integer'));
  t.throws(() => os.sendfile(w, f, 0, bad(null)), TypeError);
  t.throws(() => os.sendfile(bad('1'), f, 0, 1), TypeError);
  t.throws(() => os.lseek(r, 0, os.SEEK_SET), { errno: E.ESPIPE, message: '[Errno 29] Illegal seek' });
  t.throws(() => os.lseek(f, -1, os.SEEK_SET), einval);
  t.throws(() => os.lseek(f, 0, 99), einval);
  t.throws(() => os.lseek(-1, 0, 0), ebadf);
  t.throws(() => os.lseek(f, 2n ** 63n, 0), OverflowError);
  t.throws(() => os.lseek(f, bad(0.5), 0), TypeError);
});

t.test('the binding checks every argument itself', async (t) => {
  const f = dataFile(t);
  const [r, w] = os.pipe();
  t.teardown(() => (os.close(r), os.close(w)));
  const native = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  const sf = native.sendfile!;
  t.throws(() => sf(w, f, 0, 2 ** 64), { message: /./, pyType: 'OverflowError' });
  t.throws(() => sf(w, f, 2 ** 63, 1), { message: /./, pyType: 'OverflowError' });
  t.throws(() => sf(w, f, NaN, 1), TypeError);
  t.throws(() => sf(w, f, undefined, 1), TypeError);
  t.throws(() => sf(w, f, 0), TypeError, 'count missing');
  t.throws(() => sf(w, f, 0, 0.5), TypeError);
  t.throws(() => sf(-1, f, 0, 1), { message: /./, pyType: 'ValueError' });
  t.throws(() => sf(w, 2 ** 31, 0, 1), { message: /./, pyType: 'OverflowError' });
  t.throws(() => sf(w, f, -1, 1), { message: /./, errno: E.EINVAL, syscall: 'sendfile' });
  t.throws(() => sf(w, f, 0, -1), { message: /./, errno: E.EINVAL, syscall: 'sendfile' });
  t.throws(() => sf(w, f, 2 ** 62, 2 ** 62), { message: /./, errno: E.EINVAL, syscall: 'sendfile' }, 'offset + count past off_t');
  t.throws(() => native.lseek!(f, 0, 2 ** 40), { message: /./, pyType: 'OverflowError' });
  t.throws(() => native.lseek!(f, 'x', 0), TypeError);
  t.equal(sf(w, f, 0, 3), 3);
  t.ok(os.read(r, 3).equals(DATA.subarray(0, 3)));
});
