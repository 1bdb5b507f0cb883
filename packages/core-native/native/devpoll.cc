// /dev/poll (IOMUX_HAVE_DEVPOLL): the real device on illumos and Solaris,
// the emulation of devpoll-linux.h on Linux, through one code path. Only the
// few lines under IOMUX_DEVPOLL_EMULATION differ; no machine here compiles
// the other side, so keep it small.
//
// devpoll_open() -> fd                   close-on-exec
// devpoll_write(dpfd, pollfds, n)        n struct pollfd records ([fd, events]
//                                        int32 pairs), POLLREMOVE removes
// devpoll_poll(dpfd, out, nfds, timeoutMs) -> n
//   ioctl(DP_POLL): ready [fd, revents] pairs into out (at most nfds, and at
//   most what out holds), as the poll binding writes them; EINVAL when nfds
//   is above RLIMIT_NOFILE. EINTR is thrown; TypeScript retries (PEP 475).
// devpoll_count() -> n                   (emulation only) devpolls with state
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>

#ifdef IOMUX_DEVPOLL_EMULATION
#include "devpoll-linux.h"
#define IOMUX_POLLREMOVE IOMUX_DP_POLLREMOVE
#else
// illumos / Solaris (never compiled here)
#include <sys/devpoll.h>
#include <sys/ioctl.h>
#define IOMUX_POLLREMOVE POLLREMOVE
#endif

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

static_assert(sizeof(struct pollfd) == 2 * sizeof(int32_t), "struct pollfd must be two int32s");

#ifdef IOMUX_DEVPOLL_EMULATION
int DpOpen() { return iomux_devpoll_open(); }
int DpWrite(int dpfd, const struct pollfd* fds, int n) { return iomux_devpoll_write(dpfd, fds, n); }
int DpPoll(int dpfd, struct pollfd* out, int nfds, int timeout) { return iomux_devpoll_poll(dpfd, out, nfds, timeout); }
#else
int DpOpen() { return ::open("/dev/poll", O_RDWR | O_CLOEXEC); }
int DpWrite(int dpfd, const struct pollfd* fds, int n) {
  size_t size = static_cast<size_t>(n) * sizeof(struct pollfd);
  ssize_t w = ::write(dpfd, fds, size);
  if (w < 0) return -1;
  if (static_cast<size_t>(w) != size) {
    errno = EAGAIN;  // CPython's devpoll_flush treats a short write the same way
    return -1;
  }
  return 0;
}
int DpPoll(int dpfd, struct pollfd* out, int nfds, int timeout) {
  struct dvpoll dp;
  dp.dp_fds = out;
  dp.dp_nfds = nfds;
  dp.dp_timeout = timeout;
  return ::ioctl(dpfd, DP_POLL, &dp);
}
#endif

Napi::Value Open(const Napi::CallbackInfo& info) {
  int fd = DpOpen();
  if (fd < 0) ThrowErrno(info.Env(), errno, "open");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dpfd = FdArg(info, 0);
  Int32Span pfds = Int32ArrayArg(info, 1, "pollfds must be an Int32Array");
  int64_t n = IntArg(info, 2, 0, INT_MAX / static_cast<int>(sizeof(struct pollfd)), "n must be a non-negative integer");
  // SAFETY: n records of two int32s must lie inside the array.
  if (static_cast<uint64_t>(n) * 2 > pfds.length) ThrowValueError(env, "n exceeds the pollfd array");
  if (n > 0 && DpWrite(dpfd, reinterpret_cast<const struct pollfd*>(pfds.data), static_cast<int>(n)) < 0) {
    ThrowErrno(env, errno, "write");
  }
  return env.Undefined();
}

Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dpfd = FdArg(info, 0);
  Int32Span out = Int32ArrayArg(info, 1, "out must be an Int32Array");
  int64_t nfds = IntArg(info, 2, 0, INT_MAX / static_cast<int>(sizeof(struct pollfd)), "nfds must be a non-negative integer");
  int timeout = TimeoutMsArg(info, 3);
  // nfds is CPython's max_n_fds (RLIMIT_NOFILE at creation): once the limit
  // is below it, DP_POLL fails, as Solaris refuses it (the same on every
  // platform, and in the emulation, which has no such limit of its own).
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && static_cast<rlim_t>(nfds) > rl.rlim_cur) {
    ThrowErrno(env, EINVAL, "ioctl");
  }
  // SAFETY: the device writes at most what out holds.
  int64_t room = static_cast<int64_t>(out.length / 2);
  int ask = static_cast<int>(nfds < room ? nfds : room);
  auto* fds = reinterpret_cast<struct pollfd*>(out.data);
  int n = DpPoll(dpfd, fds, ask, timeout);
  if (n < 0) ThrowErrno(env, errno, "ioctl");
  // In place: [fd, events | revents << 16] becomes [fd, revents].
  for (int i = 0; i < n; i++) out.data[2 * i + 1] = static_cast<uint16_t>(fds[i].revents);
  return Napi::Number::New(env, n);
}

#ifdef IOMUX_DEVPOLL_EMULATION
Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), iomux_devpoll_count()); }
#endif

}  // namespace

void InitDevpoll(Napi::Env env, Napi::Object exports) {
  exports.Set("devpoll_open", Napi::Function::New(env, Open, "devpoll_open"));
  exports.Set("devpoll_write", Napi::Function::New(env, Write, "devpoll_write"));
  exports.Set("devpoll_poll", Napi::Function::New(env, Poll, "devpoll_poll"));
#ifdef IOMUX_DEVPOLL_EMULATION
  exports.Set("devpoll_count", Napi::Function::New(env, Count, "devpoll_count"));
#endif
}

}  // namespace iomux
