/**
 * Bench-only TLS echo servers for bench/src/tls.bench.ts, one per process:
 *
 *   node bench/dist/tls-echo-servers.js iomux|node [--port 0] [--backend epoll]
 *
 * - `iomux`: the loop's createServer with `ssl`, on its default TLS engine
 *   (core-native's memtls, sslproto-memtls.ts; `IOMUX_TLS_ENGINE=node` in
 *   the environment runs Node's TLSSocket engine, sslproto.ts, instead),
 *   the protocol writing every chunk straight back;
 * - `node`: Node's `tls.createServer`, every 'data' chunk written back
 *   (pausing while a write is buffered), TCP_NODELAY on both.
 * Both use the committed test certificate (examples/fixtures/tls, a
 * 2048-bit RSA key). Prints `listening on HOST:PORT (backend KIND)` and
 * exits on SIGTERM/SIGINT.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { EventLoop, createSslContext, type Protocol, type Transport } from '@iomux/loop';

const FIXTURES = path.resolve(__dirname, '..', '..', 'examples', 'fixtures', 'tls');

function main(argv: string[]): void {
  const kind = argv[0];
  let port = 0;
  let backend = 'epoll';
  for (let i = 1; i < argv.length; i += 2) {
    if (argv[i] === '--port') port = Number(argv[i + 1]);
    else if (argv[i] === '--backend') backend = String(argv[i + 1]);
  }
  const key = fs.readFileSync(path.join(FIXTURES, 'key.pem'));
  const cert = fs.readFileSync(path.join(FIXTURES, 'cert.pem'));
  if (kind === 'node') {
    const server = tls.createServer({ key, cert }, (socket) => {
      socket.setNoDelay(true);
      socket.on('data', (data: Buffer) => {
        if (!socket.write(data)) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      });
      socket.on('end', () => socket.end());
      socket.on('error', () => socket.destroy());
    });
    server.listen({ host: '127.0.0.1', port, backlog: 1024 }, () => {
      const a = server.address() as { address: string; port: number };
      process.stdout.write(`listening on ${a.address}:${a.port} (backend node-tls)\n`);
    });
    process.on('SIGTERM', () => process.exit(0));
    process.on('SIGINT', () => process.exit(0));
    return;
  }
  if (kind !== 'iomux') {
    process.stderr.write('usage: tls-echo-servers iomux|node [--port P] [--backend B]\n');
    process.exit(2);
  }
  const loop = new EventLoop({ selector: backend });
  class Echo implements Protocol {
    t: Transport | null = null;
    connectionMade(t: Transport): void {
      this.t = t;
    }
    dataReceived(d: Buffer): void {
      this.t!.write(d);
    }
  }
  const stop = (): void => loop.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  void loop
    .runUntilComplete(async () => {
      const srv = await loop.createServer(() => new Echo(), '127.0.0.1', port, { ssl: createSslContext({ key, cert }), backlog: 1024 });
      const a = srv.address()!;
      process.stdout.write(`listening on ${a.address}:${a.port} (backend iomux-tls-${backend})\n`);
    })
    .then(() => loop.runForever())
    .then(() => process.exit(0));
}

main(process.argv.slice(2));
