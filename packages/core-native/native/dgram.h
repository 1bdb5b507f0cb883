// What dgram.cc and dgram-fds.cc share: addresses from JS arguments and
// into result arrays (sockaddr.h underneath), and small N-API builders.
#pragma once
#include <napi.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "sockaddr.h"

namespace iomux {
namespace dgram {

using Addr = SockAddr;

std::string Utf8Value(napi_env env, napi_value v, const char* what);
std::u16string Utf16Value(napi_env env, napi_value v, const char* what);
// A sockaddr from (family, host, port); family AF_UNSPEC means none (len 0).
Addr AddrValues(napi_env env, napi_value famv, napi_value hostv, napi_value portv, const char* syscall);
napi_value Num(napi_env env, double d);
napi_value Str(napi_env env, const char* s, size_t n);
void SetAt(napi_env env, napi_value arr, uint32_t i, napi_value v);
// out[at..at+2] = family, host, port of a sockaddr the kernel filled in.
void AddrInto(napi_env env, napi_value out, uint32_t at, const struct sockaddr_storage* ss, socklen_t len);
napi_value NewArray(napi_env env, size_t n);

}  // namespace dgram
}  // namespace iomux
