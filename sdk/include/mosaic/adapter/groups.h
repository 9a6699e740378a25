// The group coordinator's API, as protocol adapters call it (the unstable
// C++ tier, like broker.h): consumer groups of both protocols and their
// committed offsets. The kernel implements it in kernel/groups.
//
// Two kinds of group share one namespace of group ids:
//   - classic groups (JoinGroup/SyncGroup/Heartbeat/LeaveGroup): the
//     coordinator runs the rebalance barrier; the members' protocol metadata
//     and assignments are opaque bytes it passes through, so any client-side
//     protocol (eager, cooperative-sticky, connect) works;
//   - consumer groups (KIP-848, ConsumerGroupHeartbeat): the coordinator
//     computes the assignment with an assignor plugin and reconciles each
//     member towards it.
//
// Threading: every call may come from any thread. Calls that answer later
// call `done` exactly once, from the coordinator's thread; `done` must not
// block. Answers that change state are given once the change is replicated
// (on disk, for a partition with one replica). A call for a group this
// broker does not coordinate gets NOT_COORDINATOR, or
// COORDINATOR_LOAD_IN_PROGRESS while it loads the group's partition.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/adapter/broker.h"

namespace mosaic::adapter {

struct topic_partitions {
  uuid topic_id{};
  std::vector<int32_t> partitions;  // sorted
  bool operator==(const topic_partitions&) const = default;
};

struct client_identity {
  std::string client_id;
  std::string client_host;
};

// ---- classic groups ----

struct join_request {
  std::string group_id;
  std::string member_id;  // empty: a new member
  std::optional<std::string> instance_id;
  std::string protocol_type;                                            // "consumer", "connect", ...
  std::vector<std::pair<std::string, std::vector<uint8_t>>> protocols;  // in preference order
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;     // -1: the session timeout
  bool require_known_member_id = false;  // JoinGroup v4+
  client_identity client;
  // For protocol_type "consumer": the topics in the member's subscription,
  // as the adapter read them from the metadata (OffsetDelete refuses to
  // delete offsets of a subscribed topic).
  std::vector<std::string> subscribed_topics;
};

struct join_result {
  error code = error::none;
  int32_t generation = -1;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  struct member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::vector<uint8_t> metadata;
  };
  std::vector<member> members;  // the leader's view only
};

struct sync_request {
  std::string group_id;
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments;  // from the leader
};

struct sync_result {
  error code = error::none;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<uint8_t> assignment;
};

struct member_identity {
  std::string member_id;
  std::optional<std::string> instance_id;
};

// ---- consumer groups (KIP-848) ----

struct consumer_heartbeat_request {
  std::string group_id;
  std::string member_id;     // empty on a v0 join: the coordinator names it
  int32_t member_epoch = 0;  // 0 join, -1 leave, -2 static leave
  std::optional<std::string> instance_id;
  std::optional<std::string> rack;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> subscribed_topic_names;  // null: unchanged
  std::optional<std::string> subscribed_topic_regex;               // null: unchanged
  std::optional<std::string> server_assignor;                      // null: unchanged
  std::optional<std::vector<topic_partitions>> owned;              // null: unchanged
  client_identity client;
  // Nonzero: the coordinator may hold the answer while it brings the member
  // nothing new (a long poll), until something changes for the member, its
  // hold time ends, or `release_heartbeat(hold)` is called. The adapter
  // calls that when the connection sends anything else, since responses go
  // back in request order.
  uint64_t hold = 0;
};

struct consumer_heartbeat_result {
  error code = error::none;
  std::string message;
  std::string member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<std::vector<topic_partitions>> assignment;  // set when it changed
};

// ---- offsets ----

struct offset_commit {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct commit_request {
  std::string group_id;
  int32_t generation_or_epoch = -1;  // negative: an admin or simple commit (any member id; the group has no members)
  std::string member_id;
  std::optional<std::string> instance_id;
  bool member_epoch_checks = false;  // OffsetCommit v9+: a consumer group's epoch must match exactly
  std::vector<offset_commit> offsets;
};

struct committed_offset {
  std::string topic;
  int32_t partition = 0;
  error code = error::none;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct offset_fetch_request {
  std::string group_id;
  std::optional<std::vector<std::pair<std::string, int32_t>>> partitions;  // null: every committed one
  std::optional<std::string> member_id;                                    // v9+: checked against a consumer group
  int32_t member_epoch = -1;
};

struct offset_fetch_result {
  error code = error::none;
  std::vector<committed_offset> offsets;
};

// ---- administration ----

struct group_listing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for consumer groups
  std::string state;          // as Kafka names the group's states
  std::string type;           // "classic" or "consumer"
};

struct classic_group_description {
  error code = error::none;
  std::string message;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  struct member {
    std::string member_id;
    std::optional<std::string> instance_id;
    client_identity client;
    std::vector<uint8_t> metadata;
    std::vector<uint8_t> assignment;
  };
  std::vector<member> members;
};

struct consumer_group_description {
  error code = error::none;
  std::string message;
  std::string group_id;
  std::string state;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;
  struct member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack;
    int32_t member_epoch = 0;
    client_identity client;
    std::vector<std::string> subscribed_topic_names;
    std::optional<std::string> subscribed_topic_regex;
    std::vector<topic_partitions> assignment;
    std::vector<topic_partitions> target_assignment;
  };
  std::vector<member> members;
};

// Where a group's coordinator is (FindCoordinator).
struct coordinator_location {
  error code = error::none;  // COORDINATOR_NOT_AVAILABLE while there is none
  std::string message;
  int32_t node_id = -1;
};

class group_coordinator {
 public:
  virtual ~group_coordinator() = default;

  // The broker that coordinates `group_id` now: the leader of the
  // __consumer_offsets partition the id hashes to. The first call may
  // block while it makes that topic (once per cluster).
  virtual coordinator_location locate(const std::string& group_id) = 0;

  // Classic groups.
  virtual void join_group(join_request req, std::function<void(join_result)> done) = 0;
  virtual void sync_group(sync_request req, std::function<void(sync_result)> done) = 0;
  virtual void heartbeat(std::string group_id, int32_t generation, member_identity member,
                         std::function<void(error)> done) = 0;
  // One error per member, in order.
  virtual void leave_group(std::string group_id, std::vector<member_identity> members,
                           std::function<void(std::vector<error>)> done) = 0;

  // Consumer groups.
  virtual void consumer_heartbeat(consumer_heartbeat_request req,
                                  std::function<void(consumer_heartbeat_result)> done) = 0;
  // Answers the heartbeat held under `hold` now, if one is (see
  // consumer_heartbeat_request::hold).
  virtual void release_heartbeat(uint64_t hold) { (void)hold; }
  virtual void describe_consumer_groups(std::vector<std::string> group_ids,
                                        std::function<void(std::vector<consumer_group_description>)> done) = 0;

  // Offsets. `commit_offsets` answers with one error per offset, in order.
  virtual void commit_offsets(commit_request req, std::function<void(std::vector<error>)> done) = 0;
  virtual void fetch_offsets(std::vector<offset_fetch_request> reqs,
                             std::function<void(std::vector<offset_fetch_result>)> done) = 0;
  // OffsetDelete: a group-level error, or one error per partition.
  virtual void delete_offsets(std::string group_id, std::vector<std::pair<std::string, int32_t>> partitions,
                              std::function<void(error, std::vector<error>)> done) = 0;

  // Administration. Filters are Kafka's: empty means every state / type;
  // states and types match case-insensitively.
  virtual void list_groups(std::vector<std::string> states, std::vector<std::string> types,
                           std::function<void(std::vector<group_listing>)> done) = 0;
  virtual void describe_classic_groups(std::vector<std::string> group_ids,
                                       std::function<void(std::vector<classic_group_description>)> done) = 0;
  virtual void delete_groups(std::vector<std::string> group_ids, std::function<void(std::vector<error>)> done) = 0;
};

}  // namespace mosaic::adapter
