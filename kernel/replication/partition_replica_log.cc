#include "kernel/replication/partition_replica_log.h"

namespace mosaic::replication {

int32_t partition_replica_log::last_epoch() const {
  const auto epochs = log_.leader_epochs();
  return epochs.empty() ? -1 : epochs.back().epoch;
}

void partition_replica_log::start_epoch(int32_t epoch, int64_t start_offset) {
  // The log records a new epoch at its end; the replica asks for nothing else.
  if (start_offset != log_.log_end_offset()) {
    keep(status(errc::internal, "an epoch must start at the log end"));
    return;
  }
  keep(log_.start_leader_epoch(epoch));
}

void partition_replica_log::truncate_to(int64_t offset) {
  auto r = log_.truncate_to(offset);
  if (!r) keep(r.error());
}

void partition_replica_log::reset_to(int64_t offset) {
  auto r = log_.reset_to(offset);
  if (!r) keep(r.error());
}

std::vector<uint8_t> partition_replica_log::read(int64_t offset, size_t max_bytes) const {
  std::vector<uint8_t> out;
  auto r = log_.read(offset, max_bytes, log_.log_end_offset());
  if (r) (void)r->copy_to(out);
  return out;
}

status partition_replica_log::append_replicated(std::span<const uint8_t> batches) {
  auto r = log_.append_replicated(batches);
  if (r.refused) return status(errc::corrupt, r.refused->message);
  keep(r.io);
  return r.io;
}

}  // namespace mosaic::replication
