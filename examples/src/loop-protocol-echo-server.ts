/**
 * The TCP echo server of asyncio's documentation ("TCP Echo Server",
 * protocols), ported onto @iomux/loop.
 *
 *   npm run example -- loop-protocol-echo-server [--host H] [--port P] [--backend epoll|poll|select]
 *
 * Without --backend the loop uses DefaultSelector, so IOMUX_SELECTOR picks
 * the backend. Set IOMUX_VERBOSE=1 to log each connection as the Python
 * example does. Beyond the Python example, it stops reading from a client
 * while that client's replies are over the write buffer's high-water mark
 * (pauseWriting), as a careful asyncio protocol does.
 */
import { EventLoop, type BufferedProtocol, type Protocol, type Transport } from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { announce, parseServerArgs, stopSignal, UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- loop-protocol-echo-server [--host HOST] [--port PORT] [--backend epoll|poll|select] [--buffered]';

/**
 * What both echo protocols do when a client connects, and their flow
 * control: while the transport's write buffer is over its high-water mark
 * (the client reads slower than it sends), stop reading from the client, so
 * a client that never reads cannot make the server buffer without bound.
 */
class EchoConnection {
  transport!: Transport;
  constructor(private readonly verbose: boolean) {}

  connectionMade(transport: Transport): void {
    this.transport = transport;
    if (this.verbose) process.stdout.write(`Connection from ${JSON.stringify(transport.getExtraInfo('peername'))}\n`);
  }

  pauseWriting(): void {
    this.transport.pauseReading();
  }

  resumeWriting(): void {
    this.transport.resumeReading();
  }
}

class EchoServerProtocol extends EchoConnection implements Protocol {
  dataReceived(data: Buffer): void {
    this.transport.write(data);
  }
}

/**
 * The same server on asyncio's BufferedProtocol: the transport receives
 * into a buffer the protocol hands it, and no Buffer is allocated or copied
 * per read. One buffer serves every connection: bufferUpdated() passes the
 * bytes to write() at once, and write() sends them or copies what the
 * socket does not take.
 */
const shared = Buffer.allocUnsafeSlow(64 * 1024);
let lastView = shared;

class BufferedEchoServerProtocol extends EchoConnection implements BufferedProtocol {
  getBuffer(): Buffer {
    return shared;
  }

  bufferUpdated(nbytes: number): void {
    // A view of the first nbytes, kept while messages keep that size.
    if (lastView.length !== nbytes) lastView = shared.subarray(0, nbytes);
    this.transport.write(lastView);
  }
}

export async function main(argv: string[]): Promise<number> {
  const buffered = argv.includes('--buffered');
  const args = parseServerArgs(
    argv.filter((a) => a !== '--buffered'),
    { usage: USAGE, backend: true },
  );
  let loop: EventLoop;
  try {
    loop = new EventLoop(args.backend !== undefined ? { selector: args.backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const verbose = process.env.IOMUX_VERBOSE === '1';
  const stop = stopSignal();
  await loop.runUntilComplete(async () => {
    const factory = buffered ? () => new BufferedEchoServerProtocol(verbose) : () => new EchoServerProtocol(verbose);
    const server = await loop.createServer(factory, args.host, args.port, { backlog: 1024 });
    const addr = server.address()!;
    announce(addr.address, addr.port, selectorBackend(loop._selector));
    await stop.promise;
    server.close();
  });
  loop.close();
  process.stdout.write('stopped\n');
  return 0;
}
