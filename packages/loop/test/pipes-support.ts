/**
 * Test support for the pipes-*.test.ts files: a protocol that records every
 * call, CPython's mock pipe, a loop iteration count, and a fresh loop and
 * transport-owned pipes for one backend's tests.
 */
import type { Test } from 'tap';
import { EventLoop, UnixReadPipeTransport, UnixWritePipeTransport, type Protocol } from '@iomux/loop';
import { os } from '@iomux/core-native';
import { future, runBriefly } from './helpers.js';

/** test_utils.make_test_protocol: records every call. */
export class RecProto implements Protocol {
  calls: string[] = [];
  data: Buffer[] = [];
  lostWith: Array<Error | null> = [];
  lost = future<Error | null>();
  transport: unknown = null;
  connectionMade(tr: unknown): void {
    this.calls.push('connectionMade');
    this.transport = tr;
  }
  dataReceived(d: Buffer): void {
    this.calls.push('dataReceived');
    this.data.push(d);
  }
  eofReceived(): undefined {
    this.calls.push('eofReceived');
  }
  connectionLost(exc: Error | null): void {
    this.calls.push('connectionLost');
    this.lostWith.push(exc);
    this.lost.resolve(exc);
  }
  pauseWriting = (): number => this.calls.push('pauseWriting');
  resumeWriting = (): number => this.calls.push('resumeWriting');
  count = (name: string): number => this.calls.filter((c) => c === name).length;
}

/** CPython's mock pipe: a fileno() and a close() that records its call (and closes the fd). */
export class Pipe {
  closed = 0;
  constructor(readonly fd: number) {}
  fileno = (): number => this.fd;
  close = (): void => void (this.closed++, os.close(this.fd));
}

/** `n` iterations of a running loop. */
export async function ticks(loop: EventLoop, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => loop.callSoon(r));
}

/** `inLoop`, `pipeFor`, `readPipe` and `writePipe` for the tests of `backend`. */
export function pipeKit(backend: string) {
  /** Runs `body` inside a fresh loop, then closes the loop. */
  const inLoop = async (t: Test, body: (loop: EventLoop) => Promise<void>): Promise<void> => {
    const loop = new EventLoop({ selector: backend });
    try {
      await loop.runUntilComplete(() => body(loop));
      await runBriefly(loop);
    } finally {
      loop.close();
    }
    t.pass('ran');
  };
  /**
   * A pipe, one end owned by a read (or write) transport; `other` is the
   * other end, which `closeOther()` closes once (at teardown if the test did not).
   */
  const pipeFor = async <K extends 'read' | 'write'>(t: Test, loop: EventLoop, kind: K, proto = new RecProto()) => {
    const [r, w] = os.pipe();
    const [mine, other] = kind === 'read' ? [r, w] : [w, r];
    os.setBlocking(other, false);
    let open = true;
    const closeOther = (): void => {
      if (open) os.close(other);
      open = false;
    };
    t.teardown(closeOther);
    const pipe = new Pipe(mine);
    const made = kind === 'read' ? loop.connectReadPipe(() => proto, pipe) : loop.connectWritePipe(() => proto, pipe);
    const [tr] = await made;
    return { tr: tr as K extends 'read' ? UnixReadPipeTransport : UnixWritePipeTransport, proto, pipe, other, closeOther };
  };
  const readPipe = (t: Test, loop: EventLoop, proto?: RecProto) => pipeFor(t, loop, 'read', proto);
  const writePipe = (t: Test, loop: EventLoop, proto?: RecProto) => pipeFor(t, loop, 'write', proto);
  return { inLoop, pipeFor, readPipe, writePipe };
}
