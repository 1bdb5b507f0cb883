/**
 * Protocol interfaces: CPython 3.11 Lib/asyncio/protocols.py, camelCase.
 * Every callback is optional; a missing one does what asyncio's base class
 * does (nothing; eofReceived returns undefined, so the transport closes).
 */
import type { DatagramTransport } from './datagram.js';
import type { Transport } from './transports.js';

/** asyncio's `BaseProtocol`: the callbacks every protocol may have. */
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

/** asyncio's `Protocol`: a stream protocol that receives data as Buffers. */
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

/**
 * asyncio.BufferedProtocol: the transport receives straight into a buffer
 * the protocol hands it, with no Buffer allocated or copied per read.
 */
export interface BufferedProtocol extends BaseProtocol {
  /**
   * Returns the buffer (any non-empty ArrayBufferView) the next recv()
   * fills. `sizeHint` is -1, as asyncio's selector transports pass: any
   * size will do.
   */
  getBuffer(sizeHint: number): ArrayBufferView;
  /** The first `nbytes` bytes of the buffer getBuffer() returned were filled. */
  bufferUpdated(nbytes: number): void;
  /** As Protocol.eofReceived. */
  eofReceived?(): boolean | void | undefined;
}

/**
 * asyncio's `DatagramProtocol`, for createDatagramEndpoint's transports:
 * one call per datagram, and the errors of sendto/recvfrom (ICMP port
 * unreachable, a full send buffer) without closing the transport.
 */
export interface DatagramProtocol {
  /** Called when the endpoint is ready; `transport` sends its datagrams. */
  connectionMade?(transport: DatagramTransport): void;
  /** Called when the transport is closed; exc is null after close() or abort(). */
  connectionLost?(exc: Error | null): void;
  /** The transport's queue went over the high-water mark. */
  pauseWriting?(): void;
  /** The transport's queue drained to the low-water mark. */
  resumeWriting?(): void;
  /** One datagram (a fresh Buffer the protocol may keep) from `addr` (null when the sender has no address). */
  datagramReceived?(data: Buffer, addr: unknown): void;
  /** A send or receive failed with `exc` (an OSError, such as ConnectionRefusedError); the transport stays open. */
  errorReceived?(exc: Error): void;
}

/** A protocol of either kind; one with getBuffer() is a BufferedProtocol. */
export type AnyProtocol = Protocol | BufferedProtocol;

/**
 * What `createServer`/`createConnection` take: a function that makes a new
 * protocol per connection.
 */
export type ProtocolFactory<P extends BaseProtocol = AnyProtocol> = () => P;

/** asyncio's isinstance(protocol, BufferedProtocol), by its method. */
export function isBufferedProtocol(protocol: BaseProtocol): protocol is BufferedProtocol {
  return typeof (protocol as { getBuffer?: unknown }).getBuffer === 'function';
}
