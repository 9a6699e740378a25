// A listener's security, as a protocol adapter sees it: its security
// protocol, and the SASL mechanisms it offers (the authenticator plugins,
// kernel/security). The adapter owns the protocol's framing of SASL (Kafka:
// SaslHandshake, SaslAuthenticate); an exchange sees only the mechanism's
// bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mosaic/adapter/adapter.h"

namespace mosaic::adapter {

enum class log_level { debug, info, warn, error };

// Who a connection acts for: "User:alice", or "User:ANONYMOUS" before (or
// without) authentication, as Kafka names them.
struct principal {
  std::string type = "User";
  std::string name = "ANONYMOUS";
  std::string str() const { return type + ":" + name; }
};

struct sasl_step {
  enum class state { challenge, success, failure } st = state::failure;
  std::vector<uint8_t> response;    // bytes for the client
  std::string principal;            // on success: the name ("alice")
  std::string message;              // on failure: what the client may be told (no secrets)
  int64_t session_lifetime_ms = 0;  // on success: the credential's own lifetime, 0 for none
};

// One authentication under way. Stepped by one thread at a time; it may
// take milliseconds (a password hash): call it off the network threads.
class sasl_exchange {
 public:
  virtual ~sasl_exchange() = default;
  virtual sasl_step step(std::span<const uint8_t> client_message) = 0;
};

// The mechanisms one listener offers. Thread-safe.
class sasl_mechanisms {
 public:
  virtual ~sasl_mechanisms() = default;
  // Enabled on the listener and served by a loaded authenticator, in the
  // listener's order.
  virtual std::vector<std::string> enabled() const = 0;
  // Null when `mechanism` is not enabled here. `reauthenticating` is the
  // connection's principal name when it re-authenticates, else empty.
  virtual std::unique_ptr<sasl_exchange> begin(const std::string& mechanism, const peer& p,
                                               const std::string& reauthenticating) const = 0;
};

struct listener_security {
  // PLAINTEXT or SASL_PLAINTEXT (SSL and SASL_SSL come with TLS).
  std::string protocol = "PLAINTEXT";
  bool sasl() const { return protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL"; }
  std::shared_ptr<const sasl_mechanisms> mechanisms;  // set when sasl()
  int64_t max_reauth_ms = 0;                          // connections.max.reauth.ms (0: sessions do not expire)
  int64_t failed_auth_delay_ms = 100;                 // connection.failed.authentication.delay.ms
  size_t max_receive_bytes = 524288;                  // sasl.server.max.receive.size: any frame before authentication
};

}  // namespace mosaic::adapter
