/**
 * The TCP echo server of asyncio's documentation ("TCP echo server using
 * streams"), ported onto @iomux/loop's streams. `npm start` runs it.
 *
 *   npm run example -- loop-streams-echo-server [--host H] [--port P] [--backend epoll|poll|select]
 *
 * Changes from the Python example: it echoes everything a client sends
 * until the client closes (the Python one echoes one read), and stops
 * cleanly on SIGINT or SIGTERM.
 */
import { EventLoop, startServer, type StreamReader, type StreamWriter } from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { announce, parseServerArgs, stopSignal, UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- loop-streams-echo-server [--host HOST] [--port PORT] [--backend epoll|poll|select]';

async function handleEcho(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (;;) {
      const data = await reader.read(65536);
      if (data.length === 0) break;
      writer.write(data);
      await writer.drain();
    }
  } catch {
    // reset by peer: nothing to echo to
  } finally {
    writer.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseServerArgs(argv, { usage: USAGE, backend: true });
  let loop: EventLoop;
  try {
    loop = new EventLoop(args.backend !== undefined ? { selector: args.backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const stop = stopSignal();
  await loop.runUntilComplete(async () => {
    const server = await startServer(handleEcho, args.host, args.port, { backlog: 1024 });
    const addr = server.address()!;
    announce(addr.address, addr.port, selectorBackend(loop._selector));
    await stop.promise;
    server.close();
  });
  loop.close();
  process.stdout.write('stopped\n');
  return 0;
}
