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

// kqueue(2): BSD and macOS; on Linux the addon's emulation, with FreeBSD's
// values. Undefined where neither defines the constant (all of them where
// the platform has no kqueue).
/** kevent filter: the descriptor has data to read (`data`: the bytes available). */
export const KQ_FILTER_READ: number | undefined = C.KQ_FILTER_READ;
/** kevent filter: the descriptor can be written (`data`: the space left). */
export const KQ_FILTER_WRITE: number | undefined = C.KQ_FILTER_WRITE;
/** kevent filter: asynchronous I/O (AIO) requests. */
export const KQ_FILTER_AIO: number | undefined = C.KQ_FILTER_AIO;
/** kevent filter: events on a file (`fflags`: the KQ_NOTE_* vnode events). */
export const KQ_FILTER_VNODE: number | undefined = C.KQ_FILTER_VNODE;
/** kevent filter: events of a process (`ident`: its pid; `fflags`: KQ_NOTE_EXIT, ...). */
export const KQ_FILTER_PROC: number | undefined = C.KQ_FILTER_PROC;
/** kevent filter: network device events (not on macOS). */
export const KQ_FILTER_NETDEV: number | undefined = C.KQ_FILTER_NETDEV;
/** kevent filter: a signal was delivered (`ident`: the signal number). */
export const KQ_FILTER_SIGNAL: number | undefined = C.KQ_FILTER_SIGNAL;
/** kevent filter: a timer (`ident`: its id; `data`: the period, in ms by default). */
export const KQ_FILTER_TIMER: number | undefined = C.KQ_FILTER_TIMER;
/** kevent filter (beyond Python's list): user-triggered events (KQ_NOTE_TRIGGER). */
export const KQ_FILTER_USER: number | undefined = C.KQ_FILTER_USER;
/** kevent flag: adds or modifies an event. */
export const KQ_EV_ADD: number | undefined = C.KQ_EV_ADD;
/** kevent flag: removes an event from the queue. */
export const KQ_EV_DELETE: number | undefined = C.KQ_EV_DELETE;
/** kevent flag: lets control() return the event. */
export const KQ_EV_ENABLE: number | undefined = C.KQ_EV_ENABLE;
/** kevent flag: keeps the event but stops control() returning it. */
export const KQ_EV_DISABLE: number | undefined = C.KQ_EV_DISABLE;
/** kevent flag: removes the event after its first occurrence. */
export const KQ_EV_ONESHOT: number | undefined = C.KQ_EV_ONESHOT;
/** kevent flag: resets the state after the event is retrieved (edge-triggered). */
export const KQ_EV_CLEAR: number | undefined = C.KQ_EV_CLEAR;
/** kevent flag (beyond Python's list): report each change's result as an event (EV_ERROR, data 0 on success). */
export const KQ_EV_RECEIPT: number | undefined = C.KQ_EV_RECEIPT;
/** kevent flag: internal. */
export const KQ_EV_SYSFLAGS: number | undefined = C.KQ_EV_SYSFLAGS;
/** kevent flag: internal. */
export const KQ_EV_FLAG1: number | undefined = C.KQ_EV_FLAG1;
/** kevent flag (returned): end of file, or the peer hung up. */
export const KQ_EV_EOF: number | undefined = C.KQ_EV_EOF;
/** kevent flag (returned): a change failed; `data` holds the errno. */
export const KQ_EV_ERROR: number | undefined = C.KQ_EV_ERROR;
/** READ/WRITE fflags: `data` is a low-water mark. */
export const KQ_NOTE_LOWAT: number | undefined = C.KQ_NOTE_LOWAT;
/** VNODE fflags: the file was unlinked. */
export const KQ_NOTE_DELETE: number | undefined = C.KQ_NOTE_DELETE;
/** VNODE fflags: the file was written. */
export const KQ_NOTE_WRITE: number | undefined = C.KQ_NOTE_WRITE;
/** VNODE fflags: the file was extended. */
export const KQ_NOTE_EXTEND: number | undefined = C.KQ_NOTE_EXTEND;
/** VNODE fflags: the file's attributes changed. */
export const KQ_NOTE_ATTRIB: number | undefined = C.KQ_NOTE_ATTRIB;
/** VNODE fflags: the file's link count changed. */
export const KQ_NOTE_LINK: number | undefined = C.KQ_NOTE_LINK;
/** VNODE fflags: the file was renamed. */
export const KQ_NOTE_RENAME: number | undefined = C.KQ_NOTE_RENAME;
/** VNODE fflags: access to the file was revoked. */
export const KQ_NOTE_REVOKE: number | undefined = C.KQ_NOTE_REVOKE;
/** PROC fflags: the process exited (`data`: its wait status). */
export const KQ_NOTE_EXIT: number | undefined = C.KQ_NOTE_EXIT;
/** PROC fflags: the process forked. */
export const KQ_NOTE_FORK: number | undefined = C.KQ_NOTE_FORK;
/** PROC fflags: the process executed a new program. */
export const KQ_NOTE_EXEC: number | undefined = C.KQ_NOTE_EXEC;
/** PROC fflags: the mask of the control bits. */
export const KQ_NOTE_PCTRLMASK: number | undefined = C.KQ_NOTE_PCTRLMASK;
/** PROC fflags: the mask of the data bits. */
export const KQ_NOTE_PDATAMASK: number | undefined = C.KQ_NOTE_PDATAMASK;
/** PROC fflags: follow the process across fork(). */
export const KQ_NOTE_TRACK: number | undefined = C.KQ_NOTE_TRACK;
/** PROC fflags (returned): a child of a tracked process. */
export const KQ_NOTE_CHILD: number | undefined = C.KQ_NOTE_CHILD;
/** PROC fflags (returned): a child could not be attached. */
export const KQ_NOTE_TRACKERR: number | undefined = C.KQ_NOTE_TRACKERR;
/** NETDEV fflags: the link is up. */
export const KQ_NOTE_LINKUP: number | undefined = C.KQ_NOTE_LINKUP;
/** NETDEV fflags: the link is down. */
export const KQ_NOTE_LINKDOWN: number | undefined = C.KQ_NOTE_LINKDOWN;
/** NETDEV fflags: the link state is invalid. */
export const KQ_NOTE_LINKINV: number | undefined = C.KQ_NOTE_LINKINV;
/** USER fflags (beyond Python's list): trigger the event. */
export const KQ_NOTE_TRIGGER: number | undefined = C.KQ_NOTE_TRIGGER;
/** USER fflags (beyond Python's list): ignore the input fflags. */
export const KQ_NOTE_FFNOP: number | undefined = C.KQ_NOTE_FFNOP;
/** USER fflags (beyond Python's list): AND the input fflags into the event's. */
export const KQ_NOTE_FFAND: number | undefined = C.KQ_NOTE_FFAND;
/** USER fflags (beyond Python's list): OR the input fflags into the event's. */
export const KQ_NOTE_FFOR: number | undefined = C.KQ_NOTE_FFOR;
/** USER fflags (beyond Python's list): copy the input fflags. */
export const KQ_NOTE_FFCOPY: number | undefined = C.KQ_NOTE_FFCOPY;
/** USER fflags (beyond Python's list): the mask of the control bits. */
export const KQ_NOTE_FFCTRLMASK: number | undefined = C.KQ_NOTE_FFCTRLMASK;
/** USER fflags (beyond Python's list): the mask of the user-defined bits. */
export const KQ_NOTE_FFLAGSMASK: number | undefined = C.KQ_NOTE_FFLAGSMASK;
/** TIMER fflags (beyond Python's list): `data` is in seconds. */
export const KQ_NOTE_SECONDS: number | undefined = C.KQ_NOTE_SECONDS;
/** TIMER fflags (beyond Python's list): `data` is in milliseconds (the default). */
export const KQ_NOTE_MSECONDS: number | undefined = C.KQ_NOTE_MSECONDS;
/** TIMER fflags (beyond Python's list): `data` is in microseconds. */
export const KQ_NOTE_USECONDS: number | undefined = C.KQ_NOTE_USECONDS;
/** TIMER fflags (beyond Python's list): `data` is in nanoseconds. */
export const KQ_NOTE_NSECONDS: number | undefined = C.KQ_NOTE_NSECONDS;
