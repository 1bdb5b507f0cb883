/**
 * TLS contexts and errors for sslproto.ts: Python's `ssl.SSLContext`
 * (`create_default_context`, `verify_mode`, `check_hostname`,
 * `set_alpn_protocols`) as a thin holder of a Node `tls.SecureContext`,
 * and Node's TLS errors as `SSLError`/`SSLCertVerificationError`.
 *
 * A context is `tls.createSecureContext()`'s, and, made from options memtls
 * takes, also the source of core-native's memtls Contexts (tls-engine.ts). What
 * Python keeps on the context but Node keeps on each TLS socket (verifying
 * the peer, checking the hostname, ALPN, asking for a client certificate)
 * lives on SSLContext here and is handed to each socket.
 * Differs from CPython: no `wrap_socket`/`wrap_bio`, no `load_*` methods:
 * give createSecureContext's options (`key`, `cert`, `ca`, ...) instead.
 */
import * as tls from 'node:tls';
import { memtls, pyTypeName } from '@iomux/core-native';
import { ConnectionResetError, SSLCertVerificationError, SSLError, ValueError } from '@iomux/core-native/error-classes';
import { memtlsSource, type MemtlsSource } from './tls-engine.js';

/** Options of {@link createSslContext}: Node's createSecureContext options plus Python's per-context settings. */
export interface SSLContextOptions extends tls.SecureContextOptions {
  /** Python's `verify_mode != CERT_NONE`: reject a peer whose certificate does not verify (client default true). */
  verify?: boolean;
  /** Python's `check_hostname`: the server's certificate must name serverHostname (default: as `verify`). */
  checkHostname?: boolean;
  /** Python's `set_alpn_protocols(...)`: the protocols offered (client) or accepted (server), in order. */
  alpnProtocols?: readonly string[] | null;
  /** Server side: ask the client for a certificate (Python's `verify_mode = CERT_OPTIONAL/REQUIRED`). */
  requestCert?: boolean;
  /**
   * The TLS engine: 'memtls' (core-native's memory-BIO OpenSSL, asyncio's
   * sslproto design; the default where available and the options allow) or
   * 'node' (a tls.TLSSocket per connection). IOMUX_TLS_ENGINE=node forces 'node'.
   */
  engine?: 'memtls' | 'node';
}

const PER_SOCKET = ['verify', 'checkHostname', 'alpnProtocols', 'requestCert', 'engine'] as const;

/** memtls Contexts of contexts made from no options, by side and verification. */
const SHARED_MEMTLS = new Map<string, memtls.Context>();

/** The class tls.createSecureContext() returns (Node does not export it in every version). */
const SecureContextClass = Object.getPrototypeOf(tls.createSecureContext()).constructor as new (...a: unknown[]) => tls.SecureContext;

/**
 * Python's `ssl.SSLContext`: a Node SecureContext (certificates, keys,
 * ciphers, protocol versions) and the settings Node keeps per socket.
 * Made with `new`, from a caller's SecureContext, it runs on the node
 * engine; createSslContext's may run on memtls (see `engine`).
 */
export class SSLContext {
  /** Node's context (OpenSSL's SSL_CTX). */
  readonly secureContext: tls.SecureContext;
  /** Reject a peer whose certificate does not verify (Python's verify_mode != CERT_NONE). */
  verify: boolean;
  /** The server's certificate must name the server hostname (Python's check_hostname). */
  checkHostname: boolean;
  /** Server side: ask for a client certificate. */
  requestCert: boolean;
  #alpn: string[] | null = null;
  /** What a memtls Context is built from, or null: the TLSSocket engine. */
  #memtls: MemtlsSource | null = null;
  /** memtls Contexts by side and verification settings, built on first use. */
  readonly #memtlsCache = new Map<string, memtls.Context>();

  constructor(secureContext: tls.SecureContext, options: Omit<SSLContextOptions, keyof tls.SecureContextOptions | 'engine'> = {}) {
    if (!(secureContext instanceof SecureContextClass)) throw new TypeError(`secureContext must be a tls.SecureContext, not '${pyTypeName(secureContext)}'`);
    this.secureContext = secureContext;
    this.verify = boolOption(options.verify, true, 'verify');
    this.checkHostname = boolOption(options.checkHostname, this.verify, 'checkHostname');
    this.requestCert = boolOption(options.requestCert, false, 'requestCert');
    if (this.checkHostname && !this.verify) throw new ValueError('Cannot set verify_mode to CERT_NONE when check_hostname is enabled.');
    if (options.alpnProtocols !== undefined && options.alpnProtocols !== null) this.setAlpnProtocols(options.alpnProtocols);
  }

  /** Python's `set_alpn_protocols(protocols)`. */
  setAlpnProtocols(protocols: Iterable<string>): void {
    if (typeof (protocols as Iterable<string>)?.[Symbol.iterator] !== 'function' || typeof protocols === 'string') {
      throw new TypeError(`'${pyTypeName(protocols)}' object is not iterable`);
    }
    const list: string[] = [];
    for (const p of protocols) {
      if (typeof p !== 'string') throw new TypeError(`ALPN protocols must be str, not '${pyTypeName(p)}'`);
      const len = Buffer.byteLength(p);
      // Python: 'ALPN protocols must be 1 to 255 in length'.
      if (len === 0 || len > 255) throw new ValueError(`ALPN protocols must be 1 to 255 in length, got ${p.length}`);
      list.push(p);
      if (list.length > 4096) throw new ValueError('too many ALPN protocols');
    }
    this.#alpn = list;
    this.#memtlsCache.clear();
  }

  /** The engine this context's connections run on (see {@link SSLContextOptions.engine}). */
  get engine(): 'memtls' | 'node' {
    return this.#memtls === null ? 'node' : 'memtls';
  }

  /** @internal Sets the memtls source (createSslContext). */
  _setMemtls(src: MemtlsSource | null): void {
    this.#memtls = src;
  }

  /**
   * @internal The memtls Context for one side (cached): a client's checks
   * host names only with `checkHost` (a serverHostname was given).
   */
  _memtlsContext(serverSide: boolean, checkHost: boolean): memtls.Context {
    const src = this.#memtls;
    if (src === null) throw new ValueError('this SSLContext runs on the node engine');
    const mode = serverSide ? (this.requestCert ? (this.verify ? 'required' : 'optional') : 'none') : this.verify ? 'required' : 'none';
    const check = !serverSide && this.checkHostname && checkHost;
    const key = `${serverSide ? 's' : 'c'}:${mode}:${check}`;
    // Options naming nothing (`ssl: true`): one Context per process, not Node's roots parsed per connection.
    const cache = Object.keys(src).length === 0 && this.#alpn === null ? SHARED_MEMTLS : this.#memtlsCache;
    let c = cache.get(key);
    if (c === undefined) {
      const alpn = this.#alpn;
      c = new memtls.Context({ ...src, serverSide, verifyMode: mode, checkHostname: check, ...(alpn !== null && alpn.length > 0 ? { ALPNProtocols: alpn } : {}) });
      cache.set(key, c);
    }
    return c;
  }

  /** The ALPN protocols set, or null. */
  get alpnProtocols(): readonly string[] | null {
    return this.#alpn;
  }

  /** Python-style repr: `<SSLContext verify=true checkHostname=true>`. */
  toString(): string {
    return `<SSLContext verify=${this.verify} checkHostname=${this.checkHostname}>`;
  }
}

function boolOption(v: unknown, dflt: boolean, name: string): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, not '${pyTypeName(v)}'`);
  return v;
}

/**
 * Python's `ssl.create_default_context()` with createSecureContext options:
 * Node's default CAs, peers verified, hostnames checked.
 * @throws {SSLError} if OpenSSL refuses a key, certificate or cipher list
 */
export function createSslContext(options: SSLContextOptions = {}): SSLContext {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`options must be an object, not '${pyTypeName(options)}'`);
  }
  const nodeOptions: Record<string, unknown> = { ...options };
  for (const k of PER_SOCKET) delete nodeOptions[k];
  let ctx: tls.SecureContext;
  try {
    ctx = tls.createSecureContext(nodeOptions as tls.SecureContextOptions);
  } catch (e) {
    throw contextError(e);
  }
  const sslContext = new SSLContext(ctx, options);
  sslContext._setMemtls(memtlsSource(options as Record<string, unknown>));
  return sslContext;
}

/** A createSecureContext failure as Python would raise it (SSLError from OpenSSL, else TypeError/ValueError). */
function contextError(e: unknown): unknown {
  const err = e as { code?: unknown; library?: unknown; reason?: unknown; message?: unknown };
  if (typeof err?.code === 'string' && (err.code.startsWith('ERR_OSSL') || err.code.startsWith('ERR_SSL') || typeof err.library === 'string')) {
    return toSslError(e);
  }
  // OpenSSL's decoders (a junk pfx, sigalgs) throw Errors without a code: Python's SSLError.
  if (e instanceof Error && Object.getPrototypeOf(e) === Error.prototype && err.code === undefined) return new SSLError(`[SSL] ${String(err.message)}`, { cause: e });
  if (err?.code === 'ERR_INVALID_ARG_TYPE') return new TypeError(String(err.message), { cause: e });
  if (typeof err?.code === 'string' && err.code.startsWith('ERR_')) return new ValueError(String(err.message), { cause: e });
  return e;
}

/**
 * The `ssl` argument of createConnection/createServer/startTls as an
 * SSLContext: an SSLContext, a Node SecureContext, or createSecureContext
 * options; `true` (client side only) is Python's default context.
 */
export function toSslContext(ssl: unknown, serverSide: boolean): SSLContext {
  if (ssl instanceof SSLContext) return ssl;
  if (ssl === true) {
    // asyncio's _create_transport_context.
    if (serverSide) throw new ValueError('Server side SSL needs a valid SSLContext');
    return createSslContext();
  }
  if (ssl instanceof SecureContextClass) return new SSLContext(ssl as tls.SecureContext, { verify: !serverSide });
  if (ssl !== null && typeof ssl === 'object' && !Array.isArray(ssl) && Object.getPrototypeOf(ssl) === Object.prototype) {
    const opts = ssl as SSLContextOptions;
    return createSslContext(serverSide && opts.verify === undefined ? { ...opts, verify: false } : opts);
  }
  throw new TypeError(`sslcontext is expected to be an instance of ssl.SSLContext, got ${pyTypeName(ssl)}`);
}

// ----------------------------------------------------------------- errors

/** OpenSSL's X509_V_ERR_* numbers (Python's verify_code), by Node's code. */
const VERIFY_CODES: Record<string, number> = {
  UNABLE_TO_GET_ISSUER_CERT: 2,
  UNABLE_TO_GET_CRL: 3,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 4,
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 5,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 6,
  CERT_SIGNATURE_FAILURE: 7,
  CRL_SIGNATURE_FAILURE: 8,
  CERT_NOT_YET_VALID: 9,
  CERT_HAS_EXPIRED: 10,
  CRL_NOT_YET_VALID: 11,
  CRL_HAS_EXPIRED: 12,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 13,
  ERROR_IN_CERT_NOT_AFTER_FIELD: 14,
  OUT_OF_MEM: 17,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18,
  SELF_SIGNED_CERT_IN_CHAIN: 19,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21,
  CERT_CHAIN_TOO_LONG: 22,
  CERT_REVOKED: 23,
  INVALID_CA: 24,
  PATH_LENGTH_EXCEEDED: 25,
  INVALID_PURPOSE: 26,
  CERT_UNTRUSTED: 27,
  CERT_REJECTED: 28,
  HOSTNAME_MISMATCH: 62,
};

/** OpenSSL library names as Python's `[LIB: ...]` prefixes. */
function libraryName(lib: unknown): string {
  if (typeof lib !== 'string' || lib.length === 0) return 'SSL';
  if (lib === 'SSL routines') return 'SSL';
  if (lib.startsWith('x509')) return 'X509';
  return lib.split(' ')[0]!.toUpperCase();
}

/**
 * A Node TLS error as Python's: SSLCertVerificationError for a
 * certificate that failed verification (with verifyCode/verifyMessage),
 * SSLError for OpenSSL's other errors, anything else unchanged.
 */
export function toSslError(e: unknown): unknown {
  if (e instanceof SSLError) return e;
  const err = e as { code?: unknown; reason?: unknown; library?: unknown; message?: unknown; host?: unknown };
  if (err === null || typeof err !== 'object' || typeof err.code !== 'string') return e;
  const code = err.code;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = typeof err.host === 'string' ? err.host : '';
    const verifyMessage = `Hostname mismatch, certificate is not valid for '${host}'.`;
    return new SSLCertVerificationError(`[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${verifyMessage}`, {
      code: 'HOSTNAME_MISMATCH',
      verifyCode: VERIFY_CODES.HOSTNAME_MISMATCH,
      verifyMessage,
      cause: e,
    });
  }
  if (Object.hasOwn(VERIFY_CODES, code)) {
    const verifyMessage = String(err.message);
    return new SSLCertVerificationError(`[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${verifyMessage}`, {
      code,
      verifyCode: VERIFY_CODES[code],
      verifyMessage,
      cause: e,
    });
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_') || typeof err.library === 'string') {
    const text = typeof err.reason === 'string' ? err.reason : String(err.message);
    const reason = text.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
    // Node's ERR_* code stays on `cause`: an OSError's `code` is a system name, never Node's.
    return new SSLError(`[${libraryName(err.library)}: ${reason}] ${text}`, { library: libraryName(err.library), reason, cause: e });
  }
  // The TLS socket's other failures: a reset, or one of Node's own (ERR_TLS_*).
  if (code === 'ECONNRESET') return new ConnectionResetError(String(err.message), undefined, { cause: e });
  if (code.startsWith('ERR_')) return new SSLError(`[SSL] ${String(err.message)}`, { cause: e });
  return e;
}
