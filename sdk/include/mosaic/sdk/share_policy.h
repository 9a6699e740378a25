// C++ side of the share policy category: derive from `share_policy<T>` and
// provide `decide`:
//
//   class my_policy : public mosaic::sdk::share_policy<my_policy> {
//    public:
//     static constexpr const char* name = "com.acme.share_policy.patient";
//     my_policy(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     mosaic::sdk::share_decision decide(const mosaic::sdk::share_event& e) const;
//   };
//
// `decide` may run on several threads at once and must not block (see
// mosaic/abi/share_policy.h).
#pragma once

#include "mosaic/abi/share_policy.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

enum class share_cause : int32_t {
  release = MOSAIC_SHARE_CAUSE_RELEASE,
  reject = MOSAIC_SHARE_CAUSE_REJECT,
  lock_timeout = MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT,
  renew = MOSAIC_SHARE_CAUSE_RENEW,
};

struct share_event {
  share_cause cause = share_cause::release;
  int32_t delivery_count = 0;
  int32_t delivery_limit = 0;
  int32_t renewals = 0;
  int64_t lock_ms = 0;
  bool dead_letter_topic = false;
};

struct share_decision {
  enum kind : int32_t {
    redeliver = MOSAIC_SHARE_REDELIVER,
    archive = MOSAIC_SHARE_ARCHIVE,
    dead_letter = MOSAIC_SHARE_DEAD_LETTER,
    renew = MOSAIC_SHARE_RENEW,
    refuse = MOSAIC_SHARE_REFUSE,
  };
  kind what = redeliver;
  int64_t delay_ms = 0;
};

template <class T>
struct share_policy_binding {
  static mosaic_status_t decide(void* instance, const mosaic_share_event_v1* e, mosaic_share_decision_v1* out,
                                mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      share_event ev{static_cast<share_cause>(e->cause), e->delivery_count, e->delivery_limit, e->renewals, e->lock_ms,
                     e->dead_letter_topic != 0};
      const share_decision d = static_cast<const T*>(instance)->decide(ev);
      out->decision = d.what;
      out->delay_ms = d.delay_ms;
    });
  }
  static constexpr mosaic_share_policy_vtable_v1 table = {sizeof(mosaic_share_policy_vtable_v1), &decide};
};

template <class T>
struct share_policy {
  static constexpr int32_t category = MOSAIC_CATEGORY_SHARE_POLICY;
  using binding = share_policy_binding<T>;
};

}  // namespace mosaic::sdk
