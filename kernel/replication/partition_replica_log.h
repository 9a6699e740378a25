// A replica's log over a partition's real log (`kernel/log`): what the
// replication shell hands each `replica`. The replica's calls that cannot
// fail in its interface (truncation, a new epoch) keep the first disk error
// here; the shell checks `error()` after each event and stops the replica
// (the partition goes offline on this broker) rather than go on with a log
// it cannot trust.
#pragma once

#include "kernel/log/partition_log.h"
#include "kernel/replication/replica.h"

namespace mosaic::replication {

class partition_replica_log final : public replica_log {
 public:
  explicit partition_replica_log(log::partition_log& log) : log_(log) {}

  int64_t log_start_offset() const override { return log_.log_start_offset(); }
  int64_t log_end_offset() const override { return log_.log_end_offset(); }
  int32_t last_epoch() const override;
  std::pair<int32_t, int64_t> end_offset_for_epoch(int32_t epoch) const override {
    return log_.end_offset_for_epoch(epoch);
  }
  void start_epoch(int32_t epoch, int64_t start_offset) override;
  void truncate_to(int64_t offset) override;
  void reset_to(int64_t offset) override;
  std::vector<uint8_t> read(int64_t offset, size_t max_bytes) const override;
  status append_replicated(std::span<const uint8_t> batches) override;

  // The first disk error met, if any.
  const status& error() const noexcept { return error_; }

 private:
  void keep(const status& s) {
    if (error_.ok() && !s.ok()) error_ = s;
  }
  log::partition_log& log_;
  status error_;
};

}  // namespace mosaic::replication
