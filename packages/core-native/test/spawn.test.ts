// The process primitives (src/os-spawn.ts over native/spawn.cc) on real
// children: posix_spawn with stdio, cwd and env, exec errors as the exec's
// errno, pidfd readiness, waitpid, kill, and that no descriptor but 0-2
// reaches the child. Expected messages are CPython 3.11's.
import t from 'tap';
import { os, binding, OSError, ValueError, OverflowError } from '@iomux/core-native';
import { select } from '@iomux/select';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const bad = (x: unknown): any => x;

/** Reads `fd` to end of file (blocking pipe). */
function readAll(fd: number): string {
  const parts: Buffer[] = [];
  for (;;) {
    const b = os.read(fd, 65536);
    if (b.length === 0) break;
    parts.push(b);
  }
  return Buffer.concat(parts).toString();
}

/** Runs argv with stdout into a pipe; returns [output, exit code]. */
function run(argv: string[], opts: os.PosixSpawnOptions & { env?: Record<string, string> | null } = {}): [string, number] {
  const [r, w] = os.pipe();
  let pid: number;
  try {
    pid = os.posixSpawnp(argv[0]!, argv, opts.env ?? null, { ...opts, stdio: [os.SPAWN_DEVNULL, w, os.SPAWN_INHERIT] });
  } finally {
    os.close(w);
  }
  const out = readAll(r);
  os.close(r);
  const [got, status] = os.waitpid(pid, 0);
  t.equal(got, pid);
  return [out, os.waitstatusToExitcode(status)];
}

t.test('posix_spawn: argv, exit code, stdout into a pipe', async (t) => {
  t.same(run(['sh', '-c', 'echo "$0 $1"; exit 7', 'a', 'b c']), ['a b c\n', 7]);
  t.same(run(['/bin/echo', 'x']), ['x\n', 0]);
});

t.test('posix_spawn: env replaces the environment; cwd', async (t) => {
  t.same(run(['/bin/sh', '-c', 'echo "$FOO|$HOME"'], { env: { FOO: 'bar baz' } }), ['bar baz|\n', 0]);
  t.same(run(['/bin/sh', '-c', 'pwd'], { cwd: '/tmp' }), ['/tmp\n', 0]);
});

t.test('posix_spawn: the child holds only 0, 1, 2', async (t) => {
  const [pr, pw] = os.pipe(); // one more descriptor, not meant for the child
  const [out] = run(['/bin/sh', '-c', 'ls /proc/self/fd']);
  os.close(pr);
  os.close(pw);
  // ls itself opens one directory descriptor to list /proc/self/fd.
  const fds = out.trim().split('\n').map(Number).filter((n) => n > 2);
  t.ok(fds.length <= 1, `child's descriptors past 2: ${fds.join(',')}`);
});

const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
const closefrom = glibc === undefined || Number(glibc.split('.')[1]) >= 34 ? false : `needs glibc 2.34+ (posix_spawn_file_actions_addclosefrom_np), this one is ${glibc}`;

t.test('posix_spawn: an inheritable descriptor stays out of the child too (close_fds)', { skip: process.platform !== 'linux' ? 'needs Linux (/proc/self/fd)' : closefrom }, async (t) => {
  const [pr, pw] = os.pipe();
  os.setInheritable(pw, true); // as a parent process might have left it
  const [out] = run(['/bin/sh', '-c', `test -e /proc/self/fd/${pw} && echo open || echo closed`]);
  os.close(pr);
  os.close(pw);
  t.equal(out, 'closed\n', `descriptor ${pw} was closed in the child`);
});

t.test('posix_spawn: SIGPIPE is back to its default in the child', async (t) => {
  const [out] = run(['/bin/sh', '-c', 'grep SigIgn /proc/self/status']);
  const ign = BigInt('0x' + out.trim().split(/\s+/)[1]);
  t.equal(ign & (1n << 12n), 0n, 'SIGPIPE (13) not ignored');
  const [out2] = run(['/bin/sh', '-c', 'grep SigIgn /proc/self/status'], { restoreSignals: false });
  t.not(BigInt('0x' + out2.trim().split(/\s+/)[1]) & (1n << 12n), 0n, 'Node\'s ignored SIGPIPE kept without restoreSignals');
});

t.test('posix_spawn: setsid and setpgroup', async (t) => {
  const [sid] = run(['/bin/sh', '-c', 'ps -o sid= -p $$ 2>/dev/null || cut -d" " -f6 /proc/$$/stat'], { setsid: true });
  t.not(Number(sid.trim()), process.pid, 'not our session');
  const [pg] = run(['/bin/sh', '-c', 'cut -d" " -f5 /proc/$$/stat'], { setpgroup: 0 });
  t.not(Number(pg.trim()), process.pid);
});

t.test('posix_spawn: exec errors carry the exec errno and the path', async (t) => {
  t.throws(() => os.posixSpawn('/nonexistent/prog', ['x'], null), { name: 'FileNotFoundError', errno: 2, message: "[Errno 2] No such file or directory: '/nonexistent/prog'" });
  t.throws(() => os.posixSpawnp('no-such-program-iomux', ['x'], null), { name: 'FileNotFoundError', errno: 2 });
  t.throws(() => os.posixSpawn('/etc/passwd', ['x'], null), { name: 'PermissionError', errno: 13 });
  t.throws(() => os.posixSpawn('/tmp', ['x'], null), { name: 'PermissionError' });
  t.throws(() => os.posixSpawn('/bin/true', ['x'], null, { cwd: '/nonexistent-dir' }), { name: 'FileNotFoundError' });
  t.throws(() => os.posixSpawn('/bin/true', ['x'], null, { stdio: [999999, -1, -1] }), OSError, 'bad descriptor');
});

t.test('posix_spawn: bad arguments, Python\'s classes and messages', async (t) => {
  t.throws(() => os.posixSpawn(bad(1), ['x'], null), { name: 'TypeError', message: 'expected str, bytes or os.PathLike object, not int' });
  t.throws(() => os.posixSpawn('/bin/true', bad('x'), null), { name: 'TypeError', message: 'posix_spawn: argv must be a tuple or list' });
  t.throws(() => os.posixSpawn('/bin/true', [], null), ValueError);
  t.throws(() => os.posixSpawn('/bin/true', [bad(3)], null), { name: 'TypeError', message: 'expected str, bytes or os.PathLike object, not int' });
  t.throws(() => os.posixSpawn('/bin/tr\0ue', ['x'], null), { name: 'ValueError', message: 'embedded null byte' });
  t.throws(() => os.posixSpawn('/bin/true', ['a\0'], null), { name: 'ValueError', message: 'embedded null byte' });
  t.throws(() => os.posixSpawn('/bin/true', ['x'], bad([])), { name: 'TypeError', message: 'posix_spawn: environment must be a mapping object' });
  t.throws(() => os.posixSpawn('/bin/true', ['x'], { 'A=B': 'x' }), { name: 'ValueError', message: 'illegal environment variable name' });
  t.throws(() => os.posixSpawn('/bin/true', ['x'], { A: bad(1) }), TypeError);
  t.throws(() => os.posixSpawn('/bin/true', ['x'], null, { stdio: bad([0, 1]) }), TypeError);
  t.throws(() => os.posixSpawn('/bin/true', ['x'], null, { stdio: [-5, -1, -1] }), ValueError);
  t.throws(() => os.posixSpawn('/bin/true', ['x'], null, { stdio: [2 ** 40, -1, -1] }), OverflowError);
  t.throws(() => os.posixSpawn('/bin/true', ['x'], null, { cwd: bad(5) }), TypeError);
  // Found by the fuzzer: an argv whose length lies is refused before any copy (it hung, or threw RangeError).
  const sparse: string[] = [];
  sparse.length = 2 ** 32 - 1;
  const started = Date.now();
  t.throws(() => os.posixSpawn('/bin/true', sparse, null), { name: 'ValueError', message: 'too many arguments' });
  t.ok(Date.now() - started < 1000, 'at once');
  const liar = new Proxy(['true'], { get: (o, k) => (k === 'length' ? 2 ** 53 - 1 : Reflect.get(o, k)) });
  t.throws(() => os.posixSpawnp('true', liar, null), { name: 'ValueError', message: 'too many arguments' });
});

t.test('native posix_spawn checks every value itself', async (t) => {
  const b = binding as any;
  const io = new Int32Array([-1, -1, -1]);
  t.throws(() => b.posix_spawn(1, ['x'], null, io, null, 0, -1), TypeError);
  t.throws(() => b.posix_spawn('/bin/true', [], null, io, null, 0, -1), /argv must not be empty/);
  t.throws(() => b.posix_spawn('/bin/true', ['x', {}], null, io, null, 0, -1), TypeError);
  t.throws(() => b.posix_spawn('/bin/true', ['x'], [1], io, null, 0, -1), TypeError);
  t.throws(() => b.posix_spawn('/bin/true', ['x'], null, new Int32Array(2), null, 0, -1), /3 descriptors/);
  t.throws(() => b.posix_spawn('/bin/true', ['x'], null, new Int32Array([-9, -1, -1]), null, 0, -1), /out of range/);
  t.throws(() => b.posix_spawn('/bin/true', ['x'], null, [0, 1, 2], null, 0, -1), TypeError);
  t.throws(() => b.posix_spawn('/bin/true', ['x'], null, io, null, 99, -1), RangeError);
  t.throws(() => b.posix_spawn('/bin/true', ['x\0y'], null, io, null, 0, -1), /embedded null byte/);
  t.throws(() => b.waitpid('x', 0), TypeError);
  t.throws(() => b.kill(1, 1000), RangeError);
});

t.test('pidfd_open: readable once the child exits; waitpid reaps', async (t) => {
  const pid = os.posixSpawn('/bin/sleep', ['sleep', '0.2'], null);
  let fd: number;
  try {
    fd = os.pidfdOpen(pid);
  } catch (e) {
    t.equal((e as OSError).errno, 38, 'ENOSYS only');
    os.waitpid(pid, 0);
    return;
  }
  t.same(select([fd], [], [], 0)[0], [], 'not readable while running');
  t.same(os.waitpid(pid, os.WNOHANG), [0, 0]);
  t.same(select([fd], [], [], 5)[0], [fd], 'readable at exit');
  const [got, status] = os.waitpid(pid, os.WNOHANG);
  t.equal(got, pid);
  t.equal(os.waitstatusToExitcode(status), 0);
  t.equal(os.getInheritable(fd), false, 'pidfd is close-on-exec');
  os.close(fd);
  t.throws(() => os.waitpid(pid, os.WNOHANG), { name: 'ChildProcessError', errno: 10 });
  t.throws(() => os.pidfdOpen(pid), { name: 'ProcessLookupError' });
  t.throws(() => os.pidfdOpen(0, 1), { name: 'OSError', errno: 22 });
});

t.test('kill and pidfd_send_signal: a killed child\'s exit code is -signal', async (t) => {
  const pid = os.posixSpawn('/bin/sleep', ['sleep', '30'], null);
  os.kill(pid, os.SIGTERM);
  t.equal(os.waitstatusToExitcode(os.waitpid(pid, 0)[1]), -os.SIGTERM);
  t.throws(() => os.kill(pid, 0), { name: 'ProcessLookupError', message: '[Errno 3] No such process' });
  const pid2 = os.posixSpawn('/bin/sleep', ['sleep', '30'], null);
  const fd = os.pidfdOpen(pid2);
  os.pidfdSendSignal(fd, os.SIGKILL);
  t.equal(os.waitstatusToExitcode(os.waitpid(pid2, 0)[1]), -os.SIGKILL);
  t.throws(() => os.pidfdSendSignal(fd, 0), { name: 'ProcessLookupError' });
  os.close(fd);
  t.throws(() => os.waitstatusToExitcode(0x137f), { name: 'ValueError' }, 'a stopped status');
});
