/**
 * The addon's TLS errors as Python's: `SSLError` with OpenSSL's library and
 * reason, `SSLCertVerificationError` with `verifyCode`/`verifyMessage`, and
 * the argument errors (ValueError, OverflowError) as `fromNative` gives them.
 *
 * Messages are CPython's `[LIB: REASON] text` without its `(_ssl.c:NNN)`
 * source location, the same form as @iomux/loop's TLS errors.
 */
import { RuntimeError, SSLCertVerificationError, SSLError } from '../error-classes.js';
import { fromNative } from '../errors.js';

// X509_V_ERR_* names for `code` (as Node's TLS errors name them).
const VERIFY_NAMES: Readonly<Record<number, string>> = {
  2: 'UNABLE_TO_GET_ISSUER_CERT',
  9: 'CERT_NOT_YET_VALID',
  10: 'CERT_HAS_EXPIRED',
  18: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  19: 'SELF_SIGNED_CERT_IN_CHAIN',
  20: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  21: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  23: 'CERT_REVOKED',
  24: 'INVALID_CA',
  26: 'INVALID_PURPOSE',
  62: 'HOSTNAME_MISMATCH',
  64: 'IP_ADDRESS_MISMATCH',
};

interface NativeSslError {
  message: string;
  pyType?: unknown;
  library?: unknown;
  reason?: unknown;
  verifyCode?: unknown;
  verifyMessage?: unknown;
}

/** An error thrown by a memtls_* call, as the contract's class. */
export function fromTls(e: unknown): unknown {
  if (e === null || typeof e !== 'object') return e;
  const n = e as NativeSslError;
  const library = typeof n.library === 'string' ? n.library : undefined;
  const reason = typeof n.reason === 'string' ? n.reason : undefined;
  if (n.pyType === 'SSLCertVerificationError') {
    const verifyCode = typeof n.verifyCode === 'number' ? n.verifyCode : undefined;
    return new SSLCertVerificationError(n.message, {
      verifyCode,
      verifyMessage: typeof n.verifyMessage === 'string' ? n.verifyMessage : undefined,
      code: verifyCode !== undefined ? VERIFY_NAMES[verifyCode] : undefined,
    });
  }
  if (n.pyType === 'SSLError') return new SSLError(n.message, { library, reason });
  if (n.pyType === 'RuntimeError') return new RuntimeError(n.message);
  return fromNative(e);
}
