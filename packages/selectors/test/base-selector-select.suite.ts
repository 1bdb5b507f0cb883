// The shared backend suite, selecting: select(), selectEach(),
// selectEachAsync(), a subclass's select(), the context manager and
// fileno() (CPython 3.11 test_selectors.py BaseSelectorTestCase, plus
// iomux's selectEach cases). Run by base-selector.suite.ts inside each
// backend's `${name}TestCase`.
import type { Test } from 'tap';
import { EVENT_READ, EVENT_WRITE, SelectorKey, type Ready, type SelectSelector } from '@iomux/selectors';
import { loose, makeSocketpair, sleep, tick, time, type SuiteContext } from './base-selector-support.js';

export function selectCases(t: Test, { make, instanceName, instanceClass }: SuiteContext): void {
  t.test('test_select', async (t) => {
    const s = make(t);
    const [rd, wr] = makeSocketpair(t);

    s.register(rd, EVENT_READ);
    const wrKey = s.register(wr, EVENT_WRITE);

    const result = s.select();
    for (const [key, events] of result) {
      t.ok(key instanceof SelectorKey);
      t.ok(events);
      t.notOk(events & ~(EVENT_READ | EVENT_WRITE));
    }

    t.equal(result.length, 1);
    t.equal(result[0]![0], wrKey);
    t.equal(result[0]![1], EVENT_WRITE);
  });

  t.test('test_select_read_write', async (t) => {
    // gh-110038: when a file descriptor is registered for both read and
    // write, the two events must be seen on a single call to select().
    const s = make(t);

    const [sock1, sock2] = makeSocketpair(t);
    sock2.send(Buffer.from('foo'));
    const myKey = s.register(sock1, EVENT_READ | EVENT_WRITE);

    let seenRead = false;
    let seenWrite = false;
    const result = s.select();
    // We get the read and write either in the same result entry or in two
    // distinct entries with the same key.
    t.ok(result.length <= 2);
    for (const [key, events] of result) {
      t.ok(key instanceof SelectorKey);
      t.equal(key, myKey);
      t.notOk(events & ~(EVENT_READ | EVENT_WRITE));
      if (events & EVENT_READ) {
        t.notOk(seenRead);
        seenRead = true;
      }
      if (events & EVENT_WRITE) {
        t.notOk(seenWrite);
        seenWrite = true;
      }
    }
    t.ok(seenRead);
    t.ok(seenWrite);
  });

  t.test('selectEach visits what select() returns, with no pairs', async (t) => {
    const s = make(t);
    const [a, b] = makeSocketpair(t);
    const [c, d] = makeSocketpair(t);
    const [e, f] = makeSocketpair(t);
    b.send(Buffer.from('x'));
    const aKey = s.register(a, EVENT_READ, 'a');
    const cKey = s.register(c, EVENT_READ | EVENT_WRITE, 'c');
    s.register(e, EVENT_READ, 'e'); // nothing to read: never visited
    const sorted = (pairs: Array<[unknown, number]>): string[] => pairs.map(([k, ev]) => `${(k as SelectorKey).fd}:${ev}`).sort();
    const visited: Array<[unknown, number]> = [];
    const n = s.selectEach(0, (key, events) => visited.push([key, events]));
    t.equal(n, visited.length, 'returns how many it visited');
    t.same(sorted(visited), sorted(s.select(0)), 'the same keys and events as select(0)');
    t.same(sorted(visited), [`${aKey.fd}:${EVENT_READ}`, `${cKey.fd}:${EVENT_WRITE}`].sort());
    t.ok(visited.every(([k]) => k === aKey || k === cKey), 'the registered key objects themselves');
    // A timeout: waits, then visits what became ready meanwhile.
    const [g, h] = makeSocketpair(t);
    const gKey = s.register(g, EVENT_READ, 'g');
    s.unregister(a);
    s.unregister(c);
    const t0 = time();
    t.equal(s.selectEach(0.05, () => t.fail('nothing is ready')), 0, 'a timeout visits nothing');
    t.ok(time() - t0 >= 0.04, 'and waited');
    h.send(Buffer.from('y'));
    const seenG: unknown[] = [];
    t.equal(s.selectEach(null, (key, events) => seenG.push([key, events])), 1, 'null blocks until ready');
    t.same(seenG, [[gKey, EVENT_READ]]);
    s.unregister(g);
    s.register(a, EVENT_READ, 'a');
    // A visit may unregister keys (its own, or one still to come).
    f.send(Buffer.from('y'));
    const seen: unknown[] = [];
    s.selectEach(0, (key) => {
      seen.push(key.data);
      s.unregister(key.fileobj);
    });
    t.same(seen.sort(), ['a', 'e'], 'both ready keys visited');
    t.same(s.select(0), [], 'and both unregistered');
    s.register(a, EVENT_READ, 'a');
    // A visit that throws: the error comes out, the selector stays usable.
    const boom = new Error('visit failed');
    t.throws(() => s.selectEach(0, () => {
      throw boom;
    }), boom);
    t.ok(s.select(0).length >= 1, 'usable after a visit threw');
    t.throws(() => s.selectEach(0, 'spam' as never), { name: 'TypeError' }, 'visit must be a function');
    t.throws(() => s.selectEach('1' as never, () => {}), { name: 'TypeError' }, 'a timeout that is no number');
    d.close();
    b.close();
    // Closed: whatever select(0) does on a closed selector of this kind.
    const s2 = make(t);
    s2.close();
    const outcome = (f: () => unknown): unknown => {
      try {
        return f();
      } catch (e) {
        return (e as Error).name;
      }
    };
    t.equal(outcome(() => s2.selectEach(0, () => {})), outcome(() => s2.select(0).length), 'closed: as select(0)');
  });

  t.test('selectEachAsync visits what selectAsync() finds, then resolves with the count', async (t) => {
    const s = make(t);
    const [a, b] = makeSocketpair(t);
    const [c] = makeSocketpair(t);
    const aKey = s.register(a, EVENT_READ, 'a');
    const cKey = s.register(c, EVENT_WRITE, 'c');
    // Ready at once.
    const visited: Array<[unknown, number]> = [];
    t.equal(await s.selectEachAsync(0, (key, events) => visited.push([key, events])), 1);
    t.same(visited, [[cKey, EVENT_WRITE]]);
    s.unregister(c);
    // Ready later: Node's timers run while it waits.
    const later: Array<[unknown, number]> = [];
    const wait = s.selectEachAsync(null, (key, events) => later.push([key, events]));
    await sleep(20);
    t.same(later, [], 'no visit before anything is ready');
    b.send(Buffer.from('x'));
    t.equal(await wait, 1);
    t.same(later, [[aKey, EVENT_READ]]);
    a.recv(16);
    // A timeout and interruptWait(): 0, nothing visited.
    t.equal(await s.selectEachAsync(0.02, () => t.fail('a timeout visits nothing')), 0);
    const interrupted = s.selectEachAsync(null, () => t.fail('interrupted: nothing visited'));
    await tick();
    t.equal(s.interruptWait(), true);
    t.equal(await interrupted, 0);
    // Aborted: rejects with the reason, and leaves the selector usable.
    const ac = new AbortController();
    const aborted = s.selectEachAsync(null, () => {}, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await t.rejects(aborted, { message: 'stop' });
    // A visit that throws rejects the wait.
    b.send(Buffer.from('y'));
    const boom = new Error('visit failed');
    await t.rejects(s.selectEachAsync(null, () => {
      throw boom;
    }), boom);
    t.equal(s.select(0).length, 1, 'usable after a visit threw');
    await t.rejects(s.selectEachAsync(0, null as never), { name: 'TypeError' }, 'visit must be a function');
    await t.rejects(s.selectEachAsync(0, () => {}, 'spam' as never), { name: 'TypeError' }, 'options must be an object');
    const s2 = make(t);
    s2.close();
    await t.rejects(s2.selectEachAsync(0, () => {}), 'closed: rejects');
  });

  t.test('a subclass that overrides select() keeps selectEach working', async (t) => {
    class Counting extends (instanceClass as typeof SelectSelector) {
      looks = 0;
      override select(timeout?: number | null): Ready {
        this.looks++;
        return super.select(timeout);
      }
    }
    const s = new Counting();
    t.teardown(() => s.close());
    const [a, b] = makeSocketpair(t);
    const key = s.register(a, EVENT_READ);
    b.send(Buffer.from('x'));
    const seen: unknown[] = [];
    t.equal(s.selectEach(0, (k, ev) => seen.push([k, ev])), 1);
    t.same(seen, [[key, EVENT_READ]]);
    t.same(s.select(0), [[key, EVENT_READ]]);
    t.ok(s.looks >= 1, 'its select() is its own');
    seen.length = 0;
    t.equal(await s.selectEachAsync(null, (k, ev) => seen.push([k, ev])), 1);
    t.same(seen, [[key, EVENT_READ]]);
  });

  t.test('test_context_manager', async (t) => {
    const s = make(t);
    const [rd, wr] = makeSocketpair(t);

    // Python's `with s as sel:`
    {
      using sel = s;
      sel.register(rd, EVENT_READ);
      sel.register(wr, EVENT_WRITE);
    }

    t.throws(() => s.getKey(rd), { name: 'RuntimeError', message: 'Selector is closed' });
    t.throws(() => s.getKey(wr), { name: 'RuntimeError', message: 'Selector is closed' });
  });

  t.test('test_fileno', async (t) => {
    const s = make(t);

    if (typeof loose(s).fileno === 'function') {
      const fd: unknown = loose(s).fileno();
      t.ok(Number.isInteger(fd), 'an int');
      t.ok((fd as number) >= 0);
    } else {
      t.pass(`${instanceName} has no fileno(), as in Python`);
    }
  });
}
