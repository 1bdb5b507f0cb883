// The fetch-head example, run the way a user runs it, against local
// servers only (no outside network): a Node `http` server reached as
// `localhost` and as another name /etc/hosts maps to the loopback, by URL
// and by HOST PORT PATH; the server sees `HEAD path HTTP/1.0` and the Host
// header; a refused connection, a server that never answers (the
// timeout), one that hangs up, and one that is not HTTP each exit 1 with
// Python's error class; a bad command line exits 2; https:// against a Node
// https server with the test CA, and without it (verification fails).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import * as net from 'node:net';
import { checkNoFdLeak } from '../../test/support/fds.js';
import { peerServer, runExample } from './example-run.js';

checkNoFdLeak(t);

const fetchHead = (args: string[]) => runExample('fetch-head', args, 30000);

interface Seen {
  method: string;
  url: string;
  host: string | undefined;
  httpVersion: string;
}

/** A Node http server on `address` answering every request with `status`; resolves with its port and what it saw. */
async function httpServer(t: Test, address: string, status = 200): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, host: req.headers.host, httpVersion: req.httpVersion });
    res.writeHead(status, { 'content-length': '5' });
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, seen };
}

/** A name other than localhost that /etc/hosts maps to 127.0.0.1 or ::1, with its address; null if none. */
function hostsName(): { name: string; address: string } | null {
  let text: string;
  try {
    text = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (address !== '127.0.0.1' && address !== '::1') continue;
    const name = names.find((n) => n !== '' && !/^(localhost|ip6-localhost|ip6-loopback)(\.localdomain)?$/i.test(n));
    if (name !== undefined) return { name, address: address! };
  }
  return null;
}

t.test('localhost PORT PATH: HEAD /path HTTP/1.0, the status line, exit 0', async (t) => {
  const srv = await httpServer(t, '127.0.0.1');
  const run = await fetchHead(['localhost', String(srv.port), '/index.html']);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stderr, '');
  const lines = run.stdout.trimEnd().split('\n');
  t.match(lines[0], /^resolved localhost: (.*\b)?127\.0\.0\.1\b/, 'the loop resolved localhost');
  t.equal(lines[1], `connected to 127.0.0.1 port ${srv.port}`);
  t.equal(lines.at(-1), 'HTTP/1.1 200 OK', 'the status line, last');
  t.same(srv.seen, [{ method: 'HEAD', url: '/index.html', host: `localhost:${srv.port}`, httpVersion: '1.0' }]);
});

t.test('a URL, with a query; the path defaults to /', async (t) => {
  const srv = await httpServer(t, '127.0.0.1', 404);
  const run = await fetchHead([`http://localhost:${srv.port}/a/b?c=d&e`]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^HTTP\/1\.1 404 Not Found$/m, 'any status is an answer');
  const bare = await fetchHead(['127.0.0.1', String(srv.port)]);
  t.equal(bare.code, 0);
  t.match(bare.stdout, /^resolved 127\.0\.0\.1: 127\.0\.0\.1$/m);
  t.same(
    srv.seen.map((s) => [s.url, s.host]),
    [
      ['/a/b?c=d&e', `localhost:${srv.port}`],
      ['/', `127.0.0.1:${srv.port}`],
    ],
  );
});

const named = hostsName();
t.test(
  'a name from /etc/hosts',
  { skip: named === null ? '/etc/hosts maps no name but localhost to 127.0.0.1 or ::1, so there is no second local name to resolve' : false },
  async (t) => {
    const { name, address } = named!;
    const srv = await httpServer(t, address);
    const run = await fetchHead([`http://${name}:${srv.port}/hosts`, '--timeout', '20']);
    t.equal(run.code, 0, run.stderr);
    t.match(run.stdout, new RegExp(`^resolved ${name.replace(/\./g, '\\.')}: .*${address.replace(/\./g, '\\.')}`, 'm'), `${name} resolved to ${address}`);
    t.match(run.stdout, /^HTTP\/1\.1 200 OK$/m);
    t.same(srv.seen.map((s) => s.host), [`${name}:${srv.port}`]);
  },
);

t.test('nothing listening: ConnectionRefusedError, exit 1', async (t) => {
  // Closed again at once: the port is free, and nothing listens on it.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const free = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const run = await fetchHead(['127.0.0.1', String(free)]);
  t.equal(run.code, 1);
  t.equal(run.stderr, `fetch-head: ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', ${free})\n`);
  t.notMatch(run.stdout, /^HTTP/m);
});

t.test('a server that never answers: TimeoutError after --timeout, exit 1', async (t) => {
  let got = '';
  const port = await peerServer(t, (c) => c.on('data', (d: Buffer) => (got += d.toString('latin1'))));
  const run = await fetchHead(['127.0.0.1', String(port), '/slow', '--timeout', '0.5']);
  t.equal(run.code, 1);
  t.equal(run.stderr, `fetch-head: TimeoutError: no status line from 127.0.0.1 port ${port} in 0.5 s\n`);
  t.ok(run.ms >= 500 && run.ms < 10000, `it gave up after the timeout (${run.ms} ms)`);
  t.match(got, /^HEAD \/slow HTTP\/1\.0\r\nHost: 127\.0\.0\.1:\d+\r\n/, 'the request was sent');
});

t.test('a server that hangs up, or is not HTTP: exit 1', async (t) => {
  const hangUp = await peerServer(t, (c) => c.once('data', () => c.end()));
  const run = await fetchHead(['localhost', String(hangUp)]);
  t.equal(run.code, 1);
  t.equal(run.stderr, 'fetch-head: ConnectionResetError: Remote end closed connection without response\n');
  const notHttp = await peerServer(t, (c) => c.once('data', () => c.end('SSH-2.0-OpenSSH_9.2\r\n')));
  const run2 = await fetchHead(['localhost', String(notHttp)]);
  t.equal(run2.code, 1);
  t.equal(run2.stderr, 'fetch-head: ValueError: BadStatusLine: "SSH-2.0-OpenSSH_9.2"\n');
});

t.test('a bad command line: a message and exit 2', async (t) => {
  for (const [args, msg] of [
    [[], /a URL or a host name is required/],
    [['ftp://localhost/'], /only http:\/\/ and https:\/\/ URLs, not 'ftp:\/\/'/],
    [['http://localhost/', '80'], /give a URL, or HOST \[PORT\] \[PATH\], not both/],
    [['http://'], /not a URL/],
    [['localhost', '0'], /PORT must be an integer from 1 to 65535, not '0'/],
    [['localhost', '80', 'no-slash'], /PATH must start with \//],
    [['localhost', '80', '/a b'], /PATH must start with \/ and hold no spaces or control characters/],
    [['localhost', '--timeout', '-1'], /--timeout must be a positive number of seconds/],
    [['localhost', '80', '/', 'extra'], /too many arguments: 'extra'/],
    [['localhost', '--backend', 'nope'], /nope/],
  ] as Array<[string[], RegExp]>) {
    const run = await fetchHead(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, msg);
  }
});

const FIXTURES = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'fixtures', 'tls');

t.test('https://localhost: TLS with the test CA (--ca); an untrusted certificate exits 1', async (t) => {
  const seen: string[] = [];
  const server = https.createServer({ key: fs.readFileSync(path.join(FIXTURES, 'key.pem')), cert: fs.readFileSync(path.join(FIXTURES, 'cert.pem')) }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host}`);
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  const ok = await fetchHead([`https://localhost:${port}/secure`, '--ca', path.join(FIXTURES, 'ca.pem')]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^HTTP\/1\.1 204 No Content$/m);
  t.same(seen, [`HEAD /secure localhost:${port}`]);
  const untrusted = await fetchHead([`https://localhost:${port}/`]);
  t.equal(untrusted.code, 1);
  t.match(untrusted.stderr, /^fetch-head: SSLCertVerificationError: .*certificate verify failed/m);
  t.equal(seen.length, 1, 'no request sent over an unverified connection');
  const usage = await fetchHead([`http://localhost:${port}/`, '--ca', path.join(FIXTURES, 'ca.pem')]);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--ca is for https:\/\/ URLs/);
});
