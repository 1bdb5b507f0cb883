// unix-pipes.ts: what connectReadPipe and connectWritePipe refuse (files,
// directories, bad descriptors, bad factories, a closed loop), on every
// backend.
import t from 'tap';
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import { EventLoop, type BaseProtocol } from '@iomux/loop';
import { OverflowError, RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { BACKENDS } from './helpers.js';
import { RecProto, pipeKit } from './pipes-support.js';

checkNoFdLeak(t);

function suite(backend: string): void {
  t.test(`backend ${backend}`, async (t) => {
    const { inLoop } = pipeKit(backend);

    // --------------------------------------------------------- hostile input

    t.test('hostile pipes', (t) =>
      inLoop(t, async (loop) => {
        const proto = (): RecProto => new RecProto();
        const file = fs.openSync(__filename, 'r');
        t.teardown(() => fs.closeSync(file));
        await t.rejects(loop.connectReadPipe(proto, file), new ValueError('Pipe transport is for pipes/sockets only.'));
        await t.rejects(loop.connectWritePipe(proto, file), new ValueError('Pipe transport is only for pipes, sockets and character devices'));
        const dir = fs.openSync(nodeOs.tmpdir(), 'r');
        await t.rejects(loop.connectReadPipe(proto, dir), ValueError, 'a directory');
        fs.closeSync(dir);
        // A number no descriptor has (a just-closed one may be reused at once).
        await t.rejects(loop.connectReadPipe(proto, 2 ** 30), { name: 'OSError', code: 'EBADF' }, 'a descriptor not open');
        await t.rejects(loop.connectWritePipe(proto, 2 ** 30), { name: 'OSError', code: 'EBADF' });
        await t.rejects(loop.connectReadPipe(proto, -1), ValueError, 'a negative descriptor');
        await t.rejects(loop.connectReadPipe(proto, 2 ** 31), OverflowError);
        await t.rejects(loop.connectReadPipe(proto, 'pipe' as never), TypeError);
        await t.rejects(loop.connectReadPipe(proto, 1.5), TypeError);
        await t.rejects(loop.connectReadPipe(proto, { fileno: () => 'x' }), TypeError);
        await t.rejects(loop.connectReadPipe(proto, { fileno: () => { throw new RangeError('mine'); } }), RangeError);
        await t.rejects(loop.connectReadPipe(42 as never, 0), TypeError, 'a factory that is no function');
        await t.rejects(loop.connectWritePipe(() => { throw new RangeError('factory'); }, 1), RangeError);
      }));
  });
}

t.test('a closed loop refuses pipes', async (t) => {
  const loop = new EventLoop();
  loop.close();
  await t.rejects(loop.connectReadPipe(() => new RecProto(), 0), RuntimeError);
  await t.rejects(loop.connectWritePipe((): BaseProtocol => ({}), 1), RuntimeError);
});

for (const backend of BACKENDS) suite(backend);
