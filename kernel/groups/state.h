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
// The topics a request names, as the metadata has them now (nullopt: none
// by that name).
using named_topics = std::map<std::string, std::optional<adapter::topic_info>>;
// A topic as a group's assignment sees it: no replicas, only how many
// partitions it has.
struct topic_summary {
  std::string name;
  uuid id{};
  int32_t partitions = 0;
  bool internal = false;  // __consumer_offsets and the like: never subscribed to
};
using topic_summaries = std::vector<topic_summary>;  // sorted by name

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

}  // namespace mosaic::groups
