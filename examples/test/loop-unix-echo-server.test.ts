// The loop-unix-echo-server example, as a user runs it: Node `net` clients
// on the socket path get back exactly what they send (several at once, one
// of 1 MiB), on every backend, and echo-client on a Linux abstract name
// (`@name`); the
// socket file goes away when it stops (SIGTERM or SIGINT); a stale socket
// file left by a killed server is replaced; a path it cannot bind is
// Python's OSError and exit 1.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkNoFdLeak } from '../../test/support/fds.js';
import { echoRoundTripTo } from '../../test/support/example.js';
import { runExample, startUnixServer } from './example-run.js';

checkNoFdLeak(t);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-unix-example-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Connects to the Unix socket `where`, sends `payload`, resolves with exactly payload.length echoed bytes. */
const unixEcho = (where: string, payload: Buffer, timeoutMs = 10000): Promise<Buffer> => echoRoundTripTo({ path: where }, payload, timeoutMs);

t.test('echoes on a socket path, and removes the file on SIGTERM', async (t) => {
  const where = path.join(dir, 'echo.sock');
  const ex = await startUnixServer(['--path', where]);
  t.teardown(() => ex.stop());
  t.equal(ex.path, where);
  t.equal(ex.backend, 'epoll');
  t.match(ex.stdout(), `connect with: nc -U ${where}`);
  t.ok(fs.statSync(where).isSocket(), 'a socket file while it runs');
  const payloads = [Buffer.from('hello\n'), randomBytes(1 << 20), randomBytes(777), randomBytes(64 * 1024)];
  const echoed = await Promise.all(payloads.map((p) => unixEcho(where, p)));
  for (let i = 0; i < payloads.length; i++) t.ok(echoed[i]!.equals(payloads[i]!), `client ${i} got its ${payloads[i]!.length} bytes back`);
  t.equal(await ex.stop('SIGTERM'), 0, 'exit code 0');
  t.match(ex.stdout(), /^stopped$/m);
  t.equal(ex.stderr(), '');
  t.notOk(fs.existsSync(where), 'the socket file is gone');
});

t.test('stops on SIGINT with a client still connected', async (t) => {
  const where = path.join(dir, 'sigint.sock');
  const ex = await startUnixServer(['--path', where]);
  const idle = net.connect({ path: where });
  await new Promise<void>((r, j) => idle.once('connect', () => r()).once('error', j));
  t.teardown(() => void idle.destroy());
  t.equal((await unixEcho(where, Buffer.from('ping'))).toString(), 'ping');
  t.equal(await ex.stop('SIGINT'), 0, 'it does not wait for the idle client');
  t.notOk(fs.existsSync(where));
});

for (const backend of ['select', 'poll', 'epoll']) {
  t.test(`--backend ${backend}`, async (t) => {
    const where = path.join(dir, `${backend}.sock`);
    const ex = await startUnixServer(['--path', where, '--backend', backend]);
    t.equal(ex.backend, backend);
    const payload = randomBytes(256 * 1024);
    t.ok((await unixEcho(where, payload)).equals(payload));
    t.equal(await ex.stop('SIGTERM'), 0);
  });
}

t.test('@name: a Linux abstract socket, no file', async (t) => {
  const name = `iomux-example-${process.pid}-${Date.now()}`;
  const ex = await startUnixServer(['--path', `@${name}`]);
  t.teardown(() => ex.stop());
  t.equal(ex.path, `@${name}`);
  t.match(ex.stdout(), `connect with: socat - ABSTRACT-CONNECT:${name}`);
  t.notOk(fs.existsSync(`@${name}`), 'no file named @...');
  // Through the echo client, not Node's net: Node 20 pads an abstract name
  // with NULs to sun_path's 108 bytes, so it names another socket.
  const run = await runExample('echo-client', ['--unix', `@${name}`, '-c', '3', '-s', '5000', '-m', '20']);
  t.equal(run.code, 0, `echo-client --unix @name: ${run.stdout}${run.stderr}`);
  t.match(run.stdout, /^summary: 60 messages, 300000 bytes .* errors 0$/m);
  t.equal(await ex.stop('SIGTERM'), 0);
});

t.test('a stale socket file (a killed server) is replaced', async (t) => {
  const where = path.join(dir, 'stale.sock');
  const first = await startUnixServer(['--path', where]);
  t.equal(await first.stop('SIGKILL'), 'SIGKILL');
  t.ok(fs.statSync(where).isSocket(), 'the killed server left its file');
  const second = await startUnixServer(['--path', where]);
  t.equal((await unixEcho(where, Buffer.from('again'))).toString(), 'again');
  t.equal(await second.stop('SIGTERM'), 0);
  t.notOk(fs.existsSync(where));
});

t.test('a path it cannot bind: OSError, exit 1, no stack trace', async (t) => {
  const missing = await runExample('loop-unix-echo-server', ['--path', path.join(dir, 'no-such-dir', 'x.sock')]);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'loop-unix-echo-server: FileNotFoundError: [Errno 2] No such file or directory\n');
  // A regular file is not a stale socket: asyncio leaves it, and bind fails.
  const file = path.join(dir, 'regular-file');
  fs.writeFileSync(file, 'keep me');
  const taken = await runExample('loop-unix-echo-server', ['--path', file]);
  t.equal(taken.code, 1);
  t.match(taken.stderr, /^loop-unix-echo-server: OSError: \[Errno 98\] Address '.*regular-file' is already in use\n$/);
  t.equal(fs.readFileSync(file, 'utf8'), 'keep me', 'the file is untouched');
  const long = await runExample('loop-unix-echo-server', ['--path', path.join(dir, 'x'.repeat(200))]);
  t.equal(long.code, 1);
  t.match(long.stderr, /^loop-unix-echo-server: OSError: /);
});

t.test('a bad command line: a message and exit 2', async (t) => {
  for (const [args, msg] of [
    [['--path', ''], /--path must not be empty/],
    [['--port', '1'], /unknown option --port/],
    [['--backend', 'nope'], /nope/],
  ] as Array<[string[], RegExp]>) {
    const run = await runExample('loop-unix-echo-server', args, 15000);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, msg);
  }
});
