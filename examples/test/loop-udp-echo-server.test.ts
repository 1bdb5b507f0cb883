// The loop-udp-echo-server example, as a user runs it: Node `dgram` clients
// get back exactly the datagrams they send (several clients at once, one
// byte, one near UDP's largest; not an empty one: asyncio 3.11's sendto
// sends nothing for empty data), on every backend and over IPv6;
// it stops cleanly on SIGTERM and SIGINT; a port already taken is Python's
// OSError and exit 1, with no stack trace.
import t from 'tap';
import * as dgram from 'node:dgram';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { startExample } from '../../test/support/example.js';
import { checkNoFdLeak } from '../../test/support/fds.js';

checkNoFdLeak(t);

/** Sends each payload from one fresh socket and resolves with the datagrams that came back, in order. */
async function udpEcho(host: string, port: number, payloads: Buffer[], timeoutMs = 5000): Promise<Buffer[]> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(port, host, () => resolve());
    });
    const got: Buffer[] = [];
    for (const p of payloads) {
      const echo = new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no echo of a ${p.length}-byte datagram in ${timeoutMs} ms`)), timeoutMs);
        sock.once('message', (m: Buffer) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
      sock.send(p);
      got.push(await echo);
    }
    return got;
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
}

t.test('echoes every datagram to its sender, and stops on SIGTERM', async (t) => {
  const ex = await startExample('loop-udp-echo-server', ['--port', '0']);
  t.teardown(() => ex.stop());
  t.equal(ex.host, '127.0.0.1');
  t.equal(ex.backend, 'epoll', 'DefaultSelector is epoll on Linux');
  t.match(ex.stdout(), new RegExp(`^connect with: nc -u 127\\.0\\.0\\.1 ${ex.port}$`, 'm'));
  // One near-largest datagram only: eight at once could overflow the
  // server's receive buffer, a loss the kernel may take.
  const clients = Array.from({ length: 8 }, (_, i) => [Buffer.from(`hello ${i}\n`), Buffer.from([i]), randomBytes(1 + i * 999), randomBytes(i === 0 ? 60000 : 1500)]);
  const echoed = await Promise.all(clients.map((ps) => udpEcho(ex.host, ex.port, ps)));
  for (let i = 0; i < clients.length; i++) {
    t.ok(
      echoed[i]!.every((e, j) => e.equals(clients[i]![j]!)),
      `client ${i}: its 4 datagrams came back intact`,
    );
  }
  t.equal(await ex.stop('SIGTERM'), 0, 'exit code 0 on SIGTERM');
  t.match(ex.stdout(), /^stopped$/m);
  t.equal(ex.stderr(), '');
});

t.test('stops on SIGINT', async (t) => {
  const ex = await startExample('loop-udp-echo-server', ['--port', '0', '--host', '127.0.0.1']);
  const [got] = await udpEcho(ex.host, ex.port, [Buffer.from('ping')]);
  t.equal(got!.toString(), 'ping');
  t.equal(await ex.stop('SIGINT'), 0);
});

for (const backend of ['select', 'poll', 'epoll']) {
  t.test(`--backend ${backend}`, async (t) => {
    const ex = await startExample('loop-udp-echo-server', ['--port', '0', '--backend', backend]);
    t.equal(ex.backend, backend);
    const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(1 + ((i * 7919) % 8000)));
    const got = await udpEcho(ex.host, ex.port, payloads);
    t.ok(
      got.every((g, i) => g.equals(payloads[i]!)),
      '50 datagrams back in order',
    );
    t.equal(await ex.stop('SIGTERM'), 0);
  });
}

const hasIpv6Loopback = Object.values(os.networkInterfaces()).some((xs) => xs?.some((x) => x.family === 'IPv6' && x.address === '::1'));
t.test('--host ::1', { skip: hasIpv6Loopback ? false : 'no IPv6 loopback (::1) here' }, async (t) => {
  const ex = await startExample('loop-udp-echo-server', ['--host', '::1', '--port', '0']);
  t.equal(ex.host, '::1');
  t.match(ex.stdout(), /^listening on \[::1\]:\d+ /m);
  const [got] = await udpEcho('::1', ex.port, [Buffer.from('over IPv6')]);
  t.equal(got!.toString(), 'over IPv6');
  t.equal(await ex.stop('SIGTERM'), 0);
});

t.test('a port already taken: OSError, exit 1, no stack trace', async (t) => {
  const taken = dgram.createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => taken.close(() => r())));
  const port = taken.address().port;
  const err = await startExample('loop-udp-echo-server', ['--port', String(port)]).then(
    () => null,
    (e: Error) => e.message,
  );
  t.match(err, /exited \(1\) before listening/);
  t.match(err, /loop-udp-echo-server: OSError: \[Errno 98\] Address already in use/);
  t.notMatch(err, /\n\s+at /, 'no stack trace');
});

t.test('a bad command line: a message and exit 2', async (t) => {
  await t.rejects(startExample('loop-udp-echo-server', ['--port', '70000']), /exited \(2\).*--port must be an integer from 0 to 65535/s);
  await t.rejects(startExample('loop-udp-echo-server', ['--backend', 'nope']), /exited \(2\).*nope/s);
  await t.rejects(startExample('loop-udp-echo-server', ['--path', 'x']), /exited \(2\).*unknown option --path/s);
});
