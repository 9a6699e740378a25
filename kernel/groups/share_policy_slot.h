// The broker's share policy as a hot-swappable plugin slot: the share
// manager takes `current()` once per round of decisions and holds that
// generation to the end of it, so a swap never splits a round between two
// policies; the next round uses the new one.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "kernel/base/status.h"
#include "kernel/groups/share_policy.h"
#include "kernel/plugin/slot.h"
#include "mosaic/abi/share_policy.h"

namespace mosaic::groups {

class share_policy_slot {
 public:
  // Publishes a share policy instance (a swap if one was there). Returns
  // the generation number.
  result<uint64_t> install(std::shared_ptr<plugin::instance> inst);
  // The current policy (null before the first install).
  std::shared_ptr<const share_policy> current() const;
  // The plugin id of the current policy ("" before the first install).
  std::string current_name() const;
  // The current generation's calls (slot "group.share.policy").
  void visit(const plugin::meter_visitor& fn) const;

 private:
  plugin::slot<mosaic_share_policy_vtable_v1> slot_;
  mutable std::atomic<uint64_t> failures_{0};
};

}  // namespace mosaic::groups
