/**
 * The select()-based echo server of PyMOTW ("select – Wait for I/O
 * Efficiently"), ported line for line onto iomux: one non-blocking
 * listening socket, inputs/outputs lists, a queue per connection.
 *
 *   npm run example -- select-echo-server [--host 127.0.0.1] [--port 0]
 *
 * The one change: select() gets a 0.25 s timeout and the loop yields to
 * Node between rounds, so Node can deliver SIGINT/SIGTERM and the server
 * stops cleanly (Python's loop would take KeyboardInterrupt instead).
 */
import { setImmediate as yieldToNode } from 'node:timers/promises';
import { createServer, FD_SETSIZE, OSError, type Socket } from '@iomux/core-native';
import { select } from '@iomux/select';
import { announce, parseServerArgs, stopSignal } from './cli.js';

const USAGE = 'usage: npm run example -- select-echo-server [--host HOST] [--port PORT]';

export async function main(argv: string[]): Promise<number> {
  const args = parseServerArgs(argv, { usage: USAGE });
  const stop = stopSignal();

  // Create a TCP/IP socket, bound and listening, non-blocking.
  const server = createServer([args.host, args.port], { backlog: 128 });
  server.setblocking(false);
  const [host, port] = server.getsockname() as [string, number];
  announce(host, port, 'select');

  // Sockets from which we expect to read, and to which we expect to write.
  const inputs: Socket[] = [server];
  const outputs: Socket[] = [];
  // Outgoing message queues (socket -> Buffer[]).
  const queues = new Map<Socket, Buffer[]>();

  const drop = (s: Socket): void => {
    for (const list of [inputs, outputs]) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
    }
    queues.delete(s);
    s.close();
  };

  while (!stop.requested()) {
    const [readable, writable, exceptional] = select(inputs, outputs, inputs, 0.25);

    for (const s of readable) {
      if (s === server) {
        // A "readable" server socket is ready to accept a connection.
        let conn: Socket;
        try {
          [conn] = server.accept();
        } catch (e) {
          if (e instanceof OSError) continue; // EAGAIN, ECONNABORTED: try again later
          throw e;
        }
        if (conn.fileno() >= FD_SETSIZE) {
          // select() cannot watch it; say so instead of failing the server.
          process.stderr.write(`refusing connection: descriptor ${conn.fileno()} >= FD_SETSIZE\n`);
          conn.close();
          continue;
        }
        conn.setblocking(false);
        inputs.push(conn);
        queues.set(conn, []);
      } else {
        let data: Buffer;
        try {
          data = s.recv(65536);
        } catch (e) {
          if (e instanceof OSError && e.code === 'EAGAIN') continue;
          if (e instanceof OSError) { drop(s); continue; } // reset by peer
          throw e;
        }
        if (data.length > 0) {
          // A readable client socket has data: queue it to echo back.
          queues.get(s)!.push(data);
          if (!outputs.includes(s)) outputs.push(s);
        } else {
          // Readable with no data: the client closed. Stop listening to it.
          drop(s);
        }
      }
    }

    for (const s of writable) {
      const queue = queues.get(s);
      if (queue === undefined) continue; // dropped above
      const next = queue[0];
      if (next === undefined) {
        // Nothing left to send: stop checking for writability.
        outputs.splice(outputs.indexOf(s), 1);
        continue;
      }
      try {
        const sent = s.send(next);
        if (sent < next.length) queue[0] = next.subarray(sent);
        else queue.shift();
      } catch (e) {
        if (e instanceof OSError && e.code === 'EAGAIN') continue;
        if (e instanceof OSError) { drop(s); continue; } // EPIPE, reset
        throw e;
      }
    }

    // An "exceptional condition": drop the connection.
    for (const s of exceptional) if (s !== server && queues.has(s)) drop(s);

    // Let Node run its own event loop (signals) between rounds.
    await yieldToNode();
  }

  for (const s of [...inputs]) if (s !== server) drop(s);
  server.close();
  process.stdout.write('stopped\n');
  return 0;
}
