// Committed offsets, of every group the coordinator owns: OffsetCommit's
// per-partition checks, OffsetFetch, OffsetDelete, and expiry after
// `offsets.retention.minutes`. A plain class: the group's own checks
// (generation, epoch) are made by the group kinds before a commit gets
// here, and every change comes back as a record for the group log.
//
// Threading: none; the coordinator serialises every call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernel/groups/state.h"

namespace mosaic::groups {

// One offset written or deleted (value nullopt), for the group log.
struct offset_change {
  std::string group;
  offset_key key;
  std::optional<committed> value;
};

// What a group says about the expiry of its offsets.
struct retention_view {
  bool has_members = false;
  // With members: whether offsets of the topics they do not consume expire
  // (groups of the consumer protocol; others keep theirs while active).
  bool expires_while_active = false;
  std::set<std::string> subscribed;  // topics the members consume now
  int64_t empty_since_ms = 0;        // when the group lost its last member (0: not known)
};

class offset_store {
 public:
  using group_offsets = std::map<offset_key, committed>;

  // The offsets of `req`, each checked and kept, or refused: a partition
  // that does not exist (`topics` is the metadata's view of the commit's
  // topics), `stale` (KIP-1251, per offset; empty: none), metadata over
  // `metadata_max_bytes`. Per offset, the error or none.
  std::vector<adapter::error> commit(const adapter::commit_request& req, const named_topics& topics,
                                     const std::vector<bool>& stale, int64_t wall_ms, int64_t metadata_max_bytes,
                                     std::vector<offset_change>& changes);
  // The group's committed offsets: those asked for (an offset of -1 for
  // those never committed) or all of them.
  adapter::offset_fetch_result fetch(const adapter::offset_fetch_request& req) const;
  // OffsetDelete: every partition but those of `busy` topics
  // (GROUP_SUBSCRIBED_TO_TOPIC).
  std::vector<adapter::error> erase(const std::string& group, const std::vector<offset_key>& parts,
                                    const std::set<std::string>& busy, std::vector<offset_change>& changes);
  void erase_group(const std::string& group, std::vector<offset_change>& changes);
  // Deletes the group's offsets that are past `retention_ms` at `wall_ms`
  // (Kafka's rule, KIP-211): while the group has members, only offsets of
  // topics they do not consume, counted from the commit; once it has none,
  // every offset, counted from the later of the commit and the time it
  // became empty. Returns how many were deleted.
  size_t expire(const std::string& group, const retention_view& view, int64_t wall_ms, int64_t retention_ms,
                std::vector<offset_change>& changes);

  bool has(const std::string& group) const { return groups_.count(group) > 0; }
  const std::map<std::string, group_offsets>& all() const noexcept { return groups_; }
  // Takes in the offsets of groups read from the log (a partition loaded).
  void merge(std::map<std::string, group_offsets>&& loaded) {
    for (auto& [group, o] : loaded) groups_[group] = std::move(o);
  }
  // Forgets a group's offsets without deleting them (its partition unloaded).
  void drop(const std::string& group) { groups_.erase(group); }

 private:
  std::map<std::string, group_offsets> groups_;
};

}  // namespace mosaic::groups
