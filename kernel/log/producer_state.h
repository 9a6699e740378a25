// What a partition remembers of each idempotent producer (KIP-98, KIP-360):
// its epoch and its last five batches (first and last sequence and
// offsets), so that a retried batch is recognised and answered with its
// original offsets instead of being appended twice, and a gap or a stale
// epoch is refused.
//
// The state is rebuilt from the log's batch headers when a log opens, from
// a snapshot file (`producer.snapshot`, written when the log closes and at
// each segment roll) and the batches after it. Fields follow Kafka's
// ProducerSnapshot (producer id, epoch, last sequence, last offset, offset
// delta, timestamp); the encoding is ours, with a CRC.
//
// Threading: none of its own; the partition log calls it under its lock.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "kernel/base/status.h"
#include "kernel/log/record_batch.h"

namespace mosaic::log {

struct producer_batch {
  int32_t first_seq = 0;
  int32_t last_seq = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
};

struct producer_entry {
  int16_t epoch = -1;
  std::deque<producer_batch> batches;  // the last five, oldest first
  int64_t last_append_ms = 0;
};

enum class sequence_verdict { accept, duplicate, out_of_order, stale_epoch };

class producer_state {
 public:
  static constexpr size_t batches_kept = 5;

  // The sequence of the last record of a batch (sequences wrap at INT32_MAX).
  static int32_t last_sequence(int32_t base, int32_t last_offset_delta) {
    return static_cast<int32_t>((static_cast<int64_t>(base) + last_offset_delta) % (int64_t{INT32_MAX} + 1));
  }

  // Checks a batch of producer `pid` against what is known; for a
  // duplicate, `original` is the cached batch.
  sequence_verdict check(int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                         producer_batch* original) const;
  // Records an appended batch.
  void update(int64_t pid, int16_t epoch, const producer_batch& b, int64_t now_ms);
  // Records every idempotent batch in `bytes` (back-to-back batches), as a
  // recovery scan does.
  void replay(std::span<const uint8_t> bytes, int64_t now_ms);
  // Forgets producers whose last append is older than `expiration_ms`.
  size_t expire(int64_t now_ms, int64_t expiration_ms);
  void clear() { producers_.clear(); }

  size_t size() const { return producers_.size(); }
  const producer_entry* find(int64_t pid) const;
  const std::unordered_map<int64_t, producer_entry>& all() const noexcept { return producers_; }

  // The snapshot: state as of `offset` (the log end offset when written).
  status write_snapshot(const std::filesystem::path& file, int64_t offset) const;
  // Loads a snapshot; returns the offset it is valid for, or nullopt if
  // there is none or it is damaged (then the caller scans the whole log).
  std::optional<int64_t> read_snapshot(const std::filesystem::path& file, int64_t now_ms);

 private:
  std::unordered_map<int64_t, producer_entry> producers_;
};

}  // namespace mosaic::log
