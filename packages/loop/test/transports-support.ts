/**
 * Test support for the transport tests (transports-*.test.ts): CPython's
 * mock protocols as recording ones, a reader for the peer's end, and each
 * backend's setup of a transport on one end of a real socketpair.
 */
import type { Test } from 'tap';
import { EventLoop, SelectorSocketTransport, type BufferedProtocol, type Protocol, type Transport } from '@iomux/loop';
import { EVENT_READ, EVENT_WRITE } from '@iomux/selectors';
import { batch, socketpair, type Socket } from '@iomux/core-native';
import { BACKENDS, future, runBriefly } from './helpers.js';

/** test_utils.make_test_protocol: records every call; behaviour by hooks. */
export class RecProto implements Protocol {
  calls: string[] = [];
  data: Buffer[] = [];
  lostWith: Array<Error | null> = [];
  lost = future<Error | null>();
  eofReturn: boolean | undefined = undefined;
  made: ((tr: Transport) => void) | null = null;
  onData: ((d: Buffer) => void) | null = null;
  onEof: (() => void) | null = null;
  transport: Transport | null = null;
  connectionMade(tr: Transport): void {
    this.calls.push('connectionMade');
    this.transport = tr;
    this.made?.(tr);
  }
  dataReceived(d: Buffer): void {
    this.calls.push('dataReceived');
    this.data.push(d);
    this.onData?.(d);
  }
  eofReceived(): boolean | undefined {
    this.calls.push('eofReceived');
    this.onEof?.();
    return this.eofReturn;
  }
  connectionLost(exc: Error | null): void {
    this.calls.push('connectionLost');
    this.lostWith.push(exc);
    this.lost.resolve(exc);
  }
  pauseWriting(): void {
    this.calls.push('pauseWriting');
  }
  resumeWriting(): void {
    this.calls.push('resumeWriting');
  }
  count(name: string): number {
    return this.calls.filter((c) => c === name).length;
  }
  received(): Buffer {
    return Buffer.concat(this.data);
  }
}

/**
 * test_selector_events.py's BufferedProtocol mock: hands out `buffer`
 * (16 bytes unless set) and records what each bufferUpdated() saw.
 */
export class BufProto extends RecProto implements BufferedProtocol {
  buffer: ArrayBufferView = Buffer.alloc(16);
  hints: number[] = [];
  chunks: Buffer[] = [];
  onUpdated: ((n: number) => void) | null = null;
  getBuffer(sizeHint: number): ArrayBufferView {
    this.calls.push('getBuffer');
    this.hints.push(sizeHint);
    return this.buffer;
  }
  bufferUpdated(nbytes: number): void {
    this.calls.push('bufferUpdated');
    const b = this.buffer;
    this.chunks.push(Buffer.from(new Uint8Array(b.buffer, b.byteOffset, nbytes)));
    this.onUpdated?.(nbytes);
  }
  got(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

/** Reads everything available from a non-blocking socket (until EAGAIN or EOF). */
export function drainPeer(sock: Socket, into: Buffer[]): 'eof' | 'more' {
  for (;;) {
    let d: Buffer;
    try {
      d = sock.recv(1 << 20);
    } catch (e) {
      if ((e as Error).name === 'BlockingIOError') return 'more';
      throw e;
    }
    if (d.length === 0) return 'eof';
    into.push(d);
  }
}

/** The helpers of one backend's tests, and the backend. */
export function transportHelpers(backend: string) {
  /** A loop, a transport on one end of a socketpair, its protocol and the other end. */
  const setup = (t: Test, proto: RecProto = new RecProto()) => {
    const loop = new EventLoop({ selector: backend });
    const [sock, peer] = socketpair();
    sock.setblocking(false);
    peer.setblocking(false);
    const tr = new SelectorSocketTransport(loop, sock, proto);
    t.teardown(async () => {
      if (!tr._connLost) tr.abort();
      if (!loop.isClosed()) {
        await runBriefly(loop);
        loop.close();
      }
      sock.close();
      peer.close();
    });
    return { loop, sock, peer, tr, proto, fd: sock.fileno() };
  };
  const hasReader = (loop: EventLoop, fd: number): boolean => {
    const key = loop._selector.getMap()!.get(fd);
    return key !== undefined && (key.events & EVENT_READ) !== 0 && key.data![0] !== null;
  };
  const hasWriter = (loop: EventLoop, fd: number): boolean => {
    const key = loop._selector.getMap()!.get(fd);
    return key !== undefined && (key.events & EVENT_WRITE) !== 0 && key.data![1] !== null;
  };
  /** Fills the transport's socket buffer, so that the next write buffers. */
  const fill = (tr: SelectorSocketTransport): number => {
    const big = Buffer.alloc(1 << 20, 'f');
    tr.write(big);
    return big.length;
  };
  return { backend, setup, hasReader, hasWriter, fill };
}

export type TransportHelpers = ReturnType<typeof transportHelpers>;

/**
 * Runs `body` as the tests of each backend, each a subtest of `t`; where the
 * loop's read and write batches go through the thread's io_uring, also on
 * epoll with `batchIo` 'syscalls', where they make a syscall per transport
 * instead (core-native batch.batchIo).
 */
export function forEachBackend(t: Test, body: (t: Test, h: TransportHelpers) => void): void {
  const suite = (backend: string, batchIo?: 'syscalls'): void => {
    t.test(`backend ${backend}${batchIo !== undefined ? `, batches through ${batchIo}` : ''}`, async (t) => {
      if (batchIo !== undefined) {
        const before = batch.batchIo();
        t.not(batch.batchIo(batchIo), 'io_uring');
        t.teardown(() => {
          batch.batchIo(before === 'io_uring' ? 'io_uring' : 'syscalls');
        });
      }
      body(t, transportHelpers(backend));
    });
  };
  for (const backend of BACKENDS) suite(backend);
  // Where batches go through io_uring, also the other way.
  if (batch.batchIo() === 'io_uring') suite('epoll', 'syscalls');
}
