/**
 * Byte moving for sslproto-memtls.ts: the shared scratch buffers memtls
 * reads and encrypts into (one thread runs one loop's callbacks at a time,
 * and every use copies out before any user code runs), the copies handed
 * to the raw transport (its write batch keeps what it is given), and the
 * checks of a BufferedProtocol's getBuffer() as the node engine makes them.
 */
import { pyTypeName, type memtls } from '@iomux/core-native';
import { RuntimeError } from '@iomux/core-native/error-classes';

/** asyncio's SSLProtocol.max_size: plaintext bytes per read() (256 KiB). */
export const MAX_SIZE = 256 * 1024;

let scratchIn: Buffer | null = null;
let scratchOut: Buffer | null = null;

/** The scratch buffer plaintext is read into. */
export function readScratch(): Buffer {
  return (scratchIn ??= Buffer.allocUnsafe(MAX_SIZE));
}

/** The scratch buffer ciphertext is taken into. */
export function outScratch(): Buffer {
  return (scratchOut ??= Buffer.allocUnsafe(MAX_SIZE));
}

/** `buf[0, n)` in a Buffer of its own. */
export function copyOut(buf: Buffer, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  buf.copy(b, 0, 0, n);
  return b;
}

/**
 * The ciphertext `conn` has for the peer, given `n` bytes already in
 * outScratch() (writeTake's; -1: none taken yet), as a Buffer of its own;
 * null when none.
 */
export function takeAll(conn: memtls.Connection, n: number): Buffer | null {
  const out = outScratch();
  if (n < 0) {
    // Known empty (a read or take said so): spare the take that finds nothing.
    if (!conn.outputMaybePending) return null;
    n = conn.takeOutput(out);
  }
  if (n <= 0) return null;
  const first = copyOut(out, n);
  if (n < out.length) return first;
  const parts = [first];
  while ((n = conn.takeOutput(out)) > 0) {
    parts.push(copyOut(out, n));
    if (n < out.length) break;
  }
  return Buffer.concat(parts);
}

/** A BufferedProtocol's getBuffer() result as bytes to read into: TypeError or RuntimeError as the node engine's. */
export function appBuffer(buf: unknown): Uint8Array {
  if (!ArrayBuffer.isView(buf)) throw new TypeError(`get_buffer() must return a bytes-like object, not ${pyTypeName(buf)}`);
  if (buf.byteLength === 0) throw new RuntimeError('get_buffer() returned an empty buffer');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
