// TLS under load, on every selector backend: 200 iomux TLS clients each
// send 64 KiB (a pattern of their own) to an iomux TLS echo server at once
// and check every byte that comes back; then every connection closes with
// close_notify both ways. Bounded: 60 s per backend at most.
import t from 'tap';
import { BACKENDS, newLoop, waitFor } from './helpers.js';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { CollectProto, ENGINES, EchoProto, clientContext, pattern, serverContext, useEngine } from './tls-support.js';

checkNoFdLeak(t);

const CLIENTS = 200;
const SIZE = 64 * 1024;

for (const engine of ENGINES) for (const backend of BACKENDS) {
  t.test(`${engine} ${backend}: ${CLIENTS} clients x 64 KiB over TLS, every byte verified`, async (t) => {
    useEngine(t, engine);
    const loop = newLoop(t, backend);
    await loop.runUntilComplete(async () => {
      const servers: EchoProto[] = [];
      const srv = await loop.createServer(() => (servers.push(new EchoProto()), servers.at(-1)!), '127.0.0.1', 0, { ssl: serverContext(), backlog: CLIENTS });
      const port = srv.address()!.port;
      const ctx = clientContext();
      const t0 = loop.time();
      const results = await Promise.all(
        Array.from({ length: CLIENTS }, async (_, i) => {
          const data = pattern(i, SIZE);
          const [tr, cp] = await loop.createConnection(() => new CollectProto(SIZE), '127.0.0.1', port, { ssl: ctx, serverHostname: 'localhost' });
          // In pieces of different sizes, as a real client writes.
          for (let off = 0, step = 1000 + i * 37; off < SIZE; off += step) tr.write(data.subarray(off, Math.min(SIZE, off + step)));
          const back = await Promise.race([cp.done, new Promise<null>((r) => loop.callLater(60, () => r(null)))]);
          tr.close();
          return { ok: back !== null && back.length === SIZE && back.equals(data), cp };
        }),
      );
      const bad = results.filter((r) => !r.ok).length;
      t.equal(bad, 0, `all ${CLIENTS} echoes intact (${(loop.time() - t0).toFixed(2)} s)`);
      await waitFor(loop, () => results.every((r) => r.cp.events.includes('lost')) && servers.every((s) => s.events.includes('lost')), 30, 'every connection closed');
      t.ok(results.every((r) => r.cp.lostWith === null), 'every client closed cleanly');
      t.ok(servers.every((s) => s.lostWith === null && s.events.join() === 'made,eof,lost'), 'every server side saw close_notify, then lost');
      srv.close();
      await srv.waitClosed();
    });
  });
}
