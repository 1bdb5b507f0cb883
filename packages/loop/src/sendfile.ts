/**
 * sendfile: CPython 3.11 Lib/asyncio/base_events.py `sock_sendfile`,
 * `sendfile`, `_sock_sendfile_fallback`, `_sendfile_fallback` and
 * `_SendfileFallbackProtocol`, unix_events.py `_sock_sendfile_native`, and
 * selector_events.py `_sendfile_native`: a file sent to a socket or a
 * socket transport with zero-copy sendfile(2) (core-native's os.sendfile),
 * or, where that is not possible, read and sent in blocks.
 *
 * The file is a descriptor, an object with fileno(), or an
 * fs.promises.FileHandle; the fallback also takes an object with Python's
 * `readinto(view)` (and `seek(pos)`). Its position is left after what was
 * sent, as asyncio leaves it. Fallback reads go through Node's own async
 * fs.read (libuv's threads), where asyncio uses its default executor.
 *
 * While a transport's native sendfile runs, its write() raises
 * RuntimeError('unable to write; sendfile is in progress'), as asyncio's.
 * Differs from CPython: the wait for the transport's buffer to drain
 * checks every millisecond, not through a waiter the transport resolves.
 */
export { SendfileNotAvailableError, type SendfileFile, type SendfileOptions } from './sendfile-file.js';
export { sockSendfile } from './sendfile-sock.js';
export { sendfile } from './sendfile-transport.js';
