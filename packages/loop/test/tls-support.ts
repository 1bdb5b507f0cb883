/**
 * Test support for the TLS tests: the committed test-only certificates
 * (examples/fixtures/tls, made by scripts/make-test-certs.sh), contexts
 * made from them, and an echo protocol and client that check every byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { Test } from 'tap';
import { createSslContext, type BaseEventLoop, type Protocol, type SSLContext, type Transport } from '@iomux/loop';
import { waitFor } from './helpers.js';

/** The repository root (these tests run from build/tests/packages/loop/test). */
export const ROOT = path.join(__dirname, '../../../../..');
/** The fixtures' folder. */
export const FIXTURES = path.join(ROOT, 'examples/fixtures/tls');

/** The TLS engines every TLS test runs on (tls-engine.ts). */
export const ENGINES = ['memtls', 'node'] as const;
export type Engine = (typeof ENGINES)[number];

/**
 * Runs `t`'s tests on `engine`: IOMUX_TLS_ENGINE=node while they run for
 * the node engine, unset for memtls (the default), so that every context
 * they make (helpers, options objects, `ssl: true`) is on that engine.
 */
export function useEngine(t: Test, engine: Engine): void {
  const before = process.env.IOMUX_TLS_ENGINE;
  if (engine === 'node') process.env.IOMUX_TLS_ENGINE = 'node';
  else delete process.env.IOMUX_TLS_ENGINE;
  t.teardown(() => {
    if (before === undefined) delete process.env.IOMUX_TLS_ENGINE;
    else process.env.IOMUX_TLS_ENGINE = before;
  });
}

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

/** A Node `tls` echo server on 127.0.0.1 with the test certificate (its errors ignored), closed at teardown. */
export async function nodeTlsEchoServer(t: Test): Promise<tls.Server> {
  const srv = tls.createServer({ key: fixture('key.pem'), cert: fixture('cert.pem') }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  return srv;
}

/** The server's context: localhost/127.0.0.1/::1, signed by the test CA. */
export function serverContext(extra: Record<string, unknown> = {}): SSLContext {
  return createSslContext({ key: fixture('key.pem'), cert: fixture('cert.pem'), ...extra });
}

/** A client's context that trusts the test CA (and checks hostnames). */
export function clientContext(extra: Record<string, unknown> = {}): SSLContext {
  return createSslContext({ ca: fixture('ca.pem'), ...extra });
}

/** A server protocol that echoes what it receives and records its life. */
export class EchoProto implements Protocol {
  transport: Transport | null = null;
  events: string[] = [];
  lostWith: Error | null | undefined = undefined;
  /** What came before the transport was known (after startTls, data may beat its promise). */
  #early: Buffer[] = [];
  connectionMade(t: Transport): void {
    this.transport = t;
    this.events.push('made');
    for (const d of this.#early.splice(0)) t.write(d);
  }
  dataReceived(d: Buffer): void {
    if (this.transport === null) this.#early.push(d);
    else this.transport.write(d);
  }
  eofReceived(): void {
    this.events.push('eof');
  }
  connectionLost(exc: Error | null): void {
    this.events.push('lost');
    this.lostWith = exc;
  }
}

/** A byte pattern that differs per client and per offset (every byte is checked). */
export function pattern(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/**
 * A client protocol that collects what comes back and resolves `done`
 * once `expect` bytes arrived.
 */
export class CollectProto implements Protocol {
  transport: Transport | null = null;
  chunks: Buffer[] = [];
  got = 0;
  events: string[] = [];
  lostWith: Error | null | undefined = undefined;
  readonly done: Promise<Buffer>;
  #resolve!: (b: Buffer) => void;
  constructor(readonly expect: number) {
    this.done = new Promise((r) => (this.#resolve = r));
  }
  connectionMade(t: Transport): void {
    this.transport = t;
    this.events.push('made');
  }
  dataReceived(d: Buffer): void {
    this.chunks.push(d);
    this.got += d.length;
    if (this.got >= this.expect) this.#resolve(Buffer.concat(this.chunks));
  }
  eofReceived(): void {
    this.events.push('eof');
  }
  connectionLost(exc: Error | null): void {
    this.events.push('lost');
    this.lostWith = exc;
  }
}

/** Closes `tr` and waits (inside the running loop) until its socket is closed. */
export async function closeWait(loop: BaseEventLoop, tr: Transport): Promise<void> {
  tr.close();
  await waitFor(loop, () => tr.getExtraInfo('socket') === null, 10, 'the transport to close');
}
