/**
 * What both SSL protocols share of CPython 3.11 Lib/asyncio/sslproto.py's
 * `SSLProtocol`, whatever runs TLS under it (sslproto.ts: Node's
 * TLSSocket; sslproto-memtls.ts: core-native's memtls): its settings, the
 * waiter, `_get_extra_info`, the handshake and shutdown timeouts, the app
 * side of `connection_lost`, the states of `_on_handshake_complete`,
 * `_start_shutdown`, `_on_shutdown_complete` and `_abort`,
 * `_call_eof_received`, `_fatal_error`, the dropped `_write_appdata`, and
 * the protocol and app states (SSLProtocolState, AppProtocolState).
 * Held, not inherited: MemtlsSSLProtocol already extends MemtlsFlow.
 */
import { ConnectionAbortedError, ConnectionResetError, OSError, TimeoutError } from '@iomux/core-native/error-classes';
import type { TimerHandle } from './events.js';
import type { AnyProtocol } from './protocols.js';
import type { SelectorEventLoop } from './selector-events.js';
import type { SelectorTransport } from './selector-transport.js';
import type { SSLProtocolTransport, SslProtocolLike } from './ssl-transport.js';
import type { SSLContext } from './tls-context.js';
import { pyNumber, sslSettings, type SslProtocolOptions, type Waiter } from './ssl-pipe.js';

/** asyncio: constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

/** sslproto.py's SSLProtocolState. */
export type State = 'UNWRAPPED' | 'DO_HANDSHAKE' | 'WRAPPED' | 'FLUSHING' | 'SHUTDOWN';
/** asyncio's AppProtocolState: STATE_INIT, STATE_CON_MADE, STATE_EOF, STATE_CON_LOST. */
export const enum App { INIT, CON_MADE, EOF, CON_LOST }

/** What SslProtocolBase reads and sets on its SSL protocol (the `_`-named fields of both). */
export interface SslProtocolHost extends SslProtocolLike {
  readonly _loop: SelectorEventLoop;
  _state: State;
  _appState: App;
  /** The raw transport. */
  _transport: SelectorTransport | null;
  _appTr: SSLProtocolTransport | null;
  _connLost: number;
  _fatalError(exc: unknown, message?: string): void;
}

/** asyncio's `_call_eof_received`. */
export function callEofReceived(p: SslProtocolHost): void {
  try {
    if (p._appState === App.CON_MADE) {
      p._appState = App.EOF;
      const keepOpen = p._appProtocol?.eofReceived?.();
      if (keepOpen) p._loop.logger.warn('returning true from eof_received() has no effect when using ssl');
      p._appTr?.emit('end');
    }
  } catch (ex) {
    p._fatalError(ex, 'Error calling eof_received()');
  }
}

/** asyncio's `_fatal_error`. */
export function fatalError(p: SslProtocolHost, exc: unknown, message = 'Fatal error on transport'): void {
  p._transport?._forceClose(exc as Error);
  if (exc instanceof OSError) {
    if (p._loop.getDebug()) p._loop.logger.warn(`${String(p)}: ${message}`, exc);
  } else {
    p._loop.callExceptionHandler({ message, exception: exc, transport: p._transport, protocol: p });
  }
}

/** asyncio's `_write_appdata` once the connection is closing or closed: true when the write is dropped (and counted). */
export function appdataDropped(p: SslProtocolHost): boolean {
  if (p._state !== 'FLUSHING' && p._state !== 'SHUTDOWN' && p._state !== 'UNWRAPPED') return false;
  if (p._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) p._loop.logger.warn('SSL connection is closed');
  p._connLost += 1;
  return true;
}

/** The engine-free part of an SSL protocol (see the top of this file); `host` is that protocol. */
export class SslProtocolBase {
  readonly ctx: SSLContext;
  readonly serverSide: boolean;
  readonly serverHostname: string | null;
  readonly handshakeTimeout: number;
  readonly shutdownTimeout: number;
  readonly #host: SslProtocolHost;
  #waiter: Waiter | null;
  readonly #extra: Record<string, unknown>;
  #handshakeTimer: TimerHandle | null = null;
  #shutdownTimer: TimerHandle | null = null;

  /** Reads the options, and sets the host's app protocol and app state. */
  constructor(host: SslProtocolHost, appProtocol: AnyProtocol, sslContext: SSLContext, waiter: Waiter | null, options: SslProtocolOptions) {
    const settings = sslSettings(options);
    this.handshakeTimeout = settings.handshakeTimeout;
    this.shutdownTimeout = settings.shutdownTimeout;
    this.ctx = sslContext;
    this.serverSide = settings.serverSide;
    this.serverHostname = settings.serverHostname;
    this.#extra = { sslcontext: sslContext };
    this.#waiter = waiter;
    this.#host = host;
    host._setAppProtocol(appProtocol);
    host._appState = options.callConnectionMade === false ? App.CON_MADE : App.INIT;
  }

  wakeupWaiter(exc: unknown = null): void {
    const w = this.#waiter;
    if (w === null) return;
    this.#waiter = null;
    if (exc !== null) w.reject(exc);
    else w.resolve();
  }

  /** asyncio's `connection_lost`, but for the engine's own cleanup (before and after). */
  connectionLost(exc: Error | null): void {
    const p = this.#host;
    p._connLost += 1;
    // Just mark the app transport as closed.
    if (p._appTr !== null) p._appTr._closed = true;
    if (p._state !== 'DO_HANDSHAKE' && (p._appState === App.CON_MADE || p._appState === App.EOF)) {
      p._appState = App.CON_LOST;
      const app = p._appProtocol!;
      const at = p._appTr;
      p._loop.callSoon(() => {
        try {
          app.connectionLost?.(exc);
        } finally {
          // As the raw transports, Node's name too.
          at?.emit('close', exc !== null);
        }
      });
    }
    p._state = 'UNWRAPPED';
    p._transport = null;
    p._appTr = null;
    p._appProtocol = null;
    // Differs from CPython: a handshake the peer cut off fails (asyncio 3.11 would resolve), on both engines.
    this.wakeupWaiter(exc ?? new ConnectionResetError('Connection lost during the SSL handshake'));
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
  }

  /** asyncio's `_get_extra_info`. */
  getExtraInfo(name: string, defaultValue: unknown): unknown {
    if (typeof name === 'string' && Object.hasOwn(this.#extra, name)) return this.#extra[name];
    const t = this.#host._transport;
    if (t !== null) return t.getExtraInfo(name, defaultValue);
    return defaultValue;
  }

  // ------------------------------------------------------------ handshake

  /** DO_HANDSHAKE, and the handshake's timeout running; the engine starts it. */
  startHandshake(): void {
    this.#host._state = 'DO_HANDSHAKE';
    // start handshake timeout count down
    this.#handshakeTimer = this.#host._loop.callLater(this.handshakeTimeout, () => this.#checkHandshakeTimeout());
  }

  #checkHandshakeTimeout(): void {
    const p = this.#host;
    if (p._state === 'DO_HANDSHAKE') {
      const msg = `SSL handshake is taking longer than ${pyNumber(this.handshakeTimeout)} seconds: aborting the connection`;
      const exc = new ConnectionAbortedError(msg);
      p._fatalError(exc);
      // Now, not from connectionLost(): a transport whose protocol was replaced would never call it (startTls would hang).
      this.wakeupWaiter(exc);
    }
  }

  /** asyncio's `_on_handshake_complete`, its start: the timeout cancelled; false once the handshake is no longer on. */
  handshakeEnded(): boolean {
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
    return this.#host._state === 'DO_HANDSHAKE';
  }

  /**
   * asyncio's `_on_handshake_complete`, the rest: `extra` (getExtraInfo's
   * keys) when it succeeded, else null and `handshakeExc` (null: the peer
   * left). True once the app is connected.
   */
  handshakeDone(handshakeExc: unknown, extra: Record<string, unknown> | null): boolean {
    const p = this.#host;
    if (extra === null) {
      const exc = handshakeExc ?? new ConnectionResetError('Connection lost during the SSL handshake');
      p._state = 'UNWRAPPED';
      const verifying = (exc as { name?: unknown }).name === 'SSLCertVerificationError';
      p._fatalError(exc, verifying ? 'SSL handshake failed on verifying the certificate' : 'SSL handshake failed');
      this.wakeupWaiter(exc);
      return false;
    }
    p._state = 'WRAPPED';
    Object.assign(this.#extra, extra);
    if (p._appState === App.INIT) {
      p._appState = App.CON_MADE;
      try {
        p._appProtocol!.connectionMade?.(p._appTr!);
      } catch (exc) {
        p._fatalError(exc, 'Fatal error: protocol.connection_made() call failed.');
        this.wakeupWaiter(exc);
        return false;
      }
    }
    this.wakeupWaiter();
    return true;
  }

  // ------------------------------------------------------------- shutdown

  /** asyncio's `_start_shutdown` up to the flush: true when the engine is to flush (FLUSHING, the timeout running). */
  startShutdown(): boolean {
    const p = this.#host;
    if (p._state === 'FLUSHING' || p._state === 'SHUTDOWN' || p._state === 'UNWRAPPED') return false;
    if (p._appTr !== null) p._appTr._closed = true;
    if (p._state === 'DO_HANDSHAKE') {
      p._abort(null);
      return false;
    }
    p._state = 'FLUSHING';
    this.#shutdownTimer = p._loop.callLater(this.shutdownTimeout, () => this.#checkShutdownTimeout());
    return true;
  }

  #checkShutdownTimeout(): void {
    const p = this.#host;
    if (p._state === 'FLUSHING' || p._state === 'SHUTDOWN') {
      p._transport?._forceClose(new TimeoutError('SSL shutdown timed out'));
    }
  }

  /** asyncio's `_on_shutdown_complete`. */
  onShutdownComplete(shutdownExc: unknown): void {
    this.#shutdownTimer?.cancel();
    this.#shutdownTimer = null;
    const p = this.#host;
    if (shutdownExc !== null) {
      p._fatalError(shutdownExc);
      return;
    }
    const t = p._transport;
    p._loop.callSoon(() => t?.close());
  }

  /** asyncio's `_abort`: the raw transport closes now. */
  abort(exc: Error | null): void {
    this.#host._state = 'UNWRAPPED';
    this.#host._transport?._forceClose(exc);
  }
}
