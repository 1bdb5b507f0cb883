/**
 * loop.sendfile() on a socket transport: selector_events.py
 * `_sendfile_native` (reading paused, the buffer drained, then
 * sockSendfile's sendfile(2)), or base_events.py `_sendfile_fallback`
 * through write() with `_SendfileFallbackProtocol`. See sendfile.ts.
 */
import { pyTypeName, type Socket } from '@iomux/core-native';
import { ConnectionError, RuntimeError } from '@iomux/core-native/error-classes';
import type { Protocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import { SelectorSocketTransport, type Transport } from './transports.js';
import { SendfileNotAvailableError, checkParams, checkSignal, fdOf, readinto, seek, type SendfileFile, type SendfileOptions } from './sendfile-file.js';
import { sockSendfileNative } from './sendfile-sock.js';

/** asyncio's _sendfile_fallback block for transports. */
const TRANSPORT_FALLBACK_BLOCK = 16384;

/** loop.sendfile(): base_events.py `sendfile` on a socket transport. */
export async function sendfile(loop: SelectorEventLoop, transport: Transport, file: SendfileFile, offset: unknown, count: unknown, options: SendfileOptions): Promise<number> {
  loop._checkClosed();
  if (typeof (transport as { isClosing?: unknown })?.isClosing !== 'function') throw new TypeError(`transport must be a Transport, not '${pyTypeName(transport)}'`);
  if (transport.isClosing()) throw new RuntimeError('Transport is closing');
  // Only a socket transport can use sendfile(2) or the fallback (asyncio's TRY_NATIVE).
  if (!(transport instanceof SelectorSocketTransport)) throw new RuntimeError(`sendfile is not supported for transport ${String(transport)}`);
  const [off, cnt] = checkParams(offset, count);
  const signal = checkSignal(options.signal);
  try {
    return await sendfileNative(loop, transport, file, off, cnt, signal);
  } catch (e) {
    if (!(e instanceof SendfileNotAvailableError) || options.fallback === false) throw e;
  }
  return sendfileFallback(loop, transport, file, off, cnt, signal);
}

/** Resolves once the transport has nothing buffered (asyncio's `_make_empty_waiter`). */
async function emptied(loop: SelectorEventLoop, tr: Transport): Promise<void> {
  while (tr.getWriteBufferSize() > 0) {
    if (tr.isClosing()) throw new ConnectionError('Connection is closed by peer');
    await new Promise((r) => loop.callLater(0.001, r));
  }
}

/** selector_events.py `_sendfile_native`: reading paused, the buffer drained, then sockSendfile. */
async function sendfileNative(loop: SelectorEventLoop, tr: SelectorSocketTransport, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
  const resumeReading = tr.isReading();
  tr.pauseReading();
  tr._sendfileActive = true;
  try {
    await emptied(loop, tr);
    const sock = tr.getExtraInfo('socket') as Socket;
    return await sockSendfileNative(loop, sock, file, offset, count, signal);
  } finally {
    tr._sendfileActive = false;
    if (resumeReading) tr.resumeReading();
  }
}

/** base_events.py `_SendfileFallbackProtocol`: stands in for the protocol while the fallback writes. */
class SendfileFallbackProtocol implements Protocol {
  readonly #tr: SelectorTransport;
  readonly #proto;
  readonly #shouldResumeReading: boolean;
  readonly #shouldResumeWriting: boolean;
  #writeReady: { promise: Promise<void>; resolve(): void; reject(e: unknown): void } | null = null;

  constructor(tr: SelectorTransport) {
    this.#tr = tr;
    this.#proto = tr.getProtocol();
    this.#shouldResumeReading = tr.isReading();
    this.#shouldResumeWriting = tr._protocolPaused;
    tr.pauseReading();
    tr.setProtocol(this);
    if (this.#shouldResumeWriting) this.#writeReady = deferred();
  }

  /** Resolves once the transport takes more writes; rejects at `signal`'s abort. */
  async drain(signal: AbortSignal | null): Promise<void> {
    if (this.#tr.isClosing()) throw new ConnectionError('Connection closed by peer');
    const ready = this.#writeReady;
    if (ready === null) return;
    if (signal === null) return ready.promise;
    signal.throwIfAborted();
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([ready.promise, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  connectionMade(): void {
    throw new RuntimeError('Invalid state: connection should have been established already.');
  }

  connectionLost(exc: Error | null): void {
    // Never happens if peer disconnects after sending the whole content
    // Thus disconnection is always an exception from user perspective
    this.#writeReady?.reject(exc ?? new ConnectionError('Connection is closed by peer'));
    this.#proto.connectionLost?.(exc);
  }

  pauseWriting(): void {
    this.#writeReady ??= deferred();
  }

  resumeWriting(): void {
    this.#writeReady?.resolve();
    this.#writeReady = null;
  }

  dataReceived(): void {
    throw new RuntimeError('Invalid state: reading should be paused');
  }

  eofReceived(): boolean {
    throw new RuntimeError('Invalid state: reading should be paused');
  }

  restore(): void {
    this.#tr.setProtocol(this.#proto);
    if (this.#shouldResumeReading) this.#tr.resumeReading();
    this.#writeReady = null;
    if (this.#shouldResumeWriting) this.#proto.resumeWriting?.();
  }
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(e: unknown): void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** base_events.py `_sendfile_fallback`: 16 KiB blocks through write(), with the transport's flow control. */
async function sendfileFallback(loop: SelectorEventLoop, tr: SelectorSocketTransport, file: unknown, offset: number, count: number | null, signal: AbortSignal | null): Promise<number> {
  const fd = fdOf(file);
  if (offset) seek(file, fd, offset);
  let blocksize = count ? Math.min(count, TRANSPORT_FALLBACK_BLOCK) : TRANSPORT_FALLBACK_BLOCK;
  const buf = Buffer.allocUnsafe(blocksize);
  let total = 0;
  const proto = new SendfileFallbackProtocol(tr);
  try {
    for (;;) {
      if (count) {
        blocksize = Math.min(count - total, blocksize);
        if (blocksize <= 0) return total;
      }
      signal?.throwIfAborted();
      const view = buf.subarray(0, blocksize);
      const read = await readinto(file, fd, view);
      if (!read) return total;
      await proto.drain(signal);
      signal?.throwIfAborted();
      tr.write(view.subarray(0, read));
      total += read;
    }
  } finally {
    if (total > 0) seek(file, fd, offset + total);
    proto.restore();
  }
}
