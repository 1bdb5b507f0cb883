// CPython 3.11 test_selectors.py EpollSelectorTestCase: the shared suite
// (base-selector.suite.ts) run against EpollSelector.
import t from 'tap';
import * as selectors from '@iomux/selectors';
import { socket, type Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { selectorSuite, type SelectorClass } from './base-selector.suite.js';

checkNoFdLeak(t);

selectorSuite(t, (selectors as Record<string, unknown>).EpollSelector as SelectorClass | undefined, 'EpollSelector');

// The event loop's wait without pairs: _waitAsync() resolves once events are
// waiting and _visitWaited() visits them where the wait's own epoll_wait
// left them, once. Linux only (epoll).
const Epoll = (selectors as Record<string, unknown>).EpollSelector as (new () => selectors.BaseSelector) | undefined;
type RawWaiting = selectors.BaseSelector & {
  _waitAsync(timeout: number | null, options: { assumeNotReady?: boolean }): Promise<unknown[]> | null;
  _visitWaited(visit: (key: selectors.SelectorKey, events: number) => void): number;
};
t.test('EpollSelector._waitAsync/_visitWaited (the event loop\'s wait)', { skip: Epoll === undefined ? 'needs epoll (Linux)' : false }, async (t) => {
  const s = new Epoll!() as RawWaiting;
  t.teardown(() => s.close());
  const pairs: Socket[][] = [];
  for (let i = 0; i < 3; i++) {
    const p = socket.socketpair();
    pairs.push(p);
    t.teardown(() => p.forEach((x) => x.close()));
  }
  const keys = pairs.map(([rd], i) => s.register(rd, selectors.EVENT_READ, i));
  const visit = (): Array<[unknown, number]> => {
    const seen: Array<[unknown, number]> = [];
    const n = s._visitWaited((key, events) => seen.push([key.data, events]));
    t.ok(n >= seen.length, 'returns how many events there were (a key unregistered since is not visited)');
    return seen;
  };

  // Nothing ready: the timeout resolves with [] and there is nothing to visit.
  const t0 = performance.now();
  t.same(await s._waitAsync(0.05, { assumeNotReady: true }), [], 'a timeout: []');
  t.ok(performance.now() - t0 >= 45, 'after the timeout');
  t.same(visit(), [], 'nothing to visit');

  // Data arriving during the wait: it resolves non-empty; the keys are visited once.
  const w = s._waitAsync(null, { assumeNotReady: true })!;
  setTimeout(() => {
    pairs[0]![1]!.send(Buffer.from('a'));
    pairs[2]![1]!.send(Buffer.from('c'));
  }, 10);
  t.ok((await w).length > 0, 'events: a non-empty list');
  t.same(visit().sort(), [[0, selectors.EVENT_READ], [2, selectors.EVENT_READ]], 'the keys that became ready');
  t.same(visit(), [], 'visited once');

  // Another look after the wait takes its events: nothing is visited twice.
  const w2 = s._waitAsync(null, {})!; // first look finds them at once
  t.ok((await w2).length > 0);
  t.equal(s.select(0).length, 2, 'select(0) looked meanwhile');
  t.same(visit(), [], 'the wait\'s events are no longer there to visit');

  // A key unregistered between the wait and the visit is skipped.
  const w3 = s._waitAsync(null, {})!;
  await w3;
  s.unregister(pairs[0]![0]!);
  t.same(visit(), [[2, selectors.EVENT_READ]], 'only the key still registered');
  t.equal(keys.length, 3);

  // interruptWait() resolves it with [].
  pairs[2]![0]!.recv(16);
  const w4 = s._waitAsync(null, { assumeNotReady: true })!;
  setTimeout(() => s.interruptWait(), 10);
  t.same(await w4, [], 'interrupted: []');
  t.same(visit(), []);

  // A replaced selectAsync() or select() sees every wait: null, nothing started.
  s.selectAsync = s.selectAsync.bind(s);
  t.equal(s._waitAsync(null, {}), null, 'replaced selectAsync(): null');
  const s2 = new Epoll!() as RawWaiting;
  t.teardown(() => s2.close());
  s2.select = s2.select.bind(s2);
  t.equal(s2._waitAsync(null, {}), null, 'replaced select(): null');
});
