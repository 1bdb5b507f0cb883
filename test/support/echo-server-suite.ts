/**
 * The tests every example echo server passes, started the way a user starts
 * it (test/support/example.ts): it announces itself, echoes exactly what
 * each client sends (several clients at once, one of them large), stops
 * cleanly on SIGINT and on SIGTERM, refuses a bad port; and, where it takes
 * a backend, serves on each one, honours IOMUX_SELECTOR and names the
 * available backends when given an unknown one.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startExample, echoRoundTrip } from './example.js';
import { availableSelectors } from '@iomux/selectors';

export interface EchoServerSuiteOptions {
  /** The backend its listening line names by default. */
  defaultBackend: string;
  /** Backends it takes with --backend (none: it takes no --backend). */
  backends?: string[];
}

export function echoServerSuite(name: string, opts: EchoServerSuiteOptions): void {
  t.test('serves echo and stops on SIGTERM', async (t) => {
    const ex = await startExample(name, ['--port', '0']);
    t.equal(ex.host, '127.0.0.1');
    t.equal(ex.backend, opts.defaultBackend);
    t.ok(ex.port > 0);
    t.match(ex.stdout(), /connect with: nc 127\.0\.0\.1 \d+/);
    const payloads = [Buffer.from('hello\n'), randomBytes(1 << 20), randomBytes(777), randomBytes(64 * 1024)];
    const echoed = await Promise.all(payloads.map((p) => echoRoundTrip(ex.host, ex.port, p)));
    for (let i = 0; i < payloads.length; i++) {
      t.ok(echoed[i]!.equals(payloads[i]!), `client ${i} got its ${payloads[i]!.length} bytes back`);
    }
    t.equal(await ex.stop('SIGTERM'), 0, 'exit code 0 on SIGTERM');
    t.match(ex.stdout(), /stopped/);
    t.equal(ex.stderr(), '');
  });

  t.test('stops on SIGINT', async (t) => {
    const ex = await startExample(name, ['--port', '0', '--host', '127.0.0.1']);
    const got = await echoRoundTrip(ex.host, ex.port, Buffer.from('ping'));
    t.equal(got.toString(), 'ping');
    t.equal(await ex.stop('SIGINT'), 0);
  });

  t.test('rejects a bad port with a message', async (t) => {
    await t.rejects(startExample(name, ['--port', '70000']), /--port must be an integer from 0 to 65535/);
  });

  const backends = opts.backends ?? [];
  if (backends.length === 0) return;

  for (const backend of backends) {
    t.test(`--backend ${backend}`, async (t) => {
      const ex = await startExample(name, ['--port', '0', '--backend', backend]);
      t.equal(ex.backend, backend);
      const payload = randomBytes(256 * 1024);
      t.ok((await echoRoundTrip(ex.host, ex.port, payload)).equals(payload));
      t.equal(await ex.stop('SIGTERM'), 0);
    });
  }

  t.test('IOMUX_SELECTOR picks the backend', async (t) => {
    const ex = await startExample(name, ['--port', '0'], { IOMUX_SELECTOR: 'poll' });
    t.equal(ex.backend, 'poll');
    t.equal((await echoRoundTrip(ex.host, ex.port, Buffer.from('hi'))).toString(), 'hi');
    t.equal(await ex.stop('SIGINT'), 0);
  });

  t.test('an unknown backend is a usage error naming the available ones', async (t) => {
    await t.rejects(startExample(name, ['--backend', 'nope']), new RegExp(`unknown selector backend 'nope'; available: ${availableSelectors().join(', ')}`));
  });
}
