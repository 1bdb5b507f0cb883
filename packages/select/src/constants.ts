/**
 * The constants Python's select module documents, with this platform's
 * values from the C headers. A constant the platform lacks is undefined, as
 * it is absent from Python's module.
 */
import { selectConstants as C } from '@iomux/core-native';

/**
 * The fewest bytes a write to a pipe can make without blocking once select(),
 * poll() or epoll reports the pipe writable (Python's `select.PIPE_BUF`).
 */
export const PIPE_BUF: number = C.PIPE_BUF!;

// poll(2)
/** poll(): there is data to read. */
export const POLLIN: number = C.POLLIN!;
/** poll(): there is urgent data to read (TCP out-of-band data). */
export const POLLPRI: number = C.POLLPRI!;
/** poll(): ready for output; a write will not block. */
export const POLLOUT: number = C.POLLOUT!;
/** poll() (output only): an error condition. */
export const POLLERR: number = C.POLLERR!;
/** poll() (output only): hung up (the peer closed, or the write end of a pipe closed). */
export const POLLHUP: number = C.POLLHUP!;
/** poll() (output only): invalid request, the descriptor is not open. */
export const POLLNVAL: number = C.POLLNVAL!;
/** poll(): normal data to read (as POLLIN on Linux); undefined where absent. */
export const POLLRDNORM: number | undefined = C.POLLRDNORM;
/** poll(): priority band data to read; undefined where absent. */
export const POLLRDBAND: number | undefined = C.POLLRDBAND;
/** poll(): writing normal data will not block (as POLLOUT on Linux); undefined where absent. */
export const POLLWRNORM: number | undefined = C.POLLWRNORM;
/** poll(): priority data may be written; undefined where absent. */
export const POLLWRBAND: number | undefined = C.POLLWRBAND;
/** poll(): unused on Linux; undefined where absent. */
export const POLLMSG: number | undefined = C.POLLMSG;
/** poll(): the peer closed its side or shut down writing (Linux 2.6.17+); undefined elsewhere. */
export const POLLRDHUP: number | undefined = C.POLLRDHUP;

// epoll(7), Linux
/** epoll: available for read. Undefined where the platform lacks epoll (all the EPOLL* constants). */
export const EPOLLIN: number | undefined = C.EPOLLIN;
/** epoll: available for write. */
export const EPOLLOUT: number | undefined = C.EPOLLOUT;
/** epoll: urgent data for read. */
export const EPOLLPRI: number | undefined = C.EPOLLPRI;
/** epoll (reported even if not asked for): an error condition on the descriptor. */
export const EPOLLERR: number | undefined = C.EPOLLERR;
/** epoll (reported even if not asked for): hang up. */
export const EPOLLHUP: number | undefined = C.EPOLLHUP;
/** epoll: edge-triggered behaviour (the default is level-triggered). */
export const EPOLLET: number | undefined = C.EPOLLET;
/** epoll: one event, then the descriptor is disabled until modified again. */
export const EPOLLONESHOT: number | undefined = C.EPOLLONESHOT;
/** epoll: wake only one epoll object when the event happens (Linux 4.5+). */
export const EPOLLEXCLUSIVE: number | undefined = C.EPOLLEXCLUSIVE;
/** epoll: the peer closed its side or shut down writing. */
export const EPOLLRDHUP: number | undefined = C.EPOLLRDHUP;
/** epoll: equivalent to EPOLLIN. */
export const EPOLLRDNORM: number | undefined = C.EPOLLRDNORM;
/** epoll: priority data band to read. */
export const EPOLLRDBAND: number | undefined = C.EPOLLRDBAND;
/** epoll: equivalent to EPOLLOUT. */
export const EPOLLWRNORM: number | undefined = C.EPOLLWRNORM;
/** epoll: priority data may be written. */
export const EPOLLWRBAND: number | undefined = C.EPOLLWRBAND;
/** epoll: ignored. */
export const EPOLLMSG: number | undefined = C.EPOLLMSG;
/** `epoll(sizehint, flags)` flag: close-on-exec (the new descriptor is close-on-exec anyway). */
export const EPOLL_CLOEXEC: number | undefined = C.EPOLL_CLOEXEC;
