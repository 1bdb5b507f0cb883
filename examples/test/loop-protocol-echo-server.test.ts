// The loop-protocol-echo-server example, as a user runs it, on every backend (see
// test/support/echo-server-suite.ts). DefaultSelector is epoll on Linux.
// With --buffered it echoes through a BufferedProtocol whose one buffer
// serves every connection: many clients at once, some large enough that
// write() must keep a copy of what the socket does not take.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { echoServerSuite } from '../../test/support/echo-server-suite.js';
import { echoRoundTrip, startExample } from '../../test/support/example.js';

echoServerSuite('loop-protocol-echo-server', { defaultBackend: 'epoll', backends: ['select', 'poll', 'epoll', 'kqueue', 'devpoll'] });

for (const backend of ['select', 'poll', 'epoll']) {
  t.test(`--buffered --backend ${backend}: 40 clients at once each get exactly their bytes`, async (t) => {
    const ex = await startExample('loop-protocol-echo-server', ['--port', '0', '--backend', backend, '--buffered']);
    t.equal(ex.backend, backend);
    const payloads = Array.from({ length: 40 }, (_, i) => randomBytes(i % 4 === 0 ? 1 << 20 : 1 + i * 997));
    const echoed = await Promise.all(payloads.map((p) => echoRoundTrip(ex.host, ex.port, p)));
    t.ok(
      echoed.every((e, i) => e.equals(payloads[i]!)),
      'every client got its bytes back',
    );
    t.equal(await ex.stop('SIGTERM'), 0);
    t.equal(ex.stderr(), '');
  });
}
