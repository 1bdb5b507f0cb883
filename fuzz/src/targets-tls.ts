/**
 * TLS entry points of @iomux/loop, in loop episodes: the `ssl` options of
 * createConnection/createServer/openConnection/startServer and their Unix
 * twins (with serverHostname, sslHandshakeTimeout, sslShutdownTimeout).
 * The upgrades (loop.startTls, StreamWriter.startTls) and the contexts
 * (createSslContext, SSLContext) are in targets-tls-upgrade.ts, with the
 * values and the world from here. The TLS transports they give join the
 * episode's transport pool, so the Transport targets call their methods too.
 *
 * The world (setupTls): a TLS echo server and a Unix one with the committed
 * test certificate (examples/fixtures/tls), and a plain server that starts
 * TLS on each connection (server side), for startTls from a plain client.
 * A handshake with the episode's silent listener (it never accepts) gets a
 * short sslHandshakeTimeout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as L from '@iomux/loop';
import type { Env } from './env.js';
import { type Target, type Call, vs, ok, apply } from './target.js';
import { type V, FuzzBoom } from './values.js';

export type Obj = Record<string, unknown>;
type Loop = InstanceType<typeof L.EventLoop>;

const FIXTURES = path.join(__dirname, '../../examples/fixtures/tls');
const pem = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

interface Contexts {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
  server: L.SSLContext;
  client: L.SSLContext;
  nodeServer: tls.SecureContext;
  nodeClient: tls.SecureContext;
}
let ctxs: Contexts | null = null;

/** The contexts, made once per process (parsing the key costs a few ms). */
export function contexts(): Contexts {
  if (ctxs === null) {
    const key = pem('key.pem');
    const cert = pem('cert.pem');
    const ca = pem('ca.pem');
    ctxs = {
      key,
      cert,
      ca,
      server: L.createSslContext({ key, cert }),
      client: L.createSslContext({ ca }),
      nodeServer: tls.createSecureContext({ key, cert }),
      nodeClient: tls.createSecureContext({ ca }),
    };
  }
  return ctxs;
}

export function echoProtocol(): L.Protocol {
  let tr: L.Transport | null = null;
  return {
    connectionMade: (t: L.Transport) => {
      tr = t;
    },
    dataReceived: (d: Buffer) => tr?.write(d),
    connectionLost: () => {},
  } as L.Protocol;
}

export interface TlsWorld {
  loop: Loop;
  tlsPort: number;
  starttlsPort: number;
  unixPath: string;
}
let world: TlsWorld | null = null;

/** A plain server that upgrades each connection at once (server side startTls), then echoes. */
function starttlsServerProtocol(loop: Loop): L.Protocol {
  const app = echoProtocol();
  return {
    connectionMade: (t: L.Transport) => {
      loop.startTls(t, app, contexts().server, { serverSide: true, sslHandshakeTimeout: 5 }).then(
        (tt) => app.connectionMade!(tt),
        () => {},
      );
    },
    dataReceived: () => {},
    connectionLost: () => {},
  } as L.Protocol;
}

/** Per loop episode: the TLS servers, and plain connections to the upgrading one. */
export async function setupTls(env: Env, loop: Loop): Promise<void> {
  const c = contexts();
  const tlsServer = await loop.createServer(echoProtocol, '127.0.0.1', 0, { ssl: c.server });
  env.track(tlsServer, 'tlsServer', false);
  const starttls = await loop.createServer(() => starttlsServerProtocol(loop), '127.0.0.1', 0);
  env.track(starttls, 'starttlsServer', false);
  const unixPath = `\0iomux-fuzz-tls-${process.pid}-${env.rng.int(2 ** 30)}`;
  env.track(await loop.createUnixServer(echoProtocol, unixPath, { ssl: c.server }), 'unixTlsServer', false);
  world = { loop, tlsPort: tlsServer.address()!.port, starttlsPort: starttls.address()!.port, unixPath };
}

// ------------------------------------------------------------ values

const GARBAGE = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';

/** An `ssl` value that is no usable context (TypeError, ValueError or SSLError from asyncio's checks or OpenSSL). */
export function badSsl(env: Env): V {
  const c = contexts();
  return env.rng.pick<() => V>([
    () => ok({ cert: GARBAGE, key: 'junk' }, '{ cert: garbage PEM, key: junk }'),
    () => ok({ key: c.key }, '{ key } (no cert)'),
    () => ok({ cert: c.cert }, '{ cert } (no key)'),
    () => ok({ key: c.key, cert: c.ca }, '{ key, cert: ca.pem } (mismatch)'),
    () => ok({ ca: 5 }, '{ ca: 5 }'),
    () => ok({ ca: 'junk' }, "{ ca: 'junk' }"),
    () => ok({ ciphers: 'NOPE' }, "{ ciphers: 'NOPE' }"),
    () => ok({ minVersion: 'TLSv9' }, "{ minVersion: 'TLSv9' }"),
    () => ok({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }, '{ minVersion > maxVersion }'),
    () => ok({ alpnProtocols: ['h2', ''] }, "{ alpnProtocols: ['h2', ''] }"),
    () => ok({ alpnProtocols: 'h2' }, "{ alpnProtocols: 'h2' }"),
    () => ok({ alpnProtocols: ['x'.repeat(256)] }, '{ alpnProtocols: [256 chars] }'),
    () => ok({ verify: 'yes' }, "{ verify: 'yes' }"),
    () => ok({ checkHostname: true, verify: false }, '{ checkHostname: true, verify: false }'),
    () => ok({ ecdhCurve: 'nope' }, "{ ecdhCurve: 'nope' }"),
    () => ok({ sigalgs: 'junk' }, "{ sigalgs: 'junk' }"),
    () => ok({ dhparam: 'junk' }, "{ dhparam: 'junk' }"),
    () => ok({ crl: 'junk' }, "{ crl: 'junk' }"),
    () => ok({ pfx: 'junk' }, "{ pfx: 'junk' }"),
    () => ok({ ticketKeys: Buffer.alloc(3) }, '{ ticketKeys: Buffer(3) }'),
    () => ok({ sessionTimeout: -1 }, '{ sessionTimeout: -1 }'),
    () => ok({ secureProtocol: 'NopeMethod' }, "{ secureProtocol: 'NopeMethod' }"),
    () => ok({ key: c.key, cert: c.cert, passphrase: 5 }, '{ key, cert, passphrase: 5 }'),
    () => ok({ get ca(): never { throw new FuzzBoom('ca getter'); } }, '{ get ca() throws }'),
    () => ok(Object.create(null), 'Object.create(null)'),
    () => ok(new (class Ctx {})(), 'new Ctx()'),
    () => ok('ssl', "'ssl'"),
    () => env.h(),
  ])();
}

/** A client's `ssl`: the test CA's context mostly, else ones that fail verification, else bad ones. */
export function sslClient(env: Env): V {
  const c = contexts();
  return env.or(0.75, () =>
    env.rng.pick<() => V>([
      () => ok(c.client, 'clientCtx'),
      () => ok(c.client, 'clientCtx'),
      () => ok(c.nodeClient, 'tls.createSecureContext({ ca })'),
      () => ok({ ca: c.ca }, '{ ca }'),
      () => ok({ ca: c.ca, checkHostname: false }, '{ ca, checkHostname: false }'),
      () => ok({ verify: false, checkHostname: false }, '{ verify: false, checkHostname: false }'),
      () => ok(true, 'true'),
      () => ok(c.server, 'serverCtx'),
      () => ok({ ca: c.ca, alpnProtocols: ['h2', 'http/1.1'] }, '{ ca, alpnProtocols }'),
      () => badSsl(env),
    ])(),
  );
}

/** A server's `ssl`: the test certificate mostly; true/false are TypeErrors there. */
export function sslServer(env: Env): V {
  const c = contexts();
  return env.or(0.75, () =>
    env.rng.pick<() => V>([
      () => ok(c.server, 'serverCtx'),
      () => ok(c.nodeServer, 'tls.createSecureContext({ key, cert })'),
      () => ok({ key: c.key, cert: c.cert }, '{ key, cert }'),
      () => ok({ key: c.key, cert: c.cert, requestCert: true, ca: c.ca }, '{ key, cert, requestCert }'),
      () => ok(c.client, 'clientCtx (no certificate)'),
      () => ok(true, 'true'),
      () => ok(false, 'false'),
      () => badSsl(env),
    ])(),
  );
}

export function hostname(env: Env): V {
  return env.or(0.7, () =>
    env.rng.pick([ok('localhost', "'localhost'"), ok('127.0.0.1', "'127.0.0.1'"), ok('', "''"), ok(null, 'null'), ok('example.com', "'example.com'"), ok('x'.repeat(300), "'x'.repeat(300)"), ok('a\0b', "'a\\0b'"), ok(5, '5')]),
  );
}

const TIMEOUTS: unknown[] = [0.5, 2, 0.001, 0, -1, NaN, Infinity, -Infinity, '5', 5n, 1e9, null];
export function timeoutV(env: Env): V {
  const x = env.rng.pick(TIMEOUTS);
  return env.or(0.85, () => ok(x, typeof x === 'string' ? `'${x}'` : typeof x === 'bigint' ? `${x}n` : String(x)));
}

/** A handshake timeout that is short or refused: never the default 60 s nor a huge one. */
export function shortTimeout(env: Env): V {
  const x = env.rng.pick<unknown>([1, 1, 0.5, 0.001, 0, -1, NaN, -Infinity, '5', 5n]);
  return ok(x, typeof x === 'string' ? `'${x}'` : typeof x === 'bigint' ? `${x}n` : String(x));
}

/** TLS keywords: ssl, serverHostname (client), the two timeouts; each key sometimes absent, sometimes hostile. */
function sslOpts(env: Env, server: boolean, extra: Record<string, V> = {}): V {
  if (env.rng.chance(0.05)) return env.h();
  const o: Obj = {};
  const d: string[] = [];
  for (const [k, v] of Object.entries(extra)) {
    o[k] = v.v;
    d.push(`${k}: ${v.d}`);
  }
  const set = (k: string, v: V): void => {
    o[k] = v.v;
    d.push(`${k}: ${v.d}`);
  };
  set('ssl', env.rng.chance(0.95) ? (server ? sslServer(env) : sslClient(env)) : ok(null, 'null'));
  if (!server && env.rng.chance(0.7)) set('serverHostname', hostname(env));
  if (!('sslHandshakeTimeout' in extra) && env.rng.chance(0.5)) set('sslHandshakeTimeout', timeoutV(env));
  if (env.rng.chance(0.3)) set('sslShutdownTimeout', timeoutV(env));
  return ok(o, `{ ${d.join(', ')} }`);
}

/** Where a client goes: the TLS echo server, the upgrading server, or the silent listener (with a short handshake timeout). */
function dest(env: Env, w: TlsWorld): { port: V; silent: boolean } {
  const r = env.rng.next();
  if (r < 0.6) return { port: ok(w.tlsPort, 'tlsPort'), silent: false };
  if (r < 0.85) return { port: ok(w.starttlsPort, 'starttlsPort'), silent: false };
  return { port: ok(env.listenPort, 'silentPort'), silent: true };
}

function factory(env: Env): V {
  return env.rng.pick<() => V>([
    () => ok(echoProtocol, 'echoProtocolFactory'),
    () => ok(echoProtocol, 'echoProtocolFactory'),
    () => ok(() => { throw new FuzzBoom('factory'); }, '() => { throw }'),
    () => {
      const b = (): never => {
        throw new FuzzBoom('protocol');
      };
      return ok(() => ({ connectionMade: b, dataReceived: b, eofReceived: b, connectionLost: b }), '() => throwingProtocol');
    },
    () => env.h(),
  ])();
}

/** The running loop mostly; the episode's closed loop sometimes. */
export function loopV(env: Env, w: TlsWorld): V {
  return env.rng.chance(0.95) ? ok(w.loop, 'runningLoop') : (env.obj('loop') ?? env.h());
}

export const LP = L.EventLoop.prototype as unknown as Obj;
export const t = (name: string, weight: number, make: (env: Env, w: TlsWorld) => Call): Target => ({ name, weight, make: (env) => make(env, world!) });
/** Bound of a handshake with our own servers (a loaded 2-CPU machine). */
export const HANDSHAKE = 3000;

/**
 * Aborts a writer's transport at the episode's end: a TLS close() waits for
 * the peer's close_notify, a few loop turns the episode may not have left.
 */
export function abortAtEnd(env: Env, w: L.StreamWriter): void {
  env.closers.push(() => w.transport.abort());
}

/** Puts the streams a TLS open*Connection gave into the episode's pools. */
function takeStreams(env: Env, r: unknown): unknown {
  if (Array.isArray(r) && r[0] instanceof L.StreamReader && r[1] instanceof L.StreamWriter) {
    env.put('reader', ok(r[0], 'TLS reader'));
    env.put('writer', ok(r[1], 'TLS writer'));
    abortAtEnd(env, r[1]);
  }
  return r;
}

export const pick = (env: Env, kind: string, pred: (x: unknown) => boolean): V | undefined => {
  const l = (env.objs.get(kind) ?? []).filter((x) => pred(x.v));
  return l.length === 0 ? undefined : env.rng.pick(l);
};

/** Half the weights written below: a handshake costs more than most calls (fuzz:smoke's time, see the README). */
export const TLS_WEIGHT = 0.5;

export const tlsTargets: Target[] = [
  t('EventLoop#createConnection(ssl)', 1.5, (env, w) => {
    const recv = loopV(env, w);
    const { port, silent } = dest(env, w);
    // The silent listener never answers: a short handshake timeout ends it (ConnectionAbortedError), not the episode's end.
    const args = vs(factory(env), env.or(0.9, () => env.rng.pick([ok('127.0.0.1', "'127.0.0.1'"), ok('localhost', "'localhost'")])), port, sslOpts(env, false, silent ? { sslHandshakeTimeout: shortTimeout(env) } : {}));
    return { recv, args, invoke: () => apply(LP.createConnection, recv.v, args), bound: HANDSHAKE };
  }),
  t('EventLoop#createServer(ssl)+connect', 1, (env, w) => {
    const recv = loopV(env, w);
    const args = vs(factory(env), ok('127.0.0.1', "'127.0.0.1'"), ok(0, '0'), sslOpts(env, true, { backlog: ok(5, '5') }));
    const invoke = async (): Promise<unknown> => {
      const server = (await apply(LP.createServer, recv.v, args)) as L.Server;
      env.track(server, 'server', false);
      // A client with a short handshake bound: the server's own checks run on a real connection.
      const c = await w.loop.createConnection(echoProtocol, '127.0.0.1', server.address()!.port, { ssl: contexts().client, serverHostname: 'localhost', sslHandshakeTimeout: 1 });
      return [server, c];
    };
    return { recv, args, invoke, bound: HANDSHAKE };
  }),
  t('openConnection(ssl)', 0.8, (env, w) => {
    const { port, silent } = dest(env, w);
    const limit: Record<string, V> = env.rng.chance(0.2) ? { limit: env.int([16, 65536, 0]) } : {};
    if (silent) limit.sslHandshakeTimeout = shortTimeout(env);
    const args = vs(ok('127.0.0.1', "'127.0.0.1'"), port, sslOpts(env, false, limit));
    return { args, invoke: () => (apply(L.openConnection, undefined, args) as Promise<unknown>).then((r) => takeStreams(env, r)), bound: HANDSHAKE };
  }),
  t('startServer(ssl)', 0.5, (env) => {
    const args = vs(ok(() => {}, '() => {}'), ok('127.0.0.1', "'127.0.0.1'"), ok(0, '0'), sslOpts(env, true));
    return { args, invoke: () => apply(L.startServer, undefined, args), bound: 1000 };
  }),
  t('EventLoop#createUnixConnection(ssl)', 0.6, (env, w) => {
    const recv = loopV(env, w);
    const args = vs(factory(env), env.or(0.9, () => ok(w.unixPath, 'unixTlsPath')), sslOpts(env, false));
    return { recv, args, invoke: () => apply(LP.createUnixConnection, recv.v, args), bound: HANDSHAKE };
  }),
  t('EventLoop#createUnixServer(ssl)', 0.4, (env, w) => {
    const recv = loopV(env, w);
    const args = vs(factory(env), ok(`\0iomux-fuzz-tls-${process.pid}-${env.rng.int(2 ** 30)}`, "'\\0abstract'"), sslOpts(env, true));
    return { recv, args, invoke: () => apply(LP.createUnixServer, recv.v, args), bound: 1000 };
  }),
  t('openUnixConnection(ssl)', 0.3, (env, w) => {
    const args = vs(ok(w.unixPath, 'unixTlsPath'), sslOpts(env, false));
    return { args, invoke: () => (apply(L.openUnixConnection, undefined, args) as Promise<unknown>).then((r) => takeStreams(env, r)), bound: HANDSHAKE };
  }),
].map((x) => ({ ...x, weight: x.weight * TLS_WEIGHT }));
