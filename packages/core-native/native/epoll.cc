// epoll(7): Linux only (IOMUX_HAVE_EPOLL). man 2 epoll_create1, epoll_ctl,
// epoll_wait.
//
// epoll_create1(flags) -> fd             EPOLL_CLOEXEC is always added.
// epoll_ctl(epfd, op, fd, events)        data.fd = fd; events is a uint32.
// epoll_wait(epfd, out, maxevents, timeoutMs) -> n
//   out: Int32Array receiving [fd, events] pairs (events as int32: the caller
//   reads it with >>> 0). EINTR is thrown; TypeScript retries (PEP 475).
#include <sys/epoll.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <new>

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

// Large enough for any sane maxevents without touching the heap per call.
constexpr int kStackEvents = 256;

Napi::Value Create1(const Napi::CallbackInfo& info) {
  int flags = static_cast<int>(IntArg(info, 0, INT_MIN, INT_MAX, "flags must be an integer"));
  int fd = ::epoll_create1(flags | EPOLL_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), errno, "epoll_create1");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Ctl(const Napi::CallbackInfo& info) {
  int epfd = FdArg(info, 0);
  int op = static_cast<int>(IntArg(info, 1, INT_MIN, INT_MAX, "op must be an integer"));
  int fd = FdArg(info, 2);
  uint32_t events = static_cast<uint32_t>(IntArg(info, 3, 0, UINT32_MAX, "events must be a 32-bit unsigned integer"));
  struct epoll_event ev;
  ev.events = events;
  ev.data.u64 = 0;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd, op, fd, &ev) < 0) ThrowErrno(info.Env(), errno, "epoll_ctl");
  return info.Env().Undefined();
}

Napi::Value Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int epfd = FdArg(info, 0);
  Int32Span out = Int32ArrayArg(info, 1, "out must be an Int32Array");
  int64_t maxevents = IntArg(info, 2, 1, INT_MAX / static_cast<int>(sizeof(struct epoll_event)), "maxevents must be a positive integer");
  int timeout = TimeoutMsArg(info, 3);
  // SAFETY: every event the kernel may return needs two int32 slots in out.
  if (static_cast<uint64_t>(maxevents) * 2 > out.length) ThrowValueError(env, "maxevents exceeds the output array");
  struct epoll_event stack_events[kStackEvents];
  struct epoll_event* events = stack_events;
  struct epoll_event* heap = nullptr;
  if (maxevents > kStackEvents) {
    heap = new (std::nothrow) struct epoll_event[maxevents];
    if (heap == nullptr) ThrowErrno(env, ENOMEM, "epoll_wait");
    events = heap;
  }
  int n = ::epoll_wait(epfd, events, static_cast<int>(maxevents), timeout);
  int err = errno;
  if (n > 0) {
    // SAFETY: n <= maxevents and out holds 2 * maxevents int32s, checked above.
    for (int i = 0; i < n; i++) {
      out.data[2 * i] = events[i].data.fd;
      out.data[2 * i + 1] = static_cast<int32_t>(events[i].events);
    }
  }
  delete[] heap;
  if (n < 0) ThrowErrno(env, err, "epoll_wait");
  return Napi::Number::New(env, n);
}

}  // namespace

void InitEpoll(Napi::Env env, Napi::Object exports) {
  exports.Set("epoll_create1", Napi::Function::New(env, Create1, "epoll_create1"));
  exports.Set("epoll_ctl", Napi::Function::New(env, Ctl, "epoll_ctl"));
  exports.Set("epoll_wait", Napi::Function::New(env, Wait, "epoll_wait"));
}

}  // namespace iomux
