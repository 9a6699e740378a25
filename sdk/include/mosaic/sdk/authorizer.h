// C++ side of the authorizer category: derive from `authorizer<T>` and
// decide actions:
//
//   class my_authz : public mosaic::sdk::authorizer<my_authz> {
//    public:
//     static constexpr const char* name = "com.acme.authz.hours";
//     my_authz(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     bool authorize(const mosaic::sdk::authz_action& a, const mosaic::sdk::authz_host& h) const;
//   };
//
// `authorize` runs on many threads at once, for every resource of every
// request: keep it fast and non-blocking (see mosaic/abi/authorizer.h).
// `h.acls(a)` is what the cluster's ACLs decide, for a policy that builds
// on them. An exception is a fault: the host denies and logs it.
#pragma once

#include <cstdint>
#include <string_view>

#include "mosaic/abi/authorizer.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

// Kafka's names for the codes, as `mosaic acl` and Kafka's tools spell them.
inline std::string_view authz_operation_name(int32_t op) noexcept {
  switch (op) {
    case MOSAIC_AUTHZ_OP_ALL: return "All";
    case MOSAIC_AUTHZ_OP_READ: return "Read";
    case MOSAIC_AUTHZ_OP_WRITE: return "Write";
    case MOSAIC_AUTHZ_OP_CREATE: return "Create";
    case MOSAIC_AUTHZ_OP_DELETE: return "Delete";
    case MOSAIC_AUTHZ_OP_ALTER: return "Alter";
    case MOSAIC_AUTHZ_OP_DESCRIBE: return "Describe";
    case MOSAIC_AUTHZ_OP_CLUSTER_ACTION: return "ClusterAction";
    case MOSAIC_AUTHZ_OP_DESCRIBE_CONFIGS: return "DescribeConfigs";
    case MOSAIC_AUTHZ_OP_ALTER_CONFIGS: return "AlterConfigs";
    case MOSAIC_AUTHZ_OP_IDEMPOTENT_WRITE: return "IdempotentWrite";
    case MOSAIC_AUTHZ_OP_CREATE_TOKENS: return "CreateTokens";
    case MOSAIC_AUTHZ_OP_DESCRIBE_TOKENS: return "DescribeTokens";
    default: return "";
  }
}
inline std::string_view authz_resource_name(int32_t type) noexcept {
  switch (type) {
    case MOSAIC_AUTHZ_RESOURCE_TOPIC: return "Topic";
    case MOSAIC_AUTHZ_RESOURCE_GROUP: return "Group";
    case MOSAIC_AUTHZ_RESOURCE_CLUSTER: return "Cluster";
    case MOSAIC_AUTHZ_RESOURCE_TRANSACTIONAL_ID: return "TransactionalId";
    case MOSAIC_AUTHZ_RESOURCE_DELEGATION_TOKEN: return "DelegationToken";
    case MOSAIC_AUTHZ_RESOURCE_USER: return "User";
    default: return "";
  }
}

// One question, as views into the host's strings (valid for the call).
struct authz_action {
  std::string_view principal_type;  // "User"
  std::string_view principal_name;  // "alice"
  std::string_view host;            // the client's address, no port
  int32_t operation = 0;            // MOSAIC_AUTHZ_OP_*
  int32_t resource_type = 0;        // MOSAIC_AUTHZ_RESOURCE_*
  bool on_some = false;             // on some resource of the type (no name)
  std::string_view resource_name;

  explicit authz_action(const mosaic_authz_action_v1& a)
      : principal_type(view(a.principal_type, a.principal_type_len)),
        principal_name(view(a.principal_name, a.principal_name_len)),
        host(view(a.host, a.host_len)),
        operation(a.operation),
        resource_type(a.resource_type),
        on_some(a.on_some != 0),
        resource_name(view(a.resource_name, a.resource_name_len)) {}
  authz_action() = default;

  mosaic_authz_action_v1 abi() const noexcept {
    return {sizeof(mosaic_authz_action_v1),
            principal_type.data(),
            principal_type.size(),
            principal_name.data(),
            principal_name.size(),
            host.data(),
            host.size(),
            operation,
            resource_type,
            on_some ? 1 : 0,
            resource_name.data(),
            resource_name.size()};
  }

 private:
  static std::string_view view(const char* p, size_t n) noexcept {
    return p == nullptr ? std::string_view{} : std::string_view(p, n);
  }
};

// What the host offers during a call.
class authz_host {
 public:
  explicit authz_host(const mosaic_authz_host_v1* h) : h_(h) {}
  // Whether the cluster's ACLs allow `a` (false on a host that offers none).
  bool acls(const authz_action& a) const noexcept {
    if (h_ == nullptr || h_->acl_decision == nullptr) return false;
    const mosaic_authz_action_v1 raw = a.abi();
    return h_->acl_decision(h_->host_ctx, &raw) == MOSAIC_AUTHZ_ALLOW;
  }

 private:
  const mosaic_authz_host_v1* h_;
};

template <class T>
struct authorizer_binding {
  static mosaic_status_t authorize(void* instance, const mosaic_authz_host_v1* host, const mosaic_authz_action_v1* a,
                                   int32_t* decision, mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      const bool yes = static_cast<const T*>(instance)->authorize(authz_action(*a), authz_host(host));
      *decision = yes ? MOSAIC_AUTHZ_ALLOW : MOSAIC_AUTHZ_DENY;
    });
  }
  static constexpr mosaic_authorizer_vtable_v1 table = {sizeof(mosaic_authorizer_vtable_v1), &authorize};
};

template <class T>
struct authorizer {
  static constexpr int32_t category = MOSAIC_CATEGORY_AUTHORIZER;
  using binding = authorizer_binding<T>;
};

}  // namespace mosaic::sdk
