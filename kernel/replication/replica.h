// One partition's replica on one broker: a deterministic state machine with
// no threads, clock or I/O of its own (the shape of `kernel/raft/node.h`).
// Its shell feeds it the partition's state from the metadata (`apply`),
// fetches from followers (leader side), answers to its own fetches
// (follower side), the times, and produce waits; it answers with fetch
// responses and leaves in `take()` what must be sent: fetches to the
// leader, AlterPartition requests to the controller, and the produce
// waits that ended.
//
// The rules (Kafka's, KIP-966's strict min ISR):
// - A follower fetches from its leader's log at its log end, naming the
//   epoch of its last batch; the leader answers with batches, or with the
//   epoch where the two logs diverge and where that epoch ends on the
//   leader, and the follower truncates there before fetching again.
// - The leader knows each follower's log end from its fetch offset (once
//   the divergence check passed), and moves the high watermark to the
//   smallest log end of the ISR (with replicas it asked to add), only while
//   the ISR has at least min.insync.replicas members. The high watermark
//   never moves back on a leader.
// - A follower whose fetches have not caught up with the leader's log end
//   for replica.lag.time.max.ms leaves the ISR; one at or past the high
//   watermark and the start of the leader's epoch joins it: the leader asks
//   the controller (AlterPartition, with its epochs), one change at a time,
//   and takes the new ISR from the metadata.
// - Fetches carry the follower's broker epoch (its registration), and one
//   that is not the one in the metadata is refused: a fetch sent before a
//   crash cannot vouch for data the restarted broker no longer has.
//
// Threading: none. Every call must come from one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/replication/partition_state.h"

namespace mosaic::replication {

// The log a replica drives: the shell backs it with `log::partition_log`,
// the simulation with memory. Records are opaque bytes to the replica.
class replica_log {
 public:
  virtual ~replica_log() = default;
  virtual int64_t log_start_offset() const = 0;
  virtual int64_t log_end_offset() const = 0;
  // The epoch of the last batch, or -1 when the log is empty.
  virtual int32_t last_epoch() const = 0;
  // OffsetForLeaderEpoch: the largest epoch at or below `epoch` the log has,
  // and the offset where it ends; (-1, -1) when it has none.
  virtual std::pair<int32_t, int64_t> end_offset_for_epoch(int32_t epoch) const = 0;
  // A new leader's epoch starts at its log end.
  virtual void start_epoch(int32_t epoch, int64_t start_offset) = 0;
  // Removes everything from `offset` on, and the epochs starting there
  // (also when `offset` is the log end).
  virtual void truncate_to(int64_t offset) = 0;
  // Everything goes; the log restarts empty at `offset` (the leader's log
  // start passed this follower's end).
  virtual void reset_to(int64_t offset) = 0;
  // Whole batches from `offset`, about `max_bytes` (at least one batch).
  virtual std::vector<uint8_t> read(int64_t offset, size_t max_bytes) const = 0;
  // Appends a leader's batches with their offsets and epochs; they must
  // start at the log end.
  virtual status append_replicated(std::span<const uint8_t> batches) = 0;
};

struct replica_options {
  broker_id self = -1;
  int64_t replica_lag_time_max_ms = 30000;  // replica.lag.time.max.ms
  int min_insync = 1;                       // min.insync.replicas
  size_t fetch_max_bytes = 1 << 20;         // replica.fetch.max.bytes
  int64_t fetch_timeout_ms = 500;           // a fetch unanswered this long is sent again
};

// The replica answers with Kafka's error codes (the broker API's table).
using replica_error = adapter::error;

struct fetch_request {
  broker_id replica = -1;
  int64_t broker_epoch = -1;
  int32_t current_leader_epoch = -1;
  int64_t fetch_offset = 0;
  int32_t last_fetched_epoch = -1;
  size_t max_bytes = 1 << 20;
  uint64_t id = 0;  // the follower's, echoed in the response
};

struct fetch_response {
  replica_error error = replica_error::none;
  int32_t leader_epoch = -1;
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  // Set: the follower's log diverges; it truncates to where `epoch` ends.
  std::optional<std::pair<int32_t, int64_t>> diverging;
  std::vector<uint8_t> records;
  uint64_t id = 0;
};

struct alter_isr_request {
  broker_id leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<std::pair<broker_id, int64_t>> isr;  // each member with its broker epoch
};

// A produce that waited for the high watermark (acks=all) and is done.
struct produce_done {
  uint64_t id = 0;
  replica_error error = replica_error::none;
};

struct replica_outbox {
  std::optional<fetch_request> fetch;  // to the leader
  std::optional<alter_isr_request> alter_isr;
  std::vector<produce_done> produced;
};

enum class replica_role : uint8_t { none, leader, follower };

class replica {
 public:
  replica(replica_options opts, replica_log& log);

  // The partition as the metadata has it now, and each broker's epoch.
  // Older partition epochs than one already applied are ignored.
  void apply(const partition_state& p, const std::map<broker_id, int64_t>& broker_epochs, int64_t now);
  // This broker's registration epoch, sent with every fetch. Fetch ids
  // start from it too, so an answer to an earlier incarnation's fetch is
  // never taken for this one's.
  void set_broker_epoch(int64_t epoch) {
    broker_epoch_ = epoch;
    next_fetch_id_ = (static_cast<uint64_t>(epoch) << 32) + 1;
  }
  void set_min_insync(int n);

  // ---- leader ----
  // Whether an acks=all append may go ahead now.
  replica_error can_append_all() const;
  // The shell appended to the log (as leader): the high watermark may move.
  void on_appended(int64_t now);
  // Waits until the high watermark passes `end_offset` (exclusive), or
  // until `deadline`; the answer comes in `take().produced`.
  void await(uint64_t id, int64_t end_offset, int64_t deadline);
  fetch_response on_fetch(const fetch_request& req, int64_t now);
  // The controller's answer to the AlterPartition in flight.
  void on_alter_isr_response(change_error error);

  // ---- follower ----
  void on_fetch_response(const fetch_response& resp, int64_t now);

  // Timers: the ISR's lag check, produce deadlines, fetch retries.
  void tick(int64_t now);
  replica_outbox take();

  replica_role role() const noexcept { return role_; }
  int64_t high_watermark() const noexcept { return hw_; }
  int32_t leader_epoch() const noexcept { return state_.leader_epoch; }
  const partition_state& state() const noexcept { return state_; }
  // The leader's idea of the ISR for the high watermark: the ISR and the
  // replicas it asked to add.
  std::vector<broker_id> maximal_isr() const;

 private:
  struct follower {
    int64_t leo = -1;           // unknown until it fetches
    int64_t broker_epoch = -1;  // of the incarnation whose fetch set `leo`
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_ms = 0;
    int64_t leader_leo_at_last_fetch = -1;
  };
  struct waiter {
    uint64_t id;
    int64_t end_offset;
    int64_t deadline;
  };

  void become_leader(int64_t now);
  void become_follower();
  void step_down(replica_error why);
  void maybe_advance_hw();
  void maybe_change_isr(int64_t now);
  void complete_waiters();
  void send_fetch(int64_t now);

  replica_options opts_;
  replica_log& log_;
  partition_state state_;
  bool have_state_ = false;
  std::map<broker_id, int64_t> broker_epochs_;
  int64_t broker_epoch_ = -1;
  replica_role role_ = replica_role::none;
  int64_t hw_ = 0;

  // Leader.
  std::map<broker_id, follower> followers_;
  int64_t epoch_start_offset_ = 0;
  std::optional<alter_isr_request> isr_in_flight_;  // sent, not yet answered or seen in the metadata
  std::optional<alter_isr_request> isr_to_send_;
  int64_t isr_sent_ms_ = 0;
  std::vector<waiter> waiters_;
  std::vector<produce_done> done_;

  // Follower.
  uint64_t next_fetch_id_ = 1;
  uint64_t fetch_in_flight_ = 0;  // its id; 0: none
  int64_t fetch_sent_ms_ = 0;
  std::optional<fetch_request> fetch_to_send_;
};

}  // namespace mosaic::replication
