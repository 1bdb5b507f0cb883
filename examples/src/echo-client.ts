/**
 * An echo client and load tester on @iomux/loop's streams: N connections,
 * each sending SIZE-byte messages one at a time and checking that every
 * byte comes back (ping-pong), for a duration or a number of messages. It
 * prints a progress line once per second and a summary: messages, bytes,
 * requests per second, p50/p99 round-trip latency in microseconds, errors.
 *
 *   npm run example -- echo-client --host H --port P [--connections N] [--size BYTES]
 *                                  [--duration SECONDS | --messages M] [--backend epoll|poll|select]
 *
 * Exit code 0 when every message came back intact, 1 otherwise (a refused
 * or reset connection, a short or wrong echo), 2 for a bad command line.
 * Ctrl-C stops early and still prints the summary.
 */
import { randomBytes } from 'node:crypto';
import { EventLoop, openConnection, type StreamReader, type StreamWriter } from '@iomux/loop';
import { selectorBackend } from '@iomux/selectors';
import { forEachOption, intOption, stopSignal, UsageError } from './cli.js';

const USAGE =
  'usage: npm run example -- echo-client --host HOST --port PORT [--connections N] [--size BYTES]\n' +
  '                                      [--duration SECONDS | --messages M] [--backend epoll|poll|select]';

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
}

/** Parses the client's command line (cli.ts's conventions: `--opt value` or `--opt=value`). */
export function parseClientArgs(argv: string[]): ClientArgs {
  const out: ClientArgs = { host: '127.0.0.1', port: -1, connections: 10, size: 1024, duration: null, messages: null };
  const int = intOption;
  forEachOption(argv, USAGE, (name, next) => {
    switch (name) {
      case '--host':
      case '-H':
        out.host = next();
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
      default:
        return false;
    }
  });
  if (out.port < 0) throw new UsageError('--port is required');
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

/** One connection's ping-pong: write a message, read exactly its echo, compare. */
async function connection(id: number, args: ClientArgs, stats: Stats, stopping: () => boolean): Promise<void> {
  let reader: StreamReader;
  let writer: StreamWriter;
  try {
    [reader, writer] = await openConnection(args.host, args.port);
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

export async function main(argv: string[]): Promise<number> {
  const args = parseClientArgs(argv);
  let loop: EventLoop;
  try {
    loop = new EventLoop(args.backend !== undefined ? { selector: args.backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const tty = process.stdout.isTTY === true;
  const stats = new Stats();
  const signal = stopSignal();
  let deadlinePassed = false;
  const stopping = (): boolean => deadlinePassed || signal.requested();
  const what = args.messages !== null ? `${args.messages} messages each` : `${args.duration} s`;
  process.stdout.write(
    `echo-client: ${args.connections} connections to ${args.host}:${args.port}, ${args.size}-byte messages, ${what} (backend ${selectorBackend(loop._selector)})\n`,
  );

  const t0 = performance.now();
  await loop.runUntilComplete(async () => {
    if (args.duration !== null) loop.callLater(args.duration, () => (deadlinePassed = true));
    // A progress line once per second, on the loop's own clock.
    let last = { at: t0, messages: 0 };
    const progress = (): void => {
      const now = performance.now();
      const rate = ((stats.messages - last.messages) * 1000) / (now - last.at);
      last = { at: now, messages: stats.messages };
      const line = `[${((now - t0) / 1000).toFixed(0).padStart(3)} s] ${stats.messages} messages, ${rate.toFixed(0)} req/s, ${stats.connected} connected, ${stats.errors} errors`;
      process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      timer = loop.callLater(1, progress);
    };
    let timer = loop.callLater(1, progress);
    await Promise.all(Array.from({ length: args.connections }, (_, i) => connection(i, args, stats, stopping)));
    timer.cancel();
  });
  loop.close();
  const seconds = (performance.now() - t0) / 1000;

  const sorted = Float64Array.from(stats.latencies).sort();
  const lat = Array.from(sorted);
  if (tty) process.stdout.write('\n');
  for (const e of stats.firstErrors) process.stderr.write(`error: ${e}\n`);
  const expected = args.messages !== null ? args.messages * args.connections : null;
  const complete = expected === null ? stats.connected === args.connections : stats.messages === expected;
  process.stdout.write(
    `summary: ${stats.messages} messages, ${stats.bytes} bytes in ${seconds.toFixed(2)} s: ` +
      `${(stats.messages / seconds).toFixed(0)} req/s, ${(stats.bytes / seconds / 1e6).toFixed(2)} MB/s; ` +
      `latency p50 ${percentile(lat, 50).toFixed(0)} µs, p99 ${percentile(lat, 99).toFixed(0)} µs; ` +
      `errors ${stats.errors}\n`,
  );
  return stats.errors === 0 && complete ? 0 : 1;
}
