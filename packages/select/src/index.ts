/**
 * @iomux/select: Python's select module for Node.js. select(), poll(),
 * epoll() on Linux and kqueue() (emulated on Linux), with CPython's
 * semantics, errors and messages.
 *
 *   import { epoll, EPOLLIN } from '@iomux/select';
 *   using ep = epoll();
 *   ep.register(fd, EPOLLIN);
 *   for (const [fd, events] of ep.poll(1.5)) ...
 *
 * @module @iomux/select
 */
import { has } from '@iomux/core-native';
import { epoll as epollImpl } from './epoll.js';
import { kqueue as kqueueImpl } from './kqueue.js';
import { kevent as keventImpl } from './kevent.js';
import { devpoll as devpollImpl } from './devpoll.js';

export { select, selectAsync, type FileLike } from './select.js';
export { checkWaitOptions, type AsyncWaitOptions } from './internal/async.js';
export { poll, Poll } from './poll.js';
export { Epoll, type EpollOptions, type EpollPollOptions } from './epoll.js';
export { Kqueue, type KeventVisitor } from './kqueue.js';
export { Kevent, type KeventOptions, type Int64 } from './kevent.js';
export { Devpoll } from './devpoll.js';
export * from './constants.js';
/**
 * Beyond Python's select module: PyObject_AsFileDescriptor, the conversion
 * every call here applies to "an int or an object with a fileno() method"
 * (and to Node's handles). `asFileDescriptorOrNegative` returns a negative
 * descriptor (a closed socket's) instead of throwing.
 */
export { fdOf as asFileDescriptor, fdOfAllowNegative as asFileDescriptorOrNegative } from './internal/fileobj.js';
// The contract's error classes, as Python's modules expose them.
export * from '@iomux/core-native/error-classes';

/** `select.epoll`: present only where the platform has epoll (Linux). */
export const epoll: typeof epollImpl | undefined = has.epoll ? epollImpl : undefined;

/**
 * `select.kqueue` and `select.kevent`: present where the addon has kqueue
 * (BSD and macOS natively, Linux through its emulation: `kqueue.emulated`).
 */
export const kqueue: typeof kqueueImpl | undefined = has.kqueue ? kqueueImpl : undefined;
/** `select.kevent`: present where `kqueue` is. */
export const kevent: typeof keventImpl | undefined = has.kqueue ? keventImpl : undefined;
/**
 * `select.devpoll`: present where the addon has /dev/poll (Solaris and
 * illumos natively, Linux through its emulation), else `undefined`, so that
 * portable code can test for it (`if (devpoll)`), as
 * `hasattr(select, 'devpoll')` does, and an ESM named import never fails.
 */
export const devpoll: typeof devpollImpl | undefined = has.devpoll ? devpollImpl : undefined;
