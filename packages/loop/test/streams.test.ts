// streams.ts: CPython 3.11 test_asyncio/test_streams.py, case by case.
// StreamReader's cases feed it by hand (as CPython does, with callbacks
// scheduled by callSoon on a loop); the connection cases (open_connection,
// start_server, drain, wait_closed) run on every backend against a Node net
// server standing in for CPython's test HTTP server.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  EventLoop,
  IncompleteReadError,
  LimitOverrunError,
  StreamReader,
  StreamReaderProtocol,
  StreamWriter,
  ValueError,
  DEFAULT_LIMIT,
  openConnection,
  startServer,
  type Server,
} from '@iomux/loop';
import { Socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { echoUntilEof } from '../../../test/support/workers.js';
import { BACKENDS, collectExceptions, future, runBriefly, sleep, testHttpServer, tick, waitFor } from './helpers.js';

checkNoFdLeak(t);

const DATA = Buffer.from('line1\nline2\nline3\n');
const bad = (x: unknown): any => x;
const b = (s: string): Buffer => Buffer.from(s);
const buffered = (s: StreamReader): string => s._buffer.view().toString();

/** A loop for the StreamReader cases, closed by the teardown. */
function loopFor(t: Test): EventLoop {
  const loop = new EventLoop();
  t.teardown(() => {
    if (!loop.isClosed()) loop.close();
  });
  return loop;
}

t.test('StreamReader', async (t) => {
  t.test('test_feed_empty_data', async (t) => {
    const stream = new StreamReader();
    stream.feedData(b(''));
    t.equal(buffered(stream), '');
  });

  t.test('test_feed_nonempty_data', async (t) => {
    const stream = new StreamReader();
    stream.feedData(DATA);
    t.equal(buffered(stream), DATA.toString());
  });

  t.test('test_read_zero', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(DATA);
    const data = await loop.runUntilComplete(stream.read(0));
    t.equal(data.toString(), '');
    t.equal(buffered(stream), DATA.toString());
  });

  t.test('test_read', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const readTask = stream.read(30);
    loop.callSoon(() => stream.feedData(DATA));
    const data = await loop.runUntilComplete(readTask);
    t.ok(data.equals(DATA));
    t.equal(buffered(stream), '');
  });

  t.test('test_read_line_breaks', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('line1'));
    stream.feedData(b('line2'));
    const data = await loop.runUntilComplete(stream.read(5));
    t.equal(data.toString(), 'line1');
    t.equal(buffered(stream), 'line2');
  });

  t.test('test_read_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const readTask = stream.read(1024);
    loop.callSoon(() => stream.feedEof());
    const data = await loop.runUntilComplete(readTask);
    t.equal(data.length, 0);
    t.equal(buffered(stream), '');
  });

  t.test('test_read_until_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const readTask = stream.read(-1);
    loop.callSoon(() => {
      stream.feedData(b('chunk1\n'));
      stream.feedData(b('chunk2'));
      stream.feedEof();
    });
    const data = await loop.runUntilComplete(readTask);
    t.equal(data.toString(), 'chunk1\nchunk2');
    t.equal(buffered(stream), '');
  });

  t.test('test_read_exception', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('line\n'));
    const data = await loop.runUntilComplete(stream.read(2));
    t.equal(data.toString(), 'li');
    stream.setException(new ValueError('boom'));
    await t.rejects(loop.runUntilComplete(stream.read(2)), { name: 'ValueError', message: 'boom' });
  });

  t.test('test_invalid_limit', async (t) => {
    t.throws(() => new StreamReader(0), { name: 'ValueError', message: /imit/ });
    t.throws(() => new StreamReader(-1), { name: 'ValueError', message: /imit/ });
    t.equal(new StreamReader()._limit, DEFAULT_LIMIT);
    t.equal(DEFAULT_LIMIT, 65536);
  });

  t.test('test_read_limit', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader(3);
    stream.feedData(b('chunk'));
    const data = await loop.runUntilComplete(stream.read(5));
    t.equal(data.toString(), 'chunk');
    t.equal(buffered(stream), '');
  });

  t.test('test_readline', async (t) => {
    // 'readline' waits for the data to come from 'cb'.
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('chunk1 '));
    const readTask = stream.readline();
    loop.callSoon(() => {
      stream.feedData(b('chunk2 '));
      stream.feedData(b('chunk3 '));
      stream.feedData(b('\n chunk4'));
    });
    const line = await loop.runUntilComplete(readTask);
    t.equal(line.toString(), 'chunk1 chunk2 chunk3 \n');
    t.equal(buffered(stream), ' chunk4');
  });

  t.test('test_readline_limit_with_existing_data', async (t) => {
    const loop = loopFor(t);
    let stream = new StreamReader(3);
    stream.feedData(b('li'));
    stream.feedData(b('ne1\nline2\n'));
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    // The buffer should contain the remaining data after the exception.
    t.equal(buffered(stream), 'line2\n');

    stream = new StreamReader(3);
    stream.feedData(b('li'));
    stream.feedData(b('ne1'));
    stream.feedData(b('li'));
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    // No '\n' at the end; the whole buffer was consumed.
    t.equal(buffered(stream), '');
  });

  t.test('test_at_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    t.notOk(stream.atEof());
    stream.feedData(b('some data\n'));
    t.notOk(stream.atEof());
    await loop.runUntilComplete(stream.readline());
    t.notOk(stream.atEof());
    stream.feedData(b('some data\n'));
    stream.feedEof();
    await loop.runUntilComplete(stream.readline());
    t.ok(stream.atEof());
  });

  t.test('test_readline_limit', async (t) => {
    const loop = loopFor(t);
    let stream = new StreamReader(7);
    let s1 = stream;
    loop.callSoon(() => {
      s1.feedData(b('chunk1'));
      s1.feedData(b('chunk2'));
      s1.feedData(b('chunk3\n'));
      s1.feedEof();
    });
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    // The buffer had just one line of data, and after the ValueError it is empty.
    t.equal(buffered(stream), '');

    stream = new StreamReader(7);
    s1 = stream;
    loop.callSoon(() => {
      s1.feedData(b('chunk1'));
      s1.feedData(b('chunk2\n'));
      s1.feedData(b('chunk3\n'));
      s1.feedEof();
    });
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    t.equal(buffered(stream), 'chunk3\n');

    // check strictness of the limit
    stream = new StreamReader(7);
    stream.feedData(b('1234567\n'));
    const line = await loop.runUntilComplete(stream.readline());
    t.equal(line.toString(), '1234567\n');
    t.equal(buffered(stream), '');

    stream.feedData(b('12345678\n'));
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    t.equal(buffered(stream), '');

    stream.feedData(b('12345678'));
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    t.equal(buffered(stream), '');
  });

  t.test('test_readline_nolimit_nowait', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(DATA.subarray(0, 6));
    stream.feedData(DATA.subarray(6));
    const line = await loop.runUntilComplete(stream.readline());
    t.equal(line.toString(), 'line1\n');
    t.equal(buffered(stream), 'line2\nline3\n');
  });

  t.test('test_readline_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('some data'));
    stream.feedEof();
    const line = await loop.runUntilComplete(stream.readline());
    t.equal(line.toString(), 'some data');
  });

  t.test('test_readline_empty_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedEof();
    const line = await loop.runUntilComplete(stream.readline());
    t.equal(line.length, 0);
  });

  t.test('test_readline_read_byte_count', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(DATA);
    await loop.runUntilComplete(stream.readline());
    const data = await loop.runUntilComplete(stream.read(7));
    t.equal(data.toString(), 'line2\nl');
    t.equal(buffered(stream), 'ine3\n');
  });

  t.test('test_readline_exception', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('line\n'));
    const data = await loop.runUntilComplete(stream.readline());
    t.equal(data.toString(), 'line\n');
    stream.setException(new ValueError());
    await t.rejects(loop.runUntilComplete(stream.readline()), { name: 'ValueError' });
    t.equal(buffered(stream), '');
  });

  t.test('test_readuntil_separator', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    await t.rejects(loop.runUntilComplete(stream.readuntil(b(''))), { name: 'ValueError', message: /Separator should be/ });
  });

  t.test('test_readuntil_multi_chunks', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('lineAAA'));
    let data = await loop.runUntilComplete(stream.readuntil(b('AAA')));
    t.equal(data.toString(), 'lineAAA');
    t.equal(buffered(stream), '');

    stream.feedData(b('lineAAA'));
    data = await loop.runUntilComplete(stream.readuntil('AAA'));
    t.equal(data.toString(), 'lineAAA');
    t.equal(buffered(stream), '');

    stream.feedData(b('lineAAAxxx'));
    data = await loop.runUntilComplete(stream.readuntil(b('AAA')));
    t.equal(data.toString(), 'lineAAA');
    t.equal(buffered(stream), 'xxx');
  });

  t.test('test_readuntil_multi_chunks_1', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const cases: Array<[string[], string]> = [
      [['QWEaa', 'XYaa', 'a'], 'QWEaaXYaaa'],
      [['QWEaa', 'XYa', 'aa'], 'QWEaaXYaaa'],
      [['aaa'], 'aaa'],
      [['Xaaa'], 'Xaaa'],
      [['XXX', 'a', 'a', 'a'], 'XXXaaa'],
    ];
    for (const [chunks, want] of cases) {
      for (const c of chunks) stream.feedData(b(c));
      const data = await loop.runUntilComplete(stream.readuntil(b('aaa')));
      t.equal(data.toString(), want);
      t.equal(buffered(stream), '');
    }
  });

  t.test('test_readuntil_multi_chunks, fed while waiting', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const p = stream.readuntil(b('aaa'));
    loop.callSoon(() => stream.feedData(b('QWEaa')));
    loop.callLater(0.005, () => stream.feedData(b('XYa')));
    loop.callLater(0.01, () => stream.feedData(b('aa rest')));
    t.equal((await loop.runUntilComplete(p)).toString(), 'QWEaaXYaaa');
    t.equal(buffered(stream), ' rest');
  });

  t.test('test_readuntil_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const data = b('some dataAA');
    stream.feedData(data);
    stream.feedEof();
    const err = (await loop.runUntilComplete(stream.readuntil(b('AAA'))).catch((e: unknown) => e)) as IncompleteReadError;
    t.type(err, IncompleteReadError);
    t.match(err.message, /undefined expected bytes/);
    t.ok(err.partial.equals(data));
    t.equal(err.expected, null);
    t.equal(buffered(stream), '');
  });

  t.test('test_readuntil_limit_found_sep', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader(3);
    stream.feedData(b('some dataAA'));
    const e1 = (await loop.runUntilComplete(stream.readuntil(b('AAA'))).catch((e: unknown) => e)) as LimitOverrunError;
    t.type(e1, LimitOverrunError);
    t.match(e1.message, /not found/);
    t.equal(buffered(stream), 'some dataAA');
    stream.feedData(b('A'));
    const e2 = (await loop.runUntilComplete(stream.readuntil(b('AAA'))).catch((e: unknown) => e)) as LimitOverrunError;
    t.type(e2, LimitOverrunError);
    t.match(e2.message, /is found/);
    t.equal(e2.consumed, 9);
    t.equal(buffered(stream), 'some dataAAA');
  });

  t.test('test_readexactly_zero_or_less', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(DATA);
    const data = await loop.runUntilComplete(stream.readexactly(0));
    t.equal(data.length, 0);
    t.equal(buffered(stream), DATA.toString());
    await t.rejects(loop.runUntilComplete(stream.readexactly(-1)), { name: 'ValueError', message: /less than zero/ });
    t.equal(buffered(stream), DATA.toString());
  });

  t.test('test_readexactly', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const n = 2 * DATA.length;
    const readTask = stream.readexactly(n);
    loop.callSoon(() => {
      stream.feedData(DATA);
      stream.feedData(DATA);
      stream.feedData(DATA);
    });
    const data = await loop.runUntilComplete(readTask);
    t.ok(data.equals(Buffer.concat([DATA, DATA])));
    t.equal(buffered(stream), DATA.toString());
  });

  t.test('test_readexactly_limit', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader(3);
    stream.feedData(b('chunk'));
    const data = await loop.runUntilComplete(stream.readexactly(5));
    t.equal(data.toString(), 'chunk');
    t.equal(buffered(stream), '');
  });

  t.test('test_readexactly_eof', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const n = 2 * DATA.length;
    const readTask = stream.readexactly(n);
    loop.callSoon(() => {
      stream.feedData(DATA);
      stream.feedEof();
    });
    const err = (await loop.runUntilComplete(readTask).catch((e: unknown) => e)) as IncompleteReadError;
    t.type(err, IncompleteReadError);
    t.equal(err.name, 'IncompleteReadError');
    t.ok(err.partial.equals(DATA));
    t.equal(err.expected, n);
    t.equal(err.message, '18 bytes read on a total of 36 expected bytes');
    t.equal(buffered(stream), '');
  });

  t.test('test_readexactly_exception', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    stream.feedData(b('line\n'));
    const data = await loop.runUntilComplete(stream.readexactly(2));
    t.equal(data.toString(), 'li');
    stream.setException(new ValueError());
    await t.rejects(loop.runUntilComplete(stream.readexactly(2)), { name: 'ValueError' });
  });

  t.test('test_exception', async (t) => {
    const stream = new StreamReader();
    t.equal(stream.exception(), null);
    const exc = new ValueError();
    stream.setException(exc);
    t.equal(stream.exception(), exc);
    // Python's set_exception(None): later reads raise nothing.
    const none = new StreamReader();
    none.feedData(b('ab\n'));
    none.setException(undefined);
    t.equal((await none.readexactly(1)).toString(), 'a');
    t.equal((await none.readline()).toString(), 'b\n');
  });

  t.test('test_exception_waiter', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const t1 = stream.readline();
    loop.callSoon(() => stream.setException(new ValueError('waiter')));
    await t.rejects(loop.runUntilComplete(t1), { name: 'ValueError', message: 'waiter' });
  });

  t.test('a second reader while one waits is RuntimeError', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    const first = stream.readline();
    await t.rejects(stream.read(10), {
      name: 'RuntimeError',
      message: 'read() called while another coroutine is already waiting for incoming data',
    });
    await t.rejects(stream.readexactly(10), { name: 'RuntimeError', message: /^readexactly\(\) called while another/ });
    stream.feedData(b('x\n'));
    t.equal((await loop.runUntilComplete(first)).toString(), 'x\n');
  });


  t.test('a waiting read(n) is settled by what is fed, and blocks other readers', async (t) => {
    const stream = new StreamReader();
    const first = stream.read(4);
    await t.rejects(stream.read(1), { name: 'RuntimeError', message: /^read\(\) called while another/ });
    await t.rejects(stream.readline(), { name: 'RuntimeError', message: /^readuntil\(\) called while another/ });
    stream.feedData(b('abcdef'));
    t.equal((await first).toString(), 'abcd', 'at most n bytes');
    t.equal(buffered(stream), 'ef', 'the rest stays buffered');
    t.equal((await stream.read(10)).toString(), 'ef');

    const atEof = stream.read(4);
    stream.feedEof();
    t.equal((await atEof).length, 0, 'EOF settles it with an empty Buffer');

    const failing = new StreamReader();
    const pending = failing.read(4);
    failing.setException(new ValueError('broken'));
    await t.rejects(pending, { name: 'ValueError', message: 'broken' });
  });

  t.test("a waiting read(n) gets the transport's Buffer itself when it fits", async (t) => {
    const stream = new StreamReader();
    const fits = Buffer.from('hello');
    const first = stream.read(5);
    stream._feedOwned(fits);
    t.equal(await first, fits, 'the same Buffer, no copy');

    const big = Buffer.from('0123456789');
    const second = stream.read(4);
    stream._feedOwned(big);
    const got = await second;
    t.not(got, big);
    t.equal(got.toString(), '0123');
    t.equal(buffered(stream), '456789');
    big.fill(0);
    t.equal(buffered(stream), '456789', 'what stays buffered is a copy');

    // Nobody waiting: buffered as feedData() does.
    const idle = new StreamReader();
    idle._feedOwned(Buffer.from('xy'));
    t.equal(buffered(idle), 'xy');
    idle.feedEof();
    t.throws(() => idle._feedOwned(Buffer.from('z')), { name: 'RuntimeError', message: 'feed_data after feed_eof' });
  });
  t.test('feedData after feedEof is RuntimeError', async (t) => {
    const stream = new StreamReader();
    stream.feedEof();
    t.throws(() => stream.feedData(b('x')), { name: 'RuntimeError', message: 'feed_data after feed_eof' });
  });

  // Issue 17, defect 3: sizes are integers and data is bytes, as asyncio's
  // slicing and bytearray.extend() require (TypeError there too).
  t.test('read(n), readexactly(n), feedData() and the limit check their arguments', async (t) => {
    const stream = new StreamReader();
    stream.feedData(DATA);
    for (const n of [{}, NaN, 1.5, '5', Infinity, Symbol('n'), null]) {
      await t.rejects(stream.read(bad(n)), TypeError, `read(${String(n)})`);
      await t.rejects(stream.readexactly(bad(n)), TypeError, `readexactly(${String(n)})`);
    }
    t.equal(buffered(stream), DATA.toString(), 'nothing consumed by the refused calls');
    t.equal((await stream.read(bad(2n))).toString(), DATA.subarray(0, 2).toString(), 'a bigint size is an int');
    t.equal((await stream.read(2 ** 53)).length, DATA.length - 2, 'a huge size takes what is there');
    t.throws(() => stream.feedData(bad([1, 2, 3])), { name: 'TypeError', message: "a bytes-like object is required, not 'list'" });
    t.throws(() => stream.feedData(bad('abc')), TypeError);
    stream.feedData(new Uint16Array([0x4241]));
    t.equal(buffered(stream).length, 2, 'any byte view is fed as its bytes');
    await t.rejects(stream.readuntil(bad(5)), TypeError);
    t.throws(() => new StreamReader(bad('5')), TypeError);
    t.throws(() => new StreamReader(NaN), TypeError);
    t.throws(() => new StreamReader(0), { name: 'ValueError', message: 'Limit cannot be <= 0' });
  });

  t.test('async iteration yields lines until EOF', async (t) => {
    const loop = loopFor(t);
    const stream = new StreamReader();
    loop.callSoon(() => {
      stream.feedData(b('a\nbb\nc'));
      stream.feedEof();
    });
    const lines = await loop.runUntilComplete(async () => {
      const out: string[] = [];
      for await (const line of stream) out.push(line.toString());
      return out;
    });
    t.same(lines, ['a\n', 'bb\n', 'c']);
  });

  t.test('test_multiple_drain', async (t) => {
    // https://github.com/python/cpython/issues/74116
    const loop = loopFor(t);
    let drained = 0;
    await loop.runUntilComplete(async () => {
      const stream = new StreamReaderProtocol(new StreamReader(), null, loop);
      stream.pauseWriting();
      loop.callLater(0.1, () => stream.resumeWriting());
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          await stream._drainHelper();
          drained++;
        }),
      );
    });
    t.equal(drained, 10);
  });

  t.test('IncompleteReadError and LimitOverrunError', async (t) => {
    const e = new IncompleteReadError(b('abc'), 10);
    t.equal(e.message, '3 bytes read on a total of 10 expected bytes');
    t.equal(e.name, 'IncompleteReadError');
    t.type(e, Error);
    t.equal(new IncompleteReadError(b(''), null).message, '0 bytes read on a total of undefined expected bytes');
    const huge = new IncompleteReadError(b('ab'), Array(2 ** 32 - 1) as never);
    t.equal(huge.message, '2 bytes read on a total of <list object> expected bytes', 'a hostile expected: no RangeError');
    const l = new LimitOverrunError('message', 10);
    t.equal(l.name, 'LimitOverrunError');
    t.equal(l.consumed, 10);
  });
});

// ------------------------------------------------------------ connections

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const newLoop = (): EventLoop => {
      const loop = new EventLoop({ selector: backend });
      t.teardown(() => {
        if (!loop.isClosed() && !loop.isRunning()) loop.close();
      });
      return loop;
    };

    t.test('test_open_connection', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const [reader, writer] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      writer.write(b('GET / HTTP/1.0\r\n\r\n'));
      const line = await loop.runUntilComplete(reader.readline());
      t.equal(line.toString(), 'HTTP/1.0 200 OK\r\n');
      const data = await loop.runUntilComplete(reader.read());
      t.ok(data.toString().endsWith('\r\n\r\nTest message'));
      writer.close();
      await runBriefly(loop);
      t.same(messages, []);
    });

    t.test('openConnection outside a running loop is RuntimeError', async (t) => {
      await t.rejects(openConnection('127.0.0.1', 1), { name: 'RuntimeError', message: 'no running event loop' });
      await t.rejects(
        startServer(() => {}, '127.0.0.1', 0),
        { name: 'RuntimeError', message: 'no running event loop' },
      );
    });

    t.test('test_open_connection_error', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const [reader, writer] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      class ZeroDivisionError extends Error {
        override name = 'ZeroDivisionError';
      }
      writer._protocol.connectionLost(new ZeroDivisionError());
      await t.rejects(loop.runUntilComplete(reader.read()), { name: 'ZeroDivisionError' });
      writer.close();
      await runBriefly(loop);
      t.same(messages, []);
    });

    t.test('test_start_server', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const handleClient = async (r: StreamReader, w: StreamWriter): Promise<void> => {
        const data = await r.readline();
        w.write(data);
        await w.drain();
        w.close();
        await w.waitClosed();
      };
      const client = async (port: number): Promise<Buffer> => {
        const [r, w] = await openConnection('127.0.0.1', port);
        // send a line
        w.write(b('hello world!\n'));
        // read it back
        const msgback = await r.readline();
        w.close();
        await w.waitClosed();
        return msgback;
      };
      const stop = async (server: Server): Promise<void> => {
        server.close();
        await server.waitClosed();
      };
      // the server variant with a coroutine as client handler
      let msg = await loop.runUntilComplete(async () => {
        const server = await startServer(handleClient, '127.0.0.1', 0);
        const m = await client(server.address()!.port);
        await stop(server);
        return m;
      });
      t.equal(msg.toString(), 'hello world!\n');
      // the server variant with a callback as client handler
      msg = await loop.runUntilComplete(async () => {
        const server = await startServer(
          (r, w) => {
            void handleClient(r, w);
          },
          '127.0.0.1',
          0,
        );
        const m = await client(server.address()!.port);
        await stop(server);
        return m;
      });
      t.equal(msg.toString(), 'hello world!\n');
      t.same(messages, []);
    });

    t.test('a client_connected_cb that throws is reported and its connection closed', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const eof = await loop.runUntilComplete(async () => {
        const server = await startServer(
          async () => {
            throw new Error('handler failed');
          },
          '127.0.0.1',
          0,
        );
        const [r, w] = await openConnection('127.0.0.1', server.address()!.port);
        const data = await r.read();
        w.close();
        server.close();
        await server.waitClosed();
        return data.length === 0;
      });
      t.ok(eof, 'the client saw EOF');
      t.equal(messages.length, 1);
      t.equal(messages[0]!.message, 'Unhandled exception in client_connected_cb');
      t.equal((messages[0]!.exception as Error).message, 'handler failed');
    });

    t.test('test_drain_raises', async (t) => {
      // http://bugs.python.org/issue25441: drain() must not loop forever
      // when the server side has closed the socket. CPython's server is a
      // thread that accepts and closes; here a plain socket does that as
      // soon as the client is connected (a Node server could not run while
      // the writer never waits).
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const listener = new Socket();
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      t.teardown(() => listener.close());
      const [, port] = listener.getsockname() as [string, number];
      await t.rejects(
        loop.runUntilComplete(async () => {
          const [, writer] = await openConnection('127.0.0.1', port);
          const [clt] = listener.accept();
          clt.close();
          for (;;) {
            writer.write(b('foo\n'));
            await writer.drain();
          }
        }),
        { name: /^(ConnectionResetError|ConnectionAbortedError|BrokenPipeError)$/ },
      );
      await runBriefly(loop);
      t.same(messages, []);
    });

    t.test('test_wait_closed_on_close', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const [rd, wr] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      wr.write(b('GET / HTTP/1.0\r\n\r\n'));
      t.equal((await loop.runUntilComplete(rd.readline())).toString(), 'HTTP/1.0 200 OK\r\n');
      t.ok((await loop.runUntilComplete(rd.read())).toString().endsWith('\r\n\r\nTest message'));
      t.notOk(wr.isClosing());
      wr.close();
      t.ok(wr.isClosing());
      await loop.runUntilComplete(wr.waitClosed());
    });

    t.test('test_wait_closed_on_close_with_unread_data', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const [rd, wr] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      wr.write(b('GET / HTTP/1.0\r\n\r\n'));
      t.equal((await loop.runUntilComplete(rd.readline())).toString(), 'HTTP/1.0 200 OK\r\n');
      wr.close();
      await loop.runUntilComplete(wr.waitClosed());
    });

    t.test('test_async_writer_api', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const [rd, wr] = await openConnection(httpd.host, httpd.port);
        wr.write(b('GET / HTTP/1.0\r\n\r\n'));
        t.equal((await rd.readline()).toString(), 'HTTP/1.0 200 OK\r\n');
        t.ok((await rd.read()).toString().endsWith('\r\n\r\nTest message'));
        wr.close();
        await wr.waitClosed();
      });
      t.same(messages, []);
    });

    t.test('test_async_writer_api_exception_after_close', async (t) => {
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      await loop.runUntilComplete(async () => {
        const [rd, wr] = await openConnection(httpd.host, httpd.port);
        wr.write(b('GET / HTTP/1.0\r\n\r\n'));
        t.equal((await rd.readline()).toString(), 'HTTP/1.0 200 OK\r\n');
        t.ok((await rd.read()).toString().endsWith('\r\n\r\nTest message'));
        wr.close();
        await t.rejects(async () => {
          wr.write(b('data'));
          await wr.drain();
        }, { name: 'ConnectionResetError' });
      });
      t.same(messages, []);
    });

    t.test('test_eof_feed_when_closing_writer', async (t) => {
      // http://bugs.python.org/issue35065
      const httpd = await testHttpServer();
      t.teardown(() => httpd.close());
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const [rd, wr] = await loop.runUntilComplete(() => openConnection(httpd.host, httpd.port));
      wr.close();
      await loop.runUntilComplete(wr.waitClosed());
      t.ok(rd.atEof());
      t.equal((await loop.runUntilComplete(rd.read())).length, 0);
      t.same(messages, []);
    });

    t.test('half-close: the reader sees EOF and the writer still writes', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const reply = await loop.runUntilComplete(async () => {
        const server = await startServer(async (r, w) => {
          const all = await r.read(); // until EOF
          t.ok(r.atEof(), 'the server reader is at EOF');
          w.write(Buffer.concat([b('got '), all]));
          await w.drain();
          w.close();
        }, '127.0.0.1', 0);
        const [r, w] = await openConnection('127.0.0.1', server.address()!.port);
        t.ok(w.canWriteEof());
        w.write(b('half'));
        w.writeEof();
        const data = await r.read();
        w.close();
        await w.waitClosed();
        server.close();
        await server.waitClosed();
        return data;
      });
      t.equal(reply.toString(), 'got half');
      t.same(messages, []);
    });

    t.test("the reader's limit pauses the transport's reading and resumes it", async (t) => {
      const loop = newLoop();
      const payload = randomBytes(1 << 20);
      const sink = net.createServer((c) => {
        c.on('error', () => {});
        c.end(payload);
      });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
      t.teardown(() => new Promise<void>((r) => sink.close(() => r())));
      let pausedSeen = false;
      const got = await loop.runUntilComplete(async () => {
        const [r, w] = await openConnection('127.0.0.1', (sink.address() as net.AddressInfo).port, { limit: 1024 });
        await waitFor(loop, () => r._buffer.length > 2048, 10, 'data');
        await tick(loop);
        pausedSeen = !w.transport.isReading();
        t.ok(r._buffer.length <= 2 * 1024 + 256 * 1024, 'bounded by the limit (plus one read)');
        const parts: Buffer[] = [];
        for (;;) {
          const d = await r.read(4096);
          if (d.length === 0) break;
          parts.push(d);
        }
        w.close();
        return Buffer.concat(parts);
      });
      t.ok(pausedSeen, 'reading was paused over 2 * limit');
      t.ok(got.equals(payload));
    });

    t.test('many clients through startServer echo at once', async (t) => {
      const loop = newLoop();
      const messages = collectExceptions(loop);
      const ok = await loop.runUntilComplete(async () => {
        const server = await startServer(echoUntilEof, '127.0.0.1', 0);
        const port = server.address()!.port;
        const results = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const [r, w] = await openConnection('127.0.0.1', port);
            const msg = randomBytes(10_000 + i * 1000);
            w.write(msg);
            await w.drain();
            const back = await r.readexactly(msg.length);
            w.close();
            await w.waitClosed();
            return back.equals(msg);
          }),
        );
        await sleep(loop, 0.01);
        server.close();
        await server.waitClosed();
        return results.every(Boolean);
      });
      t.ok(ok);
      t.same(messages, []);
    });
  });
}

for (const backend of BACKENDS) suite(backend);
