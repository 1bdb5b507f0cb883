/**
 * A memtls connection: TLS on one SSL with two memory BIOs, the engine of
 * asyncio's sslproto (Python's `SSLObject` over two `MemoryBIO`s). The
 * caller moves ciphertext between the BIOs and its transport; nothing here
 * does I/O. Calls take the caller's buffers (no copies, no allocation per
 * record) and report "want read" as -1 instead of raising SSLWantReadError.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { domainToASCII } from 'node:url';
import { binding, type MemtlsHandle } from '../binding.js';
import { ValueError } from '../error-classes.js';
import { pyTypeName } from '../pyargs.js';
import type { Context } from './context.js';
import { fromTls } from './errors.js';

/** ssl-conn.cc's reads until want-read, declared here while binding.ts does not list them. */
interface MemtlsReadAll {
  /** SSL_read_ex until the window is full, want-read or close_notify: bytes * 8 + READ_* flags (at most 1 GiB a call). */
  memtls_read_all(h: MemtlsHandle, buf: ArrayBufferView, offset: number, length: number): number;
  /** feed, then as memtls_read_all into all of `out`. */
  memtls_feed_read_all(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number;
}

const b = binding as typeof binding & MemtlsReadAll;

/** How {@link Connection.readAll} stopped (the low bits of the native result). */
const READ_END_MASK = 3;
/** The write BIO held ciphertext after the read. */
const READ_OUTPUT = 4;
const READ_ENDS = ['want-read', 'close-notify', 'full'] as const;

/**
 * Why a {@link Connection.readAll} or {@link Connection.feedReadAll} stopped:
 * 'want-read' (everything fed is read), 'close-notify' (the peer's), 'full'
 * (the window is full; more plaintext may be waiting).
 */
export type ReadEnd = (typeof READ_ENDS)[number];

/** What {@link Connection} is made with. */
export interface ConnectionOptions {
  /** Server or client end; default: the context's side. */
  serverSide?: boolean;
  /** The server's name (a client's): sent as SNI (not for an IP address) and checked when the context checks host names. */
  serverHostname?: string;
}

/** The state of a handshake or shutdown step. */
export type TlsStep = 'done' | 'want-read';

function byteView(x: unknown, what: string): ArrayBufferView {
  if (ArrayBuffer.isView(x)) return x;
  throw new TypeError(`${what} must be a bytes-like object, not ${pyTypeName(x)}`);
}

/**
 * One TLS connection (Python's `SSLObject`). Ciphertext from the peer goes
 * in with {@link feed}; ciphertext for the peer comes out with
 * {@link takeOutput}; {@link read} and {@link write} move plaintext.
 * Errors: `SSLError` (a bad record, a peer's alert), `SSLCertVerificationError`
 * (the peer's certificate), `ValueError` once closed or for a window out of
 * range. Freed by `close()`, by the GC, or when the thread (worker) ends.
 */
export class Connection {
  /** True for the server's end. */
  readonly serverSide: boolean;
  /** The name given as serverHostname, or null. */
  readonly serverHostname: string | null;
  readonly #h: MemtlsHandle;
  #readEnd: ReadEnd = 'want-read';
  /** False only when the write BIO is known empty (a take drained it, or a readAll said so). */
  #outMaybe = true;

  constructor(context: Context, options: ConnectionOptions = {}) {
    const ctx = context as { _handle?: MemtlsHandle; serverSide?: boolean; checkHostname?: boolean } | null;
    if (ctx === null || typeof ctx !== 'object' || ctx._handle === undefined) {
      throw new TypeError(`context must be a memtls Context, not ${pyTypeName(context)}`);
    }
    const server = options.serverSide ?? ctx.serverSide ?? false;
    if (typeof server !== 'boolean') throw new TypeError(`serverSide must be a bool, not ${pyTypeName(server)}`);
    let host = options.serverHostname ?? null;
    if (host !== null) {
      if (typeof host !== 'string') throw new TypeError(`server_hostname must be a str, not ${pyTypeName(host)}`);
      if (server) throw new ValueError('server_hostname can only be specified in client mode');
      if (host.length === 0 || host.startsWith('.')) throw new ValueError('server_hostname cannot be an empty string or start with a leading dot.');
      if (host.includes('\0')) throw new ValueError('embedded null character');
    }
    const check = !server && ctx.checkHostname === true;
    if (check && host === null) throw new ValueError('check_hostname requires server_hostname');
    const isIp = host !== null && net.isIP(host) !== 0;
    // IDNA, as Python encodes a str server_hostname.
    const wire = host === null ? undefined : isIp ? host : domainToASCII(host) || host;
    try {
      this.#h = b.memtls_conn_new(ctx._handle, server, wire, isIp, check);
    } catch (e) {
      throw fromTls(e);
    }
    this.serverSide = server;
    this.serverHostname = host;
  }

  /** Puts the peer's ciphertext `data[offset, offset+length)` in; returns the bytes taken (all). */
  feed(data: ArrayBufferView, offset = 0, length = byteView(data, 'data').byteLength - offset): number {
    try {
      return b.memtls_feed(this.#h, data, offset, length);
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** The peer's transport ended: a read past what was fed fails (truncation) instead of wanting more. */
  feedEof(): void {
    try {
      b.memtls_feed_eof(this.#h);
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** One handshake step: 'done', or 'want-read' (send {@link takeOutput}'s bytes, feed the reply). */
  handshake(): TlsStep {
    try {
      this.#outMaybe = true;
      return b.memtls_handshake(this.#h) === 1 ? 'done' : 'want-read';
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** Plaintext into `buffer[offset, offset+length)`: bytes read, 0 at the peer's close_notify, -1 when it wants more ciphertext. */
  read(buffer: ArrayBufferView, offset = 0, length = byteView(buffer, 'buffer').byteLength - offset): number {
    try {
      this.#outMaybe = true;
      return b.memtls_read(this.#h, buffer, offset, length);
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** Encrypts all of `data[offset, offset+length)`: its length, or -1 when the handshake still wants ciphertext. */
  write(data: ArrayBufferView, offset = 0, length = byteView(data, 'data').byteLength - offset): number {
    try {
      this.#outMaybe = true;
      return b.memtls_write(this.#h, data, offset, length);
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** Ciphertext for the peer into `buffer[offset, offset+length)`: bytes copied (0: none pending). */
  takeOutput(buffer: ArrayBufferView, offset = 0, length = byteView(buffer, 'buffer').byteLength - offset): number {
    try {
      const n = b.memtls_take(this.#h, buffer, offset, length);
      // Fewer bytes than asked for: the BIO is empty.
      this.#outMaybe = n >= length;
      return n;
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** Ciphertext bytes waiting for {@link takeOutput}. */
  outputPending(): number {
    try {
      const n = b.memtls_pending(this.#h);
      this.#outMaybe = n > 0;
      return n;
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** {@link feed} then {@link read} into all of `out`, in one native call: plaintext bytes, 0 at close_notify, -1 for want-read. */
  feedRead(data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number {
    try {
      this.#outMaybe = true;
      return b.memtls_feed_read(this.#h, data, offset, length, out);
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** {@link write} then {@link takeOutput} into all of `out`, in one native call: ciphertext bytes copied (more may be pending), or -1 for want-read. */
  writeTake(data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number {
    try {
      this.#outMaybe = true;
      const n = b.memtls_write_take(this.#h, data, offset, length, out);
      if (n >= 0 && n < out.byteLength) this.#outMaybe = false;
      return n;
    } catch (e) {
      throw fromTls(e);
    }
  }

  /**
   * Plaintext into `buffer[offset, offset+length)` until it is full, the
   * engine wants more ciphertext, or the peer's close_notify: asyncio's read
   * loop in one native call, without the read that finds nothing. Returns
   * the bytes read (0 or more); {@link readEnd} tells which stopped it and
   * {@link outputMaybePending} whether reading queued ciphertext (a reply to
   * a post-handshake message). An error raises, dropping what was read, as
   * asyncio's loop does. At most 1 GiB a call ('full' past it).
   */
  readAll(buffer: ArrayBufferView, offset = 0, length = byteView(buffer, 'buffer').byteLength - offset): number {
    try {
      this.#outMaybe = true;
      return this.#ended(b.memtls_read_all(this.#h, buffer, offset, length));
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** {@link feed} then {@link readAll} into all of `out`, in one native call. */
  feedReadAll(data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number {
    try {
      this.#outMaybe = true;
      return this.#ended(b.memtls_feed_read_all(this.#h, data, offset, length, out));
    } catch (e) {
      throw fromTls(e);
    }
  }

  /** Why the last {@link readAll} or {@link feedReadAll} stopped ('want-read' before any). */
  get readEnd(): ReadEnd {
    return this.#readEnd;
  }

  /**
   * False when the outgoing ciphertext is known to be empty, so a
   * {@link takeOutput} would find nothing: after a take that got less than
   * it asked for, a {@link writeTake} that did, {@link outputPending} of 0,
   * or a {@link readAll} that queued none. True otherwise (it may be).
   */
  get outputMaybePending(): boolean {
    return this.#outMaybe;
  }

  /** Decodes a native read_all result: bytes * 8 + READ_* flags. */
  #ended(r: number): number {
    const flags = r & 7;
    this.#readEnd = READ_ENDS[flags & READ_END_MASK]!;
    this.#outMaybe = (flags & READ_OUTPUT) !== 0;
    return (r - flags) / 8;
  }

  /** Sends close_notify (Python's unwrap step): 'done' once both sides' are seen, 'sent' when the peer's is still due, 'want-read'. */
  shutdown(): 'done' | 'sent' | 'want-read' {
    let r: number;
    try {
      this.#outMaybe = true;
      r = b.memtls_shutdown(this.#h);
    } catch (e) {
      throw fromTls(e);
    }
    return r === 1 ? 'done' : r === 0 ? 'sent' : 'want-read';
  }

  /** True once the handshake is complete. */
  get handshakeDone(): boolean {
    return this.#call(b.memtls_handshake_done);
  }

  /** The peer's certificate, DER (Python's `getpeercert(binary_form=True)`), or null. */
  peerCertificate(): Buffer | null {
    return this.#call(b.memtls_peer_certificate);
  }

  /** The peer's certificate as a `crypto.X509Certificate`, or null. */
  peerX509(): crypto.X509Certificate | null {
    const der = this.peerCertificate();
    return der === null ? null : new crypto.X509Certificate(der);
  }

  /**
   * The peer's certificate as the object Node's `tlsSocket.getPeerCertificate()`
   * gives (`X509Certificate.toLegacyObject()`: subject, issuer, subjectaltname,
   * valid_from, ...), what @iomux/loop's `peercert` extra is today; null without one.
   */
  peerCertificateInfo(): ReturnType<crypto.X509Certificate['toLegacyObject']> | null {
    return this.peerX509()?.toLegacyObject() ?? null;
  }

  /** Python's `cipher()`: [name, protocol version, secret bits], or null before the handshake. */
  cipher(): [string, string, number] | null {
    return this.#call(b.memtls_cipher);
  }

  /** Python's `version()`: 'TLSv1.3', or null before the handshake. */
  version(): string | null {
    return this.#call(b.memtls_version);
  }

  /** Python's `selected_alpn_protocol()`: the protocol ALPN chose, or null. */
  alpnSelected(): string | null {
    return this.#call(b.memtls_alpn_selected);
  }

  /** OpenSSL's verification result: [X509_V_* code (0: ok), its text]. */
  verifyResult(): [number, string] {
    return this.#call(b.memtls_verify_result);
  }

  /** Python's `session_reused`. */
  sessionReused(): boolean {
    return this.#call(b.memtls_session_reused);
  }

  /** Frees the SSL and its BIOs now (idempotent); every later call is a ValueError. */
  close(): void {
    b.memtls_close(this.#h);
  }

  #call<T>(f: (h: MemtlsHandle) => T): T {
    try {
      return f(this.#h);
    } catch (e) {
      throw fromTls(e);
    }
  }
}
