// Hostile options objects, swept over every exported async function of
// @iomux/select, @iomux/selectors and @iomux/loop (issue 17): each call
// settles (resolves, or rejects with a documented class or the caller's own
// error), nothing escapes later from a timer or listener armed before the
// options were checked, and the object stays usable. The first subtest is
// the reported crash itself, in a child process: it must exit 0.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as select from '@iomux/select';
import * as selectors from '@iomux/selectors';
import { EventLoop, IncompleteReadError, LimitOverrunError, openConnection, run, startServer } from '@iomux/loop';
import { os } from '@iomux/core-native';
import { watchEscapes } from './support/escapes.js';
import { checkNoFdLeak } from './support/fds.js';

checkNoFdLeak(t);

const escaped = watchEscapes(t);

/** What a hostile getter throws: the caller's own error, which propagates. */
class Marker extends Error {}

const throwingGetter = (key: string): object =>
  Object.defineProperty({}, key, {
    get() {
      throw new Marker(`${key} getter`);
    },
  });

/** Options objects no caller should pass; each must end in a clean error. */
const HOSTILE: Array<[string, () => unknown]> = [
  ['null', () => null],
  ['5', () => 5],
  ["'x'", () => 'x'],
  ['Symbol()', () => Symbol('s')],
  ['10n', () => 10n],
  ['{ signal: null }', () => ({ signal: null })],
  ['{ signal: 5 }', () => ({ signal: 5 })],
  ['{ signal: {} }', () => ({ signal: {} })],
  ["{ signal: 'x' }", () => ({ signal: 'x' })],
  ['{ signal: AbortController }', () => ({ signal: new AbortController() })],
  ['a signal-like object whose addEventListener throws', () => ({ signal: { aborted: false, reason: undefined, addEventListener() { throw new Marker('add'); }, removeEventListener() {} } })],
  ['an AbortSignal whose addEventListener throws', () => {
    const s = new AbortController().signal;
    Object.defineProperty(s, 'addEventListener', { value: () => { throw new Marker('add'); } });
    return { signal: s };
  }],
  ['an AbortSignal whose removeEventListener throws', () => {
    const s = new AbortController().signal;
    Object.defineProperty(s, 'removeEventListener', { value: () => { throw new Marker('remove'); } });
    return { signal: s };
  }],
  ['a throwing signal getter', () => throwingGetter('signal')],
  ['a throwing timeout getter', () => throwingGetter('timeout')],
  ['a throwing maxevents getter', () => throwingGetter('maxevents')],
  ['a Proxy that throws on every trap', () => new Proxy({}, { get() { throw new Marker('proxy get'); }, getPrototypeOf() { throw new Marker('proxy proto'); }, has() { throw new Marker('proxy has'); } })],
  ['a revoked Proxy', () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; }],
  ['an already-aborted signal', () => ({ signal: AbortSignal.abort(new Marker('aborted')) })],
];

const LOOP_ERRORS = [IncompleteReadError, LimitOverrunError];
function documented(e: unknown): boolean {
  return (
    e instanceof Marker ||
    e instanceof TypeError ||
    e instanceof select.ValueError ||
    e instanceof select.OverflowError ||
    e instanceof select.KeyError ||
    e instanceof select.RuntimeError ||
    e instanceof select.OSError ||
    LOOP_ERRORS.some((c) => e instanceof c)
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Settles within `ms`, and a rejection is of a documented class. */
async function settles(t: Test, what: string, call: () => Promise<unknown>, ms = 2000): Promise<void> {
  let p: Promise<unknown>;
  try {
    p = call();
  } catch (e) {
    t.fail(`${what}: threw synchronously (${String(e)}) instead of rejecting`);
    return;
  }
  t.ok(p instanceof Promise, `${what}: returns a promise`);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => (documented(e) ? 'rejected' : `undocumented ${(e as Error)?.name}: ${(e as Error)?.message}`),
    ),
    new Promise<string>((r) => (timer = setTimeout(() => r('hung'), ms))),
  ]);
  clearTimeout(timer);
  t.ok(outcome === 'resolved' || outcome === 'rejected', `${what}: ${outcome}`);
}

const [r, w] = os.pipe();
t.teardown(() => {
  os.close(r);
  os.close(w);
});

type Twin = [name: string, make: () => { call: (opts: unknown) => Promise<unknown>; close: () => void }];
const TWINS: Twin[] = [
  ['selectAsync(r, [], [], 0.05, opts)', () => ({ call: (o) => select.selectAsync([r], [], [], 0.05, o as any), close: () => {} })],
  ['poll().pollAsync(50, opts)', () => {
    const p = select.poll();
    p.register(r, select.POLLIN);
    return { call: (o) => p.pollAsync(50, o as any), close: () => p.close() };
  }],
];
if (select.epoll !== undefined) {
  TWINS.push(
    ['epoll().pollAsync(0.05, -1, opts)', () => {
      const e = select.epoll!();
      e.register(r, select.EPOLLIN!);
      return { call: (o) => e.pollAsync(0.05, -1, o as any), close: () => e.close() };
    }],
    ['epoll().pollAsync(0.05, opts)', () => {
      const e = select.epoll!();
      return { call: (o) => e.pollAsync(0.05, o as any), close: () => e.close() };
    }],
  );
}
for (const name of selectors.availableSelectors()) {
  TWINS.push([`${name} selector.selectAsync(0.05, opts)`, () => {
    const s = new (selectors.selectorClass(name))();
    s.register(r, selectors.EVENT_READ);
    return { call: (o) => s.selectAsync(0.05, o as any), close: () => s.close() };
  }]);
}
TWINS.push(['DefaultSelector.selectAsync(0.05, opts)', () => {
  const s = new selectors.DefaultSelector();
  return { call: (o) => s.selectAsync(0.05, o as any), close: () => s.close() };
}]);

t.test("the reported crash: epoll().pollAsync(0.05, -1, { signal: null }) with .catch() attached", { skip: select.epoll === undefined ? 'needs epoll (Linux)' : false }, async (t) => {
  const pkg = path.dirname(require.resolve('@iomux/select/package.json'));
  const code = `
    const { epoll, EPOLLIN } = require(${JSON.stringify(pkg)});
    const { os } = require('@iomux/core-native');
    const [r] = os.pipe();
    const e = epoll(); e.register(r, EPOLLIN);
    e.pollAsync(0.05, -1, { signal: null }).catch((err) => console.log('rejected', err.name));
    setTimeout(() => console.log('alive'), 200);`;
  const res = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 10000, cwd: pkg });
  t.equal(res.status, 0, `exit code 0 (stderr: ${res.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  t.match(res.stdout, /rejected TypeError/);
  t.match(res.stdout, /alive/);
});

for (const [name, make] of TWINS) {
  t.test(name, async (t) => {
    const obj = make();
    try {
      for (const [label, opts] of HOSTILE) await settles(t, `${name} with ${label}`, () => obj.call(opts()));
      // Nothing armed by a refused options object is left in flight.
      await settles(t, `${name} afterwards, with no options`, () => obj.call(undefined));
    } finally {
      obj.close();
    }
  });
}

t.test('the options are checked before any wait is armed', async (t) => {
  // A refused signal leaves no timer behind to keep the process alive.
  const before = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
  await select.selectAsync([r], [], [], 30, { signal: 5 as any }).catch(() => {});
  const after = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
  t.equal(after, before, 'no timer armed for a 30 s wait refused on its options');
  await t.rejects(select.selectAsync([r], [], [], 0.05, { signal: {} as any }), {
    name: 'TypeError',
    message: "selectAsync() option 'signal' must be an AbortSignal, not 'dict'",
  });
});

t.test('the loop: run, EventLoop, createServer, openConnection, startServer', async (t) => {
  for (const [label, opts] of HOSTILE) {
    await settles(t, `run(main, ${label})`, () => run(async () => 1, opts() as any));
    let loop: EventLoop | null = null;
    try {
      loop = new EventLoop(opts() as any);
    } catch (e) {
      t.ok(documented(e), `new EventLoop(${label}): ${(e as Error).name}`);
    }
    if (loop === null) continue;
    await loop.runUntilComplete(async () => {
      await settles(t, `createServer(f, '127.0.0.1', 0, ${label})`, async () => (await loop!.createServer(() => ({}), '127.0.0.1', 0, opts() as any)).close());
      await settles(t, `startServer(cb, '127.0.0.1', 0, ${label})`, async () => (await startServer(() => {}, '127.0.0.1', 0, opts() as any)).close());
      const server = await loop!.createServer(() => ({}), '127.0.0.1', 0);
      const port = server.address()!.port;
      await settles(t, `openConnection('127.0.0.1', port, ${label})`, async () => {
        const [, writer] = await openConnection('127.0.0.1', port, opts() as any);
        writer.close();
      });
      server.close();
      await server.waitClosed();
    });
    loop.close();
  }
});

t.test('loop option values are checked when given, not at the first connection', async (t) => {
  for (const selector of [5, {}, null, Symbol('s'), { select() {} }]) {
    t.throws(() => new EventLoop({ selector: selector as any }), TypeError, `selector ${String(selector)}`);
  }
  const loop = new EventLoop();
  await loop.runUntilComplete(async () => {
    for (const limit of [NaN, '5', Symbol('l')]) await t.rejects(startServer(() => {}, '127.0.0.1', 0, { limit: limit as any }), TypeError, `limit ${String(limit)}`);
    for (const limit of [0, -1]) await t.rejects(startServer(() => {}, '127.0.0.1', 0, { limit }), { name: 'ValueError', message: 'Limit cannot be <= 0' });
    await t.rejects(loop.createServer(() => ({}), '127.0.0.1', 0, { backlog: 'x' as any }), TypeError);
    await t.rejects(loop.createServer(() => ({}), '127.0.0.1', 0, { backlog: 2 ** 40 }), { name: 'OverflowError' });
  });
  loop.close();
});

t.test('nothing escapes afterwards (timers armed before a refusal)', async (t) => {
  await sleep(150);
  t.same(escaped.map(String), [], 'no uncaught exception or unhandled rejection');
});
