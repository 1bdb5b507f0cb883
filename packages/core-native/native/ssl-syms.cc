// Resolves ssl-syms.h's table in the running process (uv_dlopen(NULL): the
// node executable and what it loaded), as spawn.cc does for glibc's
// extensions. No OpenSSL symbol is referenced at link time.
#include "ssl-syms.h"

#include <uv.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace iomux {
namespace {

struct Resolved {
  SslSyms syms{};
  bool ok = false;
  std::string why;
};

Resolved Resolve() {
  Resolved r;
  // IOMUX_MEMTLS=0: behave as on a Node without OpenSSL (tests that path).
  const char* env = std::getenv("IOMUX_MEMTLS");
  if (env != nullptr && std::strcmp(env, "0") == 0) {
    r.why = "disabled by IOMUX_MEMTLS=0";
    return r;
  }
  uv_lib_t self;
  if (uv_dlopen(nullptr, &self) != 0) {
    r.why = "cannot open the running executable's symbols";
    return r;
  }
  const char* missing = nullptr;
#define IOMUX_SSL_LOOKUP(name)                                                  \
  if (missing == nullptr) {                                                     \
    void* p = nullptr;                                                          \
    if (uv_dlsym(&self, #name, &p) != 0 || p == nullptr) missing = #name;       \
    else r.syms.name = reinterpret_cast<decltype(r.syms.name)>(p);              \
  }
  IOMUX_SSL_SYMBOLS(IOMUX_SSL_LOOKUP)
#undef IOMUX_SSL_LOOKUP
  // The process keeps the executable mapped: closing the handle only drops
  // a reference, and the pointers stay valid.
  uv_dlclose(&self);
  if (missing != nullptr) {
    r.why = std::string("symbol ") + missing + " not found in the running node (built without OpenSSL, or without exporting its symbols)";
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace

const SslSyms* GetSslSyms(const char** why) {
  // Thread-safe one-time initialization (workers may race to the first use).
  static const Resolved resolved = Resolve();
  if (why != nullptr) *why = resolved.ok ? "" : resolved.why.c_str();
  return resolved.ok ? &resolved.syms : nullptr;
}

}  // namespace iomux
