// Benchmark-only helpers: the same syscalls the JS layers make, looped in C,
// so `npm run bench` can report iomux's cost as a ratio to plain C measured in
// the same run. A separate addon (bench/addon/binding.gyp, iomux_bench.node,
// loaded by bench/src/bench-addon.ts), so the shipped iomux.node has none of it.
//
// Each helper validates every argument up front (the same backstop rules as
// the real syscall layer: no value reaches a syscall or an array index
// unchecked), then runs `iters` iterations between two
// clock_gettime(CLOCK_MONOTONIC) reads and returns the elapsed nanoseconds
// as a Number. A failing syscall throws an OSError-shaped error (ThrowErrno).
//
//   bench_noop(a, b, c, d) -> 0
//       an empty N-API call with four arguments: the bare JS -> C++ crossing,
//       for the overhead breakdown.
//   bench_arg_int32array(a) -> a.length
//       only args.h's checked Int32Array conversion, for the breakdown.
//   bench_arg_int32array_capi(a) -> a.length
//       the same check with a single napi_get_typedarray_info call.
//   bench_epoll_wait(epfd, maxevents, iters) -> ns            (Linux)
//       epoll_wait(epfd, events, maxevents, 0) in a loop, events on the heap
//       once (a C program's reused buffer).
//   bench_epoll_wait_once(epfd, maxevents) -> n                (Linux)
//       ONE epoll_wait(epfd, events, maxevents <= 1024, 0) on a stack buffer,
//       returning the ready count: the cheapest possible binding call, for
//       the overhead breakdown (called from a JS loop).
//   bench_epoll_ctl(epfd, fds, iters) -> ns                    (Linux)
//       per iteration: EPOLL_CTL_ADD (EPOLLIN) every fd in `fds`, then
//       EPOLL_CTL_DEL every fd: one register + unregister per descriptor.
//   bench_poll(pollfds, nfds, iters) -> ns
//       poll(pollfds, nfds, 0) in a loop plus the scan a caller needs to find
//       the ready entries (stops once it has seen all `n` of them).
//   bench_select(fds, iters) -> ns
//       per iteration: FD_ZERO, FD_SET every fd of `fds` into a read set,
//       select(maxfd + 1, &rs, NULL, NULL, {0, 0}), then FD_ISSET every fd,
//       as a real select() loop must (select overwrites its sets).
//   bench_last_result() -> number
//       the syscall result of the last iteration of the last helper run (the
//       ready count, for checking that the scenario is what it claims).
#include <poll.h>
#include <sys/select.h>
#include <time.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <new>

// By path, not -I: core-native's errno.h would shadow the system <errno.h>.
#include "../../packages/core-native/native/args.h"
#include "../../packages/core-native/native/errno.h"

#ifdef IOMUX_HAVE_EPOLL
#include <sys/epoll.h>
#endif

namespace iomux {
namespace {

// Large enough for ~minutes of the slowest loop; small enough that a typo
// cannot hang the process for hours.
constexpr int64_t kMaxIters = INT64_C(1000000000);

// Per thread: each worker_threads Worker has its own addon instance and thread.
thread_local int g_last_result = 0;

inline int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * INT64_C(1000000000) + ts.tv_nsec;
}

int64_t ItersArg(const Napi::CallbackInfo& info, size_t i) {
  return IntArg(info, i, 0, kMaxIters, "iters must be an integer in [0, 1e9]");
}

Napi::Value Noop(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), 0);
}

// Only the checked Int32Array conversion every array-taking binding does
// (args.h Int32ArrayArg), for the overhead breakdown.
Napi::Value ArgInt32Array(const Napi::CallbackInfo& info) {
  Int32Span a = Int32ArrayArg(info, 0, "argument must be an Int32Array");
  return Napi::Number::New(info.Env(), static_cast<double>(a.length));
}

// The same check done with one napi_get_typedarray_info call (the C API),
// to show what Int32ArrayArg's four wrapper calls cost.
Napi::Value ArgInt32ArrayCapi(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  if (info.Length() < 1) ThrowTypeError(info.Env(), "argument must be an Int32Array");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    // napi_get_typedarray_info fails with napi_invalid_arg (no pending
    // exception) when the value is not a TypedArray.
    ThrowTypeError(info.Env(), "argument must be an Int32Array");
  }
  return Napi::Number::New(env, static_cast<double>(length));
}

Napi::Value LastResult(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), g_last_result);
}

Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Int32Span pfds = Int32ArrayArg(info, 0, "pollfds must be an Int32Array");
  int64_t nfds = IntArg(info, 1, 0, INT_MAX, "nfds must be a non-negative integer");
  int64_t iters = ItersArg(info, 2);
  // SAFETY: the kernel reads and writes nfds 8-byte entries of the array.
  if (static_cast<uint64_t>(nfds) * 2 > pfds.length) ThrowValueError(env, "nfds exceeds the pollfd array");
  struct pollfd* fds = reinterpret_cast<struct pollfd*>(pfds.data);
  int last = 0;
  int64_t sink = 0;
  int64_t t0 = NowNs();
  for (int64_t it = 0; it < iters; it++) {
    int n = ::poll(fds, static_cast<nfds_t>(nfds), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(env, errno, "poll");
    }
    int seen = 0;
    for (int64_t i = 0; i < nfds && seen < n; i++) {
      if (fds[i].revents != 0) {
        sink += fds[i].fd;
        seen++;
      }
    }
    last = n;
  }
  int64_t t1 = NowNs();
  g_last_result = last;
  (void)sink;
  return Napi::Number::New(env, static_cast<double>(t1 - t0));
}

Napi::Value Select(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Int32Span fds = Int32ArrayArg(info, 0, "fds must be an Int32Array");
  int64_t iters = ItersArg(info, 1);
  int maxfd = -1;
  for (size_t i = 0; i < fds.length; i++) {
    int fd = fds.data[i];
    // SAFETY: FD_SET/FD_ISSET outside [0, FD_SETSIZE) is out of bounds.
    if (fd < 0 || fd >= FD_SETSIZE) ThrowValueError(env, "filedescriptor out of range in select()");
    if (fd > maxfd) maxfd = fd;
  }
  // Copy the descriptors: the loop below must not re-read JS memory that a
  // (hypothetical) concurrent writer could change after validation.
  int* list = new (std::nothrow) int[fds.length == 0 ? 1 : fds.length];
  if (list == nullptr) ThrowErrno(env, ENOMEM, "select");
  for (size_t i = 0; i < fds.length; i++) list[i] = fds.data[i];
  size_t count = fds.length;
  int last = 0;
  int64_t sink = 0;
  int err = 0;
  int64_t t0 = NowNs();
  for (int64_t it = 0; it < iters; it++) {
    fd_set rs;
    FD_ZERO(&rs);
    for (size_t i = 0; i < count; i++) FD_SET(list[i], &rs);
    struct timeval tv = {0, 0};
    int n = ::select(maxfd + 1, &rs, nullptr, nullptr, &tv);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    for (size_t i = 0; i < count; i++) {
      if (FD_ISSET(list[i], &rs)) sink += list[i];
    }
    last = n;
  }
  int64_t t1 = NowNs();
  delete[] list;
  if (err != 0) ThrowErrno(env, err, "select");
  g_last_result = last;
  (void)sink;
  return Napi::Number::New(env, static_cast<double>(t1 - t0));
}

#ifdef IOMUX_HAVE_EPOLL

Napi::Value EpollWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int epfd = FdArg(info, 0);
  int64_t maxevents = IntArg(info, 1, 1, 1 << 20, "maxevents must be an integer in [1, 2**20]");
  int64_t iters = ItersArg(info, 2);
  struct epoll_event* events = new (std::nothrow) struct epoll_event[maxevents];
  if (events == nullptr) ThrowErrno(env, ENOMEM, "epoll_wait");
  int last = 0;
  int err = 0;
  int64_t sink = 0;
  int64_t t0 = NowNs();
  for (int64_t it = 0; it < iters; it++) {
    int n = ::epoll_wait(epfd, events, static_cast<int>(maxevents), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    // SAFETY: 0 <= n <= maxevents, the size of `events`.
    for (int i = 0; i < n; i++) sink += events[i].data.fd;
    last = n;
  }
  int64_t t1 = NowNs();
  delete[] events;
  if (err != 0) ThrowErrno(env, err, "epoll_wait");
  g_last_result = last;
  (void)sink;
  return Napi::Number::New(env, static_cast<double>(t1 - t0));
}

// The least a binding can do per call: two checked integer arguments, a
// stack buffer, one epoll_wait, a Number back. Called from a JS loop it is the
// floor for any N-API epoll_wait wrapper.
Napi::Value EpollWaitOnce(const Napi::CallbackInfo& info) {
  constexpr int kMax = 1024;
  int epfd = FdArg(info, 0);
  int maxevents = static_cast<int>(IntArg(info, 1, 1, kMax, "maxevents must be an integer in [1, 1024]"));
  struct epoll_event events[kMax];
  int n = ::epoll_wait(epfd, events, maxevents, 0);
  if (n < 0) ThrowErrno(info.Env(), errno, "epoll_wait");
  g_last_result = n;
  return Napi::Number::New(info.Env(), n);
}

Napi::Value EpollCtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int epfd = FdArg(info, 0);
  Int32Span fds = Int32ArrayArg(info, 1, "fds must be an Int32Array");
  int64_t iters = ItersArg(info, 2);
  for (size_t i = 0; i < fds.length; i++) {
    if (fds.data[i] < 0) ThrowValueError(env, "file descriptor cannot be a negative integer");
  }
  int* list = new (std::nothrow) int[fds.length == 0 ? 1 : fds.length];
  if (list == nullptr) ThrowErrno(env, ENOMEM, "epoll_ctl");
  for (size_t i = 0; i < fds.length; i++) list[i] = fds.data[i];
  size_t count = fds.length;
  int err = 0;
  int64_t t0 = NowNs();
  for (int64_t it = 0; it < iters && err == 0; it++) {
    size_t added = 0;
    for (; added < count; added++) {
      struct epoll_event ev;
      ev.events = EPOLLIN;
      ev.data.u64 = 0;
      ev.data.fd = list[added];
      if (::epoll_ctl(epfd, EPOLL_CTL_ADD, list[added], &ev) < 0) {
        err = errno;
        break;
      }
    }
    // Unregister whatever was added, even after a failure, so the epoll set
    // is left as it was found.
    for (size_t i = 0; i < added; i++) {
      struct epoll_event ev = {};
      if (::epoll_ctl(epfd, EPOLL_CTL_DEL, list[i], &ev) < 0 && err == 0) err = errno;
    }
  }
  int64_t t1 = NowNs();
  delete[] list;
  if (err != 0) ThrowErrno(env, err, "epoll_ctl");
  g_last_result = 0;
  return Napi::Number::New(env, static_cast<double>(t1 - t0));
}

#endif  // IOMUX_HAVE_EPOLL

}  // namespace

Napi::Object InitBench(Napi::Env env, Napi::Object exports) {
  exports.Set("bench_noop", Napi::Function::New(env, Noop, "bench_noop"));
  exports.Set("bench_arg_int32array", Napi::Function::New(env, ArgInt32Array, "bench_arg_int32array"));
  exports.Set("bench_arg_int32array_capi", Napi::Function::New(env, ArgInt32ArrayCapi, "bench_arg_int32array_capi"));
  exports.Set("bench_last_result", Napi::Function::New(env, LastResult, "bench_last_result"));
  exports.Set("bench_poll", Napi::Function::New(env, Poll, "bench_poll"));
  exports.Set("bench_select", Napi::Function::New(env, Select, "bench_select"));
#ifdef IOMUX_HAVE_EPOLL
  exports.Set("bench_epoll_wait", Napi::Function::New(env, EpollWait, "bench_epoll_wait"));
  exports.Set("bench_epoll_wait_once", Napi::Function::New(env, EpollWaitOnce, "bench_epoll_wait_once"));
  exports.Set("bench_epoll_ctl", Napi::Function::New(env, EpollCtl, "bench_epoll_ctl"));
#endif
  return exports;
}

}  // namespace iomux

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return iomux::InitBench(env, exports);
}

NODE_API_MODULE(iomux_bench, InitAddon)
