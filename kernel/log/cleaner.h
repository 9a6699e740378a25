// Log compaction (cleanup.policy=compact): the record-level work of the
// cleaner, with no thread, clock or file of its own. The log manager's
// cleaner thread drives it over a partition's sealed segments
// (partition_log::cleaning_view, replace_segment) as Kafka's log cleaner
// does:
//
// 1. `map_keys` reads the dirty part of the log (from the cleaned offset to
//    the first offset that may not be cleaned yet) and keeps each key's
//    latest offset in an `offset_map` bounded by
//    log.cleaner.dedupe.buffer.size; a full map ends the pass early.
// 2. `compact_batches` rewrites every sealed segment below that end: a
//    record stays if no later record has its key, or it is at or past the
//    end of what was mapped. Keyless records go (a compacted topic refuses
//    them at produce), and so do tombstones (null values) that had their
//    delete.retention.ms after a first pass.
//
// Offsets never change: a batch keeps its base offset, leader epoch,
// producer fields and last offset delta, and its records their offset
// deltas, so fetches and ListOffsets see gaps, never moved records.
// Compressed batches are decompressed and recompressed in their codec
// through `codec_hooks` (the codec plugins; the log knows none). A batch
// left with no record goes whole.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::log {

// Codecs by Kafka's attribute id (1 gzip, 2 snappy, 3 lz4, 4 zstd).
struct codec_hooks {
  std::function<status(int codec, std::span<const uint8_t> in, std::vector<uint8_t>& out)> decompress;
  std::function<status(int codec, std::span<const uint8_t> in, std::vector<uint8_t>& out)> compress;
};

// Each key's latest offset, in a table of `buffer_bytes`
// (log.cleaner.dedupe.buffer.size): open addressing over 24-byte slots, a
// key kept as a 128-bit hash beside its offset, filled to 90% at most (as
// Kafka's cleaner counts its buffer, and what it really takes).
class offset_map {
 public:
  static constexpr size_t slot_bytes = 24;
  explicit offset_map(size_t buffer_bytes);
  // False when the map is full and `key` is new (nothing changes).
  bool put(std::span<const uint8_t> key, int64_t offset);
  std::optional<int64_t> get(std::span<const uint8_t> key) const;
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return capacity_; }
  void clear();

 private:
  struct slot {
    uint64_t a = 0, b = 0;
    int64_t offset = -1;  // -1: empty
  };
  size_t find(uint64_t a, uint64_t b) const noexcept;  // the key's slot, or the empty one where it would go
  std::vector<slot> slots_;
  size_t capacity_;
  size_t size_ = 0;
};

// Puts the keys of `batches` (whole, back to back) into `map`, a batch at a
// time (all its keys or none). `end`: the offset after the last batch
// taken (-1: none); `full`: a batch did not fit, so the rest was left.
struct mapped {
  int64_t end = -1;
  bool full = false;
};
result<mapped> map_keys(std::span<const uint8_t> batches, offset_map& map, const codec_hooks& codecs);

struct compaction_rules {
  // Records at or past this offset are kept whatever the map says (the
  // map was filled only up to it).
  int64_t mapped_end = INT64_MAX;
  // Tombstones below this offset (cleaned once before) whose batch's max
  // timestamp is older than this time go.
  int64_t tombstones_cleaned_below = -1;
  int64_t tombstone_horizon_ms = INT64_MIN;
};

struct compaction_stats {
  uint64_t records_read = 0;
  uint64_t records_kept = 0;
  uint64_t tombstones_removed = 0;
  uint64_t keyless_removed = 0;
  uint64_t batches_removed = 0;
  bool changed() const noexcept { return records_kept != records_read; }
};

// Appends to `out` the compacted form of `batches` (whole, back to back).
result<compaction_stats> compact_batches(std::span<const uint8_t> batches, const offset_map& map,
                                         const compaction_rules& rules, const codec_hooks& codecs,
                                         std::vector<uint8_t>& out);

// The offsets in a batch of records that have no key (KIP-467's
// record_errors for a compacted topic), as indexes into the batch.
result<std::vector<int32_t>> keyless_records(std::span<const uint8_t> batch, const codec_hooks& codecs);

}  // namespace mosaic::log
