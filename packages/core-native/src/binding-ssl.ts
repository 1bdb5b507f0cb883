// The addon's memory-BIO TLS calls (ssl.cc, ssl-ctx.cc, ssl-conn.cc) and
// their handle and option types; binding.ts assembles the whole Binding.

/** ssl.cc, ssl-ctx.cc and ssl-conn.cc: part of `Binding` (binding.ts). */
export interface SslBinding {
  // ssl.cc, ssl-ctx.cc, ssl-conn.cc: memory-BIO TLS in the running Node's OpenSSL (src/ssl/).
  /**
   * Whether the running Node exports the OpenSSL functions memtls needs.
   * @returns available: all found; reason: the first missing one, or ''; version: OpenSSL's version text, or ''
   */
  memtls_status(): MemtlsStatus;
  /** A new SSL_CTX from normalized options (src/ssl/context.ts). */
  memtls_ctx_new(opts: MemtlsCtxOptions): MemtlsHandle;
  /** Frees a context's or connection's OpenSSL object now (idempotent). */
  memtls_close(h: MemtlsHandle): void;
  /** How many memtls objects this thread still owns (leak checks in tests). */
  memtls_live_count(): number;
  /** A new SSL with two memory BIOs, made from a context. */
  memtls_conn_new(ctx: MemtlsHandle, serverSide: boolean, hostname: string | undefined, isIp: boolean, checkHostname: boolean): MemtlsHandle;
  /** BIO_write of ciphertext into the read BIO: bytes taken (all). */
  memtls_feed(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number): number;
  /** Marks the end of the peer's ciphertext (reads past it fail instead of waiting). */
  memtls_feed_eof(h: MemtlsHandle): void;
  /** SSL_do_handshake: 1 done, -1 want-read. */
  memtls_handshake(h: MemtlsHandle): number;
  /** SSL_read_ex: plaintext bytes, 0 at close_notify, -1 want-read. */
  memtls_read(h: MemtlsHandle, buf: ArrayBufferView, offset: number, length: number): number;
  /** SSL_write_ex of all the bytes: their count, or -1 want-read. */
  memtls_write(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number): number;
  /** BIO_read of ciphertext from the write BIO: bytes copied. */
  memtls_take(h: MemtlsHandle, buf: ArrayBufferView, offset: number, length: number): number;
  /** Ciphertext bytes waiting in the write BIO. */
  memtls_pending(h: MemtlsHandle): number;
  /** feed then read into all of `out`: plaintext bytes, 0 at close_notify, -1 want-read. */
  memtls_feed_read(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number;
  /** write then take into all of `out`: ciphertext bytes copied, or -1 want-read. */
  memtls_write_take(h: MemtlsHandle, data: ArrayBufferView, offset: number, length: number, out: ArrayBufferView): number;
  /** SSL_shutdown: 1 both close_notify seen, 0 ours queued, -1 want-read. */
  memtls_shutdown(h: MemtlsHandle): number;
  /** The peer's certificate, DER, or null. */
  memtls_peer_certificate(h: MemtlsHandle): Buffer | null;
  /** [name, protocol version, secret bits] of the cipher in use, or null. */
  memtls_cipher(h: MemtlsHandle): [string, string, number] | null;
  /** 'TLSv1.3' once the handshake is done, else null. */
  memtls_version(h: MemtlsHandle): string | null;
  /** The protocol ALPN chose, or null. */
  memtls_alpn_selected(h: MemtlsHandle): string | null;
  /** [X509_V_* code, its text]. */
  memtls_verify_result(h: MemtlsHandle): [number, string];
  /** SSL_session_reused. */
  memtls_session_reused(h: MemtlsHandle): boolean;
  /** SSL_is_init_finished. */
  memtls_handshake_done(h: MemtlsHandle): boolean;
}

/**
 * An opaque owner of one OpenSSL object (SSL_CTX or SSL); freed on close, GC and env teardown.
 * @property __brand Type-only: no value has it, so no other type is a MemtlsHandle.
 */
export type MemtlsHandle = { readonly __brand: 'iomux.MemtlsHandle' };

/** memtls_status's answer. */
export interface MemtlsStatus {
  /** Every OpenSSL function memtls calls was found in the running Node. */
  available: boolean;
  /** Why not (the first missing symbol), or ''. */
  reason: string;
  /** OpenSSL_version(OPENSSL_VERSION), or ''. */
  version: string;
}

/** memtls_ctx_new's options, already checked and converted by src/ssl/context.ts. */
export interface MemtlsCtxOptions {
  /** A server's context. */
  serverSide: boolean;
  /** PEM certificate chain, leaf first. */
  cert?: Uint8Array;
  /** PEM private key. */
  key?: Uint8Array;
  /** The key's passphrase. */
  passphrase?: Uint8Array;
  /** PEM certificates to trust. */
  ca?: Uint8Array;
  /** 0 none, 1 optional, 2 required. */
  verify: number;
  /** TLS1_2_VERSION (0x303) or TLS1_3_VERSION (0x304); 0: OpenSSL's. */
  minVersion: number;
  /** As minVersion; 0: no maximum. */
  maxVersion: number;
  /** The TLS 1.2 cipher list. */
  ciphers?: string;
  /** The TLS 1.3 cipher suites. */
  ciphersuites?: string;
  /** ALPN protocols in wire format (length-prefixed). */
  alpn?: Uint8Array;
  /** Session lifetime in seconds. */
  sessionTimeout?: number;
}
