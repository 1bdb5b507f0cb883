// What socket.cc and batch.cc share: recv()/send() on the per-message paths,
// and batch.cc's exports (send_batch, recv_batch, batch_io, batch_layout).
#pragma once
#include <napi.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#include <unistd.h>

#include <cstddef>

namespace iomux {

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

// recv() and send() on the paths taken for every message (the transports'
// and the loop's batches): on Linux straight through syscall(2), without the
// C library's wrappers, which make each call a thread-cancellation point
// (this addon never cancels threads). Same results and errno.
#if defined(__linux__) && defined(SYS_recvfrom) && defined(SYS_sendto)
inline ssize_t FastRecv(int fd, void* buf, size_t len, int flags) {
  return static_cast<ssize_t>(::syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr));
}
inline ssize_t FastSend(int fd, const void* buf, size_t len, int flags) {
  return static_cast<ssize_t>(::syscall(SYS_sendto, fd, buf, len, flags, nullptr, 0));
}
#else
inline ssize_t FastRecv(int fd, void* buf, size_t len, int flags) { return ::recv(fd, buf, len, flags); }
inline ssize_t FastSend(int fd, const void* buf, size_t len, int flags) { return ::send(fd, buf, len, flags); }
#endif

// Adds send_batch, recv_batch, batch_io and batch_layout to exports.
void InitBatch(Napi::Env env, Napi::Object exports);

}  // namespace iomux
