// sslproto.ts and tls-context.ts when things go wrong, on every selector
// backend: a handshake timeout (both sides), a peer that resets or closes
// mid-handshake, a plain-text peer, verification failures (wrong hostname,
// unknown CA, an expired certificate made by this test), an unclean
// shutdown, and the shutdown timeout. Ports of CPython 3.11
// test_asyncio/test_sslproto.py (test_handshake_timeout,
// test_connection_lost, test_eof_received_waiter, test_close_during_handshake)
// and test_ssl.py (test_create_connection_ssl_failed_certificate,
// test_handshake_timeout_handler_leak, test_shutdown_timeout_handler_*).
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {
  ConnectionAbortedError,
  ConnectionResetError,
  OSError,
  SSLCertVerificationError,
  SSLError,
  SSLProtocol,
  TimeoutError,
  ValueError,
  createSslContext,
  type EventLoop,
} from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, collectExceptions, newLoop, recordingLogger, waitFor } from './helpers.js';
import { CollectProto, ENGINES, EchoProto, ROOT, clientContext, fixture, nodeTlsEchoServer, serverContext, closeWait, useEngine } from './tls-support.js';

checkNoFdLeak(t);

/** A Node TCP server calling `onConn` per connection; closed at teardown. */
async function rawServer(t: Test, onConn: (s: net.Socket) => void): Promise<number> {
  const conns = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    conns.add(s);
    s.on('error', () => {});
    s.on('close', () => conns.delete(s));
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const c of conns) c.destroy();
    srv.close();
  });
  return (srv.address() as net.AddressInfo).port;
}

let expiredMade: { key: Buffer; cert: Buffer; ca: Buffer } | null | undefined;

/** The expired certificate and its (new) CA, made once per run by scripts/make-test-certs.sh (null if that fails). */
function makeExpired(): { key: Buffer; cert: Buffer; ca: Buffer } | null {
  if (expiredMade !== undefined) return expiredMade;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-certs-'));
  try {
    const r = spawnSync('sh', [path.join(ROOT, 'scripts/make-test-certs.sh'), dir], { encoding: 'utf8', timeout: 30_000 });
    const read = (n: string): Buffer => fs.readFileSync(path.join(dir, n));
    expiredMade = r.status !== 0 ? null : { key: read('expired-key.pem'), cert: read('expired-cert.pem'), ca: read('ca.pem') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return expiredMade;
}
const HAS_OPENSSL = spawnSync('openssl', ['version']).status === 0;

async function connectFails(loop: EventLoop, port: number, opts: Record<string, unknown>): Promise<unknown> {
  try {
    const [tr] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', port, { ssl: clientContext(), serverHostname: 'localhost', ...opts });
    tr.abort();
  } catch (e) {
    return e;
  }
  throw new Error('the connection was made');
}

for (const engine of ENGINES) for (const backend of BACKENDS) {
  t.test(`${engine} ${backend}`, async (t) => {
    useEngine(t, engine);
    t.test('test_handshake_timeout: a server that never answers', async (t) => {
      const loop = newLoop(t, backend);
      const seen = collectExceptions(loop);
      const port = await rawServer(t, () => {});
      await loop.runUntilComplete(async () => {
        const t0 = loop.time();
        const e = await connectFails(loop, port, { sslHandshakeTimeout: 0.2 });
        t.ok(e instanceof ConnectionAbortedError, 'ConnectionAbortedError');
        t.equal((e as Error).message, 'SSL handshake is taking longer than 0.2 seconds: aborting the connection');
        t.ok(loop.time() - t0 >= 0.19, 'not before the timeout');
      });
      t.same(seen, [], 'an OSError is not reported to the exception handler');
    });

    t.test('server-side handshake timeout: a client that never speaks is dropped', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        let made = 0;
        const srv = await loop.createServer(() => ({ connectionMade: () => void made++ }), '127.0.0.1', 0, { ssl: serverContext(), sslHandshakeTimeout: 0.2 });
        const c = net.connect(srv.address()!.port, '127.0.0.1');
        c.on('error', () => {});
        let closed = false;
        c.on('close', () => (closed = true));
        c.resume();
        await waitFor(loop, () => closed, 5, 'the server to drop the connection');
        t.equal(made, 0, 'the app protocol never saw it');
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('test_close_during_handshake: the app transport closed before the handshake ends', async (t) => {
      const loop = newLoop(t, backend);
      const port = await rawServer(t, () => {});
      await loop.runUntilComplete(async () => {
        const raw = new CollectProto(1);
        const [tr] = await loop.createConnection(() => raw, '127.0.0.1', port);
        const app = new CollectProto(1);
        let failed: unknown = null;
        const waiter = { resolve: () => (failed = 'resolved'), reject: (e: unknown) => (failed = e) };
        const ssl = new SSLProtocol(loop as never, app, clientContext(), waiter, { serverHostname: 'localhost' });
        tr.setProtocol(ssl as never);
        ssl.connectionMade(tr);
        ssl._appTransport!.close();
        t.equal(tr.isClosing(), true, 'the raw transport is aborted');
        await waitFor(loop, () => failed !== null, 5);
        t.ok(failed instanceof ConnectionResetError, `the waiter fails: ${String(failed)}`);
        t.same(app.events, [], 'the app protocol saw nothing');
      });
    });

    t.test('a peer that resets mid-handshake: ConnectionResetError', async (t) => {
      const loop = newLoop(t, backend);
      const port = await rawServer(t, (s) => s.once('data', () => s.resetAndDestroy()));
      await loop.runUntilComplete(async () => {
        const e = await connectFails(loop, port, {});
        t.ok(e instanceof ConnectionResetError, `ConnectionResetError (${String(e)})`);
      });
    });

    t.test('test_eof_received_waiter: a peer that closes mid-handshake', async (t) => {
      const loop = newLoop(t, backend);
      const port = await rawServer(t, (s) => s.once('data', () => s.end()));
      await loop.runUntilComplete(async () => {
        const e = await connectFails(loop, port, {});
        t.ok(e instanceof ConnectionResetError, `ConnectionResetError (${String(e)})`);
      });
    });

    t.test('a plain-text peer: SSLError, and a server that survives garbage', async (t) => {
      const loop = newLoop(t, backend);
      const port = await rawServer(t, (s) => s.once('data', () => s.write('HTTP/1.0 400 Bad Request\r\n\r\n')));
      const seen = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const e = await connectFails(loop, port, {});
        t.ok(e instanceof SSLError && e instanceof OSError, `SSLError (${String(e)})`);
        t.match((e as Error).message, /^\[SSL: [A-Z_]+\] /, "Python's [SSL: REASON] message");
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const sport = srv.address()!.port;
        const c = net.connect(sport, '127.0.0.1', () => c.write('GET / HTTP/1.0\r\n\r\n'));
        c.on('error', () => {});
        let closed = false;
        c.on('close', () => (closed = true));
        c.resume();
        await waitFor(loop, () => closed, 5, 'garbage to be refused');
        const [tr, cp] = await loop.createConnection(() => new CollectProto(3), '127.0.0.1', sport, { ssl: clientContext(), serverHostname: 'localhost' });
        tr.write(Buffer.from('abc'));
        t.equal((await cp.done).toString(), 'abc', 'the server still serves');
        await closeWait(loop, tr);
        srv.close();
        await srv.waitClosed();
      });
      t.same(seen, [], 'nothing reported outside debug mode');
    });

    t.test('test_create_connection_ssl_failed_certificate: wrong hostname, unknown CA', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const port = srv.address()!.port;
        const e = await connectFails(loop, port, { serverHostname: 'wrong.example' });
        t.ok(e instanceof SSLCertVerificationError, `SSLCertVerificationError (${String(e)})`);
        t.ok(e instanceof SSLError && e instanceof ValueError && e instanceof OSError, 'an SSLError, a ValueError and an OSError');
        const v = e as SSLCertVerificationError;
        t.equal(v.verifyCode, 62);
        t.equal(v.verifyMessage, "Hostname mismatch, certificate is not valid for 'wrong.example'.");
        t.equal(v.message, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'wrong.example'.");
        t.equal(v.reason, 'CERTIFICATE_VERIFY_FAILED');

        const u = (await connectFails(loop, port, { ssl: true, serverHostname: 'localhost' })) as SSLCertVerificationError;
        t.ok(u instanceof SSLCertVerificationError, `unknown CA (${String(u)})`);
        t.ok(u.verifyCode === 20 || u.verifyCode === 21, `verifyCode ${u.verifyCode}: the issuer is unknown`);
        t.match(u.message, /^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: unable to /);

        // serverHostname '' skips the hostname check (asyncio's way); a CA-verified peer then passes.
        const [tr] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', port, { ssl: clientContext(), serverHostname: '' });
        t.equal((tr.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
        await closeWait(loop, tr);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('an expired certificate made in the test: CERT_HAS_EXPIRED (its CA unknown too: node reports the expiry, memtls the CA, as CPython)', { skip: HAS_OPENSSL ? false : 'needs the openssl CLI' }, async (t) => {
      const expired = makeExpired();
      if (expired === null) return t.fail('scripts/make-test-certs.sh failed');
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: createSslContext({ key: expired.key, cert: expired.cert }) });
        const port = srv.address()!.port;
        // Trusting its CA: the expiry alone.
        const e = (await connectFails(loop, port, { ssl: createSslContext({ ca: expired.ca }) })) as SSLCertVerificationError;
        t.ok(e instanceof SSLCertVerificationError, String(e));
        t.equal(e.verifyCode, 10);
        t.equal(e.code, 'CERT_HAS_EXPIRED');
        t.equal(e.message, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired');
        // Not trusting it either: Node's verification goes on to the expiry, OpenSSL's (Python's, memtls's) stops at the first error.
        const u = (await connectFails(loop, port, {})) as SSLCertVerificationError;
        t.ok(u instanceof SSLCertVerificationError, String(u));
        if (engine === 'node') t.equal(u.verifyCode, 10, 'node: certificate has expired');
        else t.equal(u.message, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate', 'memtls: the unknown CA');
        // Python's verify_mode = CERT_NONE: the connection is made anyway.
        const [tr] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', port, { ssl: createSslContext({ verify: false }) });
        t.ok(tr.getExtraInfo('peercert'), 'the certificate is still there to look at');
        await closeWait(loop, tr);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('a server that requires client certificates (requestCert + verify): good, expired, none', async (t) => {
      const loop = newLoop(t, backend);
      const seen = collectExceptions(loop);
      loop.setDebug(true);
      loop.slowCallbackDuration = 10;
      loop.logger = recordingLogger().logger;
      await loop.runUntilComplete(async () => {
        const protos: EchoProto[] = [];
        const ctx = serverContext({ ca: fixture('ca.pem'), requestCert: true, verify: true, checkHostname: false });
        const srv = await loop.createServer(() => (protos.push(new EchoProto()), protos.at(-1)!), '127.0.0.1', 0, { ssl: ctx });
        const port = srv.address()!.port;
        // A client certificate the CA signed: served, and the server sees it.
        const [tr, cp] = await loop.createConnection(() => new CollectProto(2), '127.0.0.1', port, {
          ssl: clientContext({ key: fixture('key.pem'), cert: fixture('cert.pem') }),
          serverHostname: 'localhost',
        });
        tr.write(Buffer.from('ok'));
        t.equal((await cp.done).toString(), 'ok');
        await waitFor(loop, () => protos.length === 1 && protos[0]!.transport !== null, 5);
        t.equal((protos[0]!.transport!.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
        await closeWait(loop, tr);
        // An expired one (OpenSSL lets it through; the verdict is checked after the handshake), and none at all.
        for (const extra of [{ key: fixture('expired-key.pem'), cert: fixture('expired-cert.pem') }, {}]) {
          const c = tls.connect({ port, host: '127.0.0.1', ca: fixture('ca.pem'), servername: 'localhost', ...extra });
          c.on('error', () => {});
          let closed = false;
          c.on('close', () => (closed = true));
          c.resume();
          await waitFor(loop, () => closed, 5, 'the server to refuse the client');
        }
        t.equal(protos.length, 3, 'a protocol was made per connection');
        t.ok(protos.slice(1).every((p) => p.events.length === 0), 'the refused clients never reached connectionMade');
        const refused = seen.filter((c) => c.message === 'Error on transport creation for incoming connection').map((c) => c.exception);
        t.ok(refused.some((e) => e instanceof SSLCertVerificationError && e.verifyCode === 10), 'the expired certificate: verifyCode 10 (debug mode reports it)');
        t.ok(refused.every((e) => e instanceof SSLError), 'each refusal is an SSLError');
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('an unclean shutdown (EOF without close_notify): eofReceived, then connectionLost(null)', async (t) => {
      const loop = newLoop(t, backend);
      await loop.runUntilComplete(async () => {
        const protos: EchoProto[] = [];
        const srv = await loop.createServer(() => (protos.push(new EchoProto()), protos.at(-1)!), '127.0.0.1', 0, { ssl: serverContext() });
        const raw = net.connect(srv.address()!.port, '127.0.0.1');
        raw.on('error', () => {});
        const c = tls.connect({ socket: raw, ca: fixture('ca.pem'), servername: 'localhost' });
        c.on('error', () => {});
        const echoed = new Promise((r) => c.once('data', r));
        await new Promise((r) => c.once('secureConnect', r));
        c.write('x');
        await echoed;
        raw.end();
        await waitFor(loop, () => protos[0]!.events.includes('lost'), 5);
        t.same(protos[0]!.events, ['made', 'eof', 'lost']);
        t.equal(protos[0]!.lostWith, null, 'asyncio 3.11 treats it as a close');
        c.destroy();
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('test_start_tls_client_corrupted_ssl: garbage after the handshake is a fatal SSLError', async (t) => {
      const loop = newLoop(t, backend);
      const nodeSrv = await nodeTlsEchoServer(t);
      // A TCP relay that, once told, sends the client bytes that are no TLS record.
      let corrupt: (() => void) | null = null;
      const port = await rawServer(t, (c) => {
        const u = net.connect((nodeSrv.address() as net.AddressInfo).port, '127.0.0.1');
        u.on('error', () => {});
        u.pipe(c);
        c.pipe(u);
        c.on('close', () => u.destroy());
        corrupt = () => c.write(Buffer.alloc(64, 0x42));
      });
      const seen = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const cp = new CollectProto(2);
        const [tr] = await loop.createConnection(() => cp, '127.0.0.1', port, { ssl: clientContext(), serverHostname: 'localhost' });
        tr.write(Buffer.from('hi'));
        await cp.done;
        corrupt!();
        await waitFor(loop, () => cp.events.includes('lost'), 5);
        t.ok(cp.lostWith instanceof SSLError, `connectionLost(SSLError) (${String(cp.lostWith)})`);
        t.match(cp.lostWith?.message, /^\[SSL: [A-Z_]+\] /);
        t.equal(tr.isClosing(), true);
      });
      t.same(seen, [], 'an SSLError is an OSError: not reported outside debug mode');
    });

    t.test('test_shutdown_timeout: a peer that never answers close_notify', async (t) => {
      const loop = newLoop(t, backend);
      const nodeSrv = await nodeTlsEchoServer(t);
      // A TCP relay to it that swallows what the client sends once `cut`: our close_notify never arrives.
      let cut = false;
      const port = await rawServer(t, (c) => {
        const u = net.connect((nodeSrv.address() as net.AddressInfo).port, '127.0.0.1');
        u.on('error', () => {});
        u.pipe(c);
        c.on('data', (d) => void (cut || u.write(d)));
        c.on('close', () => u.destroy());
      });
      await loop.runUntilComplete(async () => {
        const cp = new CollectProto(2);
        const [tr] = await loop.createConnection(() => cp, '127.0.0.1', port, { ssl: clientContext(), serverHostname: 'localhost', sslShutdownTimeout: 0.3 });
        tr.write(Buffer.from('hi'));
        await cp.done;
        cut = true;
        const t0 = loop.time();
        tr.close();
        await waitFor(loop, () => cp.events.includes('lost'), 5);
        t.ok(loop.time() - t0 >= 0.29, 'after the shutdown timeout');
        t.ok(cp.lostWith instanceof TimeoutError, `connectionLost(TimeoutError) (${String(cp.lostWith)})`);
        t.equal(cp.lostWith?.message, 'SSL shutdown timed out');
      });
    });
  });
}
