// The cleaner's pass over one compacted partition log (cleanup.policy
// compact): the record rules are cleaner.h's, the segments and the swap
// partition_log's. The log manager's cleaner thread calls `clean_log` for
// the logs whose cleaning_view is due, dirtiest first.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>

#include "kernel/log/cleaner.h"
#include "kernel/log/partition_log.h"

namespace mosaic::log {

struct cleaner_options {
  bool enabled = true;                                              // log.cleaner.enable
  int64_t backoff_ms = 15000;                                       // log.cleaner.backoff.ms
  size_t dedupe_buffer_bytes = size_t{128} << 20;                   // log.cleaner.dedupe.buffer.size
  double io_bytes_per_second = std::numeric_limits<double>::max();  // log.cleaner.io.max.bytes.per.second
  codec_hooks codecs;
};

// Keeps the bytes read and written under a rate (the whole cleaner's).
class io_throttle {
 public:
  explicit io_throttle(double bytes_per_second) : rate_(bytes_per_second) {}
  // Counts `bytes`, sleeping while the cleaner is ahead of its rate (and
  // not `stopped`).
  void spend(uint64_t bytes, const std::function<bool()>& stopped);
  uint64_t spent() const noexcept { return spent_; }

 private:
  double rate_;
  uint64_t spent_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct clean_result {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  compaction_stats records;
  int64_t cleaned_to = -1;  // the new cleaned offset
  int segments_replaced = 0;
  bool aborted = false;  // `stopped`: the log is as it was, or partly cleaned and consistent
};

// One pass: maps the dirty part's keys into `map` (cleared first), then
// rewrites the sealed segments below what was mapped. Each segment is
// swapped on its own, so a pass cut short leaves a consistent log.
result<clean_result> clean_log(partition_log& log, offset_map& map, io_throttle& io, const codec_hooks& codecs,
                               const std::function<bool()>& stopped);

}  // namespace mosaic::log
