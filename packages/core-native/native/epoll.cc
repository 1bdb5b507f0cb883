// epoll(7): Linux only (IOMUX_HAVE_EPOLL). man 2 epoll_create1, epoll_ctl,
// epoll_wait.
//
// epoll_create1(flags) -> fd             EPOLL_CLOEXEC is always added.
// epoll_ctl(epfd, op, fd, events)        data.fd = fd; events is a uint32.
// epoll_wait(epfd, out, maxevents, timeoutMs) -> n
//   out: Int32Array that receives struct epoll_event[] as the kernel writes
//   it; epoll_event_layout gives {stride, events, fd} in int32 units (events
//   as int32: the caller reads it with >>> 0). EINTR is thrown; TypeScript
//   retries (PEP 475).
#include <sys/epoll.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

// The caller's Int32Array holds struct epoll_event[] as the kernel writes
// it (no copy): kStride int32s per event, events at kEventsAt, data.fd at
// kFdAt. The layout is exported as epoll_event_layout, since it differs by
// architecture (packed, 12 bytes, on x86-64; 16 bytes elsewhere).
constexpr size_t kStride = sizeof(struct epoll_event) / sizeof(int32_t);
constexpr size_t kEventsAt = offsetof(struct epoll_event, events) / sizeof(int32_t);
constexpr size_t kFdAt = offsetof(struct epoll_event, data) / sizeof(int32_t);
static_assert(sizeof(struct epoll_event) % sizeof(int32_t) == 0, "epoll_event must be whole int32s");
static_assert(offsetof(struct epoll_event, data) % sizeof(int32_t) == 0, "data must be int32-aligned");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "data.fd is read as the low int32 of data");

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
  // SAFETY: the kernel writes up to maxevents whole epoll_events into out,
  // so out must hold that many bytes (checked in int32 units) ...
  if (static_cast<uint64_t>(maxevents) * kStride > out.length) ThrowValueError(env, "maxevents exceeds the output array");
  int n;
  if (reinterpret_cast<uintptr_t>(out.data) % alignof(struct epoll_event) == 0) {
    // ... and be aligned for struct epoll_event (always, for an Int32Array,
    // where the struct is packed).
    n = ::epoll_wait(epfd, reinterpret_cast<struct epoll_event*>(out.data), static_cast<int>(maxevents), timeout);
  } else {
    // Misaligned view (an Int32Array at a byte offset of 4 mod 8 where the
    // struct needs 8): go through an aligned copy.
    // malloc, not new (std::nothrow): that operator needs a GCC 11+
    // libstdc++, which the prebuilds would then require.
    auto* events = static_cast<struct epoll_event*>(std::malloc(static_cast<size_t>(maxevents) * sizeof(struct epoll_event)));
    if (events == nullptr) ThrowErrno(env, ENOMEM, "epoll_wait");
    n = ::epoll_wait(epfd, events, static_cast<int>(maxevents), timeout);
    int saved = errno;
    if (n > 0) std::memcpy(out.data, events, static_cast<size_t>(n) * sizeof(struct epoll_event));
    std::free(events);
    errno = saved;
  }
  if (n < 0) ThrowErrno(env, errno, "epoll_wait");
  return Napi::Number::New(env, n);
}

}  // namespace

void InitEpoll(Napi::Env env, Napi::Object exports) {
  exports.Set("epoll_create1", Napi::Function::New(env, Create1, "epoll_create1"));
  exports.Set("epoll_ctl", Napi::Function::New(env, Ctl, "epoll_ctl"));
  exports.Set("epoll_wait", Napi::Function::New(env, Wait, "epoll_wait"));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("stride", Napi::Number::New(env, static_cast<double>(kStride)));
  layout.Set("events", Napi::Number::New(env, static_cast<double>(kEventsAt)));
  layout.Set("fd", Napi::Number::New(env, static_cast<double>(kFdAt)));
  layout.Freeze();
  exports.Set("epoll_event_layout", layout);
}

}  // namespace iomux
