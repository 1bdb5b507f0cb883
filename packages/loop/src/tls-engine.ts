/**
 * Which TLS engine an SSLContext made from options runs on: core-native's
 * memtls (OpenSSL on two memory BIOs, driven by sslproto-memtls.ts as
 * asyncio's sslproto drives an SSLObject) when this Node has it and every
 * option is one memtls takes, else Node's tls.TLSSocket (sslproto.ts).
 * IOMUX_TLS_ENGINE=node forces the TLSSocket engine.
 */
import { memtls, pyTypeName } from '@iomux/core-native';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';

/** What a memtls Context is built from (the side and verification come per connection). */
export type MemtlsSource = Pick<memtls.ContextOptions, 'cert' | 'key' | 'passphrase' | 'ca' | 'ciphers' | 'minVersion' | 'maxVersion'>;

/** createSslContext's options memtls takes as they are; any other set option keeps the TLSSocket engine. */
const TAKEN = new Set(['key', 'cert', 'ca', 'passphrase', 'ciphers', 'minVersion', 'maxVersion', 'verify', 'checkHostname', 'alpnProtocols', 'requestCert', 'engine']);
const VERSIONS = new Set(['TLSv1.2', 'TLSv1.3']);

function isPem(v: unknown): v is string | ArrayBufferView {
  return typeof v === 'string' || ArrayBuffer.isView(v);
}

function pemText(v: string | ArrayBufferView): string {
  return typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
}

/** Why memtls cannot take `options` (a name for the message), or null when it can. */
function unsupported(options: Record<string, unknown>): string | null {
  for (const [k, v] of Object.entries(options)) if (v !== undefined && !TAKEN.has(k)) return k;
  const { key, cert, ca, passphrase, ciphers, minVersion, maxVersion } = options;
  // Node's arrays of keys/certs and {pem, passphrase} objects: TLSSocket's.
  if (key !== undefined && !isPem(key)) return 'key';
  if (cert !== undefined && !isPem(cert)) return 'cert';
  if (key !== undefined && cert === undefined) return 'key';
  // memtls reads the key from `cert` when there is no `key`; Node then has none (its handshake fails later, not the context).
  if (cert !== undefined && key === undefined && !pemText(cert as string | ArrayBufferView).includes('PRIVATE KEY-----')) return 'cert';
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.length > 0 && ca.every(isPem))) return 'ca';
  if (passphrase !== undefined && typeof passphrase !== 'string') return 'passphrase';
  // Node's `ciphers` also names TLS 1.3 suites (TLS_...); memtls's is OpenSSL's TLS 1.2 list.
  if (ciphers !== undefined && (typeof ciphers !== 'string' || ciphers.includes('TLS_'))) return 'ciphers';
  if (minVersion !== undefined && !VERSIONS.has(minVersion as string)) return 'minVersion';
  if (maxVersion !== undefined && !VERSIONS.has(maxVersion as string)) return 'maxVersion';
  return null;
}

/**
 * The memtls source for createSslContext's `options`, or null for the
 * TLSSocket engine.
 * @throws {ValueError} for an unknown `engine`, or `engine: 'memtls'` with an option memtls does not take
 * @throws {RuntimeError} for `engine: 'memtls'` where this Node cannot run it
 */
export function memtlsSource(options: Record<string, unknown>): MemtlsSource | null {
  const engine = options.engine;
  if (engine !== undefined && engine !== 'memtls' && engine !== 'node') throw new ValueError(`engine must be 'memtls' or 'node', not ${typeof engine === 'string' ? `'${engine}'` : pyTypeName(engine)}`);
  if (engine === 'node' || process.env.IOMUX_TLS_ENGINE === 'node') return null;
  const bad = unsupported(options);
  if (engine === 'memtls') {
    if (!memtls.available) throw new RuntimeError(`the memtls TLS engine is unavailable: ${memtls.unavailableReason}`);
    if (bad !== null) throw new ValueError(`the memtls TLS engine does not take the option '${bad}' (engine: 'node' does)`);
  }
  if (bad !== null || !memtls.available) return null;
  const src: MemtlsSource = {};
  for (const k of ['cert', 'key', 'passphrase', 'ca', 'ciphers', 'minVersion', 'maxVersion'] as const) {
    if (options[k] !== undefined) (src as Record<string, unknown>)[k] = options[k];
  }
  return src;
}
