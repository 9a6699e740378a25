// A listener's security, as a protocol adapter sees it: its security
// protocol, and the SASL mechanisms it offers (the authenticator plugins,
// kernel/security). The adapter owns the protocol's framing of SASL (Kafka:
// SaslHandshake, SaslAuthenticate); an exchange sees only the mechanism's
// bytes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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

// ACLs, as Kafka numbers their parts (AclOperation, ResourceType,
// PatternType, AclPermissionType). `any` and `match` appear in filters only.
enum class acl_operation : int8_t {
  unknown = 0,
  any = 1,
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  remove = 6,  // DELETE
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
  create_tokens = 13,
  describe_tokens = 14,
};
enum class acl_resource : int8_t {
  unknown = 0,
  any = 1,
  topic = 2,
  group = 3,
  cluster = 4,
  transactional_id = 5,
  delegation_token = 6,
  user = 7,
};
enum class acl_pattern : int8_t { unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4 };
enum class acl_permission : int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

// The cluster resource's one name, as Kafka spells it.
inline constexpr const char* cluster_resource_name = "kafka-cluster";

// Decides whether a principal may do an operation on a resource
// (kernel/security's ACL authorizer, or a site's own). Thread-safe, fast:
// called for every resource of every request.
class authorizer {
 public:
  virtual ~authorizer() = default;
  // `host`: the client's address without the port.
  virtual bool allowed(const principal& who, std::string_view host, acl_operation op, acl_resource type,
                       std::string_view name) const = 0;
  // Whether `who` may do `op` on some resource of the type (Kafka's
  // authorizeByResourceType: an idempotent producer needs WRITE on some
  // topic).
  virtual bool allowed_on_some(const principal& who, std::string_view host, acl_operation op,
                               acl_resource type) const = 0;
  // The operations `who` may do on the resource, as a bit set by operation
  // code (Kafka's authorized_operations fields).
  int32_t authorized_operations(const principal& who, std::string_view host, acl_resource type, std::string_view name,
                                std::initializer_list<acl_operation> ops) const {
    int32_t bits = 0;
    for (auto op : ops)
      if (allowed(who, host, op, type, name)) bits |= int32_t{1} << static_cast<int>(op);
    return bits;
  }
};

struct listener_security {
  // PLAINTEXT or SASL_PLAINTEXT (SSL and SASL_SSL come with TLS).
  std::string protocol = "PLAINTEXT";
  bool sasl() const { return protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL"; }
  std::shared_ptr<const sasl_mechanisms> mechanisms;  // set when sasl()
  int64_t max_reauth_ms = 0;                          // connections.max.reauth.ms (0: sessions do not expire)
  int64_t failed_auth_delay_ms = 100;                 // connection.failed.authentication.delay.ms
  size_t max_receive_bytes = 524288;                  // sasl.server.max.receive.size: any frame before authentication
  // Null: no authorizer, every request is allowed (and the ACL APIs answer
  // SECURITY_DISABLED), as Kafka without authorizer.class.name.
  std::shared_ptr<const authorizer> authz;
};

}  // namespace mosaic::adapter
