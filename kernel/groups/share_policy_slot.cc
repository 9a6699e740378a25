#include "kernel/groups/share_policy_slot.h"

#include "kernel/base/log.h"

namespace mosaic::groups {

namespace {

// One generation of a policy plugin, as the kernel's share_policy.
class plugin_policy final : public share_policy {
 public:
  using generation = plugin::slot<mosaic_share_policy_vtable_v1>::generation_ptr;
  plugin_policy(generation g, std::atomic<uint64_t>* failures) : gen_(std::move(g)), failures_(failures) {}

  share_decision decide(const share_event& e) const override {
    mosaic_share_event_v1 ev{sizeof(ev), static_cast<int32_t>(e.cause), e.delivery_count, e.delivery_limit, e.renewals,
                             e.lock_ms,  e.dead_letter_topic ? 1 : 0};
    mosaic_share_decision_v1 out{sizeof(out), MOSAIC_SHARE_REDELIVER, 0};
    char message[256] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    const auto began = plugin::call_meter::start();
    const mosaic_status_t s = gen_->vt().decide(gen_->handle, &ev, &out, &err);
    const bool valid = s == MOSAIC_OK && out.decision >= MOSAIC_SHARE_REDELIVER && out.decision <= MOSAIC_SHARE_REFUSE;
    gen_->meter.done(began, valid);
    if (!valid) {
      // Kafka's rules for this decision; say so now and then, not per record.
      const uint64_t n = failures_->fetch_add(1) + 1;
      if (n == 1 || n % 1000 == 0)
        log::warn("share policy {} failed ({} time(s)): {}; Kafka's rules applied", gen_->inst->factory().name, n,
                  s != MOSAIC_OK ? std::string(message) : "an unknown decision " + std::to_string(out.decision));
      return kafka_share_policy().decide(e);
    }
    return {static_cast<share_decision::kind>(out.decision), out.delay_ms};
  }

 private:
  generation gen_;
  std::atomic<uint64_t>* failures_;
};

}  // namespace

result<uint64_t> share_policy_slot::install(std::shared_ptr<plugin::instance> inst) {
  if (inst->factory().category != MOSAIC_CATEGORY_SHARE_POLICY)
    return status(errc::invalid_argument, std::string(inst->factory().name) + " is not a share policy");
  return slot_.publish(std::move(inst));
}

std::shared_ptr<const share_policy> share_policy_slot::current() const {
  auto gen = slot_.current();
  if (!gen) return nullptr;
  return std::make_shared<plugin_policy>(std::move(gen), &failures_);
}

void share_policy_slot::visit(const plugin::meter_visitor& fn) const { slot_.visit("group.share.policy", fn); }

std::string share_policy_slot::current_name() const {
  auto gen = slot_.current();
  return gen ? gen->inst->factory().name : "";
}

}  // namespace mosaic::groups
