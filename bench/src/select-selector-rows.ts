/**
 * select.bench.ts's selectors rows (every @iomux/selectors backend's select(0)
 * beside the @iomux/select call it wraps, and CPython's) and promise-twin rows.
 */
import { FD_SETSIZE } from '@iomux/core-native';
import { select, selectAsync, poll, kqueue, kevent, POLLIN, KQ_FILTER_READ } from '@iomux/select';
import { DefaultSelector, EpollSelector, KqueueSelector, PollSelector, SelectSelector, EVENT_READ, type BaseSelector } from '@iomux/selectors';
import { SEL_NS, EPOLLIN, newEpoll, gc, hrnow, assertEqual, drain, jsLoop, mk, type Contender, type Row, type SelectCtx } from './select-common.js';

/** The selectors table's rows. */
export function selectorRows(ctx: SelectCtx): Row[] {
  const { rr, fdsFor, hasEpoll, pyInfo, closers, pyContender } = ctx;
  // ---- selectors: selector.select(0) beside the @iomux/select call it wraps,
  // on the same descriptors, and CPython's selectors beside its select module
  type Backend = 'select' | 'poll' | 'epoll' | 'kqueue';
  const selRows: Row[] = [];
  const defaultBackend = DefaultSelector.backend;
  const selectorSpecs: Array<{ label: string; make: () => BaseSelector; backend: Backend; py: string }> = [
    { label: 'SelectSelector', make: () => new SelectSelector(), backend: 'select', py: 'selselect' },
    { label: 'PollSelector', make: () => new PollSelector(), backend: 'poll', py: 'selpoll' },
  ];
  if (EpollSelector !== undefined && hasEpoll) {
    const Cls = EpollSelector;
    selectorSpecs.push({ label: 'EpollSelector', make: () => new Cls(), backend: 'epoll', py: 'selepoll' });
  }
  if (KqueueSelector !== undefined) {
    const Cls = KqueueSelector;
    selectorSpecs.push({ label: 'KqueueSelector', make: () => new Cls(), backend: 'kqueue', py: 'selkqueue' });
  }
  if (defaultBackend === 'select' || defaultBackend === 'poll' || (defaultBackend === 'epoll' && hasEpoll)) {
    selectorSpecs.push({ label: `DefaultSelector (${defaultBackend})`, make: () => new DefaultSelector(), backend: defaultBackend, py: 'seldefault' });
  }
  const pyRawName: Record<Backend, string> = { select: 'select', poll: 'poll', epoll: 'epoll', kqueue: 'kqueue' };
  // CPython has no kqueue on Linux, where this runs.
  const pyHasRaw = (b: Backend, n: number): boolean =>
    pyInfo !== null && b !== 'kqueue' && (b === 'poll' || (b === 'select' ? pyInfo.select : pyInfo.epoll).includes(n));
  for (const spec of selectorSpecs) {
    for (const n of SEL_NS) {
      const fds = fdsFor(n);
      const rawCall =
        spec.backend === 'epoll' ? 'epoll.poll(0)' : spec.backend === 'poll' ? 'poll.poll(0)' : spec.backend === 'kqueue' ? 'kqueue.control(None, n, 0)' : 'select(r, [], [], 0)';
      if (spec.backend === 'select' && Math.max(...fds) >= FD_SETSIZE) {
        selRows.push({ label: spec.label, n: String(n), rawCall, contenders: {}, note: `skipped: descriptors reach ${Math.max(...fds)} >= FD_SETSIZE` });
        continue;
      }
      const sel = spec.make();
      closers.push(() => sel.close());
      for (const fd of fds) sel.register(fd, EVENT_READ);
      const got = sel.select(0);
      assertEqual(got.map(([k, e]) => [k.fd, e]), [[rr, EVENT_READ]], `${spec.label}.select(0) N=${n}`);
      let rawFn: () => number;
      if (spec.backend === 'epoll') {
        const ep = newEpoll();
        closers.push(() => ep.close());
        for (const fd of fds) ep.register(fd, EPOLLIN);
        assertEqual(ep.poll(0), [[rr, EPOLLIN]], `${rawCall} N=${n} (selectors table)`);
        rawFn = () => ep.poll(0).length;
      } else if (spec.backend === 'kqueue') {
        const kq = kqueue!();
        closers.push(() => kq.close());
        kq.control(fds.map((fd) => kevent!(fd, KQ_FILTER_READ!)), 0, 0);
        rawFn = () => kq.control(null, n, 0).length;
      } else if (spec.backend === 'poll') {
        const p = poll();
        closers.push(() => p.close());
        for (const fd of fds) p.register(fd, POLLIN);
        assertEqual(p.poll(0), [[rr, POLLIN]], `${rawCall} N=${n} (selectors table)`);
        rawFn = () => p.poll(0).length;
      } else {
        const empty: number[] = [];
        assertEqual(select(fds, empty, empty, 0), [[rr], [], []], `${rawCall} N=${n} (selectors table)`);
        rawFn = () => select(fds, empty, empty, 0)[0].length;
      }
      const contenders: Row['contenders'] = {
        selraw: mk('selraw', jsLoop(rawFn)),
        sel: mk('sel', jsLoop(() => sel.select(0).length)),
        pyraw: pyHasRaw(spec.backend, n) ? pyContender(pyRawName[spec.backend], n, 1, 'pyraw') : undefined,
        pysel: pyInfo?.selectors?.[spec.py]?.includes(n) ? pyContender(spec.py, n, 1, 'pysel') : undefined,
      };
      // Breakdown at N=1 (EpollSelector, PollSelector): the poller call exactly
      // as the selector makes it, on the selector's own poller, and the
      // selector's _ready() conversion alone on a fixed one-entry list.
      if (n === 1 && (spec.label === 'EpollSelector' || spec.label === 'PollSelector')) {
        const inside = sel as unknown as {
          _selector: { poll(timeout: number, maxevents?: number): Array<[number, number]> };
          _ready(list: Array<[number, number]>): unknown[];
        };
        const poller = inside._selector;
        const one: Array<[number, number]> = [[rr, spec.backend === 'epoll' ? EPOLLIN : POLLIN]];
        assertEqual(inside._ready(one).length, 1, `${spec.label}._ready`);
        contenders.inner = mk('inner', jsLoop(spec.backend === 'epoll' ? () => poller.poll(0, n).length : () => poller.poll(0).length));
        // epoll: the same poller without the maxevents argument (as the raw call)
        if (spec.backend === 'epoll') contenders.inner0 = mk('inner0', jsLoop(() => poller.poll(0).length));
        contenders.ready = mk('ready', jsLoop(() => inside._ready(one).length));
      }
      selRows.push({ label: spec.label, n: String(n), rawCall, contenders });
    }
  }
  return selRows;
}

/** The promise twins table's rows. */
export function twinRows(ctx: SelectCtx): Row[] {
  const { rr, fdsFor, hasEpoll, closers } = ctx;
  // ---- promise twins with an event ready (issue 22): `await twin()` beside
  // the sync call with timeout 0, on the same object, N=1
  const asyncRows: Row[] = [];
  {
    // The twin's own promise is awaited (no then() of ours in between).
    const awaitLoop = (body: () => Promise<number | { length: number }>): Contender['run'] => async (k) => {
      gc();
      let s = 0;
      const t0 = hrnow();
      for (let i = 0; i < k; i++) {
        const r = await body();
        s += typeof r === 'number' ? r : r.length;
      }
      const t = Number(hrnow() - t0);
      drain(s);
      return t;
    };
    const twinRow = (label: string, sync0: () => number, twin: () => Promise<number | { length: number }>): void => {
      assertEqual(sync0(), 1, `${label}: sync call, one ready`);
      asyncRows.push({ label, n: '1', contenders: { sync0: mk('sync0', jsLoop(sync0)), twin: mk('twin', awaitLoop(twin)) } });
    };
    const one = fdsFor(1);
    if (EpollSelector !== undefined && hasEpoll) {
      const es = new EpollSelector();
      closers.push(() => es.close());
      es.register(rr, EVENT_READ);
      twinRow('EpollSelector: selectAsync() / select(0)', () => es.select(0).length, () => es.selectAsync());
      const ep = newEpoll();
      closers.push(() => ep.close());
      ep.register(rr, EPOLLIN);
      twinRow('epoll: pollAsync() / poll(0)', () => ep.poll(0).length, () => ep.pollAsync());
      // The wake-up through Node's loop: told not to look first, the wait arms
      // the watch, Node's loop polls, the callback looks (the loop's own path).
      const visit = (): void => {};
      const NOT_READY = { assumeNotReady: true };
      twinRow('epoll: pollEachAsync(assumeNotReady), via Node\'s loop / pollEach(0)', () => ep.pollEach(0, 1, visit),
        () => ep.pollEachAsync(null, 1, visit, NOT_READY));
      twinRow('EpollSelector: selectEachAsync(assumeNotReady), via Node\'s loop / selectEach(0)', () => es.selectEach(0, visit),
        () => es.selectEachAsync(null, visit, NOT_READY));
      twinRow('a setImmediate turn of Node\'s loop / an empty call', () => 1,
        () => new Promise((resolve) => setImmediate(resolve, 1)));
    }
    const ps = new PollSelector();
    closers.push(() => ps.close());
    ps.register(rr, EVENT_READ);
    twinRow('PollSelector: selectAsync() / select(0)', () => ps.select(0).length, () => ps.selectAsync());
    const p = poll();
    closers.push(() => p.close());
    p.register(rr, POLLIN);
    twinRow('poll: pollAsync() / poll(0)', () => p.poll(0).length, () => p.pollAsync());
    const ss = new SelectSelector();
    closers.push(() => ss.close());
    ss.register(rr, EVENT_READ);
    twinRow('SelectSelector: selectAsync() / select(0)', () => ss.select(0).length, () => ss.selectAsync());
    const none: number[] = [];
    twinRow('selectAsync(r, [], []) / select(r, [], [], 0)', () => select(one, none, none, 0)[0].length, () => selectAsync(one, none, none));
  }
  return asyncRows;
}
