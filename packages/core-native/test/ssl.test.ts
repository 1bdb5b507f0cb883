// memtls (src/ssl/ over native/ssl*.cc): two engine objects talking through
// their memory BIOs, with real handshakes in the running Node's OpenSSL.
// Error texts are CPython 3.11's (without its "(_ssl.c:NNN)" location).
import t from 'tap';
import * as crypto from 'node:crypto';
import { memtls, SSLError, SSLCertVerificationError, ValueError } from '@iomux/core-native';
import { clientContext, connectedPair, fixtures, handshake, move, pattern, patternByte, serverContext } from './ssl-support.js';

t.test('available in this Node, with its own OpenSSL', async (t) => {
  t.equal(memtls.available, true, memtls.unavailableReason);
  t.equal(memtls.unavailableReason, '');
  t.match(memtls.opensslVersion, /^OpenSSL \d+\.\d+\.\d+/);
  t.ok(memtls.opensslVersion.includes(process.versions.openssl.replace(/\+.*$/, '')), `${memtls.opensslVersion} vs ${process.versions.openssl}`);
});

t.test('TLS 1.3 handshake, data both ways, peer certificate and cipher', async (t) => {
  const [client, server] = connectedPair();
  t.equal(client.handshakeDone, true);
  t.equal(client.version(), 'TLSv1.3');
  t.equal(server.version(), 'TLSv1.3');
  const [name, proto, bits] = client.cipher()!;
  t.match(name, /^TLS_/);
  t.equal(proto, 'TLSv1.3');
  t.ok(bits >= 128);
  t.same(client.verifyResult(), [0, 'ok']);
  t.equal(client.sessionReused(), false);
  const x509 = client.peerX509()!;
  t.equal(x509.subject.trim(), 'CN=localhost');
  t.ok(x509.checkIssued(new crypto.X509Certificate(fixtures.ca)));
  t.equal(server.peerCertificate(), null, 'the server asked for no client certificate');
  const info = client.peerCertificateInfo()!;
  t.equal(info.subject.CN, 'localhost');
  t.equal(info.issuer.CN, 'iomux test CA');
  t.match(info.subjectaltname, /DNS:localhost/);
  t.equal(server.peerCertificateInfo(), null);

  const out = Buffer.alloc(4096);
  t.equal(client.write(Buffer.from('ping')), 4);
  move(client, server);
  const n = server.read(out);
  t.equal(out.subarray(0, n).toString(), 'ping');
  t.equal(server.read(out), -1, 'nothing more: want-read');
  const cipher = Buffer.alloc(4096);
  const c = server.writeTake(Buffer.from('pong!'), 0, 5, cipher);
  t.ok(c > 5, 'a record came out in the same call');
  t.equal(server.outputPending(), 0);
  const m = client.feedRead(cipher, 0, c, out);
  t.equal(out.subarray(0, m).toString(), 'pong!');
});

t.test('TLS 1.2 with a chosen cipher; version bounds', async (t) => {
  const [client, server] = connectedPair(clientContext({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }));
  t.equal(client.version(), 'TLSv1.2');
  t.equal(server.version(), 'TLSv1.2');
  t.same(client.cipher(), ['ECDHE-RSA-AES128-GCM-SHA256', 'TLSv1.2', 128]);
  // A client at 1.3 only against a server at 1.2 only: no shared version.
  const c = new memtls.Connection(clientContext({ minVersion: 'TLSv1.3' }), { serverHostname: 'localhost' });
  const s = new memtls.Connection(serverContext({ maxVersion: 'TLSv1.2' }));
  const err = t.throws(() => handshake(c, s)) as unknown as SSLError;
  t.ok(err instanceof SSLError);
  t.equal(err.library, 'SSL');
  t.match(err.message, /^\[SSL: [A-Z_]+\] /);
  t.throws(() => new memtls.Context({ minVersion: 'TLSv1.1' as never }), ValueError);
});

t.test('TLS 1.3 cipher suites', async (t) => {
  const [client] = connectedPair(clientContext({ ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256' }));
  t.same(client.cipher(), ['TLS_CHACHA20_POLY1305_SHA256', 'TLSv1.3', 256]);
  t.throws(() => clientContext({ ciphersuites: 'NOPE' }), SSLError);
  const e = t.throws(() => clientContext({ ciphers: 'NOPE' })) as unknown as SSLError;
  t.ok(e instanceof SSLError);
  t.equal(e.reason, 'NO_CIPHER_MATCH');
});

t.test('ALPN: the server picks from its own order; no overlap selects nothing', async (t) => {
  const sctx = serverContext({ ALPNProtocols: ['h2', 'http/1.1'] });
  const [c1, s1] = connectedPair(clientContext({ ALPNProtocols: ['http/1.1', 'h2'] }), sctx);
  t.equal(c1.alpnSelected(), 'h2');
  t.equal(s1.alpnSelected(), 'h2');
  const [c2] = connectedPair(clientContext({ ALPNProtocols: [Buffer.from('spdy/3')] }), sctx);
  t.equal(c2.alpnSelected(), null);
  const [c3] = connectedPair(clientContext());
  t.equal(c3.alpnSelected(), null);
  t.throws(() => clientContext({ ALPNProtocols: ['x'.repeat(256)] }), ValueError);
  t.throws(() => clientContext({ ALPNProtocols: [] }), ValueError);
  t.throws(() => clientContext({ ALPNProtocols: [42 as never] }), TypeError);
});

t.test('SNI and host names: localhost, 127.0.0.1 and ::1 pass; a mismatch is SSLCertVerificationError', async (t) => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '::1']) {
    const [c] = connectedPair(clientContext(), serverContext(), host);
    t.equal(c.verifyResult()[0], 0, host);
  }
  for (const [host, text] of [
    ['example.com', "Hostname mismatch, certificate is not valid for 'example.com'."],
    ['10.1.2.3', "IP address mismatch, certificate is not valid for '10.1.2.3'."],
  ] as const) {
    const err = t.throws(() => connectedPair(clientContext(), serverContext(), host)) as unknown as SSLCertVerificationError;
    t.ok(err instanceof SSLCertVerificationError, host);
    t.ok(err instanceof SSLError);
    t.ok(err instanceof ValueError);
    t.equal(err.message, `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${text}`);
    t.equal(err.verifyCode, host === 'example.com' ? 62 : 64);
    t.equal(err.verifyMessage, text);
    t.equal(err.library, 'SSL');
    t.equal(err.reason, 'CERTIFICATE_VERIFY_FAILED');
  }
  // checkHostname off: the same name passes (the chain is still verified).
  const [c] = connectedPair(clientContext({ checkHostname: false }), serverContext(), 'example.com');
  t.equal(c.verifyResult()[0], 0);
  t.throws(() => new memtls.Connection(clientContext()), { name: 'ValueError', message: 'check_hostname requires server_hostname' });
  t.throws(() => new memtls.Connection(serverContext(), { serverHostname: 'x' }), {
    name: 'ValueError', message: 'server_hostname can only be specified in client mode',
  });
  t.equal(clientContext({ verifyMode: 'none' }).checkHostname, false, 'no verification: no host name check by default');
  t.throws(() => clientContext({ verifyMode: 'none', checkHostname: true }), {
    name: 'ValueError', message: 'Cannot set verify_mode to CERT_NONE when check_hostname is enabled.',
  });
});

t.test('SNI reaches the server: its handshake sees the name the client sent', async (t) => {
  // The server's Connection has no servername getter; Node's own tls server does (ssl-node.test.ts).
  // Here: a client with serverHostname sends SNI, one with an IP does not, and both handshake.
  const [c1] = connectedPair(clientContext(), serverContext(), 'localhost');
  const [c2] = connectedPair(clientContext(), serverContext(), '127.0.0.1');
  t.equal(c1.version(), 'TLSv1.3');
  t.equal(c2.version(), 'TLSv1.3');
});

t.test('an expired certificate and a wrong CA fail verification with their codes', async (t) => {
  const expired = serverContext({ cert: fixtures.expiredCert, key: fixtures.expiredKey });
  let err = t.throws(() => connectedPair(clientContext(), expired)) as unknown as SSLCertVerificationError;
  t.ok(err instanceof SSLCertVerificationError);
  t.equal(err.verifyCode, 10);
  t.equal(err.code, 'CERT_HAS_EXPIRED');
  t.equal(err.message, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired');
  // Node's bundled roots (no ca given) do not include the test CA.
  err = t.throws(() => connectedPair(new memtls.Context({}))) as unknown as SSLCertVerificationError;
  t.ok(err instanceof SSLCertVerificationError);
  t.equal(err.verifyCode, 20);
  t.equal(err.verifyMessage, 'unable to get local issuer certificate');
  // A CA list without the test CA (the expired leaf is no CA).
  err = t.throws(() => connectedPair(clientContext({ ca: [fixtures.expiredCert] }))) as unknown as SSLCertVerificationError;
  t.ok(err instanceof SSLCertVerificationError);
  t.equal(err.verifyCode, 20);
  // Verification off: the same expired certificate is accepted, and its result stays readable.
  const [c] = connectedPair(new memtls.Context({ rejectUnauthorized: false, ca: fixtures.ca }), expired);
  t.equal(c.verifyResult()[0], 10);
});

t.test('a server that requires a client certificate', async (t) => {
  const sctx = serverContext({ verifyMode: 'required', ca: fixtures.ca });
  const err = t.throws(() => connectedPair(clientContext(), sctx)) as unknown as SSLError;
  t.ok(err instanceof SSLError);
  t.match(err.reason!, /CERTIFICATE/);
  // The server certificate has clientAuth too: as a client certificate it passes.
  const [c, s] = connectedPair(clientContext({ cert: fixtures.cert, key: fixtures.key }), sctx);
  t.equal(new crypto.X509Certificate(s.peerCertificate()!).subject.trim(), 'CN=localhost');
  t.equal(c.version(), 'TLSv1.3');
});

t.test('close_notify both ways', async (t) => {
  const [client, server] = connectedPair();
  const out = Buffer.alloc(1024);
  t.equal(client.shutdown(), 'sent');
  move(client, server);
  t.equal(server.read(out), 0, 'the server reads the clean close');
  t.equal(server.shutdown(), 'done');
  move(server, client);
  t.equal(client.read(out), 0, 'the client reads the reply');
  t.equal(client.shutdown(), 'done');
  // The other way round, with data in flight before the close.
  const [c2, s2] = connectedPair();
  s2.write(Buffer.from('last words'));
  t.equal(s2.shutdown(), 'sent');
  move(s2, c2);
  const n = c2.read(out);
  t.equal(out.subarray(0, n).toString(), 'last words');
  t.equal(c2.read(out), 0);
  t.equal(c2.shutdown(), 'done');
});

t.test('garbage, a tampered record and a truncated stream are SSLError', async (t) => {
  const s = new memtls.Connection(serverContext());
  s.feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  let err = t.throws(() => s.handshake()) as unknown as SSLError;
  t.ok(err instanceof SSLError);
  t.equal(err.message, '[SSL: HTTP_REQUEST] http request');
  t.equal(err.library, 'SSL');
  t.equal(err.reason, 'HTTP_REQUEST');

  const [client, server] = connectedPair();
  const cipher = Buffer.alloc(4096);
  const n = client.writeTake(Buffer.from('secret'), 0, 6, cipher);
  cipher[n - 1]! ^= 1;  // one bit of the tag
  err = t.throws(() => server.feedRead(cipher, 0, n, Buffer.alloc(64))) as unknown as SSLError;
  t.ok(err instanceof SSLError);
  // OpenSSL 3.0 (Node 20) names the MAC; 3.2+'s record layer (Node 22, 24) says RECORD_LAYER_FAILURE.
  t.match(err.message, /^\[SSL: (DECRYPTION_FAILED_OR_BAD_RECORD_MAC|BAD_RECORD_MAC|RECORD_LAYER_FAILURE)\] /);

  const [c2, s2] = connectedPair();
  const m = c2.writeTake(Buffer.from('half of this'), 0, 12, cipher);
  s2.feed(cipher, 0, m - 5);
  t.equal(s2.read(Buffer.alloc(64)), -1, 'a partial record wants more');
  s2.feedEof();
  err = t.throws(() => s2.read(Buffer.alloc(64))) as unknown as SSLError;
  t.ok(err instanceof SSLError);
  t.equal(err.reason, 'UNEXPECTED_EOF_WHILE_READING');

  // The error queue is left empty: Node's own TLS, on the same thread, still works.
  const d = crypto.createHash('sha256').update('x').digest('hex');
  t.equal(d.length, 64);
});

t.test('16 MiB each way at once, every byte checked', async (t) => {
  const [client, server] = connectedPair();
  const total = 16 << 20;
  const chunk = 65536;
  const sent = [0, 0];
  const got = [0, 0];
  const ends: [memtls.Connection, memtls.Connection][] = [[client, server], [server, client]];
  const out = Buffer.alloc(1 << 16);
  let rounds = 0;
  const deadline = Date.now() + 60_000;
  while ((got[0]! < total || got[1]! < total) && rounds++ < 100_000 && Date.now() < deadline) {
    for (let dir = 0; dir < 2; dir++) {
      const [from, to] = ends[dir]!;
      if (sent[dir]! < total) {
        const len = Math.min(chunk, total - sent[dir]!);
        if (from.write(pattern(sent[dir]!, len, dir)) !== len) {
          t.fail('a write was not taken whole');
          return;
        }
        sent[dir]! += len;
      }
      move(from, to);
      for (let n; (n = to.read(out)) > 0; ) {
        for (let i = 0; i < n; i++) {
          if (out[i] !== patternByte(got[dir]! + i, dir)) {
            t.fail(`direction ${dir}: byte ${got[dir]! + i} differs`);
            return;
          }
        }
        got[dir]! += n;
      }
    }
  }
  t.same(got, [total, total]);
});

t.test('a connection outlives its closed context', async (t) => {
  const cctx = clientContext();
  const sctx = serverContext({ ALPNProtocols: ['h2'] });
  const client = new memtls.Connection(cctx, { serverHostname: 'localhost' });
  const server = new memtls.Connection(sctx);
  cctx.close();
  sctx.close();
  sctx.close();
  handshake(client, server);
  t.equal(client.version(), 'TLSv1.3');
  t.throws(() => new memtls.Connection(sctx), { name: 'ValueError', message: 'operation on a closed TLS context' });
});
