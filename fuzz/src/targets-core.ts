/**
 * Entry points of @iomux/core-native above the binding: `os`, `socket`
 * (module functions and every Socket method), the error classes and the
 * argument helpers.
 */
import * as core from '@iomux/core-native';
import { os, resource, socket, Socket } from '@iomux/core-native';
import type { Env } from './env.js';
import { type Target, type Call, vs, ok, adopted, apply } from './target.js';
import type { V } from './values.js';

const SC = core.socketConstants;
const FAMILIES = [socket.AF_INET, socket.AF_INET6, socket.AF_UNIX, -1];
const TYPES = [socket.SOCK_STREAM, socket.SOCK_DGRAM, -1];

/** An address for bind/connect: loopback only, the listener's port or 0, a temp-dir path, or hostile. */
export function address(env: Env): V {
  return env.or(0.65, () =>
    env.rng.pick([
      ok(['127.0.0.1', env.listenPort], "['127.0.0.1', listenPort]"),
      ok(['127.0.0.1', 0], "['127.0.0.1', 0]"),
      ok(['::1', 0, 0, 0], "['::1', 0, 0, 0]"),
      ok(['localhost', env.listenPort], "['localhost', listenPort]"),
      ok([null, env.listenPort], '[null, listenPort]'),
      ok(['127.0.0.1', 70000], "['127.0.0.1', 70000]"),
      ok(['127.0.0.1', -1], "['127.0.0.1', -1]"),
      ok(['127.0.0.1', 'http'], "['127.0.0.1', 'http']"),
      ok(['127.0.0.1'], "['127.0.0.1']"),
      ok(['127.0.0.1', 0, 0, 0, 0], 'five-item address'),
      ok([Buffer.from('127.0.0.1'), 0], "[Buffer('127.0.0.1'), 0]"),
      ok(`${env.tmpdir}/s${env.rng.int(4)}`, "'<tmp>/sN'"),
      ok('\0iomux-fuzz', "'\\0iomux-fuzz'"),
      ok(`${env.tmpdir}/${'p'.repeat(120)}`, 'a 120-byte path'),
    ]),
  );
}

/** A socket to call a method on: an episode socket (non-blocking), a closed one, or a wrong `this`. */
function sock(env: Env): V {
  const r = env.rng.next();
  const free = env.sockets.filter((s) => !env.busy.has(s));
  if (r < 0.85 && free.length > 0) {
    // Not one with a loop operation in flight: closing it under the loop would leave that promise pending (as in asyncio).
    const s = env.rng.pick(free);
    env.nb(s);
    return ok(s, s.closed ? 'closedSocket' : `Socket(${s.fileno()})`);
  }
  if (r < 0.93) {
    const s = new Socket();
    s.close();
    return ok(s, 'closedSocket');
  }
  return env.h();
}

const t = (name: string, weight: number, make: (env: Env) => Call): Target => ({ name, weight, make });
const fnT = (name: string, weight: number, f: unknown, gen: (env: Env) => V[], extra: Partial<Call> = {}): Target =>
  t(name, weight, (env) => {
    const args = gen(env);
    return { args, invoke: () => apply(f, undefined, args), ...extra, adopt: adopted(...args) };
  });

/** A Socket method: `this` from sock(), arguments from gen. */
const method = (name: string, weight: number, gen: (env: Env) => V[], extra: Partial<Call> = {}): Target =>
  t(`Socket#${name}`, weight, (env) => {
    const recv = sock(env);
    const args = gen(env);
    const f = (Socket.prototype as unknown as Record<string, unknown>)[name];
    return { recv, args, invoke: () => apply(f, recv.v, args), ...extra };
  });

const getter = (name: string): Target =>
  t(`Socket#${name}`, 0.3, (env) => {
    const recv = sock(env);
    const g = Object.getOwnPropertyDescriptor(Socket.prototype, name)!.get!;
    return { recv, args: [], invoke: () => g.call(recv.v) };
  });

const ERROR_CLASSES = Object.entries(core).filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error);

export const coreTargets: Target[] = [
  // os
  fnT('os.pipe', 1, os.pipe, (e) => (e.rng.chance(0.8) ? [] : vs(e.h())), { ret: 'fds' }),
  fnT('os.read', 3, os.read, (e) => vs(e.fd(), e.int([0, 1, 100, 65536, -1, 2 ** 31 - 1]))),
  fnT('os.readinto', 2, os.readinto, (e) => vs(e.fd(), e.buf())),
  fnT('os.write', 3, os.write, (e) => vs(e.fd(), e.buf())),
  fnT('os.close', 2, os.close, (e) => vs(e.fdToClose())),
  fnT('os.dup', 1, os.dup, (e) => vs(e.fd()), { ret: 'fd' }),
  fnT('os.getInheritable', 0.5, os.getInheritable, (e) => vs(e.fd())),
  fnT('os.setInheritable', 0.5, os.setInheritable, (e) => vs(e.fd(), e.int([0, 1]))),
  fnT('os.getBlocking', 0.5, os.getBlocking, (e) => vs(e.fd())),
  fnT('os.setBlocking', 1, os.setBlocking, (e) => vs(e.fd(), e.or(0.6, () => ok(e.rng.chance(0.5), 'bool'))), { changesBlocking: true }),
  fnT('os.strerror', 0.5, os.strerror, (e) => vs(e.int([0, 9, 11, 100000]))),
  // (os.sendfile is not fuzzed: to a blocking descriptor that is full it would block the child, as CPython's would)
  fnT('os.lseek', 0.5, os.lseek, (e) => vs(e.fd(), e.int([0, -1, 2 ** 63, 1]), e.int([os.SEEK_SET, os.SEEK_CUR, os.SEEK_END, 99]))),
  // resource (setrlimit is not fuzzed: a valid call would bind every later call of the child)
  fnT('resource.getrlimit', 0.3, resource.getrlimit, (e) => vs(e.int([resource.RLIMIT_NOFILE, 0, 64, -1]))),
  // socket module
  t('new socket.Socket', 3, (env) => {
    const fileno = env.rng.chance(0.4) ? env.fdToAdopt() : env.rng.chance(0.5) ? ok(undefined, 'undefined') : env.h();
    const args = env.rng.chance(0.2)
      ? vs(env.or(0.5, () => ok({ family: env.rng.pick(FAMILIES), type: env.rng.pick(TYPES), fileno: fileno.v }, `{ family, type, fileno: ${fileno.d} }`)))
      : vs(env.int(FAMILIES), env.int(TYPES), env.int([0, -1]), fileno);
    return { args, invoke: () => Reflect.construct(Socket, args.map((a) => a.v)), adopt: adopted(fileno) };
  }),
  fnT('socket.socketpair', 1, socket.socketpair, (e) => vs(e.int([socket.AF_UNIX, socket.AF_INET]), e.int(TYPES), e.int([0]))),
  fnT('socket.fromfd', 2, socket.fromfd, (e) => vs(e.fd(), e.int(FAMILIES), e.int(TYPES), e.int([0, -1]))),
  fnT('socket.close', 1, socket.close, (e) => vs(e.fdToClose())),
  fnT('socket.hasDualstackIpv6', 0.2, socket.hasDualstackIpv6, () => []),
  fnT('socket.getdefaulttimeout', 0.2, socket.getdefaulttimeout, () => []),
  fnT('socket.setdefaulttimeout', 0.5, socket.setdefaulttimeout, (e) => vs(e.int([0, 0.5, 5])), { after: () => socket.setdefaulttimeout(null) }),
  fnT('socket.createServer', 2, socket.createServer, (e) =>
    vs(address(e), e.or(0.5, () => ok({ backlog: e.rng.pick([0, 5, -1, null]), reusePort: e.rng.chance(0.3), family: e.rng.pick(FAMILIES), dualstackIpv6: e.rng.chance(0.2) }, '{ backlog, reusePort, family, dualstackIpv6 }')))),
  t('socket.createConnection', 3, (env) => {
    env.drainListener();
    const n = env.rng.int(4);
    const args = vs(address(env), env.int([0.5, 5]), address(env)).slice(0, n === 0 ? 1 : n);
    return { args, invoke: () => apply(socket.createConnection, undefined, args), after: () => env.drainListener() };
  }),
  fnT('socket.streamTargets', 1, socket.streamTargets, (e) => vs(e.or(0.5, () => ok('localhost', "'localhost'")), e.int([0, 80]))),
  // Socket methods
  method('bind', 2, (e) => vs(address(e))),
  method('listen', 1, (e) => (e.rng.chance(0.3) ? [] : vs(e.int([0, 5, SC.SOMAXCONN!])))),
  method('accept', 2, () => []),
  t('Socket#connect', 2, (env) => {
    env.drainListener();
    const recv = sock(env);
    const args = vs(address(env));
    return { recv, args, invoke: () => apply(Socket.prototype.connect, recv.v, args) };
  }),
  method('connectEx', 1, (e) => vs(address(e))),
  method('recv', 3, (e) => vs(e.int([0, 1, 100, 65536, -1, 2 ** 31 - 1]), e.int([0, SC.MSG_PEEK!]))),
  method('recvInto', 2, (e) => vs(e.buf(), e.int([0, 1, 100, -1]), e.int([0, SC.MSG_PEEK!]))),
  method('send', 3, (e) => vs(e.buf(), e.int([0, SC.MSG_DONTWAIT ?? 0x40]))),
  method('sendall', 2, (e) => vs(e.buf(), e.int([0]))),
  method('sendto', 2, (e) => (e.rng.chance(0.5) ? vs(e.buf(), address(e)) : vs(e.buf(), e.int([0, SC.MSG_DONTWAIT ?? 0x40]), address(e)))),
  method('recvfrom', 2, (e) => vs(e.int([0, 1, 100, 65536, -1]), e.int([0, SC.MSG_PEEK!]))),
  method('recvfromInto', 1, (e) => vs(e.buf(), e.int([0, 1, -1]), e.int([0]))),
  t('socket.sendFds', 1, (env) => {
    const args = vs(sock(env), env.or(0.7, () => ok([Buffer.from('x')], "[Buffer('x')]")), env.or(0.7, () => ok([env.fd().v], '[fd]')));
    return { args, invoke: () => apply(socket.sendFds, undefined, args) };
  }),
  t('socket.recvFds', 1, (env) => {
    // The sockets are non-blocking (sock()); the descriptors received are the episode's to close.
    const args = vs(sock(env), env.int([1, 100, -1]), env.int([0, 1, 64, -1]));
    return {
      args,
      invoke: () => {
        const r = apply(socket.recvFds, undefined, args) as unknown;
        if (Array.isArray(r)) env.track(r[1], 'recvFds fds', true);
        return r;
      },
    };
  }),
  fnT('socket.sendmmsg', 1, socket.sendmmsg, (e) => vs(sock(e), e.or(0.7, () => e.rng.pick([ok([[Buffer.from('x'), ['127.0.0.1', 9]], [Buffer.alloc(70000)]], '[[x, addr], [70000 B]]'), ok([[e.buf().v, address(e).v]], '[[buf, address]]'), ok([[Buffer.from('y')], 'x'], "[[y], 'x']")])), e.int([0, SC.MSG_DONTWAIT ?? 0x40]))),
  fnT('socket.recvmmsg', 1, socket.recvmmsg, (e) => vs(sock(e), e.buf(), e.int([1, 64, 0, -1, 2 ** 31]), e.int([1, 32, 1024, 1025, 0]))),
  method('shutdown', 1, (e) => vs(e.int([0, 1, 2]))),
  method('setblocking', 1, (e) => vs(e.or(0.6, () => ok(e.rng.chance(0.5), 'bool'))), { changesBlocking: true }),
  method('getblocking', 0.3, () => []),
  method('settimeout', 1, (e) => vs(e.int([0, 0.5, 1e9])), { changesBlocking: true }),
  method('gettimeout', 0.3, () => []),
  method('getsockname', 0.5, () => []),
  method('getpeername', 0.5, () => []),
  method('setsockopt', 2, (e) => vs(e.int([SC.SOL_SOCKET!, SC.IPPROTO_TCP!]), e.int([SC.SO_REUSEADDR!, SC.TCP_NODELAY!, SC.SO_LINGER!, SC.SO_RCVBUF!]), e.or(0.6, () => e.rng.pick([ok(1, '1'), ok(true, 'true'), ok(Buffer.alloc(8), 'Buffer(8)')])))),
  method('getsockopt', 1, (e) => vs(e.int([SC.SOL_SOCKET!, SC.IPPROTO_TCP!]), e.int([SC.SO_ERROR!, SC.SO_TYPE!, SC.TCP_NODELAY!]))),
  method('getInheritable', 0.3, () => []),
  method('setInheritable', 0.3, (e) => vs(e.int([0, 1]))),
  method('dup', 1, () => []),
  method('close', 1, () => []),
  method('detach', 0.5, () => [], { ret: 'fd' }),
  method('fileno', 0.3, () => []),
  method('toString', 0.3, () => []),
  getter('family'),
  getter('type'),
  getter('proto'),
  getter('closed'),
  // errors and argument helpers
  t('new <error class>', 1, (env) => {
    const [name, cls] = env.rng.pick(ERROR_CLASSES);
    const args = vs(env.int([9, 11, 104]), env.h(), env.h());
    return { args, invoke: () => Reflect.construct(cls as new (...a: unknown[]) => unknown, args.map((a) => a.v)), recv: ok(cls, name) };
  }),
  fnT('errnoName', 0.3, core.errnoName, (e) => vs(e.int([9, 11]))),
  fnT('fromErrno', 0.5, core.fromErrno, (e) => vs(e.int([9, 11, 104]), e.h(), e.h())),
  fnT('fromNative', 0.5, core.fromNative, (e) => vs(e.or(0.5, () => ok({ errno: e.h().v, syscall: e.h().v, message: 'x', pyType: e.h().v }, '{ errno, syscall, pyType: hostile }')))),
  fnT('pyTypeName', 0.3, core.pyTypeName, (e) => vs(e.h())),
  fnT('toInt', 0.3, core.toInt, (e) => vs(e.h())),
  fnT('toCInt', 0.3, core.toCInt, (e) => vs(e.h())),
  fnT('toClinicInt', 0.3, core.toClinicInt, (e) => vs(e.h())),
  fnT('toSsizeT', 0.3, core.toSsizeT, (e) => vs(e.h())),
];
