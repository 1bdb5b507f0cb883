// The loop servers (the protocol and the streams echo examples, as child
// processes) under faults. EMFILE at accept: under a 64-descriptor limit
// more clients connect than the server can accept; it stays up, logs the
// error, and (asyncio's ACCEPT_RETRY_DELAY, 1 s) accepts the waiting ones
// once clients close. RST storms: waves of clients that reset mid-reply;
// a well-behaved client is echoed throughout, and the server's descriptor
// count returns to its baseline.
import t, { type Test } from 'tap';
import type * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { echoRoundTrip } from '../../test/support/example.js';
import { connect, cpuMs, fdCountOf, sleep, startServer, waitUntil } from './fault-support.js';

const SERVERS: Array<[string, string[]]> = [
  ['loop-protocol-echo-server', []],
  ['loop-protocol-echo-server', ['--buffered']],
  ['loop-streams-echo-server', []],
];

/** Sends `payload` on `sock`; `done()` says whether all of it came back. */
function echoer(sock: net.Socket, payload: Buffer): { done: () => boolean } {
  let got = 0;
  sock.on('data', (d: Buffer) => (got += d.length));
  sock.on('error', () => {});
  sock.write(payload);
  return { done: () => got >= payload.length };
}

const LIMIT = 64;

// The select backend's selectAsync makes an epoll descriptor per wait; at
// the limit it looks on a timer instead (packages/select/test/scarce.test.ts).
const OTHER_BACKENDS: Array<[string, string[]]> = [
  ['loop-protocol-echo-server', ['--backend', 'poll']],
  ['loop-protocol-echo-server', ['--backend', 'select']],
];

for (const [name, args] of [...SERVERS, ...OTHER_BACKENDS]) {
  t.test(`${name} ${args.join(' ')}: EMFILE at accept, then accepting resumes`, async (t) => {
    const srv = await startServer(name, args, { nofile: LIMIT });
    t.teardown(() => srv.stop('SIGKILL'));
    // After a first wait: a backend may open a descriptor for its waits then.
    const hi = Buffer.from('hi');
    t.ok((await echoRoundTrip(srv.host, srv.port, hi)).equals(hi), 'echoes');
    await sleep(100);
    const base = fdCountOf(srv.pid);
    const room = LIMIT - base;
    t.ok(room > 4, `${base} descriptors at start: room for ${room} connections`);
    const n = room + 20;
    const socks = await Promise.all(Array.from({ length: n }, () => connect(srv.host, srv.port)));
    const echoes = socks.map((s, i) => echoer(s, Buffer.from(`client ${i}\n`)));
    const done = (): number => echoes.filter((e) => e.done()).length;
    // Everything it can accept is echoed; the rest wait in the backlog.
    await waitUntil(() => (done() >= room - 2 && /out of system resource/.test(srv.stderr())) || !srv.alive(), 5000);
    await sleep(200);
    const first = done();
    t.ok(srv.alive(), 'alive at the descriptor limit');
    if (!srv.alive()) return;
    t.ok(first > 0 && first < n, `${first} of ${n} echoed at the limit`);
    t.ok(fdCountOf(srv.pid) >= LIMIT - 1, `${fdCountOf(srv.pid)} descriptors open: at the limit`);
    t.match(srv.stderr(), /socket\.accept\(\) out of system resource/, 'logs the accept error');
    t.match(srv.stderr(), /EMFILE|Too many open files/, 'naming EMFILE');
    // The listening socket stays readable: a server that kept trying would spin.
    const cpu0 = cpuMs(srv.pid);
    await sleep(500);
    t.ok(cpuMs(srv.pid) - cpu0 < 200, `${cpuMs(srv.pid) - cpu0} ms of CPU in 500 ms at the limit: it does not spin`);
    // Closing the echoed clients frees descriptors; the retry accepts the rest.
    for (let i = 0; i < n; i++) if (echoes[i]!.done()) socks[i]!.end();
    t.ok(await waitUntil(() => done() === n || !srv.alive(), 6000) && srv.alive(), `all ${n} echoed once descriptors were freed (${done()})`);
    for (const s of socks) s.end();
    if (!srv.alive()) return;
    const payload = randomBytes(128 * 1024);
    t.ok((await echoRoundTrip(srv.host, srv.port, payload)).equals(payload), 'a new client is accepted and echoed');
    t.ok(await waitUntil(() => fdCountOf(srv.pid) === base, 3000), `descriptors back to ${base} (${fdCountOf(srv.pid)})`);
    t.equal(await srv.stop('SIGTERM'), 0, 'stops cleanly');
  });
}

/** A client that echoes 1 KiB at a time until stopped, counting round trips. */
async function steadyClient(host: string, port: number): Promise<{ trips: () => number; maxGapMs: () => number; stop: () => Promise<void> }> {
  const sock = await connect(host, port);
  const msg = randomBytes(1024);
  let trips = 0;
  let got = 0;
  let last = Date.now();
  let maxGap = 0;
  let running = true;
  sock.on('data', (d: Buffer) => {
    got += d.length;
    if (got < msg.length) return;
    got -= msg.length;
    trips++;
    const now = Date.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (running) sock.write(msg);
  });
  sock.write(msg);
  return {
    trips: () => trips,
    maxGapMs: () => maxGap,
    stop: async () => {
      running = false;
      await new Promise<void>((resolve) => sock.end(resolve));
    },
  };
}

/** `count` clients that connect, send 256 KiB and reset once the reply starts (or after 100 ms). */
async function resetWave(host: string, port: number, count: number): Promise<number> {
  const payload = randomBytes(256 * 1024);
  let resets = 0;
  await Promise.all(
    Array.from({ length: count }, async () => {
      let sock: net.Socket;
      try {
        sock = await connect(host, port);
      } catch {
        return; // the backlog overflowed: not this test's subject
      }
      sock.on('error', () => {});
      sock.write(payload);
      await new Promise<void>((resolve) => {
        const rst = (): void => {
          clearTimeout(timer);
          if (!sock.destroyed) {
            sock.resetAndDestroy();
            resets++;
          }
          resolve();
        };
        const timer = setTimeout(rst, 100);
        sock.once('data', rst);
      });
    }),
  );
  return resets;
}

for (const [name, args] of SERVERS) {
  t.test(`${name} ${args.join(' ')}: RST storms mid-reply`, async (t: Test) => {
    const srv = await startServer(name, args);
    t.teardown(() => srv.stop('SIGKILL'));
    const warm = randomBytes(1024);
    t.ok((await echoRoundTrip(srv.host, srv.port, warm)).equals(warm));
    await sleep(200);
    const base = fdCountOf(srv.pid);
    const steady = await steadyClient(srv.host, srv.port);
    let resets = 0;
    const waves = 5;
    const perWave: number[] = [];
    let served = true;
    for (let w = 0; w < waves; w++) {
      const before = steady.trips();
      resets += await resetWave(srv.host, srv.port, 200);
      // A wave can be over in less than one of its round trips.
      served &&= await waitUntil(() => steady.trips() > before, 2000);
      perWave.push(steady.trips() - before);
    }
    t.ok(srv.alive(), `alive after ${waves} waves, ${resets} resets`);
    t.ok(resets >= waves * 100, `${resets} clients reset mid-reply`);
    t.ok(served, `the steady client was echoed in every wave (${perWave.join(', ')})`);
    const at = steady.trips();
    t.ok(await waitUntil(() => steady.trips() >= at + 10, 3000), 'and keeps being echoed after it');
    t.comment(`steady client: longest gap between echoes ${steady.maxGapMs()} ms`);
    await steady.stop();
    t.ok(await waitUntil(() => fdCountOf(srv.pid) === base, 3000), `descriptors back to ${base} (${fdCountOf(srv.pid)})`);
    const payload = randomBytes(512 * 1024);
    t.ok((await echoRoundTrip(srv.host, srv.port, payload)).equals(payload), 'a new client is echoed');
    t.equal(await srv.stop('SIGTERM'), 0, 'stops cleanly');
    t.equal(srv.stderr(), '', 'nothing logged: a reset is not an error');
  });
}
