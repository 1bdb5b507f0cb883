// Hostile TLS arguments: bad contexts, bad options and bad timeouts, each
// refused with asyncio's (or Python's ssl module's) error class before any
// socket is made or with the socket closed, never a crash or a leaked
// descriptor. Ports of the argument checks of CPython 3.11
// test_asyncio/test_base_events.py (test_create_connection_ssl_*,
// test_create_server_ssl_*), test_sslproto.py (test_handshake_timeout_zero,
// test_handshake_timeout_negative) and test_ssl.py's context errors.
import t from 'tap';
import * as tls from 'node:tls';
import { socket as S } from '@iomux/core-native';
import { RuntimeError, SSLError, ValueError, createSslContext, type Transport } from '@iomux/loop';
import { caught } from '../../../test/support/caught.js';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { newLoop, recordingLogger, waitFor } from './helpers.js';
import { CollectProto, ENGINES, EchoProto, clientContext, fixture, serverContext, closeWait, useEngine } from './tls-support.js';

checkNoFdLeak(t);

for (const engine of ENGINES) {
  t.test(engine, async (t) => {
    useEngine(t, engine);

    t.test('the ssl keywords without ssl, and ssl without a hostname', async (t) => {
      const loop = newLoop(t);
      const f = () => new CollectProto(1);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { serverHostname: 'x' }), new ValueError('server_hostname is only meaningful with ssl'));
        await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { sslHandshakeTimeout: 1 }), new ValueError('ssl_handshake_timeout is only meaningful with ssl'));
        await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { sslShutdownTimeout: 1 }), new ValueError('ssl_shutdown_timeout is only meaningful with ssl'));
        await t.rejects(loop.createServer(f, '127.0.0.1', 0, { sslHandshakeTimeout: 1 }), new ValueError('ssl_handshake_timeout is only meaningful with ssl'));
        await t.rejects(loop.createServer(f, '127.0.0.1', 0, { sslShutdownTimeout: 1 }), new ValueError('ssl_shutdown_timeout is only meaningful with ssl'));
        await t.rejects(loop.createConnection(f, null, 1, { ssl: true }), new ValueError('You must set server_hostname when using ssl without a host'));
        await t.rejects(loop.createUnixConnection(f, '/nonexistent', { ssl: clientContext() }), new ValueError('You must set server_hostname when using ssl without a host'));
        await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { ssl: true, serverHostname: 5 as never }), TypeError);
      });
    });

    t.test('a server needs a context: ssl true or false is a TypeError, as in asyncio', async (t) => {
      const loop = newLoop(t);
      await loop.runUntilComplete(async () => {
        await t.rejects(loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: true }), new TypeError('ssl argument must be an SSLContext or None'));
        await t.rejects(loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: false }), new TypeError('ssl argument must be an SSLContext or None'));
        await t.rejects(loop.createUnixServer(() => new EchoProto(), '/nonexistent/x', { ssl: true }), TypeError);
        const [a, b] = S.socketpair();
        t.teardown(() => (a.close(), b.close()));
        await t.rejects(loop.connectAcceptedSocket(() => new EchoProto(), a, { ssl: true }), new ValueError('Server side SSL needs a valid SSLContext'));
        t.ok(a.fileno() >= 0, 'the refused socket stays the caller\'s');
      });
    });

    t.test('test_handshake_timeout_zero, _negative, and timeouts that are no numbers', async (t) => {
      const loop = newLoop(t);
      const f = () => new CollectProto(1);
      await loop.runUntilComplete(async () => {
        for (const bad of [0, -1, -0.5, NaN]) {
          await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { ssl: clientContext(), sslHandshakeTimeout: bad }), new ValueError(`ssl_handshake_timeout should be a positive number, got ${bad}`));
          await t.rejects(loop.createServer(f, '127.0.0.1', 0, { ssl: serverContext(), sslShutdownTimeout: bad }), new ValueError(`ssl_shutdown_timeout should be a positive number, got ${bad}`));
        }
        await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { ssl: clientContext(), sslHandshakeTimeout: '5' as never }), TypeError);
        await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { ssl: clientContext(), sslShutdownTimeout: {} as never }), TypeError);
      });
    });

    t.test('ssl values that are no context: TypeError', async (t) => {
      const loop = newLoop(t);
      const f = () => new CollectProto(1);
      await loop.runUntilComplete(async () => {
        for (const bad of [42, 'ctx', [], () => 0, new Map(), Symbol('x')]) {
          await t.rejects(loop.createConnection(f, '127.0.0.1', 1, { ssl: bad as never }), { name: 'TypeError', message: /^sslcontext is expected to be an instance of ssl\.SSLContext/ });
          await t.rejects(loop.createServer(f, '127.0.0.1', 0, { ssl: bad as never }), TypeError);
        }
      });
    });

    t.test("bad createSecureContext options: OpenSSL's refusals as SSLError, Node's checks as TypeError/ValueError", async (t) => {
      t.throws(() => createSslContext({ key: 'not a key', cert: 'not a cert' }), { name: 'SSLError', message: /^\[PEM: NO_START_LINE\] no start line$/ });
      const e = (() => {
        try {
          createSslContext({ key: fixture('ca-key.pem'), cert: fixture('cert.pem') });
        } catch (err) {
          return err;
        }
        return null;
      })();
      t.ok(e instanceof SSLError, 'a key that does not match the certificate');
      t.equal((e as SSLError).reason, 'KEY_VALUES_MISMATCH');
      t.equal((e as SSLError).library, 'X509');
      t.throws(() => createSslContext({ ciphers: 'NO-SUCH-CIPHER' }), { name: 'SSLError', reason: 'NO_CIPHER_MATCH' });
      // OpenSSL's decoders throw Errors without a code (found by the fuzzer): still SSLError.
      t.throws(() => createSslContext({ pfx: 'junk' }), { name: 'SSLError', message: '[SSL] not enough data' });
      t.throws(() => createSslContext({ pfx: Buffer.alloc(3) }), SSLError);
      t.throws(() => createSslContext({ sigalgs: 'junk' }), SSLError);
      t.throws(() => createSslContext({ minVersion: 'TLSv9' as never }), ValueError);
      t.throws(() => createSslContext({ ca: 5 as never }), TypeError);
      t.throws(() => createSslContext(null as never), TypeError);
      t.throws(() => createSslContext({ verify: 'yes' as never }), TypeError);
      t.throws(() => createSslContext({ verify: false, checkHostname: true }), new ValueError('Cannot set verify_mode to CERT_NONE when check_hostname is enabled.'));
      const loop = newLoop(t);
      await loop.runUntilComplete(async () => {
        // Options given straight as `ssl` are checked the same way, before any socket.
        await t.rejects(loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: { key: 'junk', cert: 'junk' } }), SSLError);
        await t.rejects(loop.createConnection(() => new EchoProto(), '127.0.0.1', 1, { ssl: { ciphers: 'NOPE' } }), SSLError);
      });
    });

    t.test('ALPN lists: Python\'s checks', async (t) => {
      t.throws(() => createSslContext({ alpnProtocols: [''] }), new ValueError('ALPN protocols must be 1 to 255 in length, got 0'));
      t.throws(() => createSslContext({ alpnProtocols: ['x'.repeat(256)] }), ValueError);
      t.throws(() => createSslContext({ alpnProtocols: 5 as never }), TypeError);
      t.throws(() => createSslContext({ alpnProtocols: 'h2' as never }), TypeError);
      t.throws(() => createSslContext({ alpnProtocols: [5] as never }), TypeError);
      const ctx = createSslContext();
      t.throws(() => ctx.setAlpnProtocols(function* () {
        for (;;) yield 'h2';
      }()), new ValueError('too many ALPN protocols'));
    });

    t.test('startTls: no context, a closed transport, an object that is no transport', async (t) => {
      const loop = newLoop(t);
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0);
        const [tr, plain] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port);
        const p = new CollectProto(1);
        await t.rejects(loop.startTls(tr, p, null), { name: 'TypeError', message: /^sslcontext is expected to be an instance of ssl\.SSLContext/ });
        await t.rejects(loop.startTls(tr, p, true), TypeError);
        await t.rejects(loop.startTls(tr, p, 'ctx' as never), TypeError);
        await t.rejects(loop.startTls({} as Transport, p, clientContext()), { name: 'TypeError', message: /is not supported by start_tls\(\)$/ });
        await t.rejects(loop.startTls(tr, p, clientContext(), { serverSide: 'yes' as never }), TypeError);
        await t.rejects(loop.startTls(tr, p, clientContext(), { sslHandshakeTimeout: -1 }), ValueError);
        await t.rejects(loop.startTls(tr, null as never, clientContext()), TypeError);
        // asyncio's _create_transport_context: a server side without a context.
        await t.rejects(loop.startTls(tr, p, tls.createSecureContext(), { serverSide: 'x' as never }), TypeError);
        tr.close();
        await t.rejects(loop.startTls(tr, p, clientContext()), { name: 'TypeError', message: /is not supported by start_tls\(\)$/ });
        await waitFor(loop, () => plain.events.includes('lost'), 10);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('misuse of a TLS transport: writeEof, bad data, writes after close', async (t) => {
      const loop = newLoop(t);
      const log = recordingLogger();
      loop.logger = log.logger;
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const [tr, cp] = await loop.createConnection(() => new CollectProto(3), '127.0.0.1', srv.address()!.port, { ssl: clientContext(), serverHostname: 'localhost' });
        // Python's NotImplementedError is a RuntimeError: an error class the package exports (the fuzzer found a plain Error).
        t.throws(() => tr.writeEof(), { name: 'NotImplementedError' });
        t.ok(caught(t, () => tr.writeEof()) instanceof RuntimeError, 'a RuntimeError');
        t.throws(() => tr.write('str' as never), { name: 'TypeError', message: 'data: expecting a bytes-like instance, got str' });
        t.throws(() => tr.write(null as never), TypeError);
        t.throws(() => tr.writelines([Buffer.from('a'), 5 as never]), TypeError);
        t.throws(() => tr.setWriteBufferLimits(1, 2), new ValueError('high (1) must be >= low (2) must be >= 0'));
        tr.write(new Uint8Array(0));
        tr.writelines([Buffer.from('a'), new Uint8Array([98, 99])]);
        t.equal((await cp.done).toString(), 'abc', 'typed arrays are bytes too');
        await closeWait(loop, tr);
        for (let i = 0; i < 10; i++) tr.write(Buffer.from('late'));
        tr.close();
        t.equal(tr.isClosing(), true);
        t.ok(log.warn.some((w) => w[0] === 'SSL connection is closed'), "asyncio's warning after 5 writes to a closed transport");
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('the raw transport under startTls ended by the caller: the next TLS write is a fatal error, not an uncaught exception', async (t) => {
      const loop = newLoop(t);
      const handled: Array<{ message?: string; exception?: unknown }> = [];
      loop.setExceptionHandler((_l, ctx) => handled.push(ctx));
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const [raw] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port);
        const p = new CollectProto(1);
        const tr = await loop.startTls(raw, p, clientContext(), { serverHostname: 'localhost' });
        // asyncio: the old transport must not be used after start_tls; the fuzzer did.
        raw.writeEof();
        tr.write(Buffer.from('x'));
        await waitFor(loop, () => p.events.includes('lost'), 10);
        t.equal(handled.length, 1, "one report to the exception handler (asyncio's _write_appdata)");
        t.equal(handled[0]!.message, 'Fatal error on SSL protocol');
        t.match(handled[0]!.exception, { name: 'RuntimeError', message: 'Cannot call write() after write_eof()' });
        t.equal(tr.isClosing(), true);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test('startTls twice on one transport: the second is refused; a replaced protocol still ends at the handshake timeout', async (t) => {
      const loop = newLoop(t);
      await loop.runUntilComplete(async () => {
        // Found by the fuzzer: the first upgrade lost its transport's events and its promise never settled.
        const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext() });
        const [raw] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port);
        const first = loop.startTls(raw, new CollectProto(1), clientContext(), { serverHostname: 'localhost' });
        await t.rejects(loop.startTls(raw, new CollectProto(1), clientContext(), { serverHostname: 'localhost' }), { name: 'TypeError', message: /is not supported by start_tls\(\): already upgraded$/ });
        const tr = await first;
        t.equal(tr.isClosing(), false, 'the first upgrade completed');
        tr.abort();
        // A silent peer, and the raw transport's protocol replaced during the handshake.
        const silent = await loop.createServer(() => ({}), '127.0.0.1', 0);
        const [raw2] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', silent.address()!.port);
        const upgrading = loop.startTls(raw2, new CollectProto(1), clientContext(), { serverHostname: 'localhost', sslHandshakeTimeout: 0.1 });
        // One turn: the handshake started (its ClientHello went to the silent peer).
        await new Promise<void>((resolve) => loop.callSoon(resolve));
        raw2.setProtocol(new CollectProto(1));
        const started = loop.time();
        await t.rejects(upgrading, { name: 'ConnectionAbortedError', message: 'SSL handshake is taking longer than 0.1 seconds: aborting the connection' });
        t.ok(loop.time() - started < 2, 'within the handshake timeout');
        srv.close();
        silent.close();
        await srv.waitClosed();
        await silent.waitClosed();
      });
    });
  });
}
