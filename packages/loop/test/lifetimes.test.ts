// Lifetimes (issue 23 item 10): a program run() by the loop stays alive
// while it has a serving server or an open transport with a reader, as
// asyncio.run does, and exits 0 once they are done; one whose main can
// never settle ends with a line on stderr saying why. Each case is a real
// child process. Also Server.waitClosed(), which follows CPython 3.12.1
// (gh-79033): after close() it still waits for the open connections.
import t from 'tap';
import * as net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { EventLoop, startServer, openConnection } from '@iomux/loop';
import { BACKENDS, sleep } from './helpers.js';

const LOOP = createRequire(__filename).resolve('@iomux/loop');

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Runs `body` (main's body, with `L` the loop package and `loop`) as `run(main)` in a child node; `raw`: as the whole script. */
function child(body: string, raw = false): Child {
  const script = raw
    ? `const L = require(${JSON.stringify(LOOP)});\n${body}`
    : `const L = require(${JSON.stringify(LOOP)});
L.run(async (loop) => { ${body} }).then(() => console.log('main done'), (e) => { console.error(e); process.exitCode = 1; });`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Resolves once `pred()` holds (every 10 ms), or rejects after `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The child's exit code, or a kill and a failure after `ms`. */
async function exitCode(c: Child, ms = 20000): Promise<number | null> {
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), ms);
  try {
    return await c.exited;
  } finally {
    clearTimeout(timer);
  }
}

t.test('a serving server keeps run() alive until a client comes and it closes', async (t) => {
  const c = child(`
    const server = await L.startServer(async (r, w) => {
      w.write(Buffer.from('bye\\n'));
      await w.drain();
      w.close();
      server.close();
    }, '127.0.0.1', 0);
    console.log('port ' + server.address().port);
    await server.serveForever();
    await server.waitClosed();
  `);
  await until(() => /port \d+/.test(c.stdout()), 15000, 'the port');
  // Long enough for Node to have ended a process with nothing keeping it.
  await new Promise((r) => setTimeout(r, 500));
  t.equal(c.proc.exitCode, null, 'still alive with no client');
  const port = Number(/port (\d+)/.exec(c.stdout())![1]);
  const got = await new Promise<string>((resolve, reject) => {
    let data = '';
    const s = net.connect(port, '127.0.0.1');
    s.on('data', (d) => (data += d));
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });
  t.equal(got, 'bye\n');
  t.equal(await exitCode(c), 0, 'then it exits 0');
  t.match(c.stdout(), /main done/);
  t.equal(c.stderr(), '', 'and says nothing on stderr');
});

t.test('an open transport with a pending read keeps run() alive until data comes', async (t) => {
  let peer: net.Socket | null = null;
  const server = net.createServer((s) => (peer = s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as net.AddressInfo;
  const c = child(`
    const [reader, writer] = await L.openConnection('127.0.0.1', ${port});
    console.log('line: ' + String(await reader.readline()).trim());
    writer.close();
    await writer.waitClosed();
  `);
  await until(() => peer !== null, 15000, 'the connection');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(c.proc.exitCode, null, 'still alive while the read waits');
  peer!.end('hello\n');
  t.equal(await exitCode(c), 0);
  t.match(c.stdout(), /line: hello/);
  t.equal(c.stderr(), '');
});

t.test('a main that nothing can settle: the process ends and says why', async (t) => {
  const c = child(`await new Promise(() => {});`);
  t.equal(await exitCode(c), 0, "Node's code for a CommonJS script with nothing left");
  t.notMatch(c.stdout(), /main done/);
  const lines = c.stderr().trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0], /^iomux: the process is exiting while an event loop is still running \(run\(\), .*it has no reader, writer or timer to wait on/);
});

t.test('runForever() called directly says why too; a stopped loop says nothing', async (t) => {
  const c = child(`const loop = new L.EventLoop(); loop.runForever().then(() => console.log('stopped'));`, true);
  t.equal(await exitCode(c), 0);
  t.notMatch(c.stdout(), /stopped/);
  t.match(c.stderr(), /^iomux: the process is exiting while an event loop is still running .*\n$/);
  const d = child(`const loop = new L.EventLoop(); loop.callSoon(() => loop.stop()); loop.runForever().then(() => console.log('stopped'));`, true);
  t.equal(await exitCode(d), 0);
  t.match(d.stdout(), /stopped/);
  t.equal(d.stderr(), '');
});

t.test('a finished run() leaves nothing behind: the process ends at once, silently', async (t) => {
  const c = child(`await new Promise((r) => loop.callLater(0.01, r)); const t = L.timeout(3600); t.close(); L.timeout(3600);`);
  const t0 = Date.now();
  t.equal(await exitCode(c), 0);
  t.ok(Date.now() - t0 < 15000, 'no timer of the loop or of a Timeout kept it');
  t.equal(c.stderr(), '');
});

for (const backend of BACKENDS) {
  t.test(`${backend}: Server.waitClosed() after close() waits for the connections (3.12.1)`, async (t) => {
    const loop = new EventLoop({ selector: backend });
    t.teardown(() => loop.close());
    await loop.runUntilComplete(async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const server = await startServer(
        async (_r, w) => {
          await held;
          w.close();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', server.address()!.port);
      await sleep(loop, 0.02); // the server accepted
      server.close();
      let closed = false;
      const wc = server.waitClosed().then(() => (closed = true));
      await sleep(loop, 0.05);
      t.notOk(closed, 'a connection is still open: waitClosed waits (3.11 returned at once)');
      release();
      t.equal(String(await reader.read()), '', 'the server side closed');
      await wc;
      t.ok(closed);
      await server.waitClosed(); // at once now
      writer.close();
      await writer.waitClosed();
    });
  });
}
