// The replication shell: runs a `replica` for every partition with more
// than one replica that this broker holds, over the partition's real log,
// and carries out what the replicas and the controller's rules decide.
//
// - Transport: followers fetch from leaders with Mosaic's own frames over
//   `kernel/rpc`, on this broker's replication port (`replication.port`,
//   registered in the metadata). A leader holds a fetch that finds no new
//   data for `replica.fetch.wait.max.ms` and answers it as soon as an
//   append brings some.
// - Metadata: after every applied entry the manager re-reads the image:
//   it opens logs for partitions newly assigned here, feeds each replica
//   its partition's state and the brokers' epochs, and removes replicas
//   (and, for deleted topics, logs) that are gone. It acts only once the
//   image holds this broker's own current registration (which took it out
//   of every ISR if its last run ended uncleanly).
// - AlterPartition: a leader's ISR change is decided with the controller's
//   rule (`on_alter_isr`) on the current image and proposed to the
//   metadata log, which applies it only on the partition epoch it was
//   decided on. Proposals run on the manager's control thread.
// - The active controller: on the node that leads the metadata quorum, the
//   control thread runs `reconcile` every 100 ms with the quorum's view of
//   who answers (each node's last contact with the Raft leader is its
//   heartbeat), fencing brokers silent for `broker.session.timeout.ms` and
//   moving their partitions.
// - Produce: an append runs on the caller's thread under the partition's
//   lock, only while the replica leads; acks=all then waits on the replica
//   for the high watermark.
//
// Threading: replicas, frames and timers run on the rpc endpoint's thread;
// metadata proposals on the control thread; `produce` on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/log/log_manager.h"
#include "kernel/metadata/metadata_log.h"
#include "kernel/replication/controller.h"
#include "kernel/replication/partition_replica_log.h"
#include "kernel/replication/replica.h"
#include "kernel/rpc/endpoint.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::replication {

struct manager_options {
  int32_t self = -1;
  std::string host = "127.0.0.1";   // the replication port's address
  uint16_t port = 0;                // 0: any free port
  rpc::endpoint_security security;  // TLS between the nodes
  int64_t session_timeout_ms = 9000;
  int64_t lag_time_max_ms = 30000;
  int64_t fetch_wait_max_ms = 500;
  size_t fetch_max_bytes = 1 << 20;
  controller_settings controller;
  // auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds,
  // leader.imbalance.per.broker.percentage.
  bool auto_rebalance = true;
  int64_t rebalance_interval_ms = 300000;
  int imbalance_percent = 10;
  // The log config of a topic's partitions (its overrides on the defaults).
  std::function<log::log_config(const std::string& topic)> log_config;
  // A partition's high watermark moved (fetches waiting on it may go).
  std::function<void(const std::string& topic, int32_t partition)> on_high_watermark;
  // After each metadata refresh, on the endpoint thread (the broker opens
  // the logs of its single-replica partitions here).
  std::function<void()> on_metadata;
};

// What the manager has done, for tests and operators.
struct manager_stats {
  uint64_t fetches_sent = 0;
  uint64_t fetches_answered = 0;
  uint64_t fetches_refused = 0;  // an error answered (stale epoch, not the leader...)
  uint64_t bad_frames = 0;       // frames that did not decode, or named another sender
  uint64_t isr_proposals = 0;
  uint64_t controller_proposals = 0;
  size_t replicas = 0;
  size_t leading = 0;
};

class replica_manager {
 public:
  static result<std::unique_ptr<replica_manager>> start(manager_options opts, log::log_manager* logs,
                                                        metadata::metadata_store* store, std::shared_mutex* logs_mu);
  ~replica_manager();
  replica_manager(const replica_manager&) = delete;
  replica_manager& operator=(const replica_manager&) = delete;

  uint16_t port() const;
  // This broker's registration epoch, once its registration is applied.
  void registered(int64_t broker_epoch);
  // Moves leadership away and fences this broker (when other brokers can
  // take over), waiting at most `timeout`.
  void controlled_shutdown(std::chrono::milliseconds timeout);
  void stop();

  // The append itself, run under the partition's lock while it leads, at
  // `leader_epoch`: the result and the offset after the batch.
  using append_fn = std::function<std::pair<adapter::produce_result, int64_t>(int32_t leader_epoch)>;
  // acks=-1 waits at most `timeout_ms` for the in-sync replicas.
  void produce(const std::string& topic, int32_t partition, int16_t acks, int32_t timeout_ms, const append_fn& append,
               std::function<void(adapter::produce_result)> done);

  // The leader epoch this broker leads the partition at, if it leads it.
  std::optional<int32_t> leading(const std::string& topic, int32_t partition) const;

  manager_stats stats() const;

  // Other kernel parts' frames on this port (the share coordinator's):
  // frames of kinds [first, last] go to `handler`, on the endpoint thread,
  // which it must not block. An empty handler stops the calls: once this
  // returns, the previous one is not running.
  using frame_handler = std::function<void(int32_t from, int16_t kind, std::vector<uint8_t> body)>;
  void serve(int16_t first, int16_t last, frame_handler handler);
  // Sends a frame to another broker's replication port (any thread); lost
  // if the broker cannot be reached: the sender times out and retries.
  void send(int32_t to, int16_t kind, std::vector<uint8_t> body);

 private:
  struct slot;
  using key = std::pair<std::string, int32_t>;
  struct held_fetch {
    int32_t from;
    fetch_request req;
    int64_t deadline;
  };
  struct waiter {
    std::shared_ptr<slot> s;
    adapter::produce_result result;
    std::function<void(adapter::produce_result)> done;
  };

  replica_manager(manager_options opts, log::log_manager* logs, metadata::metadata_store* store,
                  std::shared_mutex* logs_mu);
  // Endpoint thread.
  void refresh();
  void on_frame(const rpc::frame& f);
  void on_fetch_request(const rpc::frame& f);
  void on_fetch_response(const rpc::frame& f);
  void tick();
  void drain(const std::shared_ptr<slot>& s);
  void answer(const std::shared_ptr<slot>& s, const held_fetch& h);
  // Answers the held fetches that are due: data arrived, their wait ended,
  // or the replica no longer leads.
  void answer_held(const std::shared_ptr<slot>& s);
  void send_response(int32_t to, const std::string& topic, int32_t partition, const fetch_response& resp);
  std::shared_ptr<slot> find_slot(const key& k) const;
  void drop(const key& k, bool remove_log);
  // Control thread.
  void control_loop();
  void control(std::function<void()> task);
  void propose_isr(key k, alter_isr_request req);
  void controller_pass();
  int64_t now_ms() const;

  manager_options opts_;
  log::log_manager* logs_;
  metadata::metadata_store* store_;
  std::shared_mutex* logs_mu_;
  std::unique_ptr<rpc::endpoint> ep_;
  std::mutex served_mu_;  // held while a served handler runs
  int16_t served_first_ = 0, served_last_ = -1;
  frame_handler served_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

  mutable std::shared_mutex slots_mu_;  // the map; each slot has its own lock
  std::map<key, std::shared_ptr<slot>> slots_;

  // Endpoint thread only.
  int64_t broker_epoch_ = -1;
  bool acting_ = false;
  uint64_t seen_ = 0;  // the image version the last refresh read
  std::map<uint64_t, waiter> waiters_;
  uint64_t next_wait_ = 1;
  std::map<int32_t, std::pair<std::string, int32_t>> peers_;
  manager_stats stats_;
  std::atomic<uint64_t> controller_proposals_{0};  // the control thread's count
  mutable std::mutex stats_mu_;
  manager_stats published_;

  // Control thread.
  std::mutex control_mu_;
  std::condition_variable control_cv_;
  std::deque<std::function<void()>> control_tasks_;
  bool stopping_ = false;
  std::thread control_;
  int64_t quorum_term_ = 0;
  // The image version and contact of the last pass that decided nothing.
  struct quiet {
    uint64_t version;
    std::set<int32_t> heard, unknown;
    bool operator==(const quiet&) const = default;
  };
  std::optional<quiet> quiet_;
  std::chrono::steady_clock::time_point leading_since_{};
  std::chrono::steady_clock::time_point next_rebalance_{};
  std::set<std::tuple<int32_t, int64_t, bool>> logged_;  // fence decisions logged (broker, epoch, fenced)
};

}  // namespace mosaic::replication
