// transports.ts with a BufferedProtocol: CPython 3.11
// test_asyncio/test_selector_events.py's BufferedProtocol cases
// (get_buffer, buffer_updated, switching protocol kinds), and TCP
// transports (test_buffered_proto_create_connection, test_set_nodelay, a
// round trip with events only), on every backend, with real sockets.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { EventLoop, isBufferedProtocol, startServer, type BufferedProtocol, type Transport } from '@iomux/loop';
import { socket, type Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { collectExceptions, future, runBriefly, runUntil } from './helpers.js';
import { BufProto, RecProto, forEachBackend } from './transports-support.js';

checkNoFdLeak(t);

forEachBackend(t, (t, { backend, setup }) => {
  t.test('BufferedProtocol: recv() goes into the buffer of getBuffer(-1), then bufferUpdated(n)', async (t) => {
    const proto = new BufProto();
    t.ok(isBufferedProtocol(proto));
    t.notOk(isBufferedProtocol(new RecProto()));
    const { loop, peer } = setup(t, proto);
    peer.send(Buffer.from('data'));
    await runUntil(loop, () => proto.chunks.length > 0);
    t.same(proto.calls, ['connectionMade', 'getBuffer', 'bufferUpdated'], 'dataReceived is never called');
    t.same(proto.hints, [-1]);
    t.equal(proto.got(), 'data');
    t.equal(Buffer.from(proto.buffer.buffer, proto.buffer.byteOffset, 4).toString(), 'data', 'received into that very buffer');
  });

  t.test('BufferedProtocol: a buffer smaller than the data takes it in turns', async (t) => {
    const proto = new BufProto();
    // a view into the middle of a larger ArrayBuffer: only the view is filled
    const backing = new Uint8Array(64).fill(0x2e);
    proto.buffer = new DataView(backing.buffer, 8, 16);
    const { loop, peer } = setup(t, proto);
    const noise = Buffer.from('12345678+'.repeat(100));
    peer.send(noise);
    await runUntil(loop, () => proto.got().length === noise.length);
    t.equal(proto.got(), noise.toString());
    t.ok(proto.chunks.every((c) => c.length <= 16));
    t.ok(backing.subarray(0, 8).every((b) => b === 0x2e) && backing.subarray(24).every((b) => b === 0x2e), 'nothing written outside the view');
  });

  t.test('test_get_buffer_error', async (t) => {
    const proto = new BufProto();
    const err = new RangeError('get_buffer');
    proto.getBuffer = () => {
      throw err;
    };
    const { loop, peer, tr } = setup(t, proto);
    const errors = collectExceptions(loop);
    peer.send(Buffer.from('data'));
    t.equal(await loop.runUntilComplete(proto.lost.promise), err);
    t.equal(errors.length, 1);
    t.equal(errors[0]!.message, 'Fatal error: protocol.get_buffer() call failed.');
    t.equal(errors[0]!.transport, tr);
    t.equal(proto.count('bufferUpdated'), 0);
  });

  t.test('test_get_buffer_zerosized, a detached buffer, and not a buffer at all', async (t) => {
    const backing = new ArrayBuffer(16);
    const detachedView = new Uint8Array(backing);
    structuredClone(backing, { transfer: [backing] });
    const cases: Array<[string, unknown, string, RegExp]> = [
      ['empty', Buffer.alloc(0), 'RuntimeError', /^get_buffer\(\) returned an empty buffer$/],
      ['detached', detachedView, 'RuntimeError', /^get_buffer\(\) returned an empty buffer$/],
      ['a string', 'abc', 'TypeError', /bytes-like object, not string/],
      ['null', null, 'TypeError', /bytes-like object, not null/],
    ];
    for (const [what, value, name, message] of cases) {
      const proto = new BufProto();
      proto.buffer = value as ArrayBufferView;
      const { loop, peer } = setup(t, proto);
      const errors = collectExceptions(loop);
      peer.send(Buffer.from('data'));
      const exc = await loop.runUntilComplete(proto.lost.promise);
      t.equal(exc!.name, name, what);
      t.match(exc!.message, message, what);
      t.equal(errors[0]!.message, 'Fatal error: protocol.get_buffer() call failed.', what);
      t.equal(proto.count('bufferUpdated'), 0, what);
    }
  });

  t.test('test_buffer_updated_error', async (t) => {
    const proto = new BufProto();
    const err = new RangeError('buffer_updated');
    proto.onUpdated = () => {
      throw err;
    };
    const { loop, peer } = setup(t, proto);
    const errors = collectExceptions(loop);
    peer.send(Buffer.from('data'));
    t.equal(await loop.runUntilComplete(proto.lost.promise), err);
    t.equal(errors.length, 1);
    t.equal(errors[0]!.message, 'Fatal error: protocol.buffer_updated() call failed.');
  });

  t.test('test_proto_type_switch: setProtocol() switches between the two kinds of read', async (t) => {
    const plain = new RecProto();
    const { loop, peer, tr } = setup(t, plain);
    await runBriefly(loop);
    const buffered = new BufProto();
    tr.setProtocol(buffered);
    peer.send(Buffer.from('one'));
    await runUntil(loop, () => buffered.chunks.length > 0);
    t.equal(buffered.got(), 'one');
    t.equal(plain.data.length, 0);
    tr.setProtocol(plain);
    peer.send(Buffer.from('two'));
    await runUntil(loop, () => plain.data.length > 0);
    t.equal(plain.received().toString(), 'two');
    t.equal(buffered.chunks.length, 1);
  });

  t.test('BufferedProtocol: EOF calls eofReceived and closes', async (t) => {
    const proto = new BufProto();
    const { loop, peer } = setup(t, proto);
    peer.send(Buffer.from('last'));
    peer.shutdown(socket.SHUT_WR);
    t.equal(await loop.runUntilComplete(proto.lost.promise), null);
    t.equal(proto.got(), 'last');
    t.same(proto.calls.filter((c) => c !== 'getBuffer'), ['connectionMade', 'bufferUpdated', 'eofReceived', 'connectionLost']);
  });

  t.test("BufferedProtocol: 'data' listeners get a copy, taken before bufferUpdated()", async (t) => {
    const proto = new BufProto();
    proto.onUpdated = () => (proto.buffer as Buffer).fill(0);
    const { loop, peer, tr } = setup(t, proto);
    const events: string[] = [];
    tr.on('data', (d: Buffer) => events.push(d.toString()));
    peer.send(Buffer.from('copied'));
    await runUntil(loop, () => events.length > 0);
    t.same(events, ['copied']);
    t.equal(proto.got(), 'copied');
  });

  t.test('test_buffered_proto_create_connection', async (t) => {
    const loop = new EventLoop({ selector: backend });
    t.teardown(() => loop.close());
    const NOISE = Buffer.from('12345678+'.repeat(1024));
    await loop.runUntilComplete(async () => {
      const srv = await startServer(async (reader, writer) => {
        writer.write(NOISE);
        await reader.readexactly(1);
        writer.close();
        await writer.waitClosed();
      }, '127.0.0.1', 0);
      let data = Buffer.alloc(0);
      const lost = future<Error | null>();
      class ReceiveStuffProto implements BufferedProtocol {
        buffer = new Uint8Array(100);
        tr!: Transport;
        connectionMade(tr: Transport): void {
          this.tr = tr;
        }
        getBuffer(): Uint8Array {
          this.buffer = new Uint8Array(100);
          return this.buffer;
        }
        bufferUpdated(nbytes: number): void {
          data = Buffer.concat([data, this.buffer.subarray(0, nbytes)]);
          if (data.equals(NOISE)) this.tr.write(Buffer.from('1'));
        }
        connectionLost(exc: Error | null): void {
          lost.resolve(exc);
        }
      }
      await loop.createConnection(() => new ReceiveStuffProto(), '127.0.0.1', srv.address()!.port);
      t.equal(await lost.promise, null);
      t.ok(data.equals(NOISE));
      srv.close();
      await srv.waitClosed();
    });
  });

  t.test('test_set_nodelay: TCP transports disable Nagle', async (t) => {
    const loop = new EventLoop({ selector: backend });
    const server = net.createServer((c) => c.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proto = new RecProto();
    const [tr] = await loop.runUntilComplete(loop.createConnection(() => proto, '127.0.0.1', (server.address() as net.AddressInfo).port));
    const sock = tr.getExtraInfo('socket') as Socket;
    t.ok(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY));
    tr.close();
    await loop.runUntilComplete(proto.lost.promise);
    loop.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  t.test('a TCP transport round trip with events only (Node style)', async (t) => {
    const loop = new EventLoop({ selector: backend });
    const payload = randomBytes(200_000);
    const echoed: Buffer[] = [];
    const server = net.createServer((c) => {
      c.on('error', () => {});
      c.pipe(c);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const [tr] = await loop.runUntilComplete(loop.createConnection(() => ({}), '127.0.0.1', (server.address() as net.AddressInfo).port));
    const closed = future<boolean>();
    tr.on('data', (d: Buffer) => {
      echoed.push(d);
      if (echoed.reduce((a, b) => a + b.length, 0) === payload.length) tr.close();
    });
    tr.on('close', (hadError: boolean) => closed.resolve(hadError));
    tr.write(payload);
    t.equal(await loop.runUntilComplete(closed.promise), false);
    t.ok(Buffer.concat(echoed).equals(payload));
    loop.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
