#include "kernel/security/authorizer_slot.h"

#include <chrono>
#include <utility>

#include "kernel/base/log.h"
#include "mosaic/sdk/authorizer.h"

namespace mosaic::security {

namespace {

// The question as the ABI carries it (views into the caller's strings).
sdk::authz_action action_of(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
                            adapter::acl_resource type, std::string_view name, bool on_some) {
  sdk::authz_action a;
  a.principal_type = who.type;
  a.principal_name = who.name;
  a.host = host;
  a.operation = static_cast<int32_t>(op);
  a.resource_type = static_cast<int32_t>(type);
  a.on_some = on_some;
  a.resource_name = name;
  return a;
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void authorizer_slot::set_acls(std::shared_ptr<const adapter::authorizer> acls) {
  std::lock_guard lock(acls_mu_);
  acls_ = std::move(acls);
}

uint64_t authorizer_slot::install(const std::shared_ptr<plugin::instance>& inst) { return slot_.publish(inst); }

std::string authorizer_slot::current_name() const {
  auto gen = slot_.current();
  return gen ? gen->inst->factory().name : "";
}

int32_t authorizer_slot::acl_decision(void* ctx, const mosaic_authz_action_v1* a) {
  const auto* self = static_cast<const authorizer_slot*>(ctx);
  if (a == nullptr || a->struct_size < sizeof(mosaic_authz_action_v1)) return MOSAIC_AUTHZ_DENY;
  std::shared_ptr<const adapter::authorizer> acls;
  {
    std::lock_guard lock(self->acls_mu_);
    acls = self->acls_;
  }
  if (!acls) return MOSAIC_AUTHZ_DENY;
  const sdk::authz_action q(*a);
  const adapter::principal who{std::string(q.principal_type), std::string(q.principal_name)};
  const auto op = static_cast<adapter::acl_operation>(q.operation);
  const auto type = static_cast<adapter::acl_resource>(q.resource_type);
  const bool yes =
      q.on_some ? acls->allowed_on_some(who, q.host, op, type) : acls->allowed(who, q.host, op, type, q.resource_name);
  return yes ? MOSAIC_AUTHZ_ALLOW : MOSAIC_AUTHZ_DENY;
}

bool authorizer_slot::decide(const mosaic_authz_action_v1& action) const {
  auto gen = slot_.current();
  if (!gen) return false;
  const mosaic_authz_host_v1 host{sizeof(mosaic_authz_host_v1), const_cast<authorizer_slot*>(this), &acl_decision};
  int32_t decision = -1;
  char message[256] = {0};
  mosaic_error_v1 err{message, sizeof(message)};
  const auto began = plugin::call_meter::start();
  const mosaic_status_t st = gen->vt().authorize(gen->handle, &host, &action, &decision, &err);
  const bool valid = st == MOSAIC_OK && (decision == MOSAIC_AUTHZ_ALLOW || decision == MOSAIC_AUTHZ_DENY);
  gen->meter.done(began, valid);
  if (valid) return decision == MOSAIC_AUTHZ_ALLOW;
  faults_.fetch_add(1, std::memory_order_relaxed);
  // At most one line every ten seconds: a broken policy must not flood the log.
  const int64_t now = steady_ms();
  int64_t last = last_fault_log_ms_.load(std::memory_order_relaxed);
  if (now - last >= 10000 && last_fault_log_ms_.compare_exchange_strong(last, now))
    log::error("authorizer {} (generation {}) failed a check, which is denied: {} ({} failed so far)",
               gen->inst->factory().name, gen->number,
               st != MOSAIC_OK ? std::string(message) : "an answer the ABI does not allow", faults());
  return false;
}

bool authorizer_slot::allowed(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
                              adapter::acl_resource type, std::string_view name) const {
  return decide(action_of(who, host, op, type, name, false).abi());
}

bool authorizer_slot::allowed_on_some(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
                                      adapter::acl_resource type) const {
  return decide(action_of(who, host, op, type, {}, true).abi());
}

}  // namespace mosaic::security
