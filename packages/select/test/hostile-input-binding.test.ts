// Hostile input, the native binding called directly: what the TypeScript
// layer never sends, refused with a clear error, never a crash; then the
// process is alive and holds exactly the descriptors it held before.
import t from 'tap';
import { binding, BlockingIOError, os, socket, OSError, ValueError, OverflowError } from '@iomux/core-native';
import { checkNoFdLeak, openFds } from '../../../test/support/fds.js';
import {
  EPOLLOUT,
  POLLOUT,
  raises,
  bad1,
  nat,
  closedPipe,
  withPipe,
  withEpoll,
} from './hostile-input-support.js';

checkNoFdLeak(t);
const initialFds = openFds();

// ----------------------------------------------- native backstops (binding)
// The TypeScript layer never sends these; the addon must still refuse them
// (TypeError / ValueError / OverflowError), never crash or touch memory it
// does not own.

const I32 = (n: number) => new Int32Array(n);
const raw = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
const detached = <T extends ArrayBufferView>(make: (ab: ArrayBuffer) => T): T => {
  const ab = new ArrayBuffer(16);
  const view = make(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
};

bad1('binding.select: a Uint32Array', () => nat(() => raw.select!(new Uint32Array(1), I32(0), I32(0), 0))(), TypeError, 'rlist must be an Int32Array');
bad1('binding.select: a plain array', () => nat(() => raw.select!(I32(0), [1], I32(0), 0))(), TypeError, 'wlist must be an Int32Array');
bad1('binding.select: no arguments', () => nat(() => raw.select!())(), TypeError, 'rlist must be an Int32Array');
bad1('binding.select: fd 1024 (FD_SET would write out of bounds)', nat(() => raw.select!(Int32Array.of(1024), I32(0), I32(0), 0)), ValueError, 'filedescriptor out of range in select()');
bad1('binding.select: fd INT_MAX in xlist', nat(() => raw.select!(I32(0), I32(0), Int32Array.of(2 ** 31 - 1), 0)), ValueError, 'filedescriptor out of range in select()');
bad1('binding.select: fd -1', nat(() => raw.select!(I32(0), Int32Array.of(-1), I32(0), 0)), ValueError, 'filedescriptor out of range in select()');
bad1('binding.select: timeout NaN', nat(() => raw.select!(I32(0), I32(0), I32(0), NaN)), TypeError, 'timeout must be an integer number of microseconds');
bad1('binding.select: timeout -2', nat(() => raw.select!(I32(0), I32(0), I32(0), -2)), OverflowError, 'timeout must be an integer number of microseconds');
bad1('binding.select: timeout 1e300', nat(() => raw.select!(I32(0), I32(0), I32(0), 1e300)), OverflowError, 'timeout must be an integer number of microseconds');
t.test('binding.select: SharedArrayBuffer-backed and detached arrays are safe', async (t) => {
  withPipe((r) => {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    shared[0] = r;
    t.equal(raw.select!(shared, I32(0), I32(0), 0), 0, 'a shared Int32Array is an Int32Array');
    t.equal(shared[0], -1, 'not ready: overwritten with -1');
    const gone = detached((ab) => new Int32Array(ab));
    t.equal(gone.length, 0);
    t.equal(raw.select!(gone, I32(0), I32(0), 0), 0, 'a detached array is empty');
  });
});
bad1('binding.poll: nfds larger than the array', nat(() => raw.poll!(I32(2), 2, 0, I32(4))), ValueError, 'nfds exceeds the pollfd array');
bad1('binding.poll: nfds past a subarray view', nat(() => raw.poll!(I32(8).subarray(6), 2, 0, I32(4))), ValueError, 'nfds exceeds the pollfd array');
bad1('binding.poll: nfds on a detached array', nat(() => raw.poll!(detached((ab) => new Int32Array(ab)), 1, 0, I32(2))), ValueError, 'nfds exceeds the pollfd array');
bad1('binding.poll: nfds -1', nat(() => raw.poll!(I32(2), -1, 0, I32(4))), OverflowError, 'nfds must be a non-negative integer');
bad1('binding.poll: nfds 2**31', nat(() => raw.poll!(I32(2), 2 ** 31, 0, I32(4))), OverflowError, 'nfds must be a non-negative integer');
bad1('binding.poll: nfds NaN', nat(() => raw.poll!(I32(2), NaN, 0, I32(4))), TypeError, 'nfds must be a non-negative integer');
bad1('binding.poll: timeout -2', nat(() => raw.poll!(I32(2), 0, -2, I32(4))), OverflowError, 'timeout must be an integer in [-1, INT_MAX] ms');
bad1('binding.poll: timeout 2**31', nat(() => raw.poll!(I32(2), 0, 2 ** 31, I32(4))), OverflowError, 'timeout must be an integer in [-1, INT_MAX] ms');
bad1('binding.poll: timeout 1.5', nat(() => raw.poll!(I32(2), 0, 1.5, I32(4))), TypeError, 'timeout must be an integer in [-1, INT_MAX] ms');
bad1('binding.poll: a Uint8Array pollfd array', nat(() => raw.poll!(new Uint8Array(8), 1, 0, I32(4))), TypeError, 'pollfds must be an Int32Array');
bad1('binding.poll: a Float32Array out', nat(() => raw.poll!(I32(2), 0, 0, new Float32Array(4))), TypeError, 'out must be an Int32Array');
t.test('binding.poll: an out array too small is truncated, never overrun', async (t) => {
  withPipe((r, w) => {
    const pfds = Int32Array.of(w, POLLOUT, w, POLLOUT);
    const out = new Int32Array(new ArrayBuffer(16), 8, 2); // one pair, at an offset
    const guard = new Int32Array(out.buffer, 0, 2);
    t.equal(raw.poll!(pfds, 2, 0, out), 1, 'one pair fits');
    t.same([...guard], [0, 0], 'bytes before the view untouched');
    t.equal(raw.poll!(pfds, 2, 0, I32(0)), 0, 'an empty out gets nothing');
    const shared = new Int32Array(new SharedArrayBuffer(8));
    t.equal(raw.poll!(Int32Array.of(w, POLLOUT), 1, 0, shared), 1, 'SharedArrayBuffer-backed out works');
    t.same([...shared], [w, POLLOUT]);
  });
});
bad1('binding.epoll_wait: maxevents larger than the out array', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 2, 0))()), ValueError, 'maxevents exceeds the output array');
bad1('binding.epoll_wait: a detached out array', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), detached((ab) => new Int32Array(ab)), 1, 0))()), ValueError, 'maxevents exceeds the output array');
bad1('binding.epoll_wait: maxevents 0', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 0, 0))()), OverflowError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: maxevents -1', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), -1, 0))()), OverflowError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: maxevents 2**31', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 2 ** 31, 0))()), OverflowError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: maxevents NaN', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), NaN, 0))()), TypeError, 'maxevents must be a positive integer');
bad1('binding.epoll_wait: epfd 2**31', nat(() => raw.epoll_wait!(2 ** 31, I32(2), 1, 0)), OverflowError, 'file descriptor is too large');
bad1('binding.epoll_wait: epfd 1e300', nat(() => raw.epoll_wait!(1e300, I32(2), 1, 0)), OverflowError, 'file descriptor is too large');
bad1('binding.epoll_wait: epfd -1', nat(() => raw.epoll_wait!(-1, I32(2), 1, 0)), ValueError, 'file descriptor cannot be a negative integer');
bad1('binding.epoll_wait: epfd NaN', nat(() => raw.epoll_wait!(NaN, I32(2), 1, 0)), TypeError, 'file descriptor must be an integer');
bad1('binding.epoll_wait: epfd a pipe', () => withPipe((r) => nat(() => raw.epoll_wait!(r, I32(4), 1, 0))()), OSError, '[Errno 22] Invalid argument', { errno: 22 });
bad1('binding.epoll_wait: a BigInt64Array out', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), new BigInt64Array(2), 1, 0))()), TypeError, 'out must be an Int32Array');
bad1('binding.epoll_wait: timeout -5', () => withEpoll((ep) => nat(() => raw.epoll_wait!(ep.fileno(), I32(2), 1, -5))()), OverflowError, 'timeout must be an integer in [-1, INT_MAX] ms');
t.test('binding.epoll_wait: a SharedArrayBuffer-backed out array works', async (t) => {
  withEpoll((ep, r, w) => {
    ep.register(w, EPOLLOUT);
    // One struct epoll_event, laid out as the kernel writes it.
    const layout = binding.epoll_event_layout!;
    const shared = new Int32Array(new SharedArrayBuffer(4 * layout.stride));
    t.equal(raw.epoll_wait!(ep.fileno(), shared, 1, 0), 1);
    t.equal(shared[layout.fd], w);
    t.equal(shared[layout.events], EPOLLOUT);
  });
});
bad1('binding.epoll_ctl: events -1', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, r, -1))()), OverflowError, 'events must be a 32-bit unsigned integer');
bad1('binding.epoll_ctl: events 2**32', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, r, 2 ** 32))()), OverflowError, 'events must be a 32-bit unsigned integer');
bad1('binding.epoll_ctl: events missing', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, r))()), TypeError, 'events must be a 32-bit unsigned integer');
bad1('binding.epoll_ctl: op 99', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 99, r, 1))()), OSError, '[Errno 22] Invalid argument', { errno: 22 });
bad1('binding.epoll_ctl: op 2**31', () => withEpoll((ep, r) => nat(() => raw.epoll_ctl!(ep.fileno(), 2 ** 31, r, 1))()), OverflowError, 'op must be an integer');
bad1('binding.epoll_ctl: fd 2**31', () => withEpoll((ep) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, 2 ** 31, 1))()), OverflowError, 'file descriptor is too large');
bad1('binding.epoll_ctl: fd -1', () => withEpoll((ep) => nat(() => raw.epoll_ctl!(ep.fileno(), 1, -1, 1))()), ValueError, 'file descriptor cannot be a negative integer');
bad1("binding.epoll_ctl: epfd '3'", nat(() => raw.epoll_ctl!('3', 1, 0, 1)), TypeError, 'file descriptor must be an integer');
bad1('binding.epoll_create1: flags NaN', nat(() => raw.epoll_create1!(NaN)), TypeError, 'flags must be an integer');
bad1('binding.epoll_create1: flags 2**31', nat(() => raw.epoll_create1!(2 ** 31)), OverflowError, 'flags must be an integer');
bad1('binding.read: offset + length past the buffer', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 2, 3))()), ValueError, 'buffer window out of range');
bad1('binding.read: offset past the buffer', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 5, 0))()), ValueError, 'buffer window out of range');
bad1('binding.read: length 2**53', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 0, 2 ** 53))()), ValueError, 'buffer window out of range');
bad1('binding.read: length 1e300', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 0, 1e300))()), OverflowError, 'length must be a non-negative integer');
bad1('binding.read: offset -1', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), -1, 1))()), OverflowError, 'offset must be a non-negative integer');
bad1('binding.read: length NaN', () => withPipe((r) => nat(() => raw.read!(r, Buffer.alloc(4), 0, NaN))()), TypeError, 'length must be a non-negative integer');
bad1('binding.read: a Float64Array window counts bytes', () => withPipe((r) => nat(() => raw.read!(r, new Float64Array(1), 0, 9))()), ValueError, 'buffer window out of range');
bad1('binding.read: a DataView window', () => withPipe((r) => nat(() => raw.read!(r, new DataView(new ArrayBuffer(4), 2), 0, 3))()), ValueError, 'buffer window out of range');
bad1('binding.read: a detached buffer', () => withPipe((r) => nat(() => raw.read!(r, detached((ab) => new Uint8Array(ab)), 0, 1))()), ValueError, 'buffer window out of range');
bad1('binding.read: a string buffer', () => withPipe((r) => nat(() => raw.read!(r, 'abcd', 0, 1))()), TypeError, 'buffer must be a Buffer or TypedArray');
bad1('binding.read: a bare ArrayBuffer', () => withPipe((r) => nat(() => raw.read!(r, new ArrayBuffer(4), 0, 1))()), TypeError, 'buffer must be a Buffer or TypedArray');
bad1('binding.read: fd 2**31', nat(() => raw.read!(2 ** 31, Buffer.alloc(4), 0, 1)), OverflowError, 'file descriptor is too large');
bad1('binding.read: fd -1', nat(() => raw.read!(-1, Buffer.alloc(4), 0, 1)), ValueError, 'file descriptor cannot be a negative integer');
bad1('binding.write: offset + length past the buffer', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(4), 3, 2))()), ValueError, 'buffer window out of range');
bad1('binding.write: length past a subarray view', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(16).subarray(8, 12), 0, 5))()), ValueError, 'buffer window out of range');
bad1('binding.write: a detached buffer', () => withPipe((r, w) => nat(() => raw.write!(w, detached((ab) => new Uint8Array(ab)), 0, 1))()), ValueError, 'buffer window out of range');
bad1('binding.write: length NaN', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(4), 0, NaN))()), TypeError, 'length must be a non-negative integer');
// 2**63 is (double)INT64_MAX: it passed the range check and its cast to
// int64_t was undefined behaviour (UBSan, npm run test:asan).
bad1('binding.write: offset 2**63', () => withPipe((r, w) => nat(() => raw.write!(w, Buffer.alloc(4), 2 ** 63, 1))()), OverflowError, 'offset must be a non-negative integer');
bad1('binding.write: fd 1e300', nat(() => raw.write!(1e300, Buffer.alloc(4), 0, 1)), OverflowError, 'file descriptor is too large');
t.test('binding.write: a SharedArrayBuffer-backed buffer works', async (t) => {
  withPipe((r, w) => {
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    shared.set([1, 2, 3, 4]);
    t.equal(raw.write!(w, shared, 1, 3), 3);
    t.same([...os.read(r, 10)], [2, 3, 4]);
  });
});
/** Runs `body` with a fresh non-blocking AF_UNIX stream socket pair, closed afterwards. */
function withSocketpair<T>(body: (a: number, b: number) => T): T {
  const [a, b] = socket.socketpair();
  try {
    a.setblocking(false);
    b.setblocking(false);
    return body(a.fileno(), b.fileno());
  } finally {
    a.close();
    b.close();
  }
}
for (const name of ['recv_view', 'send_view'] as const) {
  const what = name === 'recv_view' ? 'buffer' : 'data';
  bad1(`binding.${name}: fd NaN`, nat(() => raw[name]!(NaN, Buffer.alloc(4))), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: fd 1.5`, nat(() => raw[name]!(1.5, Buffer.alloc(4))), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: fd '3'`, nat(() => raw[name]!('3', Buffer.alloc(4))), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: no arguments`, nat(() => raw[name]!()), TypeError, 'file descriptor must be an integer');
  bad1(`binding.${name}: fd -1`, nat(() => raw[name]!(-1, Buffer.alloc(4))), ValueError, 'file descriptor cannot be a negative integer');
  bad1(`binding.${name}: fd 2**31`, nat(() => raw[name]!(2 ** 31, Buffer.alloc(4))), OverflowError, 'file descriptor is too large');
  bad1(`binding.${name}: fd 1e300`, nat(() => raw[name]!(1e300, Buffer.alloc(4))), OverflowError, 'file descriptor is too large');
  bad1(`binding.${name}: no view`, () => withSocketpair((a) => nat(() => raw[name]!(a))()), TypeError, `${what} must be a Buffer or TypedArray`);
  bad1(`binding.${name}: a string view`, () => withSocketpair((a) => nat(() => raw[name]!(a, 'abcd'))()), TypeError, `${what} must be a Buffer or TypedArray`);
  bad1(`binding.${name}: a bare ArrayBuffer`, () => withSocketpair((a) => nat(() => raw[name]!(a, new ArrayBuffer(4)))()), TypeError, `${what} must be a Buffer or TypedArray`);
  bad1(`binding.${name}: a pipe is not a socket`, () => withPipe((r, w) => nat(() => raw[name]!(name === 'recv_view' ? r : w, Buffer.alloc(4)))()), OSError, '[Errno 88] Socket operation on non-socket', { errno: 88, code: 'ENOTSOCK' });
  bad1(`binding.${name}: a closed descriptor`, () => nat(() => raw[name]!(closedPipe()[0], Buffer.alloc(4)))(), OSError, '[Errno 9] Bad file descriptor', { errno: 9, code: 'EBADF' });
}
t.test('binding.recv_view/send_view: whole views of every kind, extra arguments ignored', async (t) => {
  withSocketpair((a, b) => {
    t.equal(raw.send_view!(a, new Float64Array([1.5])), 8, 'a Float64Array sends its 8 bytes');
    const got = new Float64Array(1);
    t.equal(raw.recv_view!(b, got), 8, 'and a Float64Array receives them');
    t.equal(got[0], 1.5);
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    shared.set([1, 2, 3, 4]);
    t.equal(raw.send_view!(a, shared.subarray(1, 3), 0, 99), 2, 'a subarray sends its window only; a third and fourth argument are ignored');
    const into = new DataView(new ArrayBuffer(8), 4);
    t.equal(raw.recv_view!(b, into), 2, 'a DataView receives');
    t.same([into.getUint8(0), into.getUint8(1)], [2, 3]);
    raises(t, nat(() => raw.recv_view!(b, Buffer.alloc(4))), BlockingIOError, '[Errno 11] Resource temporarily unavailable', { errno: 11, code: 'EAGAIN' });
  });
});
t.test('binding.recv_view/send_view: a detached view is empty, nothing is touched', async (t) => {
  withSocketpair((a, b) => {
    t.equal(raw.send_view!(a, detached((ab) => new Uint8Array(ab))), 0, 'sends nothing');
    t.equal(raw.send_view!(a, Buffer.from('xy')), 2);
    t.equal(raw.recv_view!(b, detached((ab) => new Uint8Array(ab))), 0, 'receives nothing');
    const rest = Buffer.alloc(4);
    t.equal(raw.recv_view!(b, rest), 2, 'the bytes are still queued');
    t.equal(rest.toString('latin1', 0, 2), 'xy');
  });
});
bad1('binding.close: fd NaN', nat(() => raw.close!(NaN)), TypeError, 'file descriptor must be an integer');
bad1('binding.close: fd 2**31', nat(() => raw.close!(2 ** 31)), OverflowError, 'file descriptor is too large');
bad1('binding.set_blocking: a non-boolean flag', () => withPipe((r) => nat(() => raw.set_blocking!(r, 'yes'))()), TypeError, 'blocking must be a boolean');
bad1('binding.fdhandle_close: not a handle', nat(() => raw.fdhandle_close!({})), TypeError, 'expected an fd handle');

// ------------------------------------------------------------- afterwards

t.test('afterwards: the process is alive and /proc/self/fd is as before', async (t) => {
  t.equal(process.kill(process.pid, 0), true, 'alive');
  let now = openFds();
  for (let i = 0; i < 20 && now.join() !== initialFds.join(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    now = openFds();
  }
  t.same(now, initialFds, 'same descriptors, by number');
});
