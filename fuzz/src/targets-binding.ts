/**
 * Entry points of the raw addon (`binding`): the native layer must check
 * every value itself, so each function gets hostile numbers, arrays and
 * views directly. Descriptors come from the episode (Env.fd), never Node's.
 */
import { binding as B, selectConstants, socketConstants as SC } from '@iomux/core-native';
import type { Env } from './env.js';
import { type Target, type Call, vs, ok, adopted, apply } from './target.js';
import type { V } from './values.js';

const POLLIN = selectConstants.POLLIN!;
const EPOLLIN = selectConstants.EPOLLIN!;
const FAMILIES = [SC.AF_INET!, SC.AF_INET6!, SC.AF_UNIX!, 0, 12345];
const TYPES = [SC.SOCK_STREAM!, SC.SOCK_DGRAM!, SC.SOCK_STREAM! | (SC.SOCK_NONBLOCK ?? 0), 99];
const LEVELS = [SC.SOL_SOCKET!, SC.IPPROTO_TCP!, SC.IPPROTO_IPV6!, 9999];
const OPTS = [SC.SO_REUSEADDR!, SC.SO_ERROR!, SC.SO_RCVBUF!, SC.SO_TYPE!, SC.TCP_NODELAY!, SC.SO_LINGER!, 77];

/** Int32Array check that runs no Proxy trap. */
const isI32 = (x: unknown): x is Int32Array => ArrayBuffer.isView(x) && x instanceof Int32Array;

/** A safe timeout for a wait that could otherwise block forever (ms or us). */
const SAFE = [0, 1];

/** An Int32Array of episode descriptors (with the always-ready one first when `ready`). */
function fdArray(env: Env, ready: boolean, pairs: boolean): V {
  const n = env.rng.int(4);
  const fds: number[] = ready ? [env.readyR] : [];
  for (let i = 0; i < n; i++) {
    const f = env.fd().v;
    fds.push(typeof f === 'number' && Number.isInteger(f) ? f : -1);
  }
  if (!pairs) return ok(Int32Array.from(fds), `Int32Array([${fds.join(', ')}])`);
  const a = new Int32Array(fds.length * 2);
  fds.forEach((fd, i) => {
    a[2 * i] = fd;
    a[2 * i + 1] = i === 0 && ready ? POLLIN : env.rng.pick([POLLIN, 4, 0, -1]);
  });
  return ok(a, `pollfds([${fds.join(', ')}])`);
}

/** A view, mostly valid, sometimes hostile (detached, shared, DataView...). */
function view(env: Env): V {
  return env.buf(0.6);
}

/** A send/recv batch table: count, then [fd, offset, length, result] entries, the count sometimes lying. */
function batchTable(env: Env): V {
  if (env.rng.chance(0.2)) return env.h();
  const n = env.rng.int(4);
  const claimed = env.rng.chance(0.8) ? n : env.rng.pick([n + 1, 1000, -1, 2 ** 31 - 1]);
  const t = new Int32Array(1 + 4 * n);
  t[0] = claimed;
  for (let i = 0; i < n; i++) {
    const f = env.fd().v;
    t[1 + 4 * i] = typeof f === 'number' && Number.isInteger(f) ? f : -1;
    t[2 + 4 * i] = env.rng.pick([0, 8, 4096, -1, 2 ** 31 - 1, 1 << 20]);
    t[3 + 4 * i] = env.rng.pick([0, 8, 100, 65536, -1, 2 ** 31 - 1]);
  }
  return ok(t, `table(count ${claimed}, ${n} entries)`);
}

function handle(env: Env): V {
  return env.rng.chance(0.7) ? (env.obj('fdhandle') ?? env.h()) : env.h();
}

/** A host for bind/connect: loopback or a path in the child's temp dir, or hostile. */
function host(env: Env): V {
  return env.or(0.6, () => env.rng.pick([ok('127.0.0.1', "'127.0.0.1'"), ok('::1', "'::1'"), ok(`${env.tmpdir}/b${env.rng.int(4)}`, "'<tmp>/bN'"), ok('', "''"), ok('not-an-ip', "'not-an-ip'")]));
}

function port(env: Env): V {
  return env.or(0.6, () => env.rng.pick([ok(0, '0'), ok(env.listenPort, 'listenPort')]));
}

const t = (name: string, weight: number, make: (env: Env) => Call): Target => ({ name: `binding.${name}`, weight, make });
const simple = (name: string, weight: number, gen: (env: Env) => V[], extra: Partial<Call> = {}): Target =>
  t(name, weight, (env) => {
    const args = gen(env);
    return { args, invoke: () => apply(B[name as keyof typeof B], B, args), ...extra, adopt: adopted(...args) };
  });

const all: Target[] = [
  simple('fdhandle_new', 2, (e) => vs(e.fdToAdopt())),
  simple('fdhandle_close', 1, (e) => vs(handle(e))),
  simple('fdhandle_detach', 1, (e) => vs(handle(e)), { ret: 'fd' }),
  simple('fdhandle_fd', 1, (e) => vs(handle(e))),
  simple('fdhandle_open_count', 0.3, (e) => (e.rng.chance(0.5) ? [] : vs(e.h()))),
  simple('fdhandle_watch', 1, (e) => vs(handle(e), e.fn('native'))),
  simple('fdhandle_unwatch', 1, (e) => vs(handle(e))),
  t('select', 3, (env) => {
    const ready = env.rng.chance(0.7);
    const r = env.rng.chance(0.85) ? fdArray(env, ready, false) : env.h();
    const w = env.rng.chance(0.85) ? fdArray(env, false, false) : env.h();
    const x = env.rng.chance(0.85) ? fdArray(env, false, false) : env.h();
    const bounded = ready && isI32(r.v);
    const to = bounded ? env.int([-1, 0, 1000, 2 ** 40], 0.5) : env.int(SAFE, 1);
    const args = vs(r, w, x, to);
    return { args, invoke: () => apply(B.select, B, args) };
  }),
  t('poll', 3, (env) => {
    const ready = env.rng.chance(0.7);
    const pfds = env.rng.chance(0.85) ? fdArray(env, ready, true) : env.h();
    const n = isI32(pfds.v) ? pfds.v.length / 2 : 0;
    const nfds = env.rng.chance(0.7) ? ok(n, String(n)) : env.int([n + 1, 1000, -1, 2 ** 31 - 1], 0.5);
    const out = env.rng.chance(0.8) ? ok(new Int32Array(2 * Math.max(n, 1)), 'out') : env.rng.chance(0.5) ? ok(new Int32Array(1), 'Int32Array(1)') : env.h();
    const bounded = ready && nfds.v === n && n > 0;
    const to = bounded ? env.int([-1, 0, 5, 2 ** 31 - 1], 0.5) : env.int(SAFE, 1);
    const args = vs(pfds, nfds, to, out);
    return { args, invoke: () => apply(B.poll, B, args) };
  }),
  simple('epoll_create1', 1, (e) => vs(e.int([0, SC.SOCK_CLOEXEC ?? 0x80000]) ), { ret: 'fd' }),
  t('epoll_ctl', 3, (env) => {
    const epfd = env.rng.chance(0.6) ? ok(env.epfd, `epfd(${env.epfd})`) : env.fd();
    const args = vs(epfd, env.int([1, 2, 3, 0, 99]), env.fd(), env.int([EPOLLIN, 4, 1 << 31, 0xffffffff, -1]));
    return { args, invoke: () => apply(B.epoll_ctl, B, args) };
  }),
  t('epoll_wait', 3, (env) => {
    let ready = false;
    const epfd = env.rng.chance(0.7) ? ok(env.epfd, `epfd(${env.epfd})`) : env.fd();
    if (epfd.v === env.epfd) ready = env.ensureReadyEpfd();
    const outLen = env.rng.pick([0, 1, 8, 64]);
    const out = env.rng.chance(0.8) ? ok(new Int32Array(outLen * (B.epoll_event_layout?.stride ?? 3)), `out(${outLen} events)`) : env.h();
    const max = env.rng.chance(0.7) ? ok(Math.max(outLen, 1), String(Math.max(outLen, 1))) : env.int([outLen + 1, 0, -1, 2 ** 31 - 1]);
    const bounded = ready && isI32(out.v) && max.v === outLen && outLen > 0;
    const to = bounded ? env.int([-1, 0, 5, 2 ** 31 - 1]) : env.int(SAFE, 1);
    const args = vs(epfd, out, max, to);
    return { args, invoke: () => apply(B.epoll_wait, B, args) };
  }),
  simple('strerror', 1, (e) => vs(e.int([0, 1, 9, 11, 4095, -5]))),
  simple('pipe', 1, (e) => (e.rng.chance(0.8) ? [] : vs(e.h())), { ret: 'fds' }),
  simple('read', 3, (e) => vs(e.fd(), view(e), e.int([0, 3, 8]), e.int([0, 1, 8, 100, 70000]))),
  simple('write', 3, (e) => vs(e.fd(), view(e), e.int([0, 3, 8]), e.int([0, 1, 8, 100, 70000]))),
  simple('close', 2, (e) => vs(e.fdToClose())),
  simple('dup', 1, (e) => vs(e.fd()), { ret: 'fd' }),
  simple('get_inheritable', 0.5, (e) => vs(e.fd())),
  simple('set_inheritable', 0.5, (e) => vs(e.fd(), e.int([0, 1]))),
  simple('get_blocking', 0.5, (e) => vs(e.fd())),
  simple('set_blocking', 1, (e) => vs(e.fd(), e.or(0.6, () => ok(e.rng.chance(0.5), 'bool'))), { changesBlocking: true }),
  simple('address_mod_4096', 1, (e) => vs(view(e))),
  simple('socket', 2, (e) => vs(e.int(FAMILIES), e.int(TYPES), e.int([0, SC.IPPROTO_TCP!, SC.IPPROTO_UDP!])), { ret: 'fd' }),
  simple('socketpair', 1, (e) => vs(e.int(FAMILIES), e.int(TYPES), e.int([0])), { ret: 'fds' }),
  simple('bind', 2, (e) => vs(e.fd(), e.int(FAMILIES), host(e), port(e))),
  simple('listen', 1, (e) => vs(e.fd(), e.int([0, 1, 128, 4096]))),
  simple('accept', 2, (e) => vs(e.fd()), { ret: 'fd0' }),
  t('connect', 2, (env) => {
    env.drainListener();
    const args = vs(env.fd(), env.int(FAMILIES), host(env), port(env));
    return { args, invoke: () => apply(B.connect, B, args) };
  }),
  simple('recv', 3, (e) => vs(e.fd(), view(e), e.int([0, 3]), e.int([0, 1, 8, 100]), e.int([0, SC.MSG_PEEK!, SC.MSG_DONTWAIT ?? 0x40, SC.MSG_OOB!]))),
  simple('send', 3, (e) => vs(e.fd(), view(e), e.int([0, 3]), e.int([0, 1, 8, 100]), e.int([SC.MSG_NOSIGNAL ?? 0x4000, SC.MSG_DONTWAIT ?? 0x40]))),
  simple('recv_view', 2, (e) => vs(e.fd(), view(e))),
  simple('send_view', 2, (e) => vs(e.fd(), view(e))),
  simple('send_batch', 3, (e) => vs(e.buf(0.8), batchTable(e))),
  simple('recv_batch', 3, (e) => vs(e.buf(0.8), batchTable(e))),
  simple('batch_io', 1, (e) => (e.rng.chance(0.3) ? [] : vs(e.or(0.5, () => ok(e.rng.pick(['io_uring', 'syscalls']), 'mode'))))),
  simple('shutdown', 1, (e) => vs(e.fd(), e.int([0, 1, 2, 3, -1]))),
  simple('getsockname', 1, (e) => vs(e.fd())),
  simple('getpeername', 1, (e) => vs(e.fd())),
  simple('setsockopt_int', 2, (e) => vs(e.fd(), e.int(LEVELS), e.int(OPTS), e.int([0, 1, 65536]))),
  t('getsockopt_int', 2, (env) => {
    const args = vs(env.fd(), env.int(LEVELS), env.int(OPTS));
    const invoke = (): unknown => {
      const r = apply(B.getsockopt_int, B, args);
      // SO_PEERPIDFD (77) returns a new pidfd: the caller's to close, as in Python.
      if (args[1]!.v === 1 && args[2]!.v === 77 && typeof r === 'number' && r >= 0) B.close(r);
      return r;
    };
    return { args, invoke };
  }),
];

/** Only what this build of the addon has (epoll_* is Linux only). */
export const bindingTargets: Target[] = all.filter((x) => typeof (B as unknown as Record<string, unknown>)[x.name.slice('binding.'.length)] === 'function');
