// Faults, on every backend: a peer that half-closes (a protocol server
// whose eofReceived keeps it open, a streams server, a client's
// writeEof()). Each case ends with no exception escaping (the loop's
// exception handler, unhandled rejections and uncaught exceptions are all
// watched), every transport closed, nothing left in the selector, and no
// descriptor leaked.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { EventLoop, openConnection, startServer, type Transport } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { watchFaults } from './faults-support.js';
import { BACKENDS, collectExceptions, future } from './helpers.js';

checkNoFdLeak(t);

// Nothing may escape: not as an unhandled rejection, not as an uncaught exception.
const { escaped, finish } = watchFaults(t);

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    // ------------------------------------------------------------ half-close

    t.test('protocol server: the peer half-closes; eofReceived keeps it open to reply', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const calls: string[] = [];
      const lost = future<Error | null>();
      const reply = await loop.runUntilComplete(async () => {
        const server = await loop.createServer(
          () => {
            let tr: Transport;
            const got: Buffer[] = [];
            return {
              connectionMade(t2: Transport) {
                tr = t2;
              },
              dataReceived(d: Buffer) {
                calls.push('data');
                got.push(d);
              },
              eofReceived() {
                calls.push('eof');
                tr.write(Buffer.concat([Buffer.from('got: '), ...got]));
                tr.close(); // after the reply is sent
                return true;
              },
              connectionLost(exc: Error | null) {
                calls.push('lost');
                lost.resolve(exc);
              },
            };
          },
          '127.0.0.1',
          0,
        );
        const replied = new Promise<string>((resolve, reject) => {
          const c = net.connect({ port: server.address()!.port, host: '127.0.0.1', allowHalfOpen: true });
          let out = '';
          c.setEncoding('utf8');
          c.on('connect', () => c.end('hello')); // write, then FIN
          c.on('data', (d: string) => (out += d));
          c.on('end', () => resolve(out));
          c.on('error', reject);
        });
        const r = await replied;
        t.equal(await lost.promise, null);
        server.close();
        await server.waitClosed();
        return r;
      });
      t.equal(reply, 'got: hello');
      t.equal(calls.filter((c) => c === 'eof').length, 1);
      t.equal(calls.at(-1), 'lost');
      finish(t, loop, errors, escapedBefore);
    });

    t.test('streams server: the peer half-closes; reader.atEof() and the writer still writes', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      let atEof = false;
      const payload = randomBytes(300_000);
      const reply = await loop.runUntilComplete(async () => {
        const server = await startServer(async (r, w) => {
          const all = await r.read(); // until EOF
          atEof = r.atEof();
          w.write(Buffer.from(`${all.length} bytes, sha-less echo follows\n`));
          w.write(all);
          await w.drain();
          w.close();
          await w.waitClosed();
        }, '127.0.0.1', 0);
        const got = await new Promise<Buffer>((resolve, reject) => {
          const c = net.connect({ port: server.address()!.port, host: '127.0.0.1', allowHalfOpen: true });
          const parts: Buffer[] = [];
          c.on('connect', () => c.end(payload));
          c.on('data', (d: Buffer) => parts.push(d));
          c.on('end', () => resolve(Buffer.concat(parts)));
          c.on('error', reject);
        });
        server.close();
        await server.waitClosed();
        return got;
      });
      t.ok(atEof, 'the server reader was at EOF');
      const nl = reply.indexOf(10);
      t.equal(reply.subarray(0, nl).toString(), `${payload.length} bytes, sha-less echo follows`);
      t.ok(reply.subarray(nl + 1).equals(payload), 'and then every byte');
      finish(t, loop, errors, escapedBefore);
    });

    t.test('client: writeEof() to a Node server that replies after its end', async (t) => {
      const loop = new EventLoop({ selector: backend });
      const errors = collectExceptions(loop);
      const escapedBefore = escaped.length;
      const server = net.createServer({ allowHalfOpen: true }, (c) => {
        let n = 0;
        c.on('data', (d: Buffer) => (n += d.length));
        c.on('end', () => c.end(`server saw ${n} bytes`));
        c.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const reply = await loop.runUntilComplete(async () => {
        const [reader, writer] = await openConnection('127.0.0.1', port);
        writer.write(Buffer.alloc(12345));
        writer.writeEof();
        t.throws(() => writer.write(Buffer.from('x')), { name: 'RuntimeError' }, 'no write after writeEof');
        const r = await reader.read();
        t.ok(reader.atEof());
        writer.close();
        await writer.waitClosed();
        return r.toString();
      });
      t.equal(reply, 'server saw 12345 bytes');
      await new Promise<void>((r) => server.close(() => r()));
      finish(t, loop, errors, escapedBefore);
    });
  });
}

for (const backend of BACKENDS) suite(backend);
