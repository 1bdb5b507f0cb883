// Waits when the process is out of descriptors (issue 17): the promise twins
// of select() and poll() wake up through a wake source's descriptor (epoll on
// Linux, internal/wakeup.ts), and when none can be had (EMFILE) they look on
// a timer instead, as select(2) and poll(2) themselves need no descriptor.
// Before, selectAsync rejected with EMFILE, and a loop on the select backend
// died at the descriptor limit. Where there is no wake mechanism at all the
// twins always look on a timer, so these cases hold there too.
import t from 'tap';
import { nodeUnderLimit } from '../../../test/support/env.js';

const pkg = require.resolve('@iomux/select');
const core = require.resolve('@iomux/core-native');

const underLimit = (code: string): ReturnType<typeof nodeUnderLimit> => nodeUnderLimit(64, code);

const PRELUDE = `
  const select = require(${JSON.stringify(pkg)});
  const { os } = require(${JSON.stringify(core)});
  const [r, w] = os.pipe();
  const hogs = [];
  for (;;) { try { hogs.push(...os.pipe()); } catch (e) { if (e.code !== 'EMFILE') throw e; break; } }
  // pipe() needs two: one slot may be left, and dup() takes it.
  for (;;) { try { hogs.push(os.dup(r)); } catch (e) { if (e.code !== 'EMFILE') throw e; break; } }
  setTimeout(() => os.write(w, Buffer.from('x')), 60);
  const t0 = performance.now();
  const report = (what) => (v) => { console.log(what, JSON.stringify(v), Math.round(performance.now() - t0)); };
  // Gives the descriptors back, so that the process can exit as usual.
  const done = () => { for (const fd of hogs.splice(0)) os.close(fd); };
`;

t.test('selectAsync at EMFILE still wakes when the descriptor is ready', async (t) => {
  const { status, out, err } = await underLimit(`${PRELUDE}
    select.selectAsync([r], [], [], 5).then(report('ready'), (e) => console.log('rejected', e.name, e.code)).finally(done);`);
  t.equal(status, 0, `the child exits 0 (${err.trim().split('\n').pop() ?? ''})`);
  t.equal(err, '', 'and writes nothing to stderr');
  const m = /^ready (.*) (\d+)$/m.exec(out);
  t.ok(m, `resolved (${out.trim()})`);
  t.match(m?.[1], /^\[\[\d+\],\[\],\[\]\]$/, 'the read list holds the pipe, the others are empty');
  t.ok(Number(m?.[2]) < 2000, `woke after the write, not at the timeout (${m?.[2]} ms)`);
});

t.test('poll.pollAsync at EMFILE still wakes, and the next wait opens a wake source again', async (t) => {
  const { status, out, err } = await underLimit(`${PRELUDE}
    const p = select.poll();
    p.register(r, select.POLLIN);
    p.pollAsync(5000).then((v) => {
      report('ready')(v);
      os.read(r, 1);
      // Two: the wake source's epoll descriptor and the duplicate libuv watches.
      os.close(hogs.pop());
      os.close(hogs.pop());
      setTimeout(() => os.write(w, Buffer.from('y')), 20);
      return p.pollAsync(5000).then(report('again'));
    }).catch((e) => console.log('rejected', e.name, e.code)).finally(done);`);
  t.equal(status, 0, `the child exits 0 (${err.trim().split('\n').pop() ?? ''})`);
  t.equal(err, '', 'and writes nothing to stderr');
  t.match(out, /^ready \[\[\d+,1\]\] \d+$/m, 'the first wait resolves with [[r, POLLIN]]');
  t.match(out, /^again \[\[\d+,1\]\] \d+$/m, 'and so does the next one');
  t.notMatch(out, /rejected/);
});
