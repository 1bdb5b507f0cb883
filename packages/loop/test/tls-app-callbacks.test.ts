// The app protocol's callbacks over TLS on both engines, as
// ssl-protocol-base.ts runs them for both: connectionMade raising
// (asyncio's 'Fatal error: protocol.connection_made() call failed.'),
// eofReceived returning true (asyncio's warning) or raising ('Error
// calling eof_received()'), and connectionLost once, with the app
// transport's 'close' event after it. Ports of CPython 3.11
// sslproto.py's _on_handshake_complete, _call_eof_received and
// connection_lost behaviour; real sockets on 127.0.0.1.
import t from 'tap';
import { SSLProtocolTransport, type Protocol, type Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectExceptions, newLoop, recordingLogger, waitFor } from './helpers.js';
import { CollectProto, ENGINES, clientContext, serverContext, useEngine } from './tls-support.js';

checkNoFdLeak(t);

/** A server protocol that closes (close_notify) as soon as the handshake is done. */
class CloseAtOnce implements Protocol {
  connectionMade(tr: Transport): void {
    tr.close();
  }
}

/** A client protocol whose eofReceived returns `keepOpen` or raises `raise`. */
class EofProto extends CollectProto {
  constructor(
    readonly keepOpen: boolean,
    readonly raise: Error | null,
  ) {
    super(1);
  }
  override eofReceived(): void {
    super.eofReceived();
    if (this.raise !== null) throw this.raise;
    return this.keepOpen as unknown as void;
  }
}

for (const engine of ENGINES) {
  t.test(engine, async (t) => {
    useEngine(t, engine);

    t.test('connectionMade raising: the exception handler is told, the waiter fails with it, the raw transport closes', async (t) => {
      const loop = newLoop(t);
      const handled = collectExceptions(loop);
      const boom = new Error('boom in connection_made');
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new CollectProto(1), '127.0.0.1', 0, { ssl: serverContext() });
        const proto = new CollectProto(1);
        proto.connectionMade = () => {
          throw boom;
        };
        await t.rejects(loop.createConnection(() => proto, '127.0.0.1', srv.address()!.port, { ssl: clientContext(), serverHostname: 'localhost' }), boom);
        await waitFor(loop, () => handled.length > 0, 10, 'the exception handler');
        t.equal(handled.length, 1);
        t.equal(handled[0]!.message, 'Fatal error: protocol.connection_made() call failed.');
        t.equal(handled[0]!.exception, boom);
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test("eofReceived returning true: asyncio's warning, and the connection closes anyway", async (t) => {
      const loop = newLoop(t);
      const log = recordingLogger();
      loop.logger = log.logger;
      const handled = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new CloseAtOnce(), '127.0.0.1', 0, { ssl: serverContext() });
        const ctx = clientContext();
        const warned = (): number => log.warn.filter((w) => w[0] === 'returning true from eof_received() has no effect when using ssl').length;
        const [, quiet] = await loop.createConnection(() => new EofProto(false, null), '127.0.0.1', srv.address()!.port, { ssl: ctx, serverHostname: 'localhost' });
        await waitFor(loop, () => quiet.events.includes('lost'), 10, 'the first connection to be lost');
        t.equal(warned(), 0, 'no warning when eofReceived returns nothing true (either side)');
        const [tr, p] = await loop.createConnection(() => new EofProto(true, null), '127.0.0.1', srv.address()!.port, { ssl: ctx, serverHostname: 'localhost' });
        t.equal(tr.getExtraInfo('sslcontext'), ctx, "'sslcontext' is the client's context");
        t.same((tr.getExtraInfo('peername') as [string, number])[1], srv.address()!.port, "the raw transport's keys come through");
        const closes: boolean[] = [];
        (tr as SSLProtocolTransport).on('close', (hadError: boolean) => closes.push(hadError));
        await waitFor(loop, () => p.events.includes('lost'), 10, 'the connection to be lost');
        t.same(p.events, ['made', 'eof', 'lost'], 'eof, then lost, once each');
        t.equal(p.lostWith, null, 'a clean close');
        t.equal(warned(), 1, "asyncio's warning, once");
        t.same(closes, [false], "the app transport's 'close' after connectionLost, without an error");
        t.equal(tr.getExtraInfo('sslcontext', 'gone'), ctx, 'the TLS keys outlive the connection');
        t.equal(handled.length, 0, 'nothing for the exception handler');
        srv.close();
        await srv.waitClosed();
      });
    });

    t.test("eofReceived raising: 'Error calling eof_received()' to the exception handler, the connection lost with it", async (t) => {
      const loop = newLoop(t);
      const handled = collectExceptions(loop);
      const boom = new Error('boom in eof_received');
      await loop.runUntilComplete(async () => {
        const srv = await loop.createServer(() => new CloseAtOnce(), '127.0.0.1', 0, { ssl: serverContext() });
        const [tr, p] = await loop.createConnection(() => new EofProto(false, boom), '127.0.0.1', srv.address()!.port, { ssl: clientContext(), serverHostname: 'localhost' });
        const closes: boolean[] = [];
        (tr as SSLProtocolTransport).on('close', (hadError: boolean) => closes.push(hadError));
        await waitFor(loop, () => p.events.includes('lost'), 10, 'the connection to be lost');
        t.equal(handled.length, 1);
        t.equal(handled[0]!.message, 'Error calling eof_received()');
        t.equal(handled[0]!.exception, boom);
        t.equal(p.lostWith, boom, 'connectionLost gets the error');
        t.same(closes, [true], "'close' with an error");
        srv.close();
        await srv.waitClosed();
      });
    });
  });
}
