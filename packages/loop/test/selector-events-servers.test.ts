// selector-events.ts: createServer and createConnection on every selector
// backend. Ports of CPython 3.11 test_asyncio test_events.py (servers,
// connections, closing). CPython's test HTTP server is a Node net server.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { type Protocol, type Transport } from '@iomux/loop';
import { errnoConstants, socket, Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, future, runBriefly, runUntil, sleep, testHttpServer } from './helpers.js';
import { backendKit, noop, unusedPort } from './selector-events-support.js';

checkNoFdLeak(t);

/** test_events.py MyBaseProto: a protocol that checks its state machine. */
class MyProto implements Protocol {
  transport: Transport | null = null;
  state = 'INITIAL';
  nbytes = 0;
  data: Buffer[] = [];
  connected = future();
  done = future();
  errors: string[] = [];
  constructor(readonly request: Buffer | null = null) {}
  #assertState(...expected: string[]): void {
    if (!expected.includes(this.state)) this.errors.push(`state: ${this.state}, expected: ${expected.join('|')}`);
  }
  connectionMade(transport: Transport): void {
    this.transport = transport;
    this.#assertState('INITIAL');
    this.state = 'CONNECTED';
    this.connected.resolve();
    if (this.request !== null) transport.write(this.request);
  }
  dataReceived(data: Buffer): void {
    this.#assertState('CONNECTED');
    this.nbytes += data.length;
    this.data.push(data);
  }
  eofReceived(): void {
    this.#assertState('CONNECTED');
    this.state = 'EOF';
  }
  connectionLost(_exc: Error | null): void {
    this.#assertState('CONNECTED', 'EOF');
    this.state = 'CLOSED';
    this.done.resolve();
  }
}

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const { newLoop } = backendKit(t, backend);

    // ------------------------------------------------- servers and clients

    t.test('test_create_server', async (t) => {
      const loop = newLoop();
      const errors = collectExceptions(loop);
      const proto = new MyProto();
      const server = await loop.runUntilComplete(loop.createServer(() => proto, '0.0.0.0', 0));
      t.equal(server.sockets.length, 1);
      const [host, port] = server.sockets[0]!.getsockname() as [string, number];
      t.equal(host, '0.0.0.0');
      t.same(server.address(), { address: '0.0.0.0', family: 'IPv4', port });
      t.ok(server.isServing());
      const connections: Transport[] = [];
      server.on('connection', (tr: Transport) => connections.push(tr));
      const client = new Socket();
      client.connect(['127.0.0.1', port]);
      client.sendall(Buffer.from('xxx'));
      await loop.runUntilComplete(proto.connected.promise);
      t.equal(proto.state, 'CONNECTED');
      await runUntil(loop, () => proto.nbytes > 0);
      t.equal(proto.nbytes, 3);
      t.equal(connections.length, 1);
      t.equal(connections[0], proto.transport, "the 'connection' event carries the transport");
      // extra info is available
      t.not(proto.transport!.getExtraInfo('sockname'), null);
      t.equal((proto.transport!.getExtraInfo('peername') as [string, number])[0], '127.0.0.1');
      // close connection
      proto.transport!.close();
      await loop.runUntilComplete(proto.done.promise);
      t.equal(proto.state, 'CLOSED');
      // the client socket must be closed after, to avoid ECONNRESET
      client.close();
      let closeEvent = false;
      server.on('close', () => (closeEvent = true));
      server.close();
      t.ok(closeEvent);
      t.notOk(server.isServing());
      t.equal(server.address(), null);
      await loop.runUntilComplete(server.waitClosed());
      t.same(proto.errors, []);
      t.same(errors, []);
    });

    t.test('test_create_server_reuse_port', async (t) => {
      const loop = newLoop();
      let server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0));
      t.equal(server.sockets.length, 1);
      t.notOk(server.sockets[0]!.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT!));
      server.close();
      await runBriefly(loop);
      server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0, { reusePort: true }));
      t.equal(server.sockets.length, 1);
      t.ok(server.sockets[0]!.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT!));
      server.close();
    });

    t.test('test_create_server_empty_host: null and "" listen on every interface', async (t) => {
      const loop = newLoop();
      for (const host of [null, '']) {
        const server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), host, 0));
        t.equal(server.address()!.address, '0.0.0.0');
        server.close();
      }
    });

    t.test('test_create_server_addr_in_use', async (t) => {
      const loop = newLoop();
      const server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0));
      const { port } = server.address()!;
      await t.rejects(loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', port)), {
        name: 'OSError',
        errno: errnoConstants.EADDRINUSE,
      });
      server.close();
    });

    t.test('test_server_close', async (t) => {
      const loop = newLoop();
      const server = await loop.runUntilComplete(loop.createServer(() => new MyProto(), '0.0.0.0', 0));
      const { port } = server.address()!;
      const client = new Socket();
      client.connect(['127.0.0.1', port]);
      client.send(Buffer.from('xxx'));
      client.close();
      server.close();
      const client2 = new Socket();
      t.throws(() => client2.connect(['127.0.0.1', port]), { name: 'ConnectionRefusedError' });
      client2.close();
      // the connection accepted before close() (if any) ends by itself
      await runBriefly(loop);
    });

    t.test('waitClosed resolves once the server is closed and its connections are gone', async (t) => {
      const loop = newLoop();
      const proto = new MyProto();
      const server = await loop.runUntilComplete(loop.createServer(() => proto, '127.0.0.1', 0));
      const client = net.connect(server.address()!.port, '127.0.0.1');
      client.on('error', noop);
      await loop.runUntilComplete(proto.connected.promise);
      let waited = false;
      await loop.runUntilComplete(async () => {
        const w = server.waitClosed().then(() => (waited = true));
        server.close();
        await sleep(loop, 0.02);
        t.notOk(waited, 'not while a connection is open');
        proto.transport!.close();
        await w;
      });
      t.ok(waited);
      t.equal(await server.waitClosed(), undefined, 'and again at once');
      client.destroy();
    });

    t.test('test_accept_connection_multiple: many clients at once are all accepted', async (t) => {
      const loop = newLoop();
      const protos: MyProto[] = [];
      const server = await loop.runUntilComplete(
        loop.createServer(
          () => {
            const p = new MyProto();
            protos.push(p);
            return p;
          },
          '127.0.0.1',
          0,
          { backlog: 100 },
        ),
      );
      const port = server.address()!.port;
      const clients: Socket[] = [];
      for (let i = 0; i < 50; i++) {
        const c = new Socket();
        c.connect(['127.0.0.1', port]);
        clients.push(c);
      }
      await runUntil(loop, () => protos.length === 50 && protos.every((p) => p.state === 'CONNECTED'));
      t.equal(protos.length, 50);
      for (const c of clients) c.close();
      await runUntil(loop, () => protos.every((p) => p.state === 'CLOSED'));
      server.close();
      await loop.runUntilComplete(server.waitClosed());
      t.ok(protos.every((p) => p.errors.length === 0));
    });

    t.test('test_create_connection', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const errors = collectExceptions(loop);
      const [tr, pr] = await loop.runUntilComplete(
        loop.createConnection(() => new MyProto(Buffer.from('GET / HTTP/1.0\r\nHost: example.com\r\n\r\n')), httpd.host, httpd.port),
      );
      t.equal(pr.transport, tr, 'connectionMade ran before createConnection resolved');
      t.not(tr.getExtraInfo('sockname'), null);
      t.same(tr.getExtraInfo('peername'), [httpd.host, httpd.port]);
      await loop.runUntilComplete(pr.done.promise);
      t.ok(pr.nbytes > 0);
      t.match(Buffer.concat(pr.data).toString(), /^HTTP\/1\.0 200 OK[^]*Test message$/);
      tr.close();
      t.same(pr.errors, []);
      t.same(errors, []);
    });

    t.test('test_create_connection_connect_err: refused', async (t) => {
      const loop = newLoop();
      const port = unusedPort();
      await t.rejects(loop.runUntilComplete(loop.createConnection(() => new MyProto(), '127.0.0.1', port)), {
        name: 'ConnectionRefusedError',
      });
      // with every address of 'localhost' refused: one error, or all of them
      const err = await loop.runUntilComplete(loop.createConnection(() => new MyProto(), 'localhost', port)).then(
        () => null,
        (e: Error) => e,
      );
      t.ok(err !== null);
      t.ok(err!.name === 'ConnectionRefusedError' || /^Multiple exceptions: /.test(err!.message), `${err}`);
      t.equal(loop._selector.getMap()!.size, 0);
    });

    t.test('createConnection and createServer talk to each other', async (t) => {
      const loop = newLoop();
      const errors = collectExceptions(loop);
      const payload = randomBytes(300_000);
      const server = await loop.runUntilComplete(
        loop.createServer(
          () => ({
            connectionMade(tr: Transport) {
              tr.on('data', (d: Buffer) => tr.write(d));
              tr.on('end', () => tr.close());
            },
            eofReceived: () => true,
          }),
          '127.0.0.1',
          0,
        ),
      );
      const got: Buffer[] = [];
      let n = 0;
      const [tr, pr] = await loop.runUntilComplete(
        loop.createConnection(
          () => ({
            done: future(),
            dataReceived(d: Buffer) {
              got.push(d);
              n += d.length;
            },
            eofReceived() {},
            connectionLost(this: { done: ReturnType<typeof future> }) {
              this.done.resolve(undefined);
            },
          }),
          '127.0.0.1',
          server.address()!.port,
        ),
      );
      tr.write(payload);
      tr.writeEof();
      await loop.runUntilComplete(pr.done.promise);
      t.equal(n, payload.length);
      t.ok(Buffer.concat(got).equals(payload));
      server.close();
      await loop.runUntilComplete(server.waitClosed());
      t.same(errors, []);
    });
  });
}

for (const backend of BACKENDS) suite(backend);
