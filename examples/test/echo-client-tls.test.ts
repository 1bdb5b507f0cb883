// echo-client --tls against the loop-tls-echo-server example, as a user runs
// them: every byte checked; a wrong --server-hostname fails verification;
// --tls with --udp, or --ca without --tls, is a usage error.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { LAUNCHER, REPO, startExample } from '../../test/support/example.js';

function client(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LAUNCHER, 'echo-client', ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('echo-client --tls: 20 connections x 50 messages, every byte checked', async (t) => {
  const ex = await startExample('loop-tls-echo-server', ['--port', '0']);
  const r = client(['--tls', '--port', String(ex.port), '--connections', '20', '--messages', '50', '--size', '3000']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /over TLS \(127\.0\.0\.1\)/);
  t.match(r.stdout, /summary: 1000 messages, 3000000 bytes/);
  t.match(r.stdout, /errors 0/);
  const bad = client(['--tls', '--port', String(ex.port), '--connections', '1', '--messages', '1', '--server-hostname', 'wrong.example']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /SSLCertVerificationError: \[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: Hostname mismatch/);
  t.equal(await ex.stop('SIGTERM'), 0);
});

t.test('echo-client --tls --udp and --ca without --tls are usage errors', async (t) => {
  t.equal(client(['--tls', '--udp', '--port', '9']).status, 2);
  t.equal(client(['--ca', '/x', '--port', '9']).status, 2);
  const missing = client(['--tls', '--ca', '/nonexistent.pem', '--port', '9']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /--ca: /);
});
