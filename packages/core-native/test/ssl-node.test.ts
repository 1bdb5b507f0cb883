// memtls against Node's own TLS over a real 127.0.0.1 TCP socket: the test
// moves ciphertext between the engine's BIOs and a net.Socket, as a
// transport would. Both ways: engine client -> tls.createServer, and
// tls.connect -> engine server.
import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { memtls, SSLCertVerificationError } from '@iomux/core-native';
import { clientContext, fixtures, pattern, serverContext } from './ssl-support.js';

/** Drives `conn` over `sock`: handshake, then `onPlain` for each plaintext chunk; resolves at close. */
function drive(conn: memtls.Connection, sock: net.Socket, onPlain: (data: Buffer) => void): { flush(): void; done: Promise<void> } {
  const out = Buffer.alloc(1 << 16);
  const plain = Buffer.alloc(1 << 16);
  const flush = (): void => {
    for (let n; (n = conn.takeOutput(out)) > 0; ) sock.write(Buffer.from(out.subarray(0, n)));
  };
  const done = new Promise<void>((resolve, reject) => {
    const step = (): void => {
      if (!conn.handshakeDone && conn.handshake() === 'want-read') {
        flush();
        return;
      }
      for (;;) {
        const n = conn.read(plain);
        if (n === -1) break;
        if (n === 0) {
          conn.shutdown();
          flush();
          sock.end();
          return;
        }
        onPlain(Buffer.from(plain.subarray(0, n)));
      }
      flush();
    };
    sock.on('data', (d: Buffer) => {
      try {
        conn.feed(d);
        step();
      } catch (e) {
        sock.destroy();
        reject(e);
      }
    });
    sock.on('close', () => resolve());
    sock.on('error', reject);
    sock.on('connect', () => {
      try {
        step();
      } catch (e) {
        reject(e);
      }
    });
  });
  return { flush, done };
}

t.test('engine client against tls.createServer: handshake, ALPN, SNI, 1 MiB echoed', async (t) => {
  let sniSeen: string | undefined;
  const server = tls.createServer({ cert: fixtures.cert, key: fixtures.key, ALPNProtocols: ['echo/1'] }, (s) => {
    sniSeen = (s as tls.TLSSocket & { servername?: string }).servername;
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;

  const conn = new memtls.Connection(clientContext({ ALPNProtocols: ['echo/1'] }), { serverHostname: 'localhost' });
  const sock = net.connect(port, '127.0.0.1');
  const total = 1 << 20;
  const chunks: Buffer[] = [];
  let got = 0;
  const d = drive(conn, sock, (data) => {
    chunks.push(data);
    got += data.length;
    if (got === total) {
      t.equal(conn.shutdown(), 'sent');
      d.flush();
    }
  });
  // Send once the handshake is done (the first plaintext write waits for it).
  const wait = setInterval(() => {
    if (!conn.handshakeDone) return;
    clearInterval(wait);
    for (let off = 0; off < total; off += 65536) conn.write(pattern(off, 65536, 3));
    d.flush();
  }, 5);
  await d.done;
  clearInterval(wait);
  t.equal(got, total);
  t.ok(Buffer.concat(chunks).equals(pattern(0, total, 3)), 'every byte echoed in order');
  t.equal(conn.alpnSelected(), 'echo/1');
  t.equal(sniSeen, 'localhost', 'Node saw the SNI name');
  t.equal(conn.version(), 'TLSv1.3');
});

t.test('engine client refuses a Node server for another name', async (t) => {
  const server = tls.createServer({ cert: fixtures.cert, key: fixtures.key }, (s) => s.on('error', () => {}));
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const conn = new memtls.Connection(clientContext(), { serverHostname: 'wrong.example' });
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const err = await drive(conn, sock, () => {}).done.then(() => null, (e: unknown) => e);
  t.ok(err instanceof SSLCertVerificationError, String(err));
  t.equal((err as SSLCertVerificationError).verifyCode, 62);
  sock.destroy();
});

t.test('tls.connect against an engine server: TLS 1.2 and 1.3, data both ways, close_notify', async (t) => {
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const sctx = serverContext({ ALPNProtocols: ['h2', 'echo/1'] });
    const server = net.createServer((sock) => {
      const conn = new memtls.Connection(sctx);
      const d = drive(conn, sock, (data) => {
        conn.write(Buffer.from(data.toString().toUpperCase()));
        d.flush();
      });
      d.done.catch(() => sock.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = tls.connect({
      port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'localhost',
      ca: fixtures.ca, ALPNProtocols: ['echo/1'], maxVersion,
    });
    await once(client, 'secureConnect');
    t.equal(client.getProtocol(), maxVersion);
    t.equal(client.alpnProtocol, 'echo/1');
    t.equal(client.authorized, true);
    client.write('hello engine');
    const [reply] = (await once(client, 'data')) as [Buffer];
    t.equal(reply.toString(), 'HELLO ENGINE');
    client.end();
    await once(client, 'close');
    server.close();
    await once(server, 'close');
  }
});
