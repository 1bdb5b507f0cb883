// kqueue(2)/kevent(2) (IOMUX_HAVE_KQUEUE): the real ones from <sys/event.h>
// on macOS and the BSDs, the emulation of kqueue-linux.h on Linux, through
// one code path. Only the few lines under IOMUX_KQUEUE_EMULATION differ; no
// machine here compiles the other side, so keep it small.
//
// kqueue_create() -> fd                  close-on-exec
// kevent(kq, changes, nchanges, events, nevents, timeoutSec, timeoutNsec) -> n
//   changes/events: Int32Array (or null with a count of 0) of entries of
//   kevent_layout.stride int32s, one slot per field, 64-bit fields (ident,
//   data, udata) as low and high halves; converted to and from struct
//   kevent here. timeoutSec < 0 blocks (timeoutNsec is then ignored).
//   EINTR is thrown; TypeScript retries (PEP 475).
// kqueue_count() -> n                     (emulation only) kqueues with state
// kqueue_signal_post(kq, cookie, signo), kqueue_signals(kq)
//                                        (emulation only) SIGNAL's feed
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#ifdef IOMUX_KQUEUE_EMULATION
#include "kqueue-linux.h"
#define IOMUX_KQUEUE() iomux_kqueue()
#define IOMUX_KEVENT iomux_kevent
#else
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#define IOMUX_KQUEUE() ::kqueue()
#define IOMUX_KEVENT ::kevent
#endif

#include "args.h"
#include "errno.h"

namespace iomux {

void InitKqueue(Napi::Env env, Napi::Object exports);

namespace {

using Kev = struct kevent;
// The JS layout: one int32 slot per field (filter and flags share a word in
// the C struct, so the arrays are converted, not handed to the kernel).
enum : size_t { kIdentLo, kIdentHi, kFilter, kFlags, kFflags, kDataLo, kDataHi, kUdataLo, kUdataHi, kStride };
static_assert(sizeof(Kev::ident) <= 8 && sizeof(Kev::data) <= 8 && sizeof(Kev::udata) <= 8, "64-bit fields at most");

uint64_t Join(const int32_t* p, size_t lo) {
  return static_cast<uint64_t>(static_cast<uint32_t>(p[lo])) | (static_cast<uint64_t>(static_cast<uint32_t>(p[lo + 1])) << 32);
}

void Split(int32_t* p, size_t lo, uint64_t v) {
  p[lo] = static_cast<int32_t>(static_cast<uint32_t>(v));
  p[lo + 1] = static_cast<int32_t>(static_cast<uint32_t>(v >> 32));
}

// udata is void* on most systems, an intptr_t on NetBSD before 10.
template <typename T>
T FromBits(uintptr_t v) {
  if constexpr (std::is_pointer_v<T>) return reinterpret_cast<T>(v);
  else return static_cast<T>(v);
}

template <typename T>
uintptr_t ToBits(T v) {
  if constexpr (std::is_pointer_v<T>) return reinterpret_cast<uintptr_t>(v);
  else return static_cast<uintptr_t>(v);
}

// One change from its int32 slots; false when a field is out of its C range.
bool Unpack(const int32_t* p, Kev* k) {
  int32_t filter = p[kFilter], flags = p[kFlags];
  uint64_t ident = Join(p, kIdentLo), udata = Join(p, kUdataLo);
  if (filter < -32768 || filter > 32767 || flags < 0 || flags > 65535) return false;
  if (sizeof(Kev::ident) < 8 && ident > UINTPTR_MAX) return false;
  if (sizeof(Kev::udata) < 8 && udata > UINTPTR_MAX) return false;
  std::memset(k, 0, sizeof *k);
  k->ident = static_cast<uintptr_t>(ident);
  k->filter = static_cast<decltype(k->filter)>(filter);
  k->flags = static_cast<decltype(k->flags)>(flags);
  k->fflags = static_cast<uint32_t>(p[kFflags]);
  k->data = static_cast<decltype(k->data)>(static_cast<int64_t>(Join(p, kDataLo)));
  k->udata = FromBits<decltype(k->udata)>(static_cast<uintptr_t>(udata));
  return true;
}

void Pack(const Kev& k, int32_t* p) {
  Split(p, kIdentLo, static_cast<uint64_t>(k.ident));
  p[kFilter] = static_cast<int32_t>(k.filter);
  p[kFlags] = static_cast<int32_t>(static_cast<uint16_t>(k.flags));
  p[kFflags] = static_cast<int32_t>(static_cast<uint32_t>(k.fflags));
  Split(p, kDataLo, static_cast<uint64_t>(static_cast<int64_t>(k.data)));
  Split(p, kUdataLo, static_cast<uint64_t>(ToBits(k.udata)));
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  int fd = IOMUX_KQUEUE();
  if (fd < 0) ThrowErrno(info.Env(), errno, "kqueue");
#ifndef IOMUX_KQUEUE_EMULATION
  // BSD's kqueue() has no close-on-exec flag everywhere (kqueuex() is new).
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    int err = errno;
    ::close(fd);
    ThrowErrno(info.Env(), err, "fcntl");
  }
#endif
  return Napi::Number::New(info.Env(), fd);
}

// An Int32Array, or null/undefined for none (one N-API call for an array).
Int32Span OptionalArray(napi_env env, napi_value v, const char* what) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) == napi_ok) {
    if (type != napi_int32_array) ThrowTypeError(env, what);
    return Int32Span{static_cast<int32_t*>(data), data == nullptr ? 0 : length};  // detached: empty
  }
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || (t != napi_null && t != napi_undefined)) ThrowTypeError(env, what);
  return Int32Span{nullptr, 0};
}

// An integer in [lo, hi], as args.h IntArg.
int64_t IntValue(napi_env env, napi_value v, int64_t lo, int64_t hi, const char* what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || std::isnan(d) || std::trunc(d) != d) ThrowTypeError(env, what);
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi) || d >= 0x1p63) ThrowOverflowError(env, what);
  return static_cast<int64_t>(d);
}

napi_value KeventArgs(Napi::Env env, napi_value* argv);

// A raw N-API callback: node-addon-api's CallbackInfo heap-allocates for
// more than six arguments, on every call.
napi_value Kevent(napi_env napiEnv, napi_callback_info cbinfo) {
  size_t argc = 7;
  napi_value argv[7];
  napi_value undefined;
  if (napi_get_cb_info(napiEnv, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok ||
      napi_get_undefined(napiEnv, &undefined) != napi_ok) {
    return nullptr;
  }
  for (size_t i = argc; i < 7; i++) argv[i] = undefined;
  try {
    return KeventArgs(Napi::Env(napiEnv), argv);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

napi_value KeventArgs(Napi::Env env, napi_value* argv) {
  int kq = FdValue(env, argv[0]);
  constexpr int64_t kMaxCount = INT_MAX / static_cast<int64_t>(sizeof(Kev));
  Int32Span changes = OptionalArray(env, argv[1], "changes must be an Int32Array or null");
  int64_t nchanges = IntValue(env, argv[2], 0, kMaxCount, "nchanges must be a non-negative integer");
  Int32Span events = OptionalArray(env, argv[3], "events must be an Int32Array or null");
  int64_t nevents = IntValue(env, argv[4], 0, kMaxCount, "nevents must be a non-negative integer");
  int64_t sec = IntValue(env, argv[5], -0x1p53, 0x1p53, "timeoutSec must be an integer");
  int64_t nsec = IntValue(env, argv[6], INT64_MIN / 2, INT64_MAX / 2, "timeoutNsec must be an integer");
  // SAFETY: the kernel (or the emulation) reads nchanges and writes up to
  // nevents whole struct kevents: each array must hold that many.
  if (static_cast<uint64_t>(nchanges) * kStride > changes.length) ThrowValueError(env, "nchanges exceeds the changes array");
  if (static_cast<uint64_t>(nevents) * kStride > events.length) ThrowValueError(env, "nevents exceeds the events array");
  if (sec >= 0 && (nsec < 0 || nsec > 999999999)) ThrowValueError(env, "timeoutNsec must be in [0, 999999999]");
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(nsec);
  // Up to 64 entries each on the stack, more from the heap.
  constexpr int64_t kLocal = 64;
  Kev chLocal[kLocal], evLocal[kLocal];
  Kev* ch = nchanges <= kLocal ? chLocal : static_cast<Kev*>(std::malloc(static_cast<size_t>(nchanges) * sizeof(Kev)));
  Kev* ev = nevents <= kLocal ? evLocal : static_cast<Kev*>(std::malloc(static_cast<size_t>(nevents) * sizeof(Kev)));
  auto release = [&]() {
    if (ch != chLocal) std::free(ch);
    if (ev != evLocal) std::free(ev);
  };
  if (ch == nullptr || ev == nullptr) {
    release();
    ThrowErrno(env, ENOMEM, "kevent");
  }
  for (int64_t i = 0; i < nchanges; i++) {
    if (!Unpack(changes.data + i * kStride, &ch[i])) {
      release();
      ThrowOverflowError(env, "a change's filter, flags, ident or udata is out of range");
    }
  }
  int n = IOMUX_KEVENT(kq, ch, static_cast<int>(nchanges), ev, static_cast<int>(nevents), sec < 0 ? nullptr : &ts);
  int saved = errno;
  for (int i = 0; i < n; i++) Pack(ev[i], events.data + static_cast<size_t>(i) * kStride);
  release();
  if (n < 0) ThrowErrno(env, saved, "kevent");
  napi_value result;
  NAPI_THROW_IF_FAILED(env, napi_create_int32(env, n, &result), nullptr);
  return result;
}

#ifdef IOMUX_KQUEUE_EMULATION
Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), iomux_kqueue_count()); }

// kqueue_signal_post(kq, cookie, signo) -> 1 counted, 0 no such knote, -1 not that kqueue.
Napi::Value SignalPost(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  int kq = FdValue(env, info[0]);
  int64_t cookie = IntValue(env, info[1], 0, UINT32_MAX, "cookie must be an unsigned 32-bit integer");
  int64_t signo = IntValue(env, info[2], 1, 31, "signo must be an integer in [1, 31]");
  int r = iomux_kqueue_signal_post(kq, static_cast<uint32_t>(cookie), static_cast<int>(signo));
  return Napi::Number::New(env, r);
}

// kqueue_signals(kq) -> [cookie, signo...], or null if kq is no emulated kqueue.
Napi::Value Signals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kq = FdValue(env, info[0]);
  uint32_t cookie = 0, mask = 0;
  if (iomux_kqueue_signals(kq, &cookie, &mask) < 0) return env.Null();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  out.Set(n++, Napi::Number::New(env, cookie));
  for (int sig = 1; sig < 32; sig++) {
    if (mask & (uint32_t{1} << sig)) out.Set(n++, Napi::Number::New(env, sig));
  }
  return out;
}
#endif

}  // namespace

void InitKqueue(Napi::Env env, Napi::Object exports) {
  exports.Set("kqueue_create", Napi::Function::New(env, Create, "kqueue_create"));
  napi_value fn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, "kevent", NAPI_AUTO_LENGTH, Kevent, nullptr, &fn));
  exports.Set("kevent", Napi::Value(env, fn));
#ifdef IOMUX_KQUEUE_EMULATION
  exports.Set("kqueue_count", Napi::Function::New(env, Count, "kqueue_count"));
  exports.Set("kqueue_signal_post", Napi::Function::New(env, SignalPost, "kqueue_signal_post"));
  exports.Set("kqueue_signals", Napi::Function::New(env, Signals, "kqueue_signals"));
#endif
  Napi::Object layout = Napi::Object::New(env);
  auto at = [&](const char* name, size_t slot) { layout.Set(name, Napi::Number::New(env, static_cast<double>(slot))); };
  at("stride", kStride);
  at("identLo", kIdentLo);
  at("identHi", kIdentHi);
  at("filter", kFilter);
  at("flags", kFlags);
  at("fflags", kFflags);
  at("dataLo", kDataLo);
  at("dataHi", kDataHi);
  at("udataLo", kUdataLo);
  at("udataHi", kUdataHi);
  layout.Freeze();
  exports.Set("kevent_layout", layout);
}

}  // namespace iomux
