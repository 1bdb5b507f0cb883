// sslproto.ts, ssl-transport.ts, start-tls.ts: TLS connections and servers
// on every selector backend, both ends iomux or one end Node's tls. Ports of
// CPython 3.11 test_asyncio/test_sslproto.py (test_start_tls_client_*,
// test_start_tls_server_1, test_buf_feed_data, test_create_connection_ssl_*,
// test_get_extra_info) and test_ssl.py's echo cases, on 127.0.0.1 and a
// Unix socket, with the committed test certificates.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Socket, memtls } from '@iomux/core-native';
import { SSLContext, SSLProtocolTransport, openConnection, startServer, type BufferedProtocol, type Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, sleep, waitFor } from './helpers.js';
import { CollectProto, ENGINES, EchoProto, clientContext, fixture, nodeTlsEchoServer, pattern, serverContext, closeWait, useEngine } from './tls-support.js';

checkNoFdLeak(t);

for (const engine of ENGINES) for (const backend of BACKENDS) {
  t.test(`${engine} ${backend}`, async (t) => {
    useEngine(t, engine);
    t.test('test_create_connection_ssl: echo both ways, getExtraInfo, a clean close', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const sp: EchoProto[] = [];
        const srv = await loop.createServer(() => (sp.push(new EchoProto()), sp.at(-1)!), '127.0.0.1', 0, { ssl: serverContext() });
        const data = pattern(1, 300_000);
        const [tr, cp] = await loop.createConnection(() => new CollectProto(data.length), '127.0.0.1', srv.address()!.port, { ssl: clientContext() });
        t.ok(tr instanceof SSLProtocolTransport, 'the app transport is the TLS one');
        t.same(cp.events, ['made'], 'connectionMade ran before createConnection resolved');
        t.equal(tr.canWriteEof(), false);
        t.throws(() => tr.writeEof(), { name: 'NotImplementedError', message: "SSL doesn't support half-closes" });
        const emitted: string[] = [];
        let emittedBytes = 0;
        tr.on('data', (d: Buffer) => (emittedBytes += d.length));
        for (const ev of ['end', 'close']) tr.on(ev, () => emitted.push(ev));
        tr.write(data);
        t.ok((await cp.done).equals(data), 'every byte came back');
        t.equal(emittedBytes, data.length, "and as 'data' events, Node's name");
        t.ok(tr.getExtraInfo('sslcontext') instanceof SSLContext, "'sslcontext' is the SSLContext");
        const cert = tr.getExtraInfo('peercert') as tls.PeerCertificate;
        t.equal(cert.subject.CN, 'localhost', "'peercert' is Node's getPeerCertificate()");
        const cipher = tr.getExtraInfo('cipher') as [string, string, number];
        t.match(cipher, [String, /^TLSv1\.[23]$/, Number], "'cipher' is (name, version, bits)");
        t.equal(tr.getExtraInfo('compression'), null, "'compression' is null, as with OpenSSL 3");
        // Differs on purpose: each engine's own TLS object.
        if (engine === 'node') t.ok(tr.getExtraInfo('sslObject') instanceof tls.TLSSocket, "'sslObject' is the TLSSocket (node engine)");
        else t.ok(tr.getExtraInfo('sslObject') instanceof memtls.Connection, "'sslObject' is the memtls Connection (memtls engine)");
        t.equal(tr.getExtraInfo('ssl_object'), tr.getExtraInfo('sslObject'));
        t.match(tr.getExtraInfo('peername'), ['127.0.0.1', srv.address()!.port], 'the raw transport answers the rest');
        t.equal(tr.getExtraInfo('nope', 'dflt'), 'dflt');
        const server = sp[0]!;
        t.equal(server.transport!.getExtraInfo('peercert'), null, 'the client sent no certificate');
        tr.close();
        t.equal(tr.isClosing(), true);
        await waitFor(loop, () => cp.events.includes('lost') && server.events.includes('lost'), 10, 'both ends lost');
        t.same(cp.events, ['made', 'eof', 'lost'], 'the client: eof after the peer close_notify, then lost');
        t.same(emitted, ['end', 'close'], "'end', then 'close'");
        t.equal(cp.lostWith, null);
        t.same(server.events, ['made', 'eof', 'lost']);
        t.equal(server.lostWith, null);
        tr.write(Buffer.from('late'));
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('iomux client against a Node tls server, Node tls client against an iomux server', async (t) => {
      const loop = newLoop(t, backend);
      const nodeSrv = await nodeTlsEchoServer(t);
      await loop.runUntilComplete(async () => {
        const data = pattern(2, 100_000);
        const [tr, cp] = await loop.createConnection(() => new CollectProto(data.length), 'localhost', (nodeSrv.address() as { port: number }).port, { ssl: clientContext(), family: 2 });
        tr.write(data);
        t.ok((await cp.done).equals(data), 'Node echoed every byte');
        tr.close();
        await waitFor(loop, () => cp.events.includes('lost'), 10);
        t.equal(cp.lostWith, null);

        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const port = srv.address()!.port;
        const got: Buffer[] = [];
        const c = tls.connect({ port, host: '127.0.0.1', ca: fixture('ca.pem') });
        c.on('data', (d) => got.push(d));
        const ended = new Promise((r) => c.on('end', r));
        await new Promise((r) => c.once('secureConnect', r));
        t.equal(c.authorized, true, 'Node verified our certificate');
        c.write(data);
        await waitFor(loop, () => Buffer.concat(got).length >= data.length, 10);
        t.ok(Buffer.concat(got).equals(data));
        c.end();
        await ended;
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('test_start_tls_client_server: a plain connection upgraded on both ends', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        let serverTr: Transport | null = null;
        const serverProto = new EchoProto();
        const plain: Buffer[] = [];
        // The server answers the plain 'STARTTLS' line, then upgrades.
        const srv = await loop.createServer(
          () => ({
            connectionMade(tr: Transport) {
              serverTr = tr;
            },
            dataReceived(d: Buffer) {
              plain.push(d);
              serverTr!.write(Buffer.from('OK\n'));
              void loop.startTls(serverTr!, serverProto, serverContext(), { serverSide: true }).then((nt) => serverProto.connectionMade(nt));
            },
          }),
          '127.0.0.1',
          0,
        );
        const cp = new CollectProto(3);
        const [tr] = await loop.createConnection(() => cp, '127.0.0.1', srv.address()!.port);
        tr.write(Buffer.from('STARTTLS\n'));
        t.equal((await cp.done).toString(), 'OK\n');
        const secure = new CollectProto(5000);
        const ntr = await loop.startTls(tr, secure, clientContext(), { serverHostname: 'localhost' });
        t.equal(Buffer.concat(plain).toString(), 'STARTTLS\n');
        t.same(secure.events, [], 'startTls calls no connectionMade');
        t.equal(ntr.getProtocol(), secure);
        const data = pattern(3, 5000);
        ntr.write(data);
        t.ok((await secure.done).equals(data), 'echoed over TLS');
        t.equal((ntr.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
        ntr.close();
        await waitFor(loop, () => secure.events.includes('lost') && serverProto.events.includes('lost'), 10);
        t.equal(secure.lostWith, null);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('test_start_tls_client_buf_proto: startTls hands a BufferedProtocol the plaintext', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const serverProto = new EchoProto();
        const srv = await loop.createServer(
          () => ({
            connectionMade(tr: Transport) {
              void loop.startTls(tr, serverProto, serverContext(), { serverSide: true }).then((nt) => serverProto.connectionMade(nt));
            },
          }),
          '127.0.0.1',
          0,
        );
        const [tr] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port);
        const buf = new Uint8Array(100);
        const got: Buffer[] = [];
        let total = 0;
        const proto: BufferedProtocol = {
          getBuffer: () => buf,
          bufferUpdated(n: number) {
            got.push(Buffer.from(buf.subarray(0, n)));
            total += n;
          },
        };
        const ntr = await loop.startTls(tr, proto, clientContext(), { serverHostname: 'localhost' });
        const data = pattern(7, 10_000);
        ntr.write(data);
        await waitFor(loop, () => total >= data.length, 10);
        t.ok(Buffer.concat(got).equals(data), 'every byte, through a 100-byte buffer');
        await closeWait(loop, ntr);
        await waitFor(loop, () => serverProto.events.includes('lost'), 10);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('streams: startServer/openConnection with ssl, and StreamWriter.startTls', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const srv = await startServer(
          async (r, w) => {
            const line = await r.readline();
            if (line.toString() === 'STARTTLS\n') {
              w.write('GO\n');
              await w.startTls(serverContext());
            }
            for (;;) {
              const d = await r.read(65536);
              if (d.length === 0) break;
              w.write(d);
              await w.drain();
            }
            w.close();
          },
          '127.0.0.1',
          0,
        );
        const port = srv.address()!.port;
        const [r, w] = await openConnection('127.0.0.1', port);
        w.write('STARTTLS\n');
        t.equal((await r.readline()).toString(), 'GO\n');
        await w.startTls(clientContext(), { serverHostname: 'localhost' });
        t.ok(w.transport instanceof SSLProtocolTransport, 'the writer writes through TLS now');
        const data = pattern(4, 200_000);
        w.write(data);
        await w.drain();
        t.ok((await r.readexactly(data.length)).equals(data), 'StreamReader reads the plaintext');
        w.close();
        await w.waitClosed();
        srv.close();
        await srv.waitClosed();

        const tlsSrv = await startServer(async (r2, w2) => {
          w2.write(await r2.readline());
          w2.close();
        }, '127.0.0.1', 0, { ssl: serverContext() });
        const [r3, w3] = await openConnection('localhost', tlsSrv.address()!.port, { ssl: clientContext(), family: 2 });
        w3.write('hello\n');
        t.equal((await r3.readline()).toString(), 'hello\n');
        t.equal((await r3.read()).length, 0, 'EOF after the server closes');
        w3.close();
        await w3.waitClosed();
        tlsSrv.close();
        await tlsSrv.waitClosed();
      });
    });

    t.test('Unix twins: createUnixServer and createUnixConnection with ssl', async (t) => {
      const loop = newLoop(t, backend);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-tls-'));
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
      const p = path.join(dir, 'tls.sock');
      await loop.runUntilComplete(async () => {
        const srv = await loop.createUnixServer(() => new EchoProto(), p, { ssl: serverContext(), sslHandshakeTimeout: 5 });
        await t.rejects(loop.createUnixConnection(() => new CollectProto(1), p, { ssl: clientContext() }), {
          name: 'ValueError',
          message: 'You must set server_hostname when using ssl without a host',
        });
        const data = pattern(5, 70_000);
        const [tr, cp] = await loop.createUnixConnection(() => new CollectProto(data.length), p, { ssl: clientContext(), serverHostname: 'localhost', sslShutdownTimeout: 5 });
        tr.write(data);
        t.ok((await cp.done).equals(data));
        await closeWait(loop, tr);
        await waitFor(loop, () => cp.events.includes('lost'), 10);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('test_buf_feed_data: a BufferedProtocol over TLS gets every byte through small buffers', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const data = pattern(6, 50_000);
        const got: Buffer[] = [];
        let total = 0;
        const buf = new Uint8Array(1000);
        const sizes = new Set<number>();
        const proto: BufferedProtocol = {
          getBuffer(hint: number) {
            sizes.add(hint);
            return buf;
          },
          bufferUpdated(n: number) {
            got.push(Buffer.from(buf.subarray(0, n)));
            total += n;
          },
        };
        const [tr] = await loop.createConnection(() => proto, '127.0.0.1', srv.address()!.port, { ssl: clientContext(), serverHostname: 'localhost' });
        tr.write(data);
        await waitFor(loop, () => total >= data.length, 10);
        t.ok(Buffer.concat(got).equals(data), 'in order, every byte');
        t.ok([...sizes].every((s) => s > 0), 'getBuffer is told how much is ready');
        tr.abort();
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('flow control: pauseWriting/resumeWriting and pauseReading over TLS', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        let serverTr: Transport | null = null;
        let received = 0;
        const srv = await loop.createServer(
          () => ({
            connectionMade(tr: Transport) {
              serverTr = tr;
              tr.pauseReading();
            },
            dataReceived(d: Buffer) {
              received += d.length;
            },
          }),
          '127.0.0.1',
          0,
          { ssl: serverContext() },
        );
        const log: string[] = [];
        let paused = false;
        const [tr] = await loop.createConnection(
          () => ({
            pauseWriting: () => (log.push('pause'), (paused = true)),
            resumeWriting: () => (log.push('resume'), (paused = false)),
          }),
          '127.0.0.1',
          srv.address()!.port,
          { ssl: clientContext(), serverHostname: 'localhost' },
        );
        t.same(tr.getWriteBufferLimits(), [128 * 1024, 512 * 1024], "asyncio's 512 KiB for TLS writes");
        tr.setWriteBufferLimits(64 * 1024);
        t.same(tr.getWriteBufferLimits(), [16 * 1024, 64 * 1024]);
        // A writer that honours pauseWriting, while the server reads nothing:
        // the kernel's buffers fill, then the TLS layer's, then it stays paused.
        const chunk = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        let stillSince = loop.time();
        while (loop.time() - stillSince < 0.3) {
          if (sent > 256 * 1024 * 1024) break;
          if (!paused) {
            tr.write(chunk);
            sent += chunk.length;
            stillSince = loop.time();
          }
          await sleep(loop, 0.001);
        }
        t.ok(sent < 256 * 1024 * 1024, `the writer stopped after ${sent} bytes`);
        t.equal(paused, true, 'the writer stays paused while the server does not read');
        t.ok(tr.getWriteBufferSize() > 16 * 1024, 'with more than the low-water mark buffered');
        t.equal(received, 0);
        t.equal(serverTr!.isReading(), false);
        serverTr!.resumeReading();
        t.equal(serverTr!.isReading(), true);
        await waitFor(loop, () => received === sent, 30, 'every byte read');
        t.equal(paused, false, 'resumeWriting came');
        t.equal(log[0], 'pause');
        t.equal(log.at(-1), 'resume');
        t.equal(tr.getWriteBufferSize(), 0);
        tr.abort();
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('connectAcceptedSocket with ssl: the server side of a socket accepted elsewhere', async (t) => {
      const loop = newLoop(t, backend);
      const listener = new Socket();
      t.teardown(() => listener.close());
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      listener.setblocking(false);
      const port = (listener.getsockname() as [string, number])[1];
      await loop.runUntilComplete(async () => {
        const server = new EchoProto();
        const serving = loop.sockAccept(listener).then(([conn]) => loop.connectAcceptedSocket(() => server, conn, { ssl: serverContext(), sslHandshakeTimeout: 5 }));
        const [[tr, cp], [str]] = await Promise.all([
          loop.createConnection(() => new CollectProto(5), '127.0.0.1', port, { ssl: clientContext(), serverHostname: 'localhost' }),
          serving,
        ]);
        t.ok(str instanceof SSLProtocolTransport, 'the accepted side is a TLS transport');
        tr.write(Buffer.from('hello'));
        t.equal((await cp.done).toString(), 'hello');
        await closeWait(loop, tr);
        await waitFor(loop, () => server.events.includes('lost'), 5);
      });
    });

    t.test("ALPN: the protocol both sides agree on (sslObject's alpnProtocol, memtls: alpnSelected())", async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext({ alpnProtocols: ['h2', 'http/1.1'] }) });
        const [tr] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port, {
          ssl: clientContext({ alpnProtocols: ['http/1.1'] }),
          serverHostname: 'localhost',
        });
        const so = tr.getExtraInfo('sslObject');
        t.equal(engine === 'node' ? (so as tls.TLSSocket).alpnProtocol : (so as memtls.Connection).alpnSelected(), 'http/1.1');
        await closeWait(loop, tr);
        srv.close();
        await srv.waitClosed();
      });
    });
  });
}
