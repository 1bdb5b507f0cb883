// Python's os descriptor primitives: pipe(2), read(2), write(2), close(2),
// dup(2), fcntl(2) for FD_CLOEXEC and O_NONBLOCK. POSIX, every platform.
// New descriptors are close-on-exec (non-inheritable), as in Python 3.4+.
// Calls that cannot time out retry EINTR here (PEP 475).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "args.h"
#include "backend.h"
#include "errno.h"
#include "fastcall.h"

namespace iomux {
namespace {

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
#if defined(__linux__)
  if (::pipe2(fds, O_CLOEXEC) < 0) ThrowErrno(env, errno, "pipe");
#else
  if (::pipe(fds) < 0) ThrowErrno(env, errno, "pipe");
  for (int fd : fds) {
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
      int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      ThrowErrno(env, err, "fcntl");
    }
  }
#endif
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// read(fd, buffer, offset, length) -> bytes read into buffer[offset...].
napi_value Read(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "buffer must be a Buffer or TypedArray"), argv[2], argv[3]);
  ssize_t n;
  do {
    // SAFETY: win lies inside the view, checked by WindowValue.
    n = ::read(fd, win.data, win.length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "read");
  return CountValue(env, n);
}

// write(fd, buffer, offset, length) -> bytes written.
napi_value Write(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "data must be a Buffer or TypedArray"), argv[2], argv[3]);
  ssize_t n;
  do {
    // SAFETY: win lies inside the view, checked by WindowValue.
    n = ::write(fd, win.data, win.length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "write");
  return CountValue(env, n);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  // No EINTR retry: on Linux the descriptor is gone even when close() says
  // EINTR, and retrying could close a descriptor another thread just got.
  if (::close(fd) < 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int nfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (nfd < 0) ThrowErrno(info.Env(), errno, "dup");
  return Napi::Number::New(info.Env(), nfd);
}

Napi::Value GetInheritable(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Boolean::New(info.Env(), (flags & FD_CLOEXEC) == 0);
}

Napi::Value SetInheritable(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  bool inheritable = BoolArg(info, 1, "inheritable must be a boolean");
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) ThrowErrno(info.Env(), errno, "fcntl");
  int nflags = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
  if (nflags != flags && ::fcntl(fd, F_SETFD, nflags) < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return info.Env().Undefined();
}

Napi::Value GetBlocking(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Boolean::New(info.Env(), (flags & O_NONBLOCK) == 0);
}

// set_blocking(fd, blocking): on every setblocking()/settimeout(), so raw.
napi_value SetBlocking(napi_env env, napi_value fdv, napi_value flagv) {
  int fd = FdValue(env, fdv);
  bool blocking;
  if (napi_get_value_bool(env, flagv, &blocking) != napi_ok) ThrowTypeError(env, "blocking must be a boolean");
#if defined(__linux__) && defined(FIONBIO)
  // One syscall, as CPython's _Py_set_blocking and internal_setblocking
  // do; Linux takes FIONBIO on any descriptor.
  int arg = blocking ? 0 : 1;
  if (::ioctl(fd, FIONBIO, &arg) < 0) ThrowErrno(env, errno, "fcntl");
#else
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) ThrowErrno(env, errno, "fcntl");
  int nflags = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
  if (nflags != flags && ::fcntl(fd, F_SETFL, nflags) < 0) ThrowErrno(env, errno, "fcntl");
#endif
  return nullptr;  // undefined
}

Napi::Value Strerror(const Napi::CallbackInfo& info) {
  int err = static_cast<int>(IntArg(info, 0, INT_MIN, INT_MAX, "errno must be an integer"));
  return Napi::String::New(info.Env(), std::strerror(err));
}

// address_mod_4096(view) -> where the view's first byte lies in its 4 KiB
// block (its address modulo 4096; nothing more of the address leaves). The
// loop places its receive buffer by it: copies between addresses that are
// almost equal modulo 4096 (a load right behind a store in the low 12 bits,
// "4K aliasing") run several times slower on x86.
Napi::Value AddressMod4096(const Napi::CallbackInfo& info) {
  ByteSpan b = BytesArg(info, 0, "view must be a Buffer or TypedArray");
  uintptr_t a = reinterpret_cast<uintptr_t>(b.data);
  return Napi::Number::New(info.Env(), static_cast<double>(a & 4095u));
}

}  // namespace

void InitOs(Napi::Env env, Napi::Object exports) {
  exports.Set("strerror", Napi::Function::New(env, Strerror, "strerror"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("read", FunctionN<4, Read>(env, "read"));
  exports.Set("write", FunctionN<4, Write>(env, "write"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("get_inheritable", Napi::Function::New(env, GetInheritable, "get_inheritable"));
  exports.Set("set_inheritable", Napi::Function::New(env, SetInheritable, "set_inheritable"));
  exports.Set("get_blocking", Napi::Function::New(env, GetBlocking, "get_blocking"));
  exports.Set("set_blocking", Function2<SetBlocking>(env, "set_blocking"));
  exports.Set("address_mod_4096", Napi::Function::New(env, AddressMod4096, "address_mod_4096"));
}

}  // namespace iomux
