// tls-engine.ts: which TLS engine a context runs on. memtls (core-native's
// memory-BIO OpenSSL, sslproto-memtls.ts) by default where this Node has it
// and the options are ones it takes; Node's TLSSocket (sslproto.ts) for a
// caller's tls.SecureContext, for options memtls does not take, for
// `engine: 'node'`, and everywhere under IOMUX_TLS_ENGINE=node. Both
// engines talk to each other, and a connection runs on the one its context says.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { memtls } from '@iomux/core-native';
import { SSLContext, ValueError, createSslContext } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { newLoop, sleep, waitFor } from './helpers.js';
import { CollectProto, EchoProto, clientContext, closeWait, fixture, pattern, serverContext, useEngine } from './tls-support.js';

checkNoFdLeak(t);

t.test('memtls by default where available; engine: node, IOMUX_TLS_ENGINE=node and unsupported options keep the TLSSocket', async (t) => {
  useEngine(t, 'memtls');
  t.equal(memtls.available, true, memtls.unavailableReason);
  t.equal(createSslContext().engine, 'memtls', 'no options');
  t.equal(serverContext().engine, 'memtls', 'key and cert');
  t.equal(clientContext({ minVersion: 'TLSv1.3', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', alpnProtocols: ['h2'] }).engine, 'memtls', 'versions, a TLS 1.2 cipher list, ALPN');
  t.equal(clientContext({ engine: 'node' }).engine, 'node', "engine: 'node'");
  t.equal(clientContext({ ecdhCurve: 'auto' }).engine, 'node', 'an option memtls does not take');
  t.equal(clientContext({ minVersion: 'TLSv1.1' }).engine, 'node', 'a version memtls does not allow');
  t.equal(clientContext({ ciphers: 'TLS_AES_128_GCM_SHA256' }).engine, 'node', "Node's TLS 1.3 suite names in ciphers");
  t.equal(serverContext({ cert: [fixture('cert.pem')] }).engine, 'node', "Node's arrays of certificates");
  t.equal(createSslContext({ cert: fixture('cert.pem') }).engine, 'node', 'a certificate without its key');
  t.equal(createSslContext({ cert: Buffer.concat([fixture('cert.pem'), fixture('key.pem')]) }).engine, 'memtls', 'a certificate with its key in the same PEM');
  t.equal(new SSLContext(tls.createSecureContext()).engine, 'node', "a caller's SecureContext");
  t.throws(() => clientContext({ engine: 'memtls', ecdhCurve: 'auto' }), { name: 'ValueError', message: "the memtls TLS engine does not take the option 'ecdhCurve' (engine: 'node' does)" });
  t.throws(() => clientContext({ engine: 'openssl' as never }), new ValueError("engine must be 'memtls' or 'node', not 'openssl'"));
  t.throws(() => clientContext({ engine: 5 as never }), ValueError);
});

t.test('IOMUX_TLS_ENGINE=node in the environment forces the TLSSocket engine (a child process)', async (t) => {
  const script = "const l = require(process.argv[1]); process.stdout.write([l.createSslContext().engine, l.createSslContext({ engine: 'memtls' }).engine].join(','))";
  const loopPath = require.resolve('@iomux/loop');
  const env = { ...process.env };
  delete env.IOMUX_TLS_ENGINE;
  const dflt = spawnSync(process.execPath, ['-e', script, loopPath], { encoding: 'utf8', env, timeout: 30_000 });
  t.equal(dflt.stdout, 'memtls,memtls', dflt.stderr);
  const forced = spawnSync(process.execPath, ['-e', script, loopPath], { encoding: 'utf8', env: { ...env, IOMUX_TLS_ENGINE: 'node' }, timeout: 30_000 });
  t.equal(forced.stdout, 'node,node', forced.stderr);
});

t.test("each connection runs on its context's engine; a memtls end and a TLSSocket end talk", async (t) => {
  useEngine(t, 'memtls');
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    for (const [se, ce] of [['memtls', 'node'], ['node', 'memtls'], ['memtls', 'memtls']] as const) {
      const sp: EchoProto[] = [];
      const srv = await loop.createServer(() => (sp.push(new EchoProto()), sp.at(-1)!), '127.0.0.1', 0, { ssl: serverContext({ engine: se }) });
      const data = pattern(3, 100_000);
      const [tr, cp] = await loop.createConnection(() => new CollectProto(data.length), '127.0.0.1', srv.address()!.port, { ssl: clientContext({ engine: ce }) });
      tr.write(data);
      t.ok((await cp.done).equals(data), `${se} server, ${ce} client: every byte back`);
      const isMemtls = (x: unknown): boolean => x instanceof memtls.Connection;
      t.equal(isMemtls(tr.getExtraInfo('sslObject')), ce === 'memtls', `the client runs on ${ce}`);
      t.equal(isMemtls(sp[0]!.transport!.getExtraInfo('sslObject')), se === 'memtls', `the server runs on ${se}`);
      t.equal((tr.getExtraInfo('peercert') as tls.PeerCertificate).subject.CN, 'localhost');
      await closeWait(loop, tr);
      srv.close();
      await srv.waitClosed();
    }
  });
});

t.test('memtls: setAlpnProtocols after connections were made applies to the next ones', async (t) => {
  useEngine(t, 'memtls');
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    const srv = await loop.createServer(() => new EchoProto(), '127.0.0.1', 0, { ssl: serverContext({ alpnProtocols: ['h2', 'http/1.1'] }) });
    const ctx = clientContext({ alpnProtocols: ['http/1.1'] });
    for (const want of ['http/1.1', 'h2']) {
      const [tr] = await loop.createConnection(() => new CollectProto(1), '127.0.0.1', srv.address()!.port, { ssl: ctx, serverHostname: 'localhost' });
      t.equal((tr.getExtraInfo('sslObject') as memtls.Connection).alpnSelected(), want);
      await closeWait(loop, tr);
      ctx.setAlpnProtocols(['h2']);
    }
    srv.close();
    await srv.waitClosed();
  });
});

for (const engine of ['memtls', 'node'] as const) {
  t.test(`${engine}: an EOF without close_notify while the app paused reading waits for resumeReading`, async (t) => {
    useEngine(t, engine);
    const loop = newLoop(t);
    await loop.runUntilComplete(async () => {
      const sp: EchoProto[] = [];
      let got = 0;
      const srv = await loop.createServer(
        () => {
          const p = new EchoProto();
          p.dataReceived = (d: Buffer): void => void (got += d.length);
          sp.push(p);
          return p;
        },
        '127.0.0.1',
        0,
        { ssl: serverContext() },
      );
      const raw = net.connect(srv.address()!.port, '127.0.0.1');
      raw.on('error', () => {});
      const c = tls.connect({ socket: raw, ca: fixture('ca.pem'), servername: 'localhost' });
      c.on('error', () => {});
      await new Promise((r) => c.once('secureConnect', r));
      await waitFor(loop, () => sp[0]?.transport !== null && sp[0]?.transport !== undefined, 5, 'the server side');
      const st = sp[0]!.transport!;
      st.pauseReading();
      c.write(pattern(5, 50_000));
      await sleep(loop, 0.2);
      raw.end();
      await sleep(loop, 0.2);
      t.equal(got, 0, 'nothing delivered while paused');
      t.same(sp[0]!.events, ['made'], 'no eof while paused');
      st.resumeReading();
      await waitFor(loop, () => sp[0]!.events.includes('lost'), 5, 'the server side lost');
      t.equal(got, 50_000, 'every byte delivered after resumeReading');
      t.same(sp[0]!.events, ['made', 'eof', 'lost']);
      t.equal(sp[0]!.lostWith, null);
      c.destroy();
      srv.close();
      await srv.waitClosed();
    });
  });
}
