/**
 * Entry points of @iomux/select and @iomux/selectors: select/selectAsync,
 * poll and epoll objects, every selector class and its methods, the
 * backend helpers and SelectorKey.
 *
 * Waits stay bounded by construction: a synchronous wait either has the
 * always-readable descriptor among what it waits on (then any timeout,
 * however hostile, must return at once or be refused) or gets a small
 * valid timeout; an async wait is bounded by a fuzzer signal, a small
 * timeout, readiness, or a close() of its object.
 */
import * as sel from '@iomux/select';
import * as sels from '@iomux/selectors';
import type { Env } from './env.js';
import { type Target, type Call, vs, ok, adopted, apply } from './target.js';
import type { V } from './values.js';

type Obj = Record<string, unknown>;
const POLLIN = sel.POLLIN!;
const EPOLLIN = sel.EPOLLIN!;
const { EVENT_READ, EVENT_WRITE } = sels;
const SELECTORS: Array<[string, new () => unknown]> = [
  ['SelectSelector', sels.SelectSelector],
  ['PollSelector', sels.PollSelector],
  ['EpollSelector', sels.EpollSelector!],
  ['DefaultSelector', sels.DefaultSelector],
];

export function setupSelect(env: Env): void {
  const p = sel.poll();
  env.put('Poll', ok(p, 'poll()'));
  env.closers.push(() => p.close());
  const ep = sel.epoll!();
  env.put('Epoll', ok(ep, 'epoll()'));
  env.closers.push(() => ep.close());
  for (const [name, cls] of SELECTORS) {
    const s = new cls() as { close(): void; register(f: unknown, e: number): void };
    env.put('selector', ok(s, `new ${name}()`));
    env.closers.push(() => s.close());
    if (env.rng.chance(0.5)) {
      try {
        s.register(env.rng.pick(env.sockets), EVENT_READ | EVENT_WRITE);
      } catch {
        // A socket an earlier episode's... no: a fresh one; ignore anyway.
      }
    }
  }
}

/** Hostile values that are not taken for an options object (see isOptions). */
function notOptions(env: Env): V {
  for (;;) {
    const h = env.h();
    if (typeof h.v !== 'object' || h.v === null || Array.isArray(h.v)) return h;
  }
}

/** A list argument: an array of file objects (it gets the ready descriptor if `ready`), or hostile. */
function fdList(env: Env): V {
  if (env.rng.chance(0.25)) return env.h();
  const n = env.rng.int(4);
  const items: V[] = [];
  for (let i = 0; i < n; i++) items.push(env.fileobj());
  return ok(items.map((x) => x.v), `[${items.map((x) => x.d).join(', ')}]`);
}

function withReady(env: Env, list: V): V {
  if (!Array.isArray(list.v) || list.v.length > 100) return list;
  return ok([...list.v, env.readyR], `${list.d} + ready`);
}

type Unit = 's' | 'ms';
const small = (u: Unit, ms: number): V => (u === 's' ? ok(ms / 1000, String(ms / 1000)) : ok(ms, String(ms)));

/**
 * Timeout and options for an async wait, and the ms within which it must settle.
 * `ready`: the wait has a ready descriptor; `closeable`: it may be closed meanwhile.
 */
function asyncArgs(env: Env, u: Unit, ready: boolean, closeable?: { close(): void }): { timeout: V; opts: V; bound: number } {
  const ms = env.rng.int(20);
  const mode = env.rng.int(ready ? 4 : 3);
  if (mode === 0) return { timeout: env.rng.chance(0.6) ? notOptions(env) : ok(null, 'null'), opts: env.abortAfter(ms), bound: ms };
  if (mode === 1) return { timeout: small(u, ms), opts: env.or(0.2, () => ok({}, '{}')), bound: ms };
  if (mode === 2 && closeable !== undefined) {
    const tm = setTimeout(() => closeable.close(), ms);
    env.settlers.push(() => clearTimeout(tm));
    return { timeout: ok(null, 'null'), opts: env.rng.chance(0.5) ? ok(undefined, 'undefined') : env.h(), bound: ms };
  }
  if (mode === 3) return { timeout: env.h(), opts: env.h(), bound: 0 };
  return { timeout: small(u, ms), opts: env.h(), bound: ms };
}

/** Registers the always-readable descriptor on a poll/epoll object or selector; 'closed' if it is closed. */
function ensureReady(env: Env, o: unknown): boolean | 'closed' {
  try {
    if (o instanceof sel.Poll) {
      o.register(env.readyR, POLLIN);
      return true;
    }
    if (o instanceof sel.Epoll) {
      if (o.closed) return 'closed';
      try {
        o.register(env.readyR, EPOLLIN);
      } catch {
        o.modify(env.readyR, EPOLLIN);
      }
      return true;
    }
    if (o instanceof sels.BaseSelector) {
      if (o.getMap() === null) return 'closed';
      try {
        o.register(env.readyR, EVENT_READ);
      } catch {
        o.modify(env.readyR, EVENT_READ);
      }
      return (o.getKey(env.readyR).events & EVENT_READ) !== 0;
    }
  } catch {
    // Broken by a hostile call: not bounded.
  }
  return false;
}

const t = (name: string, weight: number, make: (env: Env) => Call): Target => ({ name, weight, make });
const fnT = (name: string, weight: number, f: unknown, gen: (env: Env) => V[], extra: Partial<Call> = {}): Target =>
  t(name, weight, (env) => {
    const args = gen(env);
    return { args, invoke: () => apply(f, undefined, args), ...extra, adopt: adopted(...args) };
  });

function recvOf(env: Env, kind: string): V {
  return env.rng.chance(0.92) ? (env.obj(kind) ?? env.h()) : env.h();
}

/** A method of a pooled object of `kind` (class `proto`); `gen` may see the receiver. */
const meth = (cls: string, kind: string, proto: object, name: string, weight: number, gen: (env: Env, recv: V) => V[], extra: Partial<Call> = {}): Target =>
  t(`${cls}#${name}`, weight, (env) => {
    const recv = recvOf(env, kind);
    const args = gen(env, recv);
    const f = (proto as Obj)[name];
    return { recv, args, invoke: () => apply(f, recv.v, args), ...extra };
  });

/** A synchronous wait of a poll/epoll object or selector, bounded (see the module comment). */
const syncWait = (cls: string, kind: string, proto: object, name: string, u: Unit, extraArgs: (env: Env) => V[] = () => []): Target =>
  t(`${cls}#${name}`, 3, (env) => {
    const recv = recvOf(env, kind);
    const r = ensureReady(env, recv.v);
    const timeout = r !== false ? env.int(u === 's' ? [0, 0.01, -1] : [0, 5, -1], 0.4) : env.rng.chance(0.5) ? small(u, env.rng.int(3)) : ok(0, '0');
    const args = env.rng.chance(0.15) ? [] : vs(timeout, ...extraArgs(env));
    if (r !== false) recv.d += ' (ready)';
    return { recv, args, invoke: () => apply((proto as Obj)[name], recv.v, args) };
  });

/** The async twin: bounded by readiness, a signal, a small timeout or a close(). */
const asyncWait = (cls: string, kind: string, proto: object, name: string, u: Unit, extra?: (env: Env) => V): Target =>
  t(`${cls}#${name}`, 3, (env) => {
    const recv = recvOf(env, kind);
    const ready = env.rng.chance(0.4) && ensureReady(env, recv.v) !== false;
    const closeable = env.hostile.includes(recv) ? undefined : (recv.v as { close(): void });
    const { timeout, opts, bound } = asyncArgs(env, u, ready, closeable);
    const args = extra !== undefined ? vs(timeout, extra(env), opts) : vs(timeout, opts);
    if (ready) recv.d += ' (ready)';
    return { recv, args, invoke: () => apply((proto as Obj)[name], recv.v, args), bound };
  });

const PP = sel.Poll.prototype;
const EP = sel.Epoll.prototype;
const SP = sels.BaseSelector.prototype;
const mask = (env: Env): V => env.int([POLLIN, EPOLLIN | 4, 0, 0xffff, 1 << 31, sel.EPOLLET! | EPOLLIN, sel.EPOLLONESHOT! | EPOLLIN]);
const events = (env: Env): V => env.int([EVENT_READ, EVENT_WRITE, EVENT_READ | EVENT_WRITE, 0, 4]);

export const selectTargets: Target[] = [
  t('select.select', 4, (env) => {
    const ready = env.rng.chance(0.7);
    const r = ready ? withReady(env, fdList(env)) : fdList(env);
    const bounded = ready && Array.isArray(r.v);
    const timeout = bounded ? env.int([0, 0.01, null as unknown as number]) : env.rng.chance(0.5) ? ok(0, '0') : ok(0.001, '0.001');
    // Three arguments mean no timeout: only with the ready descriptor among them.
    const n = env.rng.chance(0.9) ? 4 : env.rng.int(6);
    const args = vs(r, fdList(env), fdList(env), timeout, env.h()).slice(0, n === 3 && !bounded ? 4 : n);
    return { args, invoke: () => apply(sel.select, undefined, args) };
  }),
  t('select.selectAsync', 4, (env) => {
    const ready = env.rng.chance(0.4);
    const r = ready ? withReady(env, fdList(env)) : fdList(env);
    const { timeout, opts, bound } = asyncArgs(env, 's', ready && Array.isArray(r.v));
    const args = vs(r, fdList(env), fdList(env), timeout, opts);
    return { args, invoke: () => apply(sel.selectAsync, undefined, args), bound };
  }),
  fnT('select.poll', 1, sel.poll, (e) => (e.rng.chance(0.8) ? [] : vs(e.h()))),
  t('new select.Poll', 0.3, (env) => {
    const args = vs(env.h());
    return { args, invoke: () => Reflect.construct(sel.Poll, args.map((a) => a.v)) };
  }),
  meth('Poll', 'Poll', PP, 'register', 3, (e) => vs(e.fileobj(), mask(e))),
  meth('Poll', 'Poll', PP, 'modify', 2, (e) => vs(e.fileobj(), mask(e))),
  meth('Poll', 'Poll', PP, 'unregister', 2, (e) => vs(e.fileobj())),
  syncWait('Poll', 'Poll', PP, 'poll', 'ms'),
  asyncWait('Poll', 'Poll', PP, 'pollAsync', 'ms'),
  meth('Poll', 'Poll', PP, 'interruptWait', 1, () => []),
  meth('Poll', 'Poll', PP, 'close', 0.5, () => []),
  fnT('select.epoll', 2, sel.epoll, (e) => (e.rng.chance(0.3) ? vs(e.h()) : vs(e.int([-1, 1, 2 ** 31]), e.int([0, sel.EPOLL_CLOEXEC ?? 0x80000])))),
  fnT('select.epoll.fromfd', 1, sel.epoll!.fromfd, (e) => vs(e.fdToAdopt())),
  t('new select.Epoll', 0.3, (env) => {
    const args = vs(env.h(), env.fd());
    return { args, invoke: () => Reflect.construct(sel.Epoll, args.map((a) => a.v)) };
  }),
  meth('Epoll', 'Epoll', EP, 'register', 3, (e) => vs(e.fileobj(), mask(e))),
  meth('Epoll', 'Epoll', EP, 'modify', 2, (e) => vs(e.fileobj(), mask(e))),
  meth('Epoll', 'Epoll', EP, 'unregister', 2, (e) => vs(e.fileobj())),
  syncWait('Epoll', 'Epoll', EP, 'poll', 's', (e) => vs(e.int([1, 64, -1, 0]))),
  asyncWait('Epoll', 'Epoll', EP, 'pollAsync', 's', (e) => (e.rng.chance(0.6) ? e.int([1, 64, -1, 0], 1) : notOptions(e))),
  meth('Epoll', 'Epoll', EP, 'interruptWait', 1, () => []),
  meth('Epoll', 'Epoll', EP, 'close', 0.5, () => []),
  meth('Epoll', 'Epoll', EP, 'fileno', 0.3, () => []),
  fnT('select.asFileDescriptor', 0.5, sel.asFileDescriptor, (e) => vs(e.fileobj())),
  fnT('select.asFileDescriptorOrNegative', 0.5, sel.asFileDescriptorOrNegative, (e) => vs(e.fileobj())),
  // selectors
  t('new <Selector>', 1, (env) => {
    const [name, cls] = env.rng.pick(SELECTORS);
    const args = env.rng.chance(0.7) ? [] : vs(env.h());
    return { recv: ok(cls, name), args, invoke: () => Reflect.construct(cls, args.map((a) => a.v)) };
  }),
  meth('Selector', 'selector', SP, 'register', 3, (e) => vs(e.fileobj(), events(e), e.h())),
  meth('Selector', 'selector', SP, 'unregister', 2, (e) => vs(e.fileobj())),
  meth('Selector', 'selector', SP, 'modify', 2, (e) => vs(e.fileobj(), events(e), e.h())),
  syncWait('Selector', 'selector', SP, 'select', 's'),
  asyncWait('Selector', 'selector', SP, 'selectAsync', 's'),
  meth('Selector', 'selector', SP, 'getKey', 1, (e) => vs(e.fileobj())),
  meth('Selector', 'selector', SP, 'getMap', 0.5, () => []),
  t('Selector#getMap().<op>', 1, (env) => {
    const recv = recvOf(env, 'selector');
    const op = env.rng.pick(['get', 'has', 'getItem', 'forEach', 'size', 'keys', 'values', 'entries']);
    const args = vs(op === 'forEach' ? env.fn('sync') : env.fileobj());
    return {
      recv,
      args,
      invoke: () => {
        const m = (recv.v as { getMap(): Obj | null }).getMap();
        if (m === null) return null;
        if (op === 'size') return m.size;
        const r = apply(m[op], m, args);
        return op === 'keys' || op === 'values' || op === 'entries' ? [...(r as Iterable<unknown>)] : r;
      },
    };
  }),
  meth('Selector', 'selector', SP, 'interruptWait', 1, () => []),
  meth('Selector', 'selector', SP, 'close', 0.5, () => []),
  meth('Selector', 'selector', sels.EpollSelector!.prototype, 'fileno', 0.3, () => []),
  fnT('selectors.availableSelectors', 0.2, sels.availableSelectors, () => []),
  fnT('selectors.configureDefaultSelector', 0.5, sels.configureDefaultSelector, (e) =>
    vs(e.or(0.5, () => e.rng.pick([ok({ backend: 'poll' }, "{ backend: 'poll' }"), ok({ backend: { linux: 'select', default: 'nope' } }, '{ backend: { linux, default } }'), ok({ backend: 'kqueue' }, "{ backend: 'kqueue' }")]))), {
    after: () => sels.configureDefaultSelector({ backend: null } as never),
  }),
  fnT('selectors.defaultSelectorBackend', 0.2, sels.defaultSelectorBackend, () => []),
  fnT('selectors.selectorBackend', 0.5, sels.selectorBackend, (e) => vs(e.rng.chance(0.5) ? (e.obj('selector') ?? e.h()) : e.h())),
  fnT('selectors.selectorClass', 0.5, sels.selectorClass, (e) => vs(e.or(0.5, () => e.rng.pick([ok('epoll', "'epoll'"), ok(' POLL ', "' POLL '"), ok('kqueue', "'kqueue'")])))),
  t('new SelectorKey', 0.5, (env) => {
    const args = vs(env.fileobj(), env.fd(), events(env), env.h());
    return { args, invoke: () => Reflect.construct(sels.SelectorKey, args.map((a) => a.v)) };
  }),
  t('SelectorKey#withChanges/toString', 0.5, (env) => {
    const args = vs(env.h());
    const key = new sels.SelectorKey(env.readyR, env.readyR, EVENT_READ, null);
    return { args, invoke: () => (env.rng.chance(0.5) ? key.withChanges(args[0]!.v as never) : key.toString()) };
  }),
  t('new SelectorMapping', 0.3, (env) => {
    const args = vs(env.rng.chance(0.5) ? (env.obj('selector') ?? env.h()) : env.h());
    return { args, invoke: () => [...new sels.SelectorMapping(args[0]!.v as never)] };
  }),
];
