// Descriptor passing: sendmsg(2)/recvmsg(2) with SCM_RIGHTS (unix(7),
// cmsg(3)). POSIX; MSG_CMSG_CLOEXEC and MSG_NOSIGNAL on Linux,
// fcntl(FD_CLOEXEC) after recvmsg elsewhere. Addresses cross as in dgram.cc
// (dgram.h).
//
// Descriptors received are close-on-exec (PEP 446). recvmsg_fds asks for at
// most maxfds descriptors (msg_controllen is CMSG_LEN(maxfds * sizeof(int)),
// as CPython's socket.recv_fds asks); the kernel drops what does not fit and
// says MSG_CTRUNC. Every descriptor that did arrive is handed to JS, or
// closed here if handing it over fails: none leaks.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "args.h"
#include "backend.h"
#include "batch.h"
#include "dgram.h"
#include "errno.h"
#include "fastcall.h"

namespace iomux {
namespace {

using namespace dgram;

// Descriptors per sendmsg: far above the kernel's own limit (SCM_MAX_FD, 253
// on Linux), low enough that the control buffer's size cannot overflow.
constexpr int64_t kMaxFds = 65536;
// Buffers per sendmsg: IOV_MAX is 1024 on Linux and the BSDs.
#ifdef IOV_MAX
constexpr uint32_t kMaxIov = IOV_MAX;
#else
constexpr uint32_t kMaxIov = 1024;
#endif

// sendmsg_fds(fd, buffers, fds, flags, family, host, port) -> bytes sent.
// `buffers` is an array of views (at most IOV_MAX), `fds` an Int32Array; no
// descriptors means no control message at all.
napi_value SendMsgFds(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) ThrowTypeError(env, "buffers must be an array of Buffers or TypedArrays");
  uint32_t nbuf = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_array_length(env, argv[1], &nbuf), nullptr);
  if (nbuf > kMaxIov) ThrowErrno(env, EMSGSIZE, "sendmsg");
  std::vector<struct iovec> iov(nbuf);
  for (uint32_t i = 0; i < nbuf; i++) {
    napi_value item;
    NAPI_THROW_IF_FAILED(env, napi_get_element(env, argv[1], i, &item), nullptr);
    ByteSpan b = BytesValue(env, item, "buffers must be an array of Buffers or TypedArrays");
    iov[i].iov_base = b.data;
    iov[i].iov_len = b.length;
  }
  napi_typedarray_type type;
  size_t nfds = 0;
  void* fdata = nullptr;
  if (napi_get_typedarray_info(env, argv[2], &type, &nfds, &fdata, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    ThrowTypeError(env, "fds must be an Int32Array");
  }
  if (fdata == nullptr) nfds = 0;  // detached
  if (static_cast<int64_t>(nfds) > kMaxFds) ThrowErrno(env, EINVAL, "sendmsg");
  int flags = static_cast<int>(IntValue(env, argv[3], INT_MIN, INT_MAX, "flags must be an integer"));
  Addr a = AddrValues(env, argv[4], argv[5], argv[6], "sendmsg");
  // SAFETY: nfds <= kMaxFds, so the size below cannot overflow.
  size_t payload = nfds * sizeof(int);
  std::vector<char> control(nfds > 0 ? CMSG_SPACE(payload) : 0);
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = a.len ? &a.ss : nullptr;
  msg.msg_namelen = a.len;
  msg.msg_iov = iov.empty() ? nullptr : iov.data();
  msg.msg_iovlen = iov.size();
  if (nfds > 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(payload);
    // SAFETY: control holds CMSG_SPACE(payload) bytes; fdata holds nfds ints.
    std::memcpy(CMSG_DATA(c), fdata, payload);
  }
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, flags | kSendFlags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "sendmsg");
  return CountValue(env, n);
}

void CloseAll(const std::vector<int>& fds) {
  for (int f : fds) ::close(f);
}

// recvmsg_fds(fd, buf, offset, length, maxfds, flags)
//   -> [n, msg_flags, fds (array), family, host, port].
napi_value RecvMsgFds(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "buffer must be a Buffer or TypedArray"), argv[2], argv[3]);
  int64_t maxfds = IntValue(env, argv[4], 0, kMaxFds, "maxfds must be 0-65536");
  int flags = static_cast<int>(IntValue(env, argv[5], INT_MIN, INT_MAX, "flags must be an integer"));
  int asked = flags;
  (void)asked;
#ifdef MSG_CMSG_CLOEXEC
  flags |= MSG_CMSG_CLOEXEC;
#endif
  size_t payload = static_cast<size_t>(maxfds) * sizeof(int);
  // Aligned room for one header and maxfds ints; the kernel is told
  // CMSG_LEN, so it installs no more than maxfds.
  std::vector<char> control(CMSG_SPACE(payload));
  Addr a;
  std::memset(&a, 0, sizeof a);
  struct iovec iov;
  iov.iov_base = win.data;
  iov.iov_len = win.length;
  struct msghdr msg;
  ssize_t n;
  do {
    std::memset(&msg, 0, sizeof msg);
    msg.msg_name = &a.ss;
    msg.msg_namelen = sizeof a.ss;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = maxfds > 0 ? control.data() : nullptr;
    msg.msg_controllen = maxfds > 0 ? CMSG_LEN(payload) : 0;
    n = ::recvmsg(fd, &msg, flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "recvmsg");
  std::vector<int> got;
  if (msg.msg_controllen > 0) {
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
      // SAFETY: the kernel wrote cmsg_len bytes of this header, inside
      // msg_controllen (CMSG_NXTHDR checks); a partial int is not read.
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char* p = CMSG_DATA(c);
      for (size_t j = 0; j < k; j++) {
        int v;
        std::memcpy(&v, p + j * sizeof(int), sizeof v);
        got.push_back(v);
      }
    }
  }
  try {
#ifndef MSG_CMSG_CLOEXEC
    for (int f : got) {
      int fl = ::fcntl(f, F_GETFD);
      if (fl < 0 || ::fcntl(f, F_SETFD, fl | FD_CLOEXEC) < 0) ThrowErrno(env, errno, "fcntl");
    }
#endif
    napi_value fdarr = NewArray(env, got.size());
    for (size_t j = 0; j < got.size(); j++) SetAt(env, fdarr, static_cast<uint32_t>(j), Num(env, got[j]));
    napi_value out = NewArray(env, 6);
    SetAt(env, out, 0, CountValue(env, n));
    int msg_flags = msg.msg_flags;
#ifdef MSG_CMSG_CLOEXEC
    // Linux echoes the flag back: report it only when the caller asked for it.
    if (!(asked & MSG_CMSG_CLOEXEC)) msg_flags &= ~MSG_CMSG_CLOEXEC;
#endif
    SetAt(env, out, 1, Num(env, msg_flags));
    SetAt(env, out, 2, fdarr);
    AddrInto(env, out, 3, &a.ss, msg.msg_namelen);
    return out;
  } catch (...) {
    // Nothing in JS owns them yet.
    CloseAll(got);
    throw;
  }
}

}  // namespace

void InitDgramFds(Napi::Env env, Napi::Object exports) {
  exports.Set("sendmsg_fds", FunctionN<7, SendMsgFds>(env, "sendmsg_fds"));
  exports.Set("recvmsg_fds", FunctionN<6, RecvMsgFds>(env, "recvmsg_fds"));
}

}  // namespace iomux
