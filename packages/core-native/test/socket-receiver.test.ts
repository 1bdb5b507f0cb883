// Socket's methods called on a receiver that is not a Socket (an object
// that imitates one, down to a descriptor of a real socket) are a TypeError
// and never reach that descriptor.
import t from 'tap';
import { Socket, socket } from '@iomux/core-native';
import { checkNoFdLeak } from '../../../test/support/fds.js';

checkNoFdLeak(t);

const { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR } = socket;

const calls: Array<[string, unknown[]]> = [
  ['bind', [['127.0.0.1', 0]]],
  ['listen', [5]],
  ['connect', [['127.0.0.1', 9]]],
  ['connectEx', [['127.0.0.1', 9]]],
  ['shutdown', [socket.SHUT_RDWR]],
  ['getsockname', []],
  ['getpeername', []],
  ['setsockopt', [SOL_SOCKET, SO_REUSEADDR, 1]],
  ['getsockopt', [SOL_SOCKET, SO_REUSEADDR]],
  ['getInheritable', []],
  ['setInheritable', [true]],
  ['recv', [16]],
  ['send', [Buffer.from('x')]],
  ['accept', []],
  ['close', []],
];

t.test('a receiver that imitates a Socket is a TypeError and its descriptor is untouched', (t) => {
  const real = new Socket(AF_INET, SOCK_STREAM);
  const fd = real.fileno();
  const fake = { family: AF_INET, type: SOCK_STREAM, fileno: () => fd, gettimeout: () => null, _fdFor: () => fd };
  const proto = Socket.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const [name, args] of calls) {
    t.throws(() => proto[name]!.apply(fake, args), TypeError, `${name}() on an imitation`);
    t.throws(() => proto[name]!.apply({}, args), TypeError, `${name}() on a plain object`);
  }
  // Nothing above bound, listened on, connected or closed the real socket.
  t.same(real.getsockname(), ['0.0.0.0', 0], 'still unbound');
  t.equal(real.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0, 'option untouched');
  t.equal(real.fileno(), fd, 'still open');
  real.close();
  t.end();
});
