/**
 * `node bench/dist/memtls.bench.js` (after npm run build): what the server
 * side of one TLS echo record costs (decrypt the request, encrypt the
 * reply), on @iomux/core-native's memtls engine against Node's TLSSocket,
 * in one process, per message size (bench/README.md, MEMTLS).
 *
 * Every contender serves the same client: a memtls client engine that
 * shook hands with it and pre-encrypted K requests (not timed). Timed:
 * from the first request in to the last reply out, ping-pong, one at a time.
 *   memtls-2     feedRead + writeTake (two native calls per record)
 *   memtls-4     feed + read + write + takeOutput (four)
 *   memtls-64    64 requests fed at once, read to the end, one reply
 *                record for all 64 (what node-*-64 get from Node's
 *                coalescing 'data'), per request
 *   node-duplex  a server tls.TLSSocket over a JS Duplex: Node's
 *                JSStreamSocket, what @iomux/loop's sslproto runs today;
 *                -64: 64 requests in flight (as 64 connections would
 *                share one loop turn), else one
 *   node-socket  a server tls.TLSSocket over a net.Socket on one end of an
 *                AF_UNIX socketpair (Node's own TLSWrap on libuv; the
 *                other end, in the same thread, writes the requests and
 *                counts the reply bytes), so it includes two sends and
 *                two receives per record: an upper bound, not a twin; -64
 *                as above (the kernel may then coalesce requests)
 * Settings: BENCH_REPEATS (5 rounds, order rotating), BENCH_MEMTLS_K
 * (20000 records per case and round), BENCH_TLS_SIZES ("64,1024").
 * Figures: medians over rounds of ns per record; ratios are medians of the
 * per-round ratios (paired).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import { memtls, socketpair } from '@iomux/core-native';
import { envList, envNumber } from './env.js';

const ROUNDS = Math.max(1, Math.round(envNumber('BENCH_REPEATS', 5)));
const K = Math.max(100, Math.round(envNumber('BENCH_MEMTLS_K', 20000)));
const SIZES = envList('BENCH_TLS_SIZES', '64,1024').map(Number);
const FIX = path.join(__dirname, '..', '..', 'examples', 'fixtures', 'tls');
const cert = fs.readFileSync(path.join(FIX, 'cert.pem'));
const key = fs.readFileSync(path.join(FIX, 'key.pem'));
const ca = fs.readFileSync(path.join(FIX, 'ca.pem'));
const CASES = ['memtls-2', 'memtls-4', 'memtls-64', 'node-duplex', 'node-duplex-64', 'node-socket', 'node-socket-64'] as const;
type Case = (typeof CASES)[number];

const cctx = new memtls.Context({ ca });
const sctx = new memtls.Context({ serverSide: true, cert, key });
const nodeCtx = tls.createSecureContext({ cert, key });
const scratch = Buffer.alloc(1 << 17);

/** A client engine, and a function that hands it the server's ciphertext. */
function client(): memtls.Connection {
  return new memtls.Connection(cctx, { serverHostname: 'localhost' });
}

/** Everything the client has to send, copied out. */
function drain(c: memtls.Connection): Buffer | null {
  const parts: Buffer[] = [];
  for (let n; (n = c.takeOutput(scratch)) > 0; ) parts.push(Buffer.from(scratch.subarray(0, n)));
  return parts.length > 0 ? Buffer.concat(parts) : null;
}

/** K requests of `size` bytes, each one record. */
function requests(c: memtls.Connection, size: number): Buffer[] {
  const msg = Buffer.alloc(size, 0x61);
  const out: Buffer[] = [];
  for (let i = 0; i < K; i++) {
    c.write(msg);
    out.push(drain(c)!);
  }
  return out;
}

/** Runs the client's side of a handshake against `send`/`onCipher` until both are done. */
async function shake(c: memtls.Connection, send: (b: Buffer) => void, serverDone: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(c.handshakeDone && serverDone())) {
    if (Date.now() > deadline) throw new Error('handshake did not finish in 10 s');
    if (!c.handshakeDone) c.handshake();
    const b = drain(c);
    if (b !== null) send(b);
    await new Promise((r) => setImmediate(r));
  }
}

function timeMemtls(size: number, four: boolean, batch = false): number {
  const c = client();
  const s = new memtls.Connection(sctx);
  for (let i = 0; i < 20 && !(c.handshakeDone && s.handshakeDone); i++) {
    c.handshake();
    let b = drain(c);
    if (b) s.feed(b);
    s.handshake();
    b = drain(s);
    if (b) c.feed(b);
  }
  const reqs = requests(c, size);
  const plain = Buffer.alloc(16384);
  const out = Buffer.alloc(16384 + 512);
  let check = 0;
  const t0 = process.hrtime.bigint();
  if (four) {
    for (let i = 0; i < K; i++) {
      const r = reqs[i]!;
      s.feed(r, 0, r.length);
      const n = s.read(plain, 0, plain.length);
      s.write(plain, 0, n);
      check += s.takeOutput(out, 0, out.length);
    }
  } else if (batch) {
    const groups: Buffer[] = [];
    for (let i = 0; i < K; i += 64) groups.push(Buffer.concat(reqs.slice(i, i + 64)));
    const big = Buffer.alloc(64 * size);
    const bigOut = Buffer.alloc(64 * size + 4096);
    let sent = 0;
    const t1 = process.hrtime.bigint();
    for (const g of groups) {
      let n = s.feedRead(g, 0, g.length, big);
      let at = 0;
      while (n > 0) {
        at += n;
        if (at === big.length) break;
        n = s.read(big, at, big.length - at);
      }
      sent += at;
      s.writeTake(big, 0, at, bigOut);
    }
    const ns = Number(process.hrtime.bigint() - t1) / K;
    if (sent !== K * size) throw new Error(`memtls-64: ${sent} plaintext bytes, expected ${K * size}`);
    c.close();
    s.close();
    return ns;
  } else {
    for (let i = 0; i < K; i++) {
      const r = reqs[i]!;
      const n = s.feedRead(r, 0, r.length, plain);
      check += s.writeTake(plain, 0, n, out);
    }
  }
  const ns = Number(process.hrtime.bigint() - t0) / K;
  if (check !== K * reqs[0]!.length) throw new Error(`memtls: ${check} reply bytes, expected ${K * reqs[0]!.length}`);
  c.close();
  s.close();
  return ns;
}

/** Ping-pong through a Node server TLSSocket: `push` delivers a request; replies are counted from `onReply`. */
async function timeNode(size: number, overSocket: boolean, window: number): Promise<number> {
  const c = client();
  let onCipher: (b: Buffer) => void = (b) => c.feed(b);
  let push: (b: Buffer) => void;
  let srv: tls.TLSSocket;
  let cleanup: () => void;
  if (overSocket) {
    const [a, b] = socketpair();
    const sa = new net.Socket({ fd: a.detach(), readable: true, writable: true });
    const sb = new net.Socket({ fd: b.detach(), readable: true, writable: true });
    sb.setNoDelay?.(true);
    srv = new tls.TLSSocket(sa, { isServer: true, secureContext: nodeCtx });
    sb.on('data', (d: Buffer) => onCipher(d));
    push = (buf) => sb.write(buf);
    cleanup = () => { srv.destroy(); sa.destroy(); sb.destroy(); };
  } else {
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) { cb(); onCipher(chunk); },
    });
    srv = new tls.TLSSocket(duplex, { isServer: true, secureContext: nodeCtx });
    push = (buf) => duplex.push(buf);
    cleanup = () => { srv.destroy(); duplex.destroy(); };
  }
  srv.on('error', (e) => { throw e; });
  let secure = false;
  srv.on('secure', () => { secure = true; });
  let plainIn = 0;
  srv.on('data', (d: Buffer) => { plainIn += d.length; srv.write(d); });
  await shake(c, push, () => secure);
  await new Promise((r) => setTimeout(r, 20));  // session tickets and the like settle
  drain(c);
  const reqs = requests(c, size);
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    let done = 0;
    let sent = 0;
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`node: stuck at record ${done} (sent ${sent}, plaintext left ${got}, body ${body}, head ${head}, server got ${plainIn})`)), 120_000);
    // Node may reply to two requests in one record: count the replies'
    // plaintext from the TLS 1.3 record headers (length - type byte - tag).
    let head = 0;  // header bytes still to read of the current record
    let body = 0;  // body bytes still to skip
    let len = 0;
    onCipher = (b) => {
      for (let off = 0; off < b.length; ) {
        if (body > 0) {
          const k = Math.min(body, b.length - off);
          body -= k;
          off += k;
          continue;
        }
        if (head === 0) head = 5;
        const byte = b[off++]!;
        head--;
        if (head === 1) len = byte << 8;
        else if (head === 0) {
          len |= byte;
          body = len;
          got += len - 17;
        }
      }
      let more = 0;
      while (got >= size) {
        got -= size;
        if (++done === K) {
          clearTimeout(timer);
          resolve();
          return;
        }
        more++;
      }
      // Pushed from a microtask, never from inside Node's write callback:
      // a request pushed re-entrantly there can stall the TLSSocket (seen
      // with 64 in flight), and no transport feeds TLS that way.
      if (more > 0) {
        queueMicrotask(() => {
          for (; more > 0 && sent < K; more--) push(reqs[sent++]!);
        });
      }
    };
    while (sent < Math.min(window, K)) push(reqs[sent++]!);
  });
  const ns = Number(process.hrtime.bigint() - t0) / K;
  cleanup();
  c.close();
  return ns;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  console.log(`MEMTLS: server-side decrypt + encrypt per echo record, ${K} records per case, ${ROUNDS} rounds, Node ${process.version}, ${memtls.opensslVersion}`);
  for (const size of SIZES) {
    const res = Object.fromEntries(CASES.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
    for (let r = 0; r < ROUNDS; r++) {
      for (let j = 0; j < CASES.length; j++) {
        const cs = CASES[(j + r) % CASES.length]!;
        const ns = cs === 'memtls-2' ? timeMemtls(size, false)
          : cs === 'memtls-4' ? timeMemtls(size, true)
          : cs === 'memtls-64' ? timeMemtls(size, false, true)
          : await timeNode(size, cs.startsWith('node-socket'), cs.endsWith('-64') ? 64 : 1);
        res[cs].push(ns);
      }
    }
    const fmt = (x: number): string => `${(x / 1000).toFixed(2)} us`;
    for (const cs of CASES) console.log(`  ${size} B ${cs.padEnd(12)} ${fmt(median(res[cs]))}/record  [${res[cs].map(fmt).join(', ')}]`);
    const ratio = (a: Case, b: Case): string => `${median(res[a].map((x, i) => x / res[b][i]!)).toFixed(2)}x`;
    console.log(`  ${size} B per record vs memtls-2: ${CASES.slice(1).map((c) => `${c} ${ratio(c, 'memtls-2')}`).join(', ')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
