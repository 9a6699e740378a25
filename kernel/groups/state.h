// What the group coordinator keeps per group, in memory and (encoded by
// group_log) on disk.
#pragma once

#include <algorithm>
#include <cctype>
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

// A partition set as the adapter API lists it (topics without partitions left out).
inline std::vector<adapter::topic_partitions> to_list(const partition_set& s) {
  std::vector<adapter::topic_partitions> out;
  for (const auto& [id, parts] : s) {
    if (parts.empty()) continue;
    out.push_back({id, std::vector<int32_t>(parts.begin(), parts.end())});
  }
  return out;
}

// ListGroups' filters, Kafka's way: empty means any, and states and types
// match case-insensitively. Sorted by group id.
inline std::vector<adapter::group_listing> filter_listings(std::vector<adapter::group_listing> all,
                                                           const std::vector<std::string>& states,
                                                           const std::vector<std::string>& types) {
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  std::set<std::string> want_states, want_types;
  for (const auto& st : states) want_states.insert(lower(st));
  for (const auto& t : types) want_types.insert(lower(t));
  std::vector<adapter::group_listing> out;
  for (auto& l : all) {
    if (!want_states.empty() && !want_states.count(lower(l.state))) continue;
    if (!want_types.empty() && !want_types.count(lower(l.type))) continue;
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.group_id < b.group_id; });
  return out;
}

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
  // The heartbeat interval the last answer gave (0: none since this
  // coordinator started). librdkafka times a heartbeat out after it, so a
  // held heartbeat is answered well within it.
  int32_t told_interval_ms = 0;
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
