// connect.ts and staggered.ts: loop.createConnection (every address, Happy
// Eyeballs, localAddr, sock), sockConnect with names, connectAcceptedSocket,
// and staggeredRace, on every selector backend. Ports of CPython 3.11
// test_asyncio/test_base_events.py (test_create_connection_*,
// _interleave_addrinfos) and test_events.py (local_addr, sock), with real
// sockets on 127.0.0.1 and ::1. A black-holed address is a listening socket
// with a full backlog that never accepts: its SYNs go unanswered.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { socket, socketConstants as C, Socket, errnoConstants as E } from '@iomux/core-native';
import { OSError, ValueError, type EventLoop, type Protocol, type Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, sleep } from './helpers.js';
import { loopInternal } from './internal.js';

checkNoFdLeak(t);

const { interleaveAddrinfos } = loopInternal<typeof import('../dist/connect.js')>('connect.js');
const { staggeredRace } = loopInternal<typeof import('../dist/staggered.js')>('staggered.js');

const INET = C.AF_INET!;
const INET6 = C.AF_INET6!;
const STREAM = C.SOCK_STREAM!;

/** Whether ::1 can be bound here (the IPv6 tests need it). */
function hasIpv6Loopback(): boolean {
  try {
    using s = new Socket(INET6, STREAM);
    s.bind(['::1', 0]);
    return true;
  } catch {
    return false;
  }
}
const IPV6 = hasIpv6Loopback();
const NO_IPV6 = IPV6 ? false : 'needs an IPv6 loopback (::1) to bind';

/** A port free on 127.0.0.1 and ::1 at once (bound on both, then closed). */
function unusedPort(): number {
  for (;;) {
    using a = new Socket();
    a.bind(['127.0.0.1', 0]);
    const port = (a.getsockname() as [string, number])[1];
    if (!IPV6) return port;
    try {
      using b = new Socket(INET6, STREAM);
      b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY!, 1);
      b.bind(['::1', port]);
      return port;
    } catch {
      // taken on ::1: try another
    }
  }
}

/** A Node echo server on `host`:`port` (0 picks one); resolves with its port. */
async function echoServer(t: Test, host = '127.0.0.1', port = 0): Promise<number> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    c.pipe(c);
  });
  await new Promise<void>((r) => server.listen({ host, port, ipv6Only: true }, r));
  t.teardown(() => new Promise<void>((r) => {
    for (const c of conns) c.destroy();
    server.close(() => r());
  }));
  return (server.address() as net.AddressInfo).port;
}

/**
 * A listening socket on `host`:`port` that never accepts, its backlog
 * full: a connect() to it stays in progress (the kernel drops the SYN).
 */
async function blackHole(t: Test, family: number, host: string, port = 0): Promise<number> {
  const l = new Socket(family, STREAM);
  if (family === INET6) l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY!, 1);
  l.bind([host, port]);
  l.listen(0);
  const p = (l.getsockname() as [string, number])[1];
  const fillers: Socket[] = [l];
  t.teardown(() => fillers.forEach((s) => s.close()));
  // Connect until one hangs: the backlog is then full.
  for (let i = 0; i < 16; i++) {
    const c = new Socket(family, STREAM);
    c.setblocking(false);
    fillers.push(c);
    c.connectEx([host, p]);
    await new Promise((r) => setTimeout(r, 30));
    try {
      c.getpeername();
    } catch {
      return p;
    }
  }
  throw new Error('could not fill the backlog');
}

/** Closes `tr` and runs `loop` until its connectionLost has run (its socket is then closed). */
async function closeOutside(loop: EventLoop, tr: Transport): Promise<void> {
  tr.close();
  await loop.runUntilComplete(sleep(loop, 0.001));
}

class Proto implements Protocol {
  transport: Transport | null = null;
  connectionMade(tr: Transport): void {
    this.transport = tr;
  }
}

t.test('_interleave_addrinfos (test_base_events)', async (t) => {
  const a = (f: number, h: string): ReturnType<typeof interleaveAddrinfos>[number] => [f, STREAM, 6, '', [h, 1]];
  const infos = [a(INET6, '::1'), a(INET6, '::2'), a(INET6, '::3'), a(INET, '1.1.1.1'), a(INET, '2.2.2.2')];
  t.same(interleaveAddrinfos(infos).map((i) => i[4][0]), ['::1', '1.1.1.1', '::2', '2.2.2.2', '::3']);
  t.same(interleaveAddrinfos(infos, 2).map((i) => i[4][0]), ['::1', '::2', '1.1.1.1', '::3', '2.2.2.2']);
  t.same(interleaveAddrinfos([]), []);
});

t.test('staggeredRace', async (t) => {
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    // The first to succeed wins; the others are aborted.
    const aborted: number[] = [];
    const started: number[] = [];
    const attempt = (i: number, ms: number, ok: boolean) => (signal: AbortSignal) =>
      new Promise<number>((resolve, reject) => {
        started.push(i);
        const h = loop.callLater(ms / 1000, () => (ok ? resolve(i) : reject(new Error(`e${i}`))));
        signal.addEventListener('abort', () => {
          h.cancel();
          aborted.push(i);
          reject(signal.reason);
        });
      });
    let [r, idx, excs] = await staggeredRace(loop, [attempt(0, 500, true), attempt(1, 10, true)], 0.02);
    t.equal(r, 1);
    t.equal(idx, 1);
    t.same(aborted, [0]);
    t.equal(excs.length, 2);
    t.equal(excs[1], null);
    // A failure starts the next one at once, without the delay.
    started.length = 0;
    const t0 = loop.time();
    [r, idx, excs] = await staggeredRace(loop, [attempt(0, 1, false), attempt(1, 1, true)], 10);
    t.equal(idx, 1);
    t.ok(loop.time() - t0 < 1, 'no 10 s delay after a failure');
    t.match(String(excs[0]), /e0/);
    // Every attempt fails: no winner, every error in order.
    [r, idx, excs] = await staggeredRace(loop, [attempt(0, 1, false), attempt(1, 1, false)], null);
    t.equal(r, null);
    t.equal(idx, null);
    t.same(excs.map(String), ['Error: e0', 'Error: e1']);
    // No attempts at all.
    t.same(await staggeredRace(loop, [], 0.1), [null, null, []]);
    // A late success after the winner is discarded.
    const discarded: number[] = [];
    const deaf = (i: number, ms: number) => () => new Promise<number>((resolve) => loop.callLater(ms / 1000, () => resolve(i)));
    [r, idx] = await staggeredRace(loop, [deaf(0, 30), deaf(1, 30)], 0.001, (x) => discarded.push(x));
    t.equal(r, 0);
    t.same(discarded, [1]);
  });
});

for (const backend of BACKENDS) {
  t.test(`backend ${backend}`, async (t) => {
    t.test('test_create_connection_connect_err: the error names the address', async (t) => {
      const loop = newLoop(t, backend);
      const port = unusedPort();
      const err = await loop.runUntilComplete(loop.createConnection(() => new Proto(), '127.0.0.1', port)).catch((e: unknown) => e);
      t.match(err, { name: 'ConnectionRefusedError', errno: E.ECONNREFUSED });
      t.match((err as Error).message, new RegExp(`^\\[Errno ${E.ECONNREFUSED}\\] (Connect call failed \\('127\\.0\\.0\\.1', ${port}\\)|Connection refused)$`));
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('test_create_connection_multiple_errors: every address refused', { skip: NO_IPV6 }, async (t) => {
      const loop = newLoop(t, backend);
      const port = unusedPort();
      // host null: the loopbacks, ::1 then 127.0.0.1.
      for (const opts of [{}, { happyEyeballsDelay: 0.01 }]) {
        const err = (await loop.runUntilComplete(loop.createConnection(() => new Proto(), null, port, opts)).catch((e: unknown) => e)) as OSError & { errors: unknown[] };
        t.equal(err.name, 'OSError');
        t.match(err.message, /^Multiple exceptions: \[Errno \d+\] .*'::1'.*, \[Errno \d+\] .*'127\.0\.0\.1'/);
        t.equal(err.errors.length, 2);
        t.ok(err.errors.every((e) => (e as Error).name === 'ConnectionRefusedError'));
      }
    });

    t.test('test_create_connection_multiple: the second address connects', { skip: NO_IPV6 }, async (t) => {
      const loop = newLoop(t, backend);
      const port = unusedPort();
      await echoServer(t, '127.0.0.1', port);
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Proto(), null, port));
      t.same(tr.getExtraInfo('peername'), ['127.0.0.1', port]);
      await closeOutside(loop, tr);
    });

    t.test('createConnection resolves names (localhost, /etc/hosts)', async (t) => {
      const loop = newLoop(t, backend);
      const port = await echoServer(t);
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Proto(), 'localhost', port));
      t.same(tr.getExtraInfo('peername'), ['127.0.0.1', port]);
      await closeOutside(loop, tr);
      await t.rejects(loop.runUntilComplete(loop.createConnection(() => new Proto(), 'nonexistent.invalid', port)), { name: 'gaierror', code: 'EAI_NONAME' });
    });

    t.test('happy eyeballs: a black-holed first address loses to the second', { skip: NO_IPV6 }, async (t) => {
      const loop = newLoop(t, backend);
      const port = unusedPort();
      await blackHole(t, INET6, '::1', port);
      await echoServer(t, '127.0.0.1', port);
      const t0 = loop.time();
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Proto(), null, port, { happyEyeballsDelay: 0.05 }));
      t.same(tr.getExtraInfo('peername'), ['127.0.0.1', port]);
      t.ok(loop.time() - t0 < 2, 'the black hole did not hold it up');
      await closeOutside(loop, tr);
      t.equal(loop._selector.getMap()!.size, 0, 'the losing attempt let go of its socket');
    });

    t.test('test_create_connection_local_addr', async (t) => {
      const loop = newLoop(t, backend);
      const port = await echoServer(t);
      const local = unusedPort();
      const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Proto(), '127.0.0.1', port, { localAddr: ['127.0.0.1', local] }));
      t.same(tr.getExtraInfo('sockname'), ['127.0.0.1', local]);
      await closeOutside(loop, tr);
      // A name as the local address, too.
      const [tr2] = await loop.runUntilComplete(loop.createConnection(() => new Proto(), '127.0.0.1', port, { localAddr: ['localhost', 0] }));
      t.equal((tr2.getExtraInfo('sockname') as [string, number])[0], '127.0.0.1');
      await closeOutside(loop, tr2);
    });

    t.test('test_create_connection_local_addr_nomatch_family', async (t) => {
      const loop = newLoop(t, backend);
      const port = await echoServer(t);
      await t.rejects(
        loop.runUntilComplete(loop.createConnection(() => new Proto(), '127.0.0.1', port, { localAddr: ['::1', 0] })),
        { name: 'OSError', message: `no matching local address with family=${INET} found` },
      );
    });

    t.test('test_create_connection_local_addr_in_use', async (t) => {
      const loop = newLoop(t, backend);
      const port = await echoServer(t);
      await t.rejects(
        loop.runUntilComplete(loop.createConnection(() => new Proto(), '127.0.0.1', port, { localAddr: ['127.0.0.1', port] })),
        { errno: E.EADDRINUSE, message: new RegExp(`error while attempting to bind on address \\('127\\.0\\.0\\.1', ${port}\\): address already in use`) },
      );
    });

    t.test('test_create_connection_host_port_sock, no_host_port_sock, wrong_sock, ssl', async (t) => {
      const loop = newLoop(t, backend);
      using sock = new Socket();
      using dgram = new Socket(INET, C.SOCK_DGRAM!);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.createConnection(() => new Proto(), '127.0.0.1', 80, { sock }), new ValueError('host/port and sock can not be specified at the same time'));
        await t.rejects(loop.createConnection(() => new Proto()), new ValueError('host and port was not specified and no sock specified'));
        await t.rejects(loop.createConnection(() => new Proto(), null, null, { sock: dgram }), { name: 'ValueError', message: /^A Stream Socket was expected, got <socket\.socket/ });
        await t.rejects(loop.createConnection(() => new Proto(), null, null, { sock: 5 as never }), TypeError);
        await t.rejects(loop.createConnection(() => new Proto(), null, 80, { ssl: true }), new ValueError('You must set server_hostname when using ssl without a host'));
        await t.rejects(loop.createConnection(() => new Proto(), '127.0.0.1', 80, { serverHostname: 'x' }), new ValueError('server_hostname is only meaningful with ssl'));
        await t.rejects(loop.createConnection(() => new Proto(), '127.0.0.1', 80, { happyEyeballsDelay: -1 }), ValueError);
        await t.rejects(loop.createConnection(() => new Proto(), '127.0.0.1', 80, { interleave: 1n as never }), TypeError);
        await t.rejects(loop.sockConnect({} as never, ['127.0.0.1', 80]), TypeError);
      });
    });

    t.test('hostile hosts, ports and families, with asyncio\'s error classes', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const c = (host: unknown, port: unknown, opts = {}) => loop.createConnection(() => new Proto(), host as never, port as never, opts);
        await t.rejects(c('127.0.0.1', 70000), { name: 'OverflowError' }, 'port over 65535');
        await t.rejects(c('127.0.0.1', -1), { name: 'OverflowError' }, 'negative port');
        await t.rejects(c('127.0.0.1', 'nosuchsvc'), { name: 'gaierror', code: 'EAI_SERVICE' });
        await t.rejects(c('127.0.0.1', 1.5), { name: 'OSError', message: 'Int or String expected' });
        await t.rejects(c('', 80), { name: 'gaierror', code: 'EAI_NONAME' });
        await t.rejects(c(12, 80), TypeError);
        await t.rejects(c('::1', 80, { family: INET }), { name: 'gaierror', code: 'EAI_ADDRFAMILY' });
        await t.rejects(c('localhost', 80, { family: 12345 }), { name: 'gaierror', code: 'EAI_FAMILY' });
        await t.rejects(c('localhost', 80, { flags: -1 }), { name: 'gaierror', code: 'EAI_BADFLAGS' });
        await t.rejects(c('localhost', 80, { proto: C.IPPROTO_UDP }), { name: 'gaierror', code: 'EAI_SOCKTYPE' });
      });
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('sockConnect resolves a name first (asyncio\'s sock_connect)', async (t) => {
      const loop = newLoop(t, backend);
      const port = await echoServer(t);
      using sock = new Socket(INET, STREAM);
      sock.setblocking(false);
      await loop.runUntilComplete(loop.sockConnect(sock, ['localhost', port]));
      t.same(sock.getpeername(), ['127.0.0.1', port]);
      using s2 = new Socket(INET, STREAM);
      s2.setblocking(false);
      await t.rejects(loop.runUntilComplete(loop.sockConnect(s2, ['nonexistent.invalid', port])), { name: 'gaierror' });
    });

    t.test('connectAcceptedSocket: a Socket or a descriptor', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        for (const asFd of [false, true]) {
          const [a, b] = socket.socketpair();
          const got: Buffer[] = [];
          const sock = asFd ? a.detach() : a;
          const [tr] = await loop.connectAcceptedSocket(() => ({ dataReceived: (d: Buffer) => got.push(d) }), sock);
          b.sendall(Buffer.from('ping'));
          tr.write(Buffer.from('pong'));
          while (got.length === 0) await sleep(loop, 0.005);
          t.equal(Buffer.concat(got).toString(), 'ping');
          b.setblocking(true);
          t.equal(b.recv(10).toString(), 'pong');
          tr.close();
          await sleep(loop, 0.001);
          b.close();
        }
        // A datagram socket is refused; a refused descriptor stays the caller's.
        using d = new Socket(INET, C.SOCK_DGRAM!);
        await t.rejects(loop.connectAcceptedSocket(() => new Proto(), d), { name: 'ValueError', message: /^A Stream Socket was expected/ });
        await t.rejects(loop.connectAcceptedSocket(() => new Proto(), d.fileno()), ValueError);
        t.equal(d.fileno() >= 0 && d.getsockname().length > 0, true, 'the descriptor is still open');
        await t.rejects(loop.connectAcceptedSocket(() => new Proto(), 'x' as never), TypeError);
        await t.rejects(loop.connectAcceptedSocket(() => new Proto(), -1), ValueError);
        await t.rejects(loop.connectAcceptedSocket(() => new Proto(), d, { ssl: {} }), ValueError);
      });
    });
  });
}
