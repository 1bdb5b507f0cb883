// memtls connections: an SSL with two memory BIOs (asyncio's SSLObject over
// MemoryBIOs). The caller moves ciphertext: feed() into the read BIO,
// takeOutput() from the write BIO; plaintext goes through read()/write().
// Few crossings per record: each call is one raw N-API callback,
// feedRead/writeTake do a record's two halves in one, and the *_all reads
// read until want-read and tell whether output waits (bench/README.md, MEMTLS).
#include <climits>
#include <cstring>
#include <string>

#include "args.h"
#include "errno.h"
#include "fastcall.h"
#include "ssl.h"

namespace iomux {
namespace {

constexpr int64_t kConnExternalBytes = 40960;  // an SSL with its record buffers, roughly

SslBox* Conn(napi_env env, napi_value v) { return BoxValue(env, v, SslKind::kConnection); }

ByteSpan Window(napi_env env, const napi_value* argv, size_t i, const char* what) {
  return WindowValue(env, BytesValue(env, argv[i], what), argv[i + 1], argv[i + 2]);
}

// memtls_conn_new(ctx, serverSide, hostname | undefined, hostnameIsIp, checkHostname) -> handle
napi_value ConnNew(napi_env env, const napi_value* argv) {
  const SslSyms& s = Syms(env);
  SslErrorScope scope(s);
  SslBox* cb = BoxValue(env, argv[0], SslKind::kContext);
  bool server = false, is_ip = false, check = false;
  if (napi_get_value_bool(env, argv[1], &server) != napi_ok) ThrowTypeError(env, "serverSide must be a boolean");
  napi_get_value_bool(env, argv[3], &is_ip);
  napi_get_value_bool(env, argv[4], &check);
  std::string host;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  bool has_host = t == napi_string;
  if (has_host) {
    host = Napi::String(env, argv[2]).Utf8Value();
    if (host.empty() || host.size() > 253 || std::memchr(host.data(), '\0', host.size()) != nullptr) {
      ThrowValueError(env, "server_hostname must be 1 to 253 characters without NUL");
    }
  }
  SslBox* box = new SslBox{SslKind::kConnection, 0, nullptr, nullptr, nullptr, nullptr, nullptr, host, kConnExternalBytes, nullptr, nullptr, nullptr};
  box->ssl = s.SSL_new(cb->ctx);
  box->rbio = s.BIO_new(s.BIO_s_mem());
  box->wbio = s.BIO_new(s.BIO_s_mem());
  if (box->ssl == nullptr || box->rbio == nullptr || box->wbio == nullptr) {
    if (box->rbio != nullptr) s.BIO_free(box->rbio);
    if (box->wbio != nullptr) s.BIO_free(box->wbio);
    if (box->ssl != nullptr) s.SSL_free(box->ssl);
    delete box;
    ThrowSslError(env, s, nullptr, "", 0);
  }
  // An empty BIO means "retry" (want-read), not EOF, as Python's MemoryBIO.
  s.BIO_ctrl(box->rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nullptr);
  s.BIO_ctrl(box->wbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nullptr);
  s.SSL_set_bio(box->ssl, box->rbio, box->wbio);  // the SSL owns both now
  box->data = cb->data;
  box->data->refs++;
  napi_value handle = WrapBox(env, box);
  SSL* ssl = box->ssl;
  bool ok = true;
  if (!server && has_host) {
    if (!is_ip) ok = s.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) == 1;
    if (ok && check) {
      if (is_ip) {
        ok = s.X509_VERIFY_PARAM_set1_ip_asc(s.SSL_get0_param(ssl), host.c_str()) == 1;
      } else {
        s.SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = s.SSL_set1_host(ssl, host.c_str()) == 1;
      }
    }
  }
  if (!ok) {
    CloseSslBox(env, box);
    ThrowValueError(env, "invalid server_hostname");
  }
  if (server) s.SSL_set_accept_state(ssl);
  else s.SSL_set_connect_state(ssl);
  return handle;
}

// BIO_write of everything (a memory BIO takes all; int-sized chunks).
void FeedAll(napi_env env, const SslSyms& s, SslBox* box, const uint8_t* p, size_t n) {
  while (n > 0) {
    int chunk = n > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
    int w = s.BIO_write(box->rbio, p, chunk);
    if (w <= 0) ThrowSslError(env, s, nullptr, "", 0);  // out of memory
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// SSL_read_ex into [p, p+n): bytes, 0 at close_notify, -1 for want-read.
ssize_t ReadPlain(napi_env env, const SslSyms& s, SslBox* box, uint8_t* p, size_t n) {
  if (n == 0) ThrowValueError(env, "read buffer must not be empty");
  size_t got = 0;
  if (s.SSL_read_ex(box->ssl, p, n, &got) == 1) return static_cast<ssize_t>(got);
  int err = s.SSL_get_error(box->ssl, 0);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return -1;
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  ThrowSslError(env, s, box->ssl, box->hostname, err);
}

// How ReadAll stopped: the low bits of read_all's result (total * 8 + these).
constexpr int kEndWantRead = 0;   // nothing more to decrypt until more is fed
constexpr int kEndClosed = 1;     // the peer's close_notify
constexpr int kEndFull = 2;       // the window is full: more may be waiting
constexpr int kOutputPending = 4;  // the write BIO holds ciphertext for the peer
constexpr size_t kReadAllMax = size_t{1} << 30;  // keeps total * 8 exact in a double

// SSL_read_ex into [p, p+n) until it is full, want-read or close_notify
// (asyncio's read loop in one crossing, sparing the call that finds
// nothing); an error raises, dropping what was read, as that loop does.
napi_value ReadAll(napi_env env, const SslSyms& s, SslBox* box, uint8_t* p, size_t n) {
  if (n == 0) ThrowValueError(env, "read buffer must not be empty");
  if (n > kReadAllMax) n = kReadAllMax;
  size_t total = 0;
  int end = kEndFull;
  while (total < n) {
    size_t got = 0;
    if (s.SSL_read_ex(box->ssl, p + total, n - total, &got) == 1) {
      if (got == 0) {  // not OpenSSL's way; ends the loop all the same
        end = kEndWantRead;
        break;
      }
      total += got;
      continue;
    }
    int err = s.SSL_get_error(box->ssl, 0);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      end = kEndWantRead;
      break;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      end = kEndClosed;
      break;
    }
    ThrowSslError(env, s, box->ssl, box->hostname, err);
  }
  // Reading may queue a reply (a KeyUpdate's, a renegotiation's).
  if (s.BIO_ctrl_pending(box->wbio) > 0) end |= kOutputPending;
  return CountValue(env, static_cast<ssize_t>(total) * 8 + end);
}

// SSL_write_ex of all of [p, p+n): n, or -1 for want-read (mid-handshake).
ssize_t WritePlain(napi_env env, const SslSyms& s, SslBox* box, const uint8_t* p, size_t n) {
  if (n == 0) return 0;
  size_t put = 0;
  if (s.SSL_write_ex(box->ssl, p, n, &put) == 1) return static_cast<ssize_t>(put);
  int err = s.SSL_get_error(box->ssl, 0);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return -1;
  ThrowSslError(env, s, box->ssl, box->hostname, err);
}

size_t TakeCipher(const SslSyms& s, SslBox* box, uint8_t* p, size_t n) {
  if (n == 0) return 0;
  int r = s.BIO_read(box->wbio, p, n > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n));
  return r > 0 ? static_cast<size_t>(r) : 0;
}

// memtls_feed(h, buf, off, len) -> bytes taken (all of them)
napi_value Feed(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan in = Window(env, argv, 1, "data must be a bytes-like object");
  SslErrorScope scope(s);
  FeedAll(env, s, box, in.data, in.length);
  return CountValue(env, static_cast<ssize_t>(in.length));
}

// memtls_feed_eof(h): the peer's transport ended; reads past the data fed fail.
napi_value FeedEof(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  Syms(env).BIO_ctrl(box->rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, 0, nullptr);
  return nullptr;
}

// memtls_handshake(h) -> 1 done, -1 want-read
napi_value Handshake(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  SslErrorScope scope(s);
  int r = s.SSL_do_handshake(box->ssl);
  if (r == 1) return CountValue(env, 1);
  int err = s.SSL_get_error(box->ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return CountValue(env, -1);
  ThrowSslError(env, s, box->ssl, box->hostname, err);
}

napi_value Read(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan out = Window(env, argv, 1, "buffer must be a writable bytes-like object");
  SslErrorScope scope(s);
  return CountValue(env, ReadPlain(env, s, box, out.data, out.length));
}

napi_value Write(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan in = Window(env, argv, 1, "data must be a bytes-like object");
  SslErrorScope scope(s);
  return CountValue(env, WritePlain(env, s, box, in.data, in.length));
}

napi_value Take(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan out = Window(env, argv, 1, "buffer must be a writable bytes-like object");
  return CountValue(env, static_cast<ssize_t>(TakeCipher(s, box, out.data, out.length)));
}

napi_value Pending(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  return CountValue(env, static_cast<ssize_t>(Syms(env).BIO_ctrl_pending(box->wbio)));
}

// memtls_feed_read(h, cipher, off, len, plainOut) -> plaintext bytes | 0 | -1
napi_value FeedRead(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan in = Window(env, argv, 1, "data must be a bytes-like object");
  ByteSpan out = BytesValue(env, argv[4], "buffer must be a writable bytes-like object");
  SslErrorScope scope(s);
  FeedAll(env, s, box, in.data, in.length);
  return CountValue(env, ReadPlain(env, s, box, out.data, out.length));
}

// memtls_read_all(h, buf, off, len) -> plaintext bytes * 8 + how it stopped
napi_value ReadAllCall(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan out = Window(env, argv, 1, "buffer must be a writable bytes-like object");
  SslErrorScope scope(s);
  return ReadAll(env, s, box, out.data, out.length);
}

// memtls_feed_read_all(h, cipher, off, len, plainOut) -> as memtls_read_all
napi_value FeedReadAll(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan in = Window(env, argv, 1, "data must be a bytes-like object");
  ByteSpan out = BytesValue(env, argv[4], "buffer must be a writable bytes-like object");
  SslErrorScope scope(s);
  FeedAll(env, s, box, in.data, in.length);
  return ReadAll(env, s, box, out.data, out.length);
}

// memtls_write_take(h, plain, off, len, cipherOut) -> ciphertext bytes | -1
napi_value WriteTake(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  ByteSpan in = Window(env, argv, 1, "data must be a bytes-like object");
  ByteSpan out = BytesValue(env, argv[4], "buffer must be a writable bytes-like object");
  SslErrorScope scope(s);
  if (WritePlain(env, s, box, in.data, in.length) < 0) return CountValue(env, -1);
  return CountValue(env, static_cast<ssize_t>(TakeCipher(s, box, out.data, out.length)));
}

// memtls_shutdown(h) -> 1 both close_notify seen, 0 ours sent, -1 want-read
napi_value Shutdown(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  SslErrorScope scope(s);
  int r = s.SSL_shutdown(box->ssl);
  if (r >= 0) return CountValue(env, r == 1 ? 1 : 0);
  int err = s.SSL_get_error(box->ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return CountValue(env, -1);
  ThrowSslError(env, s, box->ssl, box->hostname, err);
}

napi_value PeerCertificate(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  SslErrorScope scope(s);
  X509* x = s.SSL_get1_peer_certificate(box->ssl);
  if (x == nullptr) return Napi::Env(env).Null();
  int len = s.i2d_X509(x, nullptr);
  if (len <= 0) {
    s.X509_free(x);
    ThrowSslError(env, s, nullptr, "", 0);
  }
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(len));
  unsigned char* p = buf.Data();
  s.i2d_X509(x, &p);
  s.X509_free(x);
  return buf;
}

napi_value Cipher(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  const SSL_CIPHER* c = s.SSL_get_current_cipher(box->ssl);
  if (c == nullptr) return Napi::Env(env).Null();
  Napi::Array a = Napi::Array::New(env, 3);
  const char* name = s.SSL_CIPHER_get_name(c);
  const char* version = s.SSL_CIPHER_get_version(c);
  a.Set(0u, Napi::String::New(env, name != nullptr ? name : ""));
  a.Set(1u, Napi::String::New(env, version != nullptr ? version : ""));
  a.Set(2u, Napi::Number::New(env, s.SSL_CIPHER_get_bits(c, nullptr)));
  return a;
}

napi_value Version(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  if (s.SSL_is_init_finished(box->ssl) != 1) return Napi::Env(env).Null();  // Python: None before the handshake
  const char* v = s.SSL_get_version(box->ssl);
  return v != nullptr ? Napi::String::New(env, v) : Napi::Env(env).Null();
}

napi_value AlpnSelected(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const unsigned char* p = nullptr;
  unsigned n = 0;
  Syms(env).SSL_get0_alpn_selected(box->ssl, &p, &n);
  if (p == nullptr || n == 0) return Napi::Env(env).Null();
  return Napi::String::New(env, reinterpret_cast<const char*>(p), n);
}

napi_value VerifyResult(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  const SslSyms& s = Syms(env);
  long code = s.SSL_get_verify_result(box->ssl);
  const char* msg = s.X509_verify_cert_error_string(code);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, static_cast<double>(code)));
  a.Set(1u, Napi::String::New(env, msg != nullptr ? msg : ""));
  return a;
}

napi_value SessionReused(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  return Napi::Boolean::New(env, Syms(env).SSL_session_reused(box->ssl) == 1);
}

napi_value HandshakeDone(napi_env env, const napi_value* argv) {
  SslBox* box = Conn(env, argv[0]);
  return Napi::Boolean::New(env, Syms(env).SSL_is_init_finished(box->ssl) == 1);
}

}  // namespace

void InitSslConn(Napi::Env env, Napi::Object exports) {
  exports.Set("memtls_conn_new", FunctionN<5, ConnNew>(env, "memtls_conn_new"));
  exports.Set("memtls_feed", FunctionN<4, Feed>(env, "memtls_feed"));
  exports.Set("memtls_feed_eof", FunctionN<1, FeedEof>(env, "memtls_feed_eof"));
  exports.Set("memtls_handshake", FunctionN<1, Handshake>(env, "memtls_handshake"));
  exports.Set("memtls_read", FunctionN<4, Read>(env, "memtls_read"));
  exports.Set("memtls_write", FunctionN<4, Write>(env, "memtls_write"));
  exports.Set("memtls_take", FunctionN<4, Take>(env, "memtls_take"));
  exports.Set("memtls_pending", FunctionN<1, Pending>(env, "memtls_pending"));
  exports.Set("memtls_feed_read", FunctionN<5, FeedRead>(env, "memtls_feed_read"));
  exports.Set("memtls_read_all", FunctionN<4, ReadAllCall>(env, "memtls_read_all"));
  exports.Set("memtls_feed_read_all", FunctionN<5, FeedReadAll>(env, "memtls_feed_read_all"));
  exports.Set("memtls_write_take", FunctionN<5, WriteTake>(env, "memtls_write_take"));
  exports.Set("memtls_shutdown", FunctionN<1, Shutdown>(env, "memtls_shutdown"));
  exports.Set("memtls_peer_certificate", FunctionN<1, PeerCertificate>(env, "memtls_peer_certificate"));
  exports.Set("memtls_cipher", FunctionN<1, Cipher>(env, "memtls_cipher"));
  exports.Set("memtls_version", FunctionN<1, Version>(env, "memtls_version"));
  exports.Set("memtls_alpn_selected", FunctionN<1, AlpnSelected>(env, "memtls_alpn_selected"));
  exports.Set("memtls_verify_result", FunctionN<1, VerifyResult>(env, "memtls_verify_result"));
  exports.Set("memtls_session_reused", FunctionN<1, SessionReused>(env, "memtls_session_reused"));
  exports.Set("memtls_handshake_done", FunctionN<1, HandshakeDone>(env, "memtls_handshake_done"));
}

}  // namespace iomux
