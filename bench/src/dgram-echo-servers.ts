/**
 * Bench-only UDP and Unix-socket echo servers for bench/src/dgram.bench.ts:
 * iomux's loop against Node's own modules, one server per process.
 *
 *   node bench/dist/dgram-echo-servers.js iomux-udp|node-udp [--port 0]
 *   node bench/dist/dgram-echo-servers.js iomux-unix|node-unix --path PATH
 *
 * - iomux-udp: `loop.createDatagramEndpoint` on 127.0.0.1 (epoll), a
 *   DatagramProtocol whose datagramReceived sends each datagram back with
 *   `transport.sendto(data, addr)`, as asyncio's UDP echo example does.
 * - node-udp: a Node `dgram` udp4 socket doing the same on 'message'.
 * - iomux-unix: `loop.createUnixServer` with the protocol echo of
 *   examples/src/loop-protocol-echo-server.ts (pausing reads while a
 *   client's replies are over the high-water mark).
 * - node-unix: a Node `net` server listening on the path, the same echo as
 *   node-net-echo-server.ts.
 *
 * Only @iomux/loop's public API. Prints `listening on HOST:PORT (...)` (for
 * Unix servers `listening on unix:0 (...)`) and exits on SIGTERM/SIGINT.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { EventLoop, type DatagramProtocol, type DatagramTransport, type Protocol, type Transport } from '@iomux/loop';
import { runMain } from './run-main.js';

const USAGE = 'usage: dgram-echo-servers iomux-udp|node-udp [--port P] | iomux-unix|node-unix --path PATH';

class UdpEcho implements DatagramProtocol {
  transport!: DatagramTransport;
  connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }
  datagramReceived(data: Buffer, addr: unknown): void {
    this.transport.sendto(data, addr);
  }
  errorReceived(exc: Error): void {
    process.stderr.write(`errorReceived: ${exc.message}\n`);
  }
}

class StreamEcho implements Protocol {
  transport!: Transport;
  connectionMade(transport: Transport): void {
    this.transport = transport;
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

/** Resolves on SIGTERM or SIGINT. */
function stopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

async function iomux(kind: 'udp' | 'unix', port: number, path: string): Promise<void> {
  const loop = new EventLoop({ selector: 'epoll' });
  const stop = stopped();
  await loop.runUntilComplete(async () => {
    if (kind === 'udp') {
      const [transport] = await loop.createDatagramEndpoint(() => new UdpEcho(), { localAddr: ['127.0.0.1', port] });
      const [host, p] = transport.getExtraInfo('sockname') as [string, number];
      process.stdout.write(`listening on ${host}:${p} (iomux loop UDP, epoll)\n`);
      await stop;
      transport.close();
    } else {
      const server = await loop.createUnixServer(() => new StreamEcho(), path, { backlog: 1024 });
      process.stdout.write(`listening on unix:0 (iomux loop Unix, epoll, ${path})\n`);
      await stop;
      server.close();
    }
  });
  loop.close();
}

function node(kind: 'udp' | 'unix', port: number, path: string): void {
  if (kind === 'udp') {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.on('error', (e) => process.stderr.write(`error: ${e.message}\n`));
    sock.bind(port, '127.0.0.1', () => {
      const a = sock.address();
      process.stdout.write(`listening on ${a.address}:${a.port} (Node dgram)\n`);
    });
    void stopped().then(() => sock.close());
    return;
  }
  const server = net.createServer((socket) => {
    socket.on('data', (data: Buffer) => {
      if (!socket.write(data)) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  server.listen({ path, backlog: 1024 }, () => process.stdout.write(`listening on unix:0 (Node net, ${path})\n`));
  void stopped().then(() => {
    server.close();
    process.exit(0);
  });
}

async function main(argv: string[]): Promise<number> {
  const which = argv[0] ?? '';
  let port = 0;
  let path = '';
  let bad = false;
  for (let i = 1; i < argv.length; i += 2) {
    if (argv[i] === '--port' && argv[i + 1] !== undefined) port = Number(argv[i + 1]);
    else if (argv[i] === '--path' && argv[i + 1] !== undefined) path = argv[i + 1]!;
    else bad = true;
  }
  const m = /^(iomux|node)-(udp|unix)$/.exec(which);
  if (bad || m === null || (m[2] === 'unix' && path === '') || !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  if (m[1] === 'iomux') await iomux(m[2] as 'udp' | 'unix', port, path);
  else node(m[2] as 'udp' | 'unix', port, path);
  return 0;
}

runMain(() => main(process.argv.slice(2)));
