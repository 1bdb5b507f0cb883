// datagram.ts and datagram-endpoint.ts: loop.createDatagramEndpoint, the
// datagram transport and protocol, and sockSendto/sockRecvfrom/
// sockRecvfromInto, on real UDP over 127.0.0.1 (and ::1 where the machine
// has it) and AF_UNIX datagram sockets, on every selector backend. Ports
// CPython 3.11 test_asyncio: test_base_events.py's
// test_create_datagram_endpoint_* cases that need no mocks,
// test_events.py's test_create_datagram_endpoint{,_ipv6,_sock},
// test_selector_events.py's SelectorDatagramTransportTests on real sockets,
// and test_sock_lowlevel.py's test_recvfrom, test_recvfrom_into,
// test_sendto_blocking. Messages are asyncio's (checked with python3).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { socket as S, Socket, errnoConstants as E } from '@iomux/core-native';
import {
  ConnectionRefusedError, OSError, OverflowError, ValueError, type DatagramProtocol, type DatagramTransport, type EventLoop,
} from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, sleep, waitFor } from './helpers.js';

checkNoFdLeak(t);

const { AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_BROADCAST, SO_REUSEADDR, SO_REUSEPORT } = S;
const bad = (x: unknown): any => x;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-dgram-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function hasIpv6Loopback(): boolean {
  try {
    using s = new Socket(AF_INET6, SOCK_DGRAM);
    s.bind(['::1', 0]);
    return true;
  } catch {
    return false;
  }
}
const IPV6 = hasIpv6Loopback();

/** test_base_events' MyDatagramProto: its state, the bytes it got, a promise for connectionLost. */
class MyDatagramProto implements DatagramProtocol {
  state = 'INITIAL';
  nbytes = 0;
  transport: DatagramTransport | null = null;
  received: Array<[Buffer, unknown]> = [];
  errors: Error[] = [];
  done: Promise<void>;
  #lost!: () => void;
  constructor() {
    this.done = new Promise((r) => (this.#lost = r));
  }
  connectionMade(tr: DatagramTransport): void {
    this.transport = tr;
    this.state = 'INITIALIZED';
  }
  datagramReceived(data: Buffer, addr: unknown): void {
    this.nbytes += data.length;
    this.received.push([data, addr]);
  }
  errorReceived(exc: Error): void {
    this.errors.push(exc);
  }
  connectionLost(): void {
    this.state = 'CLOSED';
    this.#lost();
  }
}

/** test_events' TestMyDatagramProto: answers each datagram with b'resp:' + data. */
class EchoProto extends MyDatagramProto {
  override datagramReceived(data: Buffer, addr: unknown): void {
    super.datagramReceived(data, addr);
    this.transport!.sendto(Buffer.concat([Buffer.from('resp:'), data]), addr);
  }
}

async function rejects(t: Test, p: Promise<unknown>, cls: Function, message?: string | RegExp): Promise<void> {
  try {
    await p;
    t.fail(`expected ${cls.name}`);
  } catch (e) {
    t.ok(e instanceof cls, `${cls.name}: ${String(e)}`);
    if (typeof message === 'string') t.equal((e as Error).message, message);
    else if (message) t.match((e as Error).message, message);
  }
}

/** test_events' _test_create_datagram_endpoint: an echo round trip through two endpoints. */
async function roundTrip(t: Test, loop: EventLoop, local: [string, number], family: number): Promise<void> {
  const [sTr, server] = await loop.createDatagramEndpoint(() => new EchoProto(), { localAddr: local, family });
  t.equal(server.state, 'INITIALIZED');
  t.equal(server.transport, sTr);
  const [host, port] = sTr.getExtraInfo('sockname') as [string, number];
  const [tr, client] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { remoteAddr: [host, port] });
  t.equal(client.state, 'INITIALIZED');
  t.same(tr.getExtraInfo('peername'), sTr.getExtraInfo('sockname'));
  tr.sendto(Buffer.from('xxx'));
  await waitFor(loop, () => server.nbytes > 0 && client.nbytes > 0);
  t.equal(server.nbytes, 3);
  t.equal(client.nbytes, 8);
  t.equal(client.received[0]![0].toString(), 'resp:xxx');
  t.same(server.received[0]![1], tr.getExtraInfo('sockname'), "the client's address");
  t.ok(tr.getExtraInfo('sockname'));
  tr.close();
  await client.done;
  t.equal(client.state, 'CLOSED');
  sTr.close();
  await server.done;
}

for (const backend of BACKENDS) {
  t.test(`backend ${backend}`, async (t) => {
    t.test('test_create_datagram_endpoint', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(roundTrip(t, loop, ['127.0.0.1', 0], AF_INET));
    });

    t.test('test_create_datagram_endpoint_ipv6', { skip: IPV6 ? false : 'IPv6 loopback (::1) not available' }, async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(roundTrip(t, loop, ['::1', 0], AF_INET6));
    });

    t.test('host names go through loop.getaddrinfo (localhost)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(roundTrip(t, loop, ['localhost', 0], AF_INET));
    });

    t.test('test_create_datagram_endpoint_sock (test_events, test_base_events)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const sock = new Socket(AF_INET, SOCK_DGRAM);
        sock.bind(['127.0.0.1', 0]);
        const [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { sock });
        t.equal(tr.getExtraInfo('socket'), sock);
        t.equal(sock.getblocking(), false, 'made non-blocking');
        tr.close();
        await pr.done;
        t.equal(pr.state, 'CLOSED');
        t.equal(sock.fileno(), -1, 'the transport closed it');
      });
    });

    t.test('test_create_datagram_endpoint_sock_unix and _existing_sock_unix', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { family: AF_UNIX });
        t.equal((tr.getExtraInfo('socket') as Socket).family, AF_UNIX);
        tr.close();
        await pr.done;
        // A stale socket file at the path is removed first, as asyncio does.
        const p = path.join(dir, `stale-${backend}`);
        const old = new Socket(AF_UNIX, SOCK_DGRAM);
        old.bind(p);
        old.close();
        const [tr2, pr2] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { localAddr: p, family: AF_UNIX });
        t.equal(tr2.getExtraInfo('sockname'), p);
        tr2.close();
        await pr2.done;
      });
    });

    t.test('test_create_datagram_endpoint_sockopts', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        let [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { localAddr: ['127.0.0.1', 0] });
        let sock = tr.getExtraInfo('socket') as Socket;
        if (SO_REUSEPORT !== undefined) t.notOk(sock.getsockopt(SOL_SOCKET, SO_REUSEPORT));
        t.notOk(sock.getsockopt(SOL_SOCKET, SO_BROADCAST!), 'no option unless asked for');
        tr.close();
        await pr.done;
        [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), {
          localAddr: ['127.0.0.1', 0], reusePort: SO_REUSEPORT !== undefined, allowBroadcast: true,
        });
        sock = tr.getExtraInfo('socket') as Socket;
        t.notOk(sock.getsockopt(SOL_SOCKET, SO_REUSEADDR));
        if (SO_REUSEPORT !== undefined) t.ok(sock.getsockopt(SOL_SOCKET, SO_REUSEPORT));
        t.ok(sock.getsockopt(SOL_SOCKET, SO_BROADCAST!));
        tr.close();
        await pr.done;
      });
    });

    t.test('test_create_datagram_endpoint_allow_broadcast: remoteAddr is not connected', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const [sTr, server] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { localAddr: ['127.0.0.1', 0] });
        const to = sTr.getExtraInfo('sockname') as [string, number];
        const [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { remoteAddr: to, allowBroadcast: true });
        t.equal(tr.getExtraInfo('peername'), null, 'no connect()');
        tr.sendto(Buffer.from('bcast'));
        await waitFor(loop, () => server.nbytes > 0);
        t.equal(server.received[0]![0].toString(), 'bcast', 'sent to remoteAddr with sendto()');
        tr.close();
        sTr.close();
        await pr.done;
        await server.done;
        t.equal(pr.state, 'CLOSED');
      });
    });

    t.test('errorReceived: ICMP port unreachable, a datagram too big (test_sendto_error_received*)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        // A port that was just free: nothing listens there.
        const probe = new Socket(AF_INET, SOCK_DGRAM);
        probe.bind(['127.0.0.1', 0]);
        const dead = probe.getsockname() as [string, number];
        probe.close();
        const [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { remoteAddr: dead });
        tr.sendto(Buffer.from('x'));
        await waitFor(loop, () => pr.errors.length > 0 || pr.nbytes > 0);
        tr.sendto(Buffer.from('x'));
        await waitFor(loop, () => pr.errors.length > 1);
        t.ok(pr.errors.every((e) => e instanceof ConnectionRefusedError), 'ConnectionRefusedError, as asyncio reports it');
        tr.sendto(Buffer.alloc(70000));
        await waitFor(loop, () => pr.errors.length > 2);
        t.equal((pr.errors[2] as OSError).errno, E.EMSGSIZE, 'EMSGSIZE');
        t.notOk(tr.isClosing(), 'the transport stays open');
        tr.close();
        await pr.done;
      });
    });

    t.test('test_sendto_tryagain, _sendto_ready, flow control, close with a queue (AF_UNIX)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        // Connected AF_UNIX datagram sockets block (EAGAIN) once the
        // receiver's queue is full, which UDP on loopback never does.
        const a = `\0iomux-dgram-a-${process.pid}-${backend}`;
        const b = `\0iomux-dgram-b-${process.pid}-${backend}`;
        const [rTr, reader] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { localAddr: b, family: AF_UNIX });
        rTr.pauseReading();
        t.notOk(rTr.isReading());
        let paused = 0;
        let resumed = 0;
        const [tr, pr] = await loop.createDatagramEndpoint(() => Object.assign(new MyDatagramProto(), {
          pauseWriting: () => void paused++, resumeWriting: () => void resumed++,
        }), { localAddr: a, remoteAddr: b, family: AF_UNIX });
        tr.setWriteBufferLimits(4096);
        t.same(tr.getWriteBufferLimits(), [1024, 4096]);
        const total = 300;
        for (let i = 0; i < total; i++) tr.sendto(Buffer.from(`datagram ${i}`.padEnd(100, '.')));
        t.ok(tr.getWriteBufferSize() > 4096, `queued: ${tr.getWriteBufferSize()} bytes`);
        t.equal(paused, 1, 'pauseWriting() once past the high-water mark');
        tr.close();
        t.ok(tr.isClosing());
        t.equal(pr.state, 'INITIALIZED', 'close() waits for the queue');
        rTr.resumeReading();
        await pr.done;
        await waitFor(loop, () => reader.received.length === total);
        t.equal(resumed, 1, 'resumeWriting() once drained');
        t.same(reader.received.map(([d]) => d.toString().replace(/\.+$/, '')), Array.from({ length: total }, (_, i) => `datagram ${i}`), 'every datagram, in order');
        t.same(reader.received[0]![1], Buffer.from(a, 'latin1'), "the sender's abstract name, as bytes");
        rTr.close();
        await reader.done;
      });
    });

    t.test('abort() drops the queue; sendto after the loss is dropped (test_sendto_closing)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const b = `\0iomux-dgram-abort-${process.pid}-${backend}`;
        const [rTr, reader] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { localAddr: b, family: AF_UNIX });
        rTr.pauseReading();
        const [tr, pr] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { remoteAddr: b, family: AF_UNIX });
        for (let i = 0; i < 100; i++) tr.sendto(Buffer.alloc(512, 1));
        t.ok(tr.getWriteBufferSize() > 0);
        tr.abort();
        t.equal(tr.getWriteBufferSize(), 0);
        await pr.done;
        tr.sendto(Buffer.from('late'));
        t.equal(tr.getWriteBufferSize(), 0, 'dropped, not queued');
        rTr.close();
        await reader.done;
      });
    });

    t.test('a burst read at one wake-up: order, pause/resume between datagrams, close stops delivery', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        class Pausing extends MyDatagramProto {
          override datagramReceived(data: Buffer, addr: unknown): void {
            super.datagramReceived(data, addr);
            if (data.toString() === 'p2') this.transport!.pauseReading();
            if (data.toString() === 'c5') this.transport!.close();
            if (data.toString() === 'x7') throw new Error('boom');
          }
        }
        const [sTr, server] = await loop.createDatagramEndpoint(() => new Pausing(), { localAddr: ['127.0.0.1', 0] });
        const errors: unknown[] = [];
        loop.setExceptionHandler((_l, ctx) => void errors.push(ctx.exception));
        using c = new Socket(AF_INET, SOCK_DGRAM);
        c.bind(['127.0.0.1', 0]);
        const to = sTr.getExtraInfo('sockname') as [string, number];
        for (const m of ['a0', 'b1', 'p2', 'd3', 'e4']) c.sendto(Buffer.from(m), to);
        await waitFor(loop, () => server.received.length >= 3);
        await sleep(loop, 0.02);
        const got = (): string[] => server.received.map(([d]) => d.toString());
        t.same(got(), ['a0', 'b1', 'p2'], 'nothing delivered while paused');
        t.notOk(sTr.isReading());
        sTr.resumeReading();
        await waitFor(loop, () => server.received.length >= 5);
        t.same(got(), ['a0', 'b1', 'p2', 'd3', 'e4'], 'the rest, in order, after resumeReading');
        t.same(server.received[4]![1], c.getsockname());
        for (const m of ['f5', 'x7', 'g8', 'c5', 'h9', 'i10']) c.sendto(Buffer.from(m), to);
        await server.done;
        t.same(got().slice(5), ['f5', 'x7', 'g8', 'c5'], 'a throwing callback loses nothing; close stops delivery');
        t.equal(errors.length, 1, 'the exception went to the handler');
        t.equal((errors[0] as Error).message, 'boom');
      });
    });

    t.test('1000 datagrams on loopback, with loss accounting', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const [sTr, server] = await loop.createDatagramEndpoint(() => new EchoProto(), { localAddr: ['127.0.0.1', 0] });
        const [tr, client] = await loop.createDatagramEndpoint(() => new MyDatagramProto(), { remoteAddr: sTr.getExtraInfo('sockname') as [string, number] });
        const total = 1000;
        const window = 100;
        for (let i = 0; i < total; i += window) {
          for (let j = i; j < i + window; j++) tr.sendto(Buffer.from(`n=${j}`));
          const want = i + window;
          const deadline = loop.time() + 2;
          while (client.received.length < want && loop.time() < deadline) await sleep(loop, 0.002);
        }
        const got = client.received.map(([d]) => d.toString());
        const seen = new Set(got);
        const lost = total - seen.size;
        t.equal(seen.size, got.length, 'no duplicates');
        t.ok(got.every((s) => /^resp:n=\d+$/.test(s) && Number(s.slice(7)) < total), 'nothing but what was sent');
        const atServer = new Set(server.received.map(([d]) => d.toString()));
        t.ok(got.every((s) => atServer.has(s.slice(5))), 'every echo answers a datagram the server got');
        t.comment(`sent ${total}, server got ${atServer.size}, client got ${seen.size}: lost ${total - atServer.size} going, ${atServer.size - seen.size} coming back`);
        t.ok(lost <= total / 100, `at most 1% lost on loopback (lost ${lost})`);
        tr.close();
        sTr.close();
        await client.done;
        await server.done;
      });
    });

    t.test('test_recvfrom, test_recvfrom_into, test_sendto_blocking (test_sock_lowlevel)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const [sTr] = await loop.createDatagramEndpoint(() => new EchoProto(), { localAddr: ['127.0.0.1', 0] });
        const server = sTr.getExtraInfo('sockname') as [string, number];
        using sock = new Socket(AF_INET, SOCK_DGRAM);
        sock.setblocking(false);
        const data = Buffer.alloc(4096, 1);
        t.equal(await loop.sockSendto(sock, data, server), 4096);
        // Nothing there yet: the receive waits for the socket.
        const [got, from] = await loop.sockRecvfrom(sock, 8192);
        t.same(got, Buffer.concat([Buffer.from('resp:'), data]));
        t.same(from, server);
        const buf = Buffer.alloc(8192);
        await loop.sockSendto(sock, data, server);
        const [n, from2] = await loop.sockRecvfromInto(sock, buf, 4096);
        t.equal(n, 4096, 'at most nbytes');
        t.same(from2, server);
        await loop.sockSendto(sock, data, ['localhost', server[1]]);
        const [n3] = await loop.sockRecvfromInto(sock, buf);
        t.equal(n3, 4101, 'a host name is resolved; nbytes 0 is the whole buffer');
        sTr.close();
        // test_sendto_blocking on a real EAGAIN: a full AF_UNIX datagram queue.
        const name = `\0iomux-dgram-sendto-${process.pid}-${backend}`;
        using rx = new Socket(AF_UNIX, SOCK_DGRAM);
        rx.bind(name);
        using tx = new Socket(AF_UNIX, SOCK_DGRAM);
        tx.connect(name);
        tx.setblocking(false);
        let queued = 0;
        for (;;) {
          try {
            tx.send(Buffer.alloc(64));
            queued++;
          } catch {
            break;
          }
        }
        let sent = -1;
        const pending = loop.sockSendto(tx, Buffer.from('last'), name).then((n) => (sent = n));
        await sleep(loop, 0.01);
        t.equal(sent, -1, `waits while the queue is full (${queued} queued)`);
        const drain = Buffer.alloc(64);
        for (let i = 0; i < queued; i++) rx.recvInto(drain);
        await pending;
        t.equal(sent, 4, 'sent once writable');
        t.same(rx.recv(10), Buffer.from('last'));
      });
    });
  });
}

t.test('hostile inputs, with asyncio 3.11 error classes', async (t) => {
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    const P = (): MyDatagramProto => new MyDatagramProto();
    const ep = (o: object): Promise<unknown> => loop.createDatagramEndpoint(P, o);
    const stream = new Socket(AF_INET, SOCK_STREAM);
    await rejects(t, ep({ sock: stream }), ValueError, /^A UDP Socket was expected, got <socket\.socket fd=\d+, family=2, type=1, proto=0/);
    stream.close();
    using dsock = new Socket(AF_INET, SOCK_DGRAM);
    await rejects(t, ep({ sock: dsock, localAddr: ['127.0.0.1', 0], reusePort: true }), ValueError,
      "socket modifier keyword arguments can not be used when sock is specified. (local_addr=('127.0.0.1', 0), reuse_port=True)");
    for (const o of [{ remoteAddr: ['127.0.0.1', 0] }, { family: 1 }, { proto: 1 }, { flags: 1 }, { allowBroadcast: true }]) {
      await rejects(t, ep({ sock: dsock, ...o }), ValueError, /^socket modifier keyword arguments can not be used/);
    }
    await rejects(t, ep({ localAddr: ['127.0.0.1', 0], reuseAddress: true }), TypeError, "BaseEventLoop.create_datagram_endpoint() got an unexpected keyword argument 'reuse_address'");
    await rejects(t, ep({ localAddr: ['127.0.0.1', 0], reuseAddress: false }), TypeError);
    await rejects(t, ep({}), ValueError, 'unexpected address family');
    await rejects(t, ep({ localAddr: 'localhost' }), TypeError, '2-tuple is expected');
    await rejects(t, ep({ localAddr: ['localhost', 1, 2, 3] }), TypeError, '2-tuple is expected');
    await rejects(t, ep({ localAddr: ['127.0.0.1', 0], family: AF_UNIX }), TypeError, 'string is expected');
    if (IPV6) await rejects(t, ep({ remoteAddr: ['127.0.0.1', 0], localAddr: ['::1', 0] }), ValueError, 'can not get address information');
    await rejects(t, ep({ localAddr: ['127.0.0.1', 70000] }), OverflowError, 'bind(): port must be 0-65535.');
    await rejects(t, ep({ localAddr: 'x'.repeat(200), family: AF_UNIX }), OSError, 'AF_UNIX path too long');
    await rejects(t, ep({ family: 12345 }), OSError, `[Errno ${E.EAFNOSUPPORT}] Address family not supported by protocol`);
    await rejects(t, loop.createDatagramEndpoint(bad(null), { family: AF_INET }), TypeError);

    const [sTr, server] = await loop.createDatagramEndpoint(P, { localAddr: ['127.0.0.1', 0] });
    const [tr, pr] = await loop.createDatagramEndpoint(P, { remoteAddr: sTr.getExtraInfo('sockname') as [string, number] });
    const port = (sTr.getExtraInfo('sockname') as [string, number])[1];
    t.throws(() => tr.sendto(bad('x')), new TypeError("data argument must be a bytes-like object, not 'str'"));
    t.throws(() => tr.sendto(Buffer.from('x'), ['127.0.0.1', port + 1]), new ValueError(`Invalid address: must be None or ('127.0.0.1', ${port})`));
    tr.sendto(Buffer.from('x'), ['127.0.0.1', port]); // its own remote address is fine
    t.throws(() => tr.setWriteBufferLimits(1, 2), new ValueError('high (1) must be >= low (2) must be >= 0'));
    tr.sendto(new Uint8Array(0));
    await waitFor(loop, () => server.nbytes === 1);
    await sleep(loop, 0.01);
    t.equal(server.received.length, 1, 'an empty datagram is not sent (asyncio 3.11)');
    tr.close();
    sTr.close();
    await pr.done;
    await server.done;

    // test_sendto_exception: an error that is no OSError is fatal, and reported.
    const seen: Array<Record<string, unknown>> = [];
    loop.setExceptionHandler((_l, ctx) => void seen.push(ctx as never));
    const [uTr, uPr] = await loop.createDatagramEndpoint(P, { localAddr: ['127.0.0.1', 0] });
    uTr.sendto(Buffer.from('x'), 'not an address');
    t.ok(uTr.isClosing(), 'closed');
    await uPr.done;
    t.equal(seen[0]?.message, 'Fatal write error on datagram transport');
    t.ok(seen[0]?.exception instanceof TypeError, 'the TypeError from sendto()');
    uTr.sendto(Buffer.from('x'), ['127.0.0.1', 9]);
    t.equal(uTr.getWriteBufferSize(), 0, 'a sendto after the loss is dropped');
    loop.setExceptionHandler(null);

    using s = new Socket(AF_INET, SOCK_DGRAM);
    s.setblocking(false);
    await rejects(t, loop.sockRecvfrom(s, -1), ValueError, 'negative buffersize in recvfrom');
    await rejects(t, loop.sockRecvfrom(s, bad('a')), TypeError, "'str' object cannot be interpreted as an integer");
    await rejects(t, loop.sockSendto(s, Buffer.from('x'), 'abc'), TypeError, 'sendto(): AF_INET address must be tuple, not str');
    await rejects(t, loop.sockRecvfromInto(s, Buffer.alloc(2), 5), ValueError, 'nbytes is greater than the length of the buffer');
    await rejects(t, loop.sockRecvfrom(bad(5), 10), TypeError, "sock must be a Socket, not 'int'");
  });
});
