/**
 * Bench-only Node `net` TCP echo server: the baseline of
 * bench/src/echo.bench.ts.
 *
 *   node bench/dist/node-net-echo-server.js [--host 127.0.0.1] [--port 0]
 *
 * The plainest idiomatic echo: every 'data' chunk is written straight back
 * (pausing the socket while a write is buffered, so a slow reader cannot
 * make it queue without bound). TCP_NODELAY is set on every connection, as
 * the iomux loop (like asyncio) and the C server do. Prints
 * `listening on HOST:PORT (backend node-net)` and exits on SIGTERM/SIGINT.
 */
import * as net from 'node:net';

function main(argv: string[]): void {
  let host = '127.0.0.1';
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--host' && v !== undefined) host = v;
    else if (a === '--port' && v !== undefined) port = Number(v);
    else {
      process.stderr.write('usage: node-net-echo-server [--host H] [--port P]\n');
      process.exit(2);
    }
    i++;
  }

  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('data', (data: Buffer) => {
      if (!socket.write(data)) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  server.listen({ host, port, backlog: 1024 }, () => {
    const addr = server.address() as net.AddressInfo;
    process.stdout.write(`listening on ${addr.address}:${addr.port} (backend node-net)\n`);
  });

  const stop = (): void => {
    server.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main(process.argv.slice(2));
