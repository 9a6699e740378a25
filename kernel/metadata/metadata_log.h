// The metadata log: where committed metadata records live, and the seam
// the Raft issue plugs into. `commit` returns once an entry is durable on a
// quorum; `replay` gives back every committed entry in order.
//
// `local_metadata_log` is the one-node implementation: a partition log of
// its own (`__cluster_metadata-0` in the first log dir), each entry one
// record batch, fsynced before `commit` returns. The Raft log replaces it
// (a single node then being a one-voter quorum); the store above does not
// change.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/log/partition_log.h"
#include "kernel/metadata/image.h"
#include "kernel/metadata/records.h"

namespace mosaic::metadata {

class metadata_log {
 public:
  virtual ~metadata_log() = default;
  using entry_fn = std::function<void(int64_t offset, const std::vector<record>& records)>;
  virtual status replay(const entry_fn& apply) = 0;
  // Commits `records` as one entry; returns its offset.
  virtual result<int64_t> commit(const std::vector<record>& records) = 0;
};

class local_metadata_log final : public metadata_log {
 public:
  explicit local_metadata_log(log::partition_log* log) : log_(log) {}
  status replay(const entry_fn& apply) override;
  result<int64_t> commit(const std::vector<record>& records) override;

 private:
  log::partition_log* log_;
};

// The image kept current from a metadata log. Writers serialise on the
// store; readers take a consistent copy of what they need under its lock.
class metadata_store {
 public:
  explicit metadata_store(std::unique_ptr<metadata_log> log) : log_(std::move(log)) {}

  // Replays the log into the image.
  status load();
  // Commits the records, then applies them to the image.
  result<int64_t> propose(const std::vector<record>& records);

  // Runs `fn(image)` under the lock.
  template <class F>
  auto read(F&& fn) const {
    std::lock_guard g(mu_);
    return fn(image_);
  }
  int64_t applied_offset() const;

 private:
  std::unique_ptr<metadata_log> log_;
  mutable std::mutex mu_;
  image image_;
  int64_t applied_ = -1;
};

}  // namespace mosaic::metadata
