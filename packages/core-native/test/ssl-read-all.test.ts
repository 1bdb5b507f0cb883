// memtls readAll/feedReadAll: asyncio's read loop (read until want-read)
// in one native call, with how it stopped (readEnd) and whether the read
// queued ciphertext (outputMaybePending), so sslproto makes one call per
// received record instead of two (bench/README.md, MEMTLS).
import t from 'tap';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import { memtls, SSLError, ValueError } from '@iomux/core-native';
import { clientContext, connectedPair, fixtures, move, pattern, serverContext } from './ssl-support.js';

/** The ciphertext of one record per message, written by `from`, concatenated. */
function records(from: memtls.Connection, ...msgs: Buffer[]): Buffer {
  const out = Buffer.alloc(1 << 16);
  return Buffer.concat(msgs.map((m) => Buffer.from(out.subarray(0, from.writeTake(m, 0, m.length, out)))));
}

t.test('two application records in one feed: both read in one call, then want-read', async (t) => {
  const [client, server] = connectedPair();
  const cipher = records(client, Buffer.from('first|'), Buffer.from('second'));
  const out = Buffer.alloc(4096);
  t.equal(server.feedReadAll(cipher, 0, cipher.length, out), 12, 'both records');
  t.equal(out.subarray(0, 12).toString(), 'first|second');
  t.equal(server.readEnd, 'want-read', 'it read on to want-read');
  t.equal(server.outputMaybePending, false, 'reading queued nothing to send');
  t.equal(server.read(out), -1, 'the next read has nothing, as readEnd said');
  t.equal(server.takeOutput(out), 0, 'and the write BIO is empty, as outputMaybePending said');

  // The one-record feedRead stops after the first record: the call readAll spares.
  const [c2, s2] = connectedPair();
  const two = records(c2, Buffer.from('first|'), Buffer.from('second'));
  t.equal(s2.feedRead(two, 0, two.length, out), 6);
  t.equal(s2.read(out), 6);
  t.equal(s2.read(out), -1);
});

t.test('a full window stops with readEnd full; the rest comes next', async (t) => {
  const [client, server] = connectedPair();
  const a = pattern(0, 100, 3);
  const b = pattern(100, 100, 3);
  const cipher = records(client, a, b);
  const out = Buffer.alloc(400);
  t.equal(server.feedReadAll(cipher, 0, cipher.length, out.subarray(0, 150)), 150);
  t.equal(server.readEnd, 'full');
  t.equal(server.readAll(out, 150, 250), 50);
  t.equal(server.readEnd, 'want-read');
  t.ok(out.subarray(0, 200).equals(Buffer.concat([a, b])), 'every byte in order');
  t.equal(server.readAll(out, 0, 100), 0, 'nothing left: 0 bytes');
  t.equal(server.readEnd, 'want-read');
});

t.test('a record split across feeds: want-read with 0 bytes until its last byte', async (t) => {
  const [client, server] = connectedPair();
  const msg = pattern(0, 3000, 9);
  const cipher = records(client, msg);
  const out = Buffer.alloc(4096);
  let got = 0;
  for (let at = 0; at < cipher.length; at += 7) {
    const n = server.feedReadAll(cipher, at, Math.min(7, cipher.length - at), out.subarray(got));
    t.equal(server.readEnd, 'want-read');
    if (at + 7 < cipher.length) t.equal(n, 0, `nothing before the record's end (${at})`);
    got += n;
  }
  t.equal(got, msg.length);
  t.ok(out.subarray(0, got).equals(msg));
});

t.test("data then the peer's close_notify in one feed: the data, and readEnd close-notify", async (t) => {
  const [client, server] = connectedPair();
  const out = Buffer.alloc(4096);
  const data = records(client, Buffer.from('bye'));
  t.equal(client.shutdown(), 'sent');
  const tail = Buffer.alloc(4096);
  const k = client.takeOutput(tail);
  const cipher = Buffer.concat([data, tail.subarray(0, k)]);
  t.equal(server.feedReadAll(cipher, 0, cipher.length, out), 3);
  t.equal(out.subarray(0, 3).toString(), 'bye');
  t.equal(server.readEnd, 'close-notify');
  t.equal(server.readAll(out), 0);
  t.equal(server.readEnd, 'close-notify', 'and again');
  t.equal(server.read(out), 0, 'read agrees: 0 at close_notify');
  t.equal(server.shutdown(), 'done');
  t.equal(server.outputMaybePending, true, 'our close_notify waits');
  t.ok(server.takeOutput(out) > 0);
});

t.test('a handshake message read queues output: outputMaybePending true, and it is there', async (t) => {
  // A server that reads before handshake() runs the handshake inside SSL_read.
  const client = new memtls.Connection(clientContext(), { serverHostname: 'localhost' });
  const server = new memtls.Connection(serverContext());
  t.teardown(() => (client.close(), server.close()));
  t.equal(client.handshake(), 'want-read');
  move(client, server);
  const out = Buffer.alloc(4096);
  t.equal(server.readAll(out), 0, 'a ClientHello: no plaintext');
  t.equal(server.readEnd, 'want-read');
  t.equal(server.outputMaybePending, true, 'ServerHello to Finished wait in the write BIO');
  t.ok(server.outputPending() > 0, 'as outputPending says');
  move(server, client);
  t.equal(client.handshake(), 'done');
  t.equal(client.outputMaybePending, true, "after handshake(): the client's Finished, unknown without a look");
  const fin = Buffer.alloc(4096);
  const f = client.takeOutput(fin);
  t.ok(f > 0);
  t.equal(client.outputMaybePending, false, 'a take that got less than it asked: empty');
  // The Finished and a record in one feed: the server's session tickets go out.
  const cipher = Buffer.concat([fin.subarray(0, f), records(client, Buffer.from('hello'))]);
  t.equal(server.feedReadAll(cipher, 0, cipher.length, out), 5);
  t.equal(out.subarray(0, 5).toString(), 'hello');
  t.equal(server.handshakeDone, true);
  t.equal(server.outputMaybePending, true, 'TLS 1.3 session tickets wait');
  t.ok(move(server, client) > 0);
  // The client reads the tickets: nothing to send back, nothing to read.
  t.equal(client.readAll(out), 0);
  t.equal(client.readEnd, 'want-read');
  t.equal(client.outputMaybePending, false, 'tickets need no reply');
  t.equal(client.outputPending(), 0);
});

t.test('writeTake and takeOutput keep outputMaybePending in step with the write BIO', async (t) => {
  const [client] = connectedPair();
  const out = Buffer.alloc(1 << 16);
  client.writeTake(Buffer.from('x'), 0, 1, out);
  t.equal(client.outputMaybePending, false, 'writeTake took the whole record');
  const small = Buffer.alloc(10);
  t.equal(client.writeTake(pattern(0, 100, 1), 0, 100, small), 10);
  t.equal(client.outputMaybePending, true, 'the output view was full: maybe more');
  t.ok(client.outputPending() > 0);
  t.equal(client.outputMaybePending, true);
  while (client.takeOutput(small) === small.length);
  t.equal(client.outputMaybePending, false, 'drained');
  t.equal(client.write(Buffer.from('y')), 1);
  t.equal(client.outputMaybePending, true, 'after write()');
  client.takeOutput(out);
  t.equal(client.outputPending(), 0);
  t.equal(client.outputMaybePending, false, 'outputPending() of 0');
});

t.test('errors as read gives them: a bad record after a good one raises, the good one dropped', async (t) => {
  const out = Buffer.alloc(4096);
  const [client, server] = connectedPair();
  const cipher = records(client, Buffer.from('good'), Buffer.from('bad!'));
  cipher[cipher.length - 1]! ^= 1;  // the second record's tag
  const err = t.throws(() => server.feedReadAll(cipher, 0, cipher.length, out)) as unknown as SSLError;
  t.ok(err instanceof SSLError);
  // The message read() gives for the same bytes.
  const [c2, s2] = connectedPair();
  const same = records(c2, Buffer.from('good'), Buffer.from('bad!'));
  same[same.length - 1]! ^= 1;
  t.equal(s2.feedRead(same, 0, same.length, out), 4);
  const err2 = t.throws(() => s2.read(out)) as unknown as SSLError;
  t.equal(err.message, err2.message);
  t.equal(err.reason, err2.reason);

  const [c3, s3] = connectedPair();
  const half = records(c3, Buffer.from('cut short'));
  s3.feed(half, 0, half.length - 3);
  s3.feedEof();
  const eof = t.throws(() => s3.readAll(out)) as unknown as SSLError;
  t.equal(eof.reason, 'UNEXPECTED_EOF_WHILE_READING');
});

t.test('bad arguments: the same classes and messages as read', async (t) => {
  const [client] = connectedPair();
  t.throws(() => client.readAll(Buffer.alloc(0)), { name: 'ValueError', message: 'read buffer must not be empty' });
  t.throws(() => client.feedReadAll(Buffer.alloc(1), 0, 0, Buffer.alloc(0)), { name: 'ValueError', message: 'read buffer must not be empty' });
  t.throws(() => client.readAll('x' as never), TypeError);
  t.throws(() => client.feedReadAll({} as never, 0, 0, Buffer.alloc(1)), TypeError);
  t.throws(() => client.feedReadAll(Buffer.alloc(1), 0, 1, 5 as never), TypeError);
  t.throws(() => client.readAll(Buffer.alloc(4), 2, 3), ValueError);
  t.throws(() => client.readAll(Buffer.alloc(4), 0, 2 ** 53), ValueError);
  client.close();
  t.throws(() => client.readAll(Buffer.alloc(4)), ValueError);
  t.throws(() => client.feedReadAll(Buffer.alloc(1), 0, 1, Buffer.alloc(4)), ValueError);
});

t.test("a TLS 1.2 renegotiation (Node's TLSSocket asks): the HelloRequest read queues a ClientHello", async (t) => {
  const client = new memtls.Connection(clientContext({ maxVersion: 'TLSv1.2' }), { serverHostname: 'localhost' });
  t.teardown(() => client.close());
  const toClient: Buffer[] = [];
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      toClient.push(chunk);
      cb();
    },
  });
  const srv = new tls.TLSSocket(duplex, { isServer: true, secureContext: tls.createSecureContext({ cert: fixtures.cert, key: fixtures.key, maxVersion: 'TLSv1.2' }) });
  t.teardown(() => (srv.destroy(), duplex.destroy()));
  const plain: Buffer[] = [];
  srv.on('data', (d: Buffer) => plain.push(d));
  let secure = false;
  srv.on('secure', () => (secure = true));
  const out = Buffer.alloc(1 << 16);
  const cipher = Buffer.alloc(1 << 16);
  const flush = (): void => {
    for (let n; (n = client.takeOutput(cipher)) > 0; ) duplex.push(Buffer.from(cipher.subarray(0, n)));
  };
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  for (let i = 0; i < 200 && !(secure && client.handshakeDone); i++) {
    if (!client.handshakeDone) client.handshake();
    flush();
    await turn();
    for (const b of toClient.splice(0)) client.feed(b);
  }
  t.ok(secure && client.handshakeDone, 'TLS 1.2 handshake with Node');
  t.equal(client.version(), 'TLSv1.2');

  let renegotiated: Error | null | undefined;
  t.equal(srv.renegotiate({}, (e) => (renegotiated = e ?? null)), true);
  let sawClientHello = false;
  for (let i = 0; i < 200 && renegotiated === undefined; i++) {
    await turn();
    const got = Buffer.concat(toClient.splice(0));
    if (got.length > 0) {
      t.equal(client.feedReadAll(got, 0, got.length, out), 0, 'handshake records only: no plaintext');
      t.equal(client.readEnd, 'want-read');
      if (!sawClientHello) {
        sawClientHello = true;
        t.equal(client.outputMaybePending, true, 'the HelloRequest read queued the ClientHello');
        t.ok(client.outputPending() > 0);
      }
      flush();
    }
  }
  t.equal(renegotiated, null, 'Node saw the renegotiation through');
  const msg = records(client, Buffer.from('after renegotiation'));
  duplex.push(msg);
  for (let i = 0; i < 200 && Buffer.concat(plain).length < 19; i++) await turn();
  t.equal(Buffer.concat(plain).toString(), 'after renegotiation');
  srv.write('and back');
  for (let i = 0; i < 200 && toClient.length === 0; i++) await turn();
  const back = Buffer.concat(toClient.splice(0));
  t.equal(client.feedReadAll(back, 0, back.length, out), 8);
  t.equal(out.subarray(0, 8).toString(), 'and back');
});
