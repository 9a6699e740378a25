// A share policy for work that fails for a while (a database that is down,
// a rate limit): a released or timed out record is not offered again at
// once, which would burn its deliveries in a few milliseconds, but after a
// delay that doubles with each delivery, as a retry queue would do it. And
// a worker may renew its lock only so many times, so a stuck worker cannot
// hold a record for ever.
//
//   delay = min(backoff.initial.ms * 2^(delivery_count - 1), backoff.max.ms)
//
// Rejects are dead-lettered (or archived) as in Kafka, and the broker still
// archives a record at the delivery limit.
#include <algorithm>

#include "mosaic/sdk/share_policy.h"

namespace {

namespace sdk = mosaic::sdk;
using sdk::share_cause;
using sdk::share_decision;

class backoff_share_policy : public sdk::share_policy<backoff_share_policy> {
 public:
  static constexpr const char* name = "mosaic.share_policy.backoff";
  static constexpr const char* description =
      "redeliver after an exponential backoff; a cap on lock renewals per delivery";
  static constexpr sdk::field config_fields[] = {
      sdk::int_field("backoff.initial.ms", "1000", "the delay before the second delivery", 0, 86400000),
      sdk::int_field("backoff.max.ms", "60000", "the longest delay", 0, 86400000),
      sdk::int_field("renew.max", "10", "RENEWs granted per delivery; more are refused", 0, 1000000)};

  backoff_share_policy(const sdk::config& cfg, sdk::host)
      : initial_(cfg.get_int("backoff.initial.ms", 1000)),
        max_(cfg.get_int("backoff.max.ms", 60000)),
        renew_max_(cfg.get_int("renew.max", 10)) {}

  share_decision decide(const sdk::share_event& e) const {
    switch (e.cause) {
      case share_cause::renew: return {e.renewals < renew_max_ ? share_decision::renew : share_decision::refuse, 0};
      case share_cause::reject: return {share_decision::dead_letter, 0};
      case share_cause::release:
      case share_cause::lock_timeout: break;
    }
    if (e.delivery_count >= e.delivery_limit) return {share_decision::dead_letter, 0};
    int64_t delay = initial_;
    for (int32_t n = 1; n < e.delivery_count && delay < max_; ++n) delay *= 2;
    return {share_decision::redeliver, std::min(delay, max_)};
  }

 private:
  int64_t initial_, max_, renew_max_;
};

}  // namespace

MOSAIC_PLUGIN("mosaic-share-policy-backoff", "0.1.0", backoff_share_policy)
