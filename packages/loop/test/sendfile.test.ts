// sendfile.ts: CPython 3.11 test_asyncio/test_sendfile.py
// (SockSendfileMixin, SendfileMixin), test_base_events.py's
// sock_sendfile fallback cases and test_unix_events.py's
// SelectorEventLoopUnixSockSendfileTests, on real TCP connections on
// 127.0.0.1, on every backend. Where CPython patches _sendfile_native to
// force the fallback, these pass a file with readinto() and no descriptor.
// A 64 MiB file goes both ways, checked by SHA-256.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { EventLoop, SendfileNotAvailableError, type Protocol, type Transport } from '@iomux/loop';
import { os, socket, Socket } from '@iomux/core-native';
import { ConnectionError, OSError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS, future } from './helpers.js';

checkNoFdLeak(t);

// 256 KiB plus small unaligned to buffer chunk
const DATA = randomBytes(1024 * 256 + 1);
const BUF_SIZE = 4 * 1024;
const dir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-sendfile-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const DATA_PATH = path.join(dir, 'data');
fs.writeFileSync(DATA_PATH, DATA);

/** test_sendfile.py's MySendfileProto: counts, keeps (or hashes) what it receives. */
class Recv implements Protocol {
  transport: Transport | null = null;
  nbytes = 0;
  chunks: Buffer[] | null = [];
  hash = createHash('sha256');
  connected = future<void>();
  done = future<void>();
  constructor(readonly closeAfter = 0) {}
  connectionMade(tr: Transport): void {
    this.transport = tr;
    this.connected.resolve();
  }
  dataReceived(d: Buffer): void {
    this.nbytes += d.length;
    this.chunks?.push(d);
    this.hash.update(d);
    if (this.closeAfter && this.nbytes >= this.closeAfter) this.transport!.close();
  }
  connectionLost(): void {
    this.done.resolve();
  }
  data(): Buffer {
    return Buffer.concat(this.chunks!);
  }
}

/** A file with readinto() and seek() and no descriptor: sendfile(2) cannot take it. */
function noFdFile(fd: number): { readinto(v: Uint8Array): number; seek(p: number): void } {
  return { readinto: (v) => fs.readSync(fd, v, 0, v.length, null), seek: (p) => void os.lseek(fd, p, os.SEEK_SET) };
}

function suite(backend: string, big: boolean): void {
  t.test(`backend ${backend}`, async (t) => {
    /** Runs `body` in a fresh loop with a server whose protocol is `srv`; closes both. */
    const withServer = async (t: Test, srv: Recv, body: (loop: EventLoop, port: number, file: number) => Promise<void>): Promise<void> => {
      const loop = new EventLoop({ selector: backend });
      const file = fs.openSync(DATA_PATH, 'r');
      try {
        await loop.runUntilComplete(async () => {
          const server = await loop.createServer(() => srv, '127.0.0.1', 0);
          server.sockets[0]!.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUF_SIZE);
          try {
            await body(loop, server.address()!.port, file);
          } finally {
            srv.transport?.close();
            server.close();
            await server.waitClosed();
          }
        });
      } finally {
        fs.closeSync(file);
        loop.close();
      }
    };
    /** A connected non-blocking client socket (prepare_socksendfile). */
    const client = async (t: Test, loop: EventLoop, port: number): Promise<Socket> => {
      const sock = new Socket(socket.AF_INET, socket.SOCK_STREAM);
      t.teardown(() => sock.close());
      sock.setblocking(false);
      await loop.sockConnect(sock, ['127.0.0.1', port]);
      sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUF_SIZE);
      return sock;
    };
    /** A client transport (prepare_sendfile), with small buffers. */
    const connection = async (loop: EventLoop, port: number): Promise<[Transport, Recv]> => {
      const [tr, p] = await loop.createConnection(() => new Recv(), '127.0.0.1', port);
      (tr.getExtraInfo('socket') as Socket).setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUF_SIZE);
      tr.setWriteBufferLimits(BUF_SIZE);
      return [tr, p];
    };

    t.test('test_sock_sendfile_success', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const sock = await client(t, loop, port);
        t.equal(await loop.sockSendfile(sock, file), DATA.length);
        sock.close();
        await srv.done.promise;
        t.ok(srv.data().equals(DATA));
        t.equal(os.lseek(file, 0, os.SEEK_CUR), DATA.length, 'file.tell()');
      });
    });

    t.test('test_sock_sendfile_with_offset_and_count', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const sock = await client(t, loop, port);
        t.equal(await loop.sockSendfile(sock, file, 1000, 2000), 2000);
        sock.close();
        await srv.done.promise;
        t.ok(srv.data().equals(DATA.subarray(1000, 3000)));
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 3000);
      });
    });

    t.test('test_sock_sendfile_zero_size test_sock_sendfile_mix_with_regular_send', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const sock = await client(t, loop, port);
        const empty = fs.openSync(path.join(dir, 'empty'), 'w+');
        t.equal(await loop.sockSendfile(sock, empty, 0, null), 0);
        fs.closeSync(empty);
        const buf = Buffer.from('mix_regular_send'.repeat(4 * 1024)); // 64 KiB
        await loop.sockSendall(sock, buf);
        t.equal(await loop.sockSendfile(sock, { fileno: () => file }), DATA.length, 'an object with fileno()');
        await loop.sockSendall(sock, buf);
        sock.close();
        await srv.done.promise;
        t.ok(srv.data().equals(Buffer.concat([buf, DATA, buf])));
      });
    });

    t.test('test_sock_sendfile_fallback test_sock_sendfile_fallback_offset_and_count test_sock_sendfile_no_fallback', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const sock = await client(t, loop, port);
        await t.rejects(loop.sockSendfile(sock, noFdFile(file), 0, null, { fallback: false }), new SendfileNotAvailableError('not a regular file'));
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 0);
        t.equal(await loop.sockSendfile(sock, noFdFile(file), 1000, 2000), 2000);
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 3000);
        os.lseek(file, 0, os.SEEK_SET);
        t.equal(await loop.sockSendfile(sock, noFdFile(file)), DATA.length);
        // A pipe: sendfile(2) cannot read it (EINVAL), so the fallback does.
        const [r, w] = os.pipe();
        os.write(w, Buffer.from('piped'));
        os.close(w);
        await t.rejects(loop.sockSendfile(sock, r, 0, 5, { fallback: false }), new SendfileNotAvailableError('os.sendfile call failed'));
        t.equal(await loop.sockSendfile(sock, r, 0, 5), 5);
        os.close(r);
        sock.close();
        await srv.done.promise;
        t.ok(srv.data().equals(Buffer.concat([DATA.subarray(1000, 3000), DATA, Buffer.from('piped')])));
      });
    });

    t.test('test_sock_sendfile_cancel1 test_sock_sendfile_cancel2: an AbortSignal', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const sock = await client(t, loop, port);
        const early = AbortSignal.abort(new RangeError('early'));
        await t.rejects(loop.sockSendfile(sock, file, 0, null, { signal: early }), new RangeError('early'));
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 0, 'nothing sent');
        await t.rejects(loop.sockSendfile(sock, file, 0, null, { signal: bad('x') }), TypeError);
        for (const f of [file, noFdFile(file)]) {
          os.lseek(file, 0, os.SEEK_SET);
          // The server reads nothing meanwhile: its buffers are small, so the send waits.
          await srv.connected.promise;
          srv.transport!.pauseReading();
          const ac = new AbortController();
          const p = loop.sockSendfile(sock, f, 0, null, { signal: ac.signal });
          await new Promise((r) => loop.callLater(0.05, r));
          ac.abort();
          await t.rejects(p, { name: 'AbortError' });
          t.notOk(loop.removeWriter(sock.fileno()), 'the socket has no writer left');
          const pos = os.lseek(file, 0, os.SEEK_CUR);
          t.ok(pos > 0 && pos < DATA.length, `the position is after what was sent (${pos})`);
          srv.transport!.resumeReading();
          await new Promise((r) => loop.callLater(0.02, r));
        }
      });
    });

    t.test('sendfile on a transport stops at an abort, native and fallback', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const [tr, cli] = await connection(loop, port);
        await srv.connected.promise;
        srv.transport!.pauseReading();
        for (const f of [file, noFdFile(file)]) {
          const ac = new AbortController();
          const p = loop.sendfile(tr, f, 0, null, { signal: ac.signal });
          await new Promise((r) => loop.callLater(0.05, r));
          ac.abort(new RangeError('stop'));
          await t.rejects(p, new RangeError('stop'));
          t.ok(tr.isReading(), 'reading resumed');
          t.equal(tr.getProtocol(), cli, 'the protocol restored');
        }
        tr.abort();
        await cli.done.promise;
      });
    });

    t.test('test_sendfile test_sendfile_partial test_sendfile_pre_and_post_data', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const [tr, cli] = await connection(loop, port);
        const PREFIX = Buffer.from('PREFIX__'.repeat(1024));
        const SUFFIX = Buffer.from('--SUFFIX'.repeat(1024));
        tr.write(PREFIX);
        t.equal(await loop.sendfile(tr, file), DATA.length);
        t.ok(tr.isReading(), 'reading resumed');
        t.equal(await loop.sendfile(tr, file, 1000, 100), 100);
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 1100);
        tr.write(SUFFIX);
        tr.close();
        await srv.done.promise;
        await cli.done.promise;
        t.ok(srv.data().equals(Buffer.concat([PREFIX, DATA, DATA.subarray(1000, 1100), SUFFIX])));
      });
    });

    t.test('write() during a native sendfile is refused, as asyncio (_empty_waiter)', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const [tr, cli] = await connection(loop, port);
        const p = loop.sendfile(tr, file);
        t.throws(() => tr.write(Buffer.from('x')), { name: 'RuntimeError', message: 'unable to write; sendfile is in progress' });
        t.equal(await p, DATA.length);
        tr.write(Buffer.from('after'));
        tr.close();
        await srv.done.promise;
        await cli.done.promise;
        t.ok(srv.data().equals(Buffer.concat([DATA, Buffer.from('after')])), 'nothing of the refused write, all of the later one');
      });
    });

    t.test('test_sendfile_force_fallback test_sendfile_force_unsupported_native', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const [tr, cli] = await connection(loop, port);
        await t.rejects(loop.sendfile(tr, noFdFile(file), 0, null, { fallback: false }), SendfileNotAvailableError);
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 0);
        tr.write(Buffer.from('pre'));
        t.equal(await loop.sendfile(tr, noFdFile(file)), DATA.length);
        t.equal(tr.getProtocol(), cli, 'the protocol is restored');
        t.ok(tr.isReading());
        t.equal(os.lseek(file, 0, os.SEEK_CUR), DATA.length);
        tr.close();
        await srv.done.promise;
        t.ok(srv.data().equals(Buffer.concat([Buffer.from('pre'), DATA])));
      });
    });

    t.test('test_sendfile_for_closing_transp test_sendfile_not_supported', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const [tr, cli] = await connection(loop, port);
        tr.close();
        await t.rejects(loop.sendfile(tr, file), new RuntimeError('Transport is closing'));
        await cli.done.promise;
        const [r, w] = os.pipe();
        const [wp] = await loop.connectWritePipe(() => ({}), w);
        await t.rejects(loop.sendfile(wp as never, file), { name: 'RuntimeError', message: /^sendfile is not supported for transport/ });
        wp.close();
        await new Promise((res) => loop.callLater(0.01, res));
        os.close(r);
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 0);
      });
    });

    t.test('test_sendfile_close_peer_in_the_middle_of_receiving (native and fallback)', async (t) => {
      for (const forced of [false, true]) {
        const srv = new Recv(1024);
        await withServer(t, srv, async (loop, port, file) => {
          const [tr, cli] = await connection(loop, port);
          const f = forced ? noFdFile(file) : file;
          const err = await loop.sendfile(tr, f).then(() => null, (e: unknown) => e);
          t.ok(err instanceof ConnectionError, `a ConnectionError (${String(err)}), fallback forced: ${forced}`);
          await srv.done.promise;
          t.ok(srv.nbytes >= 1024 && srv.nbytes < DATA.length, `${srv.nbytes} bytes received`);
          const pos = os.lseek(file, 0, os.SEEK_CUR);
          t.ok(pos >= 1024 && pos < DATA.length, `position ${pos}`);
          tr.close();
          await cli.done.promise;
        });
      }
    });

    t.test('hostile arguments (test_nonstream_socket, test_notint_count, test_negative_offset, test_blocking_socket, test_sock_sendfile_not_a_file, test_sock_sendfile_not_regular_file, ...)', async (t) => {
      const srv = new Recv();
      await withServer(t, srv, async (loop, port, file) => {
        const sock = await client(t, loop, port);
        await t.rejects(loop.sockSendfile(sock, file, bad('offset')), new TypeError("offset must be a non-negative integer (got 'offset')"));
        await t.rejects(loop.sockSendfile(sock, file, -1), new ValueError('offset must be a non-negative integer (got -1)'));
        await t.rejects(loop.sockSendfile(sock, file, 1.5), TypeError);
        await t.rejects(loop.sockSendfile(sock, file, 0, bad('count')), new TypeError("count must be a positive integer (got 'count')"));
        await t.rejects(loop.sockSendfile(sock, file, 0, -1), new ValueError('count must be a positive integer (got -1)'));
        await t.rejects(loop.sockSendfile(sock, file, 0, 0), ValueError);
        const udp = new Socket(socket.AF_INET, socket.SOCK_DGRAM);
        udp.setblocking(false);
        await t.rejects(loop.sockSendfile(udp, file), new ValueError('only SOCK_STREAM type sockets are supported'));
        udp.close();
        await t.rejects(loop.sockSendfile(bad(3), file), TypeError);
        await t.rejects(loop.sockSendfile(sock, bad('file')), TypeError, 'no descriptor, no readinto()');
        await t.rejects(loop.sockSendfile(sock, bad('file'), 0, null, { fallback: false }), SendfileNotAvailableError);
        await t.rejects(loop.sockSendfile(sock, -1), ValueError, 'a negative descriptor');
        // A number no descriptor has (a just-closed one may be reused at once).
        await t.rejects(loop.sockSendfile(sock, NOT_OPEN), { name: 'OSError', code: 'EBADF' }, 'a descriptor not open');
        await t.rejects(loop.sockSendfile(sock, NOT_OPEN, 0, null, { fallback: false }), new SendfileNotAvailableError('not a regular file'));
        const d = fs.openSync(dir, 'r');
        await t.rejects(loop.sockSendfile(sock, d), { name: 'IsADirectoryError' }, 'a directory');
        fs.closeSync(d);
        await t.rejects(loop.sendfile(bad(null), file), TypeError);
        await t.rejects(loop.sendfile(bad({ isClosing: () => false }), file), RuntimeError);
        const blocking = new Socket(socket.AF_INET, socket.SOCK_STREAM);
        loop.setDebug(true);
        await t.rejects(loop.sockSendfile(blocking, file), new ValueError('the socket must be non-blocking'));
        loop.setDebug(false);
        blocking.close();
        t.equal(os.lseek(file, 0, os.SEEK_CUR), 0, 'nothing moved the file');
        t.ok(OSError);
      });
    });

    if (big) {
      t.test('a 64 MiB file, native and with the fallback forced, byte for byte', async (t) => {
        const bigPath = path.join(dir, 'big');
        const content = randomBytes(64 * 1024 * 1024);
        fs.writeFileSync(bigPath, content);
        const want = createHash('sha256').update(content).digest('hex');
        for (const forced of [false, true]) {
          const srv = new Recv();
          srv.chunks = null;
          await withServer(t, srv, async (loop, port) => {
            const fh = await fs.promises.open(bigPath, 'r');
            const sock = await client(t, loop, port);
            const f = forced ? noFdFile(fh.fd) : fh;
            t.equal(await loop.sockSendfile(sock, f), content.length, `sockSendfile, fallback forced: ${forced}`);
            sock.close();
            await srv.done.promise;
            t.equal(srv.nbytes, content.length);
            t.equal(srv.hash.digest('hex'), want, 'sha256');
            await fh.close();
          });
        }
        fs.rmSync(bigPath);
      });
    }
  });
}

const bad = (x: unknown): any => x;
const NOT_OPEN = 2 ** 30;
BACKENDS.forEach((b, i) => suite(b, i === 0));
