#include "kernel/net/tls.h"

#include <utility>
// Boost 1.74's Asio needs <utility> first under C++20 coroutines.
#include <algorithm>
#include <boost/asio/ssl/context.hpp>

#include <sys/stat.h>

#include "kernel/base/log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace mosaic::net {

namespace ssl = boost::asio::ssl;

std::string openssl_error(const std::string& fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

result<std::shared_ptr<ssl::context>> make_tls_context(const tls_settings& t, tls_role role) {
  const bool server = role == tls_role::server;
  auto ctx = std::make_shared<ssl::context>(server ? ssl::context::tls_server : ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  const bool v12 = std::find(t.protocols.begin(), t.protocols.end(), "TLSv1.2") != t.protocols.end();
  const bool v13 = std::find(t.protocols.begin(), t.protocols.end(), "TLSv1.3") != t.protocols.end();
  SSL_CTX_set_min_proto_version(c, v12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(c, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  if (!t.key_password.empty())
    ctx->set_password_callback([pw = t.key_password](size_t, ssl::context::password_purpose) { return pw; });
  boost::system::error_code ec;
  if (server || !t.keystore.empty()) {
    ctx->use_certificate_chain_file(t.keystore, ec);
    if (ec)
      return status(errc::config, "ssl.keystore.location " + t.keystore + ": no certificate chain (" +
                                      openssl_error(ec.message()) + ")");
    ctx->use_private_key_file(t.keystore, ssl::context::pem, ec);
    if (ec)
      return status(errc::config, "ssl.keystore.location " + t.keystore + ": no usable private key (" +
                                      openssl_error(ec.message()) + ")");
    if (SSL_CTX_check_private_key(c) != 1)
      return status(errc::config, "ssl.keystore.location " + t.keystore + ": the key does not match the certificate");
  }
  if (!t.ciphers.empty() && SSL_CTX_set_cipher_list(c, t.ciphers.c_str()) != 1)
    return status(errc::config, "ssl.cipher.suites '" + t.ciphers + "': no cipher OpenSSL knows");
  if (!t.truststore.empty()) {
    ctx->load_verify_file(t.truststore, ec);
    if (ec) return status(errc::config, "ssl.truststore.location " + t.truststore + ": " + openssl_error(ec.message()));
    // Tells clients which CAs their certificate must chain to.
    if (server)
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.truststore.c_str()))
        SSL_CTX_set_client_CA_list(c, names);
  } else if (!server) {
    return status(errc::config, "ssl.truststore.location: needed to verify the other end's certificate");
  }
  if (!server || t.client_auth == "required")
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  else if (t.client_auth == "requested")
    ctx->set_verify_mode(ssl::verify_peer);
  else
    ctx->set_verify_mode(ssl::verify_none);
  ERR_clear_error();
  return ctx;
}

std::string peer_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      if (n > 0) out.assign(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

namespace {

// A file's identity for reloads: its modification time and size.
std::pair<int64_t, int64_t> stamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {0, 0};
  return {static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, st.st_size};
}

}  // namespace

tls_context_source::tls_context_source(tls_settings t, tls_role role, std::string what,
                                       std::shared_ptr<ssl::context> ctx, stamps files_then)
    : settings_(std::move(t)), role_(role), what_(std::move(what)), ctx_(std::move(ctx)), stamps_(files_then) {}

result<std::unique_ptr<tls_context_source>> tls_context_source::make(tls_settings t, tls_role role, std::string what) {
  // Stamped before reading: a change while the first context is made is
  // seen at the next look.
  const stamps before{stamp(t.keystore), stamp(t.truststore)};
  auto ctx = make_tls_context(t, role);
  if (!ctx) return ctx.error();
  return std::unique_ptr<tls_context_source>(
      new tls_context_source(std::move(t), role, std::move(what), std::move(*ctx), before));
}

tls_context_source::stamps tls_context_source::files() const {
  return {stamp(settings_.keystore), stamp(settings_.truststore)};
}

std::shared_ptr<ssl::context> tls_context_source::current() {
  std::lock_guard g(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ >= std::chrono::seconds(1)) {
    checked_ = now;
    if (auto s = files(); s != stamps_) {
      stamps_ = s;
      (void)reload_locked();
    }
  }
  return ctx_;
}

status tls_context_source::reload() {
  std::lock_guard g(mu_);
  stamps_ = files();
  return reload_locked();
}

uint64_t tls_context_source::reloads() const {
  std::lock_guard g(mu_);
  return reloads_;
}

status tls_context_source::reload_locked() {
  auto fresh = make_tls_context(settings_, role_);
  if (!fresh) {
    log::error("{}: the TLS files changed but do not load, the old ones stay: {}", what_, fresh.error().message());
    return status(fresh.error().code(), what_ + ": " + fresh.error().message());
  }
  ctx_ = std::move(*fresh);
  ++reloads_;
  log::info("{}: certificate reloaded from {}", what_, settings_.keystore);
  return {};
}

}  // namespace mosaic::net
