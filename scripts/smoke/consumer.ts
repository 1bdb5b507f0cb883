// A TypeScript consumer of the packed packages: type-checked (never run),
// strict, with the packages' .d.ts files checked too (skipLibCheck false),
// by scripts/check-types.sh (TypeScript 5.0 and the repository's) and
// scripts/test-install.sh, through tsconfig.node16-cjs.json, as consumer.mts
// (a copy) through tsconfig.node16-esm.json, and through tsconfig.bundler.json.
// It touches every package's main types, a subpath export, the iterators and
// Disposable; each expected error proves a type is real, not any.
import { os, createServer, Socket, socketpair, OSError, type FdHandle } from '@iomux/core-native';
import { BlockingIOError } from '@iomux/core-native/error-classes';
import { select, poll, epoll, Epoll, EPOLLIN, POLLIN, type FileLike } from '@iomux/select';
import { DefaultSelector, EpollSelector, EVENT_READ, SelectorKey, type Ready } from '@iomux/selectors';
import { EventLoop, startServer, openConnection, StreamReader, StreamWriter, type Transport } from '@iomux/loop';

export async function consume(): Promise<string> {
  const [r, w]: [number, number] = os.pipe();
  const ep: Epoll | undefined = epoll?.();
  ep?.register(r, EPOLLIN);
  const p = poll();
  p.register(r, POLLIN);
  const ready: [number[], number[], number[]] = select([r], [], [], 0) as [number[], number[], number[]];
  const sel = new DefaultSelector<string>();
  const key: SelectorKey<string> = sel.register(r, EVENT_READ, 'pipe');
  const events: Ready<string> = await sel.selectAsync(0);
  const map = sel.getMap();
  const fds: number[] = [];
  if (map !== null) {
    for (const [fd, k] of map) fds.push(fd, k.events);
    for (const k of map.values()) fds.push(k.fd);
    fds.push(...map.keys());
    for (const [fd] of map.entries()) fds.push(fd);
  }
  sel[Symbol.dispose]();
  ep?.[Symbol.dispose]();
  const Sel: typeof EpollSelector = EpollSelector;
  const [a, b]: [Socket, Socket] = socketpair();
  a[Symbol.dispose]();
  b.close();
  const loop = new EventLoop();
  const server = await loop.runUntilComplete(() =>
    startServer((reader: StreamReader, writer: StreamWriter) => reader.read(1).then((d: Buffer) => writer.write(d)), '127.0.0.1', 0));
  const conn: Promise<[StreamReader, StreamWriter]> = openConnection('127.0.0.1', 1);
  void conn.catch((e: unknown) => e instanceof OSError);
  server.close();
  await server[Symbol.asyncDispose]();
  loop.close();
  const t: Transport | null = null;
  const f: FileLike = r;
  const h: FdHandle | null = null;
  const e = new BlockingIOError();
  os.close(w);
  return [ready, key, events, fds, Sel, t, f, h, e].map(String).join();
}

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
