// The loop-tls-echo-server example, as a user runs it, on every backend: a
// Node tls client that trusts the test CA gets every byte back, with the
// certificate verified for localhost; a plain-text client is refused and the
// server goes on; --help names the test-only certificate.
import t from 'tap';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { LAUNCHER, REPO, startExample } from '../../test/support/example.js';

const CA = fs.readFileSync(path.join(REPO, 'examples/fixtures/tls/ca.pem'));

function tlsRoundTrip(port: number, payload: Buffer, alpn?: string[]): Promise<{ back: Buffer; authorized: boolean; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s = tls.connect({ host: '127.0.0.1', port, ca: CA, servername: 'localhost', ALPNProtocols: alpn }, () => s.write(payload));
    const timer = setTimeout(() => (s.destroy(), reject(new Error('timed out'))), 15000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= payload.length) {
        clearTimeout(timer);
        const r = { back: Buffer.concat(chunks), authorized: s.authorized, alpn: s.alpnProtocol ?? null };
        s.end();
        resolve(r);
      }
    });
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

for (const backend of ['select', 'poll', 'epoll']) {
  t.test(`--backend ${backend}: TLS clients get their bytes back`, async (t) => {
    const ex = await startExample('loop-tls-echo-server', ['--port', '0', '--backend', backend]);
    t.equal(ex.backend, backend);
    t.match(ex.stdout(), /connect with: npm run example -- echo-client --tls --port \d+/);
    const payloads = Array.from({ length: 20 }, (_, i) => randomBytes(i % 5 === 0 ? 300_000 : 1 + i * 997));
    const res = await Promise.all(payloads.map((p) => tlsRoundTrip(ex.port, p)));
    t.ok(res.every((r, i) => r.back.equals(payloads[i]!)), 'every client got its bytes back');
    t.ok(res.every((r) => r.authorized), 'the certificate verified against the test CA');
    // A plain-text client is dropped; the server goes on.
    await new Promise<void>((resolve) => {
      const c = net.connect(ex.port, '127.0.0.1', () => c.write('GET / HTTP/1.0\r\n\r\n'));
      c.on('error', () => {});
      c.on('close', () => resolve());
      c.resume();
    });
    t.ok((await tlsRoundTrip(ex.port, Buffer.from('still here'))).back.equals(Buffer.from('still here')));
    t.equal(await ex.stop('SIGTERM'), 0);
    t.equal(ex.stderr(), '');
  });
}

t.test('--alpn: the protocol is agreed', async (t) => {
  const ex = await startExample('loop-tls-echo-server', ['--port', '0', '--alpn', 'h2,echo']);
  const r = await tlsRoundTrip(ex.port, Buffer.from('x'), ['echo']);
  t.equal(r.alpn, 'echo');
  t.equal(await ex.stop('SIGINT'), 0);
});

t.test('--help names the test-only certificate; a bad --cert is a usage error', async (t) => {
  const help = spawnSync(process.execPath, [LAUNCHER, 'loop-tls-echo-server', '--help'], { encoding: 'utf8', timeout: 15000 });
  t.equal(help.status, 0);
  t.match(help.stdout, /TEST-ONLY certificate/);
  const bad = spawnSync(process.execPath, [LAUNCHER, 'loop-tls-echo-server', '--cert', '/nonexistent.pem'], { encoding: 'utf8', timeout: 15000 });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /cannot load the certificate/);
});
