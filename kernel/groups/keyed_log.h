// A keyed log on an internal partition: records with a key and a value (or
// none, which deletes the key), the later record of a key replacing the
// earlier one, as in Kafka's compacted internal topics. The group log and
// the share-group log are both one of these (the share coordinator's
// partitions use its record encoding, detached).
//
// Writes are queued and written by `flush` as one append and one fsync
// (group commit). Once the log holds much more than the live state,
// `compact` writes the live state again and deletes the segments wholly
// below it.
//
// Threading: used by one thread (its owner's).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/log/partition_log.h"

namespace mosaic::groups {

class keyed_log {
 public:
  // Over a partition log of its own, which it appends to itself.
  keyed_log(log::partition_log* log, std::string what) : log_(log), what_(std::move(what)) {}
  // Detached: the owner reads the log with `read` and writes what `take`
  // gives it (the group coordinator, through the replicated produce path).
  explicit keyed_log(std::string what) : what_(std::move(what)) {}

  using visitor =
      std::function<void(std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value)>;
  using scanner = std::function<status(const std::function<bool(std::span<const uint8_t>)>& chunk)>;
  // Reads the whole log, calling `apply` for each record in order; `apply`
  // throws truncated_input for a record it cannot read. Returns the number
  // of records read.
  result<size_t> load(const visitor& apply);
  // The same over the chunks `scan` gives.
  result<size_t> read(const scanner& scan, const visitor& apply) const;
  // The queued records as record batches; the queue is emptied.
  std::vector<uint8_t> take();

  void put(std::vector<uint8_t> key, std::optional<std::vector<uint8_t>> value) {
    pending_.push_back({std::move(key), std::move(value)});
  }
  bool pending() const noexcept { return !pending_.empty(); }
  // Appends what is queued and waits until it is on disk.
  status flush();

  // True when the log is several times larger than the state last written
  // by `compact` and has grown by a segment since.
  bool wants_compaction() const;
  // Writes the live state (`write_all` queues it with `put`), then deletes
  // the segments wholly below where that copy starts.
  status compact(const std::function<void()>& write_all);

  uint64_t bytes_written() const noexcept { return written_; }

 private:
  struct entry {
    std::vector<uint8_t> key;
    std::optional<std::vector<uint8_t>> value;
  };
  log::partition_log* log_ = nullptr;
  std::string what_;  // "group log", for messages
  std::vector<entry> pending_;
  uint64_t written_ = 0;
  uint64_t live_bytes_ = 0;  // the size of the last full copy (or of the log at load)
};

}  // namespace mosaic::groups
