// One share-partition (KIP-932): the delivery state of one topic-partition
// for one share group. Records below the start offset (SPSO) are finished;
// records from the start to `end_offset()` are in flight, each with a
// state, a delivery count and, while acquired, its holder and lock
// deadline; records from `end_offset()` on have not been handed out yet and
// count as available.
//
// The class is a plain state machine: no clock, no threads, no I/O. Its
// owner (share_manager) passes the time in, reads the log, persists the
// changes `take_changes` reports, and asks a policy (share_policy.h) what a
// release, a reject, a lock timeout or a renewal leads to.
//
// Threading: none; the owner serialises every call.
#pragma once

#include <climits>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kernel/groups/share_policy.h"

namespace mosaic::groups {

// The persisted delivery states, numbered as Kafka's DeliveryState byte.
enum class record_state : uint8_t { available = 0, acquired = 1, acknowledged = 2, archiving = 3, archived = 4 };

// The acknowledgement types, numbered as on the wire.
enum class ack_type : uint8_t { gap = 0, accept = 1, release = 2, reject = 3, renew = 4 };

// A contiguous run of offsets with one state and delivery count: the unit
// of persisted state (Kafka's StateBatch) and of acquired ranges.
struct state_batch {
  int64_t first = 0;
  int64_t last = 0;
  record_state state = record_state::available;
  int16_t delivery_count = 0;
  bool operator==(const state_batch&) const = default;
};

// One AcknowledgementBatch of a request: either one type for the whole
// range, or one type per offset.
struct ack_batch {
  int64_t first = 0;
  int64_t last = 0;
  std::vector<uint8_t> types;
};

// The limits that apply to a share-partition (from the group's configs).
struct share_limits {
  int32_t delivery_limit = 5;      // share.delivery.count.limit
  int64_t lock_ms = 30000;         // share.record.lock.duration.ms
  int32_t max_in_flight = 2000;    // share.partition.max.record.locks
  bool renew_enabled = true;       // share.renew.acknowledge.enable
  bool dead_letter_topic = false;  // errors.deadletterqueue.topic.name is set
};

// A record that must go to the dead-letter queue before it is archived.
struct dead_letter {
  int64_t offset = 0;
  int16_t delivery_count = 0;
  share_cause cause = share_cause::reject;
};

class share_partition {
 public:
  explicit share_partition(int64_t start_offset = 0) : start_(start_offset) {}

  int64_t start_offset() const noexcept { return start_; }
  // One past the last offset ever handed out (Kafka's SPEO + 1).
  int64_t end_offset() const noexcept { return start_ + static_cast<int64_t>(window_.size()); }

  // ---- acquisition ----

  // The lowest offset a fetch can acquire from at `now_ms`: an available
  // in-flight record whose redelivery time has come, else end_offset() if
  // the in-flight bound allows more, else -1 (nothing to hand out).
  int64_t next_acquirable(int64_t now_ms, const share_limits& lim) const;

  // Acquires, for `holder`, the acquirable records of one batch of the log
  // ([base, last]; a control batch's offsets are archived, never handed
  // out). At most `budget` records are taken unless `whole_batch` (batch
  // optimised mode: the batch is taken whole once one record of it is);
  // `budget` goes down by what was taken. The acquired runs are appended
  // to `out` (state acquired, with their delivery counts). Returns the
  // number acquired.
  int32_t acquire(int64_t base, int64_t last, bool control, uint32_t holder, int64_t now_ms, const share_limits& lim,
                  int32_t& budget, bool whole_batch, std::vector<state_batch>& out);

  // Takes back acquisitions that were never handed out (their persisting
  // failed): each offset of `runs` still acquired by `holder` at the run's
  // delivery count becomes available again at once, its count as before
  // the acquisition. Returns how many were taken back.
  int32_t unacquire(uint32_t holder, std::span<const state_batch> runs);

  // Marks [end_offset(), offset) as holes in the log (offsets with no record, such as
  // those below a deleted log start): archived, never handed out.
  void skip_to(int64_t offset);

  // ---- acknowledgement ----

  // Applies `batches` for `holder`, all or nothing: every offset must be
  // acquired by `holder` (ack type gap also accepts an available offset
  // above the start), else nothing changes and the answer is false with
  // the reason in `why`. RENEW restarts the lock (and is refused when
  // renewals are off or the policy refuses it).
  bool acknowledge(uint32_t holder, std::span<const ack_batch> batches, int64_t now_ms, const share_limits& lim,
                   const share_policy& policy, std::string& why);

  // Releases every lock whose deadline has passed. Returns how many.
  // Cheap until something may be due (see next_deadline).
  int32_t expire(int64_t now_ms, const share_limits& lim, const share_policy& policy);
  // No lock deadline or redelivery time is earlier than this (INT64_MAX:
  // none); it may be earlier than the true next one, never later.
  int64_t next_deadline() const noexcept { return deadline_hint_; }

  // Releases every record `holder` holds (its share session closed), as a
  // lock timeout would but without waiting for it.
  int32_t release_holder(uint32_t holder, int64_t now_ms, const share_limits& lim, const share_policy& policy);

  // ---- dead letters ----

  // Records that entered ARCHIVING since the last call.
  std::vector<dead_letter> take_dead_letters() { return std::exchange(dead_letters_, {}); }
  // Every record in ARCHIVING (to resume after a restart).
  std::vector<dead_letter> archiving(const share_limits& lim) const;
  // The DLQ write of `offset` is done (or given up): ARCHIVING -> ARCHIVED.
  void archived(int64_t offset);

  // ---- persistence ----

  // The in-flight state as runs, for a snapshot. Acquired records are
  // persisted as acquired, with the delivery count their acquisition
  // gave them: a new leader locks them until the lock would have ended.
  std::vector<state_batch> snapshot() const;
  // The runs that changed since the last call, and whether the start
  // offset moved: what one update record carries.
  bool has_changes() const noexcept { return start_moved_ || !changed_.empty(); }
  std::vector<state_batch> take_changes();
  // Rebuilds from persisted state: a new start, then runs laid over it
  // (those below the start are dropped). An acquired run is locked by no
  // holder until `now_ms + lock_ms`, then released as a lock timeout
  // releases it (with `lock_ms` 0 it is available at once).
  void restore(int64_t start_offset, std::span<const state_batch> runs, int64_t now_ms = 0, int64_t lock_ms = 0);
  // Moves the start offset (AlterShareGroupOffsets, or a log start that
  // passed it): everything before is dropped.
  void reset_start(int64_t offset);

  // ---- inspection ----
  struct counts {
    int64_t in_flight = 0;  // end - start
    int64_t available = 0;
    int64_t acquired = 0;
    int64_t acknowledged = 0;
    int64_t archived = 0;  // archiving included
  };
  counts count() const noexcept;
  // What happened here since this state machine was made (not persisted:
  // a new leader starts from zero, as a Prometheus counter may).
  struct totals {
    int64_t redelivered = 0;    // acquisitions of a record delivered before
    int64_t rejected = 0;       // REJECT acknowledgements
    int64_t dead_lettered = 0;  // records sent to the dead-letter queue
  };
  const totals& total() const noexcept { return totals_; }
  // The state of one offset (for tests and the CLI): below the start it is
  // finished (shown as acknowledged), above the end available.
  state_batch at(int64_t offset) const;

 private:
  struct slot {
    record_state state = record_state::available;
    int16_t delivery_count = 0;
    uint16_t renewals = 0;
    uint32_t holder = 0;
    int64_t deadline_ms = 0;  // acquired: when the lock ends; available: earliest redelivery
  };

  slot& at_offset(int64_t offset) { return window_[static_cast<size_t>(offset - start_)]; }
  // What happens to an acquired record given up for `cause`.
  void give_up(int64_t offset, slot& s, share_cause cause, int64_t now_ms, const share_limits& lim,
               const share_policy& policy);
  void to_terminal(int64_t offset, slot& s, record_state st);
  void changed(int64_t offset);
  void advance();

  int64_t start_;
  std::deque<slot> window_;
  std::vector<int64_t> changed_;  // offsets whose persisted state changed
  bool start_moved_ = false;
  std::vector<dead_letter> dead_letters_;
  totals totals_;
  int64_t deadline_hint_ = INT64_MAX;  // a lower bound on every deadline in the window
};

}  // namespace mosaic::groups
