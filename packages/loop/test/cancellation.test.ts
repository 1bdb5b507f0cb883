// Cancellation with { signal }: StreamReader reads and the loop's sock*
// methods, on every backend, over real sockets. Ports the cancellation cases
// of CPython 3.11 test_asyncio/test_streams.py (a readline abandoned by
// wait_for keeps the bytes received) and test_sock_lowlevel.py (a cancelled
// sock_recv/sock_connect removes its reader/writer: asyncio's
// _sock_read_done/_sock_write_done); and issue 23 item 10, where a read
// abandoned with Promise.race made the next one a RuntimeError.
import t, { type Test } from 'tap';
import { getEventListeners } from 'node:events';
import { EventLoop, StreamReader, openConnection, startServer, waitFor, type Server } from '@iomux/loop';
import { socket as S, socketpair, Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, sleep, tick } from './helpers.js';

checkNoFdLeak(t);

const b = (s: string): Buffer => Buffer.from(s);
const bad = (x: unknown): any => x;

function loopOn(t: Test, backend: string): EventLoop {
  const loop = new EventLoop({ selector: backend });
  t.teardown(() => {
    if (!loop.isClosed()) loop.close();
  });
  return loop;
}

/** True if the loop has a reader or writer on `fd`. */
function registered(loop: EventLoop, fd: number): boolean {
  return loop._selector.getMap()?.get(fd) !== undefined;
}

/** A non-blocking socketpair, closed by the teardown. */
function pair(t: Test): [Socket, Socket] {
  const [a, c] = socketpair();
  a.setblocking(false);
  c.setblocking(false);
  t.teardown(() => {
    a.close();
    c.close();
  });
  return [a, c];
}

t.test('StreamReader: an abort drops the waiter and keeps the bytes', async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  await loop.runUntilComplete(async () => {
    const reader = new StreamReader();
    const ac = new AbortController();
    reader.feedData(b('par'));
    const p = reader.readline({ signal: ac.signal });
    await tick(loop);
    const why = new Error('stop');
    ac.abort(why);
    await t.rejects(p, why, 'readline rejects with the signal reason');
    reader.feedData(b('tial\n'));
    t.equal(String(await reader.readline()), 'partial\n', 'the next readline works and lost nothing');

    for (const [name, call] of [
      ['read', (o: object) => reader.read(5, o)],
      ['read(-1)', (o: object) => reader.read(-1, o)],
      ['readexactly', (o: object) => reader.readexactly(5, o)],
      ['readuntil', (o: object) => reader.readuntil('!', o)],
    ] as const) {
      const c = new AbortController();
      const q = call({ signal: c.signal });
      await tick(loop);
      c.abort();
      await t.rejects(q, { name: 'AbortError' }, `${name} rejects with the default reason`);
    }
    // read(-1) that had read a block puts it back.
    const c = new AbortController();
    const all = reader.read(-1, { signal: c.signal });
    reader.feedData(b('abc'));
    await tick(loop);
    await tick(loop);
    c.abort();
    await t.rejects(all, { name: 'AbortError' });
    t.equal(String(await reader.read(10)), 'abc', 'the bytes read(-1) held are back in the buffer');

    // An aborted signal: nothing is read.
    reader.feedData(b('x\n'));
    const done = AbortSignal.abort(new Error('already'));
    await t.rejects(reader.readline({ signal: done }), /already/);
    await t.rejects(reader.read(1, { signal: done }), /already/);
    await t.rejects(reader.readexactly(1, { signal: done }), /already/);
    t.equal(String(await reader.readline()), 'x\n', 'an aborted signal took nothing');

    // One signal for many reads (a Timeout's): each settled read removes its listener.
    const shared = new AbortController();
    for (let i = 0; i < 50; i++) {
      const line = reader.readline({ signal: shared.signal });
      reader.feedData(b(`${i}\n`));
      await line;
      const chunk = reader.read(2, { signal: shared.signal }).then(() => reader.readexactly(1, { signal: shared.signal }));
      reader.feedData(b('ab'));
      await tick(loop);
      reader.feedData(b('c'));
      await chunk;
    }
    t.equal(getEventListeners(shared.signal, 'abort').length, 0, 'no abort listener left behind');

    // Bad options: TypeError, as asyncio's argument errors.
    await t.rejects(reader.read(1, bad({ signal: 'x' })), TypeError);
    await t.rejects(reader.read(1, bad(5)), TypeError);
    await t.rejects(reader.readline(bad({ signal: {} })), TypeError);
    await t.rejects(reader.readexactly(1, bad({ signal: 1 })), TypeError);
    await t.rejects(reader.readuntil('\n', bad('signal')), TypeError);
  });
});

t.test("issue 23 item 10: openConnection('localhost', port) refused names each address", async (t) => {
  const loop = new EventLoop();
  t.teardown(() => loop.close());
  // Port 1 as in the issue: nothing listens there in a test sandbox.
  const err = (await loop.runUntilComplete(() => openConnection('localhost', 1)).catch((e: unknown) => e)) as Error & { errors?: Error[] };
  const each = err.errors ?? [err];
  t.ok(each.length >= 1);
  for (const e of each) {
    t.equal(e.name, 'ConnectionRefusedError');
    t.match(e.message, /^\[Errno \d+\] Connect call failed \('(127\.0\.0\.1|::1)', 1(, 0, 0)?\)$/, 'the address is in the message');
  }
  if (err.errors) t.match(err.message, /^Multiple exceptions: \[Errno \d+\] Connect call failed \('/);
});

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('test_readline_wait_for: a readline abandoned by waitFor, then the next', async (t) => {
      const loop = loopOn(t, backend);
      await loop.runUntilComplete(async () => {
        let server: Server | null = null;
        server = await startServer(
          async (r, w) => {
            w.write(b('line1 par'));
            await sleep(loop, 0.2);
            w.write(b('t\nline2\n'));
            await w.drain();
            await r.read(); // until the client's EOF
            w.close();
          },
          '127.0.0.1',
          0,
        );
        const [reader, writer] = await openConnection('127.0.0.1', server.address()!.port);
        await t.rejects(
          waitFor((signal) => reader.readline({ signal }), 0.05),
          { name: 'TimeoutError' },
        );
        t.equal(String(await reader.readline()), 'line1 part\n', 'no RuntimeError, and nothing lost');
        t.equal(String(await reader.readline()), 'line2\n');
        // The Promise.race, with the read given up by its signal.
        const ac = new AbortController();
        const winner = await Promise.race([reader.readline({ signal: ac.signal }), sleep(loop, 0.05).then(() => 'late')]);
        ac.abort();
        t.equal(winner, 'late');
        writer.writeEof();
        t.equal(String(await reader.read()), '', 'then EOF');
        writer.close();
        await writer.waitClosed();
        server.close();
        await server.waitClosed();
      });
    });

    t.test('sockRecv, sockRecvInto: an abort removes the reader; the next call works', async (t) => {
      const loop = loopOn(t, backend);
      const [a, c] = pair(t);
      await loop.runUntilComplete(async () => {
        const ac = new AbortController();
        const p = loop.sockRecv(a, 100, { signal: ac.signal });
        await tick(loop);
        t.ok(registered(loop, a.fileno()), 'waiting: a reader is registered');
        ac.abort(new Error('gone'));
        await t.rejects(p, /gone/);
        t.notOk(registered(loop, a.fileno()), 'the reader was removed');
        const ac2 = new AbortController();
        const q = loop.sockRecvInto(a, Buffer.alloc(10), { signal: ac2.signal });
        await tick(loop);
        ac2.abort();
        await t.rejects(q, { name: 'AbortError' });
        t.notOk(registered(loop, a.fileno()));
        const r = loop.sockRecv(a, 100, { signal: new AbortController().signal });
        c.send(b('hello'));
        t.equal(String(await r), 'hello', 'the next sockRecv gets the data');
        const shared = new AbortController();
        for (let i = 0; i < 20; i++) {
          const q = loop.sockRecv(a, 100, { signal: shared.signal });
          await tick(loop);
          c.send(b('x'));
          await q;
          await loop.sockSendall(c, b('y'), { signal: shared.signal });
          await loop.sockRecv(a, 100, { signal: shared.signal });
        }
        t.equal(getEventListeners(shared.signal, 'abort').length, 0, 'no abort listener left behind');
        await t.rejects(loop.sockRecv(a, 1, { signal: AbortSignal.abort() }), { name: 'AbortError' });
        await t.rejects(loop.sockRecv(a, 1, bad({ signal: 'x' })), TypeError);
        await t.rejects(loop.sockRecvInto(a, Buffer.alloc(1), bad(7)), TypeError);
      });
    });

    t.test('sockSendall: an abort removes the writer and leaves the socket usable', async (t) => {
      const loop = loopOn(t, backend);
      const [a, c] = pair(t);
      await loop.runUntilComplete(async () => {
        const ac = new AbortController();
        // More than any socket buffer: it must wait for the peer.
        const p = loop.sockSendall(a, Buffer.alloc(16 * 2 ** 20), { signal: ac.signal });
        await tick(loop);
        t.ok(registered(loop, a.fileno()), 'waiting: a writer is registered');
        ac.abort();
        await t.rejects(p, { name: 'AbortError' });
        t.notOk(registered(loop, a.fileno()), 'the writer was removed');
        // Drain what was sent, then the socket sends again.
        for (let i = 0; i < 10000; i++) {
          try {
            if (c.recv(2 ** 20).length === 0) break;
          } catch {
            break;
          }
        }
        await loop.sockSendall(a, b('end'), {});
        await t.rejects(loop.sockSendall(a, b('x'), { signal: AbortSignal.abort() }), { name: 'AbortError' });
        await t.rejects(loop.sockSendall(a, b('x'), bad({ signal: 0 })), TypeError);
      });
    });

    t.test('sockAccept and sockConnect: aborts remove the reader/writer and close nothing', async (t) => {
      const loop = loopOn(t, backend);
      const lsock = new Socket(S.AF_INET, S.SOCK_STREAM);
      t.teardown(() => lsock.close());
      lsock.setblocking(false);
      lsock.bind(['127.0.0.1', 0]);
      lsock.listen(5);
      const port = (lsock.getsockname() as [string, number])[1];
      await loop.runUntilComplete(async () => {
        const ac = new AbortController();
        const p = loop.sockAccept(lsock, { signal: ac.signal });
        await tick(loop);
        ac.abort();
        await t.rejects(p, { name: 'AbortError' });
        t.notOk(registered(loop, lsock.fileno()), 'the accept reader was removed');

        const csock = new Socket(S.AF_INET, S.SOCK_STREAM);
        t.teardown(() => csock.close());
        csock.setblocking(false);
        const ac2 = new AbortController();
        // A name to resolve first: the abort comes while it resolves.
        const q = loop.sockConnect(csock, ['localhost', port], { signal: ac2.signal });
        ac2.abort(new Error('no'));
        await t.rejects(q, /no/);
        t.notOk(registered(loop, csock.fileno()), 'no writer left');
        t.ok(csock.fileno() >= 0, 'the socket is still open: it is the caller\'s');
        await loop.sockConnect(csock, ['127.0.0.1', port], { signal: new AbortController().signal });
        const [conn] = await loop.sockAccept(lsock, {});
        conn.close();
        await t.rejects(loop.sockAccept(lsock, { signal: AbortSignal.abort() }), { name: 'AbortError' });
        await t.rejects(loop.sockConnect(csock, ['127.0.0.1', port], bad({ signal: [] })), TypeError);
      });
    });

    t.test('sockRecvfrom, sockRecvfromInto, sockSendto: aborts and the next call', async (t) => {
      const loop = loopOn(t, backend);
      const u = new Socket(S.AF_INET, S.SOCK_DGRAM);
      const v = new Socket(S.AF_INET, S.SOCK_DGRAM);
      t.teardown(() => {
        u.close();
        v.close();
      });
      u.setblocking(false);
      v.setblocking(false);
      u.bind(['127.0.0.1', 0]);
      const addr = u.getsockname() as [string, number];
      await loop.runUntilComplete(async () => {
        const ac = new AbortController();
        const p = loop.sockRecvfrom(u, 100, { signal: ac.signal });
        await tick(loop);
        ac.abort();
        await t.rejects(p, { name: 'AbortError' });
        t.notOk(registered(loop, u.fileno()));
        const ac2 = new AbortController();
        const q = loop.sockRecvfromInto(u, Buffer.alloc(10), 0, { signal: ac2.signal });
        await tick(loop);
        ac2.abort();
        await t.rejects(q, { name: 'AbortError' });
        t.notOk(registered(loop, u.fileno()));
        await t.rejects(loop.sockSendto(v, b('x'), addr, { signal: AbortSignal.abort() }), { name: 'AbortError' });
        await t.rejects(loop.sockSendto(v, b('x'), addr, bad({ signal: 's' })), TypeError);
        await t.rejects(loop.sockRecvfrom(u, 1, bad({ signal: 1 })), TypeError);
        t.equal(await loop.sockSendto(v, b('dgram'), addr, {}), 5);
        const [data] = await loop.sockRecvfrom(u, 100, { signal: new AbortController().signal });
        t.equal(String(data), 'dgram', 'the next sockRecvfrom gets the datagram');
      });
    });
  });
}
