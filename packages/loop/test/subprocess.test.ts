// subprocess.ts, base-subprocess.ts and subprocess-streams.ts: CPython 3.11
// test_asyncio/test_subprocess.py's SubprocessMixin (the Pidfd watcher
// variant) on every backend, with real children: sh, cat, sleep, wc
// stand in for sys.executable -c. Plus env, cwd, 16 MiB through
// communicate(), a child that closes stdout early, and the protocol's
// order of calls.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { os } from '@iomux/core-native';
import { BrokenPipeError, ConnectionResetError, ProcessLookupError } from '@iomux/core-native/error-classes';
import { BaseSubprocessTransport, createSubprocessExec, createSubprocessShell, DEVNULL, PIPE, STDOUT, type EventLoop, type SubprocessProtocol } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, newLoop, recordingLogger, sleep, tick, waitFor } from './helpers.js';

checkNoFdLeak(t);

const PROGRAM_BLOCKED: [string, string[]] = ['sleep', ['3600']];
const PROGRAM_CAT: [string, string[]] = ['cat', []];
/** support.PIPE_MAX_SIZE: more than any pipe buffer holds. */
const PIPE_MAX_SIZE = 4 * 1024 * 1024 + 1;

/** A SubprocessProtocol that records its calls. */
class RecProto implements SubprocessProtocol {
  calls: string[] = [];
  out: Buffer[] = [];
  transport: BaseSubprocessTransport | null = null;
  connectionMade(tr: unknown): void {
    this.transport = tr as BaseSubprocessTransport;
    this.calls.push('connectionMade');
  }
  pipeDataReceived(fd: number, data: Buffer): void {
    if (fd === 1) this.out.push(data);
    if (this.calls.at(-1) !== `data${fd}`) this.calls.push(`data${fd}`);
  }
  pipeConnectionLost(fd: number, exc: Error | null): void {
    this.calls.push(`pipeLost${fd}:${exc === null ? 'null' : exc.name}`);
  }
  processExited(): void {
    this.calls.push('processExited');
  }
  connectionLost(exc: Error | null): void {
    this.calls.push(`connectionLost:${String(exc)}`);
  }
}

function suite(backend: string): void {
  const run = <T>(t: Test, fn: (loop: EventLoop) => Promise<T>): Promise<T> => {
    const loop = newLoop(t, backend);
    return loop.runUntilComplete(() => fn(loop));
  };

  t.test(`${backend}: test_stdin_stdout`, async (t) => {
    const [code, out] = await run(t, async () => {
      const proc = await createSubprocessExec(...PROGRAM_CAT, { stdin: PIPE, stdout: PIPE });
      proc.stdin!.write(Buffer.from('some data'));
      await proc.stdin!.drain();
      proc.stdin!.close();
      const data = await proc.stdout!.read();
      return [await proc.wait(), data.toString()];
    });
    t.same([code, out], [0, 'some data']);
  });

  t.test(`${backend}: test_communicate, test_shell, test_start_new_session`, async (t) => {
    await run(t, async () => {
      const proc = await createSubprocessExec(...PROGRAM_CAT, { stdin: PIPE, stdout: PIPE });
      const [stdout, stderr] = await proc.communicate(Buffer.from('some data'));
      t.same([proc.returncode, stdout?.toString(), stderr], [0, 'some data', null]);
      t.equal(await (await createSubprocessShell('exit 7')).wait(), 7);
      t.equal(await (await createSubprocessShell('exit 8', { startNewSession: true })).wait(), 8);
    });
  });

  t.test(`${backend}: test_kill, test_terminate, test_send_signal: returncode is -signal`, async (t) => {
    await run(t, async () => {
      const p1 = await createSubprocessExec(...PROGRAM_BLOCKED);
      p1.kill();
      t.equal(await p1.wait(), -os.SIGKILL);
      const p2 = await createSubprocessExec(...PROGRAM_BLOCKED);
      p2.terminate();
      t.equal(await p2.wait(), -os.SIGTERM);
      // bpo-31034: the child gets SIGHUP's default action whatever the parent does.
      const p3 = await createSubprocessShell('echo sleeping; exec sleep 3600', { stdout: PIPE });
      t.equal((await p3.stdout!.readline()).toString(), 'sleeping\n');
      p3.sendSignal(os.SIGHUP);
      t.equal(await p3.wait(), -os.SIGHUP);
      t.equal(p3.returncode, -os.SIGHUP);
      // Once finished: a signal is ProcessLookupError, as asyncio's _check_proc.
      t.throws(() => p3.kill(), ProcessLookupError);
    });
  });

  t.test(`${backend}: test_stdin_broken_pipe, test_communicate_ignore_broken_pipe`, async (t) => {
    const log = recordingLogger();
    await run(t, async (loop) => {
      loop.logger = log.logger;
      loop.setExceptionHandler(() => {});
      // the program ends before the stdin can be fed
      const proc = await createSubprocessShell('head -c 1 >/dev/null', { stdin: PIPE });
      proc.stdin!.write(Buffer.alloc(PIPE_MAX_SIZE, 120));
      // drain() must raise BrokenPipeError or ConnectionResetError
      const exc = await proc.stdin!.drain().then(() => null, (e: unknown) => e);
      t.ok(exc instanceof BrokenPipeError || exc instanceof ConnectionResetError, String(exc));
      t.equal(await proc.wait(), 0);
      const p2 = await createSubprocessExec('true', [], { stdin: PIPE });
      await p2.communicate(Buffer.alloc(PIPE_MAX_SIZE, 120));
      t.equal(await p2.wait(), 0);
    });
  });

  t.test(`${backend}: test_pause_reading`, async (t) => {
    const limit = 10;
    const size = limit * 2 + 1;
    await run(t, async (loop) => {
      const proc = await createSubprocessShell(`sleep 0.05; printf '%${size}s' | tr ' ' x`, { stdin: PIPE, stdout: PIPE, limit });
      const tr = (proc.stdout as unknown as { _transport: { pauseReading(): void; resumeReading(): void } })._transport;
      const seen: string[] = [];
      const pause = tr.pauseReading.bind(tr);
      const resume = tr.resumeReading.bind(tr);
      tr.pauseReading = () => void (seen.push('pause'), pause());
      tr.resumeReading = () => void (seen.push('resume'), resume());
      // Not read yet: the reader buffers past 2 * limit and pauses its transport.
      await sleep(loop, 0.3);
      const [stdout] = await proc.communicate();
      t.equal(stdout!.toString(), 'x'.repeat(size));
      t.ok(seen.includes('pause') && seen.includes('resume'), seen.join(','));
    });
  });

  t.test(`${backend}: test_stdin_not_inheritable, test_empty_input, test_devnull_*`, async (t) => {
    await run(t, async () => {
      const wc = (): Promise<import('@iomux/loop').Process> => createSubprocessExec('wc', ['-c'], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      t.equal((await (await wc()).communicate(Buffer.from('abc')))[0]!.toString().trim(), '3');
      t.equal((await (await wc()).communicate(Buffer.alloc(0)))[0]!.toString().trim(), '0');
      const p = await createSubprocessExec('wc', ['-c'], { stdin: DEVNULL, stdout: PIPE });
      t.equal((await p.communicate())[0]!.toString().trim(), '0');
      const q = await createSubprocessShell('echo out; echo err >&2', { stdout: DEVNULL, stderr: PIPE });
      t.same((await q.communicate()).map((b) => b?.toString() ?? null), [null, 'err\n']);
      const r = await createSubprocessShell('echo out; echo err >&2', { stdout: PIPE, stderr: DEVNULL });
      t.same((await r.communicate()).map((b) => b?.toString() ?? null), ['out\n', null]);
      const s = await createSubprocessShell('echo out; echo err >&2', { stdout: PIPE, stderr: STDOUT });
      t.same((await s.communicate()).map((b) => b?.toString() ?? null), ['out\nerr\n', null]);
    });
  });

  t.test(`${backend}: test_close_kill_running, test_close_dont_kill_finished`, async (t) => {
    const log = recordingLogger();
    await run(t, async (loop) => {
      loop.logger = log.logger;
      const [tr] = await loop.subprocessExec(() => ({}), ...PROGRAM_BLOCKED);
      t.equal(tr.getReturncode(), null);
      tr.close();
      t.equal(await tr._wait(), -os.SIGKILL, 'transport.close() must kill the process if it is still running');
      // Killed and reaped behind asyncio's back: close() must not signal, the watcher reports 255.
      const [tr2] = await loop.subprocessExec(() => ({}), ...PROGRAM_BLOCKED);
      os.kill(tr2.getPid()!, os.SIGKILL);
      os.waitpid(tr2.getPid()!, 0);
      t.equal(tr2.getReturncode(), null);
      tr2.close();
      t.equal(await tr2._wait(), 255);
      t.match(String(log.warn.flat()), /exit status already read/);
    });
  });

  t.test(`${backend}: test_read_stdout_after_process_exit, test_subprocess_communicate_stdout`, async (t) => {
    await run(t, async (loop) => {
      const proc = await createSubprocessShell('head -c 262144 /dev/zero; exit 1', { stdout: PIPE });
      let total = 0;
      for (;;) {
        const data = await proc.stdout!.read(65536);
        if (data.length === 0) break;
        total += data.length;
        await sleep(loop, 0.02);
      }
      t.equal(total, 262144);
      t.equal(await proc.wait(), 1);
      const outputs = Array.from({ length: 10 }, (_, i) => `foo${i}`);
      const res = await Promise.all(outputs.map(async (o) => {
        const p = await createSubprocessExec('echo', [o], { stdout: PIPE });
        return (await p.communicate())[0]!.toString().trim();
      }));
      t.same(res, outputs);
    });
  });

  t.test(`${backend}: env and cwd`, async (t) => {
    await run(t, async () => {
      const p = await createSubprocessShell('echo "$A|$B|$HOME"; pwd', { stdout: PIPE, env: { A: 'x y', B: '', PATH: '/usr/bin:/bin' }, cwd: '/tmp' });
      t.equal((await p.communicate())[0]!.toString(), 'x y||\n/tmp\n');
      // env with its own PATH: the program is searched there (os.get_exec_path(env)).
      const q = await createSubprocessExec('printenv', ['ONLY'], { stdout: PIPE, env: { ONLY: '1', PATH: '/nonexistent:/usr/bin:/bin' } });
      t.equal((await q.communicate())[0]!.toString(), '1\n');
    });
  });

  t.test(`${backend}: communicate() with 16 MiB through stdin and stdout at once`, async (t) => {
    const input = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < input.length; i += 4096) input.writeUInt32LE(i, i);
    await run(t, async () => {
      const proc = await createSubprocessExec(...PROGRAM_CAT, { stdin: PIPE, stdout: PIPE });
      const [out] = await proc.communicate(input);
      t.equal(out!.length, input.length);
      t.ok(out!.equals(input), 'the same bytes, in order');
      t.equal(proc.returncode, 0);
    });
  });

  t.test(`${backend}: a child that closes stdout early`, async (t) => {
    await run(t, async (loop) => {
      const proto = new RecProto();
      const [tr] = await loop.subprocessShell(() => proto, 'echo early; exec 1>&-; sleep 0.1; exit 4', { stdin: null, stderr: null });
      const proc = await createSubprocessShell('echo early; exec 1>&-; sleep 0.1; exit 4', { stdout: PIPE });
      t.equal((await proc.stdout!.read()).toString(), 'early\n', 'EOF before the exit');
      t.equal(proc.returncode, null, 'still running at EOF');
      t.equal(await proc.wait(), 4);
      t.equal(await tr._wait(), 4);
      // _wait() returns at once when the exit is known, before the loop ran
      // the callbacks that exit queued (as asyncio 3.11's): one turn runs them.
      await tick(loop);
      // The pipe's end comes before the exit; connectionLost last.
      t.same(proto.calls, ['connectionMade', 'data1', 'pipeLost1:null', 'processExited', 'connectionLost:null']);
    });
  });

  t.test(`${backend}: the transport: pid, pipes, returncode, repr, extra info`, async (t) => {
    await run(t, async (loop) => {
      const proto = new RecProto();
      const [tr, p] = await loop.subprocessExec(() => proto, 'sh', ['-c', 'read x; echo "got $x"; echo e >&2']);
      t.equal(p, proto);
      t.equal(proto.transport, tr);
      t.ok(tr.getPid()! > 0);
      t.match(String(tr), new RegExp(`<BaseSubprocessTransport pid=${tr.getPid()} running>`));
      t.ok(tr.getPipeTransport(0) && tr.getPipeTransport(1) && tr.getPipeTransport(2));
      t.equal(tr.getPipeTransport(3), null);
      t.equal(typeof (tr.getExtraInfo('subprocess') as { pid: number }).pid, 'number');
      (tr.getPipeTransport(0) as { write(d: Buffer): void }).write(Buffer.from('hi\n'));
      t.equal(await tr._wait(), 0);
      t.equal(Buffer.concat(proto.out).toString(), 'got hi\n');
      t.equal(proto.calls[0], 'connectionMade');
      t.equal(proto.calls.at(-1), 'connectionLost:null');
      t.ok(proto.calls.includes('processExited') && proto.calls.includes('pipeLost2:null') && proto.calls.includes('pipeLost0:null'));
      t.match(String(tr), /returncode=0/);
      // After the exit, before the end: signals are no-ops (Popen.send_signal in 3.11).
      t.doesNotThrow(() => tr.isClosing());
    });
  });
}

for (const backend of BACKENDS) suite(backend);

t.test('the child holds only 0, 1, 2 (no descriptor leaks into it)', async (t) => {
  const loop = newLoop(t);
  const extra = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(extra));
  const out = await loop.runUntilComplete(async () => {
    const p = await createSubprocessShell('ls /proc/$$/fd', { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    return (await p.communicate())[0]!.toString();
  });
  t.same(out.trim().split('\n').map(Number).sort(), [0, 1, 2]);
});

// SubprocessTransportTests: the transport alone, on a real child that no
// watcher reaps (the test does), its exit reported by hand.
t.test('test_proc_exited, test_subprocess_repr', async (t) => {
  const loop = newLoop(t);
  const proto = new RecProto();
  const pid = os.posixSpawn('/bin/true', ['true'], null);
  t.teardown(() => void os.waitpid(pid, 0));
  const child = { pid, stdin: null, stdout: null, stderr: null, sendSignal: (sig: number) => os.kill(pid, sig) };
  const tr = new BaseSubprocessTransport(loop, proto, { stdin: false, stdout: false, stderr: false }, () => child);
  t.equal(String(tr), `<BaseSubprocessTransport pid=${pid} running>`);
  await loop.runUntilComplete(async () => {
    await tr._connected;
    tr._processExited(6);
    t.equal(await tr._wait(), 6);
    await waitFor(loop, () => proto.calls.length === 3);
  });
  t.equal(tr.getReturncode(), 6);
  t.same(proto.calls, ['connectionMade', 'processExited', 'connectionLost:null']);
  t.equal(tr.isClosing(), false);
  t.equal(tr._loop, null);
  t.equal(tr._proc, null);
  t.equal(tr._protocol, null);
  // methods must raise ProcessLookupError if the process exited
  t.throws(() => tr.sendSignal(os.SIGTERM), ProcessLookupError);
  t.throws(() => tr.terminate(), ProcessLookupError);
  t.throws(() => tr.kill(), ProcessLookupError);
  t.equal(String(tr), `<BaseSubprocessTransport pid=${pid} returncode=6>`);
  tr.close();
  t.equal(String(tr), `<BaseSubprocessTransport closed pid=${pid} returncode=6>`);
});

t.test('Popen\'s other keywords: executable, processGroup, restoreSignals; stdio as descriptors and fileno() objects; bytes cmd', async (t) => {
  const loop = newLoop(t);
  await loop.runUntilComplete(async () => {
    // executable runs instead of argv[0], which the child still sees as $0.
    const a = await createSubprocessExec('my-name', ['-c', 'echo "$0"'], { executable: '/bin/sh', stdout: PIPE });
    t.equal((await a.communicate())[0]!.toString(), 'my-name\n');
    const b = await createSubprocessShell('cut -d" " -f5 /proc/$$/stat; echo $$', { processGroup: 0, stdout: PIPE });
    const [pgid, shpid] = (await b.communicate())[0]!.toString().trim().split('\n');
    t.equal(pgid, shpid, 'the child leads its own process group');
    const c = await createSubprocessShell('grep SigIgn /proc/self/status', { restoreSignals: false, stdout: PIPE });
    const ign = BigInt('0x' + (await c.communicate())[0]!.toString().trim().split(/\s+/)[1]);
    t.not(ign & (1n << 12n), 0n, 'SIGPIPE stays ignored without restoreSignals');
    // stdout into a pipe we hold (a number), stdin from an object with fileno().
    const [r, w] = os.pipe();
    const [r2, w2] = os.pipe();
    os.write(w2, Buffer.from('from fileno\n'));
    os.close(w2);
    const d = await createSubprocessExec('cat', [], { stdin: { fileno: () => r2 }, stdout: w });
    t.equal(await d.wait(), 0);
    os.close(w);
    os.close(r2);
    t.equal(os.read(r, 100).toString(), 'from fileno\n');
    os.close(r);
    const e = await createSubprocessShell(Buffer.from('echo bytes'), { stdout: PIPE });
    t.equal((await e.communicate())[0]!.toString(), 'bytes\n');
  });
});
