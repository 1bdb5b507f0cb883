/**
 * Subprocess transports: CPython 3.11 Lib/asyncio/base_subprocess.py
 * (`BaseSubprocessTransport`, `WriteSubprocessPipeProto`,
 * `ReadSubprocessPipeProto`) and protocols.py's `SubprocessProtocol`. The
 * child's pipes are the loop's own pipe transports (unix-pipes.ts) on real
 * descriptors; the child itself is started and watched by subprocess.ts.
 *
 * Differs from CPython: there is no Popen object. The transport holds the
 * pid and, on Linux, a pidfd (child-watcher.ts), and signals the child
 * through it, so a signal never reaches a recycled pid.
 */
import { Buffer } from 'node:buffer';
import { errnoConstants as E, os } from '@iomux/core-native';
import { OSError, ProcessLookupError } from '@iomux/core-native/error-classes';
import type { BaseProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { UnixReadPipeTransport, UnixWritePipeTransport } from './unix-pipes.js';

/**
 * asyncio's `SubprocessProtocol`: what a subprocess transport calls.
 * `connectionLost` comes last, once the process exited and every pipe closed.
 */
export interface SubprocessProtocol extends BaseProtocol {
  /** The child wrote `data` to its stdout (fd 1) or stderr (fd 2). */
  pipeDataReceived?(fd: number, data: Buffer): void;
  /** One of the child's pipes closed; `exc` is null at a clean end of file. */
  pipeConnectionLost?(fd: number, exc: Error | null): void;
  /** The child exited; getReturncode() has its status. */
  processExited?(): void;
}

/** The child as subprocess.ts started it: asyncio's Popen, reduced to what the transport needs. */
export interface ChildProcess {
  readonly pid: number;
  /** The parent's ends of the PIPE streams, null where the stream is not a pipe. */
  readonly stdin: number | null;
  readonly stdout: number | null;
  readonly stderr: number | null;
  /** Sends `sig` (pidfd_send_signal where there is a pidfd, else kill). */
  sendSignal(sig: number): void;
}

type PipeTransport = UnixReadPipeTransport | UnixWritePipeTransport;

/** asyncio's `WriteSubprocessPipeProto`: forwards a pipe's events to the subprocess transport. */
class WriteSubprocessPipeProto implements BaseProtocol {
  proc: BaseSubprocessTransport | null;
  readonly fd: number;
  pipe: PipeTransport | null = null;
  disconnected = false;

  constructor(proc: BaseSubprocessTransport, fd: number) {
    this.proc = proc;
    this.fd = fd;
  }

  connectionMade(transport: unknown): void {
    this.pipe = transport as PipeTransport;
  }

  connectionLost(exc: Error | null): void {
    this.disconnected = true;
    this.proc?._pipeConnectionLost(this.fd, exc);
    this.proc = null;
  }

  pauseWriting(): void {
    this.proc?._protocol?.pauseWriting?.();
  }

  resumeWriting(): void {
    this.proc?._protocol?.resumeWriting?.();
  }

  /** asyncio's repr(): the class, the child's fd and the pipe transport. */
  toString(): string {
    return `<${this.constructor.name} fd=${this.fd} pipe=${String(this.pipe)}>`;
  }
}

/** asyncio's `ReadSubprocessPipeProto`. */
class ReadSubprocessPipeProto extends WriteSubprocessPipeProto {
  dataReceived(data: Buffer): void {
    this.proc?._pipeDataReceived(this.fd, data);
  }
}

type PendingCall = [(...a: never[]) => void, unknown[]];

/**
 * asyncio's `SubprocessTransport` (`BaseSubprocessTransport`): the child's
 * pid and exit status, its pipes, and signals.
 */
export class BaseSubprocessTransport {
  #closed = false;
  /** @internal */
  _protocol: SubprocessProtocol | null;
  /** @internal */
  _loop: SelectorEventLoop | null;
  /** @internal The child; null once connectionLost ran. */
  _proc: ChildProcess | null = null;
  #pid: number | null = null;
  #returncode: number | null = null;
  #exitWaiters: Array<(code: number) => void> | null = [];
  #pendingCalls: PendingCall[] | null = [];
  readonly #pipes = new Map<number, WriteSubprocessPipeProto | null>();
  #finished = false;
  /** Connecting the pipes failed (_abortPipes): no protocol calls. */
  #aborted = false;
  readonly #extra: Record<string, unknown>;
  /** @internal Settles once the pipes are connected (asyncio's `waiter`). */
  readonly _connected: Promise<void>;

  /**
   * @param start starts the child (asyncio's `_start`); the transport
   *   closes and rethrows if it throws.
   */
  constructor(loop: SelectorEventLoop, protocol: SubprocessProtocol, pipes: { stdin: boolean; stdout: boolean; stderr: boolean }, start: () => ChildProcess, extra: Record<string, unknown> = {}) {
    this._loop = loop;
    this._protocol = protocol;
    this.#extra = { ...extra };
    if (pipes.stdin) this.#pipes.set(0, null);
    if (pipes.stdout) this.#pipes.set(1, null);
    if (pipes.stderr) this.#pipes.set(2, null);
    try {
      this._proc = start();
    } catch (e) {
      this.close();
      throw e;
    }
    this.#pid = this._proc.pid;
    this.#extra.subprocess = this._proc;
    if (loop.getDebug()) loop.logger.warn(`process created: pid ${this.#pid}`);
    this._connected = this.#connectPipes();
  }

  /** asyncio's `get_extra_info(name, default)`: 'subprocess'. */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return typeof name === 'string' && name in this.#extra ? this.#extra[name] : defaultValue;
  }

  /** asyncio's repr(): the class, closed or not, the pid, the return code or running, and the pipes. */
  toString(): string {
    const info = [this.constructor.name];
    if (this.#closed) info.push('closed');
    if (this.#pid !== null) info.push(`pid=${this.#pid}`);
    if (this.#returncode !== null) info.push(`returncode=${this.#returncode}`);
    else if (this.#pid !== null) info.push('running');
    else info.push('not started');
    return `<${info.join(' ')}>`;
  }

  /** Switches to another protocol. */
  setProtocol(protocol: SubprocessProtocol): void {
    this._protocol = protocol;
  }

  /** The current protocol. */
  getProtocol(): SubprocessProtocol | null {
    return this._protocol;
  }

  /** True once close() was called. */
  isClosing(): boolean {
    return this.#closed;
  }

  /**
   * Closes the pipes and kills the child if it still runs (asyncio: the
   * exit is still reaped, and connectionLost() still follows).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const proto of this.#pipes.values()) proto?.pipe?.close();
    if (this._proc !== null && this.#returncode === null) {
      if (this._loop?.getDebug()) this._loop.logger.warn(`Close running child process: kill ${String(this)}`);
      try {
        this._proc.sendSignal(os.SIGKILL);
      } catch (e) {
        if (!(e instanceof ProcessLookupError)) throw e;
      }
    }
  }

  /** The child's pid. */
  getPid(): number | null {
    return this.#pid;
  }

  /** The exit status: the exit code, `-signal` if a signal killed it, null while it runs. */
  getReturncode(): number | null {
    return this.#returncode;
  }

  /** The transport of the child's stdin (0), stdout (1) or stderr (2) pipe; null when that stream is not a pipe. */
  getPipeTransport(fd: number): PipeTransport | null {
    return this.#pipes.get(fd)?.pipe ?? null;
  }

  #checkProc(): ChildProcess {
    if (this._proc === null) throw new ProcessLookupError();
    return this._proc;
  }

  /**
   * Sends signal `sig` to the child. As Popen.send_signal in 3.11, nothing
   * once the exit is known; ProcessLookupError once the transport finished.
   */
  sendSignal(sig: number): void {
    const proc = this.#checkProc();
    if (this.#returncode !== null) return;
    try {
      proc.sendSignal(sig);
    } catch (e) {
      // A zombie not yet reaped: Popen.send_signal ignores it too.
      if (!(e instanceof OSError && e.errno === E.ESRCH)) throw e;
    }
  }

  /** sendSignal(SIGTERM). */
  terminate(): void {
    this.sendSignal(os.SIGTERM);
  }

  /** sendSignal(SIGKILL). */
  kill(): void {
    this.sendSignal(os.SIGKILL);
  }

  async #connectPipes(): Promise<void> {
    const proc = this._proc!;
    const loop = this._loop!;
    if (proc.stdin !== null) {
      const [, p] = await loop.connectWritePipe(() => new WriteSubprocessPipeProto(this, 0), proc.stdin);
      this.#pipes.set(0, p);
    }
    if (proc.stdout !== null) {
      const [, p] = await loop.connectReadPipe(() => new ReadSubprocessPipeProto(this, 1), proc.stdout);
      this.#pipes.set(1, p);
    }
    if (proc.stderr !== null) {
      const [, p] = await loop.connectReadPipe(() => new ReadSubprocessPipeProto(this, 2), proc.stderr);
      this.#pipes.set(2, p);
    }
    const protocol = this._protocol;
    loop.callSoon(() => protocol?.connectionMade?.(this as never));
    for (const [cb, data] of this.#pendingCalls!) loop.callSoon(cb as never, ...data);
    this.#pendingCalls = null;
    // asyncio's waiter: its callbacks run after those queued above.
    await new Promise<void>((resolve) => loop.callSoon(resolve));
  }

  /**
   * @internal Connecting the pipes failed: the ones not connected are
   * closed and forgotten, so the exit alone can finish the transport
   * (asyncio would wait for them forever).
   */
  _abortPipes(): void {
    // The protocol never saw connectionMade(): it gets no call at all.
    this.#aborted = true;
    this.#pendingCalls = null;
    const ends = [this._proc?.stdin ?? null, this._proc?.stdout ?? null, this._proc?.stderr ?? null];
    for (const [fd, proto] of [...this.#pipes]) {
      // A connected pipe's transport owns its descriptor; an entry still
      // null never reached connectReadPipe/connectWritePipe's transport.
      if (proto !== null) continue;
      this.#pipes.delete(fd);
      const end = ends[fd];
      if (end !== null && end !== undefined) os.close(end);
    }
    this.#tryFinish();
  }

  #call(cb: (...a: never[]) => void, ...data: unknown[]): void {
    if (this.#aborted) return;
    if (this.#pendingCalls !== null) this.#pendingCalls.push([cb, data]);
    else this._loop!.callSoon(cb as never, ...data);
  }

  /** @internal */
  _pipeConnectionLost(fd: number, exc: Error | null): void {
    const p = this._protocol;
    this.#call((f: number, e: Error | null) => p?.pipeConnectionLost?.(f, e), fd, exc);
    this.#tryFinish();
  }

  /** @internal */
  _pipeDataReceived(fd: number, data: Buffer): void {
    const p = this._protocol;
    this.#call((f: number, d: Buffer) => p?.pipeDataReceived?.(f, d), fd, data);
  }

  /** @internal The child watcher saw the exit (asyncio's `_process_exited`). */
  _processExited(returncode: number): void {
    if (this.#returncode !== null) return;
    if (this._loop?.getDebug()) this._loop.logger.warn(`${String(this)} exited with return code ${returncode}`);
    this.#returncode = returncode;
    const p = this._protocol;
    this.#call(() => p?.processExited?.());
    this.#tryFinish();
  }

  /**
   * @internal The exit status (asyncio 3.11's `_wait`): at once when known,
   * else once connectionLost() ran.
   */
  _wait(): Promise<number> {
    if (this.#returncode !== null) return Promise.resolve(this.#returncode);
    return new Promise((resolve) => this.#exitWaiters!.push(resolve));
  }

  #tryFinish(): void {
    if (this.#finished || this.#returncode === null) return;
    for (const p of this.#pipes.values()) {
      if (p === null || !p.disconnected) return;
    }
    this.#finished = true;
    if (this.#aborted) this._loop!.callSoon(() => this.#callConnectionLost(null));
    else this.#call(() => this.#callConnectionLost(null));
  }

  #callConnectionLost(exc: Error | null): void {
    try {
      if (!this.#aborted) this._protocol?.connectionLost?.(exc);
    } finally {
      // wake up futures waiting for wait()
      for (const w of this.#exitWaiters ?? []) w(this.#returncode!);
      this.#exitWaiters = null;
      this._loop = null;
      this._proc = null;
      this._protocol = null;
    }
  }
}
