// sendfile(2): copies from a file to a descriptor inside the kernel, with no
// copy through user memory (Linux: sendfile(2), any out_fd since 2.6.33;
// macOS and FreeBSD: sendfile(2), out_fd a stream socket), and lseek(2),
// which asyncio's sendfile uses to leave the file position after what was
// sent. Python's os.sendfile and os.lseek; the TypeScript in
// src/os-sendfile.ts gives Python's argument errors first, and every value
// is checked again here before it reaches the kernel.
#include <sys/types.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/sendfile.h>
#elif defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#include <cerrno>
#include <cmath>
#include <cstdint>

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

constexpr int64_t kOffMax = INT64_MAX;

// An off_t or size argument: an integral double in [-(2**63), 2**63).
int64_t Int64Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return IntArg(info, i, INT64_MIN, INT64_MAX, what);
}

// sendfile(out_fd, in_fd, offset | null, count) -> bytes sent (0 at end of
// file). A null offset reads from in_fd's own position (Linux only) and
// advances it; a number leaves it as it was.
Napi::Value Sendfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int out_fd = FdArg(info, 0);
  int in_fd = FdArg(info, 1);
  bool use_pos = info.Length() > 2 && info[2].IsNull();
  int64_t offset = use_pos ? 0 : Int64Arg(info, 2, "offset must be an integer or null");
  int64_t count = Int64Arg(info, 3, "count must be an integer");
  // What the kernel says of a negative offset or count, and of a range past
  // the largest off_t: decided here, so no value the kernel would wrap
  // (count is a size_t) ever reaches it.
  if (offset < 0 || count < 0 || offset > kOffMax - count) ThrowErrno(env, EINVAL, "sendfile");
#if defined(__linux__)
  off_t off = static_cast<off_t>(offset);
  ssize_t n;
  do {
    n = ::sendfile(out_fd, in_fd, use_pos ? nullptr : &off, static_cast<size_t>(count));
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "sendfile");
  return Napi::Number::New(env, static_cast<double>(n));
#elif defined(__APPLE__) || defined(__FreeBSD__)
  if (use_pos) ThrowTypeError(env, "offset must be an integer on this platform");
  off_t sent = 0;
  int r;
  do {
#if defined(__APPLE__)
    sent = static_cast<off_t>(count);
    r = ::sendfile(in_fd, out_fd, static_cast<off_t>(offset), &sent, nullptr, 0);
#else
    r = ::sendfile(in_fd, out_fd, static_cast<off_t>(offset), static_cast<size_t>(count), nullptr, &sent, 0);
#endif
    // Bytes sent before EAGAIN or EINTR count, as CPython returns them.
    if (r < 0 && (errno == EAGAIN || errno == EINTR) && sent > 0) r = 0;
  } while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, errno, "sendfile");
  return Napi::Number::New(env, static_cast<double>(sent));
#else
  ThrowErrno(env, ENOSYS, "sendfile");
#endif
}

// lseek(fd, pos, how) -> the new position.
Napi::Value Lseek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int64_t pos = Int64Arg(info, 1, "position must be an integer");
  int how = static_cast<int>(IntArg(info, 2, INT32_MIN, INT32_MAX, "how must be an integer"));
  off_t r = ::lseek(fd, static_cast<off_t>(pos), how);
  if (r < 0) ThrowErrno(env, errno, "lseek");
  return Napi::Number::New(env, static_cast<double>(r));
}

}  // namespace

void InitSendfile(Napi::Env env, Napi::Object exports) {
  exports.Set("sendfile", Napi::Function::New(env, Sendfile, "sendfile"));
  exports.Set("lseek", Napi::Function::New(env, Lseek, "lseek"));
  exports.Set("SEEK_SET", Napi::Number::New(env, SEEK_SET));
  exports.Set("SEEK_CUR", Napi::Number::New(env, SEEK_CUR));
  exports.Set("SEEK_END", Napi::Number::New(env, SEEK_END));
}

}  // namespace iomux
