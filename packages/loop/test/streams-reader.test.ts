// streams.ts: CPython 3.11 test_asyncio/test_streams.py, case by case:
// StreamReader's read() and readline() cases, which feed it by hand (as
// CPython does, with callbacks scheduled by callSoon on a loop).
import t from 'tap';
import { StreamReader, ValueError, DEFAULT_LIMIT } from '@iomux/loop';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { DATA, b, buffered, loopFor } from './streams-support.js';

checkNoFdLeak(t);

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
});
