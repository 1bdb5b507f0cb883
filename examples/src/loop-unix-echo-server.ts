/**
 * The protocol echo server (loop-protocol-echo-server) on a Unix-domain
 * socket: asyncio's `loop.create_unix_server`, ported onto @iomux/loop.
 *
 *   npm run example -- loop-unix-echo-server [--path PATH] [--backend epoll|poll|select]
 *
 * PATH defaults to iomux-echo.sock in the temporary directory. A PATH that
 * starts with `@` is a Linux abstract name (`@echo` binds "\0echo"): no file
 * at all. A stale socket file at PATH is replaced, as asyncio does, and the
 * file is removed when the server stops (asyncio 3.13's cleanup_socket).
 * (Node 20's `net` pads an abstract name with NULs to 108 bytes: a Node
 * client's "\0echo" is another name than this server's.)
 * Try it with `nc -U PATH`, or `npm run example -- echo-client --unix PATH`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { EventLoop, OSError, type Protocol, type Transport } from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { forEachOption, stopSignal, unixSocketName, UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- loop-unix-echo-server [--path PATH|@ABSTRACT-NAME] [--backend epoll|poll|select]';

/** Echoes what it receives; stops reading while its replies are over the high-water mark. */
class EchoServerProtocol implements Protocol {
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

export async function main(argv: string[]): Promise<number> {
  let sockPath = path.join(os.tmpdir(), 'iomux-echo.sock');
  let backend: string | undefined;
  forEachOption(argv, USAGE, (name, next) => {
    if (name === '--path' || name === '-P') sockPath = next();
    else if (name === '--backend' || name === '-b') backend = next();
    else return false;
    return true;
  });
  if (sockPath === '' || sockPath === '@') throw new UsageError('--path must not be empty');
  let loop: EventLoop;
  try {
    loop = new EventLoop(backend !== undefined ? { selector: backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const stop = stopSignal();
  try {
    await loop.runUntilComplete(async () => {
      const server = await loop.createUnixServer(() => new EchoServerProtocol(), unixSocketName(sockPath), { backlog: 1024, cleanupSocket: true });
      const how = sockPath.startsWith('@') ? `socat - ABSTRACT-CONNECT:${sockPath.slice(1)}` : `nc -U ${sockPath}`;
      process.stdout.write(`listening on unix:${sockPath} (backend ${selectorBackend(loop._selector)})\nconnect with: ${how}\n`);
      await stop.promise;
      // Closing the server also removes its socket file (cleanupSocket); no
      // waitClosed(): it would wait for connected clients to leave.
      server.close();
    });
  } catch (e) {
    // A path too long, in a missing directory, or taken by another file: Python's message, no stack.
    if (!(e instanceof OSError)) throw e;
    process.stderr.write(`loop-unix-echo-server: ${e.name}: ${e.message}\n`);
    return 1;
  } finally {
    loop.close();
  }
  process.stdout.write('stopped\n');
  return 0;
}
