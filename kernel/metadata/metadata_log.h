// The metadata log: where metadata records are committed, and the seam
// between the metadata image and Raft.
//
// `raft_metadata_log` is the implementation: a `raft::server` whose
// replicated state machine is the image. Every node, a single one included
// (a one-voter quorum), goes through it. Entries committed anywhere in the
// cluster reach the image through `apply`, on the Raft thread; snapshots
// are the image written as records (`image::to_records`).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kernel/base/metrics.h"
#include "kernel/base/status.h"
#include "kernel/log/partition_log.h"
#include "kernel/metadata/image.h"
#include "kernel/metadata/records.h"
#include "kernel/raft/server.h"

namespace mosaic::metadata {

class metadata_log {
 public:
  virtual ~metadata_log() = default;
  // The state machine's three calls, all on the log's own thread.
  struct callbacks {
    // A committed entry, in order.
    std::function<void(int64_t offset, const std::vector<record>& records)> apply;
    // The image as encoded records (`encode`), for a snapshot.
    std::function<std::vector<uint8_t>()> snapshot;
    // Replace the image with a snapshot's encoded records (as of
    // `offset`); an error leaves the image as it was.
    std::function<status(int64_t offset, std::span<const uint8_t> records)> restore;
  };
  // Starts delivering entries; returns once what was committed before the
  // call has been applied (or with why it could not).
  virtual status start(callbacks cb) = 0;
  // Commits `records` as one entry; returns its offset once it has been
  // applied here.
  virtual result<int64_t> commit(const std::vector<record>& records) = 0;
  // The same, giving up (errc::io) after `timeout`; the entry may still
  // commit later.
  virtual result<int64_t> commit(const std::vector<record>& records, std::chrono::milliseconds timeout) = 0;
  // The quorum, for DescribeQuorum (null where there is none).
  virtual raft::server* quorum() { return nullptr; }
  // How long commits took, from the call to their apply here (successful
  // ones), for /metrics.
  const metrics::histogram& commit_latency() const noexcept { return commit_latency_; }

 protected:
  metrics::histogram commit_latency_;
};

struct raft_metadata_options {
  raft::server_options server;
  std::chrono::milliseconds start_timeout{30000};  // for a quorum to form and catch this node up
  std::chrono::milliseconds commit_timeout{30000};
  // Checked while start() waits: true gives up (a stop signal, say).
  std::function<bool()> cancelled;
};

class raft_metadata_log final : public metadata_log, private raft::state_machine {
 public:
  explicit raft_metadata_log(raft_metadata_options opts) : opts_(std::move(opts)) {}
  ~raft_metadata_log() override;
  status start(callbacks cb) override;
  result<int64_t> commit(const std::vector<record>& records) override { return commit(records, opts_.commit_timeout); }
  result<int64_t> commit(const std::vector<record>& records, std::chrono::milliseconds timeout) override;
  raft::server* quorum() override { return server_.get(); }
  void stop();

 private:
  void apply(const raft::entry& e) override;
  std::vector<uint8_t> take_snapshot() override;
  void restore(const raft::snapshot_meta& meta, std::span<const uint8_t> data) override;

  raft_metadata_options opts_;
  callbacks cb_;
  std::unique_ptr<raft::server> server_;
  std::mutex mu_;
  status broken_;  // an entry that did not decode: the image can no longer be trusted
};

// Reads the entries of a metadata log kept as a partition log (Mosaic before
// Raft: `__cluster_metadata-0`), to import them into a new quorum.
status read_partition_metadata_log(log::partition_log* log, const std::function<void(const std::vector<record>&)>& fn);

// The image kept current from a metadata log. Writers serialise on the
// store; readers take a consistent copy of what they need under its lock.
class metadata_store {
 public:
  explicit metadata_store(std::unique_ptr<metadata_log> log) : log_(std::move(log)) {}
  // The log goes first: its thread applies to the image until it stops.
  ~metadata_store() { log_.reset(); }
  metadata_store(const metadata_store&) = delete;
  metadata_store& operator=(const metadata_store&) = delete;

  // Starts the log; returns once the image holds what was committed.
  status load();
  // Commits the records; returns once they are applied to the image, or
  // with errc::already_exists / errc::not_found if `image::check` refused
  // them when their turn came (a writer elsewhere got there first).
  result<int64_t> propose(const std::vector<record>& records);
  // The same, waiting at most `timeout` for the log (errc::io after it).
  result<int64_t> propose(const std::vector<record>& records, std::chrono::milliseconds timeout);
  // Called after each entry is applied (on the log's thread, without the
  // image's lock held): it must not block. One hook per owner (the replica
  // manager, the node's cluster swaps); an empty `fn` removes the owner's.
  void on_applied(const void* owner, std::function<void(int64_t offset)> fn) {
    std::lock_guard g(hook_mu_);
    if (fn)
      on_applied_[owner] = std::move(fn);
    else
      on_applied_.erase(owner);
  }

  // Runs `fn(image)` under the lock.
  template <class F>
  auto read(F&& fn) const {
    std::lock_guard g(mu_);
    return fn(image_);
  }
  int64_t applied_offset() const;
  // What is asked of every request, without the lock: the image's
  // acls_changed() (the authorizer rebuilds its index only when it moves),
  // and whether any client quota exists (most clusters have none).
  uint64_t acls_version() const noexcept { return acls_version_.load(std::memory_order_acquire); }
  bool has_client_quotas() const noexcept { return has_quotas_.load(std::memory_order_acquire); }
  metadata_log& log() { return *log_; }

 private:
  // The outcome of a commit: refused if `image::check` refused the entry.
  result<int64_t> settled(result<int64_t> offset);

  std::unique_ptr<metadata_log> log_;
  std::mutex write_mu_;  // one proposal at a time (the broker's checks are made against the image it read)
  mutable std::mutex mu_;
  image image_;
  int64_t applied_ = -1;
  std::atomic<uint64_t> acls_version_{0};
  std::atomic<bool> has_quotas_{false};
  void publish_locked() {
    acls_version_.store(image_.acls_changed(), std::memory_order_release);
    has_quotas_.store(!image_.client_quotas().empty(), std::memory_order_release);
  }
  size_t last_snapshot_bytes_ = 0;     // to size the next one's buffer
  std::map<int64_t, status> refused_;  // recent entries `image::check` refused, by offset
  std::mutex hook_mu_;
  std::map<const void*, std::function<void(int64_t)>> on_applied_;
  void applied_hook(int64_t offset) {
    std::lock_guard g(hook_mu_);
    for (const auto& [owner, fn] : on_applied_) fn(offset);
  }
};

}  // namespace mosaic::metadata
