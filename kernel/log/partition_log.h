// A partition's log: segments named by base offset in one folder, appended
// to by one writer at a time and read by any number of readers.
//
// Offsets: the log start offset (LSO, the first offset kept), the log end
// offset (LEO, the next offset to assign) and the high watermark (set by the
// caller: replication owns it). Appends assign offsets and patch only the
// fields outside the CRC. Reads return file ranges for sendfile, or copy
// into memory.
//
// Durability (see README.md): an append is written with writev; it reaches
// the disk when a flush runs. A flush runs when `flush.messages` appends are
// unflushed, when `flush.ms` has passed (the log manager's flusher), or when
// an appender asks to wait for it; concurrent waiters share one fdatasync
// (group commit).
//
// Threading: `append`, `truncate_to`, `delete_records_before`,
// `enforce_retention` and `close` serialise on the partition's lock, held
// for offset assignment and the write only. Readers take it just long
// enough to copy a segment pointer and a size. Waiting for a flush happens
// outside it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/metrics.h"
#include "kernel/base/status.h"
#include "kernel/log/leader_epoch_cache.h"
#include "kernel/log/producer_state.h"
#include "kernel/log/record_batch.h"
#include "kernel/log/segment.h"

namespace mosaic::log {

struct log_config {
  uint64_t segment_bytes = 1ull << 30;            // segment.bytes
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;    // segment.ms
  size_t index_interval_bytes = 4096;             // index.interval.bytes
  size_t max_message_bytes = 1048588;             // max.message.bytes (a batch)
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // retention.ms; -1: no limit
  int64_t retention_bytes = -1;                   // retention.bytes; -1: no limit
  int64_t flush_messages = INT64_MAX;             // flush.messages
  int64_t flush_ms = INT64_MAX;                   // flush.ms
  bool log_append_time = false;                   // message.timestamp.type=LogAppendTime
  int64_t producer_expiration_ms = 86400000;      // producer.id.expiration.ms
  uint64_t preallocate_bytes = 4 << 20;           // log.preallocate.bytes (Mosaic's; 0: off)
  // cleanup.policy: delete (retention), compact (the cleaner), or both.
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  int64_t delete_retention_ms = 86400000;     // delete.retention.ms: how long tombstones stay
  int64_t min_compaction_lag_ms = 0;          // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = INT64_MAX;  // max.compaction.lag.ms
  double min_cleanable_dirty_ratio = 0.5;     // min.cleanable.dirty.ratio
  // Not a topic config: the id (as text) of the topic the partition is of,
  // stamped on its folder (partition.metadata, see log_manager); empty when
  // not known.
  std::string topic_id;
  bool operator==(const log_config&) const = default;
};

// What the cleaner may do with a compacted log now (cleaning_view).
struct clean_view {
  int64_t cleaned_offset = 0;      // below: compacted by an earlier pass
  int64_t uncleanable_offset = 0;  // from here: the active segment, past the HW, or younger than min.compaction.lag.ms
  uint64_t clean_bytes = 0;
  uint64_t dirty_bytes = 0;
  double dirty_ratio = 0;                          // dirty / (clean + dirty)
  bool past_max_lag = false;                       // dirty records older than max.compaction.lag.ms wait
  int64_t oldest_dirty_ms = -1;                    // the first dirty segment's newest timestamp
  std::vector<std::shared_ptr<segment>> segments;  // sealed and indexed, below uncleanable_offset
  int64_t now_ms = 0;                              // the log's clock when the view was taken
  // Due for a pass: dirty enough, or dirty records waited too long.
  bool due(double min_ratio) const noexcept { return dirty_bytes > 0 && (dirty_ratio >= min_ratio || past_max_lag); }
};

// A refused append: which batch and why (the log is unchanged).
struct append_refusal {
  batch_error error;
  std::string message;
};

struct append_result {
  int64_t base_offset = -1;  // of the first batch appended
  int64_t last_offset = -1;  // of the last record appended
  int64_t log_append_time = -1;
  size_t batches = 0;
  // An idempotent producer's retry of a batch the log has: nothing was
  // appended and the offsets are the original ones.
  bool duplicate = false;
  std::optional<append_refusal> refused;  // set: nothing was appended
  status io;                              // a disk error (nothing acknowledged)
  bool ok() const noexcept { return !refused && io.ok(); }
};

struct read_result {
  std::vector<file_slice> slices;  // whole batches, in order
  uint64_t bytes = 0;
  int64_t first_offset = -1;  // base offset of the first batch returned
  // Copies the slices' bytes into `out` (the in-memory path, for TLS).
  status copy_to(std::vector<uint8_t>& out) const;
};

using clock_fn = std::function<int64_t()>;  // wall clock, ms

class partition_log {
 public:
  // Opens (or creates) the log in `dir`: recovers the active segment,
  // rebuilding missing or corrupt indexes and cutting a torn or corrupt tail.
  static result<std::unique_ptr<partition_log>> open(const std::filesystem::path& dir, log_config config,
                                                     clock_fn clock = nullptr);
  ~partition_log();
  partition_log(const partition_log&) = delete;
  partition_log& operator=(const partition_log&) = delete;

  // Validates every batch in `batches` (back-to-back, as in a produce
  // request), checks idempotent producers' sequences and epochs, then
  // assigns offsets, stamps `leader_epoch`, and appends them all with one
  // write. One refused batch refuses the whole append; a retried batch of
  // an idempotent producer is answered with its original offsets.
  append_result append(std::span<uint8_t> batches, int32_t leader_epoch);
  // A follower's append: a leader's batches as they are, with their
  // offsets and leader epochs. They are validated (they crossed a network),
  // must start at or past the log end and follow one another (a compacted
  // leader's batches leave gaps, never overlaps); each new epoch is
  // checkpointed before its first batch, and idempotent producers' state
  // follows the batches (so that this replica can check sequences once it
  // leads). Refused whole, like `append`.
  append_result append_replicated(std::span<const uint8_t> batches);
  // Waits until everything up to `offset` is on disk, sharing fdatasync
  // calls with concurrent waiters (group commit).
  status wait_durable(int64_t offset);
  // Flushes now whatever is unflushed, and writes the indexes of segments
  // rolled since the last flush.
  status flush();

  // Batches from the one holding `offset`, up to `max_bytes`, below
  // `max_offset` (exclusive; the high watermark for consumers, LEO for
  // replicas). `min_one`: a first batch larger than `max_bytes` is returned
  // whole (KIP-74; only for the first partition of a response that has
  // data); otherwise nothing is. Offsets below the LSO or past the LEO are
  // errors (errc::not_found).
  result<read_result> read(int64_t offset, size_t max_bytes, int64_t max_offset, bool min_one = true) const;
  // Hands the batches in [from, to) to `chunk`, a few MiB of whole batches
  // at a time (copied into memory), until it returns false: for scans of
  // batch headers (recovery, max timestamp).
  status scan(int64_t from, int64_t to, const std::function<bool(std::span<const uint8_t>)>& chunk) const;
  // The first offset whose timestamp is >= ts (ListOffsets), or nullopt.
  std::optional<int64_t> offset_for_timestamp(int64_t ts) const;

  // A new leader's epoch starts at the log end (checkpointed now, before
  // any batch of it), as Kafka records it on becoming leader.
  status start_leader_epoch(int32_t epoch);
  // Removes everything from `offset` on (a whole batch holding it goes too);
  // returns the new LEO. At the LEO itself, the epochs started there go.
  result<int64_t> truncate_to(int64_t offset);
  // Everything goes: the log starts over, empty, at `offset` (a follower
  // whose end the leader's log start has passed). Epochs and producers'
  // state go with the batches.
  result<int64_t> reset_to(int64_t offset);
  // Moves the LSO up to `offset` (DeleteRecords) and deletes segments wholly
  // below it. `offset` may not pass the high watermark.
  result<int64_t> delete_records_before(int64_t offset);
  // Deletes whole sealed segments past retention.ms / retention.bytes; never
  // the active one. Returns how many segments went.
  size_t enforce_retention();
  // Rolls if the active segment is older than segment.ms; flushes if the
  // oldest unflushed append is older than flush.ms; syncs and indexes
  // segments rolled since the last call. For a periodic task.
  status tick();

  int64_t log_start_offset() const;
  int64_t log_end_offset() const;
  int64_t high_watermark() const;
  void set_high_watermark(int64_t hw);
  // Moves the high watermark up to `hw`, never down (concurrent appenders
  // may report their ends out of order).
  void advance_high_watermark(int64_t hw);
  int64_t flushed_offset() const;
  // OffsetForLeaderEpoch: the largest epoch at or below `epoch` that this
  // log has batches of, and the offset where that epoch ends (see
  // leader_epoch_cache.h).
  std::pair<int32_t, int64_t> end_offset_for_epoch(int32_t epoch) const;
  // The epochs recorded, oldest first, each with its start offset.
  std::vector<epoch_entry> leader_epochs() const;
  // What the log knows of an idempotent producer (DescribeProducers).
  std::optional<producer_entry> producer(int64_t pid) const;
  size_t producer_count() const;
  std::vector<std::pair<int64_t, producer_entry>> producers() const;
  // How many group-commit flushes ran (each one fdatasync per dirty segment).
  uint64_t flush_count() const;
  // Every partition log's flushes in this process (one group commit's
  // fdatasync of its dirty segments each), for /metrics.
  static const metrics::histogram& flush_latency() noexcept;
  uint64_t size_bytes() const;
  size_t segment_count() const;
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const log_config& config() const noexcept { return config_; }
  void set_config(const log_config& c);

  // ---- compaction (the cleaner: kernel/log/cleaner.h) ----
  clean_view cleaning_view() const;
  int64_t cleaned_offset() const;
  // Records that a pass compacted everything below `offset` (persisted).
  status set_cleaned_offset(int64_t offset);
  // Where the cleaner writes a segment's compacted copy before the swap
  // (a *.tmp file: one left by a crash is deleted when the log opens).
  std::filesystem::path cleaned_path(const segment& s) const;
  // Puts the compacted copy at `cleaned` (complete and synced) in the
  // place of `old`: the rename over the segment's file is atomic, so a
  // kill -9 leaves one or the other. Readers that hold `old` go on reading
  // its file. errc::not_found if `old` left the log meanwhile.
  status replace_segment(const std::shared_ptr<segment>& old, const std::filesystem::path& cleaned);

  // Writes indexes and a clean-shutdown marker; later calls fail.
  status close();

 private:
  partition_log(std::filesystem::path dir, log_config config, clock_fn clock);
  status load();
  status roll_locked(int64_t next_offset);
  status write_locked(std::span<const uint8_t> batches, std::vector<segment::appended_batch>& entries, int64_t now);
  status seal_pending();
  status persist_log_start_offset(int64_t lso);
  // Writes the cleaner's checkpoint, then takes `offset` (under the lock).
  status persist_cleaned_offset_locked(int64_t offset);
  // Rebuilds the producer state: the snapshot, then the batches after it
  // (or every batch, without a usable snapshot). Takes the lock to read.
  status recover_producers();
  result<int64_t> truncate_locked(int64_t offset);
  status start_over_locked(int64_t offset);
  // Loads the leader-epoch checkpoint, rebuilding it from the batches when
  // it is missing or unreadable, and trims it to the log's offsets.
  status recover_epochs();
  // Writes the checkpoint after a change (under the lock).
  status persist_epochs_locked();

  std::filesystem::path dir_;
  log_config config_;
  clock_fn clock_;

  // Held (before mu_) by the operations that remove or replace sealed
  // segments: retention, truncation, DeleteRecords, the cleaner's swap.
  // Appends and reads never take it.
  mutable std::mutex maintenance_mu_;
  int64_t cleaned_offset_ = 0;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<segment>> segments_;  // by base offset; back() is active
  std::vector<std::shared_ptr<segment>> to_seal_;   // rolled, indexes not yet written
  int64_t log_start_offset_ = 0;
  int64_t high_watermark_ = 0;
  int64_t unflushed_since_ms_ = -1;
  bool closed_ = false;
  producer_state producers_;
  leader_epoch_cache epochs_;

  // Group commit.
  mutable std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool flushing_ = false;
  int64_t flushed_offset_ = 0;  // everything below is on disk
  uint64_t flushes_ = 0;
  int waiters_ = 0;        // threads inside wait_durable
  int last_released_ = 0;  // waiters when the last flush finished
  int64_t last_fsync_ns_ = 0;
  status last_flush_error_;
};

}  // namespace mosaic::log
