/**
 * Entry points of @iomux/loop, called from inside a running loop (a loop
 * episode): the loop's methods, servers and connections, transports,
 * streams (StreamReader/StreamWriter, openConnection/startServer), Handle,
 * Server and the protocol helpers.
 *
 * Every promise is bounded: by its own short work, or by the settlers the
 * episode runs at its end (feedEof on readers, shutdown() of sockets,
 * closing writers, transports and servers).
 */
import * as L from '@iomux/loop';
import { socket } from '@iomux/core-native';
import type { Env } from './env.js';
import { address } from './targets-core.js';
import { type Target, type Call, vs, ok, apply } from './target.js';
import { type V, FuzzBoom, markPropagated } from './values.js';

type Obj = Record<string, unknown>;
type Loop = InstanceType<typeof L.EventLoop>;

/** A protocol that echoes, as the examples' servers do. */
function echoProtocol(): L.Protocol {
  let tr: L.Transport | null = null;
  return {
    connectionMade: (t) => {
      tr = t;
    },
    dataReceived: (d) => tr?.write(d),
    connectionLost: () => {},
  } as L.Protocol;
}

function throwingProtocol(): L.Protocol {
  const b = (): never => {
    throw new FuzzBoom('protocol');
  };
  return { connectionMade: b, dataReceived: b, eofReceived: b, connectionLost: b, pauseWriting: b, resumeWriting: b } as L.Protocol;
}

function factory(env: Env): V {
  return env.rng.pick<() => V>([
    () => ok(echoProtocol, 'echoProtocolFactory'),
    () => ok(echoProtocol, 'echoProtocolFactory'),
    () => ok(throwingProtocol, '() => throwingProtocol'),
    () => ok(() => { throw new FuzzBoom('factory'); }, '() => { throw }'),
    () => {
      const h = env.h();
      return ok(() => h.v, `() => ${h.d}`);
    },
    () => env.h(),
  ])();
}

const SIGNALS = ['SIGINT', 'SIGHUP', 'SIGUSR2', 'SIGWINCH', 2, 28, 'SIGKILL', 'SIGSTOP', 0, 65, 'SIGNOPE', 'sigint'];
const sigV = (env: Env): V => {
  const s = env.rng.pick(SIGNALS);
  return ok(s, JSON.stringify(s));
};

/** Per loop episode: the running loop, its echo server's port, and a closed loop. */
export interface LoopWorld {
  loop: Loop;
  port: number;
}

export async function setupLoop(env: Env, loop: Loop): Promise<LoopWorld> {
  const server = await loop.createServer(echoProtocol, '127.0.0.1', 0);
  env.track(server, 'server', false);
  const port = server.address()!.port;
  const [tr] = await loop.createConnection(echoProtocol, '127.0.0.1', port);
  env.track(tr, 'transport', false);
  const [reader, writer] = await L.openConnection('127.0.0.1', port);
  env.put('reader', ok(reader, 'openConnection reader'));
  env.put('writer', ok(writer, 'openConnection writer'));
  env.closers.push(() => writer.close());
  const standalone = new L.StreamReader();
  env.put('reader', ok(standalone, 'new StreamReader()'));
  const closed = new L.EventLoop();
  closed.close();
  // Never the running loop: a stop() or close() of it would end the episode.
  env.put('loop', ok(closed, 'closedLoop'));
  env.settlers.push(() => {
    for (const r of env.objs.get('reader') ?? []) (r.v as L.StreamReader).feedEof();
    for (const s of env.sockets) {
      try {
        s.shutdown(socket.SHUT_RDWR);
      } catch {
        // Closed or never connected.
      }
    }
  });
  return { loop, port };
}

/**
 * A loop to call a method on: mostly the running one, or a fresh, closed
 * or hostile one. 'stop': never the running one (stop/close/run would end
 * the episode); 'async': never a fresh one (its promises would wait for a
 * loop that never runs).
 */
function loopRecv(env: Env, w: LoopWorld, mode: 'any' | 'stop' | 'async'): V {
  const r = env.rng.next();
  if (r < (mode === 'stop' ? 0 : 0.75)) return ok(w.loop, 'runningLoop');
  if (r < 0.9 && mode !== 'async') {
    const l = new L.EventLoop();
    env.closers.push(() => l.close());
    return ok(l, 'new EventLoop()');
  }
  if (r < 0.96) return env.obj('loop')!;
  return env.h();
}

let world: LoopWorld | null = null;
/** The loop episode the targets act in (set by the runner). */
export function setLoopWorld(w: LoopWorld | null): void {
  world = w;
}

const t = (name: string, weight: number, make: (env: Env, w: LoopWorld) => Call): Target => ({ name, weight, make: (env) => make(env, world!) });
const LP = L.EventLoop.prototype as unknown as Obj;

const loopMeth = (name: string, weight: number, gen: (env: Env, w: LoopWorld) => V[], extra: Partial<Call> = {}, mode: 'any' | 'stop' | 'async' = 'any'): Target =>
  t(`EventLoop#${name}`, weight, (env, w) => {
    const recv = loopRecv(env, w, extra.bound !== undefined ? 'async' : mode);
    const args = gen(env, w);
    return { recv, args, invoke: () => apply(LP[name], recv.v, args), ...extra };
  });

const objMeth = (cls: string, kind: string, name: string, weight: number, gen: (env: Env) => V[], extra: Partial<Call> = {}): Target =>
  t(`${cls}#${name}`, weight, (env) => {
    const ref = env.obj(kind);
    const recv = env.rng.chance(0.95) ? (ref ?? env.h()) : env.h();
    const args = gen(env);
    return {
      recv,
      args,
      invoke: () => {
        // The class's own method on whatever the receiver is: a hostile
        // receiver's own method (a Buffer's write) is not iomux's to judge.
        const f = ref?.v !== null && ref?.v !== undefined ? (ref.v as Obj)[name] : undefined;
        if (typeof f !== 'function') return undefined;
        return apply(f, recv.v, args);
      },
      ...extra,
    };
  });

/** A stream socket of the episode for a loop operation (no datagram socket: nothing would ever make it readable), or hostile. */
const pooledSock = (env: Env): V => {
  // A second loop operation on a socket would replace the first's reader (asyncio's add_reader), leaving it pending forever.
  const free = env.sockets.filter((s) => !env.busy.has(s) && (s.closed || s.type !== socket.SOCK_DGRAM));
  if (env.rng.chance(0.15) || free.length === 0) return env.h();
  const s = env.rng.pick(free);
  env.busy.add(s);
  return ok(s, `Socket(${s.closed ? 'closed' : s.fileno()})`);
};

/**
 * A file object for addReader & co. that no loop operation in flight uses:
 * replacing or removing that operation's reader would leave its promise
 * pending forever (asyncio's add_reader/remove_reader do the same).
 */
const idle = (env: Env): V => {
  const used = new Set<unknown>();
  for (const s of env.sockets) if (env.busy.has(s)) used.add(s).add(s.closed ? -1 : s.fileno());
  for (;;) {
    const f = env.fileobj();
    if (!used.has(f.v)) return f;
  }
};

const host = (env: Env): V => env.or(0.7, () => env.rng.pick([ok('127.0.0.1', "'127.0.0.1'"), ok('localhost', "'localhost'"), ok('::1', "'::1'")]));
const port = (env: Env, w: LoopWorld): V => env.or(0.6, () => env.rng.pick([ok(w.port, 'echoPort'), ok(0, '0')]));

export const loopTargets: Target[] = [
  t('new EventLoop', 1, (env) => {
    const args = vs(env.or(0.5, () => env.rng.pick([ok({ selector: 'poll' }, "{ selector: 'poll' }"), ok({ selector: 'select' }, "{ selector: 'select' }"), ok({ selector: 'kqueue' }, "{ selector: 'kqueue' }"), ok({ selector: env.h().v }, '{ selector: hostile }')])));
    return { args, invoke: () => Reflect.construct(L.EventLoop, args.map((a) => a.v)) };
  }),
  t('run', 0.5, (env) => {
    const args = vs(env.or(0.5, () => ok(async () => 1, 'async () => 1')), env.or(0.5, () => ok({ selector: 'poll' }, "{ selector: 'poll' }")));
    return { args, invoke: () => apply(L.run, undefined, args), bound: 300 };
  }),
  loopMeth('callSoon', 2, (e) => vs(e.fn(), e.h())),
  loopMeth('callLater', 2, (e) => vs(e.int([0, 0.001, -1, 1e9]), e.fn())),
  loopMeth('callAt', 1, (e, w) => vs(e.int([w.loop.time(), 0, 1e12]), e.fn())),
  loopMeth('time', 0.3, () => []),
  loopMeth('isRunning', 0.2, () => []),
  loopMeth('isClosed', 0.2, () => []),
  loopMeth('stop', 0.5, () => [], {}, 'stop'),
  loopMeth('close', 0.5, () => [], {}, 'stop'),
  t('EventLoop#runUntilComplete', 1, (env, w) => {
    const recv = loopRecv(env, w, 'stop');
    const args = vs(env.or(0.5, () => env.rng.pick([ok(async () => 2, 'async () => 2'), ok(Promise.resolve(3), 'Promise.resolve(3)'), ok(async () => { throw new FuzzBoom('main'); }, 'async () => { throw }')])));
    return { recv, args, invoke: () => apply(LP.runUntilComplete, recv.v, args), bound: 300 };
  }),
  t('EventLoop#runForever', 0.5, (env, w) => {
    const recv = loopRecv(env, w, 'stop');
    const l = recv.v as Loop;
    const stop = setTimeout(() => {
      try {
        l.stop();
      } catch {
        // A hostile receiver.
      }
    }, 5);
    env.settlers.push(() => {
      clearTimeout(stop);
      try {
        l.stop();
      } catch {
        // A hostile receiver.
      }
    });
    return { recv, args: [], invoke: () => apply(LP.runForever, recv.v, []), bound: 300 };
  }),
  loopMeth('addReader', 2, (e) => vs(idle(e), e.fn())),
  loopMeth('removeReader', 1, (e) => vs(idle(e))),
  loopMeth('addWriter', 1, (e) => vs(idle(e), e.fn())),
  loopMeth('removeWriter', 1, (e) => vs(idle(e))),
  loopMeth('sockRecv', 2, (e) => vs(pooledSock(e), e.int([1, 100, 65536, 0, -1])), { bound: null }),
  loopMeth('sockRecvInto', 2, (e) => vs(pooledSock(e), e.buf()), { bound: null }),
  loopMeth('sockSendall', 2, (e) => vs(pooledSock(e), e.buf()), { bound: null }),
  loopMeth('sockAccept', 1, (e) => vs(pooledSock(e)), { bound: null }),
  loopMeth('sockConnect', 1, (e) => vs(pooledSock(e), address(e)), { bound: null }),
  loopMeth('createServer', 1, (e) => vs(factory(e), host(e), e.int([0]), e.or(0.5, () => ok({ backlog: 5, reusePort: e.rng.chance(0.3) }, '{ backlog: 5, reusePort }'))), { bound: 1000 }),
  loopMeth('createConnection', 2, (e, w) => vs(factory(e), host(e), port(e, w)), { bound: 1000 }),
  loopMeth('getaddrinfo', 1, (e, w) => vs(host(e), port(e, w), e.or(0.6, () => e.rng.pick([ok({ family: socket.AF_INET }, '{ family: AF_INET }'), ok({ type: socket.SOCK_DGRAM }, '{ type: SOCK_DGRAM }'), ok({ flags: 0x7fffffff }, '{ flags: bad }')]))), { bound: 1000 }),
  loopMeth('getnameinfo', 1, (e, w) => vs(e.or(0.6, () => ok(['127.0.0.1', w.port], "['127.0.0.1', echoPort]")), e.int([0, 1, 8, -1])), { bound: 1000 }),
  loopMeth('createUnixServer', 0.5, (e) => vs(factory(e), e.or(0.6, () => ok(`\0iomux-fuzz-${process.pid}-${e.rng.next()}`, "'\\0abstract'"))), { bound: 1000 }),
  loopMeth('createUnixConnection', 0.5, (e) => vs(factory(e), e.or(0.6, () => ok(`\0iomux-fuzz-none-${process.pid}`, "'\\0nobody'"))), { bound: 1000 }),
  loopMeth('connectAcceptedSocket', 0.5, (e) => vs(factory(e), pooledSock(e)), { bound: 1000 }),
  loopMeth('runInExecutor', 0.5, (e) => vs(e.or(0.8, () => ok(null, 'null')), e.fn(), e.h()), { bound: 1000 }),
  loopMeth('addSignalHandler', 1, (e) => vs(e.or(0.7, () => sigV(e)), e.fn())),
  loopMeth('removeSignalHandler', 1, (e) => vs(e.or(0.7, () => sigV(e)))),
  loopMeth('setExceptionHandler', 0.5, (e) => vs(e.h())),
  loopMeth('getExceptionHandler', 0.2, () => []),
  loopMeth('callExceptionHandler', 0.5, (e) => vs(e.or(0.3, () => ok({ message: 'fuzz', exception: new FuzzBoom('ctx') }, '{ message, exception }')))),
  loopMeth('setDebug', 0.5, (e) => vs(e.h())),
  loopMeth('getDebug', 0.2, () => []),
  // streams
  t('openConnection', 1, (env, w) => {
    const args = vs(host(env), port(env, w), env.or(0.5, () => ok({ limit: 1024 }, '{ limit: 1024 }')));
    return { args, invoke: () => apply(L.openConnection, undefined, args), bound: 1000 };
  }),
  t('startServer', 1, (env) => {
    const args = vs(env.fn(), host(env), env.int([0]), env.or(0.5, () => ok({ limit: 1024 }, '{ limit: 1024 }')));
    return { args, invoke: () => apply(L.startServer, undefined, args), bound: 1000 };
  }),
  t('new StreamReader', 1, (env) => {
    const args = env.rng.chance(0.2) ? [] : vs(env.int([1, 100, 65536]));
    return { args, invoke: () => Reflect.construct(L.StreamReader, args.map((a) => a.v)) };
  }),
  objMeth('StreamReader', 'reader', 'feedData', 2, (e) => vs(e.buf(0.7))),
  objMeth('StreamReader', 'reader', 'feedEof', 0.5, () => []),
  objMeth('StreamReader', 'reader', 'read', 3, (e) => (e.rng.chance(0.1) ? [] : vs(e.int([1, 5, 100, -1, 0]))), { bound: null }),
  objMeth('StreamReader', 'reader', 'readline', 1, () => [], { bound: null }),
  objMeth('StreamReader', 'reader', 'readexactly', 2, (e) => vs(e.int([1, 5, 0, -1])), { bound: null }),
  objMeth('StreamReader', 'reader', 'readuntil', 2, (e) => vs(e.or(0.5, () => e.rng.pick([ok('\n', "'\\n'"), ok(Buffer.from('ab'), "Buffer('ab')"), ok('', "''")]))), { bound: null }),
  objMeth('StreamReader', 'reader', 'setException', 0.5, (e) => {
    const x = e.h();
    markPropagated(x.v);
    return vs(x);
  }),
  objMeth('StreamReader', 'reader', 'exception', 0.2, () => []),
  objMeth('StreamReader', 'reader', 'atEof', 0.2, () => []),
  t('StreamReader#[Symbol.asyncIterator]().next', 0.5, (env) => {
    const recv = env.obj('reader') ?? env.h();
    return { recv, args: [], invoke: () => (recv.v as AsyncIterable<unknown>)[Symbol.asyncIterator]().next(), bound: null };
  }),
  objMeth('StreamWriter', 'writer', 'write', 2, (e) => vs(e.or(0.6, () => e.rng.pick([ok('hi', "'hi'"), ok(Buffer.alloc(10), 'Buffer(10)')])))),
  objMeth('StreamWriter', 'writer', 'writelines', 1, (e) => vs(e.or(0.5, () => ok([Buffer.alloc(3), 'ab'], "[Buffer(3), 'ab']")))),
  objMeth('StreamWriter', 'writer', 'writeEof', 0.5, () => []),
  objMeth('StreamWriter', 'writer', 'canWriteEof', 0.2, () => []),
  objMeth('StreamWriter', 'writer', 'close', 0.5, () => []),
  objMeth('StreamWriter', 'writer', 'isClosing', 0.2, () => []),
  objMeth('StreamWriter', 'writer', 'waitClosed', 0.5, () => [], { bound: null }),
  objMeth('StreamWriter', 'writer', 'getExtraInfo', 0.5, (e) => vs(e.or(0.5, () => ok('peername', "'peername'")), e.h())),
  objMeth('StreamWriter', 'writer', 'drain', 1, () => [], { bound: null }),
  // transports
  objMeth('Transport', 'transport', 'write', 3, (e) => vs(e.buf(0.7))),
  objMeth('Transport', 'transport', 'writelines', 1, (e) => vs(e.or(0.5, () => ok([Buffer.alloc(3), Buffer.alloc(0)], '[Buffer(3), Buffer(0)]')))),
  objMeth('Transport', 'transport', 'writeEof', 0.5, () => []),
  objMeth('Transport', 'transport', 'canWriteEof', 0.2, () => []),
  objMeth('Transport', 'transport', 'close', 0.5, () => []),
  objMeth('Transport', 'transport', 'abort', 0.5, () => []),
  objMeth('Transport', 'transport', 'isClosing', 0.2, () => []),
  objMeth('Transport', 'transport', 'pauseReading', 0.5, () => []),
  objMeth('Transport', 'transport', 'resumeReading', 0.5, () => []),
  objMeth('Transport', 'transport', 'isReading', 0.2, () => []),
  objMeth('Transport', 'transport', 'getWriteBufferSize', 0.2, () => []),
  objMeth('Transport', 'transport', 'getWriteBufferLimits', 0.2, () => []),
  objMeth('Transport', 'transport', 'setWriteBufferLimits', 1, (e) => vs(e.int([0, 100, 65536, -1]), e.int([0, 10, -1]))),
  objMeth('Transport', 'transport', 'getExtraInfo', 0.5, (e) => vs(e.or(0.5, () => ok('sockname', "'sockname'")), e.h())),
  objMeth('Transport', 'transport', 'setProtocol', 0.5, (e) => vs(e.or(0.5, () => ok(echoProtocol(), 'echoProtocol')))),
  objMeth('Transport', 'transport', 'getProtocol', 0.2, () => []),
  t('new SelectorSocketTransport', 0.3, (env, w) => {
    const args = vs(env.or(0.5, () => ok(w.loop, 'runningLoop')), pooledSock(env), env.or(0.5, () => ok(echoProtocol(), 'echoProtocol')), env.h());
    return { args, invoke: () => Reflect.construct(L.SelectorSocketTransport, args.map((a) => a.v)) };
  }),
  // servers, handles, protocols
  objMeth('Server', 'Server', 'close', 0.5, () => []),
  objMeth('Server', 'Server', 'waitClosed', 0.5, () => [], { bound: null }),
  objMeth('Server', 'Server', 'address', 0.3, () => []),
  objMeth('Server', 'Server', 'isServing', 0.2, () => []),
  t('new Server', 0.2, (env, w) => {
    const args = vs(env.or(0.5, () => ok(w.loop, 'runningLoop')), env.h(), factory(env), env.int([5]));
    return { args, invoke: () => Reflect.construct(L.Server, args.map((a) => a.v)) };
  }),
  t('new Handle/TimerHandle', 0.3, (env, w) => {
    const timer = env.rng.chance(0.5);
    const args = timer ? vs(env.int([0]), env.fn(), env.h(), env.or(0.5, () => ok(w.loop, 'runningLoop'))) : vs(env.fn(), env.h(), env.or(0.5, () => ok(w.loop, 'runningLoop')));
    return {
      recv: ok(null, timer ? 'TimerHandle' : 'Handle'),
      args,
      invoke: () => {
        const h = Reflect.construct(timer ? L.TimerHandle : L.Handle, args.map((a) => a.v)) as L.Handle;
        h.toString();
        h.cancel();
        return h.cancelled();
      },
    };
  }),
  t('getRunningLoop', 0.2, () => ({ args: [], invoke: () => L.getRunningLoop() })),
  t('isBufferedProtocol', 0.3, (env) => {
    const args = vs(env.h());
    return { args, invoke: () => L.isBufferedProtocol(args[0]!.v as never) };
  }),
  t('new StreamReaderProtocol', 0.3, (env, w) => {
    const args = vs(env.or(0.5, () => ok(new L.StreamReader(), 'new StreamReader()')), env.fn(), env.or(0.5, () => ok(w.loop, 'runningLoop')));
    return {
      args,
      invoke: () => {
        const p = Reflect.construct(L.StreamReaderProtocol, args.map((a) => a.v)) as L.StreamReaderProtocol;
        p.dataReceived(env.h().v as Buffer);
        return p.eofReceived();
      },
    };
  }),
  t('new IncompleteReadError/LimitOverrunError', 0.2, (env) => {
    const args = vs(env.h(), env.h());
    return { args, invoke: () => Reflect.construct(env.rng.chance(0.5) ? L.IncompleteReadError : L.LimitOverrunError, args.map((a) => a.v)) };
  }),
];
