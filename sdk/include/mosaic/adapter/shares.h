// Share groups (KIP-932), as protocol adapters call them (the unstable C++
// tier, like broker.h and groups.h): membership and assignment, share
// sessions with fetch and acknowledgement, group configs, and the offsets
// admin calls. The kernel implements it in kernel/groups/share_manager.
//
// Threading: every call may come from any thread; `done` is called exactly
// once, from the share manager's thread, and must not block. Answers that
// carry acknowledgements are given once those are on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/adapter/groups.h"

namespace mosaic::adapter {

// Kafka's error codes for share groups, by the names the share code has
// always used (errors.h holds them all).
inline constexpr error invalid_record_state = error::invalid_record_state;
inline constexpr error share_session_not_found = error::share_session_not_found;
inline constexpr error invalid_share_session_epoch = error::invalid_share_session_epoch;
inline constexpr error share_session_limit_reached = error::share_session_limit_reached;

struct share_heartbeat_request {
  std::string group_id;
  std::string member_id;     // chosen by the client
  int32_t member_epoch = 0;  // 0 join, -1 leave
  std::optional<std::string> rack;
  std::optional<std::vector<std::string>> subscribed_topic_names;  // null: unchanged
  client_identity client;
};

// The same answer as a consumer group member's.
using share_heartbeat_result = consumer_heartbeat_result;

struct share_ack_batch {
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  std::vector<uint8_t> types;  // one for the range, or one per offset
};

struct share_partition_acks {
  uuid topic_id{};
  int32_t partition = 0;
  std::vector<share_ack_batch> batches;
};

struct share_fetch_request {
  std::string group_id;
  std::string member_id;
  int32_t session_epoch = 0;  // 0 opens a session, -1 closes it
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 50 << 20;  // 0: acknowledge only; past the first batch, a bound (KIP-74)
  int32_t max_records = 500;     // exact in both v2 ShareAcquireModes: records are acquired one by one
  bool renew = false;            // v2 IsRenewAck: these acks renew; no records are fetched
  // The partitions this request adds to the session (with any piggybacked
  // acknowledgements), and those it removes.
  std::vector<share_partition_acks> partitions;
  std::vector<topic_partitions> forgotten;
};

struct acquired_range {
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int16_t delivery_count = 0;
};

struct share_fetched_partition {
  uuid topic_id{};
  int32_t partition = 0;
  error code = error::none;
  std::string message;
  error ack_code = error::none;
  std::string ack_message;
  std::vector<uint8_t> records;  // whole batches holding the acquired ranges
  std::vector<acquired_range> acquired;
};

struct share_fetch_result {
  error code = error::none;
  std::string message;
  int32_t lock_timeout_ms = 0;
  std::vector<share_fetched_partition> partitions;
};

struct share_ack_request {
  std::string group_id;
  std::string member_id;
  int32_t session_epoch = 0;  // an open session's next epoch, or -1 to close it
  bool renew = false;
  std::vector<share_partition_acks> partitions;
};

struct share_ack_result {
  error code = error::none;
  std::string message;
  int32_t lock_timeout_ms = 0;
  struct partition {
    uuid topic_id{};
    int32_t partition = 0;
    error code = error::none;
    std::string message;
  };
  std::vector<partition> partitions;
};

struct share_group_description {
  error code = error::none;
  std::string message;
  std::string group_id;
  std::string state;  // Empty, Stable, Dead
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;
  struct member {
    std::string member_id;
    std::optional<std::string> rack;
    int32_t member_epoch = 0;
    client_identity client;
    std::vector<std::string> subscribed_topic_names;
    std::vector<topic_partitions> assignment;
  };
  std::vector<member> members;
};

// A share-partition's progress, for DescribeShareGroupOffsets and the CLI.
struct share_partition_offsets {
  std::string topic;
  int32_t partition = 0;
  error code = error::none;
  std::string message;
  int64_t start_offset = -1;  // SPSO; -1: not initialised
  int64_t end_offset = -1;    // one past the last record handed out
  int64_t lag = -1;           // records not yet finished up to the high watermark
  int64_t in_flight = 0, available = 0, acquired = 0, acknowledged = 0, archived = 0;
  // Since the share coordinator took the partition on (not persisted).
  int64_t redelivered = 0, rejected = 0, dead_lettered = 0;
};

struct share_offsets_request {
  std::string group_id;
  // Null: every partition with share state.
  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics;
};

struct share_offsets_result {
  error code = error::none;
  std::string message;
  std::string group_id;
  std::vector<share_partition_offsets> partitions;
};

class share_groups {
 public:
  virtual ~share_groups() = default;

  virtual void heartbeat(share_heartbeat_request req, std::function<void(share_heartbeat_result)> done) = 0;
  virtual void describe(std::vector<std::string> group_ids,
                        std::function<void(std::vector<share_group_description>)> done) = 0;
  virtual void fetch(share_fetch_request req, std::function<void(share_fetch_result)> done) = 0;
  virtual void acknowledge(share_ack_request req, std::function<void(share_ack_result)> done) = 0;

  // Offsets. `alter` sets start offsets (the group must have no members);
  // `remove` forgets a partition's state (it restarts from
  // share.auto.offset.reset).
  virtual void describe_offsets(std::vector<share_offsets_request> reqs,
                                std::function<void(std::vector<share_offsets_result>)> done) = 0;
  virtual void alter_offsets(std::string group_id, std::vector<share_partition_offsets> offsets,
                             std::function<void(share_offsets_result)> done) = 0;
  virtual void delete_offsets(std::string group_id, std::vector<std::string> topics,
                              std::function<void(error, std::vector<std::pair<std::string, error>>)> done) = 0;

  // Group configs (GROUP resources of Describe/IncrementalAlterConfigs).
  virtual void describe_group_configs(std::string group_id, std::vector<std::string> names,
                                      std::function<void(outcome, std::vector<config_value>)> done) = 0;
  virtual void alter_group_configs(std::string group_id, std::vector<config_change> changes, bool validate_only,
                                   std::function<void(outcome)> done) = 0;

  // Administration: the share groups among ListGroups' answers, and
  // DeleteGroups (group_id_not_found for an id that is no share group).
  virtual void list(std::vector<std::string> states, std::function<void(std::vector<group_listing>)> done) = 0;
  virtual void remove(std::vector<std::string> group_ids, std::function<void(std::vector<error>)> done) = 0;
};

}  // namespace mosaic::adapter
