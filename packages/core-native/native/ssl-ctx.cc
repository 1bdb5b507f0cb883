// memtls contexts: an SSL_CTX made from PEM options (src/ssl/context.ts
// normalizes them), with Python's SSLContext defaults (TLS 1.2 minimum, no
// compression, server cipher preference). Never prompts for a passphrase.
#include <climits>
#include <cstring>
#include <string>

#include "args.h"
#include "errno.h"
#include "fastcall.h"
#include "ssl.h"

namespace iomux {

namespace {

constexpr size_t kMaxPem = size_t{1} << 26;  // 64 MiB: far above any real chain or CA bundle

struct Password {
  const uint8_t* data;
  size_t len;
};

// Never prompts (OpenSSL's default callback would read the terminal).
int PasswordCb(char* buf, int size, int, void* u) {
  const Password* pw = static_cast<const Password*>(u);
  if (pw == nullptr || pw->data == nullptr || size < 0 || pw->len > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, pw->data, pw->len);
  return static_cast<int>(pw->len);
}

int AlpnSelectCb(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void* arg) {
  const SslSyms* s = GetSslSyms(nullptr);
  SslCtxData* d = static_cast<SslCtxData*>(arg);
  if (s == nullptr || d == nullptr || d->alpn == nullptr) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* sel = nullptr;
  int r = s->SSL_select_next_proto(&sel, outlen, d->alpn, d->alpn_len, in, inlen);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

// A BIO reading the bytes of option `name` (absent: nullptr).
BIO* PemBio(napi_env env, const SslSyms& s, Napi::Object opts, const char* name, const char* what) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  ByteSpan b = BytesValue(env, v, what);
  if (b.length == 0 || b.length > kMaxPem) ThrowValueError(env, "PEM data must be 1 byte to 64 MiB");
  BIO* bio = s.BIO_new_mem_buf(b.data, static_cast<int>(b.length));
  if (bio == nullptr) ThrowSslError(env, s, nullptr, "", 0);
  return bio;
}

struct BioGuard {
  const SslSyms& s;
  BIO* b;
  ~BioGuard() { if (b != nullptr) s.BIO_free(b); }
};

// After reading PEM blocks to the end: the expected "no start line" is no error.
void EndOfPem(napi_env env, const SslSyms& s) {
  unsigned long code = s.ERR_peek_last_error();
  if (code != 0 && ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) s.ERR_clear_error();
  else if (code != 0) ThrowSslError(env, s, nullptr, "", 0);
}

void LoadCertChain(napi_env env, const SslSyms& s, SSL_CTX* ctx, Napi::Object opts) {
  BioGuard cert{s, PemBio(env, s, opts, "cert", "cert must be bytes")};
  if (cert.b == nullptr) return;
  Password none{nullptr, 0};
  X509* leaf = s.PEM_read_bio_X509_AUX(cert.b, nullptr, PasswordCb, &none);
  if (leaf == nullptr) ThrowSslError(env, s, nullptr, "", 0);
  int ok = s.SSL_CTX_use_certificate(ctx, leaf);
  s.X509_free(leaf);
  if (ok != 1) ThrowSslError(env, s, nullptr, "", 0);
  for (;;) {
    X509* x = s.PEM_read_bio_X509(cert.b, nullptr, PasswordCb, &none);
    if (x == nullptr) break;
    if (s.SSL_CTX_ctrl(ctx, SSL_CTRL_EXTRA_CHAIN_CERT, 0, x) != 1) {  // takes x on success
      s.X509_free(x);
      ThrowSslError(env, s, nullptr, "", 0);
    }
  }
  EndOfPem(env, s);
  BioGuard key{s, PemBio(env, s, opts, "key", "key must be bytes")};
  if (key.b == nullptr) ThrowValueError(env, "a certificate needs its private key");
  Password pw{nullptr, 0};
  Napi::Value pv = opts.Get("passphrase");
  if (!pv.IsUndefined() && !pv.IsNull()) {
    ByteSpan p = BytesValue(env, pv, "passphrase must be bytes");
    pw = Password{p.data != nullptr ? p.data : reinterpret_cast<const uint8_t*>(""), p.length};
  }
  EVP_PKEY* pkey = s.PEM_read_bio_PrivateKey(key.b, nullptr, PasswordCb, &pw);
  if (pkey == nullptr) ThrowSslError(env, s, nullptr, "", 0);
  ok = s.SSL_CTX_use_PrivateKey(ctx, pkey);
  s.EVP_PKEY_free(pkey);
  if (ok != 1 || s.SSL_CTX_check_private_key(ctx) != 1) ThrowSslError(env, s, nullptr, "", 0);
}

void LoadCa(napi_env env, const SslSyms& s, SSL_CTX* ctx, Napi::Object opts) {
  BioGuard ca{s, PemBio(env, s, opts, "ca", "ca must be bytes")};
  if (ca.b == nullptr) return;
  X509_STORE* store = s.SSL_CTX_get_cert_store(ctx);
  Password none{nullptr, 0};
  int n = 0;
  for (;; n++) {
    X509* x = s.PEM_read_bio_X509(ca.b, nullptr, PasswordCb, &none);
    if (x == nullptr) break;
    int ok = s.X509_STORE_add_cert(store, x);  // takes its own reference
    s.X509_free(x);
    if (ok != 1) ThrowSslError(env, s, nullptr, "", 0);
  }
  if (n == 0) ThrowSslError(env, s, nullptr, "", 0);  // not one certificate: PEM's error
  EndOfPem(env, s);
}

int64_t OptInt(napi_env env, Napi::Object opts, const char* name, int64_t lo, int64_t hi, int64_t dflt) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined()) return dflt;
  return IntValue(env, v, lo, hi, "TLS option out of range");
}

void Configure(napi_env env, const SslSyms& s, SslBox* box, Napi::Object opts, bool server, int64_t verify,
               int64_t minv, int64_t maxv, int64_t timeout);

// memtls_ctx_new(opts) -> handle. opts are normalized by src/ssl/context.ts.
napi_value CtxNew(napi_env env, const napi_value* argv) {
  const SslSyms& s = Syms(env);
  SslErrorScope scope(s);
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) ThrowTypeError(env, "options must be an object");
  Napi::Object opts(env, argv[0]);
  bool server = opts.Get("serverSide").ToBoolean();
  int64_t verify = OptInt(env, opts, "verify", 0, 2, server ? 0 : 2);
  int64_t minv = OptInt(env, opts, "minVersion", 0, 0xffff, TLS1_2_VERSION);
  int64_t maxv = OptInt(env, opts, "maxVersion", 0, 0xffff, 0);
  int64_t timeout = OptInt(env, opts, "sessionTimeout", -1, INT_MAX, -1);

  SslBox* box = new SslBox{SslKind::kContext, 0, nullptr, nullptr, nullptr, nullptr, nullptr, {}, 16384, nullptr, nullptr, nullptr};
  box->ctx = s.SSL_CTX_new(s.TLS_method());
  if (box->ctx == nullptr) {
    delete box;
    ThrowSslError(env, s, nullptr, "", 0);
  }
  box->data = new SslCtxData();
  napi_value handle = WrapBox(env, box);  // tracked from here
  try {
    Configure(env, s, box, opts, server, verify, minv, maxv, timeout);
  } catch (...) {
    CloseSslBox(env, box);  // freed now, not at the next GC
    throw;
  }
  return handle;
}

void Configure(napi_env env, const SslSyms& s, SslBox* box, Napi::Object opts, bool server, int64_t verify,
               int64_t minv, int64_t maxv, int64_t timeout) {
  SSL_CTX* ctx = box->ctx;
  s.SSL_CTX_set_options(ctx, (SSL_OP_ALL & ~SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS) | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
  s.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY, nullptr);
  int mode = verify == 0 ? SSL_VERIFY_NONE
           : (verify == 2 && server) ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER;
  s.SSL_CTX_set_verify(ctx, mode, nullptr);
  if (minv != 0 && s.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, minv, nullptr) != 1) ThrowValueError(env, "unsupported minimum TLS version");
  if (maxv != 0 && s.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, maxv, nullptr) != 1) ThrowValueError(env, "unsupported maximum TLS version");
  if (timeout >= 0) s.SSL_CTX_set_timeout(ctx, static_cast<long>(timeout));
  if (server) {
    static const unsigned char kSid[] = "iomux";
    s.SSL_CTX_set_session_id_context(ctx, kSid, sizeof kSid - 1);
  }
  Napi::Value ciphers = opts.Get("ciphers");
  if (ciphers.IsString() && s.SSL_CTX_set_cipher_list(ctx, ciphers.As<Napi::String>().Utf8Value().c_str()) != 1) {
    ThrowSslError(env, s, nullptr, "", 0);
  }
  Napi::Value suites = opts.Get("ciphersuites");
  if (suites.IsString() && s.SSL_CTX_set_ciphersuites(ctx, suites.As<Napi::String>().Utf8Value().c_str()) != 1) {
    ThrowSslError(env, s, nullptr, "", 0);
  }
  Napi::Value alpn = opts.Get("alpn");
  if (!alpn.IsUndefined() && !alpn.IsNull()) {
    ByteSpan a = BytesValue(env, alpn, "ALPN protocols must be bytes");
    if (a.length == 0 || a.length > 65535) ThrowValueError(env, "ALPN protocol list must be 1 to 65535 bytes");
    if (server) {
      box->data->alpn = new unsigned char[a.length];
      std::memcpy(box->data->alpn, a.data, a.length);
      box->data->alpn_len = static_cast<unsigned>(a.length);
      s.SSL_CTX_set_alpn_select_cb(ctx, AlpnSelectCb, box->data);
    } else if (s.SSL_CTX_set_alpn_protos(ctx, a.data, static_cast<unsigned>(a.length)) != 0) {  // 0 is success
      ThrowSslError(env, s, nullptr, "", 0);
    }
  }
  LoadCertChain(env, s, ctx, opts);
  LoadCa(env, s, ctx, opts);
}

}  // namespace

void InitSslCtx(Napi::Env env, Napi::Object exports) {
  exports.Set("memtls_ctx_new", FunctionN<1, CtxNew>(env, "memtls_ctx_new"));
}

}  // namespace iomux
