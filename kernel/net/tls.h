// TLS contexts over OpenSSL for the Kafka listeners (kernel/net/server.h)
// and the connections between nodes (kernel/rpc): certificates and keys
// from PEM files, TLS 1.2 and 1.3 only, and the few OpenSSL helpers both
// need. Asio stays out of this header.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kernel/base/status.h"

typedef struct ssl_st SSL;  // NOLINT(modernize-use-using): OpenSSL's own declaration
namespace boost::asio::ssl {
class context;
}

namespace mosaic::net {

// TLS on a listener (SSL, SASL_SSL), over OpenSSL: the certificate and key
// from PEM files, which are read again when they change (checked at most
// once a second, as connections arrive) and on reload_tls(). The same
// settings describe a node's end of a connection to another node.
struct tls_settings {
  std::string keystore;              // PEM: the certificate chain and the private key
  std::string key_password;          // of an encrypted key ("" for none)
  std::string truststore;            // PEM: the CAs client certificates chain to ("" for none)
  std::string client_auth = "none";  // required, requested or none
  std::vector<std::string> protocols = {"TLSv1.2", "TLSv1.3"};
  std::string ciphers;  // TLS 1.2 cipher list ("" for OpenSSL's default)
  // A client certificate's subject (RFC 2253) as a principal's name, or
  // nothing to refuse the connection. Unset: the subject itself.
  std::function<std::optional<std::string>(const std::string& subject)> principal_of;
};

enum class tls_role { server, client };

// A context from `t` and its files; errors name the key and the file.
// A server presents the keystore and asks for client certificates as
// client_auth says. A client presents the keystore when there is one and
// always verifies the server's chain against the truststore (which it
// then needs).
result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const tls_settings& t,
                                                                    tls_role role = tls_role::server);

// A context kept in step with its files: made again when the keystore or
// the truststore changes (their modification time or size, looked at no
// more than once a second, when a connection asks for the context) and on
// reload(). Files that do not load keep the context before them, and say
// so in the log. Connections keep the context they began with. Thread-safe.
class tls_context_source {
 public:
  // `what` names the user in messages ("listener SSL", "node links").
  static result<std::unique_ptr<tls_context_source>> make(tls_settings t, tls_role role, std::string what);

  // The context for a new connection (reloaded first if the files changed).
  std::shared_ptr<boost::asio::ssl::context> current();
  // Reads the files again now.
  status reload();
  const tls_settings& settings() const noexcept { return settings_; }
  uint64_t reloads() const;

 private:
  using stamps = std::array<std::pair<int64_t, int64_t>, 2>;
  tls_context_source(tls_settings t, tls_role role, std::string what, std::shared_ptr<boost::asio::ssl::context> ctx,
                     stamps files_then);
  stamps files() const;
  status reload_locked();

  const tls_settings settings_;
  const tls_role role_;
  const std::string what_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  stamps stamps_{};
  std::chrono::steady_clock::time_point checked_{};
  uint64_t reloads_ = 0;
};

// OpenSSL's last error in words (and the error queue cleared), or
// `fallback` when it has none.
std::string openssl_error(const std::string& fallback);

// The subject of the peer's certificate in RFC 2253 form ("" for none).
std::string peer_subject(SSL* ssl);

}  // namespace mosaic::net
