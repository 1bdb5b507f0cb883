/**
 * Protocol interfaces: CPython 3.11 Lib/asyncio/protocols.py, camelCase.
 * Every callback is optional; a missing one does what asyncio's base class
 * does (nothing; eofReceived returns undefined, so the transport closes).
 */
import type { Transport } from './transports.js';

export interface BaseProtocol {
  /** Called when a connection is made; `transport` is the connection. */
  connectionMade?(transport: Transport): void;
  /** Called when the connection is lost or closed; exc is null on EOF/close. */
  connectionLost?(exc: Error | null): void;
  /** The transport's buffer went over the high-water mark. */
  pauseWriting?(): void;
  /** The transport's buffer drained to the low-water mark. */
  resumeWriting?(): void;
}

export interface Protocol extends BaseProtocol {
  /**
   * Some data is received: a fresh Buffer per recv(), which the protocol
   * may keep (as asyncio's bytes).
   */
  dataReceived?(data: Buffer): void;
  /**
   * The other end sent EOF (or called writeEof). Return true to keep the
   * transport open for writing (half-close); anything else closes it.
   */
  eofReceived?(): boolean | void | undefined;
}

export type ProtocolFactory<P extends BaseProtocol = Protocol> = () => P;
