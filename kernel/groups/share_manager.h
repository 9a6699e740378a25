// The share group manager (KIP-932): share group membership and assignment
// (ShareGroupHeartbeat, through an assignor plugin), share sessions,
// ShareFetch and ShareAcknowledge over the share-partitions
// (share_partition.h), group configs, the offsets admin calls, and the
// dead-letter writes (KIP-1191).
//
// In Kafka these are three parts (the group coordinator, the share-partition
// leader, the share coordinator). Here membership is served by the group's
// coordinator, the leader of its `__consumer_offsets` partition
// (share_group_store.h: NOT_COORDINATOR elsewhere), a share-partition by
// its partition's leader, and its state by the share coordinator
// (share_coordinator.h) on the replicated partitions of
// `__share_group_state`, reached directly or by a frame between brokers; the
// share coordinator runs on this manager's thread too.
//
// Durable state: share-partition states with the share coordinator (read
// when a share-partition is first wanted, written whole each round it
// changes, acquisitions included); per group its epoch and assigned topics
// in its `__consumer_offsets` partition (earlier versions' records in this
// broker's own `__share_groups-0` are moved there); configs in the
// metadata. Members are not persisted: when the coordinator moves they
// rejoin (their heartbeat gets UNKNOWN_MEMBER_ID).
//
// Threading: one thread, the manager's own, owns everything. Calls post
// their work to it; it handles what has arrived as one round, expires locks
// and members that are due, retries parked fetches, writes the round's
// changed share-partition states to their coordinators and its group
// records to their partitions, and answers the round's requests once those
// writes are answered.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/config/broker_config.h"
#include "kernel/groups/group_io.h"
#include "kernel/groups/group_kinds.h"
#include "kernel/groups/round_loop.h"
#include "kernel/groups/share_configs.h"
#include "kernel/groups/share_policy.h"
#include "kernel/log/partition_log.h"
#include "kernel/plugin/assignors.h"
#include "mosaic/adapter/shares.h"

namespace mosaic::groups {

class dlq_handler_slot;

class share_manager final : public adapter::share_groups {
 public:
  struct options {
    config::group_settings settings;
    group_io* io = nullptr;  // topics; reads partitions, writes dead letters
    // The share policy to use for one decision (null or empty: Kafka's rules).
    std::function<std::shared_ptr<const share_policy>()> policy;
    // The dead-letter handler (null: records stay ARCHIVING).
    const dlq_handler_slot* dlq = nullptr;
    // Group ids shared with the group coordinator (null: this manager's alone).
    group_kinds* kinds = nullptr;
    int64_t tick_ms = 20;
    int32_t self = -1;  // this broker's id
    // A share-state log of an earlier version is on disk (the topic is
    // made at start so that its partition 0 takes it over).
    bool legacy_state = false;
    // Its groups' records (epoch, configs), read at start.
    std::map<std::string, std::pair<int32_t, share_overrides>> legacy_groups;
  };

  // `log`: this broker's own log of share-group records (`__share_groups-0`),
  // from versions that kept them there: moved into __consumer_offsets.
  static result<std::unique_ptr<share_manager>> start(log::partition_log* log, const plugin::assignor_set* assignors,
                                                      options opts);
  ~share_manager() override;
  share_manager(const share_manager&) = delete;
  share_manager& operator=(const share_manager&) = delete;
  void stop();

  void heartbeat(adapter::share_heartbeat_request req,
                 std::function<void(adapter::share_heartbeat_result)> done) override;
  void describe(std::vector<std::string> group_ids,
                std::function<void(std::vector<adapter::share_group_description>)> done) override;
  void fetch(adapter::share_fetch_request req, std::function<void(adapter::share_fetch_result)> done) override;
  void acknowledge(adapter::share_ack_request req, std::function<void(adapter::share_ack_result)> done) override;
  void describe_offsets(std::vector<adapter::share_offsets_request> reqs,
                        std::function<void(std::vector<adapter::share_offsets_result>)> done) override;
  void alter_offsets(std::string group_id, std::vector<adapter::share_partition_offsets> offsets,
                     std::function<void(adapter::share_offsets_result)> done) override;
  void delete_offsets(
      std::string group_id, std::vector<std::string> topics,
      std::function<void(adapter::error, std::vector<std::pair<std::string, adapter::error>>)> done) override;
  void describe_group_configs(std::string group_id, std::vector<std::string> names,
                              std::function<void(adapter::outcome, std::vector<adapter::config_value>)> done) override;
  void alter_group_configs(std::string group_id, std::vector<adapter::config_change> changes, bool validate_only,
                           std::function<void(adapter::outcome)> done) override;
  void list(std::vector<std::string> states, std::function<void(std::vector<adapter::group_listing>)> done) override;
  void remove(std::vector<std::string> group_ids, std::function<void(std::vector<adapter::error>)> done) override;

 private:
  struct impl;
  // How callbacks from other threads (the broker's long-polling fetches,
  // dead-letter produces) reach the manager: they may fire after it is
  // gone, and then find no one.
  struct gate {
    std::mutex mu;
    share_manager* target = nullptr;
    void post(std::function<void()> task) {
      std::lock_guard g(mu);
      if (target) target->post(std::move(task));
    }
  };
  share_manager(log::partition_log* log, const plugin::assignor_set* assignors, options opts);
  void post(std::function<void()> task) { loop_.post(std::move(task)); }

  std::shared_ptr<gate> gate_ = std::make_shared<gate>();  // before impl_, which keeps a copy
  std::unique_ptr<impl> impl_;
  round_loop loop_;  // stopped (joined) before impl_ goes
};

}  // namespace mosaic::groups
