// Every constant the addon knows, each under #ifdef so a constant the platform
// lacks is absent, as in CPython's selectmodule.c and socketmodule.c. The
// binary is the one source of truth for what this platform has (`has`).
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#ifdef IOMUX_HAVE_EPOLL
#include <sys/epoll.h>
#endif
#ifdef IOMUX_KQUEUE_EMULATION
#include "kqueue-linux.h"
#elif defined(IOMUX_HAVE_KQUEUE)
#include <sys/types.h>
#include <sys/event.h>
#endif

#ifdef IOMUX_DEVPOLL_EMULATION
#include "devpoll-linux.h"
#elif defined(IOMUX_HAVE_DEVPOLL)
#include <sys/devpoll.h>
#endif

#include "backend.h"

namespace iomux {

#define C(obj, name) obj.Set(#name, Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(name))))
#define CI(obj, name) obj.Set(#name, Napi::Number::New(env, static_cast<double>(name)))

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object select = Napi::Object::New(env);
  CI(select, FD_SETSIZE);
#ifdef PIPE_BUF
  CI(select, PIPE_BUF);
#endif
  C(select, POLLIN);
  C(select, POLLPRI);
  C(select, POLLOUT);
  C(select, POLLERR);
  C(select, POLLHUP);
  C(select, POLLNVAL);
#ifdef POLLRDNORM
  C(select, POLLRDNORM);
#endif
#ifdef POLLRDBAND
  C(select, POLLRDBAND);
#endif
#ifdef POLLWRNORM
  C(select, POLLWRNORM);
#endif
#ifdef POLLWRBAND
  C(select, POLLWRBAND);
#endif
#ifdef POLLMSG
  C(select, POLLMSG);
#endif
#ifdef POLLRDHUP
  C(select, POLLRDHUP);
#endif
#ifdef IOMUX_DEVPOLL_EMULATION
  // /dev/poll's, at illumos' value (Linux's own POLLREMOVE is not it).
  select.Set("POLLREMOVE", Napi::Number::New(env, IOMUX_DP_POLLREMOVE));
#elif defined(IOMUX_HAVE_DEVPOLL)
  C(select, POLLREMOVE);
#endif
#ifdef IOMUX_HAVE_EPOLL
  C(select, EPOLLIN);
  C(select, EPOLLOUT);
  C(select, EPOLLPRI);
  C(select, EPOLLERR);
  C(select, EPOLLHUP);
  C(select, EPOLLET);
#ifdef EPOLLONESHOT
  C(select, EPOLLONESHOT);
#endif
#ifdef EPOLLEXCLUSIVE
  C(select, EPOLLEXCLUSIVE);
#endif
#ifdef EPOLLRDHUP
  C(select, EPOLLRDHUP);
#endif
  C(select, EPOLLRDNORM);
  C(select, EPOLLRDBAND);
  C(select, EPOLLWRNORM);
  C(select, EPOLLWRBAND);
  C(select, EPOLLMSG);
  C(select, EPOLL_CLOEXEC);
  C(select, EPOLL_CTL_ADD);
  C(select, EPOLL_CTL_MOD);
  C(select, EPOLL_CTL_DEL);
#endif
#ifdef IOMUX_HAVE_KQUEUE
  // kqueue: Python's KQ_* names (CPython's selectmodule.c) with the C
  // values as int (CI: NOTE_EXIT is 2147483648, KQ_FILTER_READ -1), plus
  // EV_RECEIPT, EVFILT_USER's and the timer's notes where defined. On Linux
  // the emulation's (kqueue-linux.h, FreeBSD's values).
  {
#define KQ(obj, py, c) obj.Set(py, Napi::Number::New(env, static_cast<double>(c)))
    KQ(select, "KQ_FILTER_READ", EVFILT_READ);
    KQ(select, "KQ_FILTER_WRITE", EVFILT_WRITE);
#ifdef EVFILT_AIO
    KQ(select, "KQ_FILTER_AIO", EVFILT_AIO);
#endif
    KQ(select, "KQ_FILTER_VNODE", EVFILT_VNODE);
    KQ(select, "KQ_FILTER_PROC", EVFILT_PROC);
#ifdef EVFILT_NETDEV
    KQ(select, "KQ_FILTER_NETDEV", EVFILT_NETDEV);
#endif
    KQ(select, "KQ_FILTER_SIGNAL", EVFILT_SIGNAL);
    KQ(select, "KQ_FILTER_TIMER", EVFILT_TIMER);
#ifdef EVFILT_USER
    KQ(select, "KQ_FILTER_USER", EVFILT_USER);
#endif
    KQ(select, "KQ_EV_ADD", EV_ADD);
    KQ(select, "KQ_EV_DELETE", EV_DELETE);
    KQ(select, "KQ_EV_ENABLE", EV_ENABLE);
    KQ(select, "KQ_EV_DISABLE", EV_DISABLE);
    KQ(select, "KQ_EV_ONESHOT", EV_ONESHOT);
    KQ(select, "KQ_EV_CLEAR", EV_CLEAR);
#ifdef EV_RECEIPT
    KQ(select, "KQ_EV_RECEIPT", EV_RECEIPT);
#endif
    KQ(select, "KQ_EV_SYSFLAGS", EV_SYSFLAGS);
    KQ(select, "KQ_EV_FLAG1", EV_FLAG1);
    KQ(select, "KQ_EV_EOF", EV_EOF);
    KQ(select, "KQ_EV_ERROR", EV_ERROR);
    KQ(select, "KQ_NOTE_LOWAT", NOTE_LOWAT);
    KQ(select, "KQ_NOTE_DELETE", NOTE_DELETE);
    KQ(select, "KQ_NOTE_WRITE", NOTE_WRITE);
    KQ(select, "KQ_NOTE_EXTEND", NOTE_EXTEND);
    KQ(select, "KQ_NOTE_ATTRIB", NOTE_ATTRIB);
    KQ(select, "KQ_NOTE_LINK", NOTE_LINK);
    KQ(select, "KQ_NOTE_RENAME", NOTE_RENAME);
    KQ(select, "KQ_NOTE_REVOKE", NOTE_REVOKE);
    KQ(select, "KQ_NOTE_EXIT", NOTE_EXIT);
    KQ(select, "KQ_NOTE_FORK", NOTE_FORK);
    KQ(select, "KQ_NOTE_EXEC", NOTE_EXEC);
    KQ(select, "KQ_NOTE_PCTRLMASK", NOTE_PCTRLMASK);
    KQ(select, "KQ_NOTE_PDATAMASK", NOTE_PDATAMASK);
#ifdef NOTE_TRACK
    KQ(select, "KQ_NOTE_TRACK", NOTE_TRACK);
    KQ(select, "KQ_NOTE_CHILD", NOTE_CHILD);
    KQ(select, "KQ_NOTE_TRACKERR", NOTE_TRACKERR);
#endif
#ifdef EVFILT_NETDEV
    KQ(select, "KQ_NOTE_LINKUP", NOTE_LINKUP);
    KQ(select, "KQ_NOTE_LINKDOWN", NOTE_LINKDOWN);
    KQ(select, "KQ_NOTE_LINKINV", NOTE_LINKINV);
#endif
#ifdef NOTE_TRIGGER
    KQ(select, "KQ_NOTE_TRIGGER", NOTE_TRIGGER);
    KQ(select, "KQ_NOTE_FFNOP", NOTE_FFNOP);
    KQ(select, "KQ_NOTE_FFAND", NOTE_FFAND);
    KQ(select, "KQ_NOTE_FFOR", NOTE_FFOR);
    KQ(select, "KQ_NOTE_FFCOPY", NOTE_FFCOPY);
    KQ(select, "KQ_NOTE_FFCTRLMASK", NOTE_FFCTRLMASK);
    KQ(select, "KQ_NOTE_FFLAGSMASK", NOTE_FFLAGSMASK);
#endif
#ifdef NOTE_SECONDS
    KQ(select, "KQ_NOTE_SECONDS", NOTE_SECONDS);
#endif
#ifdef NOTE_MSECONDS
    KQ(select, "KQ_NOTE_MSECONDS", NOTE_MSECONDS);
#endif
#ifdef NOTE_USECONDS
    KQ(select, "KQ_NOTE_USECONDS", NOTE_USECONDS);
#endif
#ifdef NOTE_NSECONDS
    KQ(select, "KQ_NOTE_NSECONDS", NOTE_NSECONDS);
#endif
#undef KQ
  }
#endif
  exports.Set("select_constants", select);

  Napi::Object sock = Napi::Object::New(env);
  CI(sock, AF_UNSPEC);
  CI(sock, AF_INET);
  CI(sock, AF_INET6);
  CI(sock, AF_UNIX);
  CI(sock, SOCK_STREAM);
  CI(sock, SOCK_DGRAM);
  CI(sock, SOCK_RAW);
#ifdef SOCK_SEQPACKET
  CI(sock, SOCK_SEQPACKET);
#endif
#ifdef SOCK_NONBLOCK
  CI(sock, SOCK_NONBLOCK);
#endif
#ifdef SOCK_CLOEXEC
  CI(sock, SOCK_CLOEXEC);
#endif
  CI(sock, SOL_SOCKET);
  CI(sock, SO_REUSEADDR);
#ifdef SO_REUSEPORT
  CI(sock, SO_REUSEPORT);
#endif
  CI(sock, SO_ERROR);
  CI(sock, SO_KEEPALIVE);
  CI(sock, SO_RCVBUF);
  CI(sock, SO_SNDBUF);
  CI(sock, SO_TYPE);
#ifdef SO_DOMAIN
  CI(sock, SO_DOMAIN);
#endif
#ifdef SO_PROTOCOL
  CI(sock, SO_PROTOCOL);
#endif
  CI(sock, SO_BROADCAST);
  CI(sock, SO_RCVLOWAT);
  CI(sock, SO_SNDLOWAT);
  CI(sock, SO_LINGER);
  CI(sock, IPPROTO_TCP);
  CI(sock, IPPROTO_UDP);
  CI(sock, IPPROTO_IP);
  CI(sock, IPPROTO_IPV6);
  CI(sock, TCP_NODELAY);
#ifdef IPV6_V6ONLY
  CI(sock, IPV6_V6ONLY);
#endif
  CI(sock, SHUT_RD);
  CI(sock, SHUT_WR);
  CI(sock, SHUT_RDWR);
  CI(sock, MSG_PEEK);
  CI(sock, MSG_OOB);
  CI(sock, MSG_WAITALL);
  CI(sock, MSG_TRUNC);
#ifdef MSG_DONTWAIT
  CI(sock, MSG_DONTWAIT);
#endif
#ifdef MSG_NOSIGNAL
  CI(sock, MSG_NOSIGNAL);
#endif
  // Descriptor passing (dgram.cc): socket.send_fds/recv_fds.
  CI(sock, MSG_CTRUNC);
  CI(sock, SCM_RIGHTS);
#ifdef MSG_CMSG_CLOEXEC
  CI(sock, MSG_CMSG_CLOEXEC);
#endif
  CI(sock, SOMAXCONN);
  // getaddrinfo(3) errors: socket.gaierror's errno, as in Python.
  CI(sock, EAI_AGAIN);
  CI(sock, EAI_BADFLAGS);
  CI(sock, EAI_FAIL);
  CI(sock, EAI_FAMILY);
  CI(sock, EAI_MEMORY);
  CI(sock, EAI_NONAME);
  CI(sock, EAI_SERVICE);
  CI(sock, EAI_SOCKTYPE);
#ifdef EAI_ADDRFAMILY
  CI(sock, EAI_ADDRFAMILY);
#endif
#ifdef EAI_NODATA
  CI(sock, EAI_NODATA);
#endif
#ifdef EAI_SYSTEM
  CI(sock, EAI_SYSTEM);
#endif
#ifdef EAI_OVERFLOW
  CI(sock, EAI_OVERFLOW);
#endif
  // getaddrinfo(3) flags and getnameinfo(3) flags, for the loop's resolver.
  CI(sock, AI_PASSIVE);
  CI(sock, AI_CANONNAME);
  CI(sock, AI_NUMERICHOST);
  CI(sock, AI_NUMERICSERV);
#ifdef AI_V4MAPPED
  CI(sock, AI_V4MAPPED);
#endif
#ifdef AI_ALL
  CI(sock, AI_ALL);
#endif
#ifdef AI_ADDRCONFIG
  CI(sock, AI_ADDRCONFIG);
#endif
  CI(sock, NI_NUMERICHOST);
  CI(sock, NI_NUMERICSERV);
  CI(sock, NI_NAMEREQD);
  CI(sock, NI_DGRAM);
  CI(sock, NI_NOFQDN);
#ifdef NI_MAXHOST
  CI(sock, NI_MAXHOST);
#endif
#ifdef NI_MAXSERV
  CI(sock, NI_MAXSERV);
#endif
  exports.Set("socket_constants", sock);

  Napi::Object err = Napi::Object::New(env);
  CI(err, EPERM); CI(err, ENOENT); CI(err, ESRCH); CI(err, EINTR); CI(err, EIO);
  CI(err, EBADF); CI(err, ECHILD); CI(err, EAGAIN); CI(err, EWOULDBLOCK);
  CI(err, ENOMEM); CI(err, EACCES); CI(err, EFAULT); CI(err, EEXIST);
  CI(err, ENOTDIR); CI(err, EISDIR); CI(err, EINVAL); CI(err, ENFILE);
  CI(err, EMFILE); CI(err, ENOSPC); CI(err, ESPIPE); CI(err, EPIPE);
  CI(err, ERANGE); CI(err, ENOSYS); CI(err, ENOTSOCK); CI(err, EMSGSIZE);
  CI(err, ENOPROTOOPT); CI(err, EOPNOTSUPP); CI(err, EAFNOSUPPORT);
  CI(err, EADDRINUSE); CI(err, EADDRNOTAVAIL); CI(err, ENETUNREACH);
  CI(err, ECONNABORTED); CI(err, ECONNRESET); CI(err, ENOBUFS); CI(err, EISCONN);
  CI(err, ENOTCONN); CI(err, ESHUTDOWN); CI(err, ETIMEDOUT); CI(err, ECONNREFUSED);
  CI(err, EHOSTUNREACH); CI(err, EALREADY); CI(err, EINPROGRESS);
#ifdef ENOTSUP
  CI(err, ENOTSUP);
#endif
  exports.Set("errno_constants", err);

  Napi::Object has = Napi::Object::New(env);
  has.Set("select", Napi::Boolean::New(env, true));
  has.Set("poll", Napi::Boolean::New(env, true));
#ifdef IOMUX_HAVE_EPOLL
  has.Set("epoll", Napi::Boolean::New(env, true));
#else
  has.Set("epoll", Napi::Boolean::New(env, false));
#endif
#ifdef IOMUX_HAVE_KQUEUE
  // Also on Linux, where it is the emulation (DefaultSelector keeps epoll).
  has.Set("kqueue", Napi::Boolean::New(env, true));
#else
  has.Set("kqueue", Napi::Boolean::New(env, false));
#endif
#ifdef IOMUX_HAVE_DEVPOLL
  has.Set("devpoll", Napi::Boolean::New(env, true));
#else
  has.Set("devpoll", Napi::Boolean::New(env, false));
#endif
  exports.Set("has", has);
}

#undef C
#undef CI

}  // namespace iomux
