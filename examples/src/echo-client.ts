/**
 * An echo client and load tester on @iomux/loop: N connections, each
 * sending SIZE-byte messages one at a time and checking that every byte
 * comes back (ping-pong), for a duration or a number of messages. It prints
 * a progress line once per second and a summary: messages, bytes, round
 * trips (requests) per second, p50/p99 round-trip latency in microseconds,
 * errors.
 *
 *   npm run example -- echo-client --host H --port P [--connections N] [--size BYTES]
 *                                  [--duration SECONDS | --messages M] [--backend epoll|poll|select]
 *                                  [--unix PATH | --udp [--timeout-ms MS]] [--tls [--ca FILE] [--server-hostname NAME]]
 *
 * Over TCP by default (streams: openConnection); `--unix PATH` talks to a
 * Unix-socket server instead (openUnixConnection; `@name` is a Linux
 * abstract name); `--udp` sends datagrams from N connected UDP sockets
 * (createDatagramEndpoint), and a datagram whose echo has not come back
 * within `--timeout-ms` (200) counts as lost: the socket sends the next.
 * `--tls` speaks TLS over TCP or the Unix socket (openConnection's `ssl`),
 * trusting `--ca FILE` (default: the test CA of examples/fixtures/tls, which
 * signed loop-tls-echo-server's test-only certificate) and checking the
 * server's certificate names `--server-hostname` (default: the host, or
 * `localhost` with --unix).
 *
 * Exit code 0 when every message came back intact, 1 otherwise (a refused
 * or reset connection, a short or wrong echo, a lost datagram), 2 for a bad
 * command line. Ctrl-C stops early and still prints the summary.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  EventLoop, createSslContext, getRunningLoop, openConnection, openUnixConnection, type DatagramProtocol, type DatagramTransport, type SSLContext, type StreamReader,
  type StreamWriter,
} from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { forEachOption, intOption, stopSignal, unixSocketName, UsageError } from './cli.js';

const USAGE =
  'usage: npm run example -- echo-client --host HOST --port PORT [--connections N] [--size BYTES]\n' +
  '                                      [--duration SECONDS | --messages M] [--backend epoll|poll|select]\n' +
  '                                      [--unix PATH | --udp [--timeout-ms MS]] [--tls [--ca FILE] [--server-hostname NAME]]';

/** The test CA that signed loop-tls-echo-server's test-only certificate. */
const TEST_CA = path.resolve(__dirname, '..', 'fixtures', 'tls', 'ca.pem');

/** The largest UDP payload over IPv4 (65535 - 20 - 8). */
const MAX_DATAGRAM = 65507;

export interface ClientArgs {
  host: string;
  port: number;
  connections: number;
  size: number;
  /** Seconds to run, when no message count is given. */
  duration: number | null;
  /** Messages per connection, when given. */
  messages: number | null;
  backend?: string;
  /** How to reach the server: TCP (`--host`/`--port`), a Unix socket (`--unix`), UDP (`--udp`). */
  transport: 'tcp' | 'unix' | 'udp';
  /** The Unix socket's path, with `--unix`. */
  unixPath: string | null;
  /** UDP: milliseconds to wait for a datagram's echo before counting it lost. */
  timeoutMs: number;
  /** TLS (`--tls`): the CA file to trust, and the name the server's certificate must have. */
  tls: { ca: string; serverHostname: string } | null;
}

/** Parses the client's command line (cli.ts's conventions: `--opt value` or `--opt=value`). */
export function parseClientArgs(argv: string[]): ClientArgs {
  const out: ClientArgs = {
    host: '127.0.0.1', port: -1, connections: 10, size: 1024, duration: null, messages: null, transport: 'tcp', unixPath: null, timeoutMs: 200, tls: null,
  };
  let tls = false;
  let ca: string | null = null;
  let serverHostname: string | null = null;
  const int = intOption;
  let hostGiven = false;
  let timeoutGiven = false;
  forEachOption(argv, USAGE, (name, next) => {
    switch (name) {
      case '--host':
      case '-H':
        out.host = next();
        hostGiven = true;
        return true;
      case '--port':
      case '-p':
        out.port = int('--port', next(), 1, 65535);
        return true;
      case '--connections':
      case '-c':
        out.connections = int('--connections', next(), 1, 100_000);
        return true;
      case '--size':
      case '-s':
        out.size = int('--size', next(), 1, 64 << 20);
        return true;
      case '--duration':
      case '-d': {
        const v = next();
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--duration must be a positive number of seconds, not '${v}'`);
        out.duration = n;
        return true;
      }
      case '--messages':
      case '-m':
        out.messages = int('--messages', next(), 1, Number.MAX_SAFE_INTEGER);
        return true;
      case '--backend':
      case '-b':
        out.backend = next();
        return true;
      case '--unix':
      case '-U':
        if (out.transport === 'udp') throw new UsageError('give --unix or --udp, not both');
        out.transport = 'unix';
        out.unixPath = next();
        if (out.unixPath === '' || out.unixPath === '@') throw new UsageError('--unix needs a path');
        return true;
      case '--udp':
      case '-u':
        if (out.transport === 'unix') throw new UsageError('give --unix or --udp, not both');
        out.transport = 'udp';
        return true;
      case '--timeout-ms':
        out.timeoutMs = int('--timeout-ms', next(), 1, 3_600_000);
        timeoutGiven = true;
        return true;
      case '--tls':
        tls = true;
        return true;
      case '--ca':
        ca = next();
        return true;
      case '--server-hostname':
        serverHostname = next();
        return true;
      default:
        return false;
    }
  });
  if (out.transport === 'unix') {
    if (out.port >= 0 || hostGiven) throw new UsageError('--unix PATH takes no --host or --port');
  } else if (out.port < 0) {
    throw new UsageError('--port is required');
  }
  if (timeoutGiven && out.transport !== 'udp') throw new UsageError('--timeout-ms is for --udp');
  if (!tls && (ca !== null || serverHostname !== null)) throw new UsageError('--ca and --server-hostname are for --tls');
  if (tls && out.transport === 'udp') throw new UsageError('--tls is for TCP or --unix, not --udp');
  if (tls) out.tls = { ca: ca ?? TEST_CA, serverHostname: serverHostname ?? (out.transport === 'unix' ? 'localhost' : out.host) };
  // The first 8 bytes number each datagram, so a late echo is told from the awaited one.
  if (out.transport === 'udp' && (out.size < 8 || out.size > MAX_DATAGRAM)) {
    throw new UsageError(`--size must be from 8 to ${MAX_DATAGRAM} with --udp, not ${out.size}`);
  }
  if (out.duration !== null && out.messages !== null) throw new UsageError('give --duration or --messages, not both');
  if (out.duration === null && out.messages === null) out.duration = 5;
  return out;
}

/** What all connections add up to. */
class Stats {
  messages = 0;
  bytes = 0;
  errors = 0;
  connected = 0;
  /** UDP: datagrams whose echo did not come back in time, and echoes that came after that. */
  lost = 0;
  late = 0;
  /** Round-trip times in microseconds. */
  latencies: number[] = [];
  firstErrors: string[] = [];

  error(conn: number, e: unknown): void {
    this.errors++;
    if (this.firstErrors.length < 5) this.firstErrors.push(`connection ${conn}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Connects a stream the way the command line says: TCP or a Unix socket, over TLS with --tls. */
function openStream(args: ClientArgs, ssl: SSLContext | null): Promise<[StreamReader, StreamWriter]> {
  const opts = ssl === null ? {} : { ssl, serverHostname: args.tls!.serverHostname };
  if (args.transport === 'unix') return openUnixConnection(unixSocketName(args.unixPath!), opts);
  return openConnection(args.host, args.port, opts);
}

/** One stream connection's ping-pong: write a message, read exactly its echo, compare. */
async function streamConnection(id: number, args: ClientArgs, stats: Stats, stopping: () => boolean, ssl: SSLContext | null): Promise<void> {
  let reader: StreamReader;
  let writer: StreamWriter;
  try {
    [reader, writer] = await openStream(args, ssl);
  } catch (e) {
    stats.error(id, e);
    return;
  }
  stats.connected++;
  // Random bytes once per connection; the first 8 carry the connection and
  // message numbers, so every message differs from the one before.
  const msg = randomBytes(args.size);
  try {
    for (let n = 0; !stopping() && (args.messages === null || n < args.messages); n++) {
      if (args.size >= 8) {
        msg.writeUInt32BE(id, 0);
        msg.writeUInt32BE(n >>> 0, 4);
      }
      const t0 = process.hrtime.bigint();
      writer.write(msg);
      await writer.drain();
      const echo = await reader.readexactly(args.size);
      stats.latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (!echo.equals(msg)) {
        stats.error(id, new Error(`message ${n}: the echo differs from what was sent`));
        break;
      }
      stats.messages++;
      stats.bytes += args.size;
    }
  } catch (e) {
    stats.error(id, e);
  } finally {
    writer.close();
    await writer.waitClosed().catch(() => {});
  }
}

/**
 * A connected UDP socket's protocol: what arrives (datagrams, or the errors
 * errorReceived reports, such as ConnectionRefusedError when nothing listens)
 * waits in a short queue until next() takes it.
 */
class UdpClient implements DatagramProtocol {
  transport!: DatagramTransport;
  private queue: Array<Buffer | Error> = [];
  private wake: (() => void) | null = null;

  connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }
  datagramReceived(data: Buffer): void {
    this.push(data);
  }
  errorReceived(exc: Error): void {
    this.push(exc);
  }
  connectionLost(exc: Error | null): void {
    this.push(exc ?? new Error('the UDP socket was closed'));
  }

  private push(x: Buffer | Error): void {
    // Bounded: at most one datagram is in flight, so more are strays.
    if (this.queue.length < 64) this.queue.push(x);
    this.wake?.();
  }

  /** The next datagram or error, or null once `deadline` (loop time) has passed. */
  async next(loop: EventLoop, deadline: number): Promise<Buffer | Error | null> {
    while (this.queue.length === 0) {
      const wait = deadline - loop.time();
      if (wait <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = loop.callLater(wait, () => resolve());
        this.wake = () => {
          timer.cancel();
          resolve();
        };
      });
      this.wake = null;
    }
    return this.queue.shift()!;
  }
}

/** One UDP socket's ping-pong: send a datagram, wait up to the timeout for its echo, compare. */
async function udpConnection(id: number, args: ClientArgs, stats: Stats, stopping: () => boolean, _ssl: SSLContext | null): Promise<void> {
  const loop = getRunningLoop<EventLoop>();
  let transport: DatagramTransport;
  let client: UdpClient;
  try {
    [transport, client] = await loop.createDatagramEndpoint(() => new UdpClient(), { remoteAddr: [args.host, args.port] });
  } catch (e) {
    stats.error(id, e);
    return;
  }
  stats.connected++;
  const msg = randomBytes(args.size);
  msg.writeUInt32BE(id, 0);
  try {
    for (let n = 0; !stopping() && (args.messages === null || n < args.messages); n++) {
      msg.writeUInt32BE(n >>> 0, 4);
      const t0 = process.hrtime.bigint();
      transport.sendto(msg);
      const deadline = loop.time() + args.timeoutMs / 1000;
      for (;;) {
        const got = await client.next(loop, deadline);
        if (got === null) {
          stats.lost++;
          break;
        }
        if (got instanceof Error) throw got;
        if (got.equals(msg)) {
          stats.latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
          stats.messages++;
          stats.bytes += args.size;
          break;
        }
        // The echo of an earlier datagram, after its timeout: dropped.
        if (got.length === msg.length && got.readUInt32BE(0) === id && got.subarray(8).equals(msg.subarray(8))) {
          stats.late++;
          continue;
        }
        throw new Error(`datagram ${n}: the echo differs from what was sent`);
      }
    }
  } catch (e) {
    stats.error(id, e);
  } finally {
    transport.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseClientArgs(argv);
  let loop: EventLoop;
  try {
    loop = new EventLoop(args.backend !== undefined ? { selector: args.backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let ssl: SSLContext | null = null;
  if (args.tls !== null) {
    try {
      ssl = createSslContext({ ca: fs.readFileSync(args.tls.ca) });
    } catch (e) {
      throw new UsageError(`--ca: ${(e as Error).message}`);
    }
  }
  const tty = process.stdout.isTTY === true;
  const stats = new Stats();
  const signal = stopSignal();
  let deadlinePassed = false;
  const stopping = (): boolean => deadlinePassed || signal.requested();
  const what = args.messages !== null ? `${args.messages} messages each` : `${args.duration} s`;
  const udp = args.transport === 'udp';
  const to =
    args.transport === 'unix'
      ? `${args.connections} connections to unix:${args.unixPath}`
      : `${args.connections} ${udp ? 'UDP sockets' : 'connections'} to ${args.host}:${args.port}`;
  process.stdout.write(
    `echo-client: ${to}${ssl !== null ? ` over TLS (${args.tls!.serverHostname})` : ''}, ${args.size}-byte messages, ${what}${udp ? `, ${args.timeoutMs} ms timeout` : ''} (backend ${selectorBackend(loop._selector)})\n`,
  );
  const connection = udp ? udpConnection : streamConnection;

  const t0 = performance.now();
  await loop.runUntilComplete(async () => {
    if (args.duration !== null) loop.callLater(args.duration, () => (deadlinePassed = true));
    // A progress line once per second, on the loop's own clock.
    let last = { at: t0, messages: 0 };
    const progress = (): void => {
      const now = performance.now();
      const rate = ((stats.messages - last.messages) * 1000) / (now - last.at);
      last = { at: now, messages: stats.messages };
      const line = `[${((now - t0) / 1000).toFixed(0).padStart(3)} s] ${stats.messages} messages, ${rate.toFixed(0)} req/s, ${stats.connected} connected, ${stats.errors} errors${udp ? `, ${stats.lost} lost` : ''}`;
      process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      timer = loop.callLater(1, progress);
    };
    let timer = loop.callLater(1, progress);
    await Promise.all(Array.from({ length: args.connections }, (_, i) => connection(i, args, stats, stopping, ssl)));
    timer.cancel();
  });
  loop.close();
  const seconds = (performance.now() - t0) / 1000;

  const sorted = Float64Array.from(stats.latencies).sort();
  const lat = Array.from(sorted);
  if (tty) process.stdout.write('\n');
  for (const e of stats.firstErrors) process.stderr.write(`error: ${e}\n`);
  const expected = args.messages !== null ? args.messages * args.connections : null;
  const complete = expected === null ? stats.connected === args.connections && stats.lost === 0 : stats.messages === expected;
  const sent = stats.messages + stats.lost;
  process.stdout.write(
    `summary: ${stats.messages} messages, ${stats.bytes} bytes in ${seconds.toFixed(2)} s: ` +
      `${(stats.messages / seconds).toFixed(0)} req/s, ${(stats.bytes / seconds / 1e6).toFixed(2)} MB/s; ` +
      `latency p50 ${percentile(lat, 50).toFixed(0)} µs, p99 ${percentile(lat, 99).toFixed(0)} µs; ` +
      `errors ${stats.errors}` +
      (udp ? `; lost ${stats.lost} of ${sent} datagrams (${args.timeoutMs} ms timeout), ${stats.late} late` : '') +
      '\n',
  );
  return stats.errors === 0 && complete ? 0 : 1;
}
