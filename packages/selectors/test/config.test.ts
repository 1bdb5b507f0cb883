// Backend choice by configuration (API.md, @iomux/selectors): what
// availableSelectors() lists, configureDefaultSelector() with a name or a
// per-platform map, and the IOMUX_SELECTOR environment variable, which wins
// over both and is checked in child processes that load the package fresh.
import t from 'tap';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  availableSelectors,
  configureDefaultSelector,
  DefaultSelector,
  EpollSelector,
  KqueueSelector,
  PollSelector,
  SelectSelector,
  ValueError,
} from '@iomux/selectors';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

/** The repository root: children resolve '@iomux/selectors' from there. */
const ROOT = path.resolve(path.dirname(require.resolve('@iomux/selectors/package.json')), '..', '..');
const LINUX = process.platform === 'linux';
const AVAILABLE = 'kqueue, epoll, devpoll, poll, select';

// The variable would override everything below: run without it, and put
// back whatever the caller had.
const savedEnv = process.env.IOMUX_SELECTOR;
delete process.env.IOMUX_SELECTOR;
t.teardown(() => {
  configureDefaultSelector({ backend: null });
  if (savedEnv !== undefined) process.env.IOMUX_SELECTOR = savedEnv;
});

/** The class name of a fresh DefaultSelector (which is closed again). */
function defaultClass(): string {
  const s = new DefaultSelector();
  try {
    return s.constructor.name;
  } finally {
    s.close();
  }
}

t.test('availableSelectors() on Linux is kqueue (emulated), epoll, devpoll (emulated), poll, select, in Python\'s order', { skip: !LINUX && 'Linux only' }, async (t) => {
  t.same(availableSelectors(), ['kqueue', 'epoll', 'devpoll', 'poll', 'select']);
  const mine = availableSelectors();
  mine.pop();
  t.same(availableSelectors(), ['kqueue', 'epoll', 'devpoll', 'poll', 'select'], "changing the result changes nothing");
});

t.test('the kqueue emulation is chosen by configuration only', { skip: !LINUX && 'Linux only' }, async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  t.equal(DefaultSelector.backend, 'epoll', 'unconfigured: epoll, not the emulation listed first');
  configureDefaultSelector({ backend: { linux: 'kqueue', default: 'poll' } });
  t.equal(DefaultSelector.backend, 'kqueue');
  const s = new DefaultSelector();
  t.equal(s.constructor.name, 'KqueueSelector');
  t.ok(s instanceof KqueueSelector!);
  s.close();
});

t.test('unconfigured, DefaultSelector is the best backend (epoll)', { skip: !LINUX && 'Linux only' }, async (t) => {
  t.equal(DefaultSelector.backend, 'epoll');
  const s = new DefaultSelector();
  t.ok(s instanceof EpollSelector!, 'an EpollSelector');
  t.ok(s instanceof DefaultSelector, 'and instanceof DefaultSelector');
  s.close();
});

t.test('a per-platform map picks the entry for process.platform', async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  configureDefaultSelector({ backend: { [process.platform]: 'poll', default: 'select' } });
  t.equal(DefaultSelector.backend, 'poll');
  const s = new DefaultSelector();
  t.ok(s instanceof PollSelector, 'a PollSelector');
  t.ok(s instanceof DefaultSelector);
  t.notOk(s instanceof SelectSelector);
  s.close();
});

t.test("a per-platform map without this platform uses 'default'", async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  configureDefaultSelector({ backend: { default: 'select' } });
  t.equal(DefaultSelector.backend, 'select');
  const s = new DefaultSelector();
  t.ok(s instanceof SelectSelector, 'a SelectSelector');
  s.close();
  // Another platform's entry is ignored here.
  const other = process.platform === 'darwin' ? 'linux' : 'darwin';
  configureDefaultSelector({ backend: { [other]: 'kqueue', default: 'poll' } });
  t.equal(defaultClass(), 'PollSelector');
});

t.test('a map with neither this platform nor default means the best backend', { skip: !LINUX && 'Linux only' }, async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  configureDefaultSelector({ backend: { win32: 'select' } });
  t.equal(defaultClass(), 'EpollSelector');
});

t.test('a plain name', async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  configureDefaultSelector({ backend: 'select' });
  t.equal(defaultClass(), 'SelectSelector');
  configureDefaultSelector({ backend: 'poll' });
  t.equal(defaultClass(), 'PollSelector');
});

t.test("null restores Python's choice", { skip: !LINUX && 'Linux only' }, async (t) => {
  configureDefaultSelector({ backend: 'select' });
  t.equal(defaultClass(), 'SelectSelector');
  configureDefaultSelector({ backend: null });
  t.equal(defaultClass(), 'EpollSelector');
  t.equal(DefaultSelector.backend, 'epoll');
  configureDefaultSelector({ backend: 'poll' });
  configureDefaultSelector({});
  t.equal(defaultClass(), 'EpollSelector', '{} (no backend) restores it too');
});

t.test('an unknown name is a ValueError naming the available backends', { skip: !LINUX && 'Linux only' }, async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  configureDefaultSelector({ backend: 'poll' });
  const message = `unknown selector backend 'nope'; available: ${AVAILABLE}`;
  t.throws(() => configureDefaultSelector({ backend: 'nope' }), { name: 'ValueError', message });
  t.throws(() => configureDefaultSelector({ backend: { [process.platform]: 'nope', default: 'select' } }), { name: 'ValueError', message });
  t.throws(() => configureDefaultSelector({ backend: { default: 'nope' } }), { name: 'ValueError', message });
  let err: unknown;
  try {
    configureDefaultSelector({ backend: 'nope' });
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ValueError, 'instanceof ValueError');
  t.equal(defaultClass(), 'PollSelector', 'a failed call leaves the configuration as it was');
});

t.test('an unavailable backend is a ValueError naming the available ones', async (t) => {
  t.teardown(() => configureDefaultSelector({ backend: null }));
  const available = availableSelectors();
  const missing = ['kqueue', 'epoll', 'devpoll', 'poll', 'select'].filter((n) => !available.includes(n));
  if (LINUX) t.same(missing, [], 'on Linux every backend Python knows is available (kqueue and devpoll emulated)');
  for (const name of missing) {
    t.throws(() => configureDefaultSelector({ backend: name }), {
      name: 'ValueError',
      message: `selector backend '${name}' is not available on ${process.platform}; available: ${available.join(', ')}`,
    });
  }
  const before = defaultClass();
  t.throws(() => configureDefaultSelector({ backend: { [process.platform]: 'nope' } }), { name: 'ValueError' });
  t.equal(defaultClass(), before, 'a refused configuration leaves the default as it was');
});

t.test('a config that is not { backend } is a TypeError', async (t) => {
  t.throws(() => configureDefaultSelector(null as never), TypeError);
  t.throws(() => configureDefaultSelector('poll' as never), TypeError);
  t.throws(() => configureDefaultSelector({ backend: 42 as never }), TypeError);
});

// ------------------------------------------------------------ IOMUX_SELECTOR

interface ChildReport {
  cls?: string;
  backend?: string;
  name?: string;
  message?: string;
  isValueError?: boolean;
}

/** Runs `body` in a fresh `node -e` (cwd: the repository) with IOMUX_SELECTOR=env. */
function child(env: string | undefined, body: string): ChildReport {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  if (env === undefined) delete childEnv.IOMUX_SELECTOR;
  else childEnv.IOMUX_SELECTOR = env;
  const script = `
    const selectors = require('@iomux/selectors');
    const { DefaultSelector, configureDefaultSelector } = selectors;
    const report = (x) => process.stdout.write(JSON.stringify(x));
    try {
      ${body}
      const s = new DefaultSelector();
      report({ cls: s.constructor.name, backend: DefaultSelector.backend });
      s.close();
    } catch (e) {
      report({ name: e.name, message: e.message, isValueError: e instanceof selectors.ValueError });
    }`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env: childEnv, encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status} ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

t.test('IOMUX_SELECTOR=poll in a child picks PollSelector', async (t) => {
  t.same(child('poll', ''), { cls: 'PollSelector', backend: 'poll' });
});

t.test('IOMUX_SELECTOR=kqueue in a child picks KqueueSelector (the emulation on Linux)', async (t) => {
  t.same(child('kqueue', ''), { cls: 'KqueueSelector', backend: 'kqueue' });
});

t.test('IOMUX_SELECTOR wins over configureDefaultSelector() in that child', async (t) => {
  t.same(child('poll', "configureDefaultSelector({ backend: 'select' });"), { cls: 'PollSelector', backend: 'poll' });
  t.same(child('select', `configureDefaultSelector({ backend: { ${JSON.stringify(process.platform)}: 'poll', default: 'poll' } });`), {
    cls: 'SelectSelector',
    backend: 'select',
  });
});

t.test('without IOMUX_SELECTOR the child follows configureDefaultSelector()', { skip: !LINUX && 'Linux only' }, async (t) => {
  t.same(child(undefined, "configureDefaultSelector({ backend: 'select' });"), { cls: 'SelectSelector', backend: 'select' });
  t.same(child(undefined, ''), { cls: 'EpollSelector', backend: 'epoll' });
  t.same(child('', ''), { cls: 'EpollSelector', backend: 'epoll' }, 'an empty IOMUX_SELECTOR is unset');
});

t.test("IOMUX_SELECTOR=nope: the child's new DefaultSelector() throws ValueError", { skip: !LINUX && 'Linux only' }, async (t) => {
  t.same(child('nope', ''), {
    name: 'ValueError',
    message: `unknown selector backend 'nope'; available: ${AVAILABLE}`,
    isValueError: true,
  });
});

t.test('IOMUX_SELECTOR=devpoll in a child picks DevpollSelector (the emulation on Linux)', async (t) => {
  t.same(child('devpoll', ''), { cls: 'DevpollSelector', backend: 'devpoll' });
});

t.test('IOMUX_SELECTOR is read at each construction, not at load', async (t) => {
  t.teardown(() => {
    delete process.env.IOMUX_SELECTOR;
  });
  process.env.IOMUX_SELECTOR = 'select';
  t.equal(defaultClass(), 'SelectSelector');
  process.env.IOMUX_SELECTOR = 'poll';
  t.equal(defaultClass(), 'PollSelector');
  process.env.IOMUX_SELECTOR = 'nope';
  t.throws(() => new DefaultSelector(), { name: 'ValueError', message: /^unknown selector backend 'nope'; available: / });
});
