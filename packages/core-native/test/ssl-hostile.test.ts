// memtls under hostile input: wrong types, closed objects, detached and
// foreign handles, windows out of range, huge lengths, garbage PEM, a key
// that is not the certificate's; then no leaks (10,000 objects dropped to
// the GC) and a worker that exits with objects still open.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { binding, memtls, os, SSLError, ValueError, OverflowError } from '@iomux/core-native';
import { clientContext, connectedPair, fixtures, serverContext } from './ssl-support.js';

const bad = (x: unknown): any => x;
const coreNative = require.resolve('@iomux/core-native');

t.test('wrong types are TypeError, in TS and in the raw binding', async (t) => {
  const [c] = connectedPair();
  t.throws(() => c.feed(bad('text')), TypeError);
  t.throws(() => c.read(bad(42)), TypeError);
  t.throws(() => c.write(bad(null)), TypeError);
  t.throws(() => c.feedRead(bad({}), 0, 0, Buffer.alloc(1)), TypeError);
  t.throws(() => c.feed(Buffer.alloc(4), bad('0'), 4), TypeError);
  t.throws(() => c.feed(Buffer.alloc(4), 0.5, 1), TypeError);
  t.throws(() => new memtls.Connection(bad({})), TypeError);
  t.throws(() => new memtls.Connection(bad(null)), TypeError);
  t.throws(() => new memtls.Context(bad('server')), TypeError);
  t.throws(() => serverContext({ cert: bad(12) }), TypeError);
  t.throws(() => clientContext({ ciphers: bad(1) }), TypeError);
  t.throws(() => clientContext({ ciphers: 'A\0B' }), ValueError);
  // The raw binding checks every handle itself: not an External, another addon's
  // (an fd handle), or a context where a connection is due.
  const ctx = clientContext();
  const [r, w] = os.pipe();
  os.close(w);
  const fdh = binding.fdhandle_new(r);
  for (const h of [undefined, null, 1, {}, fdh, (ctx as any)._handle]) {
    t.throws(() => binding.memtls_feed(bad(h), Buffer.alloc(1), 0, 1), TypeError);
    t.throws(() => binding.memtls_handshake(bad(h)), TypeError);
  }
  t.throws(() => binding.memtls_close(bad(fdh)), TypeError);
  t.throws(() => binding.memtls_ctx_new(bad(1)), TypeError);
  t.throws(() => binding.memtls_ctx_new(bad({ serverSide: false, verify: 7 })), bad({ pyType: 'OverflowError' }));
  binding.fdhandle_close(fdh);
});

t.test('closed objects are ValueError, never a use after free', async (t) => {
  const [c, s] = connectedPair();
  c.close();
  c.close();
  const buf = Buffer.alloc(64);
  for (const f of [
    () => c.feed(buf), () => c.read(buf), () => c.write(buf), () => c.takeOutput(buf), () => c.outputPending(),
    () => c.handshake(), () => c.shutdown(), () => c.peerCertificate(), () => c.cipher(), () => c.version(),
    () => c.alpnSelected(), () => c.verifyResult(), () => c.sessionReused(), () => c.feedEof(),
    () => c.feedRead(buf, 0, 1, buf), () => c.writeTake(buf, 0, 1, buf), () => c.handshakeDone,
  ]) {
    t.throws(f, { name: 'ValueError', message: 'operation on a closed TLS connection' });
  }
  t.equal(s.write(Buffer.from('x')), 1, 'the peer is unaffected');
  s.close();
});

t.test('windows out of range, huge lengths and detached buffers', async (t) => {
  const [c] = connectedPair();
  const buf = Buffer.alloc(16);
  t.throws(() => c.feed(buf, 10, 7), ValueError);
  t.throws(() => c.feed(buf, 17, 0), ValueError);
  t.throws(() => c.read(buf, 0, 2 ** 53), ValueError);
  t.throws(() => c.read(buf, -1, 1), OverflowError);
  t.throws(() => c.write(buf, 0, 2 ** 64), OverflowError);
  t.throws(() => c.takeOutput(buf, 0, Infinity), OverflowError);
  t.throws(() => c.read(buf, 0, 0), { name: 'ValueError', message: 'read buffer must not be empty' });
  t.throws(() => c.feedRead(buf, 0, 0, Buffer.alloc(0)), ValueError);
  t.equal(c.write(buf, 0, 0), 0, 'an empty write does nothing');
  // A buffer detached by a transfer: empty, so any non-empty window is out of range.
  const ab = new ArrayBuffer(64);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  t.equal(ab.byteLength, 0, 'detached');
  t.throws(() => c.feed(view, 0, 64), ValueError);
  t.throws(() => c.read(view, 0, 64), ValueError);
  t.equal(c.writeTake(Buffer.from('x'), 0, 1, view), 0, 'an empty output view takes nothing...');
  t.ok(c.outputPending() > 0, '...and the record stays pending');
  t.equal(c.feed(view, 0, 0), 0);
  // Other views: a DataView and a Uint16Array window by bytes.
  t.equal(c.feed(new DataView(new ArrayBuffer(0))), 0);
  t.equal(c.write(new Uint16Array([0x4142]), 0, 2), 2);
});

t.test('garbage PEM, a mismatched key, a wrong passphrase: SSLError with OpenSSL reasons', async (t) => {
  let e = t.throws(() => serverContext({ cert: 'not a certificate', key: fixtures.key })) as unknown as SSLError;
  t.ok(e instanceof SSLError);
  t.equal(e.message, '[PEM: NO_START_LINE] no start line');
  e = t.throws(() => serverContext({ key: fixtures.expiredKey })) as unknown as SSLError;
  t.ok(e instanceof SSLError);
  t.equal(e.message, '[X509: KEY_VALUES_MISMATCH] key values mismatch');
  t.equal(e.library, 'X509');
  t.equal(e.reason, 'KEY_VALUES_MISMATCH');
  e = t.throws(() => clientContext({ ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })) as unknown as SSLError;
  t.ok(e instanceof SSLError);
  t.throws(() => serverContext({ cert: fixtures.cert, key: Buffer.alloc(0) }), ValueError);
  // An encrypted key: right passphrase loads, none or a wrong one fails without prompting.
  const { execFileSync } = await import('node:child_process');
  const enc = execFileSync('openssl', ['pkey', '-aes256', '-passout', 'pass:s3cret'], { input: fixtures.key });
  t.ok(serverContext({ key: enc, passphrase: 's3cret' }));
  t.throws(() => serverContext({ key: enc }), SSLError);
  t.throws(() => serverContext({ key: enc, passphrase: 'wrong' }), SSLError);
  t.throws(() => serverContext({ key: enc, passphrase: Buffer.alloc(5000, 1) }), SSLError);
});

t.test('unavailable (IOMUX_MEMTLS=0, as a Node without OpenSSL): every constructor throws, nothing crashes', async (t) => {
  const r = spawnSync(process.execPath, ['-e', `
    const { memtls, binding, RuntimeError } = require(${JSON.stringify(coreNative)});
    const out = { available: memtls.available, reason: memtls.unavailableReason, version: memtls.opensslVersion, errors: [] };
    for (const f of [() => new memtls.Context(), () => new memtls.Context({ serverSide: true }),
                     () => binding.memtls_ctx_new({ serverSide: false }), () => binding.memtls_feed({}, Buffer.alloc(1), 0, 1)]) {
      try { f(); out.errors.push('no error'); } catch (e) { out.errors.push((e instanceof RuntimeError ? 'RuntimeError' : e.name) + ': ' + e.message); }
    }
    console.log(JSON.stringify(out));
  `], { encoding: 'utf8', env: { ...process.env, IOMUX_MEMTLS: '0' } });
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.same(out, {
    available: false, reason: 'disabled by IOMUX_MEMTLS=0', version: '',
    errors: [
      'RuntimeError: memory-BIO TLS is unavailable: disabled by IOMUX_MEMTLS=0',
      'RuntimeError: memory-BIO TLS is unavailable: disabled by IOMUX_MEMTLS=0',
      'Error: memory-BIO TLS is unavailable: disabled by IOMUX_MEMTLS=0',
      'TypeError: expected a TLS connection handle',
    ],
  });
});

/** Runs `body` in a child Node with memtls, the fixtures and `gc` in scope; its stdout, parsed. */
function child(body: string, args: string[] = []): any {
  const code = `const { memtls, binding } = require(${JSON.stringify(coreNative)});
const fx = ${JSON.stringify({ ca: fixtures.ca.toString(), cert: fixtures.cert.toString(), key: fixtures.key.toString() })};
(async () => { ${body} })().catch((e) => { console.error(e); process.exit(3); });`;
  const r = spawnSync(process.execPath, [...args, '-e', code], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status} ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('10,000 objects dropped without close: the GC frees them and RSS stays bounded', async (t) => {
  const out = child(`
    const sctx = new memtls.Context({ serverSide: true, cert: fx.cert, key: fx.key });
    const cctx = new memtls.Context({ ca: fx.ca });
    const settle = async () => { for (let i = 0; i < 4; i++) { gc(); await new Promise((r) => setImmediate(r)); } };
    const rss = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10000; i++) {
        const c = new memtls.Connection(cctx, { serverHostname: 'localhost' });
        const s = new memtls.Connection(sctx);
        if (i % 100 === 0) { c.handshake(); s.feed(Buffer.alloc(0)); }
        if (i % 1000 === 0) new memtls.Context({ ca: fx.ca });
      }
      await settle();
      rss.push(process.memoryUsage.rss());
    }
    const live = binding.memtls_live_count();
    sctx.close(); cctx.close();
    console.log(JSON.stringify({ rss, live, after: binding.memtls_live_count() }));
  `, ['--expose-gc']);
  t.ok(out.live <= 10, `live objects after GC: ${out.live}`);
  t.equal(out.after, out.live - 2);
  const growth = out.rss[4] - out.rss[1];
  t.ok(growth < 32 * 2 ** 20, `RSS from round 2 to 5 grew ${Math.round(growth / 2 ** 20)} MiB (${out.rss.map((r: number) => Math.round(r / 2 ** 20)).join(', ')} MiB)`);
});

// The worker's body: 50 handshaken pairs kept open, then it ends three ways.
const WORKER = `
const { memtls, binding } = require(process.env.IOMUX_CORE_NATIVE);
const { parentPort, workerData } = require('node:worker_threads');
const { fx, how } = workerData;
const s = new memtls.Context({ serverSide: true, cert: fx.cert, key: fx.key });
const c = new memtls.Context({ ca: fx.ca });
const keep = [];
const buf = Buffer.alloc(65536);
for (let i = 0; i < 50; i++) {
  const a = new memtls.Connection(c, { serverHostname: 'localhost' });
  const b = new memtls.Connection(s);
  for (let r = 0; r < 10 && !(a.handshakeDone && b.handshakeDone); r++) {
    a.handshake(); let n; while ((n = a.takeOutput(buf)) > 0) b.feed(buf, 0, n);
    b.handshake(); while ((n = b.takeOutput(buf)) > 0) a.feed(buf, 0, n);
  }
  keep.push(a, b);
}
parentPort.postMessage({ live: binding.memtls_live_count(), done: keep.every((x) => x.handshakeDone) });
if (how === 'exit') process.exit(0);
if (how === 'terminate') setInterval(() => {}, 1000);
`;

t.test('a worker that exits with contexts and connections open ends cleanly', async (t) => {
  const out = child(`
    const { Worker } = require('node:worker_threads');
    process.env.IOMUX_CORE_NATIVE = ${JSON.stringify(coreNative)};
    const results = [];
    for (const how of ['return', 'exit', 'terminate']) {
      const w = new Worker(${JSON.stringify(WORKER)}, { eval: true, workerData: { fx, how } });
      const exited = new Promise((resolve) => w.once('exit', resolve));
      const msg = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      if (how === 'terminate') await w.terminate();
      results.push({ how, msg, code: await exited });
    }
    console.log(JSON.stringify({ results, mainLive: binding.memtls_live_count() }));
  `);
  for (const r of out.results) {
    t.same(r.msg, { live: 102, done: true }, r.how);
    t.equal(r.code, r.how === 'terminate' ? 1 : 0, `${r.how}: exit code`);
  }
  t.equal(out.mainLive, 0, "the workers' objects were never the main thread's");
});
