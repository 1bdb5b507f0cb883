// The shared backend suite, registration: register, unregister, modify,
// close, getKey and getMap (CPython 3.11 test_selectors.py
// BaseSelectorTestCase), under CPython's case names. Run by
// base-selector.suite.ts inside each backend's `${name}TestCase`.
import type { Test } from 'tap';
import { EVENT_READ, EVENT_WRITE, SelectorKey, SelectorMapping } from '@iomux/selectors';
import { os } from '@iomux/core-native';
import { loose, makeSocketpair, type SuiteContext } from './base-selector-support.js';

/**
 * os.dup2(src, target) for a `target` that was just closed: the addon has
 * only dup(), which returns the lowest free descriptor, so dup until it is
 * `target` and close the lower ones it handed out on the way.
 */
function dup2(src: number, target: number): void {
  const extra: number[] = [];
  try {
    for (;;) {
      const fd = os.dup(src);
      if (fd === target) return;
      extra.push(fd);
      if (fd > target) throw new Error(`dup2 emulation: descriptor ${target} was taken by someone else`);
    }
  } finally {
    for (const fd of extra) os.close(fd);
  }
}

class ZeroDivisionError extends Error {
  override name = 'ZeroDivisionError';
}

export function keyCases(t: Test, { make, instanceName }: SuiteContext): void {
  t.test('test_register', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    const key = s.register(rd, EVENT_READ, 'data');
    t.ok(key instanceof SelectorKey, 'a SelectorKey');
    t.equal(key.fileobj, rd);
    t.equal(key.fd, rd.fileno());
    t.equal(key.events, EVENT_READ);
    t.equal(key.data, 'data');

    // register an unknown event
    t.throws(() => s.register(0, 999999), { name: 'ValueError', message: 'Invalid events: 999999' });
    // CPython's classes: a mask `&` refuses is TypeError; one past 32 bits
    // is ValueError (JS `&` would truncate it to 0)
    t.throws(() => s.register(rd, 1.5), { name: 'TypeError', message: "unsupported operand type(s) for &: 'float' and 'int'" });
    t.throws(() => s.register(rd, '1' as never), { name: 'TypeError', message: "unsupported operand type(s) for &: 'str' and 'int'" });
    t.throws(() => s.register(rd, NaN), { name: 'TypeError', message: "unsupported operand type(s) for &: 'float' and 'int'" });
    t.throws(() => s.register(rd, 2 ** 32), { name: 'ValueError', message: 'Invalid events: 4294967296' });
    t.throws(() => s.register(rd, 2 ** 32 + EVENT_READ), { name: 'ValueError', message: 'Invalid events: 4294967297' });
    t.throws(() => s.register(rd, -1), { name: 'ValueError', message: 'Invalid events: -1' });
    t.throws(() => s.register(rd, 0), { name: 'ValueError', message: 'Invalid events: 0' });
    t.throws(() => s.register(rd, null as never), { name: 'ValueError', message: 'Invalid events: None' });

    // register an invalid FD
    t.throws(() => s.register(-10, EVENT_READ), { name: 'ValueError', message: 'Invalid file descriptor: -10' });

    // register twice
    t.throws(() => s.register(rd, EVENT_READ), { name: 'KeyError', message: /\(FD \d+\) is already registered'$/ });

    // register the same FD, but with a different object
    const fd = rd.fileno();
    t.throws(() => s.register(fd, EVENT_READ), { name: 'KeyError', message: `'${fd} (FD ${fd}) is already registered'` });
  });

  t.test('test_unregister', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    s.register(rd, EVENT_READ);
    s.unregister(rd);

    // unregister an unknown file obj
    t.throws(() => s.unregister(999999), { name: 'KeyError', message: "'999999 is not registered'" });

    // unregister twice
    t.throws(() => s.unregister(rd), { name: 'KeyError', message: /is not registered'$/ });
  });

  t.test('test_unregister_after_fd_close', async (t) => {
    const s = make(t);
    const [rd, wr] = makeSocketpair(t);
    const r = rd.fileno();
    const w = wr.fileno();
    s.register(r, EVENT_READ);
    s.register(w, EVENT_WRITE);
    rd.close();
    wr.close();
    t.doesNotThrow(() => s.unregister(r));
    t.doesNotThrow(() => s.unregister(w));
  });

  t.test('test_unregister_after_fd_close_and_reuse', async (t) => {
    const s = make(t);
    const [rd, wr] = makeSocketpair(t);
    const r = rd.fileno();
    const w = wr.fileno();
    s.register(r, EVENT_READ);
    s.register(w, EVENT_WRITE);
    const [rd2, wr2] = makeSocketpair(t);
    rd.close();
    wr.close();
    dup2(rd2.fileno(), r);
    dup2(wr2.fileno(), w);
    t.teardown(() => os.close(r));
    t.teardown(() => os.close(w));
    t.doesNotThrow(() => s.unregister(r));
    t.doesNotThrow(() => s.unregister(w));
  });

  t.test('test_unregister_after_socket_close', async (t) => {
    const s = make(t);
    const [rd, wr] = makeSocketpair(t);
    s.register(rd, EVENT_READ);
    s.register(wr, EVENT_WRITE);
    rd.close();
    wr.close();
    t.doesNotThrow(() => s.unregister(rd));
    t.doesNotThrow(() => s.unregister(wr));
  });

  t.test('test_modify', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    let key = s.register(rd, EVENT_READ);

    // modify events
    let key2 = s.modify(rd, EVENT_WRITE);
    t.not(key.events, key2.events);
    t.equal(key2, s.getKey(rd));

    s.unregister(rd);

    // modify data
    const d1 = {};
    const d2 = {};

    key = s.register(rd, EVENT_READ, d1);
    key2 = s.modify(rd, EVENT_READ, d2);
    t.equal(key.events, key2.events);
    t.not(key.data, key2.data);
    t.equal(key2, s.getKey(rd));
    t.equal(key2.data, d2);

    // modify unknown file obj
    t.throws(() => s.modify(999999, EVENT_READ), { name: 'KeyError', message: "'999999 is not registered'" });

    // modify use a shortcut (unittest.mock.Mock on the instance)
    const d3 = {};
    const called = { register: 0, unregister: 0 };
    loose(s).register = () => void called.register++;
    loose(s).unregister = () => void called.unregister++;

    s.modify(rd, EVENT_READ, d3);
    t.equal(called.register, 0, 'register not called');
    t.equal(called.unregister, 0, 'unregister not called');
    t.equal(s.getKey(rd).data, d3);
  });

  // Make sure the fd is unregister()ed in case of error on modify():
  // http://bugs.python.org/issue30014. CPython patches the backend's
  // _selector_cls; iomux patches the poller object the selector made.
  const hasPoller = ['EpollSelector', 'PollSelector', 'DevpollSelector'].includes(instanceName);
  t.test('test_modify_unregister', { skip: hasPoller ? false : `no poller to patch on ${instanceName} (CPython: skipTest(""))` }, async (t) => {
    const s = make(t);
    loose(s)._selector.modify = () => {
      throw new ZeroDivisionError();
    };
    const [rd] = makeSocketpair(t);
    s.register(rd, EVENT_READ);
    t.equal(s.getMap()!.size, 1);
    t.throws(() => s.modify(rd, EVENT_WRITE), { name: 'ZeroDivisionError' });
    t.equal(s.getMap()!.size, 0);
  });

  t.test('test_close', async (t) => {
    const s = make(t);

    const mapping = s.getMap() as SelectorMapping<unknown>;
    const [rd, wr] = makeSocketpair(t);

    s.register(rd, EVENT_READ);
    s.register(wr, EVENT_WRITE);

    s.close();
    t.throws(() => s.getKey(rd), { name: 'RuntimeError', message: 'Selector is closed' });
    t.throws(() => s.getKey(wr), { name: 'RuntimeError', message: 'Selector is closed' });
    t.throws(() => mapping.getItem(rd), { name: 'KeyError' });
    t.throws(() => mapping.getItem(wr), { name: 'KeyError' });
    t.equal(s.getMap(), null, 'getMap() is null once closed');
  });

  // Differs from CPython (issue 17): a closed SelectSelector or PollSelector
  // there selects nothing, or blocks forever on select(None); every closed
  // selector here raises, as a closed EpollSelector does in CPython.
  t.test('a closed selector raises ValueError on select, selectAsync and register', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);
    s.register(rd, EVENT_READ);
    s.close();
    const closed = { name: 'ValueError', message: /^I\/O operation on closed / };
    t.throws(() => s.select(null), closed, 'select(null) raises instead of blocking');
    t.throws(() => s.select(0), closed, 'select(0)');
    let settled = false;
    const p = s.selectAsync(null).finally(() => (settled = true));
    await t.rejects(p, closed, 'selectAsync(null) rejects instead of waiting forever');
    t.ok(settled);
    t.throws(() => s.register(rd, EVENT_READ), closed, 'register');
  });

  // CPython compares or multiplies the timeout first: a non-number is TypeError.
  t.test('select and selectAsync: a timeout that is no number is TypeError', async (t) => {
    const s = make(t);
    for (const bad of ['x', {}, [1], Symbol('t')]) {
      t.throws(() => s.select(bad as never), TypeError, `select(${String(bad)})`);
      await t.rejects(s.selectAsync(bad as never), TypeError, `selectAsync(${String(bad)})`);
    }
    t.same(s.select(0n as never), [], 'a bigint is an int');
  });

  t.test('test_get_key', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    const key = s.register(rd, EVENT_READ, 'data');
    t.equal(key, s.getKey(rd));

    // unknown file obj
    t.throws(() => s.getKey(999999), { name: 'KeyError', message: "'999999 is not registered'" });
  });

  t.test('test_get_map', async (t) => {
    const s = make(t);
    const [rd] = makeSocketpair(t);

    const keys = s.getMap() as SelectorMapping<unknown>;
    t.equal(keys.size, 0, 'empty (assertFalse(keys))');
    t.same([...keys.keys()], []);
    const key = s.register(rd, EVENT_READ, 'data');
    t.ok(keys.has(rd), 'rd in keys');
    t.equal(keys.getItem(rd), key, 'keys[rd]');
    t.equal(keys.get(rd), key, 'keys.get(rd)');
    t.equal(keys.size, 1);
    t.same([...keys.keys()], [rd.fileno()]);
    const values = [...keys.values()];
    t.equal(values.length, 1);
    t.equal(values[0], key);

    // unknown file obj
    t.throws(() => keys.getItem(999999), { name: 'KeyError' });
    t.equal(keys.get(999999), undefined);

    // Read-only mapping
    t.throws(() => loose(keys).delete(rd), TypeError);
    t.throws(() => loose(keys).set(rd.fileno(), key), TypeError);
    t.equal(keys.size, 1, 'still there');
  });

}
