// The share policy seam (ARCHITECTURE.md, "share policy"): what a RELEASE,
// a REJECT, a lock timeout or a RENEW leads to for one record. The kernel
// asks; a policy plugin answers (kernel/groups/share_policy_slot.h wraps the
// plugin category). The kernel then holds the answer to the rules no
// policy may bend:
//   - an ack type is never reinterpreted: a REJECT is archived or
//     dead-lettered, never redelivered; a RENEW keeps the lock or is
//     refused;
//   - a record that reached the delivery limit is never redelivered;
//   - dead-lettering without a dead-letter topic is archiving.
#pragma once

#include <cstdint>

namespace mosaic::groups {

// Why a record is being given up, numbered as the ABI's MOSAIC_SHARE_CAUSE_*.
enum class share_cause : uint8_t { release = 0, reject = 1, lock_timeout = 2, renew = 3 };

struct share_event {
  share_cause cause = share_cause::release;
  int16_t delivery_count = 0;  // deliveries so far, this one included
  int32_t delivery_limit = 5;
  uint16_t renewals = 0;  // RENEWs granted during this delivery
  int64_t lock_ms = 30000;
  bool dead_letter_topic = false;  // the group has a DLQ topic
};

struct share_decision {
  // Numbered as the ABI's MOSAIC_SHARE_DECISION_*.
  enum class kind : uint8_t { redeliver = 0, archive = 1, dead_letter = 2, renew = 3, refuse = 4 };
  kind what = kind::redeliver;
  int64_t delay_ms = 0;  // redeliver: not before this much later
};

class share_policy {
 public:
  virtual ~share_policy() = default;
  virtual share_decision decide(const share_event& e) const = 0;
};

// The rules above, applied to a policy's answer.
inline share_decision enforce(const share_event& e, share_decision d) {
  using k = share_decision::kind;
  switch (e.cause) {
    case share_cause::renew:
      if (d.what != k::renew) d.what = k::refuse;
      break;
    case share_cause::reject:
      if (d.what != k::dead_letter) d.what = k::archive;
      break;
    case share_cause::release:
    case share_cause::lock_timeout:
      if (d.what == k::renew || d.what == k::refuse) d.what = k::redeliver;
      if (d.what == k::redeliver && e.delivery_count >= e.delivery_limit) d.what = k::dead_letter;
      break;
  }
  if (d.what == k::dead_letter && !e.dead_letter_topic) d.what = k::archive;
  if (d.delay_ms < 0) d.delay_ms = 0;
  return d;
}

// Kafka's rules and nothing more: redeliver at once, archive (or
// dead-letter) a reject or a record at its limit, grant every renewal. The
// kernel uses it when no share policy plugin is loaded; the
// share_policy_default plugin gives the same answers through the ABI.
class kafka_share_policy final : public share_policy {
 public:
  share_decision decide(const share_event& e) const override {
    using k = share_decision::kind;
    switch (e.cause) {
      case share_cause::renew: return {k::renew, 0};
      case share_cause::reject: return {k::dead_letter, 0};
      default: return {k::redeliver, 0};
    }
  }
};

}  // namespace mosaic::groups
