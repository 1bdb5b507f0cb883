/**
 * What sslproto.ts's SSLProtocol runs on: CipherPipe, the in-memory Duplex
 * between Node's TLS socket and the raw iomux transport (asyncio's pair of
 * `ssl.MemoryBIO`s, with the flow control of the raw transport's side), the
 * TLS socket made over it, and asyncio's sslproto.py constants and checks.
 */
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import { pyTypeName } from '@iomux/core-native';
import { RuntimeError, SSLError, ValueError } from '@iomux/core-native/error-classes';
import type { BufferedProtocol } from './protocols.js';
import type { SelectorTransport } from './selector-transport.js';
import { toSslError, type SSLContext } from './tls-context.js';

/** asyncio's constants.SSL_HANDSHAKE_TIMEOUT: seconds to finish the handshake. */
export const SSL_HANDSHAKE_TIMEOUT = 60.0;
/** asyncio's constants.SSL_SHUTDOWN_TIMEOUT: seconds to wait for the peer's close_notify. */
export const SSL_SHUTDOWN_TIMEOUT = 30.0;
/** asyncio's constants.FLOW_CONTROL_HIGH_WATER_SSL_READ, in KiB. */
const FLOW_CONTROL_HIGH_WATER_SSL_READ = 256;

/** What the waiter of createConnection/startTls is told. */
export interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

/** asyncio's check of ssl_handshake_timeout/ssl_shutdown_timeout (seconds, > 0). */
export function checkSslTimeout(value: unknown, name: string, dflt: number): number {
  if (value === null || value === undefined) return dflt;
  if (typeof value !== 'number') throw new TypeError(`'<=' not supported between instances of '${pyTypeName(value)}' and 'int'`);
  if (!(value > 0)) throw new ValueError(`${name} should be a positive number, got ${value}`);
  return value;
}

/** What both SSL protocols are made with (start-tls.ts's makeProtocol). */
export interface SslProtocolOptions {
  serverSide?: boolean;
  serverHostname?: string | null;
  callConnectionMade?: boolean;
  sslHandshakeTimeout?: number | null;
  sslShutdownTimeout?: number | null;
}

/** Both SSL protocols' reading of their options: the timeouts checked, the side, a client's hostname. */
export function sslSettings(o: SslProtocolOptions): { handshakeTimeout: number; shutdownTimeout: number; serverSide: boolean; serverHostname: string | null } {
  const handshakeTimeout = checkSslTimeout(o.sslHandshakeTimeout, 'ssl_handshake_timeout', SSL_HANDSHAKE_TIMEOUT);
  const shutdownTimeout = checkSslTimeout(o.sslShutdownTimeout, 'ssl_shutdown_timeout', SSL_SHUTDOWN_TIMEOUT);
  const serverSide = o.serverSide ?? false;
  return { handshakeTimeout, shutdownTimeout, serverSide, serverHostname: o.serverHostname && !serverSide ? o.serverHostname : null };
}

/** Python's str() of a float the message names ('60.0'). */
export function pyNumber(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

type Done = (err?: Error | null) => void;
function noop(): void {}

/**
 * The Duplex under the TLS socket: its readable side is the ciphertext the
 * raw transport received (feed), its writable side the ciphertext to send,
 * which goes to the raw transport at once, or waits while the raw
 * transport is over its high-water mark (asyncio's `_ssl_writing_paused`).
 */
export class CipherPipe extends Duplex {
  #transport: SelectorTransport | null;
  readonly #onEnded: () => void;
  /** The raw transport's reading was paused because this pipe is full. */
  #readingPaused = false;
  #writingPaused = false;
  #held: Array<[Buffer[], Done, boolean]> = [];
  /** Ciphertext waiting for the raw transport to drain, in bytes. */
  heldBytes = 0;
  /** Completes the TLS socket's write on the loop (see earlyWriteCompletion); null: Node's way only. */
  #finishWrite: (() => void) | null = null;
  #finishQueued = false;
  readonly #finish = (): void => {
    this.#finishQueued = false;
    this.#finishWrite?.();
  };
  #schedule: ((fn: () => void) => void) | null = null;

  readonly #onError: (exc: unknown) => void;

  /** `onError`: the raw transport refused ciphertext (asyncio's _write_appdata: a fatal error). */
  constructor(transport: SelectorTransport, onEnded: () => void, onError: (exc: unknown) => void) {
    // asyncio pauses the raw transport at 256 KiB of unread ciphertext.
    super({ readableHighWaterMark: FLOW_CONTROL_HIGH_WATER_SSL_READ * 1024, allowHalfOpen: true, decodeStrings: false });
    this.#transport = transport;
    this.#onEnded = onEnded;
    this.#onError = onError;
  }

  /** Ciphertext from the peer; the raw transport pauses while the TLS socket lags. */
  feed(data: Buffer): void {
    // What push() would do for a flowing stream with nothing buffered, without its bookkeeping.
    if (this.readableFlowing === true && this.readableLength === 0 && !this.destroyed) {
      this.emit('data', data);
      return;
    }
    if (!this.push(data) && !this.#readingPaused) {
      this.#readingPaused = true;
      this.#transport?.pauseReading();
    }
  }

  override _read(): void {
    if (this.#readingPaused) {
      this.#readingPaused = false;
      this.#transport?.resumeReading();
    }
  }

  /** The raw transport is gone: nothing more to send. */
  detach(): void {
    this.#transport = null;
    this.#finishWrite = null;
    this.#held = [];
    this.heldBytes = 0;
  }

  /**
   * Ciphertext to the raw transport (or held). With `early`, the TLS
   * socket's write is completed by #finish on the loop, and `cb` (whose
   * only work would be a setImmediate doing the same) is not called.
   */
  #out(chunks: Buffer[], n: number, cb: Done, early = false): void {
    const t = this.#transport;
    // Gone, or lost (a fatal error): what the TLS socket still says (an alert) goes nowhere.
    if (t === null || t._connLost !== 0) return cb();
    if (this.#writingPaused) {
      this.#held.push([chunks, cb, early]);
      this.heldBytes += n;
      return;
    }
    try {
      if (chunks.length === 1) t.write(chunks[0]!);
      else t.writelines(chunks);
    } catch (exc) {
      // A raw transport the caller wrote EOF on (or sends a file through): never an exception out of Node's stream.
      this.#onError(exc);
      return cb();
    }
    if (!early || this.#finishWrite === null) cb();
    if (this.#finishWrite !== null && !this.#finishQueued) {
      this.#finishQueued = true;
      this.#schedule!(this.#finish);
    }
  }

  /**
   * TLS-ECHO: Node completes each ciphertext write of a TLS socket over a JS
   * stream on setImmediate (JSStreamSocket), and TLSWrap sends nothing more
   * until then; a busy loop lets Node's loop turn only every millisecond, so
   * a connection got one record out per millisecond. When this Node has the
   * (undocumented) handles, the write is completed on the loop instead, right
   * after the raw transport took it; Node's own completion then finds nothing
   * to do. Without them, Node's way alone.
   */
  earlyWriteCompletion(sock: tls.TLSSocket, schedule: (fn: () => void) => void): void {
    const wrap = (sock as unknown as { _handle?: { _parentWrap?: { finishWrite?: unknown; _handle?: unknown; stream?: unknown } } })._handle?._parentWrap;
    // Only Node's JSStreamSocket over this very pipe, with finishWrite(handle, errCode) (Node 20, 22, 24).
    if (typeof wrap?.finishWrite !== 'function' || wrap.finishWrite.length !== 2 || wrap.stream !== this) return;
    const finishWrite = wrap.finishWrite as (this: typeof wrap, handle: unknown, errCode: number) => void;
    this.#schedule = schedule;
    this.#finishWrite = () => {
      const h = wrap._handle;
      if (h !== null && h !== undefined) finishWrite.call(wrap, h, 0);
    };
  }

  /** The raw transport went over its high-water mark. */
  pauseWriting(): void {
    this.#writingPaused = true;
  }

  /** The raw transport drained: the held ciphertext goes (until it pauses again). */
  resumeWriting(): void {
    this.#writingPaused = false;
    const held = this.#held;
    this.#held = [];
    this.heldBytes = 0;
    for (const [chunks, cb, early] of held) this.#out(chunks, chunks.reduce((a, c) => a + c.length, 0), cb, early);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: Done): void {
    this.#out([chunk], chunk.length, cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: Done): void {
    let n = 0;
    const list = chunks.map((c) => ((n += c.chunk.length), c.chunk));
    this.#out(list, n, cb);
  }

  override _final(cb: Done): void {
    this.#onEnded();
    cb();
  }

  // The TLS socket's ciphertext goes straight to the raw transport, which
  // batches it per loop iteration: no Writable queue between them (its
  // cork/write/uncork per record cost more than the send; see TLS-ECHO).
  override cork(): void {}
  override uncork(): void {}
  override write(chunk: unknown, encOrCb?: unknown, cb?: unknown): boolean {
    const done = (typeof encOrCb === 'function' ? encOrCb : cb) as Done | undefined;
    if (!Buffer.isBuffer(chunk) || this.writableEnded || this.destroyed) return super.write(chunk, encOrCb as BufferEncoding, cb as () => void);
    this.#out([chunk], chunk.length, done ?? noop, true);
    return true;
  }
}

/**
 * The TLS socket over `pipe`: Node's server side (`secure` when done), or
 * tls.connect's client side (`secureConnect`), which verifies the peer and
 * checks `host` as the context says.
 */
export function openTlsSocket(pipe: CipherPipe, ctx: SSLContext, serverSide: boolean, host: string | null): tls.TLSSocket {
  const ALPNProtocols = (ctx.alpnProtocols ?? undefined) as string[] | undefined;
  if (serverSide) {
    return new tls.TLSSocket(pipe, { isServer: true, secureContext: ctx.secureContext, requestCert: ctx.requestCert, rejectUnauthorized: ctx.verify, ALPNProtocols });
  }
  const isIp = host !== null && (host.includes(':') || /^[0-9.]+$/.test(host));
  return tls.connect({
    socket: pipe,
    secureContext: ctx.secureContext,
    rejectUnauthorized: ctx.verify,
    // SNI takes no address (RFC 6066); the certificate is still checked against it.
    servername: host !== null && !isIp ? host : undefined,
    host: host ?? undefined,
    checkServerIdentity: ctx.checkHostname && host !== null ? tls.checkServerIdentity : () => undefined,
    ALPNProtocols,
  });
}

/**
 * Server side with `requestCert` and `verify` (Python's CERT_REQUIRED): the
 * client's certificate as OpenSSL verified it, an SSLCertVerificationError
 * if it failed, else null. OpenSSL already refuses a client without one;
 * Node keeps the verdict on the TLS handle, where tls.Server reads it too
 * (feature-checked: without it, the connection is refused).
 */
export function clientCertError(sock: tls.TLSSocket, ctx: SSLContext): unknown {
  if (!ctx.requestCert || !ctx.verify) return null;
  const handle = (sock as unknown as { _handle?: { verifyError?: () => Error | null | undefined } })._handle;
  if (typeof handle?.verifyError !== 'function') return new SSLError('[SSL: CERTIFICATE_VERIFY_FAILED] this Node cannot tell whether the client certificate verified', { reason: 'CERTIFICATE_VERIFY_FAILED' });
  const err = handle.verifyError();
  return err ? toSslError(err) : null;
}

/** getExtraInfo's keys once the handshake is done (see the README's "TLS"). */
export function handshakeExtra(sock: tls.TLSSocket): Record<string, unknown> {
  const cert = sock.getPeerCertificate();
  const cipher = sock.getCipher();
  return {
    // Python's getpeercert(): null when the peer sent none.
    peercert: cert && Object.keys(cert).length > 0 ? cert : null,
    // Python's (name, version, secret bits).
    cipher: cipher ? [cipher.name, cipher.version, cipherBits(cipher.name)] : null,
    compression: null,
    sslObject: sock,
    ssl_object: sock,
  };
}

/** The secret bits of a cipher suite, from its name (Python's cipher()[2]). */
function cipherBits(name: string): number | null {
  if (/CHACHA20|AES_?256|AES256/.test(name)) return 256;
  if (/AES_?128|AES128/.test(name)) return 128;
  return null;
}

/**
 * asyncio's `_do_read__buffered`: `chunk` copied into the buffers the app
 * hands out; stops if `stillCurrent()` turns false (the app closed or
 * switched protocols from bufferUpdated).
 */
export function feedBuffered(app: BufferedProtocol, chunk: Buffer, stillCurrent: () => boolean): void {
  let off = 0;
  while (off < chunk.length) {
    const buf = app.getBuffer(chunk.length - off);
    if (!ArrayBuffer.isView(buf)) throw new TypeError(`get_buffer() must return a bytes-like object, not ${pyTypeName(buf)}`);
    if (buf.byteLength === 0) throw new RuntimeError('get_buffer() returned an empty buffer');
    const n = Math.min(buf.byteLength, chunk.length - off);
    chunk.copy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), 0, off, off + n);
    off += n;
    app.bufferUpdated(n);
    if (!stillCurrent()) return;
  }
}
