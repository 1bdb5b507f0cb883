/**
 * A memtls context: one SSL_CTX in the running Node's OpenSSL, made from PEM
 * options named as Node's `tls.createSecureContext` names them, with
 * Python's `ssl.SSLContext` defaults (PROTOCOL_TLS_CLIENT verifies the peer
 * and its host name; PROTOCOL_TLS_SERVER does not ask for a client's
 * certificate; TLS 1.2 at least).
 */
import * as tls from 'node:tls';
import { binding, type MemtlsCtxOptions, type MemtlsHandle } from '../binding.js';
import { RuntimeError, ValueError } from '../error-classes.js';
import { pyTypeName } from '../pyargs.js';
import { fromTls } from './errors.js';
import { available, unavailableReason } from './status.js';

/** PEM text or its bytes. */
export type Pem = string | ArrayBufferView;

/** Python's verify modes: CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED. */
export type VerifyMode = 'none' | 'optional' | 'required';

/** The protocol versions memtls allows (Python's TLSVersion.TLSv1_2, TLSv1_3). */
export type TlsVersionName = 'TLSv1.2' | 'TLSv1.3';

/** What {@link Context} is made from. Every field is optional. */
export interface ContextOptions {
  /** A server's context (Python's PROTOCOL_TLS_SERVER); default false, a client's. */
  serverSide?: boolean;
  /** The certificate chain, PEM, leaf first (Python's load_cert_chain certfile). */
  cert?: Pem;
  /** The private key, PEM; default: the one in `cert`. */
  key?: Pem;
  /** The key's passphrase. */
  passphrase?: Pem;
  /** Certificates to trust (one or more PEMs); a client without one trusts Node's `tls.rootCertificates`. */
  ca?: Pem | readonly Pem[];
  /** Node's switch: false is `verifyMode: 'none'` and no host name check. */
  rejectUnauthorized?: boolean;
  /** Python's verify_mode; default 'required' for a client, 'none' for a server. */
  verifyMode?: VerifyMode;
  /** Python's check_hostname; default true for a client that verifies. */
  checkHostname?: boolean;
  /** Lowest version; default 'TLSv1.2' (Python's default minimum). */
  minVersion?: TlsVersionName;
  /** Highest version; default none ('TLSv1.3'). */
  maxVersion?: TlsVersionName;
  /** OpenSSL's cipher list for TLS 1.2 (Python's set_ciphers). */
  ciphers?: string;
  /** OpenSSL's cipher suites for TLS 1.3. */
  ciphersuites?: string;
  /** ALPN protocols in order of preference (Python's set_alpn_protocols). */
  ALPNProtocols?: readonly (string | Uint8Array)[];
  /** Session lifetime in seconds. */
  sessionTimeout?: number;
}

const VERSIONS: Readonly<Record<string, number>> = { 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };
const VERIFY: Readonly<Record<string, number>> = { none: 0, optional: 1, required: 2 };

let rootsPem: Uint8Array | undefined;

/** Node's bundled root certificates as one PEM, built once per process (thread). */
function roots(): Uint8Array {
  rootsPem ??= Buffer.from(tls.rootCertificates.join('\n'));
  return rootsPem;
}

function pemBytes(x: unknown, what: string): Uint8Array {
  if (typeof x === 'string') return Buffer.from(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError(`${what} should be a str or bytes-like object, not ${pyTypeName(x)}`);
}

function caBytes(ca: unknown): Uint8Array {
  if (!Array.isArray(ca)) return pemBytes(ca, 'ca');
  if (ca.length === 0) throw new ValueError('ca must name at least one certificate');
  return Buffer.concat(ca.map((c) => pemBytes(c, 'ca')).flatMap((b) => [b, Buffer.from('\n')]));
}

function alpnWire(protocols: unknown): Uint8Array {
  if (!Array.isArray(protocols)) throw new TypeError(`ALPNProtocols must be an array, not ${pyTypeName(protocols)}`);
  const parts: Uint8Array[] = [];
  for (const p of protocols) {
    const b = typeof p === 'string' ? Buffer.from(p) : p instanceof Uint8Array ? p : undefined;
    if (b === undefined) throw new TypeError(`an ALPN protocol must be a str or bytes, not ${pyTypeName(p)}`);
    // Python's message for the same limit.
    if (b.length === 0 || b.length > 255) throw new ValueError(`ALPN protocols must be 1 to 255 in length`);
    parts.push(Buffer.from([b.length]), b);
  }
  if (parts.length === 0) throw new ValueError('ALPNProtocols must name at least one protocol');
  return Buffer.concat(parts);
}

function versionArg(v: unknown, what: string): number {
  if (v === undefined) return what === 'minVersion' ? VERSIONS['TLSv1.2']! : 0;
  const n = typeof v === 'string' ? VERSIONS[v] : undefined;
  if (n === undefined) throw new ValueError(`${what} must be 'TLSv1.2' or 'TLSv1.3', not ${String(v)}`);
  return n;
}

function textArg(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new TypeError(`${what} must be a str, not ${pyTypeName(v)}`);
  if (v.includes('\0')) throw new ValueError('embedded null character');
  return v;
}

/**
 * An SSL_CTX (Python's `ssl.SSLContext`): certificates, trust, verification
 * and protocol settings shared by the {@link Connection}s made from it.
 * Freed by `close()`, by the GC, or when the thread (worker) ends; a
 * connection keeps working after its context is closed.
 */
export class Context {
  /** True for a server's context. */
  readonly serverSide: boolean;
  /** Python's check_hostname: a client's connections verify the server's host name. */
  readonly checkHostname: boolean;
  /** Python's verify_mode. */
  readonly verifyMode: VerifyMode;
  /** @internal The native SSL_CTX handle. */
  readonly _handle: MemtlsHandle;

  constructor(options: ContextOptions = {}) {
    if (!available) throw new RuntimeError(`memory-BIO TLS is unavailable: ${unavailableReason}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${pyTypeName(options)}`);
    const server = options.serverSide ?? false;
    if (typeof server !== 'boolean') throw new TypeError(`serverSide must be a bool, not ${pyTypeName(server)}`);
    const reject = options.rejectUnauthorized ?? true;
    const mode = options.verifyMode ?? (server || !reject ? 'none' : 'required');
    if (VERIFY[mode] === undefined) throw new ValueError(`verifyMode must be 'none', 'optional' or 'required', not ${String(mode)}`);
    const check = options.checkHostname ?? (!server && mode !== 'none');
    if (typeof check !== 'boolean') throw new TypeError(`checkHostname must be a bool, not ${pyTypeName(check)}`);
    if (check && mode === 'none') throw new ValueError('Cannot set verify_mode to CERT_NONE when check_hostname is enabled.');
    const opts: MemtlsCtxOptions = {
      serverSide: server,
      verify: VERIFY[mode]!,
      minVersion: versionArg(options.minVersion, 'minVersion'),
      maxVersion: versionArg(options.maxVersion, 'maxVersion'),
      ciphers: textArg(options.ciphers, 'ciphers'),
      ciphersuites: textArg(options.ciphersuites, 'ciphersuites'),
    };
    if (options.cert !== undefined) {
      opts.cert = pemBytes(options.cert, 'cert');
      opts.key = options.key !== undefined ? pemBytes(options.key, 'key') : opts.cert;
      if (options.passphrase !== undefined) opts.passphrase = pemBytes(options.passphrase, 'passphrase');
    } else if (options.key !== undefined) {
      throw new ValueError('key needs cert');
    }
    if (options.ca !== undefined) opts.ca = caBytes(options.ca);
    else if (!server && mode !== 'none') opts.ca = roots();
    if (options.ALPNProtocols !== undefined) opts.alpn = alpnWire(options.ALPNProtocols);
    if (options.sessionTimeout !== undefined) {
      const t = options.sessionTimeout;
      if (!Number.isInteger(t) || t < 0 || t > 2147483647) throw new ValueError('sessionTimeout must be an integer in [0, 2**31-1] seconds');
      opts.sessionTimeout = t;
    }
    try {
      this._handle = binding.memtls_ctx_new(opts);
    } catch (e) {
      throw fromTls(e);
    }
    this.serverSide = server;
    this.checkHostname = check;
    this.verifyMode = mode;
  }

  /** Frees the SSL_CTX now (idempotent); connections already made keep theirs. */
  close(): void {
    binding.memtls_close(this._handle);
  }
}
