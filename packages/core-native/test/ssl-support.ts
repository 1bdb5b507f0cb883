// Shared by the memtls tests: the committed test certificates
// (scripts/make-test-certs.sh) and a pump that moves ciphertext between two
// memtls connections, as a transport would.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memtls } from '@iomux/core-native';

const dir = path.join(__dirname, '../../../../..', 'examples', 'fixtures', 'tls')  // from build/tests/packages/core-native/test;
const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));

/** The test CA, its server certificate (localhost, 127.0.0.1, ::1) and key, and an expired one. */
export const fixtures = {
  ca: read('ca.pem'),
  caKey: read('ca-key.pem'),
  cert: read('cert.pem'),
  key: read('key.pem'),
  expiredCert: read('expired-cert.pem'),
  expiredKey: read('expired-key.pem'),
};

/** A server context with the test certificate. */
export function serverContext(opts: memtls.ContextOptions = {}): memtls.Context {
  return new memtls.Context({ serverSide: true, cert: fixtures.cert, key: fixtures.key, ...opts });
}

/** A client context trusting the test CA. */
export function clientContext(opts: memtls.ContextOptions = {}): memtls.Context {
  return new memtls.Context({ ca: fixtures.ca, ...opts });
}

const scratch = Buffer.alloc(1 << 16);

/** Moves every pending ciphertext byte from `from` to `to`; returns the count. */
export function move(from: memtls.Connection, to: memtls.Connection): number {
  let total = 0;
  for (let n; (n = from.takeOutput(scratch)) > 0; ) {
    to.feed(scratch, 0, n);
    total += n;
  }
  return total;
}

/** Runs both handshakes to the end (bounded: 20 rounds). */
export function handshake(client: memtls.Connection, server: memtls.Connection): void {
  for (let i = 0; i < 20; i++) {
    const c = client.handshake();
    move(client, server);
    const s = server.handshake();
    move(server, client);
    if (c === 'done' && s === 'done') return;
  }
  throw new Error('handshake did not finish in 20 rounds');
}

/** A connected client/server pair over the given contexts. */
export function connectedPair(
  cctx: memtls.Context = clientContext(),
  sctx: memtls.Context = serverContext(),
  host = 'localhost',
): [memtls.Connection, memtls.Connection] {
  const client = new memtls.Connection(cctx, { serverHostname: host });
  const server = new memtls.Connection(sctx);
  handshake(client, server);
  return [client, server];
}

/** Byte i of a test stream: a 251-periodic pattern shifted by seed (misplaced bytes show). */
export function patternByte(i: number, seed: number): number {
  return (i * 7 + seed) % 251;
}

/** `length` bytes of the pattern starting at stream position `start`. */
export function pattern(start: number, length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = patternByte(start + i, seed);
  return b;
}
