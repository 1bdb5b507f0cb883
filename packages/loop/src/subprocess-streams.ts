/**
 * Subprocesses with streams: CPython 3.11 Lib/asyncio/subprocess.py
 * (`SubprocessStreamProtocol`, `Process`, `create_subprocess_exec`,
 * `create_subprocess_shell`). The child's stdout and stderr are
 * StreamReaders, its stdin a StreamWriter, over the loop's pipe transports.
 *
 * Differs from CPython: the module functions take the program's arguments
 * as an array and the keywords as one options object
 * (`createSubprocessExec('ls', ['-l'], { stdout: PIPE })`).
 */
import { Buffer } from 'node:buffer';
import { pyTypeName } from '@iomux/core-native';
import { BrokenPipeError, ConnectionResetError, RuntimeError } from '@iomux/core-native/error-classes';
import { getRunningLoop } from './events.js';
import type { BaseSubprocessTransport, SubprocessProtocol } from './base-subprocess.js';
import type { SelectorEventLoop } from './selector-events.js';
import { FlowControlMixin } from './flow-control.js';
import { DEFAULT_LIMIT, StreamReader, StreamWriter, type StreamReaderProtocol } from './streams.js';
import { checkLimit, deferred, type Waiter } from './stream-reader.js';
import { PIPE, DEVNULL, STDOUT, type StdioSpec, type SubprocessOptions } from './subprocess.js';
import type { Transport } from './transports.js';

export { PIPE, DEVNULL, STDOUT };

/**
 * asyncio's `SubprocessStreamProtocol` (with FlowControlMixin): feeds the
 * child's stdout and stderr into StreamReaders and gives stdin's writer its
 * drain().
 */
export class SubprocessStreamProtocol extends FlowControlMixin implements SubprocessProtocol {
  /** The child's stdin as a writer, once connected (PIPE only). */
  stdin: StreamWriter | null = null;
  /** The child's stdout as a reader (PIPE only). */
  stdout: StreamReader | null = null;
  /** The child's stderr as a reader (PIPE only). */
  stderr: StreamReader | null = null;
  readonly #limit: number;
  readonly #loop: SelectorEventLoop;
  #transport: BaseSubprocessTransport | null = null;
  #processExited = false;
  readonly #pipeFds: number[] = [];
  readonly #stdinClosed: Promise<void>;
  readonly #stdinClosedWaiter: Waiter;

  constructor(limit: number, loop: SelectorEventLoop) {
    super();
    this.#limit = limit;
    this.#loop = loop;
    [this.#stdinClosed, this.#stdinClosedWaiter] = deferred();
    // Never an unhandled rejection: stdin.waitClosed() rethrows it.
    this.#stdinClosed.catch(() => {});
  }

  connectionMade(transport: unknown): void {
    const t = transport as BaseSubprocessTransport;
    this.#transport = t;
    const stdoutTransport = t.getPipeTransport(1);
    if (stdoutTransport !== null) {
      this.stdout = new StreamReader(this.#limit);
      this.stdout.setTransport(stdoutTransport as unknown as Transport);
      this.#pipeFds.push(1);
    }
    const stderrTransport = t.getPipeTransport(2);
    if (stderrTransport !== null) {
      this.stderr = new StreamReader(this.#limit);
      this.stderr.setTransport(stderrTransport as unknown as Transport);
      this.#pipeFds.push(2);
    }
    const stdinTransport = t.getPipeTransport(0);
    if (stdinTransport !== null) {
      this.stdin = new StreamWriter(stdinTransport as unknown as Transport, this as unknown as StreamReaderProtocol, null, this.#loop);
    }
  }

  pipeDataReceived(fd: number, data: Buffer): void {
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    reader?._feedOwned(data);
  }

  pipeConnectionLost(fd: number, exc: Error | null): void {
    if (fd === 0) {
      this.stdin?.close();
      this.connectionLost(exc);
      if (exc === null) this.#stdinClosedWaiter.resolve();
      else this.#stdinClosedWaiter.reject(exc);
      return;
    }
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    const i = this.#pipeFds.indexOf(fd);
    if (i >= 0) this.#pipeFds.splice(i, 1);
    this.#maybeCloseTransport();
  }

  processExited(): void {
    this.#processExited = true;
    this.#maybeCloseTransport();
  }

  #maybeCloseTransport(): void {
    if (this.#pipeFds.length === 0 && this.#processExited) {
      this.#transport?.close();
      this.#transport = null;
    }
  }

  /** FlowControlMixin.connection_lost: wakes a paused drain(). */
  connectionLost(exc: Error | null): void {
    this._flowConnectionLost(exc);
  }

  /** @internal stdin.waitClosed() (asyncio's `_get_close_waiter`). */
  _getClosed(): Promise<void> {
    return this.#stdinClosed;
  }
}

/** asyncio's `Process`: the child, its streams, its exit status. */
export class Process {
  /** The child's stdin, when it is PIPE. */
  readonly stdin: StreamWriter | null;
  /** The child's stdout, when it is PIPE. */
  readonly stdout: StreamReader | null;
  /** The child's stderr, when it is PIPE. */
  readonly stderr: StreamReader | null;
  /** The child's pid. */
  readonly pid: number;
  readonly #transport: BaseSubprocessTransport;

  constructor(transport: BaseSubprocessTransport, protocol: SubprocessStreamProtocol) {
    this.#transport = transport;
    this.stdin = protocol.stdin;
    this.stdout = protocol.stdout;
    this.stderr = protocol.stderr;
    this.pid = transport.getPid()!;
  }

  /** asyncio's repr(): `<Process PID>`. */
  toString(): string {
    return `<Process ${this.pid}>`;
  }

  /** The exit status: null while it runs, `-signal` if a signal killed it. */
  get returncode(): number | null {
    return this.#transport.getReturncode();
  }

  /** Waits for the child to exit; resolves with its returncode. */
  wait(): Promise<number> {
    return this.#transport._wait();
  }

  /** Sends signal `sig`. */
  sendSignal(sig: number): void {
    this.#transport.sendSignal(sig);
  }

  /** Sends SIGTERM. */
  terminate(): void {
    this.#transport.terminate();
  }

  /** Sends SIGKILL. */
  kill(): void {
    this.#transport.kill();
  }

  async #feedStdin(input: ArrayBufferView | string): Promise<void> {
    const stdin = this.stdin!;
    stdin.write(input);
    try {
      await stdin.drain();
    } catch (exc) {
      // communicate() ignores BrokenPipeError and ConnectionResetError
      if (!(exc instanceof BrokenPipeError || exc instanceof ConnectionResetError)) throw exc;
    }
    stdin.close();
  }

  async #readStream(fd: 1 | 2): Promise<Buffer> {
    const transport = this.#transport.getPipeTransport(fd);
    const stream = fd === 2 ? this.stderr! : this.stdout!;
    const output = await stream.read();
    transport?.close();
    return output;
  }

  /**
   * Writes `input` to stdin and closes it, while reading stdout and stderr
   * to their end; then waits for the exit. Resolves to `[stdout, stderr]`
   * (null for a stream that is not PIPE).
   */
  async communicate(input: ArrayBufferView | string | null = null): Promise<[Buffer | null, Buffer | null]> {
    if (input !== null && this.stdin === null) throw new RuntimeError('communicate(input) needs stdin=PIPE');
    if (input !== null && typeof input !== 'string' && !ArrayBuffer.isView(input)) throw new TypeError(`a bytes-like object is required, not '${pyTypeName(input)}'`);
    const [, stdout, stderr] = await Promise.all([
      input !== null ? this.#feedStdin(input) : null,
      this.stdout !== null ? this.#readStream(1) : null,
      this.stderr !== null ? this.#readStream(2) : null,
    ]);
    await this.wait();
    return [stdout, stderr];
  }
}

/** Options of createSubprocessExec/createSubprocessShell: the loop's, plus the readers' `limit`. */
export interface CreateSubprocessOptions extends SubprocessOptions {
  /** The StreamReaders' buffer limit (64 KiB). */
  limit?: number;
}

function split(options: CreateSubprocessOptions): [number, SubprocessOptions] {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not '${pyTypeName(options)}'`);
  const { limit = DEFAULT_LIMIT, ...rest } = options;
  // asyncio's module functions default every stream to None: the parent's.
  const o: SubprocessOptions = { stdin: null as StdioSpec, stdout: null as StdioSpec, stderr: null as StdioSpec, ...rest };
  return [checkLimit(limit), o];
}

/**
 * asyncio's `create_subprocess_exec(program, *args, ...)` on the running
 * loop: resolves to a Process. Streams default to the parent's own; pass
 * PIPE for a StreamReader/StreamWriter.
 */
export async function createSubprocessExec(program: string, args: readonly string[] = [], options: CreateSubprocessOptions = {}): Promise<Process> {
  const loop = getRunningLoop() as SelectorEventLoop;
  const [limit, o] = split(options);
  const [transport, protocol] = await loop.subprocessExec(() => new SubprocessStreamProtocol(limit, loop), program, args, o);
  return new Process(transport, protocol);
}

/** asyncio's `create_subprocess_shell(cmd, ...)` on the running loop: `/bin/sh -c cmd`. */
export async function createSubprocessShell(cmd: string | Uint8Array, options: CreateSubprocessOptions = {}): Promise<Process> {
  const loop = getRunningLoop() as SelectorEventLoop;
  const [limit, o] = split(options);
  const [transport, protocol] = await loop.subprocessShell(() => new SubprocessStreamProtocol(limit, loop), cmd, o);
  return new Process(transport, protocol);
}
