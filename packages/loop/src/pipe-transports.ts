/**
 * What both pipe transports of unix-pipes.ts share (CPython 3.11
 * Lib/asyncio/unix_events.py `_UnixReadPipeTransport` and
 * `_UnixWritePipeTransport`): the pipe and its descriptor, the file-type
 * check, the protocol, extra info, connectionLost and closing the pipe, and
 * base_events.py's connect_read_pipe/connect_write_pipe.
 */
import { Buffer } from 'node:buffer';
import * as fs from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { errnoConstants as E, fromErrno, os, pyTypeName } from '@iomux/core-native';
import { OSError } from '@iomux/core-native/error-classes';
import type { BaseProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';

/** What connectReadPipe/connectWritePipe take: a descriptor or an object with fileno(). */
export type PipeLike = number | FileLikePipe | object;

/** An object whose descriptor is what `fileno()` returns (Python's file objects). */
export interface FileLikePipe {
  /** The descriptor. */
  fileno(): number;
}

/**
 * os.fstat(fd).st_mode's file type, as S_ISFIFO/S_ISSOCK/S_ISCHR; a
 * descriptor that is not open is asyncio's OSError (EBADF).
 */
export function fileKind(fd: number): { fifo: boolean; sock: boolean; chr: boolean } {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    throw fromNodeError(e, 'fstat');
  }
  return { fifo: st.isFIFO(), sock: st.isSocket(), chr: st.isCharacterDevice() };
}

/** A Node fs error ('EBADF') as the contract's OSError subclass; anything else as it is. */
export function fromNodeError(e: unknown, syscall: string): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? E[code] : undefined;
  return errno !== undefined ? fromErrno(errno, undefined, { syscall }) : e;
}

/** Closes what the transport owns, as asyncio's `self._pipe.close()`. */
function closePipe(pipe: PipeLike, fd: number): void {
  if (typeof pipe === 'number' || typeof pipe === 'bigint') {
    os.close(fd);
    return;
  }
  const o = pipe as { close?: unknown; destroy?: unknown };
  // A Node stream (net.Socket, tty) owns its descriptor: it closes it itself.
  const close = typeof o.close === 'function' ? o.close : typeof o.destroy === 'function' ? o.destroy : null;
  if (close === null) {
    os.close(fd);
    return;
  }
  const r: unknown = close.call(pipe);
  // fs.promises.FileHandle.close() is a promise: its failure is not ours to report.
  if (r instanceof Promise) r.catch(() => {});
}

/**
 * Whether the selector refused the descriptor as one it cannot watch: epoll
 * says EPERM for /dev/null and other always-ready files.
 */
function refused(e: unknown): boolean {
  return e instanceof OSError && e.errno === E.EPERM;
}

export function asBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`data argument must be a bytes-like object, not '${pyTypeName(data)}'`);
}

/** What both pipe transports share: the pipe, its descriptor, the protocol, extra info. */
export abstract class PipeTransport extends EventEmitter {
  /** @internal The loop. */
  readonly _loop: SelectorEventLoop;
  /** @internal The pipe as given; null once closed. */
  _pipe: PipeLike | null;
  /** @internal Its descriptor. */
  readonly _fileno: number;
  /** @internal The protocol. */
  _protocol: BaseProtocol;
  /** @internal close(), abort(), writeEof() or EOF happened. */
  _closing = false;
  /** connectionLost() is queued or done. */
  #lost = false;
  /** The selector refused the descriptor: see _watch. */
  #polled = false;
  readonly #extra: Record<string, unknown>;

  constructor(loop: SelectorEventLoop, pipe: PipeLike, fd: number, protocol: BaseProtocol, extra: Record<string, unknown>) {
    super();
    this._loop = loop;
    this._pipe = pipe;
    this._fileno = fd;
    this._protocol = protocol;
    this.#extra = { ...extra, pipe };
  }

  /** asyncio's `get_extra_info(name, default)`: 'pipe'. */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return typeof name === 'string' && name in this.#extra ? this.#extra[name] : defaultValue;
  }

  /** Switches to another protocol. */
  setProtocol(protocol: BaseProtocol): void {
    this._protocol = protocol;
  }

  /** The current protocol. */
  getProtocol(): BaseProtocol {
    return this._protocol;
  }

  /** True once closing or closed. */
  isClosing(): boolean {
    return this._closing;
  }

  /** @internal connectionLost(exc), then the pipe is closed (asyncio's `_call_connection_lost`). */
  _callConnectionLost(exc: Error | null): void {
    this.#lost = true;
    if (this._pipe === null) return;
    try {
      this._protocol.connectionLost?.(exc);
    } finally {
      const pipe = this._pipe;
      this._pipe = null;
      if (pipe !== null) closePipe(pipe, this._fileno);
      this.emit('close', exc !== null);
    }
  }

  /** @internal Queues connectionLost(exc), once. */
  _queueConnectionLost(exc: Error | null): void {
    if (this.#lost) return;
    this.#lost = true;
    this._loop.callSoon(() => this._callConnectionLost(exc));
  }

  /**
   * @internal Watches the descriptor for reading or writing. Differs from
   * CPython: one the selector refuses (EPERM) is always ready, so `poll` is
   * called once per loop iteration instead, until it returns false.
   */
  _watch(write: boolean, handler: () => void, poll: () => boolean): void {
    if (!this.#polled) {
      try {
        if (write) this._loop._addWriter(this._fileno, handler, []);
        else this._loop._addReader(this._fileno, handler, []);
        return;
      } catch (e) {
        if (!refused(e)) throw e;
        this.#polled = true;
      }
    }
    const again = (): void => {
      if (this._pipe !== null && poll()) this._loop.callSoon(again);
    };
    this._loop.callSoon(again);
  }

  /** @internal Reports `exc` to the exception handler (not an OSError `quiet` says) and closes. */
  _fatalError(exc: unknown, message: string, quiet: boolean): void {
    if (!quiet) {
      this._loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this._protocol });
    }
    this._close(exc as Error);
    if (this.listenerCount('error') > 0) this.emit('error', exc);
  }

  /** @internal Closes now: connectionLost(exc) soon. */
  abstract _close(exc: Error | null): void;

  override toString(): string {
    const state = this._pipe === null ? ' closed' : this._closing ? ' closing' : '';
    return `<${this.constructor.name}${state} fd=${this._fileno}>`;
  }
}

/**
 * base_events.py's connect_read_pipe/connect_write_pipe: makes the protocol
 * and the transport, and resolves once connectionMade() has run.
 */
export async function connectPipe<P extends BaseProtocol, T extends PipeTransport>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  make: (protocol: P) => T,
): Promise<[T, P]> {
  loop._checkClosed();
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be callable, not '${pyTypeName(protocolFactory)}'`);
  const protocol = protocolFactory();
  const transport = make(protocol);
  // Queued after connectionMade(), as asyncio's waiter.
  await new Promise<void>((resolve) => loop.callSoon(resolve));
  return [transport, protocol];
}
