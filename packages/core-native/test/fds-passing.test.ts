// Descriptor passing over AF_UNIX sockets (dgram.ts sendFds/recvFds over
// native/dgram-fds.cc's sendmsg/recvmsg with SCM_RIGHTS), on real socketpairs.
// Ports CPython 3.11 Lib/test/test_socket.py's SendRecvFdsTests and the
// SCM_RIGHTS truncation cases of RecvmsgSCMRightsStreamTest; no descriptor
// may leak, counted through /proc/self/fd.
import t from 'tap';
import * as fs from 'node:fs';
import {
  binding, os, socket, socketpair, errnoConstants as E, OSError, ValueError, OverflowError, BlockingIOError,
} from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';
import { caught } from '../../../test/support/caught.js';

checkNoFdLeak(t);

const { sendFds, recvFds, MSG_CTRUNC } = socket;
const { AF_UNIX, SOCK_STREAM, SOCK_DGRAM, MSG_TRUNC } = socket;
const bad = (x: unknown): any => x;
const msg = (errno: number): string => `[Errno ${errno}] ${os.strerror(errno)}`;

/** dev:ino of what a descriptor refers to. */
const ident = (fd: number): string => {
  const st = fs.fstatSync(fd);
  return `${st.dev}:${st.ino}`;
};

/** `n` pipes' descriptors (2 per pipe), closed at teardown. */
function pipes(t: { teardown(fn: () => void): void }, n: number): number[] {
  const fds: number[] = [];
  for (let i = 0; i < n; i++) fds.push(...os.pipe());
  t.teardown(() => fds.forEach((fd) => os.close(fd)));
  return fds;
}

for (const [count, type] of [[0, SOCK_STREAM], [1, SOCK_STREAM], [64, SOCK_STREAM], [1, SOCK_DGRAM], [64, SOCK_DGRAM]] as const) {
  t.test(`testSendAndRecvFds: ${count} descriptors (${type === SOCK_STREAM ? 'SOCK_STREAM' : 'SOCK_DGRAM'})`, (t) => {
    const [a, b] = socketpair(AF_UNIX, type);
    t.teardown(() => (a.close(), b.close()));
    const fds = pipes(t, Math.ceil(count / 2)).slice(0, count);
    const before = fdCount();
    t.equal(sendFds(a, [Buffer.from('data'), Buffer.from('!')], fds), 5);
    const [data, got, flags, addr] = recvFds(b, 100, 100);
    t.equal(data.toString(), 'data!');
    t.equal(flags, 0, 'no MSG_CTRUNC');
    t.equal(addr, null, 'a socketpair has no address');
    t.equal(got.length, fds.length);
    t.equal(fdCount(), before + fds.length, 'one new descriptor per one sent');
    t.same(got.map(ident), fds.map(ident), 'each refers to the file sent, in order');
    for (const fd of got) {
      t.notOk(fds.includes(fd), 'a new number');
      t.equal(os.getInheritable(fd), false, 'non-inheritable (MSG_CMSG_CLOEXEC)');
    }
    // The received write end works: write into it, read from the original read end.
    if (count >= 2) {
      os.write(got[1]!, Buffer.from('through'));
      t.equal(os.read(fds[0]!, 100).toString(), 'through');
    }
    got.forEach((fd) => os.close(fd));
    t.equal(fdCount(), before);
    t.end();
  });
}

t.test('a control buffer too small: MSG_CTRUNC, the rest closed by the kernel, no leak', (t) => {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  t.teardown(() => (a.close(), b.close()));
  const fds = pipes(t, 2); // 4 descriptors
  const before = fdCount();
  sendFds(a, [Buffer.from('x')], fds);
  const [data, got, flags] = recvFds(b, 10, 1);
  t.equal(data.toString(), 'x');
  t.equal(got.length, 1, 'as many as asked for');
  t.equal(ident(got[0]!), ident(fds[0]!));
  t.equal(flags & MSG_CTRUNC!, MSG_CTRUNC, 'MSG_CTRUNC');
  t.equal(fdCount(), before + 1, 'the 3 that did not fit are not open here');
  os.close(got[0]!);

  sendFds(a, [Buffer.from('y')], fds);
  const [, none, flags0] = recvFds(b, 10, 0);
  t.same(none, [], 'maxfds 0 takes none');
  t.equal(flags0 & MSG_CTRUNC!, MSG_CTRUNC);
  t.equal(fdCount(), before, 'nothing leaked');
  t.end();
});

t.test('a datagram longer than bufsize: MSG_TRUNC, descriptors still delivered', (t) => {
  const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
  t.teardown(() => (a.close(), b.close()));
  const fds = pipes(t, 1);
  sendFds(a, [Buffer.from('abcdef')], fds);
  const [data, got, flags] = recvFds(b, 2, 4);
  t.equal(data.toString(), 'ab');
  t.equal(flags & MSG_TRUNC!, MSG_TRUNC);
  t.equal(got.length, 2);
  got.forEach((fd) => os.close(fd));
  t.end();
});

t.test('non-blocking, and the sent descriptors stay open', (t) => {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  t.teardown(() => (a.close(), b.close()));
  b.setblocking(false);
  t.throws(() => recvFds(b, 10, 1), BlockingIOError);
  const fds = pipes(t, 1);
  sendFds(a, [Buffer.from('z')], fds.slice(0, 1));
  t.ok(fs.existsSync(`/proc/self/fd/${fds[0]}`), 'sending does not close it');
  const [, got] = recvFds(b, 10, 1);
  os.close(got[0]!);
  t.end();
});

t.test('hostile inputs, with CPython 3.11 error classes and messages', (t) => {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  t.teardown(() => (a.close(), b.close()));
  // Past any descriptor this process holds (RLIMIT_NOFILE is far lower).
  const closedFd = 1 << 24;
  const many = pipes(t, 150); // 300 descriptors, past SCM_MAX_FD
  const before = fdCount();
  const cases: Array<[string, () => unknown, Function, string]> = [
    ["a str descriptor", () => sendFds(a, [Buffer.from('a')], bad(['x'])), TypeError, "'str' object cannot be interpreted as an integer"],
    ['a descriptor past INT_MAX', () => sendFds(a, [Buffer.from('a')], [2 ** 31]), OverflowError, 'signed integer is greater than maximum'],
    ['descriptor -1', () => sendFds(a, [Buffer.from('a')], [-1]), OSError, msg(E.EBADF!)],
    ['a closed descriptor', () => sendFds(a, [Buffer.from('a')], [closedFd]), OSError, msg(E.EBADF!)],
    ['buffers as one bytes object', () => sendFds(a, bad(Buffer.from('a')), [0]), TypeError, "a bytes-like object is required, not 'int'"],
    ['buffers of strs', () => sendFds(a, bad(['a']), [0]), TypeError, "a bytes-like object is required, not 'str'"],
    ['buffers not iterable', () => sendFds(a, bad(5), [0]), TypeError, 'sendmsg() argument 1 must be an iterable'],
    ['300 descriptors', () => sendFds(a, [Buffer.from('a')], many), OSError, msg(E.EINVAL!)],
    ['recv_fds bufsize -1', () => recvFds(b, -1, 1), ValueError, 'negative buffer size in recvmsg()'],
    ['recv_fds maxfds -1', () => recvFds(b, 10, -1), OverflowError, 'CMSG_LEN() argument out of range'],
    ['recv_fds maxfds 2**40', () => recvFds(b, 10, 2 ** 40), OverflowError, 'CMSG_LEN() argument out of range'],
  ];
  for (const [name, fn, cls, text] of cases) {
    const e = caught(t, fn);
    t.ok(e instanceof cls, `${name}: ${cls.name}`);
    t.equal(e?.message, text, name);
  }
  const raw = binding as unknown as Record<string, (...x: unknown[]) => unknown>;
  const buf = Buffer.alloc(4);
  const natives: Array<[string, () => unknown, string]> = [
    ['fds not an Int32Array', () => raw.sendmsg_fds!(a.fileno(), [buf], [1, 2], 0, 0, '', 0), 'TypeError'],
    ['buffers not an array', () => raw.sendmsg_fds!(a.fileno(), buf, new Int32Array(0), 0, 0, '', 0), 'TypeError'],
    ['a non-view in buffers', () => raw.sendmsg_fds!(a.fileno(), [1], new Int32Array(0), 0, 0, '', 0), 'TypeError'],
    ['2000 buffers (past IOV_MAX)', () => raw.sendmsg_fds!(a.fileno(), new Array(2000).fill(buf), new Int32Array(0), 0, 0, '', 0), 'OSError'],
    ['100000 descriptors', () => raw.sendmsg_fds!(a.fileno(), [buf], new Int32Array(100000), 0, 0, '', 0), 'OSError'],
    ['maxfds past the bound', () => raw.recvmsg_fds!(b.fileno(), buf, 0, 4, 1e9, 0), 'OverflowError'],
    ['maxfds negative', () => raw.recvmsg_fds!(b.fileno(), buf, 0, 4, -1, 0), 'OverflowError'],
    ['a window past the end', () => raw.recvmsg_fds!(b.fileno(), buf, 2, 4, 1, 0), 'ValueError'],
  ];
  for (const [name, fn, kind] of natives) {
    const e = caught(t, fn);
    const got = e?.errno !== undefined ? 'OSError' : (e?.pyType ?? e?.constructor?.name);
    t.equal(got, kind, name);
  }
  t.equal(fdCount(), before, 'no descriptor appeared');
  t.end();
});

t.test('hostile sizes and receivers: what the kernel would refuse, refused before a huge copy', async (t) => {
  const [a, b] = socketpair(socket.AF_UNIX, socket.SOCK_STREAM);
  t.teardown(() => {
    a.close();
    b.close();
  });
  const [r, w] = os.pipe();
  t.teardown(() => {
    os.close(r);
    os.close(w);
  });
  const before = fdCount();
  t.throws(() => socket.sendFds(a, [Buffer.from('x')], new Array(2 ** 32 - 1)), { name: 'OSError', errno: E.EINVAL }, 'an array of 2**32-1 descriptors: EINVAL, as sendmsg(2) gives past SCM_MAX_FD');
  t.throws(() => socket.sendFds(a, [Buffer.from('x')], new Array(300).fill(r)), { name: 'OSError', errno: E.EINVAL }, '300 descriptors: the kernel refuses, as CPython shows');
  t.throws(() => socket.sendFds(a, new Array(2000).fill(Buffer.from('x')), [r]), { name: 'OSError', errno: E.EMSGSIZE }, '2,000 buffers: EMSGSIZE, as CPython shows');
  t.throws(() => socket.sendFds(null as never, [Buffer.from('x')], [r]), { name: 'TypeError', message: "'NoneType' object has no attribute 'sendmsg'" });
  t.throws(() => socket.recvFds(5 as never, 10, 1), { name: 'TypeError', message: "'int' object has no attribute 'recvmsg'" });
  t.equal(fdCount(), before, 'no descriptor leaked');
});
