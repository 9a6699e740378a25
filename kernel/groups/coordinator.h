// The group coordinator: classic groups (the JoinGroup/SyncGroup barrier),
// KIP-848 consumer groups (server-side assignment through assignor plugins,
// incremental reconciliation), and committed offsets, persisted in the
// partitions of the internal topic `__consumer_offsets` (group_log.h).
//
// A group lives in the partition its id hashes to (group_partition.h), and
// is served by the broker that leads that partition: this coordinator
// loads a partition's groups when its broker becomes the leader (answering
// COORDINATOR_LOAD_IN_PROGRESS meanwhile) and drops them when leadership
// leaves (NOT_COORDINATOR), as Kafka's coordinators follow their
// partitions. A partition is the unit that moves; the group kinds
// (classic_group.h, consumer_group.h, offsets.h) are what it holds.
//
// Threading: one thread, the coordinator's own (round_loop.h), owns every
// group. Calls post their work to it; it handles what has arrived as one
// round, fires the timers that are due (sessions, rebalance deadlines, the
// initial rebalance delay), appends the round's records to each partition
// it touched (acks=all, the partitions at once) and only then gives the
// answers that depend on them. Assignors run on this thread, never on a
// network thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/config/broker_config.h"
#include "kernel/groups/group_io.h"
#include "kernel/groups/group_kinds.h"
#include "kernel/groups/group_log.h"
#include "kernel/groups/group_partition.h"
#include "kernel/groups/round_loop.h"
#include "kernel/groups/state.h"
#include "kernel/plugin/assignors.h"
#include "mosaic/adapter/groups.h"

namespace mosaic::groups {

class coordinator final : public adapter::group_coordinator {
 public:
  struct options {
    config::group_settings settings;
    // The broker: topics, the internal partitions, their leadership.
    group_io* io = nullptr;
    int32_t self = -1;  // this broker's id
    // How often timers are checked.
    int64_t tick_ms = 50;
    // Group ids shared with the share manager (null: this coordinator's alone).
    group_kinds* kinds = nullptr;
  };

  // Starts the coordinator's thread; it loads the partitions this broker
  // leads, now and as leadership moves.
  static result<std::unique_ptr<coordinator>> start(const plugin::assignor_set* assignors, options opts);
  ~coordinator() override;
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;
  // Stops the thread; calls still queued are dropped unanswered.
  void stop();

  adapter::coordinator_location locate(const std::string& group_id) override;
  void join_group(adapter::join_request req, std::function<void(adapter::join_result)> done) override;
  void sync_group(adapter::sync_request req, std::function<void(adapter::sync_result)> done) override;
  void heartbeat(std::string group_id, int32_t generation, adapter::member_identity member,
                 std::function<void(adapter::error)> done) override;
  void leave_group(std::string group_id, std::vector<adapter::member_identity> members,
                   std::function<void(std::vector<adapter::error>)> done) override;
  void consumer_heartbeat(adapter::consumer_heartbeat_request req,
                          std::function<void(adapter::consumer_heartbeat_result)> done) override;
  void release_heartbeat(uint64_t hold) override;
  void describe_consumer_groups(std::vector<std::string> group_ids,
                                std::function<void(std::vector<adapter::consumer_group_description>)> done) override;
  void commit_offsets(adapter::commit_request req, std::function<void(std::vector<adapter::error>)> done) override;
  void fetch_offsets(std::vector<adapter::offset_fetch_request> reqs,
                     std::function<void(std::vector<adapter::offset_fetch_result>)> done) override;
  void delete_offsets(std::string group_id, std::vector<std::pair<std::string, int32_t>> partitions,
                      std::function<void(adapter::error, std::vector<adapter::error>)> done) override;
  void list_groups(std::vector<std::string> states, std::vector<std::string> types,
                   std::function<void(std::vector<adapter::group_listing>)> done) override;
  void describe_classic_groups(std::vector<std::string> group_ids,
                               std::function<void(std::vector<adapter::classic_group_description>)> done) override;
  void delete_groups(std::vector<std::string> group_ids,
                     std::function<void(std::vector<adapter::error>)> done) override;

 private:
  struct impl;
  coordinator(const plugin::assignor_set* assignors, options opts);
  void post(std::function<void()> task) { loop_.post(std::move(task)); }

  std::unique_ptr<impl> impl_;
  round_loop loop_;  // stopped (joined) before impl_ goes
};

}  // namespace mosaic::groups
