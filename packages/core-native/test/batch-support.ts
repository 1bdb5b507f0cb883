// What the batch*.test.ts files share: the errno constants they use, table
// builders and readers (see batch.test.ts's header for the table layout),
// non-blocking socketpairs, slabs, and eachMode, which runs a file's tests
// once per way batches reach the kernel.
import type { Test } from 'tap';
import { batch, socketpair, Socket, errnoConstants, BlockingIOError } from '@iomux/core-native';

const E = errnoConstants as Readonly<Record<string, number>>;
export const { EINVAL, EAGAIN, EBADF, EPIPE, ECONNRESET, ENOTSOCK } = E as Record<string, number>;
export const bad = (x: unknown): any => x;
/** A value never written by the native code: marks fields it must leave alone. */
export const UNTOUCHED = 0x5a5a5a5;
/** A descriptor number no process here will have open (far above RLIMIT_NOFILE). */
export const NO_SUCH_FD = 1_000_000;

const { batchIo, BATCH_LAYOUT: L } = batch;

/** A send or receive table: [count, ...entries], four int32s per entry. */
export function table(rows: number[][]): Int32Array {
  const tab = new Int32Array(1 + rows.length * 4);
  tab[0] = rows.length;
  rows.forEach((row, i) => {
    tab.set(row.length === 4 ? row : [...row, UNTOUCHED, UNTOUCHED].slice(0, 4), 1 + i * 4);
  });
  return tab;
}

/** Entry i of a table: its four int32s. */
export const entry = (tab: Int32Array, i: number): number[] => Array.from(tab.subarray(1 + i * 4, 5 + i * 4));
/** A receive entry: [fd, max], offset and result left UNTOUCHED. */
export const rrow = (fd: number, max: number): number[] => [fd, UNTOUCHED, max, UNTOUCHED];
/** What a receive wrote for entry i: [result, offset]. */
export const got = (tab: Int32Array, i: number): number[] => [entry(tab, i)[L.result]!, entry(tab, i)[L.offset]!];

/** n socketpairs, both ends non-blocking; close() closes them all. */
export function pairs(n: number): { ends: [Socket, Socket][]; close(): void } {
  const ends: [Socket, Socket][] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = socketpair();
    a.setblocking(false);
    b.setblocking(false);
    ends.push([a, b]);
  }
  return {
    ends,
    close() {
      for (const [a, b] of ends) {
        a.close();
        b.close();
      }
    },
  };
}

/** Everything readable on a non-blocking socket now (bounded). */
export function drain(s: Socket): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    let got: Buffer;
    try {
      got = s.recv(1 << 16);
    } catch (e) {
      if (e instanceof BlockingIOError) break;
      throw e;
    }
    if (got.length === 0) break;
    parts.push(got);
  }
  return Buffer.concat(parts);
}

/** True when nothing at all is waiting on the non-blocking socket. */
export function nothingWaiting(s: Socket): boolean {
  try {
    s.recv(1);
  } catch (e) {
    return e instanceof BlockingIOError;
  }
  return false;
}

/** A slab whose byte i is (i * 7 + 3) & 0xff: offsets show in the bytes. */
export function patternSlab(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** A slab on its own ArrayBuffer, detached by transferring that buffer away. */
export function detachedSlab(n: number): Uint8Array {
  const ab = new ArrayBuffer(n);
  const view = new Uint8Array(ab);
  detach(ab);
  return view;
}

/** Detaches an ArrayBuffer (its views then have length 0). */
export function detach(ab: ArrayBuffer): void {
  structuredClone(ab, { transfer: [ab] });
}

/**
 * Every test below runs once per way the batches can reach the kernel here:
 * through the thread's io_uring (one syscall per batch) where there is one,
 * and with a syscall per entry; both must give the same results.
 */
export const INITIAL = batchIo();
export const MODES = (INITIAL === 'io_uring' ? ['io_uring', 'syscalls'] : ['syscalls']) as Array<'io_uring' | 'syscalls'>;

/** Runs body's tests inside a `batches through <mode>` test, once per mode in MODES. */
export function eachMode(t: Test, body: (t: Test, mode: 'io_uring' | 'syscalls') => void): void {
  for (const mode of MODES) {
    t.test(`batches through ${mode}`, async (t) => {
      const now = batchIo(mode);
      if (mode === 'io_uring') t.equal(now, 'io_uring');
      else t.not(now, 'io_uring');
      t.teardown(() => {
        batchIo(INITIAL === 'io_uring' ? 'io_uring' : 'syscalls');
      });
      body(t, mode);
    });
  }
}
