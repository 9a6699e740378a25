// One classic group: Kafka's JoinGroup/SyncGroup barrier and its states
// (Empty, PreparingRebalance, CompletingRebalance, Stable). A plain state
// machine, like share_partition: each call takes the request, the context
// (time, settings, member ids) and returns the answers it can give, now or
// once the group's record is on disk, as effects. Requests that must wait
// (a JoinGroup until the generation completes, a SyncGroup until the
// leader's assignment) are known by the waiter id their shell gave them.
//
// The fields are the group's state; group_log encodes those it persists.
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

#include "kernel/groups/group_context.h"
#include "kernel/groups/state.h"

namespace mosaic::groups {

enum class classic_state : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };
const char* state_name(classic_state s);

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
  waiter_id awaiting_join = 0;  // a JoinGroup waiting for the generation
  waiter_id awaiting_sync = 0;  // a SyncGroup waiting for the assignment
  clock::time_point session_deadline{};

  const std::vector<uint8_t>* metadata_for(const std::string& protocol) const {
    for (const auto& [name, bytes] : protocols)
      if (name == protocol) return &bytes;
    return nullptr;
  }
};

// What a call asks of its shell.
struct classic_effects {
  struct join_answer {
    waiter_id to = 0;
    adapter::join_result result;
    // Sent once the group's record is on disk (COORDINATOR_NOT_AVAILABLE
    // if the write fails); otherwise at once.
    bool after_write = false;
  };
  struct sync_answer {
    waiter_id to = 0;
    adapter::sync_result result;
    bool after_write = false;
  };
  std::vector<join_answer> joins;
  std::vector<sync_answer> syncs;
  bool persist = false;  // write the group's record
};

class classic_group {
 public:
  classic_group() = default;
  explicit classic_group(std::string group_id) : id(std::move(group_id)) {}

  // The checks a JoinGroup passes before any group is looked at.
  static adapter::error check_join(const adapter::join_request& req, const config::group_settings& s);
  // Whether `req` may join: its protocol type is the members' and one of
  // its protocols is supported by every member.
  bool compatible(const adapter::join_request& req) const;

  // JoinGroup (the checks above passed). The answer goes to `waiter`, at
  // once or when the generation completes.
  void join(const adapter::join_request& req, waiter_id waiter, const group_context& ctx, classic_effects& fx);
  // SyncGroup. The answer goes to `waiter`: at once, or once the leader's
  // assignment is on disk.
  void sync(const adapter::sync_request& req, waiter_id waiter, const group_context& ctx, classic_effects& fx);
  adapter::error heartbeat(int32_t generation, const adapter::member_identity& who, const group_context& ctx);
  std::vector<adapter::error> leave(const std::vector<adapter::member_identity>& who, const group_context& ctx,
                                    classic_effects& fx);
  // Timers: member ids handed out and never used, sessions, the
  // rebalance's deadlines, the initial delay.
  void expire(const group_context& ctx, classic_effects& fx);
  // After a restart: a rebalance that was under way is forgotten and every
  // member's session starts again.
  void restored(const group_context& ctx);

  // Whether an OffsetCommit from this member, at this generation, is taken.
  adapter::error check_commit(const adapter::commit_request& req) const;

  const classic_member* by_instance(const std::string& instance) const;
  bool has_members() const noexcept { return !members.empty(); }
  // The topics its members subscribe to (consumer protocol).
  std::set<std::string> subscribed_topics() const;
  // The protocol type ListGroups shows (the members' before a generation).
  std::string listed_type() const;
  adapter::classic_group_description describe() const;

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
  int64_t empty_since_ms = 0;  // wall time it lost its last member (0: has members, or not known)

 private:
  void join_new(const adapter::join_request& req, waiter_id waiter, const group_context& ctx, classic_effects& fx);
  void join_known(const adapter::join_request& req, waiter_id waiter, const group_context& ctx, classic_effects& fx);
  void add_member(const std::string& member_id, const adapter::join_request& req, waiter_id waiter,
                  const group_context& ctx, classic_effects& fx);
  void replace_static(const std::string& old_id, const std::string& new_id, const adapter::join_request& req,
                      waiter_id waiter, const group_context& ctx, classic_effects& fx);
  void prepare_rebalance(const group_context& ctx, classic_effects& fx);
  void maybe_complete_join(const group_context& ctx, classic_effects& fx);
  void complete_join(const group_context& ctx, classic_effects& fx);
  void remove_member(const std::string& member_id, adapter::error reason, classic_effects& fx);
  void members_changed(const group_context& ctx, classic_effects& fx);
  adapter::join_result generation_info(const classic_member& m, bool skip_assignment) const;
  int32_t max_rebalance_timeout() const;
  std::set<std::string> common_protocols() const;
  std::optional<std::string> choose_protocol() const;
  adapter::error find_member(const std::string& member_id, const std::optional<std::string>& instance_id,
                             const classic_member** out) const;
};

}  // namespace mosaic::groups
