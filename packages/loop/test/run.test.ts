// run.ts: run(main), asyncio.run. Ports of CPython 3.11
// test_asyncio/test_runners.py RunTests where they map.
import t from 'tap';
import { EventLoop, ValueError, run } from '@iomux/loop';
import { availableSelectors, selectorBackend } from '@iomux/selectors';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { sleep } from './helpers.js';

checkNoFdLeak(t);

t.test('test_asyncio_run_return', async (t) => {
  const main = async (loop: EventLoop): Promise<number> => {
    await sleep(loop, 0);
    return 42;
  };
  t.equal(await run(main), 42);
});

t.test('test_asyncio_run_raises', async (t) => {
  let seen: EventLoop | null = null;
  await t.rejects(
    run(async (loop) => {
      seen = loop;
      await sleep(loop, 0);
      throw new ValueError('spam');
    }),
    { name: 'ValueError', message: 'spam' },
  );
  t.ok(seen!.isClosed(), 'the loop is closed after an error too');
});

t.test('a synchronous main is fine', async (t) => {
  t.equal(await run(() => 'sync'), 'sync');
});

t.test('test_asyncio_run_from_running_loop', async (t) => {
  await t.rejects(
    run(async () => {
      await run(async () => {});
    }),
    { name: 'RuntimeError', message: /while another loop is running/ },
  );
});

t.test('run closes its loop and the loop is the running one', async (t) => {
  let loop: EventLoop | null = null;
  await run(async (l) => {
    loop = l;
    t.ok(l.isRunning());
    await sleep(l, 0.01);
  });
  t.ok(loop!.isClosed());
  t.notOk(loop!.isRunning());
});

t.test('run takes the loop options (selector backend)', async (t) => {
  for (const backend of availableSelectors()) {
    t.equal(await run(async (l) => selectorBackend(l._selector), { selector: backend }), backend);
  }
});

t.test('an unknown backend is an error before anything runs', async (t) => {
  let called = false;
  await t.rejects(
    run(
      async () => {
        called = true;
      },
      { selector: 'nope' },
    ),
    { message: /nope/ },
  );
  t.notOk(called);
});
