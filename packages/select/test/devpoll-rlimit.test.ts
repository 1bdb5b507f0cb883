// devpoll and RLIMIT_NOFILE, as CPython's devpoll has them: the object's
// capacity (records buffered before a write, and every poll's nfds) is the
// soft limit at creation, and a poll fails with EINVAL once the limit is
// below it, as Solaris' DP_POLL refuses it. Each case runs in a child
// process, since a lowered limit would bind every later test here.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as select from '@iomux/select';
import { resource } from '@iomux/core-native';

const skip = select.devpoll ? false : 'needs /dev/poll (illumos, Solaris, or the Linux emulation)';
const selectPath = require.resolve('@iomux/select');
const corePath = require.resolve('@iomux/core-native');

/** Runs `body` in a child Node with `select`, `resource`, `os` in scope; its JSON output. */
function child(body: string): any {
  const code = `const select = require(${JSON.stringify(selectPath)});
const { resource, os } = require(${JSON.stringify(corePath)});
const out = (x) => console.log(JSON.stringify(x));
${body}`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('a poll fails with EINVAL once RLIMIT_NOFILE is below the limit at creation', { skip }, async (t) => {
  const got = child(`
    const [soft, hard] = resource.getrlimit(resource.RLIMIT_NOFILE);
    const dp = select.devpoll();
    const [r, w] = os.pipe();
    os.write(w, Buffer.from('x'));
    dp.register(r, select.POLLIN);
    const before = dp.poll(0);
    resource.setrlimit(resource.RLIMIT_NOFILE, [64, hard]);
    let err = null;
    try { dp.poll(0); } catch (e) { err = { name: e.name, errno: e.errno, message: e.message }; }
    let asyncErr = null;
    dp.pollAsync(0).then(
      () => finish(),
      (e) => { asyncErr = { name: e.name, errno: e.errno }; finish(); });
    function finish() {
      dp.modify(r, select.POLLIN); // registration still works
      resource.setrlimit(resource.RLIMIT_NOFILE, [soft, hard]);
      const after = dp.poll(0);
      dp.close();
      out({ before, err, asyncErr, after, r });
    }
  `);
  t.same(got.before, [[got.r, select.POLLIN]], 'ready before the limit shrinks');
  t.same(got.err, { name: 'OSError', errno: 22, message: '[Errno 22] Invalid argument' }, "CPython's OSError from the device");
  t.same(got.asyncErr, { name: 'OSError', errno: 22 }, 'pollAsync rejects the same way');
  t.same(got.after, [[got.r, select.POLLIN]], 'raised back to the limit at creation, it polls again');
});

t.test("a devpoll made under a low limit keeps that capacity after the limit is raised", { skip }, async (t) => {
  const got = child(`
    const [soft, hard] = resource.getrlimit(resource.RLIMIT_NOFILE);
    resource.setrlimit(resource.RLIMIT_NOFILE, [48, hard]);
    const dp = select.devpoll();
    resource.setrlimit(resource.RLIMIT_NOFILE, [soft, hard]);
    // 100 numbers that are not open: each is a POLLNVAL record.
    for (let i = 0; i < 100; i++) dp.register(900000 + i, select.POLLIN);
    const small = dp.poll(0).length;
    const big = select.devpoll();
    for (let i = 0; i < 100; i++) big.register(900000 + i, select.POLLIN);
    const all = big.poll(0);
    dp.close();
    big.close();
    out({ small, all: all.length, nval: all.every(([, ev]) => ev === select.POLLNVAL) });
  `);
  t.equal(got.small, 48, 'at most 48 records per poll: the soft limit when it was made');
  t.equal(got.all, 100, 'one made under the normal limit returns all 100');
  t.ok(got.nval, 'each is POLLNVAL');
});

t.test('this process: a devpoll polls under the limit it was made with', { skip }, async (t) => {
  const [soft] = resource.getrlimit(resource.RLIMIT_NOFILE);
  const dp = select.devpoll!();
  t.teardown(() => dp.close());
  t.ok(soft > 0);
  t.same(dp.poll(0), []);
});

t.test('devpoll.emulated says whether the addon emulates /dev/poll', { skip }, async (t) => {
  t.equal(select.devpoll!.emulated, process.platform === 'linux', 'emulated on Linux, the device elsewhere');
  t.equal(select.kqueue?.emulated ?? process.platform === 'linux', process.platform === 'linux', 'as kqueue.emulated');
});
