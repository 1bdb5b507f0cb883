/**
 * TLS upgrades and contexts of @iomux/loop, in loop episodes: loop.startTls
 * and StreamWriter.startTls (on a fresh plain connection to the upgrading
 * server, or on a pooled transport or writer), createSslContext, SSLContext
 * and setAlpnProtocols, and a TLS transport's getExtraInfo. The values, the
 * world and the weights are targets-tls.ts's.
 */
import * as L from '@iomux/loop';
import { type Target, vs, ok, apply } from './target.js';
import {
  type Obj,
  LP,
  TLS_WEIGHT,
  abortAtEnd,
  badSsl,
  contexts,
  echoProtocol,
  hostname,
  loopV,
  pick,
  shortTimeout,
  sslClient,
  sslServer,
  t,
  timeoutV,
} from './targets-tls.js';

export const tlsUpgradeTargets: Target[] = [
  t('EventLoop#startTls', 1.5, (env, w) => {
    const recv = loopV(env, w);
    const fresh = env.rng.chance(0.5);
    const given = fresh ? null : env.rng.chance(0.85) ? (env.obj('transport') ?? env.h()) : env.h();
    const protoV = env.or(0.8, () => ok(echoProtocol(), 'echoProtocol()'));
    const serverSide = env.rng.chance(0.1);
    const ctx = serverSide ? sslServer(env) : sslClient(env);
    const opts: Obj = {};
    const d: string[] = [];
    if (serverSide || env.rng.chance(0.1)) {
      const v = env.or(0.8, () => ok(serverSide, String(serverSide)));
      opts.serverSide = v.v;
      d.push(`serverSide: ${v.d}`);
    }
    if (env.rng.chance(0.8)) {
      const v = hostname(env);
      opts.serverHostname = v.v;
      d.push(`serverHostname: ${v.d}`);
    }
    for (const k of ['sslHandshakeTimeout', 'sslShutdownTimeout']) {
      // A pooled transport's protocol may be replaced by a later call: only the handshake timeout ends that upgrade.
      const short = k === 'sslHandshakeTimeout' && !fresh;
      if (short || env.rng.chance(0.4)) {
        const v = short ? shortTimeout(env) : timeoutV(env);
        opts[k] = v.v;
        d.push(`${k}: ${v.d}`);
      }
    }
    const optsV = fresh ? env.or(0.95, () => ok(opts, `{ ${d.join(', ')} }`)) : ok(opts, `{ ${d.join(', ')} }`);
    const trD = fresh ? 'fresh plain connection to starttlsPort' : given!.d;
    const args = vs(ok(null, trD), protoV, ctx, optsV);
    const invoke = (): unknown => {
      if (!fresh) return apply(LP.startTls, recv.v, [given!, ...args.slice(1)]);
      return w.loop.createConnection(echoProtocol, '127.0.0.1', w.starttlsPort).then(([tr]) => {
        env.track(tr, 'plain transport', false);
        return apply(LP.startTls, recv.v, [ok(tr, ''), ...args.slice(1)]);
      });
    };
    // The peer may be a plain echo server or a server side waiting for a ClientHello: settled at the episode's end.
    return { recv, args, invoke, bound: null };
  }),
  t('StreamWriter#startTls', 0.8, (env, w) => {
    const fresh = env.rng.chance(0.5);
    const given = fresh ? null : env.rng.chance(0.9) ? (env.obj('writer') ?? env.h()) : env.h();
    const opts: Obj = {};
    const d: string[] = [];
    if (env.rng.chance(0.8)) {
      const v = hostname(env);
      opts.serverHostname = v.v;
      d.push(`serverHostname: ${v.d}`);
    }
    if (!fresh || env.rng.chance(0.4)) {
      const v = fresh ? timeoutV(env) : shortTimeout(env);
      opts.sslHandshakeTimeout = v.v;
      d.push(`sslHandshakeTimeout: ${v.d}`);
    }
    const args = vs(sslClient(env), fresh ? env.or(0.95, () => ok(opts, `{ ${d.join(', ')} }`)) : ok(opts, `{ ${d.join(', ')} }`));
    const recv = fresh ? ok(null, 'writer of a fresh plain connection to starttlsPort') : given!;
    const call = (wr: unknown): unknown => apply(L.StreamWriter.prototype.startTls, wr, args);
    const invoke = (): unknown => {
      if (!fresh) return call(given!.v);
      return L.openConnection('127.0.0.1', w.starttlsPort).then(([rd, wr]) => {
        env.put('reader', ok(rd, 'starttls reader'));
        env.put('writer', ok(wr, 'starttls writer'));
        abortAtEnd(env, wr);
        return call(wr);
      });
    };
    return { recv, args, invoke, bound: null };
  }),
  t('createSslContext', 0.8, (env) => {
    const args = env.rng.chance(0.1) ? [] : vs(env.rng.chance(0.3) ? ok({ key: contexts().key, cert: contexts().cert }, '{ key, cert }') : badSsl(env));
    return { args, invoke: () => apply(L.createSslContext, undefined, args) };
  }),
  t('new SSLContext', 0.4, (env) => {
    const c = contexts();
    const args = vs(env.or(0.6, () => ok(c.nodeClient, 'tls.createSecureContext({ ca })')), env.or(0.5, () => env.rng.pick([ok({ verify: false, checkHostname: false }, '{ verify: false, checkHostname: false }'), ok({ alpnProtocols: ['h2'] }, "{ alpnProtocols: ['h2'] }"), ok({ requestCert: 1 }, '{ requestCert: 1 }')])));
    return { args, invoke: () => Reflect.construct(L.SSLContext, args.map((a) => a.v)) };
  }),
  t('SSLContext#setAlpnProtocols', 0.4, (env) => {
    const recv = env.or(0.9, () => ok(new L.SSLContext(contexts().nodeClient), 'new SSLContext(nodeClient)'));
    const args = vs(env.or(0.4, () => env.rng.pick([ok(['h2', 'http/1.1'], "['h2', 'http/1.1']"), ok(new Set(['h2']), "Set(['h2'])"), ok(['h2', 5], "['h2', 5]"), ok(Array(5000).fill('a'), "Array(5000).fill('a')")])));
    return { recv, args, invoke: () => apply(L.SSLContext.prototype.setAlpnProtocols, recv.v, args) };
  }),
  t('SSLProtocolTransport#getExtraInfo', 0.6, (env) => {
    const recv = pick(env, 'transport', (x) => x instanceof L.SSLProtocolTransport) ?? env.h();
    const names = ['peercert', 'cipher', 'compression', 'sslcontext', 'ssl_object', 'socket', 'peername', 'sockname', 'alpn_protocol', 'nope'];
    const args = vs(env.or(0.8, () => {
      const n = env.rng.pick(names);
      return ok(n, `'${n}'`);
    }), env.h());
    return { recv, args, invoke: () => apply(L.SSLProtocolTransport.prototype.getExtraInfo, recv.v, args) };
  }),
].map((x) => ({ ...x, weight: x.weight * TLS_WEIGHT }));
