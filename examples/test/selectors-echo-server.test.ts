// The selectors-echo-server example, as a user runs it, on every backend (see
// test/support/echo-server-suite.ts). DefaultSelector is epoll on Linux.
import t from 'tap';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { echoServerSuite } from '../../test/support/echo-server-suite.js';
import { echoRoundTrip, startExample } from '../../test/support/example.js';

echoServerSuite('selectors-echo-server', { defaultBackend: 'epoll', backends: ['select', 'poll', 'epoll', 'kqueue', 'devpoll'] });

t.test('--blocking: the docs loop echoes whole and stops on SIGTERM', async (t) => {
  const ex = await startExample('selectors-echo-server', ['--port', '0', '--blocking']);
  t.equal(ex.backend, 'epoll');
  const payloads = [Buffer.from('hello\n'), randomBytes(1 << 20), randomBytes(777), randomBytes(64 * 1024)];
  const echoed = await Promise.all(payloads.map((p) => echoRoundTrip(ex.host, ex.port, p)));
  for (let i = 0; i < payloads.length; i++) t.ok(echoed[i]!.equals(payloads[i]!), `client ${i} got its ${payloads[i]!.length} bytes back`);
  t.equal(await ex.stop('SIGTERM'), 0, 'exit code 0 on SIGTERM');
  t.match(ex.stdout(), /stopped/);
  t.equal(ex.stderr(), '');
});

t.test('--blocking on each backend', async (t) => {
  for (const backend of ['select', 'poll', 'epoll']) {
    const ex = await startExample('selectors-echo-server', ['--port', '0', '--blocking', '--backend', backend]);
    t.equal(ex.backend, backend);
    const payload = randomBytes(256 * 1024);
    t.ok((await echoRoundTrip(ex.host, ex.port, payload)).equals(payload), backend);
    t.equal(await ex.stop('SIGINT'), 0, `${backend}: exit code 0 on SIGINT`);
  }
});

// select() never comes back empty while a client keeps it busy: the yield
// every YIELD_EVERY turns is what lets the signal through.
t.test('--blocking stops on SIGINT while a client keeps it busy', async (t) => {
  const ex = await startExample('selectors-echo-server', ['--port', '0', '--blocking']);
  const sock = net.connect(ex.port, ex.host);
  sock.setNoDelay(true);
  let replies = 0;
  let busy = true;
  const ping = Buffer.from('x'.repeat(64));
  sock.on('data', (d) => {
    replies += d.length;
    if (busy && replies % 64 === 0) sock.write(ping);
  });
  sock.on('error', () => {});
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write(ping);
  const until = Date.now() + 5000;
  while (replies < 64 * 4096 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.ok(replies >= 64 * 4096, `echoed ${replies / 64} messages before the signal`);
  const started = Date.now();
  t.equal(await ex.stop('SIGINT'), 0, 'exit code 0 on SIGINT under load');
  t.ok(Date.now() - started < 5000, 'stopped within 5 s');
  busy = false;
  sock.destroy();
});
