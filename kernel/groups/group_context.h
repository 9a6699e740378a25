// What every call on a group gets from its shell (the coordinator or the
// share manager): the time, the settings and a source of member ids. The
// group classes read nothing else of the world: no clock, no thread, no
// I/O; what they want done comes back as effects.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "kernel/config/broker_config.h"
#include "kernel/groups/state.h"

namespace mosaic::groups {

struct group_context {
  clock::time_point now{};  // timers: sessions, rebalances
  int64_t wall_ms = 0;      // timestamps kept: offset commit times
  const config::group_settings& settings;
  // A new member id, with `prefix` and a dash before it unless empty.
  std::function<std::string(const std::string& prefix)> new_member_id;
};

// The token by which a shell knows a request that waits for its answer
// (a JoinGroup until its generation completes, a SyncGroup until the
// leader's assignment); 0 is none.
using waiter_id = uint64_t;

}  // namespace mosaic::groups
