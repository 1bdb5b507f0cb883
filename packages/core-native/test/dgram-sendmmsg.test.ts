// socket.sendmmsg (src/socket/dgram.ts over native/dgram.cc's sendmmsg):
// several datagrams in one call, on real UDP sockets on 127.0.0.1 and
// AF_UNIX datagram socket pairs. No Python equivalent; the argument errors
// are CPython's classes, as socket.sendto's.
import t from 'tap';
import {
  binding, socket, Socket, socketpair, errnoConstants as E, OSError, OverflowError, BlockingIOError, gaierror,
} from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { caught } from '../../../test/support/caught.js';
import { drainDatagrams } from '../../../test/support/dgram.js';

checkNoFdLeak(t);

const { AF_INET, AF_UNIX, SOCK_DGRAM, sendmmsg, SENDMMSG_MAX } = socket;
const bad = (x: unknown): any => x;
type Addr = [string, number];

function udp(): Socket {
  const s = new Socket(AF_INET, SOCK_DGRAM);
  s.bind(['127.0.0.1', 0]);
  return s;
}


t.test('sendmmsg: datagrams to several addresses in one call, in order', (t) => {
  using a = udp();
  using b = udp();
  using cli = udp();
  a.setblocking(false);
  b.setblocking(false);
  const to = (s: Socket): Addr => s.getsockname() as Addr;
  const b3 = Buffer.from('b3');
  const n = sendmmsg(cli, [
    [Buffer.from('a1'), to(a)],
    [Buffer.from('b1'), to(b)],
    [new Uint16Array([0x3261, 0x0a0a]), to(a)],
    [Buffer.alloc(0), to(b)],
    [new DataView(b3.buffer, b3.byteOffset, 2), to(b)],
  ]);
  t.equal(n, 5, 'all five sent');
  t.same(drainDatagrams(a), ['a1', 'a2\n\n'], 'a TypedArray of wider elements goes whole');
  t.same(drainDatagrams(b), ['b1', '', 'b3'], 'an empty datagram is one');
  t.equal(sendmmsg(cli, []), 0, 'none: 0');
  t.end();
});

t.test('sendmmsg: a connected socket, address null or left out', (t) => {
  using r = udp();
  using c = udp();
  r.setblocking(false);
  c.connect(r.getsockname() as Addr);
  t.equal(sendmmsg(c, [[Buffer.from('x')], [Buffer.from('y'), null], [Buffer.from('z'), undefined]]), 3);
  t.same(drainDatagrams(r), ['x', 'y', 'z']);
  t.end();
});

t.test('sendmmsg: the kernel refuses one after the first: those before it go, the next call throws', (t) => {
  using r = udp();
  using c = udp();
  r.setblocking(false);
  const to = r.getsockname() as Addr;
  const big = Buffer.alloc(70000);
  const queue: Array<[Buffer, Addr]> = [[Buffer.from('one'), to], [big, to], [Buffer.from('three'), to]];
  t.equal(sendmmsg(c, queue), 1, 'stops at the datagram too big');
  const e = caught(t, () => sendmmsg(c, queue.slice(1)));
  t.ok(e instanceof OSError, 'then OSError for it');
  t.equal(e?.errno, E.EMSGSIZE, 'EMSGSIZE');
  t.equal(e?.syscall, 'sendmmsg');
  t.equal(sendmmsg(c, queue.slice(2)), 1, 'the rest goes');
  t.same(drainDatagrams(r), ['one', 'three']);
  t.end();
});

t.test('sendmmsg: a full AF_UNIX queue sends part, then BlockingIOError; never waits', (t) => {
  const [x, y] = socketpair(AF_UNIX, SOCK_DGRAM);
  using _x = x!;
  using _y = y!;
  y!.setblocking(false);
  x!.settimeout(5); // a timeout does not make it wait
  const batch = Array.from({ length: SENDMMSG_MAX }, (_, i) => [Buffer.from(`d${i}`.padEnd(2000, '.'))] as const);
  const sent = sendmmsg(x!, batch);
  t.ok(sent > 0 && sent < SENDMMSG_MAX, `part of ${SENDMMSG_MAX} fit: ${sent}`);
  const start = performance.now();
  const e = caught(t, () => sendmmsg(x!, batch.slice(sent)));
  t.ok(e instanceof BlockingIOError, 'the rest: BlockingIOError');
  t.ok(performance.now() - start < 1000, 'at once');
  const got = drainDatagrams(y!);
  t.equal(got.length, sent);
  t.ok(got.every((d, i) => d.replace(/\.+$/, '') === `d${i}`), 'in order');
  t.end();
});

t.test('sendmmsg: at most SENDMMSG_MAX per call; a malformed datagram after the first ends the call', (t) => {
  using r = udp();
  using c = udp();
  r.setblocking(false);
  r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20);
  const to = r.getsockname() as Addr;
  const many = Array.from({ length: SENDMMSG_MAX + 5 }, () => [Buffer.from('m'), to] as const);
  t.equal(sendmmsg(c, many), SENDMMSG_MAX, 'the first 1024');
  t.ok(drainDatagrams(r).length > 0);
  t.equal(sendmmsg(c, [[Buffer.from('ok'), to], [bad('str'), to], [Buffer.from('never'), to]]), 1, 'str data second: one sent');
  t.equal(sendmmsg(c, [[Buffer.from('ok2'), to], bad([Buffer.from('x'), ['127.0.0.1', 70000]])]), 1, 'a bad port second: one sent');
  t.same(drainDatagrams(r), ['ok', 'ok2']);
  t.end();
});

t.test('sendmmsg: hostile inputs, with CPython 3.11 error classes', (t) => {
  using s = udp();
  const to = s.getsockname() as Addr;
  const x = Buffer.from('x');
  const cases: Array<[string, () => unknown, Function, string | RegExp]> = [
    ['not an array', () => sendmmsg(s, bad('abc')), TypeError, 'sendmmsg() argument 1 must be list, not str'],
    ['a datagram that is not a pair', () => sendmmsg(s, bad([x])), TypeError, /must be a \(data, address\) pair, not Buffer|pair/],
    ['a triple', () => sendmmsg(s, bad([[x, to, 1]])), TypeError, /pair/],
    ['str data', () => sendmmsg(s, bad([['x', to]])), TypeError, "a bytes-like object is required, not 'str'"],
    ['str address', () => sendmmsg(s, bad([[x, '127.0.0.1']])), TypeError, 'sendmmsg(): AF_INET address must be tuple, not str'],
    ['port 70000', () => sendmmsg(s, [[x, ['127.0.0.1', 70000]]]), OverflowError, 'sendmmsg(): port must be 0-65535.'],
    ['an IPv6 host on AF_INET', () => sendmmsg(s, [[x, ['::1', 1]]]), gaierror, '[Errno -9] Address family for hostname not supported'],
    ['str flags', () => sendmmsg(s, [[x, to]], bad('x')), TypeError, "'str' object cannot be interpreted as an integer"],
    ['no socket', () => sendmmsg(bad(5), [[x, to]]), TypeError, "'int' object has no attribute 'sendmmsg'"],
    ['recvmmsg, no socket', () => socket.recvmmsg(bad(null), Buffer.alloc(8), 8), TypeError, "'NoneType' object has no attribute 'recvmmsg'"],
    ['a 70000-byte datagram first', () => sendmmsg(s, [[Buffer.alloc(70000), to]]), OSError, /Message too long/],
  ];
  for (const [name, fn, cls, text] of cases) {
    const e = caught(t, fn);
    t.ok(e instanceof cls, `${name}: ${cls.name}`);
    if (typeof text === 'string') t.equal(e?.message, text, name);
    else t.match(e?.message, text, name);
  }
  const none = caught(t, () => sendmmsg(s, [[x]]));
  t.ok(none instanceof OSError && /Destination address required/.test(none.message), 'no address on an unconnected socket: EDESTADDRREQ');
  const closed = udp();
  closed.close();
  t.equal(caught(t, () => sendmmsg(closed, [[x, to]]))?.errno, E.EBADF, 'a closed socket: EBADF');
  t.end();
});

t.test('sendmmsg: the addon checks every argument itself', (t) => {
  const raw = (binding as unknown as Record<string, (...a: unknown[]) => number>).sendmmsg!;
  using s = udp();
  const fd = s.fileno();
  const v = [Buffer.from('ab'), Buffer.from('cd')];
  const to = s.getsockname() as Addr;
  const addrs = [AF_INET, to[0], to[1], AF_INET, to[0], to[1]];
  const cases: Array<[string, () => unknown, string]> = [
    ['negative fd', () => raw(-1, v, addrs, 2, 0), 'ValueError'],
    ['fd past INT_MAX', () => raw(2 ** 31, v, addrs, 2, 0), 'OverflowError'],
    ['a closed-range fd', () => raw(2 ** 31 - 1, v, addrs, 2, 0), 'OSError'],
    ['count -1', () => raw(fd, v, addrs, -1, 0), 'OverflowError'],
    ['count 1025', () => raw(fd, v, addrs, 1025, 0), 'OverflowError'],
    ['NaN count', () => raw(fd, v, addrs, NaN, 0), 'TypeError'],
    ['count past the views', () => raw(fd, v, addrs, 3, 0), 'ValueError'],
    ['views not an array', () => raw(fd, v[0], addrs, 1, 0), 'TypeError'],
    ['a string view', () => raw(fd, ['ab'], addrs, 1, 0), 'TypeError'],
    ['a hole for a view', () => raw(fd, [v[0], , v[1]], [...addrs, ...addrs], 3, 0), 'TypeError'],
    ['addrs a number', () => raw(fd, v, 7, 2, 0), 'TypeError'],
    ['addrs too short', () => raw(fd, v, addrs.slice(0, 5), 2, 0), 'ValueError'],
    ['a family not a number', () => raw(fd, v, ['x', to[0], to[1]], 1, 0), 'TypeError'],
    ['an unknown family', () => raw(fd, v, [12345, to[0], to[1]], 1, 0), 'OSError'],
    ['a host name', () => raw(fd, v, [AF_INET, 'localhost', 1], 1, 0), 'ValueError'],
    ['a host not a string', () => raw(fd, v, [AF_INET, 7, 1], 1, 0), 'TypeError'],
    ['port 65536', () => raw(fd, v, [AF_INET, to[0], 65536], 1, 0), 'OverflowError'],
    ['an AF_UNIX path of 200 bytes', () => raw(fd, v, [AF_UNIX, 'x'.repeat(200), 0], 1, 0), 'ValueError'],
    ['flags past INT_MAX', () => raw(fd, v, addrs, 2, 2 ** 40), 'OverflowError'],
  ];
  for (const [name, fn, kind] of cases) {
    const e = caught(t, fn);
    const got = e?.errno !== undefined ? 'OSError' : (e?.pyType ?? e?.constructor?.name);
    t.equal(got, kind, name);
  }
  // A bad address late in the list: nothing at all is sent.
  s.setblocking(false);
  const late = caught(t, () => raw(fd, v, [AF_INET, to[0], to[1], AF_INET, 'bad', 1], 2, 0));
  t.equal(late?.pyType ?? late?.constructor?.name, 'ValueError', 'a bad second address: ValueError');
  t.same(drainDatagrams(s), [], 'checked before anything went');
  t.equal(raw(fd, v, addrs, 2, 0), 2, 'the same call, well formed');
  t.same(drainDatagrams(s), ['ab', 'cd']);
  t.equal(raw(fd, v, null, 0, 0), 0, 'count 0');
  t.end();
});
