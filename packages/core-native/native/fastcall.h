// Raw N-API callbacks of N arguments for the per-call paths of socket.cc and
// os.cc (recv, send, read, write): Callback2 of args.h for any N, and args.h's
// checks on plain napi_values. Same checks, same messages, fewer N-API calls
// than node-addon-api's CallbackInfo (see bench/README.md, CALLS).
#pragma once
#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "args.h"
#include "errno.h"

namespace iomux {

// Arguments not passed are undefined; what F throws becomes the JS exception.
template <size_t N, napi_value (*F)(napi_env, const napi_value*)>
napi_value CallbackN(napi_env env, napi_callback_info cbinfo) {
  size_t argc = N;
  napi_value argv[N];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  try {
    return F(env, argv);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

template <size_t N, napi_value (*F)(napi_env, const napi_value*)>
Napi::Value FunctionN(Napi::Env env, const char* name) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, CallbackN<N, F>, nullptr, &fn),
                       Napi::Value());
  return Napi::Value(env, fn);
}

// IntArg of args.h on a napi_value: an integer in [lo, hi].
inline int64_t IntValue(napi_env env, napi_value v, int64_t lo, int64_t hi, const char* what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || std::isnan(d) || std::trunc(d) != d) {
    ThrowTypeError(env, what);
  }
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi) || d >= 0x1p63) ThrowOverflowError(env, what);
  return static_cast<int64_t>(d);
}

// WindowArg of args.h: [offset, offset + length) of span, both checked.
inline ByteSpan WindowValue(napi_env env, ByteSpan span, napi_value offv, napi_value lenv) {
  int64_t off = IntValue(env, offv, 0, INT64_MAX, "offset must be a non-negative integer");
  int64_t len = IntValue(env, lenv, 0, INT64_MAX, "length must be a non-negative integer");
  if (static_cast<uint64_t>(off) > span.length || static_cast<uint64_t>(len) > span.length - static_cast<uint64_t>(off)) {
    ThrowValueError(env, "buffer window out of range");
  }
  return ByteSpan{span.data + off, static_cast<size_t>(len)};
}

// A byte count as a JS number: a small integer (no HeapNumber) when it fits.
inline napi_value CountValue(napi_env env, ssize_t n) {
  napi_value out;
  napi_status st = n <= INT32_MAX ? napi_create_int32(env, static_cast<int32_t>(n), &out)
                                  : napi_create_double(env, static_cast<double>(n), &out);
  NAPI_THROW_IF_FAILED(env, st, nullptr);
  return out;
}

}  // namespace iomux
