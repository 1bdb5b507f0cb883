// echo-client --unix PATH and --udp, run the way a user runs them: against
// the Unix-socket and UDP echo examples every byte comes back and it exits
// 0; over UDP, a server that drops datagrams gives lost datagrams (each
// after its timeout) and exit 1, one that answers late gives late echoes,
// one that corrupts gives an error; nothing listening is
// ConnectionRefusedError; a bad command line exits 2.
import t, { type Test } from 'tap';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startExample } from '../../test/support/example.js';
import { checkNoFdLeak } from '../../test/support/fds.js';
import { runExample, startUnixServer } from './example-run.js';

checkNoFdLeak(t);

const client = (args: string[]) => runExample('echo-client', args);

const SUMMARY = /^summary: (\d+) messages, (\d+) bytes in [\d.]+ s: \d+ req\/s, [\d.]+ MB\/s; latency p50 \d+ µs, p99 \d+ µs; errors (\d+)$/m;
const UDP_SUMMARY =
  /^summary: (\d+) messages, (\d+) bytes in [\d.]+ s: \d+ req\/s, [\d.]+ MB\/s; latency p50 \d+ µs, p99 \d+ µs; errors (\d+); lost (\d+) of (\d+) datagrams \((\d+) ms timeout\), (\d+) late$/m;

/** A Node dgram server on 127.0.0.1 that does `onMessage` with each datagram; resolves with its port. */
async function udpServer(t: Test, onMessage: (sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo, n: number) => void): Promise<number> {
  const sock = dgram.createSocket('udp4');
  let n = 0;
  sock.on('message', (msg, rinfo) => onMessage(sock, msg, rinfo, n++));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => sock.close(() => r())));
  return sock.address().port;
}

t.test('--unix: round-trips through loop-unix-echo-server and exits 0', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iomux-echo-client-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ex = await startUnixServer(['--path', path.join(dir, 'e.sock')]);
  t.teardown(() => ex.stop());
  const run = await client(['--unix', ex.path, '-c', '4', '-s', '3000', '-m', '50']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, new RegExp(`^echo-client: 4 connections to unix:${ex.path}, 3000-byte messages, 50 messages each \\(backend epoll\\)$`, 'm'));
  const m = SUMMARY.exec(run.stdout);
  t.ok(m, `a summary line in: ${run.stdout}`);
  t.equal(Number(m![1]), 200, '4 x 50 messages');
  t.equal(Number(m![2]), 200 * 3000);
  t.equal(Number(m![3]), 0);
  t.equal(await ex.stop('SIGTERM'), 0);
  // The server is gone, and so is its file: a clear error, exit 1.
  const gone = await client(['--unix', ex.path, '-c', '2', '-m', '1']);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /error: connection \d: FileNotFoundError: \[Errno 2\] No such file or directory/);
});

t.test('--udp: round-trips through loop-udp-echo-server on every backend, exits 0', async (t) => {
  const ex = await startExample('loop-udp-echo-server', ['--port', '0']);
  t.teardown(() => ex.stop());
  for (const backend of ['epoll', 'poll', 'select']) {
    const run = await client(['--udp', '--port', String(ex.port), '-c', '8', '-s', '1000', '-m', '100', '-b', backend]);
    t.equal(run.code, 0, `${backend}: ${run.stderr}`);
    t.match(run.stdout, new RegExp(`^echo-client: 8 UDP sockets to 127\\.0\\.0\\.1:${ex.port}, 1000-byte messages, 100 messages each, 200 ms timeout \\(backend ${backend}\\)$`, 'm'));
    const m = UDP_SUMMARY.exec(run.stdout);
    t.ok(m, `a UDP summary line in: ${run.stdout}`);
    t.same(m!.slice(1).map(Number), [800, 800_000, 0, 0, 800, 200, 0], `${backend}: 800 datagrams, none lost or late`);
  }
  const timed = await client(['--udp', '--port', String(ex.port), '-c', '2', '-s', '64', '--duration', '1.2']);
  t.equal(timed.code, 0);
  t.match(timed.stdout, /^\[\s*1 s\] \d+ messages, \d+ req\/s, 2 connected, 0 errors, 0 lost$/m, 'a progress line with losses');
  t.equal(await ex.stop('SIGTERM'), 0);
});

t.test('--udp: dropped datagrams are lost after the timeout, exit 1', async (t) => {
  // Echoes every other datagram.
  const port = await udpServer(t, (sock, msg, rinfo, n) => {
    if (n % 2 === 0) sock.send(msg, rinfo.port, rinfo.address);
  });
  const run = await client(['--udp', '--port', String(port), '-c', '1', '-s', '16', '-m', '6', '--timeout-ms', '100']);
  t.equal(run.code, 1, 'loss is a failure');
  const m = UDP_SUMMARY.exec(run.stdout)!;
  t.ok(m, run.stdout);
  t.same([m[1], m[3], m[4], m[5], m[6]].map(Number), [3, 0, 3, 6, 100], '3 echoed, 3 lost of 6, no errors, 100 ms timeout');
  t.ok(run.ms >= 300, `three 100 ms timeouts took their time (${run.ms} ms)`);
});

t.test('--udp: an echo after its timeout is late, and dropped', async (t) => {
  // The first echo comes after 500 ms, the others after 60 ms each: the
  // first is lost at 100 ms (a margin of 400 ms for a busy machine), and
  // its echo arrives while the client waits for a later one (timers fire
  // in order, so before the last echo).
  const port = await udpServer(t, (sock, msg, rinfo, n) => {
    setTimeout(() => sock.send(msg, rinfo.port, rinfo.address), n === 0 ? 500 : 60);
  });
  const run = await client(['--udp', '--port', String(port), '-c', '1', '-s', '32', '-m', '12', '--timeout-ms', '100']);
  const m = UDP_SUMMARY.exec(run.stdout)!;
  t.ok(m, run.stdout);
  t.same([m[1], m[3], m[4], m[7]].map(Number), [11, 0, 1, 1], '11 echoed, no errors, 1 lost, its echo late');
  t.equal(run.code, 1);
});

t.test('--udp: a corrupted echo is an error, exit 1', async (t) => {
  const port = await udpServer(t, (sock, msg, rinfo) => {
    msg[msg.length - 1]! ^= 0xff;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  const run = await client(['--udp', '--port', String(port), '-c', '1', '-s', '10', '-m', '3']);
  t.equal(run.code, 1);
  t.match(run.stderr, /error: connection 0: Error: datagram 0: the echo differs from what was sent/);
});

t.test('--udp: nothing listening is ConnectionRefusedError, exit 1', async (t) => {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const run = await client(['--udp', '--port', String(port), '-c', '2', '-m', '3']);
  t.equal(run.code, 1);
  t.match(run.stderr, /ConnectionRefusedError/);
  t.ok(run.ms < 10000, `no hang (${run.ms} ms)`);
});

t.test('a bad command line: a message and exit 2', async (t) => {
  for (const [args, msg] of [
    [['--unix', '/x', '--udp'], /give --unix or --udp, not both/],
    [['--udp', '--unix', '/x'], /give --unix or --udp, not both/],
    [['--unix', '/x', '--port', '1'], /--unix PATH takes no --host or --port/],
    [['--unix', ''], /--unix needs a path/],
    [['--udp'], /--port is required/],
    [['--udp', '--port', '1', '--size', '4'], /--size must be from 8 to 65507 with --udp, not 4/],
    [['--udp', '--port', '1', '--size', '70000'], /--size must be from 8 to 65507 with --udp/],
    [['--port', '1', '--timeout-ms', '5'], /--timeout-ms is for --udp/],
    [['--udp', '--port', '1', '--timeout-ms', '0'], /--timeout-ms must be an integer from 1 to 3600000/],
  ] as Array<[string[], RegExp]>) {
    const run = await client(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, msg);
  }
});
