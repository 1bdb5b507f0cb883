// The receive area that Socket.recv() and os.read() reuse: the kernel fills
// it, and only the bytes read are copied out (into Node's Buffer pool when
// small), so recv(65536) costs what recv(1024) does (bench/README.md, CALLS).
// Per thread: every worker loads its own copy of this module.
// Buffer is imported: Node's global Buffer is a getter, read on every call.
import { Buffer } from 'node:buffer';

/** The largest count that goes through the scratch area; larger ones allocate. */
export const SCRATCH_SIZE = 65536;

let area: Buffer | null = null;
let view: Buffer | null = null;
let viewLength = 0;

/** The first `n` bytes of the area (1 <= n <= SCRATCH_SIZE), a view kept for the next call. */
export function scratchView(n: number): Buffer {
  if (n === viewLength) return view!;
  area ??= Buffer.allocUnsafeSlow(SCRATCH_SIZE);
  view = n === SCRATCH_SIZE ? area : area.subarray(0, n);
  viewLength = n;
  return view;
}

let src: Buffer | null = null;
let srcLength = 0;

/** A new Buffer holding the first `got` bytes of the area. */
export function copyOut(got: number): Buffer {
  const out = Buffer.allocUnsafe(got);
  if (got === 0) return out;
  // set() from a view kept for the next call: a memcpy, where a fresh
  // subarray or a byte loop costs several times as much (CALLS).
  if (got !== srcLength) {
    src = got === viewLength ? view! : area!.subarray(0, got);
    srcLength = got;
  }
  out.set(src!);
  return out;
}
