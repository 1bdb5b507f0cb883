// streams.ts: CPython 3.11 test_asyncio/test_streams.py, case by case:
// StreamReader's readuntil() and readexactly() cases, its exceptions and
// waiters, and the error classes; the reader is fed by hand (as CPython
// does, with callbacks scheduled by callSoon on a loop).
import t from 'tap';
import {
  IncompleteReadError,
  LimitOverrunError,
  StreamReader,
  StreamReaderProtocol,
  ValueError,
} from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { DATA, b, bad, buffered, loopFor } from './streams-support.js';

checkNoFdLeak(t);

t.test('StreamReader', async (t) => {
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
