// Datagrams (src/socket/dgram.ts over native/dgram.cc) on real UDP sockets
// on 127.0.0.1 and ::1 and AF_UNIX datagram sockets. Ports CPython 3.11
// Lib/test/test_socket.py's BasicUDPTest, UDPTimeoutTest and the
// recvfrom/recvfrom_into cases; messages are CPython's (checked with python3).
import t from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import {
  binding, os, socket, Socket, socketpair, errnoConstants as E, OSError, ValueError, OverflowError,
  BlockingIOError, TimeoutError, gaierror,
} from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { caught } from '../../../test/support/caught.js';

checkNoFdLeak(t);

// Socket's methods, as module-style calls (they delegate to src/socket/dgram.ts).
const sendto = (s: Socket, ...a: unknown[]): number => (s.sendto as (...x: unknown[]) => number).apply(s, a);
const recvfrom = (s: Socket, ...a: Parameters<Socket['recvfrom']>): ReturnType<Socket['recvfrom']> => s.recvfrom(...a);
const recvfromInto = (s: Socket, ...a: Parameters<Socket['recvfromInto']>): ReturnType<Socket['recvfromInto']> => s.recvfromInto(...a);
const { AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, MSG_PEEK } = socket;
const bad = (x: unknown): any => x;
const msg = (errno: number): string => `[Errno ${errno}] ${os.strerror(errno)}`;

function udp(family = AF_INET, host = '127.0.0.1'): Socket {
  const s = new Socket(family, SOCK_DGRAM);
  s.bind([host, 0]);
  return s;
}

function hasIpv6Loopback(): boolean {
  try {
    udp(AF_INET6, '::1').close();
    return true;
  } catch {
    return false;
  }
}

t.test('testSendtoAndRecv (BasicUDPTest, IPv4)', (t) => {
  using serv = udp();
  using cli = udp();
  t.equal(sendto(cli, Buffer.from('Michael Gilfix was here\n'), serv.getsockname() as [string, number]), 24);
  const [data, addr] = recvfrom(serv, 1024);
  t.equal(data.toString(), 'Michael Gilfix was here\n');
  t.same(addr, cli.getsockname(), "the sender's address");
  t.end();
});

t.test('testRecvFrom with flags and the 3-argument sendto', (t) => {
  using serv = udp();
  using cli = udp();
  sendto(cli, Buffer.from('peek me'), 0, serv.getsockname() as [string, number]);
  const [peeked] = recvfrom(serv, 1024, MSG_PEEK);
  t.equal(peeked.toString(), 'peek me', 'MSG_PEEK leaves it queued');
  const [data] = recvfrom(serv, 1024);
  t.equal(data.toString(), 'peek me');
  t.end();
});

t.test('a datagram larger than bufsize is cut, the rest discarded', (t) => {
  using serv = udp();
  using cli = udp();
  const to = serv.getsockname() as [string, number];
  sendto(cli, Buffer.from('hello'), to);
  sendto(cli, Buffer.from('world'), to);
  t.equal(recvfrom(serv, 2)[0].toString(), 'he');
  t.equal(recvfrom(serv, 100)[0].toString(), 'world', 'the next read is the next datagram');
  t.end();
});

t.test('zero-length datagrams', (t) => {
  using serv = udp();
  using cli = udp();
  t.equal(sendto(cli, Buffer.alloc(0), serv.getsockname() as [string, number]), 0);
  const [data, addr] = recvfrom(serv, 10);
  t.equal(data.length, 0);
  t.same(addr, cli.getsockname());
  t.end();
});

t.test('testRecvFromInto: nbytes and the whole buffer', (t) => {
  using serv = udp();
  using cli = udp();
  const to = serv.getsockname() as [string, number];
  sendto(cli, Buffer.from('Michael'), to);
  const buf = Buffer.alloc(10);
  const [n, addr] = recvfromInto(serv, buf, 3);
  t.equal(n, 3);
  t.equal(buf.toString('latin1'), 'Mic\0\0\0\0\0\0\0');
  t.same(addr, cli.getsockname());
  sendto(cli, Buffer.from('abcdef'), to);
  const u16 = new Uint16Array(2);
  t.equal(recvfromInto(serv, u16)[0], 4, 'a typed array takes its byteLength');
  t.end();
});

t.test('IPv6 on ::1', { skip: hasIpv6Loopback() ? false : 'IPv6 loopback (::1) not available' }, (t) => {
  using serv = udp(AF_INET6, '::1');
  using cli = udp(AF_INET6, '::1');
  sendto(cli, Buffer.from('six'), serv.getsockname() as [string, number]);
  const [data, addr] = recvfrom(serv, 100);
  t.equal(data.toString(), 'six');
  t.same(addr, cli.getsockname());
  t.equal((addr as unknown[]).length, 4, '(host, port, flowinfo, scope_id)');
  t.end();
});

t.test('AF_UNIX datagrams: an unnamed peer is null, a bound one its path', (t) => {
  const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
  using _a = a;
  using _b = b;
  t.equal(a.send(Buffer.from('q')), 1);
  t.same(recvfrom(b, 10), [Buffer.from('q'), null], "Python's (b'q', None)");
  const dir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-dgram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  using s1 = new Socket(AF_UNIX, SOCK_DGRAM);
  using s2 = new Socket(AF_UNIX, SOCK_DGRAM);
  s1.bind(path.join(dir, 's1'));
  s2.bind(path.join(dir, 's2'));
  sendto(s1, Buffer.from('to s2'), path.join(dir, 's2'));
  t.same(recvfrom(s2, 10), [Buffer.from('to s2'), path.join(dir, 's1')]);
  t.end();
});

t.test('non-blocking and timeouts (UDPTimeoutTest)', (t) => {
  using s = udp();
  s.setblocking(false);
  t.throws(() => recvfrom(s, 10), BlockingIOError);
  t.throws(() => recvfromInto(s, Buffer.alloc(0)), BlockingIOError, 'a zero-length read still makes the syscall');
  s.settimeout(0.05);
  const start = performance.now();
  const e = caught(t, () => recvfrom(s, 1024));
  t.ok(e instanceof TimeoutError);
  t.equal(e.message, 'timed out');
  t.ok(performance.now() - start >= 45, 'waited for the timeout');
  t.end();
});

t.test('hostile inputs, with CPython 3.11 error classes and messages', (t) => {
  using s = udp();
  const to = s.getsockname() as [string, number];
  const cases: Array<[string, () => unknown, Function, string]> = [
    ['sendto with no address', () => bad(sendto)(s, Buffer.from('x')), TypeError, 'sendto() takes 2 or 3 arguments (1 given)'],
    ['sendto with 4 arguments', () => bad(sendto)(s, Buffer.from('x'), 1, 2, 3), TypeError, 'sendto() takes 2 or 3 arguments (4 given)'],
    ['str data', () => sendto(s, bad('x'), to), TypeError, "a bytes-like object is required, not 'str'"],
    ['str address', () => sendto(s, Buffer.from('x'), bad('127.0.0.1')), TypeError, 'sendto(): AF_INET address must be tuple, not str'],
    ['port 70000', () => sendto(s, Buffer.from('x'), ['127.0.0.1', 70000]), OverflowError, 'sendto(): port must be 0-65535.'],
    ['a 1-tuple', () => sendto(s, Buffer.from('x'), bad(['127.0.0.1'])), TypeError, 'AF_INET address must be a pair (host, port)'],
    ['str flags', () => bad(sendto)(s, Buffer.from('x'), 'x', to), TypeError, "'str' object cannot be interpreted as an integer"],
    ['an IPv6 host on AF_INET', () => sendto(s, Buffer.from('x'), ['::1', 1]), gaierror, '[Errno -9] Address family for hostname not supported'],
    ['None host', () => sendto(s, Buffer.from('x'), bad([null, 1])), TypeError, 'str, bytes or bytearray expected, not NoneType'],
    ['a 70000-byte datagram', () => sendto(s, Buffer.alloc(70000), to), OSError, msg(E.EMSGSIZE!)],
    ['recvfrom(-1)', () => recvfrom(s, -1), ValueError, 'negative buffersize in recvfrom'],
    ["recvfrom('a')", () => recvfrom(s, bad('a')), TypeError, "'str' object cannot be interpreted as an integer"],
    ['recvfrom_into nbytes -1', () => recvfromInto(s, Buffer.alloc(4), -1), ValueError, 'negative buffersize in recvfrom_into'],
    ['recvfrom_into nbytes too big', () => recvfromInto(s, Buffer.alloc(4), 5), ValueError, 'nbytes is greater than the length of the buffer'],
    ['recvfrom_into a str', () => recvfromInto(s, bad('abcd')), TypeError, 'recvfrom_into() argument 1 must be read-write bytes-like object, not str'],
  ];
  for (const [name, fn, cls, text] of cases) {
    const e = caught(t, fn);
    t.ok(e instanceof cls, `${name}: ${cls.name}`);
    t.equal(e?.message, text, name);
  }
  const closed = udp();
  closed.close();
  t.equal(caught(t, () => sendto(closed, Buffer.from('x'), to)).errno, E.EBADF, 'sendto on a closed socket: EBADF');
  t.equal(caught(t, () => recvfrom(closed, 1)).errno, E.EBADF, 'recvfrom on a closed socket: EBADF');
  t.end();
});

t.test('the addon checks every argument itself', (t) => {
  const b = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
  using s = udp();
  const fd = s.fileno();
  const buf = Buffer.alloc(8);
  const raw: Array<[string, () => unknown, string]> = [
    ['negative fd', () => b.sendto!(-1, buf, 0, 8, 0, AF_INET, '127.0.0.1', 1), 'ValueError'],
    ['fd past INT_MAX', () => b.recvfrom!(2 ** 31, buf, 0, 8, 0), 'OverflowError'],
    ['window past the end', () => b.recvfrom!(fd, buf, 4, 8, 0), 'ValueError'],
    ['offset past the end', () => b.sendto!(fd, buf, 9, 0, 0, AF_INET, '127.0.0.1', 1), 'ValueError'],
    ['a string buffer', () => b.recvfrom!(fd, 'abc', 0, 3, 0), 'TypeError'],
    ['port 65536', () => b.sendto!(fd, buf, 0, 1, 0, AF_INET, '127.0.0.1', 65536), 'OverflowError'],
    ['a host name', () => b.sendto!(fd, buf, 0, 1, 0, AF_INET, 'localhost', 1), 'ValueError'],
    ['an embedded NUL', () => b.sendto!(fd, buf, 0, 1, 0, AF_INET, '127.0.0.1\0x', 1), 'ValueError'],
    ['an AF_UNIX path of 200 bytes', () => b.sendto!(fd, buf, 0, 1, 0, AF_UNIX, 'x'.repeat(200), 0), 'ValueError'],
    ['an unknown family', () => b.sendto!(fd, buf, 0, 1, 0, 12345, 'x', 0), 'OSError'],
    ['flags past INT_MAX', () => b.recvfrom!(fd, buf, 0, 1, 2 ** 40), 'OverflowError'],
    ['NaN length', () => b.recvfrom!(fd, buf, 0, NaN, 0), 'TypeError'],
  ];
  for (const [name, fn, kind] of raw) {
    const e = caught(t, fn);
    const got = e?.errno !== undefined ? 'OSError' : (e?.pyType ?? e?.constructor?.name);
    t.equal(got, kind, name);
  }
  t.end();
});

// recvmmsg: several datagrams in one call (binding.recvmmsg; socket.recvmmsg once exported).
type RawBatch = Array<number | string>;
const rawRecvmmsg = (binding as unknown as Record<string, (...a: unknown[]) => RawBatch>).recvmmsg!;

t.test('recvmmsg: waiting datagrams in order, each in its slot, with its sender', (t) => {
  using r = udp();
  using a = udp();
  using b = udp();
  const to = r.getsockname() as [string, number];
  sendto(a, Buffer.from('one'), to);
  sendto(b, Buffer.from('second'), to);
  sendto(a, Buffer.alloc(0), to);
  sendto(b, Buffer.from('x'.repeat(40)), to);
  const buf = Buffer.alloc(4 * 16, 0xee);
  const out = rawRecvmmsg(r.fileno(), buf, 0, buf.length, 16, 32, 0);
  t.equal(out[0], 4, 'all four in one call (the buffer has four slots)');
  t.same(out.slice(1), [
    3, AF_INET, '127.0.0.1', (a.getsockname() as [string, number])[1],
    6, AF_INET, '127.0.0.1', (b.getsockname() as [string, number])[1],
    0, AF_INET, '127.0.0.1', (a.getsockname() as [string, number])[1],
    16, AF_INET, '127.0.0.1', (b.getsockname() as [string, number])[1],
  ]);
  t.equal(buf.subarray(0, 3).toString(), 'one');
  t.equal(buf.subarray(16, 22).toString(), 'second');
  t.equal(buf.subarray(48, 64).toString(), 'x'.repeat(16), 'cut at the slot; the rest discarded');
  const e = caught(t, () => rawRecvmmsg(r.fileno(), buf, 0, buf.length, 16, 32, 0));
  t.equal(e?.errno, E.EAGAIN, 'empty: EAGAIN, even on a blocking socket');
  t.end();
});

t.test('recvmmsg: maxmsgs bounds a call; the rest waits for the next', (t) => {
  using r = udp();
  using a = udp();
  const to = r.getsockname() as [string, number];
  for (let i = 0; i < 5; i++) sendto(a, Buffer.from([i]), to);
  const buf = Buffer.alloc(64 * 8);
  const first = rawRecvmmsg(r.fileno(), buf, 0, buf.length, 64, 2, 0);
  t.equal(first[0], 2);
  t.same([buf[0], buf[64]], [0, 1]);
  const rest = rawRecvmmsg(r.fileno(), buf, 0, buf.length, 64, 32, 0);
  t.equal(rest[0], 3);
  t.same([buf[0], buf[64], buf[128]], [2, 3, 4]);
  t.end();
});

t.test('recvmmsg: AF_UNIX datagrams, an unnamed sender is AF_UNSPEC', (t) => {
  const [x, y] = socketpair(AF_UNIX, SOCK_DGRAM);
  using _x = x!;
  using _y = y!;
  x!.send(Buffer.from('ab'));
  x!.send(Buffer.from('cde'));
  const buf = Buffer.alloc(8);
  const out = rawRecvmmsg(y!.fileno(), buf, 0, 8, 4, 8, 0);
  t.equal(out[0], 2);
  t.equal(out[1], 2);
  t.equal(out[2], 0, 'unnamed sender: AF_UNSPEC');
  t.equal(out[5], 3);
  t.equal(buf.subarray(0, 2).toString() + buf.subarray(4, 7).toString(), 'abcde');
  t.end();
});

t.test('socket.recvmmsg (the documented batch API)', (t) => {
  const recvmmsg = socket.recvmmsg;
  using r = udp();
  using a = udp();
  sendto(a, Buffer.from('hi'), r.getsockname());
  sendto(a, Buffer.from('there'), r.getsockname());
  const buf = Buffer.alloc(1024);
  const got = recvmmsg(r, buf, 512);
  t.equal(got.count, 2);
  t.same(got.nbytes, [2, 5]);
  t.same(got.addresses, [a.getsockname(), a.getsockname()]);
  t.ok(caught(t, () => recvmmsg(r, buf, 512)) instanceof BlockingIOError);
  t.ok(caught(t, () => recvmmsg(r, buf, 0)) instanceof ValueError, 'slotSize 0');
  t.ok(caught(t, () => recvmmsg(r, buf, 2048)) instanceof ValueError, 'slot larger than the buffer');
  t.ok(caught(t, () => recvmmsg(r, buf, 8, 1025)) instanceof ValueError, 'maxmsgs 1025');
  t.ok(caught(t, () => recvmmsg(r, bad('abc'), 8)) instanceof TypeError);
  r.close();
  t.equal(caught(t, () => recvmmsg(r, buf, 8))?.errno, E.EBADF);
  t.end();
});

t.test('recvmmsg: the addon checks every argument itself', (t) => {
  using s = udp();
  const fd = s.fileno();
  const buf = Buffer.alloc(64);
  const raw: Array<[string, () => unknown, string]> = [
    ['negative fd', () => rawRecvmmsg(-1, buf, 0, 64, 8, 8, 0), 'ValueError'],
    ['window past the end', () => rawRecvmmsg(fd, buf, 32, 64, 8, 8, 0), 'ValueError'],
    ['slot 0', () => rawRecvmmsg(fd, buf, 0, 64, 0, 8, 0), 'OverflowError'],
    ['slot past INT32_MAX', () => rawRecvmmsg(fd, buf, 0, 64, 2 ** 31, 8, 0), 'OverflowError'],
    ['no whole slot in the window', () => rawRecvmmsg(fd, buf, 0, 7, 8, 8, 0), 'ValueError'],
    ['maxmsgs 0', () => rawRecvmmsg(fd, buf, 0, 64, 8, 0, 0), 'OverflowError'],
    ['maxmsgs 1025', () => rawRecvmmsg(fd, buf, 0, 64, 8, 1025, 0), 'OverflowError'],
    ['NaN maxmsgs', () => rawRecvmmsg(fd, buf, 0, 64, 8, NaN, 0), 'TypeError'],
    ['a string buffer', () => rawRecvmmsg(fd, 'abc', 0, 3, 1, 1, 0), 'TypeError'],
    ['flags past INT_MAX', () => rawRecvmmsg(fd, buf, 0, 64, 8, 8, 2 ** 40), 'OverflowError'],
    ['a closed-range fd', () => rawRecvmmsg(2 ** 31 - 1, buf, 0, 64, 8, 8, 0), 'OSError'],
  ];
  for (const [name, fn, kind] of raw) {
    const e = caught(t, fn);
    const got = e?.errno !== undefined ? 'OSError' : (e?.pyType ?? e?.constructor?.name);
    t.equal(got, kind, name);
  }
  t.end();
});
