// One consumer group of the KIP-848 protocol: server-side assignment and
// incremental reconciliation. A plain state machine, like share_partition:
// each heartbeat takes the request, the context (time, settings, member
// ids), the topics as the metadata has them and the assignor to run, and
// returns the answer; the shell persists the group after each call
// (group_log writes a record only when it changed) and holds heartbeats.
//
// The fields are the group's state; group_log encodes those it persists.
//
// Threading: none; the coordinator serialises every call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/groups/group_context.h"
#include "kernel/groups/state.h"
#include "mosaic/sdk/assignor_host.h"

namespace re2 {
class RE2;
}

namespace mosaic::groups {

// Subscription patterns, compiled once (RE2, the syntax Kafka's RE2/J
// speaks); at most about a thousand kept.
class topic_patterns {
 public:
  topic_patterns();
  ~topic_patterns();
  topic_patterns(const topic_patterns&) = delete;
  topic_patterns& operator=(const topic_patterns&) = delete;
  // Null if `pattern` does not compile.
  const re2::RE2* compiled(const std::string& pattern);
  bool full_match(const re2::RE2& re, const std::string& name) const;

 private:
  std::map<std::string, std::unique_ptr<re2::RE2>> cache_;
};

// Runs the named assignor (the plugin that served it in `served_by`).
using assignor_fn = std::function<result<sdk::assignor_outcome>(const std::string& name, const sdk::assignor_input& in,
                                                                std::string* served_by)>;

// What a heartbeat needs of the world besides the context.
struct consumer_inputs {
  const topic_summaries& topics;  // as the metadata has them now
  const assignor_fn& assign;
  topic_patterns& patterns;
  // The generation an assignor's slot runs now (a swap moves it); empty:
  // swaps are not followed.
  std::function<uint64_t(const std::string& name)> generation_of = {};
};

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

// The heartbeat interval given to a member that is between assignments
// (revoking, or waiting for partitions to be released).
constexpr int32_t reconciling_heartbeat_ms = 50;

class consumer_group {
 public:
  consumer_group() = default;
  explicit consumer_group(std::string group_id) : id(std::move(group_id)) {}

  // The checks a heartbeat passes before any group is looked at; the
  // answer to send if one fails.
  static std::optional<adapter::consumer_heartbeat_result> check_heartbeat(
      const adapter::consumer_heartbeat_request& req, const config::group_settings& s, topic_patterns& patterns);

  // A heartbeat's answer with an error.
  static adapter::consumer_heartbeat_result refusal(const adapter::consumer_heartbeat_request& req,
                                                    const config::group_settings& s, adapter::error e,
                                                    std::string message);

  // ConsumerGroupHeartbeat (the checks above passed): joining, leaving,
  // fencing, subscription changes, a new target when the group epoch moved,
  // and one step of the member's reconciliation. `replay`: a held
  // heartbeat run again to see whether the member has news; it is not a
  // sign of life.
  adapter::consumer_heartbeat_result heartbeat(const adapter::consumer_heartbeat_request& req, bool replay,
                                               const group_context& ctx, consumer_inputs& in);
  // Removes members whose session or revocation time is up; their ids.
  std::vector<std::string> expire(const group_context& ctx);
  // After a restart: every member's session and revocation time starts again.
  void restored(const group_context& ctx);

  // Whether something may have changed for a member since it was answered
  // at `epoch`.
  bool may_have_news(const std::string& member_id, int32_t epoch) const;
  const consumer_member* member(const std::string& member_id) const;
  consumer_member* member(const std::string& member_id);

  // Whether an OffsetCommit from this member, at this epoch, is taken
  // (KIP-1251); for an older epoch, `stale` says per offset which
  // partitions the member did not hold at that epoch.
  adapter::error check_commit(const adapter::commit_request& req, const named_topics& topics,
                              std::vector<bool>& stale) const;
  // Whether an OffsetFetch v9+ from this member, at this epoch, is answered.
  adapter::error check_fetch(const std::string& member_id, int32_t epoch) const;

  bool has_members() const noexcept { return !members.empty(); }
  // The topics its members subscribe to, among those that exist.
  std::set<std::string> subscribed_topics(const topic_summaries& topics, topic_patterns& patterns) const;
  std::string state_name() const;
  adapter::consumer_group_description describe(const config::group_settings& s) const;

  std::string id;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;                            // the assignor that made the target
  std::map<std::string, consumer_member> members;  // by member id
  std::map<std::string, partition_set> target;     // by member id
  // Not persisted: the subscribed topics' ids and partition counts when
  // the target was computed; a difference means a new target.
  std::map<uuid, int32_t> topics_seen;
  // Not persisted: the assignor last asked for a target and its slot's
  // generation then (0: not known), to follow swaps of either.
  std::string assignor_tried;
  uint64_t assignor_generation = 0;
  int64_t empty_since_ms = 0;  // wall time it lost its last member (0: has members, or not known)

 private:
  void bump() { epoch = std::max(epoch, assignment_epoch) + 1; }
  bool leave(const adapter::consumer_heartbeat_request& req);
  consumer_member* join(const adapter::consumer_heartbeat_request& req, const group_context& ctx,
                        adapter::consumer_heartbeat_result& r);
  consumer_member* take_static(const std::string& instance_id, const std::string& new_id,
                               adapter::consumer_heartbeat_result& r);
  consumer_member* known(const adapter::consumer_heartbeat_request& req, adapter::consumer_heartbeat_result& r);
  void update(consumer_member& m, const adapter::consumer_heartbeat_request& req);
  void refresh_target(const group_context& ctx, consumer_inputs& in);
  void compute_target(const group_context& ctx, consumer_inputs& in);
  void reconcile(consumer_member& m, const std::optional<partition_set>& owned, const group_context& ctx);
  void remove(const std::string& member_id);
  std::string pick_assignor(const config::group_settings& s) const;
  // What a pattern matched among the topics, by pattern, for one pass.
  using pattern_matches = std::map<std::string, std::vector<std::string>>;
  std::set<std::string> subscribed(const consumer_member& m, const topic_summaries& topics, topic_patterns& patterns,
                                   pattern_matches& memo) const;
};

}  // namespace mosaic::groups
