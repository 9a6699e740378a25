// TLS for a blocking_client, on OpenSSL: the `mosaic` CLI's and the tests'
// way to reach an SSL or SASL_SSL listener. The server's certificate is
// checked against a CA file, and its name (or IP address) against the host
// connected to unless told not to (Kafka's
// ssl.endpoint.identification.algorithm); a client certificate and key can
// be given for mTLS. Link OpenSSL::SSL and mosaic_tls where this is included.
#pragma once

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <memory>
#include <string>

#include "kernel/net/tls.h"
#include "plugins/protocol_kafka/protocol/blocking_client.h"

namespace mosaic::kafka {

struct tls_client_options {
  std::string ca_file;    // PEM CAs the server's certificate must chain to
  std::string cert_file;  // the client's certificate (PEM; may hold the key too), "" for none
  std::string key_file;   // its key ("" : in cert_file)
  std::string key_password;
  std::string server_name;  // checked against the certificate; "" skips the check
  int timeout_ms = 10000;   // for the handshake
};

namespace tls_detail {

inline std::string last_error(const std::string& fallback) { return net::openssl_error(fallback); }

class openssl_transport final : public blocking_client::transport {
 public:
  openssl_transport(SSL_CTX* ctx, SSL* ssl) : ctx_(ctx), ssl_(ssl) {}
  ~openssl_transport() override {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  openssl_transport(const openssl_transport&) = delete;
  openssl_transport& operator=(const openssl_transport&) = delete;
  ssize_t send(const uint8_t* p, size_t n) override {
    size_t done = 0;
    return SSL_write_ex(ssl_, p, n, &done) == 1 ? static_cast<ssize_t>(done) : -1;
  }
  ssize_t recv(uint8_t* p, size_t n) override {
    size_t got = 0;
    return SSL_read_ex(ssl_, p, n, &got) == 1 ? static_cast<ssize_t>(got) : -1;
  }
  bool pending() const override { return SSL_pending(ssl_) > 0; }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
};

}  // namespace tls_detail

// Runs the TLS handshake on a connected client; false (with c.error())
// when it fails.
inline bool start_tls(blocking_client& c, const tls_client_options& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    c.set_error("TLS: " + tls_detail::last_error("no context"));
    return false;
  }
  auto fail = [&](const std::string& why, SSL* ssl = nullptr) {
    c.set_error("TLS: " + why);
    if (ssl) SSL_free(ssl);
    SSL_CTX_free(ctx);
    return false;
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx) != 1
                        : SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
    return fail("cannot read the CA file " + o.ca_file + ": " + tls_detail::last_error("?"));
  if (!o.key_password.empty()) SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<char*>(o.key_password.c_str()));
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1)
      return fail("cannot read the certificate " + o.cert_file + ": " + tls_detail::last_error("?"));
    const std::string& key = o.key_file.empty() ? o.cert_file : o.key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail("cannot read the key " + key + ": " + tls_detail::last_error("?"));
  }
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return fail(tls_detail::last_error("no session"));
  if (!o.server_name.empty()) {
    in6_addr ip6{};
    in_addr ip4{};
    const bool is_ip = ::inet_pton(AF_INET, o.server_name.c_str(), &ip4) == 1 ||
                       ::inet_pton(AF_INET6, o.server_name.c_str(), &ip6) == 1;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, o.server_name.c_str()) != 1
              : SSL_set1_host(ssl, o.server_name.c_str()) != 1)
      return fail("cannot check the name " + o.server_name, ssl);
    if (!is_ip) SSL_set_tlsext_host_name(ssl, o.server_name.c_str());
  }
  SSL_set_fd(ssl, c.fd());
  // The handshake blocks; the socket's timeouts bound it.
  timeval tv{o.timeout_ms / 1000, (o.timeout_ms % 1000) * 1000};
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(c.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (SSL_connect(ssl) != 1) {
    const long verify = SSL_get_verify_result(ssl);
    return fail(verify != X509_V_OK ? std::string("the broker's certificate: ") + X509_verify_cert_error_string(verify)
                                    : tls_detail::last_error("the handshake failed"),
                ssl);
  }
  timeval none{0, 0};
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  ::setsockopt(c.fd(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  c.use_transport(std::make_unique<tls_detail::openssl_transport>(ctx, ssl));
  return true;
}

}  // namespace mosaic::kafka
