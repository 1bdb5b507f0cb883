// A TypeScript consumer of the packed packages: type-checked (never run)
// under module node16 and under moduleResolution bundler, strict, with the
// packages' .d.ts files checked too (skipLibCheck false). Each expected
// error below proves a type is real, not any. test-install.sh also checks
// it as consumer-esm.mts, an ES module under node16.
import { os, createServer, OSError, type Socket } from '@iomux/core-native';
import { epoll, EPOLLIN, select } from '@iomux/select';
import { DefaultSelector, EVENT_READ, type SelectorKey } from '@iomux/selectors';
import { EventLoop, startServer, openConnection, type StreamReader, type StreamWriter } from '@iomux/loop';

export function epollOnce(): Array<[number, number]> {
  const [r, w]: [number, number] = os.pipe();
  if (epoll === undefined) return [];
  const ep = epoll();
  ep.register(r, EPOLLIN);
  os.write(w, Buffer.from('x'));
  const ready = ep.poll(1.0);
  ep.close();
  // @ts-expect-error a pipe's ends are numbers
  const s: string = r;
  void s;
  return ready;
}

export function selectOnce(sock: Socket): number {
  const [r] = select([sock], [], [], 0);
  return r.length;
}

export function selectorOnce(): Array<SelectorKey<string>> {
  const srv = createServer(['127.0.0.1', 0]);
  const sel = new DefaultSelector<string>();
  sel.register(srv, EVENT_READ, 'listener');
  // @ts-expect-error the data is a string here
  sel.register(srv, EVENT_READ, 42);
  const keys = sel.select(0).map(([key]) => key);
  sel.close();
  srv.close();
  return keys;
}

export async function echo(): Promise<string> {
  const loop = new EventLoop();
  try {
    return await loop.runUntilComplete(async () => {
      const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
        writer.write(await reader.readline());
        writer.close();
      }, '127.0.0.1', 0);
      const [reader, writer] = await openConnection('127.0.0.1', server.address()!.port);
      writer.write('hi\n');
      const line: Buffer = await reader.readline();
      server.close();
      return line.toString();
    });
  } catch (e) {
    if (e instanceof OSError) return `${e.errno}`;
    throw e;
  } finally {
    loop.close();
  }
}
