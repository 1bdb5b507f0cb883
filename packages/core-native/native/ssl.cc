// memtls: ownership of OpenSSL objects, OpenSSL's errors as Python's, and
// contexts (SSL_CTX from PEM options). The connection calls are in
// ssl-conn.cc. Every OpenSSL function comes from ssl-syms.h's run-time table.
#include "ssl.h"

#include <climits>
#include <cstring>
#include <string>

#include "args.h"
#include "backend.h"
#include "errno.h"
#include "fastcall.h"

namespace iomux {

// The boxes one thread's Node environment owns (main thread or a worker:
// one environment per thread), freed at its teardown.
struct SslTracker {
  SslBox* head = nullptr;
  size_t count = 0;
};

namespace {

thread_local SslTracker* tl_tracker = nullptr;

const napi_type_tag kSslBoxTag = {0x696f6d75786d746cULL, 0x3c91d2a7e05b4f68ULL};

void Release(SslBox* box) {
  if (--box->refs == 0) delete box;
}

void Untrack(SslBox* box) {
  SslTracker* t = box->tracker;
  if (t == nullptr) return;
  if (box->prev != nullptr) box->prev->next = box->next;
  else t->head = box->next;
  if (box->next != nullptr) box->next->prev = box->prev;
  box->prev = box->next = nullptr;
  box->tracker = nullptr;
  t->count--;
  Release(box);
}

// Frees the OpenSSL objects; env is null at teardown (no V8 accounting then).
void FreeObjects(napi_env env, SslBox* box) {
  const SslSyms* s = GetSslSyms(nullptr);
  if (s == nullptr) return;  // no box is ever made without the table
  bool had = box->ctx != nullptr || box->ssl != nullptr;
  if (box->ssl != nullptr) s->SSL_free(box->ssl);  // frees its two BIOs
  if (box->ctx != nullptr) s->SSL_CTX_free(box->ctx);
  box->ssl = nullptr;
  box->ctx = nullptr;
  box->rbio = box->wbio = nullptr;
  if (box->data != nullptr) ReleaseCtxData(*s, box->data);
  box->data = nullptr;
  if (had && env != nullptr && box->extmem != 0) {
    int64_t ignored;
    napi_adjust_external_memory(env, -box->extmem, &ignored);
  }
  box->extmem = 0;
}

void TrackerCleanup(void* arg) {
  SslTracker* t = static_cast<SslTracker*>(arg);
  while (t->head != nullptr) {
    SslBox* box = t->head;
    FreeObjects(nullptr, box);
    Untrack(box);
  }
  if (tl_tracker == t) tl_tracker = nullptr;
  delete t;
}

void ExternalFinalize(napi_env env, void* data, void*) {
  SslBox* box = static_cast<SslBox*>(data);
  // Already freed when the environment's teardown ran first.
  FreeObjects(box->tracker != nullptr ? env : nullptr, box);
  Untrack(box);
  Release(box);
}

SslTracker* Tracker(napi_env env) {
  if (tl_tracker == nullptr) {
    SslTracker* t = new SslTracker();
    if (napi_add_env_cleanup_hook(env, TrackerCleanup, t) != napi_ok) {
      delete t;
      ThrowTypeError(env, "cannot register the TLS objects' cleanup");
    }
    tl_tracker = t;
  }
  return tl_tracker;
}

}  // namespace

void ReleaseCtxData(const SslSyms&, SslCtxData* d) {
  if (--d->refs > 0) return;
  delete[] d->alpn;
  delete d;
}

const SslSyms& Syms(napi_env env) {
  const char* why = nullptr;
  const SslSyms* s = GetSslSyms(&why);
  if (s == nullptr) {
    Napi::Error e = Napi::Error::New(env, std::string("memory-BIO TLS is unavailable: ") + why);
    e.Value().Set("pyType", Napi::String::New(env, "RuntimeError"));
    throw e;
  }
  return *s;
}

napi_value WrapBox(napi_env env, SslBox* box) {
  SslTracker* t = Tracker(env);
  box->refs = 2;
  box->tracker = t;
  box->prev = nullptr;
  box->next = t->head;
  if (t->head != nullptr) t->head->prev = box;
  t->head = box;
  t->count++;
  napi_value ext;
  if (napi_create_external(env, box, ExternalFinalize, nullptr, &ext) != napi_ok) {
    FreeObjects(env, box);
    Untrack(box);
    Release(box);
    ThrowTypeError(env, "cannot make a TLS handle");
  }
  // Tagging cannot fail on a fresh External; the finalizer frees box either way.
  napi_type_tag_object(env, ext, &kSslBoxTag);
  int64_t ignored;
  if (box->extmem != 0) napi_adjust_external_memory(env, box->extmem, &ignored);
  return ext;
}

namespace {

// The box of an External this file made, else nullptr. The type check comes
// first: the tag check of a non-object (null) would leave a JS exception pending.
SslBox* Unbox(napi_env env, napi_value v) {
  napi_valuetype t;
  bool ours = false;
  void* data = nullptr;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &kSslBoxTag, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    return nullptr;
  }
  return static_cast<SslBox*>(data);
}

}  // namespace

SslBox* BoxValue(napi_env env, napi_value v, SslKind kind) {
  SslBox* box = Unbox(env, v);
  if (box == nullptr) {
    ThrowTypeError(env, kind == SslKind::kContext ? "expected a TLS context handle" : "expected a TLS connection handle");
  }
  if (box->kind != kind) {
    ThrowTypeError(env, kind == SslKind::kContext ? "expected a TLS context handle" : "expected a TLS connection handle");
  }
  if (box->ctx == nullptr && box->ssl == nullptr) {
    ThrowValueError(env, kind == SslKind::kContext ? "operation on a closed TLS context" : "operation on a closed TLS connection");
  }
  return box;
}

void CloseSslBox(napi_env env, SslBox* box) {
  FreeObjects(env, box);
  Untrack(box);
}

namespace {

// Python's names of OpenSSL's libraries (_ssl_data_300.h's library codes).
const char* LibName(int lib) {
  switch (lib) {
    case ERR_LIB_SYS: return "SYS";
    case ERR_LIB_BN: return "BN";
    case ERR_LIB_RSA: return "RSA";
    case ERR_LIB_EVP: return "EVP";
    case ERR_LIB_BUF: return "BUF";
    case ERR_LIB_PEM: return "PEM";
    case ERR_LIB_DSA: return "DSA";
    case ERR_LIB_X509: return "X509";
    case ERR_LIB_ASN1: return "ASN1";
    case ERR_LIB_CONF: return "CONF";
    case ERR_LIB_CRYPTO: return "CRYPTO";
    case ERR_LIB_EC: return "EC";
    case ERR_LIB_SSL: return "SSL";
    case ERR_LIB_BIO: return "BIO";
    case ERR_LIB_PKCS7: return "PKCS7";
    case ERR_LIB_X509V3: return "X509V3";
    case ERR_LIB_PKCS12: return "PKCS12";
    case ERR_LIB_RAND: return "RAND";
    case ERR_LIB_DSO: return "DSO";
    case ERR_LIB_ENGINE: return "ENGINE";
    case ERR_LIB_OCSP: return "OCSP";
    case ERR_LIB_UI: return "UI";
    case ERR_LIB_COMP: return "COMP";
    case ERR_LIB_OSSL_STORE: return "OSSL_STORE";
    case ERR_LIB_PROV: return "PROV";
    case ERR_LIB_OSSL_DECODER: return "DECODER";
    case ERR_LIB_OSSL_ENCODER: return "ENCODER";
    default: return nullptr;
  }
}

// 'wrong version number' -> 'WRONG_VERSION_NUMBER' (the mnemonic Python shows).
std::string Mnemonic(const char* text) {
  std::string out;
  bool sep = false;
  for (const char* p = text; *p != '\0'; p++) {
    char c = *p;
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      sep = !out.empty();
      continue;
    }
    if (sep) out += '_';
    sep = false;
    out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

}  // namespace

void ThrowSslError(napi_env env, const SslSyms& s, SSL* ssl, const std::string& host, int ssl_error) {
  Napi::Env e(env);
  unsigned long code = s.ERR_peek_last_error();
  std::string message, library, reason;
  const char* py = "SSLError";
  long verify_code = -1;
  std::string verify_message;
  if (code == 0) {
    // No queued error: Python's texts for SSL_ERROR_SYSCALL (EOF) and the rest.
    message = ssl_error == SSL_ERROR_SYSCALL ? "EOF occurred in violation of protocol" : "A failure in the SSL library occurred";
    reason = ssl_error == SSL_ERROR_SYSCALL ? "EOF" : "";
  } else {
    int lib = ERR_GET_LIB(code);
    int rc = ERR_GET_REASON(code);
    const char* name = LibName(lib);
    const char* ltext = s.ERR_lib_error_string(code);
    library = name != nullptr ? name : (ltext != nullptr ? Mnemonic(ltext) : "SSL");
    const char* text = s.ERR_reason_error_string(code);
    std::string rtext = text != nullptr ? text : "unknown error (reason " + std::to_string(rc) + ")";
    reason = text != nullptr ? Mnemonic(text) : "UNKNOWN";
    message = "[" + library + ": " + reason + "] " + rtext;
    if (lib == ERR_LIB_SSL && rc == SSL_R_CERTIFICATE_VERIFY_FAILED && ssl != nullptr) {
      py = "SSLCertVerificationError";
      verify_code = s.SSL_get_verify_result(ssl);
      if (verify_code == X509_V_ERR_HOSTNAME_MISMATCH) {
        verify_message = "Hostname mismatch, certificate is not valid for '" + host + "'.";
      } else if (verify_code == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        verify_message = "IP address mismatch, certificate is not valid for '" + host + "'.";
      } else {
        const char* vm = s.X509_verify_cert_error_string(verify_code);
        verify_message = vm != nullptr ? vm : "unknown verify error";
      }
      message += ": " + verify_message;
    }
  }
  s.ERR_clear_error();
  Napi::Error err = Napi::Error::New(e, message);
  Napi::Object o = err.Value();
  o.Set("pyType", Napi::String::New(e, py));
  if (!library.empty()) o.Set("library", Napi::String::New(e, library));
  if (!reason.empty()) o.Set("reason", Napi::String::New(e, reason));
  o.Set("sslError", Napi::Number::New(e, ssl_error));
  if (verify_code >= 0) {
    o.Set("verifyCode", Napi::Number::New(e, static_cast<double>(verify_code)));
    o.Set("verifyMessage", Napi::String::New(e, verify_message));
  }
  throw err;
}

namespace {

napi_value CtxClose(napi_env env, const napi_value* argv) {
  SslBox* box = Unbox(env, argv[0]);
  if (box == nullptr) ThrowTypeError(env, "expected a TLS handle");
  CloseSslBox(env, box);  // either kind; idempotent
  return nullptr;
}

napi_value Status(napi_env env, const napi_value*) {
  const char* why = nullptr;
  const SslSyms* s = GetSslSyms(&why);
  Napi::Env e(env);
  Napi::Object o = Napi::Object::New(e);
  o.Set("available", Napi::Boolean::New(e, s != nullptr));
  o.Set("reason", Napi::String::New(e, why));
  o.Set("version", s != nullptr ? Napi::String::New(e, s->OpenSSL_version(OPENSSL_VERSION)) : Napi::String::New(e, ""));
  return o;
}

napi_value LiveCount(napi_env env, const napi_value*) {
  return CountValue(env, tl_tracker != nullptr ? static_cast<ssize_t>(tl_tracker->count) : 0);
}

}  // namespace

void InitSsl(Napi::Env env, Napi::Object exports) {
  exports.Set("memtls_status", FunctionN<1, Status>(env, "memtls_status"));
  exports.Set("memtls_close", FunctionN<1, CtxClose>(env, "memtls_close"));
  exports.Set("memtls_live_count", FunctionN<1, LiveCount>(env, "memtls_live_count"));
  InitSslCtx(env, exports);
  InitSslConn(env, exports);
}

}  // namespace iomux
