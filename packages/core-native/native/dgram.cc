// Datagrams: sendto(2), recvfrom(2), recvmmsg(2) and sendmmsg(2) (Linux;
// recvfrom/sendto in a loop elsewhere). POSIX; MSG_NOSIGNAL on Linux.
// Descriptor passing (sendmsg(2)/recvmsg(2) with SCM_RIGHTS) is dgram-fds.cc.
//
// Addresses cross as in socket.cc (sockaddr.h). A received address with no
// bytes (an unnamed AF_UNIX peer) comes back as family AF_UNSPEC.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "backend.h"
#include "batch.h"
#include "dgram.h"
#include "errno.h"
#include "fastcall.h"
#include "sockaddr.h"

namespace iomux {
namespace dgram {

std::string Utf8Value(napi_env env, napi_value v, const char* what) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) ThrowTypeError(env, what);
  std::string s(n, '\0');
  // SAFETY: s has n + 1 bytes of storage (the terminator included).
  if (napi_get_value_string_utf8(env, v, &s[0], n + 1, &n) != napi_ok) ThrowTypeError(env, what);
  s.resize(n);
  return s;
}

std::u16string Utf16Value(napi_env env, napi_value v, const char* what) {
  size_t n = 0;
  if (napi_get_value_string_utf16(env, v, nullptr, 0, &n) != napi_ok) ThrowTypeError(env, what);
  std::u16string s(n, u'\0');
  if (napi_get_value_string_utf16(env, v, &s[0], n + 1, &n) != napi_ok) ThrowTypeError(env, what);
  s.resize(n);
  return s;
}

// A sockaddr from (family, host, port); family AF_UNSPEC means none (len 0).
Addr AddrValues(napi_env env, napi_value famv, napi_value hostv, napi_value portv, const char* syscall) {
  int family = static_cast<int>(IntValue(env, famv, INT_MIN, INT_MAX, "family must be an integer"));
  Addr a;
  std::memset(&a, 0, sizeof a);
  const char* bad = nullptr;
  if (family == AF_UNSPEC) return a;
  if (family == AF_INET || family == AF_INET6) {
    std::string host = Utf8Value(env, hostv, "host must be a string");
    int port = static_cast<int>(IntValue(env, portv, 0, 65535, "port must be 0-65535"));
    bad = EncodeInetAddr(family, host, port, &a);
  } else if (family == AF_UNIX) {
    std::u16string wide = Utf16Value(env, hostv, "path must be a string");
    bad = EncodeUnixAddr(wide, Utf8Value(env, hostv, "path must be a string"), &a);
  } else {
    ThrowErrno(env, EAFNOSUPPORT, syscall);
  }
  if (bad != nullptr) ThrowValueError(env, bad);
  return a;
}

napi_value Num(napi_env env, double d) {
  napi_value v;
  NAPI_THROW_IF_FAILED(env, napi_create_double(env, d, &v), nullptr);
  return v;
}

napi_value Str(napi_env env, const char* s, size_t n) {
  napi_value v;
  NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, s, n, &v), nullptr);
  return v;
}

void SetAt(napi_env env, napi_value arr, uint32_t i, napi_value v) {
  NAPI_THROW_IF_FAILED_VOID(env, napi_set_element(env, arr, i, v));
}

// out[at..at+2] = family, host, port of a sockaddr the kernel filled in
// (len bytes valid; 0 for none). An unnamed AF_UNIX peer is AF_UNSPEC here
// (Python's None).
void AddrInto(napi_env env, napi_value out, uint32_t at, const struct sockaddr_storage* ss, socklen_t len) {
  DecodedAddr d = DecodeAddr(ss, len);
  napi_value host;
  if (d.abstract) {
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_string_utf16(env, d.wide.data(), d.wide.size(), &host));
  } else {
    host = Str(env, d.host.data(), d.host.size());
  }
  SetAt(env, out, at, Num(env, d.unnamed ? AF_UNSPEC : d.family));
  SetAt(env, out, at + 1, host);
  SetAt(env, out, at + 2, Num(env, d.port));
}

napi_value NewArray(napi_env env, size_t n) {
  napi_value v;
  NAPI_THROW_IF_FAILED(env, napi_create_array_with_length(env, n, &v), nullptr);
  return v;
}

}  // namespace dgram

namespace {

using namespace dgram;

// sendto(fd, buf, offset, length, flags, family, host, port) -> bytes sent.
napi_value SendTo(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "data must be a Buffer or TypedArray"), argv[2], argv[3]);
  int flags = static_cast<int>(IntValue(env, argv[4], INT_MIN, INT_MAX, "flags must be an integer"));
  Addr a = AddrValues(env, argv[5], argv[6], argv[7], "sendto");
  ssize_t n;
  do {
    // SAFETY: win lies inside the view (WindowValue); a.len <= sizeof a.ss.
    n = ::sendto(fd, win.data, win.length, flags | kSendFlags,
                 a.len ? reinterpret_cast<struct sockaddr*>(&a.ss) : nullptr, a.len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "sendto");
  return CountValue(env, n);
}

// recvfrom(fd, buf, offset, length, flags) -> [n, family, host, port].
napi_value RecvFrom(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "buffer must be a Buffer or TypedArray"), argv[2], argv[3]);
  int flags = static_cast<int>(IntValue(env, argv[4], INT_MIN, INT_MAX, "flags must be an integer"));
  Addr a;
  std::memset(&a, 0, sizeof a);
  ssize_t n;
  do {
    a.len = sizeof a.ss;
    // SAFETY: win lies inside the view; the kernel writes at most a.len bytes of address.
    n = ::recvfrom(fd, win.data, win.length, flags, reinterpret_cast<struct sockaddr*>(&a.ss), &a.len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "recvfrom");
  napi_value out = NewArray(env, 4);
  SetAt(env, out, 0, CountValue(env, n));
  AddrInto(env, out, 1, &a.ss, a.len);
  return out;
}

// Datagrams per recvmmsg: the kernel's own cap on vlen (UIO_MAXIOV).
constexpr int64_t kMaxMsgs = 1024;

// recvmmsg(fd, buf, offset, length, slot, maxmsgs, flags)
//   -> [k, n0, family0, host0, port0, n1, ...]: up to maxmsgs datagrams,
// datagram i into buf[offset + i * slot, + slot), in one call that never
// waits (MSG_DONTWAIT): EAGAIN only when none is waiting. Without
// recvmmsg(2), recvfrom(2) in a loop up to the first EAGAIN.
napi_value RecvMMsg(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  ByteSpan win = WindowValue(env, BytesValue(env, argv[1], "buffer must be a Buffer or TypedArray"), argv[2], argv[3]);
  int64_t slot = IntValue(env, argv[4], 1, INT32_MAX, "slot must be 1-2147483647");
  int64_t maxmsgs = IntValue(env, argv[5], 1, kMaxMsgs, "maxmsgs must be 1-1024");
  int flags = static_cast<int>(IntValue(env, argv[6], INT_MIN, INT_MAX, "flags must be an integer"));
  // SAFETY: only whole slots inside the window are handed to the kernel.
  int64_t fit = static_cast<int64_t>(win.length / static_cast<size_t>(slot));
  if (fit < 1) ThrowValueError(env, "buffer is smaller than one slot");
  unsigned count = static_cast<unsigned>(fit < maxmsgs ? fit : maxmsgs);
  std::vector<Addr> addrs(count);
  std::vector<struct iovec> iov(count);
  std::vector<size_t> lens(count);
  unsigned got = 0;
#if defined(__linux__)
  std::vector<struct mmsghdr> msgs(count);
  for (unsigned i = 0; i < count; i++) {
    iov[i].iov_base = win.data + static_cast<size_t>(i) * static_cast<size_t>(slot);
    iov[i].iov_len = static_cast<size_t>(slot);
  }
  int r;
  do {
    for (unsigned i = 0; i < count; i++) {
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &addrs[i].ss;
      msgs[i].msg_hdr.msg_namelen = sizeof addrs[i].ss;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    r = ::recvmmsg(fd, msgs.data(), count, flags | MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, errno, "recvmmsg");
  got = static_cast<unsigned>(r) <= count ? static_cast<unsigned>(r) : count;
  for (unsigned i = 0; i < got; i++) {
    // SAFETY: msg_len is at most iov_len unless MSG_TRUNC was asked for;
    // the name length is clamped to the storage it was given.
    lens[i] = msgs[i].msg_len;
    socklen_t nl = msgs[i].msg_hdr.msg_namelen;
    addrs[i].len = nl <= static_cast<socklen_t>(sizeof addrs[i].ss) ? nl : static_cast<socklen_t>(sizeof addrs[i].ss);
  }
#else
  for (; got < count; got++) {
    ssize_t n;
    do {
      addrs[got].len = sizeof addrs[got].ss;
      n = ::recvfrom(fd, win.data + static_cast<size_t>(got) * static_cast<size_t>(slot), static_cast<size_t>(slot),
                     flags | MSG_DONTWAIT, reinterpret_cast<struct sockaddr*>(&addrs[got].ss), &addrs[got].len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (got == 0) ThrowErrno(env, errno, "recvmmsg");
      break;  // reported by the next call, as recvmmsg does
    }
    lens[got] = static_cast<size_t>(n);
    if (addrs[got].len > static_cast<socklen_t>(sizeof addrs[got].ss)) addrs[got].len = sizeof addrs[got].ss;
  }
#endif
  napi_value out = NewArray(env, 1 + 4 * static_cast<size_t>(got));
  SetAt(env, out, 0, Num(env, got));
  for (unsigned i = 0; i < got; i++) {
    SetAt(env, out, 1 + 4 * i, Num(env, static_cast<double>(lens[i])));
    AddrInto(env, out, 2 + 4 * i, &addrs[i].ss, addrs[i].len);
  }
  return out;
}

// sendmmsg(fd, views, addrs, count, flags) -> datagrams sent: datagram i is
// the whole of views[i], to the address addrs[3i..3i+2] (family, host,
// port; AF_UNSPEC, or addrs null, for none: a connected socket). Every
// view and address is checked before anything is sent. One sendmmsg(2) on
// Linux, sendto(2) in a loop elsewhere, never waiting (MSG_DONTWAIT); each
// stops at the first error, thrown only when nothing was sent (the caller
// retries the rest).
napi_value SendMMsg(napi_env env, const napi_value* argv) {
  int fd = FdValue(env, argv[0]);
  int64_t count = IntValue(env, argv[3], 0, kMaxMsgs, "count must be 0-1024");
  int flags = static_cast<int>(IntValue(env, argv[4], INT_MIN, INT_MAX, "flags must be an integer"));
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) ThrowTypeError(env, "views must be an array of Buffers or TypedArrays");
  uint32_t nviews = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_array_length(env, argv[1], &nviews), nullptr);
  if (static_cast<int64_t>(nviews) < count) ThrowValueError(env, "views holds fewer than count views");
  napi_valuetype at;
  NAPI_THROW_IF_FAILED(env, napi_typeof(env, argv[2], &at), nullptr);
  bool has_addrs = at != napi_null && at != napi_undefined;
  if (has_addrs) {
    napi_is_array(env, argv[2], &is_array);
    if (!is_array) ThrowTypeError(env, "addrs must be an array or null");
    uint32_t naddrs = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_array_length(env, argv[2], &naddrs), nullptr);
    if (static_cast<int64_t>(naddrs) < 3 * count) ThrowValueError(env, "addrs holds fewer than 3 * count values");
  }
  unsigned n = static_cast<unsigned>(count);
  std::vector<Addr> addrs(n);
  std::vector<struct iovec> iov(n);
  for (unsigned i = 0; i < n; i++) {
    napi_value v;
    NAPI_THROW_IF_FAILED(env, napi_get_element(env, argv[1], i, &v), nullptr);
    // SAFETY: the view's bytes stay put while this call runs (no JS runs).
    ByteSpan b = BytesValue(env, v, "views must be an array of Buffers or TypedArrays");
    iov[i].iov_base = b.data;
    iov[i].iov_len = b.length;
    std::memset(&addrs[i], 0, sizeof addrs[i]);
    if (has_addrs) {
      napi_value f, h, p;
      NAPI_THROW_IF_FAILED(env, napi_get_element(env, argv[2], 3 * i, &f), nullptr);
      NAPI_THROW_IF_FAILED(env, napi_get_element(env, argv[2], 3 * i + 1, &h), nullptr);
      NAPI_THROW_IF_FAILED(env, napi_get_element(env, argv[2], 3 * i + 2, &p), nullptr);
      addrs[i] = AddrValues(env, f, h, p, "sendmmsg");
    }
  }
  if (n == 0) return Num(env, 0);
  unsigned sent = 0;
#if defined(__linux__)
  std::vector<struct mmsghdr> msgs(n);
  for (unsigned i = 0; i < n; i++) {
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    // SAFETY: addrs[i].len <= sizeof addrs[i].ss (the encoders' bound).
    msgs[i].msg_hdr.msg_name = addrs[i].len ? &addrs[i].ss : nullptr;
    msgs[i].msg_hdr.msg_namelen = addrs[i].len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int r;
  do {
    r = ::sendmmsg(fd, msgs.data(), n, flags | kSendFlags | MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, errno, "sendmmsg");
  sent = static_cast<unsigned>(r) <= n ? static_cast<unsigned>(r) : n;
#else
  for (; sent < n; sent++) {
    ssize_t k;
    do {
      k = ::sendto(fd, iov[sent].iov_base, iov[sent].iov_len, flags | kSendFlags | MSG_DONTWAIT,
                   addrs[sent].len ? reinterpret_cast<struct sockaddr*>(&addrs[sent].ss) : nullptr, addrs[sent].len);
    } while (k < 0 && errno == EINTR);
    if (k < 0) {
      if (sent == 0) ThrowErrno(env, errno, "sendmmsg");
      break;  // the caller retries from here, as after sendmmsg(2)
    }
  }
#endif
  return Num(env, sent);
}

}  // namespace

void InitDgram(Napi::Env env, Napi::Object exports) {
  exports.Set("sendto", FunctionN<8, SendTo>(env, "sendto"));
  exports.Set("recvfrom", FunctionN<5, RecvFrom>(env, "recvfrom"));
  exports.Set("recvmmsg", FunctionN<7, RecvMMsg>(env, "recvmmsg"));
  exports.Set("sendmmsg", FunctionN<5, SendMMsg>(env, "sendmmsg"));
}

}  // namespace iomux
