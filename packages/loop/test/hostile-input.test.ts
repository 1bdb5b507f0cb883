// What the fuzzer found in the loop (issue 17), one case each: a protocol
// factory that throws leaks no socket; arguments that are not what they
// should be are TypeError before anything starts; an error message never
// stringifies a huge or hostile value.
import t from 'tap';
import { EventLoop, Server, StreamReader, startServer } from '@iomux/loop';
import { selectorClass } from '@iomux/selectors';
import { fromErrno, OSError, socketpair } from '@iomux/core-native';
import { checkNoFdLeak, fdCount } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const bad = (x: unknown): any => x;
/** A sparse array whose String() would be 4 GB of commas. */
const huge = new Array(2 ** 32 - 1);

t.test('createConnection: a protocol factory that throws closes the connected socket', async (t) => {
  const loop = new EventLoop();
  await loop.runUntilComplete(async () => {
    const server = await loop.createServer(() => ({}), '127.0.0.1', 0);
    const port = server.address()!.port;
    // After a first idle wait: its watch holds a descriptor (native/wait.cc).
    await new Promise((r) => setTimeout(r, 20));
    const before = fdCount();
    await t.rejects(loop.createConnection(() => { throw new RangeError('factory'); }, '127.0.0.1', port), { message: 'factory' });
    await t.rejects(loop.createConnection(bad(5), '127.0.0.1', port), TypeError, 'a factory that is no function: TypeError, before connecting');
    // The server side sees the client's close and lets go of its socket too.
    for (let i = 0; i < 100 && fdCount() > before; i++) await new Promise((r) => setTimeout(r, 10));
    t.equal(fdCount(), before, 'no descriptor left from the failed connections');
    server.close();
    await server.waitClosed();
    t.pass('waitClosed() settles');
  });
  loop.close();
});

t.test('callables and byte arguments are checked up front', async (t) => {
  const loop = new EventLoop();
  await loop.runUntilComplete(async () => {
    await t.rejects(loop.createServer(bad(5), '127.0.0.1', 0), TypeError);
    await t.rejects(startServer(bad({}), '127.0.0.1', 0), TypeError);
    const [a, b] = socketpair();
    a.setblocking(false);
    await t.rejects(loop.sockSendall(a, bad(5)), { name: 'TypeError', message: "a bytes-like object is required, not 'int'" });
    a.close();
    b.close();
  });
  loop.close();
});

t.test('error messages describe huge values instead of stringifying them', async (t) => {
  const loop = new EventLoop();
  t.throws(() => loop.callSoon(bad(huge)), { name: 'TypeError', message: /got <list object>$/ });
  t.throws(() => loop.setExceptionHandler(bad(huge)), { name: 'TypeError', message: /got <list object>$/ });
  t.throws(() => loop.removeSignalHandler(bad(huge)), TypeError);
  loop.close();
  t.equal(new OSError(bad(huge)).message, '<list object>');
  t.match(fromErrno(9, bad(huge)).message, /^\[Errno 9\] <list object>$/);
  t.equal(new OSError('a message').message, 'a message', 'a string message is kept as it is');
  const reader = new StreamReader();
  t.equal(reader.feedData.length, 1);
});

t.test('transport limits and extra info with hostile arguments', async (t) => {
  const loop = new EventLoop();
  await loop.runUntilComplete(async () => {
    const server = await loop.createServer(() => ({}), '127.0.0.1', 0);
    const [transport] = await loop.createConnection(() => ({}), '127.0.0.1', server.address()!.port);
    t.throws(() => transport.setWriteBufferLimits(100, bad(huge)), TypeError);
    t.throws(() => transport.setWriteBufferLimits(bad('x')), TypeError);
    t.throws(() => transport.setWriteBufferLimits(10, 100), { name: 'ValueError', message: 'high (10) must be >= low (100) must be >= 0' });
    t.equal(transport.getExtraInfo(bad(huge), 'dflt'), 'dflt', 'a name that is no string has no value');
    t.same(transport.getExtraInfo('peername'), ['127.0.0.1', server.address()!.port]);
    transport.close();
    server.close();
    await server.waitClosed();
  });
  loop.close();
});

t.test('a Server made by hand checks its sockets; close() always lets waitClosed() settle', async (t) => {
  const loop = new EventLoop();
  t.throws(() => new Server(loop, bad({ signal: null }), () => ({}), 5), TypeError);
  t.throws(() => new Server(loop, bad([5]), () => ({}), 5), TypeError);
  const [a, b] = socketpair();
  const endless = new Proxy([a], { get: (target, key) => (key === 'length' ? 2 ** 53 - 1 : typeof key === 'string' && /^\d+$/.test(key) ? a : Reflect.get(target, key)) });
  t.throws(() => new Server(loop, bad(endless), () => ({}), 5), TypeError, 'a Proxy of endless sockets is refused, not walked');
  a.close();
  b.close();
  t.throws(() => new Server(loop, [], bad('f'), 5), TypeError);
  const empty = new Server(loop, [], () => ({}), 5);
  empty.close();
  await empty.waitClosed();
  t.pass('an empty server closes and settles');
  loop.close();
});

t.test('selectorClass(name) takes a string', async (t) => {
  t.throws(() => selectorClass(bad(huge)), { name: 'TypeError', message: "backend must be a name, not 'list'" });
  t.throws(() => selectorClass('bogus'), { name: 'ValueError' });
});
