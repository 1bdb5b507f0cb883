// Shared by ssl.cc (ownership, contexts, errors) and ssl-conn.cc (the
// connection calls): memtls, TLS over memory BIOs in the running Node's
// OpenSSL (ssl-syms.h), the engine of asyncio's sslproto (SSLObject).
#pragma once
#include <napi.h>

#include <cstddef>
#include <string>

#include "ssl-syms.h"

namespace iomux {

struct SslTracker;

// What a context keeps for its SSL_CTX's callbacks. Refcounted: the context
// and each connection made from it hold it, since an SSL keeps its SSL_CTX
// (and so the ALPN callback's argument) alive after the context is closed.
struct SslCtxData {
  int refs = 1;
  unsigned char* alpn = nullptr;  // the server's list, ALPN wire format
  unsigned alpn_len = 0;
};

enum class SslKind { kContext, kConnection };

// One owned OpenSSL object (SSL_CTX or SSL). refs: the External and the
// per-thread tracker; whichever lets go last deletes the box (fdhandle.cc's
// scheme), so a close, the GC and worker exit free it exactly once.
struct SslBox {
  SslKind kind;
  int refs;
  SSL_CTX* ctx;  // kContext
  SSL* ssl;      // kConnection; its BIOs are SSL's own
  BIO* rbio;     // ciphertext in (fed)
  BIO* wbio;     // ciphertext out (taken)
  SslCtxData* data;
  std::string hostname;  // for Python's hostname-mismatch message
  int64_t extmem;        // reported to V8 with napi_adjust_external_memory
  SslTracker* tracker;
  SslBox* prev;
  SslBox* next;
};

// The symbol table, or a thrown RuntimeError-like Error when unavailable.
const SslSyms& Syms(napi_env env);

// A new External owning box (type-tagged, tracked); box->refs is set here.
napi_value WrapBox(napi_env env, SslBox* box);

// The box behind an External argument: TypeError if not one of ours or of
// the other kind, ValueError once it is closed.
SslBox* BoxValue(napi_env env, napi_value v, SslKind kind);

// Frees the OpenSSL object now (idempotent).
void CloseSslBox(napi_env env, SslBox* box);

void ReleaseCtxData(const SslSyms& s, SslCtxData* d);

// Throws OpenSSL's last error as Python's SSLError (or
// SSLCertVerificationError for a failed verification of ssl's peer), with
// ssl_error the SSL_get_error value (0 outside SSL I/O). Clears the queue.
[[noreturn]] void ThrowSslError(napi_env env, const SslSyms& s, SSL* ssl, const std::string& host, int ssl_error);

// Empties this thread's error queue when something is in it (OpenSSL's
// queue is per thread, and Node's own tls uses the same one).
inline void ClearSslErrors(const SslSyms& s) {
  if (s.ERR_peek_error() != 0) s.ERR_clear_error();
}

// Clears on entry (SSL_get_error needs an empty queue) and on return.
struct SslErrorScope {
  const SslSyms& s;
  explicit SslErrorScope(const SslSyms& syms) : s(syms) { ClearSslErrors(s); }
  ~SslErrorScope() { ClearSslErrors(s); }
};

void InitSslCtx(Napi::Env env, Napi::Object exports);   // ssl-ctx.cc
void InitSslConn(Napi::Env env, Napi::Object exports);  // ssl-conn.cc

}  // namespace iomux
