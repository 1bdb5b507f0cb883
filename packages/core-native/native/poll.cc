// poll(2): POSIX, every platform. man 2 poll.
//
// poll(pollfds, nfds, timeoutMs, out) -> nready
//   pollfds: Int32Array laid out as struct pollfd (two int32 per entry: fd,
//   then events in the low 16 bits and revents in the high 16 bits on a
//   little-endian machine); the TypeScript poll object keeps it up to date
//   incrementally, so no per-call marshalling happens. out: Int32Array that
//   receives [fd, revents] pairs for the ready entries. Returns how many
//   pairs were written. EINTR is thrown; TypeScript retries (PEP 475).
#include <poll.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

static_assert(sizeof(struct pollfd) == 2 * sizeof(int32_t), "struct pollfd must be two int32s");

Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Int32Span pfds = Int32ArrayArg(info, 0, "pollfds must be an Int32Array");
  int64_t nfds = IntArg(info, 1, 0, INT_MAX, "nfds must be a non-negative integer");
  int timeout = TimeoutMsArg(info, 2);
  Int32Span out = Int32ArrayArg(info, 3, "out must be an Int32Array");
  // SAFETY: nfds entries of 8 bytes must fit in the array before the kernel
  // reads and writes them.
  if (static_cast<uint64_t>(nfds) * 2 > pfds.length) ThrowValueError(env, "nfds exceeds the pollfd array");
  struct pollfd* fds = reinterpret_cast<struct pollfd*>(pfds.data);
  int n = ::poll(fds, static_cast<nfds_t>(nfds), timeout);
  if (n < 0) ThrowErrno(env, errno, "poll");
  size_t cap = out.length / 2;
  size_t written = 0;
  for (int64_t i = 0; i < nfds && written < static_cast<size_t>(n) && written < cap; i++) {
    if (fds[i].revents != 0) {
      out.data[2 * written] = fds[i].fd;
      out.data[2 * written + 1] = static_cast<uint16_t>(fds[i].revents);
      written++;
    }
  }
  return Napi::Number::New(env, static_cast<double>(written));
}

}  // namespace

void InitPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("poll", Napi::Function::New(env, Poll, "poll"));
}

}  // namespace iomux
