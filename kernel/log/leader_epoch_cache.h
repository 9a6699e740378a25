// The leader epochs a partition's log has seen, each with the first offset
// written in it, as Kafka's leader-epoch checkpoint keeps them. A follower
// asks "where does epoch E end?" (OffsetForLeaderEpoch) to find where its log
// diverges from the leader's and truncates there.
//
// On disk: `leader-epoch-checkpoint` in the partition's folder, the text
// format Kafka uses (a version line "0", a count line, then one
// "epoch start-offset" line per entry), replaced whole and synced on each
// change. It is written before the batches of a new epoch, so after a crash
// it may name an epoch whose batches never landed: opening the log trims
// the entries at or past its end.
//
// Threading: none of its own; the partition log calls it under its lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::log {

struct epoch_entry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  bool operator==(const epoch_entry&) const = default;
};

class leader_epoch_cache {
 public:
  static constexpr const char* file_name = "leader-epoch-checkpoint";
  static constexpr int32_t undefined_epoch = -1;
  static constexpr int64_t undefined_offset = -1;

  // Reads the checkpoint; a missing file is an empty cache, a malformed one
  // an error (errc::corrupt) so that the caller rebuilds it from the log.
  static result<leader_epoch_cache> load(const std::filesystem::path& file);
  status write(const std::filesystem::path& file) const;

  // Records that `epoch` starts at `start_offset`. Only a newer epoch than
  // the latest is recorded (returns true); the same or an older one is a
  // no-op, as batches of an epoch already known keep arriving.
  bool assign(int32_t epoch, int64_t start_offset);
  // Drops the entries starting at or past `end_offset` (the log was cut
  // there). Returns true when something changed.
  bool truncate_from_end(int64_t end_offset);
  // Drops the entries wholly below `start_offset` (the log start moved up);
  // the one spanning it now starts there. Returns true when something
  // changed.
  bool truncate_from_start(int64_t start_offset);

  // OffsetForLeaderEpoch: the largest epoch at or below `epoch` and the
  // offset where it ends (the start of the next epoch, or `log_end_offset`
  // for the latest). An epoch newer than any known, or an empty cache, gives
  // (undefined_epoch, undefined_offset); one older than every entry gives
  // (`epoch`, the first entry's start).
  std::pair<int32_t, int64_t> end_offset_for(int32_t epoch, int64_t log_end_offset) const;

  int32_t latest_epoch() const noexcept { return entries_.empty() ? undefined_epoch : entries_.back().epoch; }
  const std::vector<epoch_entry>& entries() const noexcept { return entries_; }

 private:
  std::vector<epoch_entry> entries_;  // by epoch and by start offset, both rising
};

}  // namespace mosaic::log
