/**
 * A tiny HTTP client on @iomux/loop's streams: resolves a host name with
 * the loop's resolver (loop.getaddrinfo), connects (openConnection, which
 * tries each address in turn), sends `HEAD PATH HTTP/1.0` with a Host
 * header and prints the status line the server answers. An https:// URL
 * speaks TLS (the loop's `ssl` option, Node's OpenSSL), checking the
 * server's certificate against Node's root CAs, or only against `--ca FILE`.
 *
 *   npm run example -- fetch-head URL | HOST [PORT] [PATH]  [--timeout SECONDS] [--ca FILE] [--backend epoll|poll|select]
 *
 *   npm run example -- fetch-head http://localhost:8080/index.html
 *   npm run example -- fetch-head localhost 8080 /index.html
 *
 * PORT defaults to 80, PATH to `/`, the timeout (for the whole exchange) to
 * 10 s; 443 for https://. Exit code 0 with a
 * status line, 1 on failure with Python's error class and message (a name
 * that does not resolve is a gaierror, a refused connection a
 * ConnectionRefusedError, no answer in time a TimeoutError), 2 for a bad
 * command line.
 */
import {
  ConnectionResetError, EventLoop, createSslContext, openConnection, OSError, TimeoutError, ValueError, waitFor, type AddrInfo, type StreamWriter,
} from '@iomux/loop';
import * as fs from 'node:fs';
import { socket as S } from '@iomux/core-native';
import { forEachOption, intOption, UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- fetch-head URL | HOST [PORT] [PATH]  [--timeout SECONDS] [--ca FILE] [--backend epoll|poll|select]';

export interface FetchArgs {
  host: string;
  port: number;
  path: string;
  /** Seconds for the whole exchange: lookup, connect, request, status line. */
  timeout: number;
  backend?: string;
  /** https://: TLS, trusting `ca` (a PEM file) instead of Node's root CAs when given. */
  tls: { ca: string | null } | null;
}

/** Parses `URL` or `HOST [PORT] [PATH]`, and the options. */
export function parseFetchArgs(argv: string[]): FetchArgs {
  const positional: string[] = [];
  const out: FetchArgs = { host: '', port: 80, path: '/', timeout: 10, tls: null };
  let ca: string | null = null;
  forEachOption(argv, USAGE, (name, next) => {
    if (name === '--timeout' || name === '-t') {
      const v = next();
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout must be a positive number of seconds, not '${v}'`);
      out.timeout = n;
    } else if (name === '--ca') {
      ca = next();
    } else if (name === '--backend' || name === '-b') {
      out.backend = next();
    } else if (!name.startsWith('-')) {
      if (positional.length === 3) throw new UsageError(`too many arguments: '${name}'`);
      positional.push(name);
    } else {
      return false;
    }
    return true;
  });
  const [first, port, path] = positional;
  if (first === undefined) throw new UsageError('a URL or a host name is required');
  if (first.includes('://')) {
    if (positional.length > 1) throw new UsageError('give a URL, or HOST [PORT] [PATH], not both');
    let url: URL;
    try {
      url = new URL(first);
    } catch {
      throw new UsageError(`not a URL: '${first}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`only http:// and https:// URLs, not '${url.protocol}//'`);
    if (url.protocol === 'https:') {
      out.tls = { ca };
      out.port = 443;
    }
    // URL keeps an IPv6 literal's brackets; getaddrinfo wants the address alone.
    out.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (url.port !== '') out.port = Number(url.port);
    out.path = url.pathname + url.search;
  } else {
    out.host = first;
    if (port !== undefined) out.port = intOption('PORT', port, 1, 65535);
    if (path !== undefined) out.path = path;
  }
  if (out.host === '') throw new UsageError('the host name is empty');
  if (ca !== null && out.tls === null) throw new UsageError('--ca is for https:// URLs');
  if (ca !== null && !fs.existsSync(ca)) throw new UsageError(`--ca: no such file '${ca}'`);
  // Spaces or line breaks would split the request line: refused, not sent.
  if (!out.path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(out.path)) throw new UsageError(`PATH must start with / and hold no spaces or control characters, not '${out.path}'`);
  return out;
}

/** The Host header: a name or an IPv4 address as it is, an IPv6 one in brackets; the port unless the scheme's own. */
function hostHeader(host: string, port: number, defaultPort: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}

/** Resolves, connects, asks, and returns the status line (without its CRLF). */
async function fetchHead(loop: EventLoop, args: FetchArgs, opened: (w: StreamWriter) => void): Promise<string> {
  const infos: AddrInfo[] = await loop.getaddrinfo(args.host, args.port, { type: S.SOCK_STREAM });
  const addresses = [...new Set(infos.map((i) => (i[4] as [string, number])[0]))];
  process.stdout.write(`resolved ${args.host}: ${addresses.join(', ')}\n`);
  // https: the loop's ssl option; the certificate must name the host.
  const ssl = args.tls === null ? undefined : args.tls.ca === null ? true : createSslContext({ ca: fs.readFileSync(args.tls.ca) });
  const [reader, writer] = await openConnection(args.host, args.port, ssl === undefined ? {} : { ssl, serverHostname: args.host });
  opened(writer);
  try {
    const [peer, peerPort] = writer.getExtraInfo('peername') as [string, number];
    process.stdout.write(`connected to ${peer} port ${peerPort}\n`);
    writer.write(`HEAD ${args.path} HTTP/1.0\r\nHost: ${hostHeader(args.host, args.port, args.tls === null ? 80 : 443)}\r\nUser-Agent: iomux-fetch-head\r\nConnection: close\r\n\r\n`);
    await writer.drain();
    const line = await reader.readline();
    // http.client's messages for the same two cases.
    if (line.length === 0) throw new ConnectionResetError('Remote end closed connection without response');
    const status = line.toString('latin1').replace(/\r?\n$/, '');
    if (!/^HTTP\/\d\.\d \d{3}(?: |$)/.test(status)) throw new ValueError(`BadStatusLine: ${JSON.stringify(status)}`);
    return status;
  } finally {
    writer.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseFetchArgs(argv);
  let loop: EventLoop;
  try {
    loop = new EventLoop(args.backend !== undefined ? { selector: args.backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  try {
    const status = await loop.runUntilComplete(async () => {
      let writer: StreamWriter | null = null;
      const work = fetchHead(loop, args, (w) => (writer = w));
      work.catch(() => {}); // Its failure after a timeout is not news.
      try {
        // asyncio.wait_for: the exchange, or a TimeoutError once the time is up.
        return await waitFor(work, args.timeout);
      } catch (e) {
        // waitFor's TimeoutError has no errno; a connect's ETIMEDOUT has one and stays.
        if (!(e instanceof TimeoutError) || e.errno !== undefined) throw e;
        // Drop the connection if there is one already, and say what timed out.
        (writer as StreamWriter | null)?.transport.abort();
        throw new TimeoutError(`no status line from ${args.host} port ${args.port} in ${args.timeout} s`);
      }
    });
    process.stdout.write(`${status}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof OSError || e instanceof ValueError)) throw e;
    process.stderr.write(`fetch-head: ${e.name}: ${e.message}\n`);
    return 1;
  } finally {
    loop.close();
  }
}
