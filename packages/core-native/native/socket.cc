// BSD sockets: socket(2), socketpair(2), bind(2), listen(2), accept4(2),
// connect(2), recv(2), send(2), shutdown(2), getsockname(2), getpeername(2),
// getsockopt(2)/setsockopt(2) for int options. POSIX; accept4 and
// MSG_NOSIGNAL on Linux, fcntl(FD_CLOEXEC) and SO_NOSIGPIPE elsewhere.
//
// Addresses cross as (family, host, port), converted in sockaddr.cc.
// Name resolution and Python's messages live in src/socket/.
//
// Every new descriptor is close-on-exec (PEP 446). Calls that cannot time out
// retry EINTR (PEP 475); connect() interrupted on a blocking socket waits for
// the connection with poll(POLLOUT) and reads SO_ERROR, as CPython's
// sock_connect does, because a second connect() would fail with EALREADY.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "args.h"
#include "backend.h"
#include "batch.h"
#include "errno.h"
#include "fastcall.h"
#include "sockaddr.h"

namespace iomux {
namespace {

int CIntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return static_cast<int>(IntArg(info, i, INT_MIN, INT_MAX, what));
}

// Makes a descriptor we just created close-on-exec and, where the platform
// has it, immune to SIGPIPE. Closes it and throws on failure.
void PrepareNewFd(Napi::Env env, int fd, bool cloexec_done) {
  if (!cloexec_done) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
      int err = errno;
      ::close(fd);
      ThrowErrno(env, err, "fcntl");
    }
  }
#ifdef SO_NOSIGPIPE
  int one = 1;
  // Best effort: not every socket type takes it (AF_UNIX on some BSDs).
  (void)::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) ThrowTypeError(info.Env(), what);
  return info[i].As<Napi::String>().Utf8Value();
}

// Builds a sockaddr from (family, host, port) at info[i], info[i+1], info[i+2].
SockAddr AddrArgs(const Napi::CallbackInfo& info, size_t i, const char* syscall) {
  Napi::Env env = info.Env();
  int family = CIntArg(info, i, "family must be an integer");
  SockAddr a;
  const char* bad = nullptr;
  if (family == AF_INET || family == AF_INET6) {
    std::string host = StringArg(info, i + 1, "host must be a string");
    int port = static_cast<int>(IntArg(info, i + 2, 0, 65535, "port must be 0-65535"));
    bad = EncodeInetAddr(family, host, port, &a);
  } else if (family == AF_UNIX) {
    if (i + 1 >= info.Length() || !info[i + 1].IsString()) ThrowTypeError(env, "path must be a string");
    Napi::String path = info[i + 1].As<Napi::String>();
    bad = EncodeUnixAddr(path.Utf16Value(), path.Utf8Value(), &a);
  } else {
    ThrowErrno(env, EAFNOSUPPORT, syscall);
  }
  if (bad != nullptr) ThrowValueError(env, bad);
  return a;
}

// Sets out[at], out[at + 1], out[at + 2] to family, host, port for a
// sockaddr the kernel filled in (len bytes valid).
void AddrInto(Napi::Env env, Napi::Array out, uint32_t at, const struct sockaddr_storage* ss, socklen_t len) {
  DecodedAddr d = DecodeAddr(ss, len);
  out.Set(at, Napi::Number::New(env, d.family));
  if (d.abstract) {
    out.Set(at + 1, Napi::String::New(env, d.wide));
  } else {
    out.Set(at + 1, Napi::String::New(env, d.host));
  }
  out.Set(at + 2, Napi::Number::New(env, d.port));
}

// [family, host, port] for a sockaddr the kernel filled in (len bytes valid).
Napi::Array AddrValue(Napi::Env env, const struct sockaddr_storage* ss, socklen_t len) {
  Napi::Array out = Napi::Array::New(env, 3);
  AddrInto(env, out, 0, ss, len);
  return out;
}

// socket(family, type, proto) -> fd (close-on-exec).
Napi::Value Socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = CIntArg(info, 0, "family must be an integer");
  int type = CIntArg(info, 1, "type must be an integer");
  int proto = CIntArg(info, 2, "proto must be an integer");
#ifdef SOCK_CLOEXEC
  int fd = ::socket(family, type | SOCK_CLOEXEC, proto);
  bool cloexec = true;
#else
  int fd = ::socket(family, type, proto);
  bool cloexec = false;
#endif
  if (fd < 0) ThrowErrno(env, errno, "socket");
  PrepareNewFd(env, fd, cloexec);
  return Napi::Number::New(env, fd);
}

// socketpair(family, type, proto) -> [fd, fd] (both close-on-exec).
Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = CIntArg(info, 0, "family must be an integer");
  int type = CIntArg(info, 1, "type must be an integer");
  int proto = CIntArg(info, 2, "proto must be an integer");
  int fds[2];
#ifdef SOCK_CLOEXEC
  if (::socketpair(family, type | SOCK_CLOEXEC, proto, fds) < 0) ThrowErrno(env, errno, "socketpair");
  bool cloexec = true;
#else
  if (::socketpair(family, type, proto, fds) < 0) ThrowErrno(env, errno, "socketpair");
  bool cloexec = false;
#endif
  try {
    PrepareNewFd(env, fds[0], cloexec);
  } catch (...) {
    ::close(fds[1]);
    throw;
  }
  try {
    PrepareNewFd(env, fds[1], cloexec);
  } catch (...) {
    ::close(fds[0]);
    throw;
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// bind(fd, family, host, port)
Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  SockAddr a = AddrArgs(info, 1, "bind");
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&a.ss), a.len) < 0) ThrowErrno(info.Env(), errno, "bind");
  return info.Env().Undefined();
}

// listen(fd, backlog)
Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int backlog = CIntArg(info, 1, "backlog must be an integer");
  if (::listen(fd, backlog) < 0) ThrowErrno(info.Env(), errno, "listen");
  return info.Env().Undefined();
}

// accept(fd) -> [newfd, family, host, port]; newfd is close-on-exec.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  SockAddr a;
  std::memset(&a, 0, sizeof a);
  int nfd;
  do {
    a.len = sizeof a.ss;
#if defined(__linux__) && defined(SOCK_CLOEXEC)
    nfd = ::accept4(fd, reinterpret_cast<struct sockaddr*>(&a.ss), &a.len, SOCK_CLOEXEC);
#else
    nfd = ::accept(fd, reinterpret_cast<struct sockaddr*>(&a.ss), &a.len);
#endif
  } while (nfd < 0 && errno == EINTR);
  if (nfd < 0) ThrowErrno(env, errno, "accept");
#if defined(__linux__) && defined(SOCK_CLOEXEC)
  PrepareNewFd(env, nfd, true);
#else
  PrepareNewFd(env, nfd, false);
#endif
  try {
    Napi::Array out = Napi::Array::New(env, 4);
    out.Set(0u, Napi::Number::New(env, nfd));
    AddrInto(env, out, 1, &a.ss, a.len);
    return out;
  } catch (...) {
    ::close(nfd);
    throw;
  }
}

// connect(fd, family, host, port) -> 0 or errno (connect_ex semantics).
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  SockAddr a = AddrArgs(info, 1, "connect");
  if (::connect(fd, reinterpret_cast<struct sockaddr*>(&a.ss), a.len) == 0) return Napi::Number::New(env, 0);
  int err = errno;
  if (err != EINTR) return Napi::Number::New(env, err);
  // PEP 475: connect() cannot be restarted, but the connection goes on in
  // the background. A blocking socket waits for it; a non-blocking one
  // reports EINTR and the caller decides (its own timeout, or give up).
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return Napi::Number::New(env, errno);
  if (fl & O_NONBLOCK) return Napi::Number::New(env, EINTR);
  for (;;) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLOUT;
    p.revents = 0;
    int r;
    do {
      r = ::poll(&p, 1, -1);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return Napi::Number::New(env, errno);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) return Napi::Number::New(env, errno);
    if (soerr != EINTR) return Napi::Number::New(env, soerr);
  }
}

// recv(fd, buf, offset, length, flags) -> bytes received into buf[offset...].
napi_value Recv(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "buffer must be a Buffer or TypedArray"), argv[2], argv[3]);
  int flags = static_cast<int>(IntValue(env, argv[4], INT_MIN, INT_MAX, "flags must be an integer"));
  ssize_t n;
  do {
    // SAFETY: win lies inside the view, checked by WindowValue.
    n = FastRecv(fd, win.data, win.length, flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "recv");
  return CountValue(env, n);
}

// send(fd, buf, offset, length, flags) -> bytes sent. MSG_NOSIGNAL: a closed
// peer is EPIPE, not a SIGPIPE that kills the process.
napi_value Send(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "data must be a Buffer or TypedArray"), argv[2], argv[3]);
  int flags = static_cast<int>(IntValue(env, argv[4], INT_MIN, INT_MAX, "flags must be an integer"));
  ssize_t n;
  do {
    // SAFETY: win lies inside the view, checked by WindowValue.
    n = FastSend(fd, win.data, win.length, flags | kSendFlags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "send");
  return CountValue(env, n);
}

// recv_view(fd, view) -> bytes received into the whole of `view`, flags 0;
// send_view(fd, view) -> bytes of the whole of `view` sent (MSG_NOSIGNAL).
// What a transport calls on every message: two arguments, no window, and
// none of node-addon-api's per-call wrapping (see Callback2), which cost
// about as much as the rest of recv()/send() above together.
template <bool kSend>
napi_value WholeView(napi_env env, napi_value fdv, napi_value viewv) {
  int fd = FdValue(env, fdv);
  ByteSpan view = BytesValue(env, viewv, kSend ? "data must be a Buffer or TypedArray" : "buffer must be a Buffer or TypedArray");
  ssize_t n;
  do {
    // SAFETY: view.data/view.length describe the view's own bytes (0 if detached).
    n = kSend ? FastSend(fd, view.data, view.length, kSendFlags) : FastRecv(fd, view.data, view.length, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, kSend ? "send" : "recv");
  return CountValue(env, n);
}

// shutdown(fd, how)
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int how = CIntArg(info, 1, "how must be an integer");
  if (::shutdown(fd, how) < 0) ThrowErrno(info.Env(), errno, "shutdown");
  return info.Env().Undefined();
}

Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  SockAddr a;
  std::memset(&a, 0, sizeof a);
  a.len = sizeof a.ss;
  if (::getsockname(fd, reinterpret_cast<struct sockaddr*>(&a.ss), &a.len) < 0) {
    ThrowErrno(info.Env(), errno, "getsockname");
  }
  return AddrValue(info.Env(), &a.ss, a.len);
}

Napi::Value GetPeerName(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  SockAddr a;
  std::memset(&a, 0, sizeof a);
  a.len = sizeof a.ss;
  if (::getpeername(fd, reinterpret_cast<struct sockaddr*>(&a.ss), &a.len) < 0) {
    ThrowErrno(info.Env(), errno, "getpeername");
  }
  return AddrValue(info.Env(), &a.ss, a.len);
}

// setsockopt_int(fd, level, opt, value)
Napi::Value SetSockOptInt(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int level = CIntArg(info, 1, "level must be an integer");
  int opt = CIntArg(info, 2, "option must be an integer");
  int value = CIntArg(info, 3, "value must be an integer");
  if (::setsockopt(fd, level, opt, &value, sizeof value) < 0) ThrowErrno(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

// getsockopt_int(fd, level, opt) -> value
Napi::Value GetSockOptInt(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int level = CIntArg(info, 1, "level must be an integer");
  int opt = CIntArg(info, 2, "option must be an integer");
  int value = 0;
  socklen_t len = sizeof value;
  // SAFETY: the kernel writes at most len (sizeof(int)) bytes.
  if (::getsockopt(fd, level, opt, &value, &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return Napi::Number::New(info.Env(), value);
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("socketpair", Napi::Function::New(env, Socketpair, "socketpair"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("recv", FunctionN<5, Recv>(env, "recv"));
  exports.Set("send", FunctionN<5, Send>(env, "send"));
  exports.Set("recv_view", Function2<WholeView<false>>(env, "recv_view"));
  exports.Set("send_view", Function2<WholeView<true>>(env, "send_view"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("getsockname", Napi::Function::New(env, GetSockName, "getsockname"));
  exports.Set("getpeername", Napi::Function::New(env, GetPeerName, "getpeername"));
  exports.Set("setsockopt_int", Napi::Function::New(env, SetSockOptInt, "setsockopt_int"));
  exports.Set("getsockopt_int", Napi::Function::New(env, GetSockOptInt, "getsockopt_int"));
}

}  // namespace iomux
