// unix.ts: loop.createUnixServer and loop.createUnixConnection, streams'
// openUnixConnection and startUnixServer, Linux abstract names, stale
// socket files, and Server.close()'s handling of the path, on every
// selector backend. Ports of CPython 3.11 test_asyncio/test_unix_events.py
// (SelectorEventLoopUnixSocketTests), test_events.py
// (test_create_unix_server, test_create_unix_connection,
// test_create_unix_server_path_socket_error) and test_server.py
// (test_start_unix_server_1), with sockets in a temporary directory.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { socketConstants as C, Socket, errnoConstants as E } from '@iomux/core-native';
import { IndexError, ValueError, openUnixConnection, startUnixServer, type EventLoop, type Protocol, type Server, type Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, sleep } from './helpers.js';

checkNoFdLeak(t);

const linux = process.platform === 'linux';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-unix-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A fresh socket path in the temporary directory. */
const sockPath = (): string => path.join(dir, `s${n++}.sock`);

class Echo implements Protocol {
  transport: Transport | null = null;
  connectionMade(tr: Transport): void {
    this.transport = tr;
  }
  dataReceived(d: Buffer): void {
    this.transport!.write(d);
  }
}

class Client implements Protocol {
  data = '';
  lost = false;
  dataReceived(d: Buffer): void {
    this.data += d.toString();
  }
  connectionLost(): void {
    this.lost = true;
  }
}

async function closeServer(loop: EventLoop, server: Server): Promise<void> {
  server.close();
  await loop.runUntilComplete(server.waitClosed());
}

/** test_create_unix_connection's round trip: 'ping' out, the echo back. */
async function roundTrip(t: Test, loop: EventLoop, path: string | Buffer): Promise<void> {
  await loop.runUntilComplete(async () => {
    const [tr, pr] = await loop.createUnixConnection(() => new Client(), path);
    // An abstract name comes back as bytes, as in Python.
    const abstract = typeof path === 'string' && path.startsWith('\0');
    t.same(tr.getExtraInfo('peername'), typeof path !== 'string' ? Buffer.from(path) : abstract ? Buffer.from(path, 'latin1') : path);
    tr.write(Buffer.from('ping'));
    while (pr.data.length < 4) await sleep(loop, 0.005);
    t.equal(pr.data, 'ping');
    tr.close();
    while (!pr.lost) await sleep(loop, 0.005);
  });
}

for (const backend of BACKENDS) {
  t.test(`backend ${backend}`, async (t) => {
    t.test('test_create_unix_server and test_create_unix_connection', async (t) => {
      const loop = newLoop(t, backend);
      const p = sockPath();
      const echoes: Echo[] = [];
      const server = await loop.runUntilComplete(loop.createUnixServer(() => {
        const e = new Echo();
        echoes.push(e);
        return e;
      }, p));
      t.ok(server.isServing());
      t.same(server.address(), { address: p, family: 'unix', port: 0 });
      t.ok(fs.statSync(p).isSocket());
      await roundTrip(t, loop, p);
      // Node's net talks to it too.
      await loop.runUntilComplete(async () => {
        const c = net.connect(p);
        let got = '';
        c.on('data', (d) => (got += d.toString()));
        c.write('node');
        while (got !== 'node') await sleep(loop, 0.005);
        c.destroy();
        await sleep(loop, 0.01);
      });
      await closeServer(loop, server);
      // asyncio 3.11 leaves the path at close; the next server removes it.
      t.ok(fs.existsSync(p), 'the socket file stays, as asyncio 3.11');
    });

    t.test('test_create_unix_server_existing_path_sock: a stale socket file is removed', async (t) => {
      const loop = newLoop(t, backend);
      const p = sockPath();
      const stale = new Socket(C.AF_UNIX!, C.SOCK_STREAM!);
      stale.bind(p);
      stale.listen(1);
      stale.close();
      // Nothing listens: a connection is refused.
      await t.rejects(loop.runUntilComplete(loop.createUnixConnection(() => new Client(), p)), { name: 'ConnectionRefusedError' });
      const server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), p));
      await roundTrip(t, loop, p);
      await closeServer(loop, server);
    });

    t.test('test_create_unix_server_existing_path_nonsock: a regular file is left alone', async (t) => {
      const loop = newLoop(t, backend);
      const p = sockPath();
      fs.writeFileSync(p, 'data');
      await t.rejects(loop.runUntilComplete(loop.createUnixServer(() => new Echo(), p)), {
        name: 'OSError',
        errno: E.EADDRINUSE,
        message: `[Errno ${E.EADDRINUSE}] Address '${p}' is already in use`,
      });
      t.equal(fs.readFileSync(p, 'utf8'), 'data');
    });

    t.test('cleanupSocket (asyncio 3.13): close() removes the path if it is still ours', async (t) => {
      const loop = newLoop(t, backend);
      const p = sockPath();
      let server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), p, { cleanupSocket: true }));
      await closeServer(loop, server);
      t.notOk(fs.existsSync(p), 'removed');
      // Replaced by another file meanwhile: left alone.
      server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), p, { cleanupSocket: true }));
      fs.unlinkSync(p);
      fs.writeFileSync(p, 'other');
      await closeServer(loop, server);
      t.equal(fs.readFileSync(p, 'utf8'), 'other');
    });

    t.test('Linux abstract names (a leading NUL), as a string and as bytes', { skip: linux ? false : 'abstract names are Linux only' }, async (t) => {
      const loop = newLoop(t, backend);
      const name = `\0iomux-test-${process.pid}-${backend}-${n++}`;
      for (const p of [name, Buffer.from(`${name}-b`, 'latin1')]) {
        const server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), p, { cleanupSocket: true }));
        t.same(server.sockets[0]!.getsockname(), Buffer.from(typeof p === 'string' ? p : p.toString('latin1'), 'latin1'));
        await roundTrip(t, loop, p as string | Buffer);
        await closeServer(loop, server);
        // Nothing on the file system; the name is free again.
        await t.rejects(loop.runUntilComplete(loop.createUnixConnection(() => new Client(), p)), { name: 'ConnectionRefusedError' });
      }
    });

    t.test('test_create_unix_server_nopath_nosock, path_inetsock, path_dgram, path_socket_error, ssl_bool', async (t) => {
      const loop = newLoop(t, backend);
      using inet = new Socket();
      using dgram = new Socket(C.AF_UNIX!, C.SOCK_DGRAM!);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.createUnixServer(() => new Echo(), null), new ValueError('path was not specified, and no sock specified'));
        await t.rejects(loop.createUnixServer(() => new Echo(), null, { sock: inet }), { name: 'ValueError', message: /^A UNIX Domain Stream Socket was expected, got / });
        await t.rejects(loop.createUnixServer(() => new Echo(), null, { sock: dgram }), { name: 'ValueError', message: /^A UNIX Domain Stream Socket was expected/ });
        await t.rejects(loop.createUnixServer(() => new Echo(), '/test', { sock: inet }), new ValueError('path and sock can not be specified at the same time'));
        await t.rejects(loop.createUnixServer(() => new Echo(), 'spam', { ssl: true }), new TypeError('ssl argument must be an SSLContext or None'));
      });
    });

    t.test('test_create_unix_connection_path_sock, nopath_nosock, nossl_serverhost, path_inetsock', async (t) => {
      const loop = newLoop(t, backend);
      using inet = new Socket();
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.createUnixConnection(() => new Client(), os.devNull, { sock: inet }), new ValueError('path and sock can not be specified at the same time'));
        await t.rejects(loop.createUnixConnection(() => new Client(), null), new ValueError('no path and sock were specified'));
        await t.rejects(loop.createUnixConnection(() => new Client(), os.devNull, { serverHostname: 'spam' }), new ValueError('server_hostname is only meaningful with ssl'));
        await t.rejects(loop.createUnixConnection(() => new Client(), null, { sock: inet }), { name: 'ValueError', message: /^A UNIX Domain Stream Socket was expected/ });
      });
    });

    t.test('a server on its own bound socket, or its descriptor', async (t) => {
      const loop = newLoop(t, backend);
      for (const asFd of [false, true]) {
        const p = sockPath();
        const sock = new Socket(C.AF_UNIX!, C.SOCK_STREAM!);
        sock.bind(p);
        const server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), null, { sock: asFd ? sock.detach() : sock }));
        await roundTrip(t, loop, p);
        await closeServer(loop, server);
      }
    });

    t.test('hostile paths, with asyncio\'s error classes', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const long = path.join(dir, 'x'.repeat(200));
        await t.rejects(loop.createUnixServer(() => new Echo(), long), { name: 'OSError', message: 'AF_UNIX path too long' });
        await t.rejects(loop.createUnixConnection(() => new Client(), long), { name: 'OSError', message: 'AF_UNIX path too long' });
        await t.rejects(loop.createUnixConnection(() => new Client(), path.join(dir, 'missing.sock')), { name: 'FileNotFoundError', errno: E.ENOENT });
        await t.rejects(loop.createUnixServer(() => new Echo(), path.join(dir, 'no', 'such', 'dir.sock')), { name: 'FileNotFoundError' });
        await t.rejects(loop.createUnixServer(() => new Echo(), `${dir}/a\0b`), new ValueError('embedded null byte'));
        // asyncio's path[0] of an empty path, and connect('') refused by the kernel.
        await t.rejects(loop.createUnixServer(() => new Echo(), ''), new IndexError('string index out of range'));
        await t.rejects(loop.createUnixServer(() => new Echo(), new Uint8Array(0)), new IndexError('index out of range'));
        const detached = new Uint8Array(new ArrayBuffer(4));
        structuredClone(detached.buffer, { transfer: [detached.buffer] });
        await t.rejects(loop.createUnixServer(() => new Echo(), detached), IndexError, 'a detached view is an empty path');
        await t.rejects(loop.createUnixConnection(() => new Client(), ''), { name: 'OSError', errno: E.EINVAL });
        await t.rejects(loop.createUnixConnection(() => new Client(), new Uint8Array(0)), { name: 'OSError', errno: E.EINVAL });
        await t.rejects(loop.createUnixServer(() => new Echo(), 5 as never), new TypeError('expected str, bytes or os.PathLike object, not int'));
        await t.rejects(loop.createUnixConnection(() => new Client(), {} as never), TypeError);
        await t.rejects(loop.createUnixServer(() => new Echo(), sockPath(), { backlog: 2 ** 40 }), { name: 'OverflowError' });
      });
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('test_start_unix_server_1 and open_unix_connection (streams)', async (t) => {
      const loop = newLoop(t, backend);
      const p = sockPath();
      await loop.runUntilComplete(async () => {
        const server = await startUnixServer(async (r, w) => {
          w.write(await r.readline());
          await w.drain();
          w.close();
        }, p, { startServing: false });
        t.notOk(server.isServing());
        await server.startServing();
        const [r, w] = await openUnixConnection(p);
        w.write('hello\n');
        t.equal((await r.readline()).toString(), 'hello\n');
        w.close();
        await w.waitClosed();
        server.close();
        await server.waitClosed();
      });
    });
  });
}
