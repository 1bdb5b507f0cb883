// Python's resource.getrlimit/setrlimit: getrlimit(2), setrlimit(2). POSIX.
// Limits cross as doubles: RLIM_INFINITY is -1 (Python's value on Linux), and
// any other negative value is cast to rlim_t as CPython casts it.
#include <sys/resource.h>

#include <cerrno>
#include <cstdint>

#include "args.h"
#include "backend.h"
#include "errno.h"

namespace iomux {
namespace {

constexpr int64_t kMaxResource = 64;  // above every RLIMIT_* of any platform

double FromRlim(rlim_t v) { return v == RLIM_INFINITY ? -1.0 : static_cast<double>(v); }

rlim_t ToRlim(int64_t v) { return v == -1 ? RLIM_INFINITY : static_cast<rlim_t>(v); }

int ResourceArg(const Napi::CallbackInfo& info) {
  return static_cast<int>(IntArg(info, 0, 0, kMaxResource, "resource must be an integer in [0, 64]"));
}

// resource_getrlimit(resource) -> [soft, hard]
Napi::Value GetRlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int res = ResourceArg(info);
  struct rlimit rl;
  if (::getrlimit(res, &rl) < 0) ThrowErrno(env, errno, "getrlimit");
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, FromRlim(rl.rlim_cur)));
  out.Set(1u, Napi::Number::New(env, FromRlim(rl.rlim_max)));
  return out;
}

// resource_setrlimit(resource, soft, hard)
Napi::Value SetRlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int res = ResourceArg(info);
  int64_t soft = IntArg(info, 1, INT64_MIN, INT64_MAX, "soft limit must be an integer");
  int64_t hard = IntArg(info, 2, INT64_MIN, INT64_MAX, "hard limit must be an integer");
  struct rlimit rl;
  rl.rlim_cur = ToRlim(soft);
  rl.rlim_max = ToRlim(hard);
  if (::setrlimit(res, &rl) < 0) ThrowErrno(env, errno, "setrlimit");
  return env.Undefined();
}

}  // namespace

void InitResource(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
#define RL(name) c.Set(#name, Napi::Number::New(env, name))
  RL(RLIMIT_CORE);
  RL(RLIMIT_CPU);
  RL(RLIMIT_FSIZE);
  RL(RLIMIT_DATA);
  RL(RLIMIT_STACK);
  RL(RLIMIT_NOFILE);
#ifdef RLIMIT_AS
  RL(RLIMIT_AS);
#endif
#ifdef RLIMIT_NPROC
  RL(RLIMIT_NPROC);
#endif
#ifdef RLIMIT_MEMLOCK
  RL(RLIMIT_MEMLOCK);
#endif
#undef RL
  exports.Set("resource_constants", c);
  exports.Set("resource_getrlimit", Napi::Function::New(env, GetRlimit, "resource_getrlimit"));
  exports.Set("resource_setrlimit", Napi::Function::New(env, SetRlimit, "resource_setrlimit"));
}

}  // namespace iomux
