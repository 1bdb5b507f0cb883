// The echo client and load tester, run the way a user runs it (`npm run
// example -- echo-client ...`, here `node examples/dist/run.js echo-client
// ...`): against the streams echo server it verifies every echoed byte,
// prints progress lines and a summary, and exits 0; against a server that
// closes connections, or corrupts the echo, or is not there, it exits 1; a
// bad command line exits 2.
import t from 'tap';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { LAUNCHER, REPO, startExample } from '../../test/support/example.js';
import { checkNoFdLeak } from '../../test/support/fds.js';
import { peerServer } from './example-run.js';
import { availableSelectors } from '@iomux/selectors';

checkNoFdLeak(t);

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

function runClient(args: string[], timeoutMs = 60000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, 'echo-client', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`echo-client did not finish in ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

const SUMMARY = /^summary: (\d+) messages, (\d+) bytes in [\d.]+ s: \d+ req\/s, [\d.]+ MB\/s; latency p50 \d+ µs, p99 \d+ µs; errors (\d+)$/m;

t.test('round-trips data through loop-streams-echo-server and exits 0', async (t) => {
  const ex = await startExample('loop-streams-echo-server', ['--port', '0']);
  t.teardown(() => ex.stop());
  const run = await runClient(['--host', ex.host, '--port', String(ex.port), '--connections', '4', '--size', '3000', '--messages', '50']);
  t.equal(run.code, 0, 'exit code 0');
  t.match(run.stdout, /^echo-client: 4 connections to 127\.0\.0\.1:\d+, 3000-byte messages, 50 messages each \(backend epoll\)$/m);
  const m = SUMMARY.exec(run.stdout);
  t.ok(m, `a summary line in: ${run.stdout}`);
  t.equal(Number(m![1]), 200, '4 x 50 messages');
  t.equal(Number(m![2]), 200 * 3000, 'and their bytes');
  t.equal(Number(m![3]), 0, 'no errors');
  t.equal(run.stderr, '');
  t.equal(await ex.stop('SIGTERM'), 0, 'the server stops cleanly afterwards');
});

t.test('--duration: progress lines once per second, then the summary', async (t) => {
  const ex = await startExample('loop-streams-echo-server', ['--port', '0']);
  t.teardown(() => ex.stop());
  const run = await runClient(['--port', String(ex.port), '-c', '3', '-s', '100', '--duration', '2.5', '--backend', 'poll']);
  t.equal(run.code, 0);
  t.match(run.stdout, /\(backend poll\)/);
  const progress = run.stdout.split('\n').filter((l) => /^\[\s*\d+ s\] \d+ messages, \d+ req\/s, 3 connected, 0 errors$/.test(l));
  t.ok(progress.length >= 1 && progress.length <= 3, `${progress.length} progress lines (not a TTY: plain lines)`);
  const m = SUMMARY.exec(run.stdout);
  t.ok(m && Number(m[1]) > 0, 'messages were exchanged');
  t.equal(Number(m![3]), 0);
});

t.test('every backend', async (t) => {
  const ex = await startExample('loop-streams-echo-server', ['--port', '0']);
  t.teardown(() => ex.stop());
  for (const backend of availableSelectors()) {
    const run = await runClient(['--port', String(ex.port), '-c', '8', '-s', '65536', '-m', '5', '-b', backend]);
    t.equal(run.code, 0, backend);
    t.equal(Number(SUMMARY.exec(run.stdout)?.[1]), 40, `${backend}: 40 messages`);
  }
});

t.test('a server that closes connections: errors, exit 1', async (t) => {
  const port = await peerServer(t, (c) => c.end());
  const run = await runClient(['--port', String(port), '-c', '3', '-m', '10']);
  t.equal(run.code, 1, 'exit code 1');
  const m = SUMMARY.exec(run.stdout);
  t.ok(m, 'still a summary');
  t.equal(Number(m![1]), 0);
  t.equal(Number(m![3]), 3, 'one error per connection');
  t.match(run.stderr, /error: connection \d: (IncompleteReadError|ConnectionResetError)/);
});

t.test('a server that closes after a few echoes: exit 1', async (t) => {
  const port = await peerServer(t, (c) => {
    let n = 0;
    c.on('data', (d: Buffer) => {
      c.write(d);
      if ((n += d.length) >= 500) c.end();
    });
  });
  const run = await runClient(['--port', String(port), '-c', '2', '-s', '100', '-m', '100']);
  t.equal(run.code, 1);
  const m = SUMMARY.exec(run.stdout)!;
  t.ok(Number(m[1]) >= 2 && Number(m[1]) < 200, `${m[1]} messages made it`);
});

t.test('a server that corrupts the echo: exit 1', async (t) => {
  const port = await peerServer(t, (c) =>
    c.on('data', (d: Buffer) => {
      const copy = Buffer.from(d);
      copy[copy.length - 1]! ^= 0xff;
      c.write(copy);
    }),
  );
  const run = await runClient(['--port', String(port), '-c', '1', '-s', '10', '-m', '3']);
  t.equal(run.code, 1);
  t.match(run.stderr, /the echo differs from what was sent/);
});

t.test('nothing listening: exit 1', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const run = await runClient(['--port', String(port), '-c', '2', '-m', '1']);
  t.equal(run.code, 1);
  t.match(run.stderr, /ConnectionRefusedError/);
});

t.test('a bad command line: a message and exit 2', async (t) => {
  for (const [args, msg] of [
    [['-m', '1'], /--port is required/],
    [['--port', '70000'], /--port must be an integer from 1 to 65535/],
    [['--port', '1', '--duration', '1', '--messages', '1'], /give --duration or --messages, not both/],
    [['--port', '1', '--backend', 'nope'], /nope/],
    [['--port', '1', '--frobnicate'], /unknown option --frobnicate/],
  ] as Array<[string[], RegExp]>) {
    const run = await runClient(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, msg);
  }
});
