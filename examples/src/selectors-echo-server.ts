/**
 * The echo server of Python's `selectors` documentation ("Examples"),
 * ported onto iomux: accept() and read() callbacks stored as each key's
 * data, one loop that calls them.
 *
 *   npm run example -- selectors-echo-server [--host H] [--port P] [--backend epoll|poll|select] [--blocking]
 *
 * Without --backend it uses DefaultSelector, so IOMUX_SELECTOR picks the
 * backend. Changes from the Python example: it waits with selectAsync(), so
 * Node stays free and SIGINT/SIGTERM stop it cleanly; and where Python's
 * read() sends and "hopes it won't block", this one keeps what the socket
 * did not take and waits for EVENT_WRITE, so large messages echo whole
 * (the common case, everything sent at once, touches nothing but the socket).
 *
 * With --blocking the loop is the docs' own: select() blocks the JS thread,
 * as CPython's does, and Node's loop turns only when select() finds nothing
 * within BLOCK_SECONDS (and every YIELD_EVERY turns), which is when
 * SIGINT/SIGTERM are seen. No promise per wait: at one connection that is
 * faster than selectAsync() (bench/README.md, ECHO-SELECTORS).
 */
import { createServer, OSError, type Socket } from '@iomux/core-native';
import {
  DefaultSelector,
  EVENT_READ,
  EVENT_WRITE,
  selectorBackend,
  selectorClass,
  type BaseSelector,
} from '@iomux/selectors';
import { announce, parseServerArgs, stopSignal, UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- selectors-echo-server [--host HOST] [--port PORT] [--backend epoll|poll|select] [--blocking]';

/** --blocking: how long one select() may block, so a stop signal is seen. */
const BLOCK_SECONDS = 0.05;
/** --blocking: turns between yields to Node's loop under constant load. */
const YIELD_EVERY = 1024;

type Callback = (sock: Socket, mask: number) => void;

export async function main(argv: string[]): Promise<number> {
  const blocking = argv.includes('--blocking');
  const args = parseServerArgs(
    argv.filter((a) => a !== '--blocking'),
    { usage: USAGE, backend: true },
  );
  let sel: BaseSelector<Callback>;
  try {
    sel = args.backend !== undefined ? (new (selectorClass(args.backend))() as BaseSelector<Callback>) : new DefaultSelector<Callback>();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const verbose = process.env.IOMUX_VERBOSE === '1';
  const pending = new Map<Socket, Buffer[]>();

  const close = (conn: Socket): void => {
    if (verbose) process.stdout.write(`closing ${conn.fileno()}\n`);
    sel.unregister(conn);
    pending.delete(conn);
    conn.close();
  };

  const accept: Callback = (sock) => {
    let conn: Socket;
    let addr: unknown;
    try {
      [conn, addr] = sock.accept(); // Should be ready
    } catch (e) {
      if (e instanceof OSError) return; // EAGAIN, ECONNABORTED
      throw e;
    }
    if (verbose) process.stdout.write(`accepted ${conn.fileno()} from ${JSON.stringify(addr)}\n`);
    conn.setblocking(false);
    sel.register(conn, EVENT_READ, read);
  };

  // Sends `data`; what the socket did not take waits for EVENT_WRITE (where
  // Python's example sends once and "hopes it won't block").
  const send = (conn: Socket, data: Buffer): void => {
    let sent = 0;
    try {
      sent = conn.send(data);
    } catch (e) {
      if (!(e instanceof OSError)) throw e;
      if (e.code !== 'EAGAIN') return close(conn); // EPIPE, reset
    }
    if (sent < data.length) {
      pending.set(conn, [data.subarray(sent)]);
      sel.modify(conn, EVENT_WRITE, write);
    }
  };

  // Writable again: sends what is queued, then reads again.
  const write: Callback = (conn) => {
    const queue = pending.get(conn)!;
    while (queue.length > 0) {
      const next = queue[0]!;
      let sent: number;
      try {
        sent = conn.send(next);
      } catch (e) {
        if (e instanceof OSError && e.code === 'EAGAIN') return;
        if (e instanceof OSError) return close(conn); // EPIPE, reset
        throw e;
      }
      if (sent < next.length) {
        queue[0] = next.subarray(sent);
        return;
      }
      queue.shift();
    }
    pending.delete(conn);
    sel.modify(conn, EVENT_READ, read);
  };

  const read: Callback = (conn) => {
    let data: Buffer;
    try {
      data = conn.recv(65536); // Should be ready
    } catch (e) {
      if (e instanceof OSError && e.code === 'EAGAIN') return;
      if (e instanceof OSError) return close(conn); // reset by peer
      throw e;
    }
    if (data.length > 0) {
      if (verbose) process.stdout.write(`echoing ${data.length} bytes to ${conn.fileno()}\n`);
      send(conn, data);
    } else {
      close(conn);
    }
  };

  const sock = createServer([args.host, args.port], { backlog: 128 });
  sock.setblocking(false);
  sel.register(sock, EVENT_READ, accept);
  const [host, port] = sock.getsockname() as [string, number];
  announce(host, port, selectorBackend(sel));

  const stop = stopSignal();
  // Ends the wait in flight (it resolves with []); an AbortSignal would add
  // and remove a listener on every wait that blocks.
  void stop.promise.then(() => sel.interruptWait());
  let turns = 0;
  try {
    while (!stop.requested()) {
      const events = blocking ? sel.select(BLOCK_SECONDS) : await sel.selectAsync();
      for (const [key, mask] of events) {
        const callback = key.data!;
        callback(key.fileobj as Socket, mask);
      }
      // --blocking: let Node's loop turn (signals) when idle and every YIELD_EVERY turns.
      if (blocking && (events.length === 0 || ++turns === YIELD_EVERY)) {
        turns = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    for (const key of [...(sel.getMap()?.values() ?? [])]) (key.fileobj as Socket).close();
    sel.close();
  }
  process.stdout.write('stopped\n');
  return 0;
}
