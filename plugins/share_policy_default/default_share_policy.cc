// Kafka's share-group semantics (KIP-932), as a policy: a released or timed
// out record is offered again at once, a rejected one is dead-lettered when
// the group has a dead-letter topic (KIP-1191) and archived otherwise, and
// every RENEW is granted (KIP-1222). The broker archives a record at the
// delivery limit whatever a policy says.
#include "mosaic/sdk/share_policy.h"

namespace {

using mosaic::sdk::share_cause;
using mosaic::sdk::share_decision;

class default_share_policy : public mosaic::sdk::share_policy<default_share_policy> {
 public:
  static constexpr const char* name = "mosaic.share_policy.default";
  static constexpr const char* description = "Kafka's share group semantics: redeliver at once, renew always";

  default_share_policy(const mosaic::sdk::config&, mosaic::sdk::host) {}

  share_decision decide(const mosaic::sdk::share_event& e) const {
    switch (e.cause) {
      case share_cause::renew: return {share_decision::renew, 0};
      case share_cause::reject: return {share_decision::dead_letter, 0};
      case share_cause::release:
      case share_cause::lock_timeout: break;
    }
    if (e.delivery_count >= e.delivery_limit) return {share_decision::dead_letter, 0};
    return {share_decision::redeliver, 0};
  }
};

}  // namespace

MOSAIC_PLUGIN("mosaic-share-policy-default", "0.1.0", default_share_policy)
