/**
 * memtls: TLS over memory BIOs, run by the OpenSSL inside the running Node
 * (its functions looked up at run time; the addon links no OpenSSL). It is
 * the engine asyncio's sslproto drives through Python's `ssl.MemoryBIO` and
 * `SSLObject`, for a TLS transport that moves ciphertext itself.
 *
 * Named `memtls` (`Context`, `Connection`) rather than Python's
 * `SSLContext`/`SSLObject`: the calls differ on purpose (caller's buffers
 * with offsets, -1 for "want read" instead of raising on the hot path,
 * feed/take instead of MemoryBIO objects), so Python's names would promise
 * an API it does not have. Errors are Python's classes: SSLError,
 * SSLCertVerificationError, ValueError, TypeError.
 *
 * @module
 */
export { available, unavailableReason, opensslVersion } from './status.js';
export { Context, type ContextOptions, type Pem, type VerifyMode, type TlsVersionName } from './context.js';
export { Connection, type ConnectionOptions, type ReadEnd, type TlsStep } from './connection.js';
