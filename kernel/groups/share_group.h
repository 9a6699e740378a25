// One share group's membership (KIP-932's ShareGroupHeartbeat): members,
// their subscriptions, and the target assignment a share assignor makes
// (a partition may go to several members). A plain state machine, like
// consumer_group: each call takes the request, the context and what it
// needs of the world, and returns the answer; what the shell must do
// besides (write the group's record, make share-partitions exist, release
// what a removed member held) comes back as effects.
//
// Threading: none; the share manager serialises every call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/groups/consumer_group.h"
#include "kernel/groups/group_context.h"
#include "kernel/groups/share_configs.h"
#include "kernel/groups/state.h"
#include "mosaic/adapter/shares.h"

namespace mosaic::groups {

struct share_member {
  std::string id;
  std::optional<std::string> rack;
  adapter::client_identity client;
  int32_t epoch = 0;
  std::vector<std::string> topics;
  partition_set assigned;
  clock::time_point deadline{};
  uint32_t holder = 0;  // the share-partitions' name for it
};

// What a share group needs of the world for a heartbeat.
struct share_inputs {
  std::function<std::optional<adapter::topic_info>(const std::string& name)> find_topic;
  const assignor_fn& assign;  // runs a share assignor
};

struct share_effects {
  bool persist = false;  // write the group's record (a new epoch)
  // Partitions of the target: their share state must exist before they
  // are handed out.
  std::vector<std::pair<uuid, int32_t>> assigned;
};

class share_group {
 public:
  share_group() = default;
  share_group(std::string group_id, const config::group_settings& s)
      : id(std::move(group_id)), config(resolve_share_configs({}, s)) {}

  // The checks a heartbeat passes before any group is looked at.
  static std::optional<adapter::share_heartbeat_result> check_heartbeat(const adapter::share_heartbeat_request& req);

  // ShareGroupHeartbeat with epoch 0 or above (a leave is `remove`).
  // `holder`: the member's number for the share-partitions, used if it joins.
  adapter::share_heartbeat_result heartbeat(const adapter::share_heartbeat_request& req, uint32_t holder,
                                            const group_context& ctx, share_inputs& in, share_effects& fx);
  // Removes a member (it left, expired or was removed); its holder number,
  // or 0 if it was not a member.
  uint32_t remove(const std::string& member_id, const group_context& ctx, share_inputs& in, share_effects& fx);
  // Members whose session is over.
  std::vector<std::string> expired(const group_context& ctx) const;

  // New configs: the overrides as given, parsed once.
  void set_configs(share_overrides overrides, const config::group_settings& s);

  bool has_members() const noexcept { return !members.empty(); }
  std::string state_name() const { return members.empty() ? "Empty" : "Stable"; }
  adapter::share_group_description describe(const config::group_settings& s) const;

  std::string id;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;
  share_overrides configs;    // as set (persisted)
  share_group_config config;  // parsed from them
  std::map<std::string, share_member> members;
  std::map<std::string, partition_set> target;
  std::map<uuid, int32_t> topics_seen;
  // Topics the group was ever assigned: their share-partitions may have
  // state with the share coordinator (persisted, as Kafka's
  // ShareGroupStatePartitionMetadata).
  std::set<uuid> state_topics;

 private:
  void update_target(bool force, const group_context& ctx, share_inputs& in, share_effects& fx);
};

}  // namespace mosaic::groups
