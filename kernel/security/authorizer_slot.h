// The authorizer as a hot-swappable plugin slot (`authorizer: <plugin id>`):
// every check goes to the current generation of an authorizer plugin
// (mosaic/abi/authorizer.h), which may ask what the cluster's ACLs decide.
// A swap (SIGHUP with a changed config block, or another plugin named)
// applies to checks begun after it. A plugin fault, an answer the ABI does
// not allow, or an empty slot denies: the broker fails closed.
//
// Threading: `install` and `set_acls` on the control thread; the checks
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "kernel/plugin/slot.h"
#include "mosaic/abi/authorizer.h"
#include "mosaic/adapter/security.h"

namespace mosaic::security {

class authorizer_slot final : public adapter::authorizer {
 public:
  using slot = plugin::slot<mosaic_authorizer_vtable_v1>;

  authorizer_slot() = default;
  authorizer_slot(const authorizer_slot&) = delete;
  authorizer_slot& operator=(const authorizer_slot&) = delete;

  // The ACLs a plugin may defer to (the metadata log's, once the broker
  // service is up); until then they deny.
  void set_acls(std::shared_ptr<const adapter::authorizer> acls);
  // Publishes an authorizer plugin instance; returns its generation.
  uint64_t install(const std::shared_ptr<plugin::instance>& inst);
  // The plugin id of the current generation ("" before the first).
  std::string current_name() const;
  // The current generation's calls (slot "authorizer").
  void visit(const plugin::meter_visitor& fn) const { slot_.visit("authorizer", fn); }
  // Checks the plugin faulted on (each denied).
  uint64_t faults() const noexcept { return faults_.load(std::memory_order_relaxed); }

  bool allowed(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
               adapter::acl_resource type, std::string_view name) const override;
  bool allowed_on_some(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
                       adapter::acl_resource type) const override;

 private:
  bool decide(const mosaic_authz_action_v1& action) const;
  static int32_t acl_decision(void* ctx, const mosaic_authz_action_v1* action);

  slot slot_;
  mutable std::mutex acls_mu_;
  std::shared_ptr<const adapter::authorizer> acls_;
  mutable std::atomic<uint64_t> faults_{0};
  mutable std::atomic<int64_t> last_fault_log_ms_{0};
};

}  // namespace mosaic::security
