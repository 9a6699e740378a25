// What the group coordinator keeps per group, in memory and (encoded by
// group_log) on disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/adapter/groups.h"

namespace mosaic::groups {

using adapter::uuid;
using clock = std::chrono::steady_clock;
// Partitions by topic id, each set sorted.
using partition_set = std::map<uuid, std::set<int32_t>>;

struct committed {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int64_t commit_time_ms = 0;
};
using offset_key = std::pair<std::string, int32_t>;  // topic, partition

// ---- classic groups ----

enum class classic_state : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };

struct classic_member {
  std::string id;
  std::optional<std::string> instance_id;
  adapter::client_identity client;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> protocols;
  std::vector<std::string> subscribed_topics;
  std::vector<uint8_t> assignment;
  // Not persisted:
  std::function<void(adapter::join_result)> awaiting_join;
  std::function<void(adapter::sync_result)> awaiting_sync;
  clock::time_point session_deadline{};

  const std::vector<uint8_t>* metadata_for(const std::string& protocol) const {
    for (const auto& [name, bytes] : protocols)
      if (name == protocol) return &bytes;
    return nullptr;
  }
};

struct classic_group {
  std::string id;
  classic_state state = classic_state::empty;
  int32_t generation = 0;
  std::string protocol_type;
  std::optional<std::string> protocol;
  std::string leader;
  std::map<std::string, classic_member> members;  // by member id
  // Not persisted:
  std::map<std::string, clock::time_point> pending;  // ids handed out with MEMBER_ID_REQUIRED
  clock::time_point rebalance_deadline{};
  clock::time_point initial_delay_end{};  // a new group waits for more members until then
  bool initial_rebalance = false;

  const classic_member* by_instance(const std::string& instance) const {
    for (const auto& entry : members)
      if (entry.second.instance_id == instance) return &entry.second;
    return nullptr;
  }
};

// ---- consumer groups (KIP-848) ----

enum class member_state : uint8_t { stable, unrevoked_partitions, unreleased_partitions };

struct consumer_member {
  std::string id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack;
  adapter::client_identity client;
  int32_t epoch = 0;
  int32_t previous_epoch = -1;
  int32_t rebalance_timeout_ms = 0;
  std::vector<std::string> topic_names;
  std::optional<std::string> topic_regex;
  std::optional<std::string> assignor;
  member_state state = member_state::stable;
  partition_set assigned;  // what the member may consume now
  // The member epoch at which each assigned partition was given to it
  // (KIP-1251): a commit from an older epoch is still accepted for a
  // partition the member has held since then.
  std::map<std::pair<uuid, int32_t>, int32_t> assigned_at;
  partition_set revoking;    // what it must give up before getting more
  bool left_static = false;  // sent epoch -2: kept for its session timeout
  // Not persisted:
  clock::time_point session_deadline{};
  clock::time_point revocation_deadline{};
  bool send_assignment = true;  // the next answer carries the assignment
};

struct consumer_group {
  std::string id;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;                            // the assignor that made the target
  std::map<std::string, consumer_member> members;  // by member id
  std::map<std::string, partition_set> target;     // by member id
  // Not persisted: the subscribed topics' ids and partition counts when
  // the target was computed; a difference means a new target.
  std::map<uuid, int32_t> topics_seen;
};

}  // namespace mosaic::groups
