// resource.getrlimit/setrlimit (src/resource.ts over native/resource.cc):
// real limits, read back from /proc and changed in child processes (a limit
// lowered here would bind every later test). Messages are CPython 3.11's.
import t from 'tap';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resource, OSError } from '@iomux/core-native';

const bad = (x: unknown): any => x;
const coreNative = require.resolve('@iomux/core-native');

/** The soft and hard "Max open files" of /proc/<pid>/limits. */
function procLimits(pid: number | string = 'self'): [number, number] {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/);
  const num = (s: string): number => (s === 'unlimited' ? -1 : Number(s));
  return [num(soft!), num(hard!)];
}

/** Runs `body` in a child Node that has `resource` in scope; its stdout, parsed. */
function child(body: string): any {
  const code = `const { resource, os } = require(${JSON.stringify(coreNative)});\n${body}`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('getrlimit(RLIMIT_NOFILE) is what the kernel reports', async (t) => {
  const [soft, hard] = resource.getrlimit(resource.RLIMIT_NOFILE);
  t.same([soft, hard], procLimits());
  t.ok(soft >= 1 && (hard === resource.RLIM_INFINITY || soft <= hard));
  t.equal(resource.getrlimit(BigInt(resource.RLIMIT_NOFILE) as never)[0], soft, 'a bigint resource');
});

t.test('setrlimit lowers the soft limit, and the kernel enforces it', async (t) => {
  const out = child(`
    const [soft, hard] = resource.getrlimit(resource.RLIMIT_NOFILE);
    resource.setrlimit(resource.RLIMIT_NOFILE, [64, hard]);
    const after = resource.getrlimit(resource.RLIMIT_NOFILE);
    const fds = []; let err = null;
    try { for (let i = 0; i < 200; i++) fds.push(...os.pipe()); } catch (e) { err = e.code; }
    for (const fd of fds) os.close(fd);
    resource.setrlimit(resource.RLIMIT_NOFILE, [soft, hard]);
    console.log(JSON.stringify({ after, err, max: Math.max(...fds), back: resource.getrlimit(resource.RLIMIT_NOFILE)[0], soft }));
  `);
  t.same(out.after, [64, procLimits()[1]]);
  t.equal(out.err, 'EMFILE', 'pipe() fails at the lowered limit');
  t.ok(out.max < 64, `every descriptor under 64 (max ${out.max})`);
  t.equal(out.back, out.soft, 'the soft limit can be raised back up to the hard one');
});

t.test('setrlimit errors are CPython\'s', async (t) => {
  const [, hard] = resource.getrlimit(resource.RLIMIT_NOFILE);
  const N = resource.RLIMIT_NOFILE;
  if (hard !== resource.RLIM_INFINITY) {
    t.throws(() => resource.setrlimit(N, [hard + 1, hard]), { name: 'ValueError', message: 'current limit exceeds maximum limit' });
    t.throws(() => resource.setrlimit(N, [-5, hard]), { name: 'ValueError', message: 'current limit exceeds maximum limit' });
    if (process.getuid?.() !== 0) {
      t.throws(() => resource.setrlimit(N, [hard + 1, hard + 1]), { name: 'ValueError', message: 'not allowed to raise maximum limit' });
    }
  }
  t.throws(() => resource.setrlimit(N, [1]), { name: 'ValueError', message: 'expected a tuple of 2 integers' });
  t.throws(() => resource.setrlimit(N, [1, 2, 3]), { name: 'ValueError', message: 'expected a tuple of 2 integers' });
  t.throws(() => resource.setrlimit(N, bad(5)), { name: 'TypeError', message: "'int' object is not iterable" });
  t.throws(() => resource.setrlimit(N, bad(null)), { name: 'TypeError', message: "'NoneType' object is not iterable" });
  t.throws(() => resource.setrlimit(N, bad('ab')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => resource.setrlimit(N, bad([1.5, 2])), { name: 'TypeError', message: "'float' object cannot be interpreted as an integer" });
  t.throws(() => resource.setrlimit(N, bad([2n ** 64n, 2])), { name: 'OverflowError', message: 'Python int too large to convert to C long' });
  t.throws(() => resource.setrlimit(99, [1, 1]), { name: 'ValueError', message: 'invalid resource specified' });
  t.same(resource.getrlimit(N)[1], hard, 'nothing changed');
});

t.test('getrlimit errors are CPython\'s', async (t) => {
  t.throws(() => resource.getrlimit(-1), { name: 'ValueError', message: 'invalid resource specified' });
  t.throws(() => resource.getrlimit(100), { name: 'ValueError', message: 'invalid resource specified' });
  t.throws(() => resource.getrlimit(bad('x')), { name: 'TypeError', message: "'str' object cannot be interpreted as an integer" });
  t.throws(() => resource.getrlimit(1.5), { name: 'TypeError', message: "'float' object cannot be interpreted as an integer" });
  t.throws(() => resource.getrlimit(2 ** 40), { name: 'OverflowError', message: 'Python int too large to convert to C int' });
  t.notOk(OSError === undefined);
});

t.test('the native layer checks its own arguments', async (t) => {
  const B = (await import('@iomux/core-native')).binding;
  t.throws(() => B.resource_getrlimit(bad('7')), TypeError);
  t.throws(() => B.resource_getrlimit(65), bad({ pyType: 'OverflowError' }));
  t.throws(() => B.resource_setrlimit(7, 2 ** 63, 1), bad({ pyType: 'OverflowError' }));
  t.throws(() => B.resource_setrlimit(7, NaN, 1), TypeError);
});
