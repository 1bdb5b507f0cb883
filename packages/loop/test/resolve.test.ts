// resolve.ts: loop.getaddrinfo and loop.getnameinfo on Node's resolver, and
// asyncio's _ipaddr_info / _ensure_resolved. Ports of CPython 3.11
// test_asyncio/test_base_events.py (test_ipaddr_info, test_port_parameter_types,
// test_getnameinfo) and of socket.getaddrinfo's results and gaierrors as
// python3 gives them on Linux (glibc), through the loop on every backend.
// Names used: 'localhost' and /etc/hosts; never the outside network.
import t from 'tap';
import { gaierror, socketConstants as C } from '@iomux/core-native';
import { OSError, OverflowError, RuntimeError } from '@iomux/loop';
import { BACKENDS, newLoop } from './helpers.js';
import { loopInternal } from './internal.js';

const { ensureResolved, getaddrinfo, ipaddrInfo } = loopInternal<typeof import('../dist/resolve.js')>('resolve.js');

const INET = C.AF_INET!;
const INET6 = C.AF_INET6!;
const UNSPEC = C.AF_UNSPEC!;
const STREAM = C.SOCK_STREAM!;
const DGRAM = C.SOCK_DGRAM!;
const TCP = C.IPPROTO_TCP!;
const UDP = C.IPPROTO_UDP!;
const linux = process.platform === 'linux';

/** A gaierror with Python's errno and message (glibc's text on Linux). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function gai(name: string, text: string): any {
  return linux ? { name: 'gaierror', errno: C[name], code: name, message: `[Errno ${C[name]}] ${text}` } : { name: 'gaierror', code: name };
}

t.test('test_ipaddr_info', async (t) => {
  t.same(ipaddrInfo('1.2.3.4', 1, INET, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 1]]);
  t.same(ipaddrInfo(Buffer.from('1.2.3.4'), 1, INET, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 1]]);
  t.same(ipaddrInfo('1.2.3.4', 1, UNSPEC, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 1]]);
  t.same(ipaddrInfo('1.2.3.4', 1, UNSPEC, DGRAM, UDP), [INET, DGRAM, UDP, '', ['1.2.3.4', 1]]);
  // Socket type STREAM implies TCP protocol, DGRAM UDP.
  t.same(ipaddrInfo('1.2.3.4', 1, UNSPEC, STREAM, 0), [INET, STREAM, TCP, '', ['1.2.3.4', 1]]);
  t.same(ipaddrInfo('1.2.3.4', 1, UNSPEC, DGRAM, 0), [INET, DGRAM, UDP, '', ['1.2.3.4', 1]]);
  // No socket type.
  t.equal(ipaddrInfo('1.2.3.4', 1, UNSPEC, 0, 0), null);
  // IPv4 address with family IPv6, and the other way.
  t.equal(ipaddrInfo('1.2.3.4', 1, INET6, STREAM, TCP), null);
  t.same(ipaddrInfo('::3', 1, INET6, STREAM, TCP), [INET6, STREAM, TCP, '', ['::3', 1, 0, 0]]);
  t.same(ipaddrInfo('::3', 1, UNSPEC, STREAM, TCP), [INET6, STREAM, TCP, '', ['::3', 1, 0, 0]]);
  t.equal(ipaddrInfo('::3', 1, INET, STREAM, TCP), null);
  // IPv6 address with zone index.
  t.equal(ipaddrInfo('::3%lo0', 1, INET6, STREAM, TCP), null);
  // A name, a protocol of its own.
  t.equal(ipaddrInfo('localhost', 1, UNSPEC, STREAM, 0), null);
  t.equal(ipaddrInfo('1.2.3.4', 1, UNSPEC, STREAM, 99), null);
});

t.test('test_port_parameter_types', async (t) => {
  // Test obscure kinds of arguments for "port".
  t.same(ipaddrInfo('1.2.3.4', null, INET, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 0]]);
  t.same(ipaddrInfo('1.2.3.4', Buffer.alloc(0), INET, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 0]]);
  t.same(ipaddrInfo('1.2.3.4', '', INET, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 0]]);
  t.same(ipaddrInfo('1.2.3.4', '1', INET, STREAM, TCP), [INET, STREAM, TCP, '', ['1.2.3.4', 1]]);
  // A service name is for getaddrinfo.
  t.equal(ipaddrInfo('1.2.3.4', 'http', INET, STREAM, TCP), null);
});

t.test('getaddrinfo: results as socket.getaddrinfo gives them', async (t) => {
  // python3: socket.getaddrinfo('127.0.0.1', 80)
  const all = await getaddrinfo('127.0.0.1', 80);
  t.same(all.slice(0, 2), [
    [INET, STREAM, TCP, '', ['127.0.0.1', 80]],
    [INET, DGRAM, UDP, '', ['127.0.0.1', 80]],
  ]);
  if (C.SOCK_RAW !== undefined) t.same(all[2], [INET, C.SOCK_RAW, 0, '', ['127.0.0.1', 80]]);
  t.same(await getaddrinfo('127.0.0.1', 80, { proto: TCP }), [[INET, STREAM, TCP, '', ['127.0.0.1', 80]]]);
  t.same(await getaddrinfo('::1', '80', { type: STREAM }), [[INET6, STREAM, TCP, '', ['::1', 80, 0, 0]]]);
  t.same(await getaddrinfo(Buffer.from('127.0.0.1'), Buffer.from('80'), { type: STREAM }), [[INET, STREAM, TCP, '', ['127.0.0.1', 80]]]);
  // A port is a service: '' is 0, numbers wrap at 16 bits as glibc parses them.
  t.same((await getaddrinfo('127.0.0.1', '', { type: STREAM }))[0]![4], ['127.0.0.1', 0]);
  t.same((await getaddrinfo('127.0.0.1', 70000, { type: STREAM }))[0]![4], ['127.0.0.1', 4464]);
  // No host: the loopbacks (IPv6 first), or with AI_PASSIVE the wildcards (IPv4 first).
  t.same(await getaddrinfo(null, 80, { type: STREAM }), [
    [INET6, STREAM, TCP, '', ['::1', 80, 0, 0]],
    [INET, STREAM, TCP, '', ['127.0.0.1', 80]],
  ]);
  t.same(await getaddrinfo(null, 80, { type: STREAM, flags: C.AI_PASSIVE }), [
    [INET, STREAM, TCP, '', ['0.0.0.0', 80]],
    [INET6, STREAM, TCP, '', ['::', 80, 0, 0]],
  ]);
  t.same(await getaddrinfo(null, 80, { family: INET6, type: STREAM, flags: C.AI_PASSIVE }), [[INET6, STREAM, TCP, '', ['::', 80, 0, 0]]]);
  // AI_CANONNAME names the first entry; AI_V4MAPPED maps an IPv4 host for AF_INET6.
  t.same(await getaddrinfo('127.0.0.1', 80, { type: STREAM, flags: C.AI_CANONNAME }), [[INET, STREAM, TCP, '127.0.0.1', ['127.0.0.1', 80]]]);
  if (C.AI_V4MAPPED !== undefined) {
    t.same(await getaddrinfo('127.0.0.1', 80, { family: INET6, type: STREAM, flags: C.AI_V4MAPPED }), [[INET6, STREAM, TCP, '', ['::ffff:127.0.0.1', 80, 0, 0]]]);
  }
  // A zone: a number, or an interface's name.
  t.same(await getaddrinfo('fe80::1%1', 80, { type: STREAM }), [[INET6, STREAM, TCP, '', ['fe80::1', 80, 0, 1]]]);
  if (linux) t.same(await getaddrinfo('fe80::1%lo', 80, { type: STREAM }), [[INET6, STREAM, TCP, '', ['fe80::1', 80, 0, 1]]]);
});

t.test('getaddrinfo: names through the resolver, services from the services file', async (t) => {
  const infos = await getaddrinfo('localhost', 80, { type: STREAM });
  t.ok(infos.length >= 1);
  for (const [af, type, proto, canon, sa] of infos) {
    t.equal(type, STREAM);
    t.equal(proto, TCP);
    t.equal(canon, '');
    t.ok(af === INET ? sa[0] === '127.0.0.1' : sa[0] === '::1', `localhost is a loopback: ${sa[0]}`);
    t.equal(sa[1], 80);
  }
  // 'http' is 80/tcp in every services file; a service with only tcp gives no udp entry.
  const http = await getaddrinfo('127.0.0.1', 'http', { type: STREAM });
  t.same(http, [[INET, STREAM, TCP, '', ['127.0.0.1', 80]]]);
  const v4 = await getaddrinfo('localhost', 80, { family: INET, type: STREAM });
  t.same(v4, [[INET, STREAM, TCP, '', ['127.0.0.1', 80]]]);
});

t.test('getaddrinfo: resolution failures are gaierrors with glibc codes and texts', async (t) => {
  const cases: Array<[unknown, unknown, object, string, string]> = [
    ['nonexistent.invalid', 80, {}, 'EAI_NONAME', 'Name or service not known'],
    ['', 80, {}, 'EAI_NONAME', 'Name or service not known'],
    ['\0', 80, {}, 'EAI_NONAME', 'Name or service not known'],
    ['127.0.0.1 ', 80, {}, 'EAI_NONAME', 'Name or service not known'],
    [null, null, {}, 'EAI_NONAME', 'Name or service not known'],
    ['localhost', 80, { flags: C.AI_NUMERICHOST }, 'EAI_NONAME', 'Name or service not known'],
    ['fe80::1%nosuch', 80, {}, 'EAI_NONAME', 'Name or service not known'],
    ['127.0.0.1', 'nosuchsvc', {}, 'EAI_SERVICE', 'Servname not supported for ai_socktype'],
    ['127.0.0.1', -1, {}, 'EAI_SERVICE', 'Servname not supported for ai_socktype'],
    ['127.0.0.1', 80, { proto: 12345 }, 'EAI_SERVICE', 'Servname not supported for ai_socktype'],
    ['::1', 80, { family: INET }, 'EAI_ADDRFAMILY', 'Address family for hostname not supported'],
    ['127.0.0.1', 80, { family: INET6 }, 'EAI_ADDRFAMILY', 'Address family for hostname not supported'],
    ['127.0.0.1', 80, { family: 12345 }, 'EAI_FAMILY', 'ai_family not supported'],
    ['127.0.0.1', 80, { family: C.AF_UNIX }, 'EAI_FAMILY', 'ai_family not supported'],
    ['127.0.0.1', 80, { flags: -1 }, 'EAI_BADFLAGS', 'Bad value for ai_flags'],
    [null, 80, { flags: C.AI_CANONNAME }, 'EAI_BADFLAGS', 'Bad value for ai_flags'],
    ['127.0.0.1', 80, { type: 12345 }, 'EAI_SOCKTYPE', 'ai_socktype not supported'],
    ['127.0.0.1', 80, { type: STREAM, proto: UDP }, 'EAI_SOCKTYPE', 'ai_socktype not supported'],
  ];
  for (const [host, port, opts, name, text] of cases) {
    await t.rejects(getaddrinfo(host, port, opts), gai(name, text), `${JSON.stringify(host)}, ${String(port)}, ${JSON.stringify(opts)}: ${name}`);
  }
  const e = await getaddrinfo('nonexistent.invalid', 80).catch((x: unknown) => x);
  t.ok(e instanceof gaierror && e instanceof OSError, 'a gaierror is an OSError');
});

t.test('getaddrinfo: bad argument types, as socket.getaddrinfo', async (t) => {
  await t.rejects(getaddrinfo(5, 80), new TypeError('getaddrinfo() argument 1 must be string or None'));
  await t.rejects(getaddrinfo({}, 80), TypeError);
  for (const port of [1.5, [1], {}, true]) await t.rejects(getaddrinfo('127.0.0.1', port), { name: 'OSError', message: 'Int or String expected' });
  await t.rejects(getaddrinfo('127.0.0.1', 80, { family: '2' as never }), new TypeError("'str' object cannot be interpreted as an integer"));
  await t.rejects(getaddrinfo('127.0.0.1', 80, { flags: 2 ** 40 }), OverflowError);
  // Where Python's idna codec refuses a name (UnicodeError, a ValueError), libuv does too.
  await t.rejects(getaddrinfo('a'.repeat(300), 80), { name: 'ValueError', message: /idna/ });
  await t.rejects(getaddrinfo('\ud800', 80), { name: 'ValueError' });
  await t.rejects(getaddrinfo('::1%4294967296', 80), { name: 'gaierror', code: 'EAI_NONAME' });
});

t.test('ensureResolved: numeric hosts at once, names through the resolver', async (t) => {
  let calls = 0;
  const resolver = (h: unknown, p: unknown, o: object) => {
    calls++;
    return getaddrinfo(h, p, o);
  };
  t.same(await ensureResolved(['127.0.0.1', 5], {}, resolver), [[INET, STREAM, TCP, '', ['127.0.0.1', 5]]]);
  t.same(await ensureResolved(['::1', 5, 0, 3], {}, resolver), [[INET6, STREAM, TCP, '', ['::1', 5, 0, 3]]]);
  t.equal(calls, 0);
  t.ok((await ensureResolved(['localhost', 5], {}, resolver)).length >= 1);
  t.equal(calls, 1);
  await t.rejects(ensureResolved('localhost', {}, resolver), TypeError);
});

for (const backend of BACKENDS) {
  t.test(`backend ${backend}`, async (t) => {
    t.test('test_getnameinfo and loop.getaddrinfo on the loop', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        t.same(await loop.getaddrinfo('127.0.0.1', 80, { type: STREAM }), [[INET, STREAM, TCP, '', ['127.0.0.1', 80]]]);
        // python3: loop.getnameinfo(('127.0.0.1', 80)) == ('localhost', 'http')
        t.same(await loop.getnameinfo(['127.0.0.1', 22]), ['localhost', 'ssh']);
        t.same(await loop.getnameinfo(['127.0.0.1', 80], C.NI_NUMERICHOST! | C.NI_NUMERICSERV!), ['127.0.0.1', '80']);
        t.same(await loop.getnameinfo(['::1', 22, 0, 0], C.NI_NUMERICHOST), ['::1', 'ssh']);
        t.same(await loop.getnameinfo(['127.0.0.1', 53], C.NI_NUMERICHOST! | C.NI_DGRAM!), ['127.0.0.1', 'domain']);
        // No service of that number: the number.
        t.same(await loop.getnameinfo(['127.0.0.1', 1023], C.NI_NUMERICHOST), ['127.0.0.1', '1023']);
      });
    });

    t.test('getnameinfo: hostile sockaddrs, as socket.getnameinfo', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.getnameinfo('x'), new TypeError('getnameinfo() argument 1 must be a tuple'));
        await t.rejects(loop.getnameinfo(['127.0.0.1']), new TypeError('getnameinfo(): illegal sockaddr argument'));
        await t.rejects(loop.getnameinfo([5, 80]), new TypeError('getnameinfo(): illegal sockaddr argument'));
        await t.rejects(loop.getnameinfo(['127.0.0.1', 'x']), new TypeError('getnameinfo(): illegal sockaddr argument'));
        await t.rejects(loop.getnameinfo(['127.0.0.1', 80, 0, 0]), { name: 'OSError', message: 'IPv4 sockaddr must be 2 tuple' });
        await t.rejects(loop.getnameinfo(['::1', 80, 2 ** 20, 0]), new OverflowError('getnameinfo(): flowinfo must be 0-1048575.'));
        await t.rejects(loop.getnameinfo(['127.0.0.1', 2 ** 31]), OverflowError);
        await t.rejects(loop.getnameinfo(['nonexistent.invalid', 80]), gai('EAI_NONAME', 'Name or service not known'));
        await t.rejects(loop.getnameinfo(['127.0.0.1', 80], 1 << 20), gai('EAI_BADFLAGS', 'Bad value for ai_flags'));
      });
    });

    t.test('getaddrinfo on a closed loop is RuntimeError', async (t) => {
      const loop = newLoop(t, backend);
      loop.close();
      await t.rejects(loop.getaddrinfo('127.0.0.1', 80), RuntimeError);
      await t.rejects(loop.getnameinfo(['127.0.0.1', 80]), RuntimeError);
    });
  });
}
