/**
 * The TCP echo server of asyncio's documentation ("TCP Echo Server",
 * protocols) over TLS: `loop.createServer(..., { ssl })` on @iomux/loop,
 * OpenSSL in Node (see packages/loop/README.md, "TLS").
 *
 *   npm run example -- loop-tls-echo-server [--host H] [--port P] [--backend B] [--cert FILE --key FILE] [--alpn a,b]
 *
 * Node's crypto cannot make an X.509 certificate, so without --cert/--key
 * the server loads the test-only certificate committed under
 * examples/fixtures/tls (made by scripts/make-test-certs.sh: localhost,
 * 127.0.0.1 and ::1, signed by the test CA in ca.pem). Never use it for
 * anything real. Try it with
 * `openssl s_client -connect 127.0.0.1:PORT -CAfile examples/fixtures/tls/ca.pem`
 * or `npm run example -- echo-client --tls`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventLoop, createSslContext, type Protocol, type Transport } from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { announce, forEachOption, intOption, stopSignal, UsageError } from './cli.js';

/** The committed test-only certificate (examples/fixtures/tls). */
export const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'tls');

const USAGE = `usage: npm run example -- loop-tls-echo-server [--host HOST] [--port PORT] [--backend epoll|poll|select]
    [--cert FILE --key FILE] [--alpn PROTO,...]
Without --cert/--key it loads the TEST-ONLY certificate of ${FIXTURES}
(Node's crypto cannot make an X.509 certificate; scripts/make-test-certs.sh made it).`;

/** asyncio's echo protocol; reading stops while replies are over the high-water mark. */
class TlsEchoProtocol implements Protocol {
  transport!: Transport;
  constructor(private readonly verbose: boolean) {}

  connectionMade(transport: Transport): void {
    this.transport = transport;
    if (this.verbose) {
      const cipher = transport.getExtraInfo('cipher') as [string, string, number] | null;
      process.stdout.write(`Connection from ${JSON.stringify(transport.getExtraInfo('peername'))} (${cipher?.[1]} ${cipher?.[0]})\n`);
    }
  }

  dataReceived(data: Buffer): void {
    this.transport.write(data);
  }

  pauseWriting(): void {
    this.transport.pauseReading();
  }

  resumeWriting(): void {
    this.transport.resumeReading();
  }
}

export async function main(argv: string[]): Promise<number> {
  let host = '127.0.0.1';
  let port = 0;
  let backend: string | undefined;
  let cert = path.join(FIXTURES, 'cert.pem');
  let key = path.join(FIXTURES, 'key.pem');
  let alpn: string[] | null = null;
  forEachOption(argv, USAGE, (name, next) => {
    if (name === '--host' || name === '-H') host = next();
    else if (name === '--port' || name === '-p') port = intOption('--port', next(), 0, 65535);
    else if (name === '--backend' || name === '-b') backend = next();
    else if (name === '--cert') cert = next();
    else if (name === '--key') key = next();
    else if (name === '--alpn') alpn = next().split(',');
    else return false;
    return true;
  });
  let ctx;
  try {
    ctx = createSslContext({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), alpnProtocols: alpn });
  } catch (e) {
    throw new UsageError(`cannot load the certificate: ${(e as Error).message}`);
  }
  let loop: EventLoop;
  try {
    loop = new EventLoop(backend !== undefined ? { selector: backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const verbose = process.env.IOMUX_VERBOSE === '1';
  const stop = stopSignal();
  await loop.runUntilComplete(async () => {
    const server = await loop.createServer(() => new TlsEchoProtocol(verbose), host, port, { ssl: ctx, backlog: 1024 });
    const addr = server.address()!;
    announce(addr.address, addr.port, selectorBackend(loop._selector), `npm run example -- echo-client --tls --port ${addr.port}`);
    await stop.promise;
    server.close();
  });
  loop.close();
  process.stdout.write('stopped\n');
  return 0;
}
