#include "errno.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace iomux {

const char* ErrnoCode(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
    E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOSYS)
    E(ENOTEMPTY) E(ELOOP) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE)
    E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EOPNOTSUPP)
    E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN)
    E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN)
    E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTUNREACH) E(EALREADY)
    E(EINPROGRESS) E(ESHUTDOWN)
#ifdef ESOCKTNOSUPPORT
    E(ESOCKTNOSUPPORT)
#endif
#ifdef EPFNOSUPPORT
    E(EPFNOSUPPORT)
#endif
#ifdef ENOTSUP
#if ENOTSUP != EOPNOTSUPP
    E(ENOTSUP)
#endif
#endif
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    E(EWOULDBLOCK)
#endif
#undef E
    default: return nullptr;
  }
}

void ThrowErrno(Napi::Env env, int err, const char* syscall) {
  const char* msg = std::strerror(err);
  std::string text = "[Errno " + std::to_string(err) + "] " + msg;
  Napi::Error e = Napi::Error::New(env, text);
  Napi::Object o = e.Value();
  o.Set("errno", Napi::Number::New(env, err));
  const char* code = ErrnoCode(err);
  o.Set("code", code ? Napi::String::New(env, code) : Napi::String::New(env, "E" + std::to_string(err)));
  o.Set("syscall", Napi::String::New(env, syscall));
  o.Set("strerror", Napi::String::New(env, msg));
  throw e;
}

void ThrowTypeError(Napi::Env env, const char* msg) {
  throw Napi::TypeError::New(env, msg);
}

void ThrowValueError(Napi::Env env, const char* msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("pyType", Napi::String::New(env, "ValueError"));
  throw e;
}

void ThrowOverflowError(Napi::Env env, const char* msg) {
  Napi::Error e = Napi::RangeError::New(env, msg);
  e.Value().Set("pyType", Napi::String::New(env, "OverflowError"));
  throw e;
}

}  // namespace iomux
