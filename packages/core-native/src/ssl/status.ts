/**
 * Whether this Node can run memtls: the addon looks up the OpenSSL functions
 * it calls in the running node executable at run time (it links none), so a
 * Node built without OpenSSL, or one that does not export its symbols, loads
 * the addon fine and reports `available: false` here.
 */
import { binding } from '../binding.js';

const status = binding.memtls_status();

/** True when every OpenSSL function memtls calls was found in the running Node. */
export const available: boolean = status.available;
/** Why memtls is unavailable (the first missing symbol), or '' when it is available. */
export const unavailableReason: string = status.reason;
/** OpenSSL's version text as the running Node's OpenSSL reports it ('OpenSSL 3.0.19 27 Jan 2026'), or ''. */
export const opensslVersion: string = status.version;
