// The OpenSSL functions memtls calls, looked up at run time in the running
// Node (which exports its OpenSSL's symbols), never linked: the addon has no
// OpenSSL of its own and loads on a Node without one. Node's own headers give
// the types (node-gyp puts include/node, with its openssl/, on the path), so
// each pointer has exactly the prototype of the Node it was built against.
// OpenSSL's macros that expand to SSL_ctrl/SSL_CTX_ctrl/BIO_ctrl go through
// the looked-up ctrl functions (see ssl.h).
#pragma once
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace iomux {

#define IOMUX_SSL_SYMBOLS(X)                                                              \
  X(OpenSSL_version) X(TLS_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_ctrl)         \
  X(SSL_CTX_set_options) X(SSL_CTX_set_verify) X(SSL_CTX_use_certificate)                 \
  X(SSL_CTX_use_PrivateKey) X(SSL_CTX_check_private_key) X(SSL_CTX_get_cert_store)        \
  X(SSL_CTX_set_cipher_list) X(SSL_CTX_set_ciphersuites) X(SSL_CTX_set_alpn_protos)       \
  X(SSL_CTX_set_alpn_select_cb) X(SSL_CTX_set_timeout) X(SSL_CTX_set_session_id_context)  \
  X(SSL_select_next_proto) X(X509_STORE_add_cert) X(PEM_read_bio_X509)                    \
  X(PEM_read_bio_X509_AUX) X(PEM_read_bio_PrivateKey) X(X509_free) X(EVP_PKEY_free)       \
  X(BIO_new) X(BIO_new_mem_buf) X(BIO_s_mem) X(BIO_free) X(BIO_read) X(BIO_write)         \
  X(BIO_ctrl) X(BIO_ctrl_pending) X(SSL_new) X(SSL_free) X(SSL_ctrl) X(SSL_set_bio)       \
  X(SSL_set_connect_state) X(SSL_set_accept_state) X(SSL_do_handshake) X(SSL_read_ex)     \
  X(SSL_write_ex) X(SSL_get_error) X(SSL_shutdown) X(SSL_set1_host) X(SSL_set_hostflags)  \
  X(SSL_get0_param) X(X509_VERIFY_PARAM_set1_ip_asc) X(SSL_get_verify_result)             \
  X(X509_verify_cert_error_string) X(SSL_get1_peer_certificate) X(i2d_X509)               \
  X(SSL_get_current_cipher) X(SSL_CIPHER_get_name) X(SSL_CIPHER_get_version)              \
  X(SSL_CIPHER_get_bits) X(SSL_get_version) X(SSL_get0_alpn_selected)                     \
  X(SSL_session_reused) X(SSL_is_init_finished) X(ERR_peek_error) X(ERR_peek_last_error)  \
  X(ERR_clear_error) X(ERR_reason_error_string) X(ERR_lib_error_string)

// One pointer per function, typed as Node's header declares it.
struct SslSyms {
#define IOMUX_SSL_FIELD(name) decltype(&::name) name;
  IOMUX_SSL_SYMBOLS(IOMUX_SSL_FIELD)
#undef IOMUX_SSL_FIELD
};

// The table, resolved once per process; nullptr when a symbol is missing,
// and then *why names it ("symbol SSL_new not found in the running node").
const SslSyms* GetSslSyms(const char** why);

}  // namespace iomux
