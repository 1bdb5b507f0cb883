/**
 * The UDP echo server of asyncio's documentation ("UDP Echo Server",
 * protocols), ported onto @iomux/loop: every datagram goes back to its
 * sender as it came.
 *
 *   npm run example -- loop-udp-echo-server [--host H] [--port P] [--backend epoll|poll|select]
 *
 * Try it with `nc -u 127.0.0.1 PORT`, or `npm run example -- echo-client
 * --udp --port PORT`. Set IOMUX_VERBOSE=1 to log each datagram as the
 * Python example does. Beyond the Python example, it stops reading while
 * replies wait in its send queue over the high-water mark (pauseWriting),
 * so a flood of datagrams cannot make it buffer without bound: the kernel
 * drops what it cannot queue, as UDP allows.
 */
import { EventLoop, OSError, type DatagramProtocol, type DatagramTransport } from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { announce, parseServerArgs, stopSignal, UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- loop-udp-echo-server [--host HOST] [--port PORT] [--backend epoll|poll|select]';

class EchoServerProtocol implements DatagramProtocol {
  transport!: DatagramTransport;
  constructor(private readonly verbose: boolean) {}

  connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }

  datagramReceived(data: Buffer, addr: unknown): void {
    if (this.verbose) process.stdout.write(`Received ${data.length} bytes from ${JSON.stringify(addr)}; sending them back\n`);
    this.transport.sendto(data, addr);
  }

  /** A failed send or receive (the transport stays open): say so and go on. */
  errorReceived(exc: Error): void {
    process.stderr.write(`error: ${exc.name}: ${exc.message}\n`);
  }

  pauseWriting(): void {
    this.transport.pauseReading();
  }

  resumeWriting(): void {
    this.transport.resumeReading();
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
  const verbose = process.env.IOMUX_VERBOSE === '1';
  const stop = stopSignal();
  try {
    await loop.runUntilComplete(async () => {
      const [transport] = await loop.createDatagramEndpoint(() => new EchoServerProtocol(verbose), { localAddr: [args.host, args.port] });
      // An IPv6 sockname has four fields; the first two are the host and port.
      const [host, port] = transport.getExtraInfo('sockname') as [string, number];
      announce(host, port, selectorBackend(loop._selector), `nc -u ${host} ${port}`);
      await stop.promise;
      transport.close();
    });
  } catch (e) {
    // A name that does not resolve, a port in use: Python's message, no stack.
    if (!(e instanceof OSError)) throw e;
    process.stderr.write(`loop-udp-echo-server: ${e.name}: ${e.message}\n`);
    return 1;
  } finally {
    loop.close();
  }
  process.stdout.write('stopped\n');
  return 0;
}
