// select(2): POSIX, every platform. man 2 select.
//
// select(r, w, x, timeoutUs) -> nready
//   r, w, x: Int32Array of descriptors; timeoutUs: microseconds, -1 blocks.
//   On return every entry that is not ready is overwritten with -1, so the
//   caller maps the survivors back to its own objects. EINTR is thrown as an
//   OSError; the TypeScript layer retries with the remaining time (PEP 475).
#include <sys/select.h>

#include <cerrno>
#include <cstdint>

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

// Fills `set` from `fds`; returns the highest descriptor, or -1.
int FillSet(Napi::Env env, Int32Span fds, fd_set* set) {
  FD_ZERO(set);
  int maxfd = -1;
  for (size_t i = 0; i < fds.length; i++) {
    int fd = fds.data[i];
    // SAFETY: FD_SET on a descriptor outside [0, FD_SETSIZE) writes out of
    // bounds, so this check must stay here even though TypeScript checks too.
    if (fd < 0 || fd >= FD_SETSIZE) ThrowValueError(env, "filedescriptor out of range in select()");
    FD_SET(fd, set);
    if (fd > maxfd) maxfd = fd;
  }
  return maxfd;
}

void Harvest(Int32Span fds, fd_set* set) {
  for (size_t i = 0; i < fds.length; i++) {
    if (!FD_ISSET(fds.data[i], set)) fds.data[i] = -1;
  }
}

Napi::Value Select(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Int32Span r = Int32ArrayArg(info, 0, "rlist must be an Int32Array");
  Int32Span w = Int32ArrayArg(info, 1, "wlist must be an Int32Array");
  Int32Span x = Int32ArrayArg(info, 2, "xlist must be an Int32Array");
  int64_t us = IntArg(info, 3, -1, INT64_C(9007199254740991), "timeout must be an integer number of microseconds");
  fd_set rs, ws, xs;
  int maxfd = FillSet(env, r, &rs);
  int m = FillSet(env, w, &ws);
  if (m > maxfd) maxfd = m;
  m = FillSet(env, x, &xs);
  if (m > maxfd) maxfd = m;
  struct timeval tv;
  struct timeval* tvp = nullptr;
  if (us >= 0) {
    tv.tv_sec = static_cast<time_t>(us / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
    tvp = &tv;
  }
  int n = ::select(maxfd + 1, &rs, &ws, &xs, tvp);
  if (n < 0) ThrowErrno(env, errno, "select");
  if (n == 0) {
    for (Int32Span s : {r, w, x}) {
      for (size_t i = 0; i < s.length; i++) s.data[i] = -1;
    }
  } else {
    Harvest(r, &rs);
    Harvest(w, &ws);
    Harvest(x, &xs);
  }
  return Napi::Number::New(env, n);
}

}  // namespace

void InitSelect(Napi::Env env, Napi::Object exports) {
  exports.Set("select", Napi::Function::New(env, Select, "select"));
}

}  // namespace iomux
