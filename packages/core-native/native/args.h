// Checked JS -> C conversions. The TypeScript layer validates first and gives
// Python's messages; these checks are the memory-safety backstop, so they
// trust nothing: wrong types are TypeError, values out of the C range are
// ValueError/OverflowError, and no value reaches a syscall unchecked.
#pragma once
#include <napi.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "errno.h"

namespace iomux {

inline double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  // One N-API call: napi_get_value_double fails (without throwing) on a
  // non-number, so no separate type check is needed.
  double d;
  if (i >= info.Length() || napi_get_value_double(info.Env(), info[i], &d) != napi_ok) {
    ThrowTypeError(info.Env(), what);
  }
  return d;
}

// An integer in [lo, hi]; TypeError when not a number or not integral.
inline int64_t IntArg(const Napi::CallbackInfo& info, size_t i, int64_t lo, int64_t hi,
                      const char* what) {
  double d = NumberArg(info, i, what);
  if (std::isnan(d) || std::trunc(d) != d) ThrowTypeError(info.Env(), what);
  // (double)INT64_MAX rounds up to 2**63, which would pass and cast with UB.
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi) || d >= 0x1p63) {
    ThrowOverflowError(info.Env(), what);
  }
  return static_cast<int64_t>(d);
}

// A file descriptor: an integer in [0, INT_MAX].
inline int FdValue(napi_env env, napi_value v) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || std::isnan(d) || std::trunc(d) != d) {
    ThrowTypeError(env, "file descriptor must be an integer");
  }
  if (d < 0) ThrowValueError(env, "file descriptor cannot be a negative integer");
  if (d > INT_MAX) ThrowOverflowError(env, "file descriptor is too large");
  return static_cast<int>(d);
}

// (CallbackInfo's [] is undefined past the last argument: a TypeError.)
inline int FdArg(const Napi::CallbackInfo& info, size_t i) { return FdValue(info.Env(), info[i]); }

// A poll/epoll timeout in milliseconds: -1 blocks; otherwise [0, INT_MAX].
inline int TimeoutMsArg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<int>(IntArg(info, i, -1, INT_MAX, "timeout must be an integer in [-1, INT_MAX] ms"));
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsBoolean()) ThrowTypeError(info.Env(), what);
  return info[i].As<Napi::Boolean>().Value();
}

struct Int32Span {
  int32_t* data;
  size_t length;
};

inline Int32Span Int32ArrayArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  // One N-API call (this sits on every wait's hot path): a non-typed-array
  // makes napi_get_typedarray_info fail without throwing.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (i >= info.Length() ||
      napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    ThrowTypeError(info.Env(), what);
  }
  // A detached buffer reports no data: treat it as empty.
  if (data == nullptr) length = 0;
  return Int32Span{static_cast<int32_t*>(data), length};
}

struct ByteSpan {
  uint8_t* data;
  size_t length;
};

// A Buffer/Uint8Array (or any ArrayBufferView) plus an [offset, offset+length)
// window that is checked against the view's own length.
inline ByteSpan BytesValue(napi_env env, napi_value v, const char* what) {
  // One N-API call for the common case (a Buffer, on every recv and send).
  // napi_get_buffer_info takes what Node's Buffer::HasInstance takes (any
  // ArrayBufferView in Node 20-24) and gives its byte length, without
  // napi_get_typedarray_info's element-type lookup (a chain of type tests
  // that cost about as much as the rest of the call). It fails without
  // throwing on anything else; the typed-array and DataView paths below
  // stay for a Node whose Buffer::HasInstance is narrower.
  size_t len = 0;
  void* data = nullptr;
  if (napi_get_buffer_info(env, v, &data, &len) == napi_ok) {
    // A detached buffer reports no data: treat it as empty.
    if (data == nullptr) len = 0;
    return ByteSpan{static_cast<uint8_t*>(data), len};
  }
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) == napi_ok) {
    size_t elsize = 1;
    switch (t) {
      case napi_int16_array: case napi_uint16_array: elsize = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elsize = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elsize = 8; break;
      default: elsize = 1;
    }
    // A detached buffer reports no data: treat it as empty.
    if (data == nullptr) len = 0;
    return ByteSpan{static_cast<uint8_t*>(data), len * elsize};
  }
  bool is_dv = false;
  napi_is_dataview(env, v, &is_dv);
  if (is_dv) {
    napi_value ab;
    size_t off;
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, v, &len, &data, &ab, &off), (ByteSpan{}));
    if (data == nullptr) len = 0;
    return ByteSpan{static_cast<uint8_t*>(data), len};
  }
  ThrowTypeError(env, what);
}

inline ByteSpan BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return BytesValue(info.Env(), info[i], what);
}

// A callback of two arguments without node-addon-api's CallbackInfo (which
// fetches six and wraps each call): for the calls a transport makes on every
// message. Arguments not passed are undefined; what F throws becomes the JS
// exception, as node-addon-api's own wrapper does it.
template <napi_value (*F)(napi_env, napi_value, napi_value)>
napi_value Callback2(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  try {
    return F(env, argv[0], argv[1]);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

template <napi_value (*F)(napi_env, napi_value, napi_value)>
Napi::Value Function2(Napi::Env env, const char* name) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, Callback2<F>, nullptr, &fn), Napi::Value());
  return Napi::Value(env, fn);
}

// Window [offset, offset + length) of `span`, both arguments checked.
inline ByteSpan WindowArg(const Napi::CallbackInfo& info, ByteSpan span, size_t offIdx, size_t lenIdx) {
  int64_t off = IntArg(info, offIdx, 0, INT64_MAX, "offset must be a non-negative integer");
  int64_t len = IntArg(info, lenIdx, 0, INT64_MAX, "length must be a non-negative integer");
  if (static_cast<uint64_t>(off) > span.length || static_cast<uint64_t>(len) > span.length - static_cast<uint64_t>(off)) {
    ThrowValueError(info.Env(), "buffer window out of range");
  }
  return ByteSpan{span.data + off, static_cast<size_t>(len)};
}

}  // namespace iomux
