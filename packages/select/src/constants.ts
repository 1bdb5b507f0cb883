/**
 * The constants Python's select module documents, with this platform's
 * values from the C headers. A constant the platform lacks is undefined, as
 * it is absent from Python's module.
 */
import { selectConstants as C } from '@iomux/core-native';

export const PIPE_BUF: number = C.PIPE_BUF!;

// poll(2)
export const POLLIN: number = C.POLLIN!;
export const POLLPRI: number = C.POLLPRI!;
export const POLLOUT: number = C.POLLOUT!;
export const POLLERR: number = C.POLLERR!;
export const POLLHUP: number = C.POLLHUP!;
export const POLLNVAL: number = C.POLLNVAL!;
export const POLLRDNORM: number | undefined = C.POLLRDNORM;
export const POLLRDBAND: number | undefined = C.POLLRDBAND;
export const POLLWRNORM: number | undefined = C.POLLWRNORM;
export const POLLWRBAND: number | undefined = C.POLLWRBAND;
export const POLLMSG: number | undefined = C.POLLMSG;
export const POLLRDHUP: number | undefined = C.POLLRDHUP;

// epoll(7), Linux
export const EPOLLIN: number | undefined = C.EPOLLIN;
export const EPOLLOUT: number | undefined = C.EPOLLOUT;
export const EPOLLPRI: number | undefined = C.EPOLLPRI;
export const EPOLLERR: number | undefined = C.EPOLLERR;
export const EPOLLHUP: number | undefined = C.EPOLLHUP;
export const EPOLLET: number | undefined = C.EPOLLET;
export const EPOLLONESHOT: number | undefined = C.EPOLLONESHOT;
export const EPOLLEXCLUSIVE: number | undefined = C.EPOLLEXCLUSIVE;
export const EPOLLRDHUP: number | undefined = C.EPOLLRDHUP;
export const EPOLLRDNORM: number | undefined = C.EPOLLRDNORM;
export const EPOLLRDBAND: number | undefined = C.EPOLLRDBAND;
export const EPOLLWRNORM: number | undefined = C.EPOLLWRNORM;
export const EPOLLWRBAND: number | undefined = C.EPOLLWRBAND;
export const EPOLLMSG: number | undefined = C.EPOLLMSG;
export const EPOLL_CLOEXEC: number | undefined = C.EPOLL_CLOEXEC;
