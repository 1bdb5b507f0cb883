// CPython 3.11 test_selectors.py KqueueSelectorTestCase: the shared suite
// (base-selector.suite.ts) and its kqueue-only cases, run against
// KqueueSelector; on Linux through the addon's kqueue emulation.
import t from 'tap';
import * as selectors from '@iomux/selectors';
import { os } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { selectorSuite, type SelectorClass } from './base-selector.suite.js';

checkNoFdLeak(t);

const Kqueue = (selectors as Record<string, unknown>).KqueueSelector as SelectorClass | undefined;
selectorSuite(t, Kqueue, 'KqueueSelector');

const skip = Kqueue === undefined ? 'Test needs selectors.KqueueSelector' : false;
const time = (): number => performance.now() / 1000;

t.test('test_register_bad_fd', { skip }, async (t) => {
  // a file descriptor that's been closed should raise an OSError with EBADF
  const s = new Kqueue!();
  t.teardown(() => s.close());
  const [r, w] = os.pipe();
  os.close(w);
  os.close(r);
  const badF = r; // os_helper.make_bad_fd(): a descriptor just closed
  t.throws(() => s.register(badF, selectors.EVENT_READ), { name: 'OSError', errno: 9 });
  // the SelectorKey has been removed
  t.throws(() => s.getKey(badF), { name: 'KeyError' });
});

t.test('test_empty_select_timeout', { skip }, async (t) => {
  // Issues #23009, #29255: Make sure timeout is applied when no fds are registered.
  const s = new Kqueue!();
  t.teardown(() => s.close());
  const t0 = time();
  t.same(s.select(1), []);
  const dt = time() - t0;
  // Tolerate 2.0 seconds for very slow buildbots
  t.ok(dt >= 0.8 && dt <= 2.0, `${dt}`);
});

t.test('a key ready to read and write is reported once per filter, as in CPython', { skip }, async (t) => {
  const s = new Kqueue!();
  t.teardown(() => s.close());
  const [a, b] = os.pipe();
  t.teardown(() => {
    os.close(a);
    os.close(b);
  });
  // A socketpair end is both readable (once written to) and writable.
  const { socket } = await import('@iomux/core-native');
  const [x, y] = socket.socketpair();
  t.teardown(() => {
    x.close();
    y.close();
  });
  const key = s.register(x, selectors.EVENT_READ | selectors.EVENT_WRITE);
  y.send(Buffer.from('x'));
  const ready = s.select(0);
  t.same(ready.map(([k, ev]) => [k === key, ev]).sort(), [[true, selectors.EVENT_READ], [true, selectors.EVENT_WRITE]]);
  let visits = 0;
  t.equal(s.selectEach(0, () => visits++), 2, 'selectEach: two visits');
  t.equal(visits, 2);
});
