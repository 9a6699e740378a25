#include "kernel/metadata/metadata_log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>

#include <thread>

#include "kernel/base/log.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"

namespace mosaic::metadata {

namespace {
constexpr size_t large_entry_bytes = 4 << 20;
}  // namespace

// --- the Raft log ------------------------------------------------------------

raft_metadata_log::~raft_metadata_log() { stop(); }

void raft_metadata_log::stop() {
  if (server_) server_->stop(true);  // a controlled shutdown hands leadership over
}

status raft_metadata_log::start(callbacks cb) {
  cb_ = std::move(cb);
  auto s = raft::server::start(opts_.server, *this);
  if (!s) return s.error();
  server_ = std::move(*s);
  // Wait until this node has applied what the quorum had committed: as the
  // leader, a read index proves it; as a follower, its applied index
  // reaching the commit index a leader sent it.
  const auto until = std::chrono::steady_clock::now() + opts_.start_timeout;
  auto last_note = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard g(mu_);
      if (!broken_.ok()) return broken_;
    }
    if (opts_.cancelled && opts_.cancelled()) return status(errc::io, "stopped while waiting for the metadata quorum");
    auto q = server_->describe();
    if (q.halted) return status(errc::io, "the metadata quorum halted (see the log)");
    if (q.current == raft::role::leader) {
      if (server_->barrier(std::chrono::milliseconds(1000)).ok()) return {};
    } else if (q.leader != raft::no_node && q.commit > 0 && q.applied >= q.commit) {
      return {};
    }
    if (std::chrono::steady_clock::now() - last_note > std::chrono::seconds(5)) {
      last_note = std::chrono::steady_clock::now();
      log::info("waiting for the metadata quorum (voters {}; leader {})", fmt::join(q.voters, ","),
                q.leader == raft::no_node ? std::string("unknown") : std::to_string(q.leader));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status(errc::io, "no metadata quorum formed within " + std::to_string(opts_.start_timeout.count()) + " ms");
}

result<int64_t> raft_metadata_log::commit(const std::vector<record>& records, std::chrono::milliseconds timeout) {
  {
    std::lock_guard g(mu_);
    if (!broken_.ok()) return broken_;
  }
  const auto began = std::chrono::steady_clock::now();
  auto r = server_->replicate_wait(encode(records), timeout);
  if (!r) return r.error();
  commit_latency_.observe(std::chrono::steady_clock::now() - began);
  return *r;
}

void raft_metadata_log::apply(const raft::entry& e) {
  if (e.type != raft::entry_type::command) return;
  auto records = decode(e.data);
  if (!records) {
    std::lock_guard g(mu_);
    broken_ =
        status(errc::corrupt, fmt::format("metadata entry {} does not decode: {}", e.index, records.error().message()));
    log::error("{}", broken_.message());
    return;
  }
  cb_.apply(e.index, *records);
  // A large entry (a broker's registration in a cluster of a million
  // partitions changes a third of them) leaves its decoded records' memory
  // free but held: give it back.
  if (e.data.size() >= large_entry_bytes) {
    records->clear();
    records->shrink_to_fit();
    ::malloc_trim(0);
  }
}

std::vector<uint8_t> raft_metadata_log::take_snapshot() {
  const auto started = std::chrono::steady_clock::now();
  auto bytes = cb_.snapshot();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  log::info("metadata snapshot: {:.1f} MiB encoded in {} ms", static_cast<double>(bytes.size()) / 1048576.0, ms);
  return bytes;
}

void raft_metadata_log::restore(const raft::snapshot_meta& meta, std::span<const uint8_t> data) {
  if (auto s = cb_.restore(meta.index, data); !s) {
    std::lock_guard g(mu_);
    broken_ =
        status(errc::corrupt, fmt::format("the metadata snapshot at {} does not decode: {}", meta.index, s.message()));
    log::error("{}", broken_.message());
  }
}

// --- the partition log of earlier versions -----------------------------------

status read_partition_metadata_log(log::partition_log* log, const std::function<void(const std::vector<record>&)>& fn) {
  int64_t at = log->log_start_offset();
  const int64_t end = log->log_end_offset();
  while (at < end) {
    auto read = log->read(at, 1 << 20, end);
    if (!read) return read.error();
    std::vector<uint8_t> bytes;
    if (auto s = read->copy_to(bytes); !s) return s;
    status bad;
    const size_t whole = log::for_each_batch(bytes, [&](const log::batch_view& b) {
      bool ok = log::for_each_record(b, [&](const log::record_view& r) {
        if (!r.value || !bad.ok()) return;
        auto records = decode(*r.value);
        if (!records) {
          bad = records.error();
          return;
        }
        fn(*records);
      });
      if (!ok)
        bad = status(errc::corrupt,
                     "a metadata batch at offset " + std::to_string(b.base_offset()) + " has a malformed record");
      at = b.last_offset() + 1;
      return bad.ok();
    });
    if (!bad) return bad;
    if (whole == 0) return status(errc::corrupt, "the metadata log holds a torn batch at " + std::to_string(at));
  }
  return {};
}

// --- the store ---------------------------------------------------------------

status metadata_store::load() {
  metadata_log::callbacks cb;
  cb.apply = [this](int64_t offset, const std::vector<record>& records) {
    {
      std::lock_guard g(mu_);
      if (auto refused = image_.check(records); !refused) {
        refused_[offset] = refused;
        // Its proposer (if on this node) asks right after; keep a few.
        while (refused_.size() > 1024) refused_.erase(refused_.begin());
      } else {
        for (const auto& r : records) image_.apply(r);
      }
      applied_ = offset;
      publish_locked();
    }
    applied_hook(offset);
  };
  cb.snapshot = [this] {
    std::lock_guard g(mu_);
    std::vector<uint8_t> bytes;
    bytes.reserve(last_snapshot_bytes_ + last_snapshot_bytes_ / 8);
    image_.encode_records(bytes);
    last_snapshot_bytes_ = bytes.size();
    return bytes;
  };
  cb.restore = [this](int64_t offset, std::span<const uint8_t> records) -> status {
    // Built beside the image (readers carry on meanwhile: only this thread
    // applies), record by record as decoded, then swapped in.
    image fresh;
    {
      std::lock_guard g(mu_);
      fresh.continue_from(image_);
    }
    if (auto s = decode_each(records, [&](record&& r) { fresh.apply(r); }); !s) return s;
    {
      std::lock_guard g(mu_);
      std::swap(image_, fresh);
      applied_ = offset;
      publish_locked();
    }
    fresh = image{};
    ::malloc_trim(0);  // a large image's old copy and the snapshot's buffers go back to the system
    applied_hook(offset);
    return {};
  };
  return log_->start(std::move(cb));
}

result<int64_t> metadata_store::propose(const std::vector<record>& records) {
  std::lock_guard w(write_mu_);
  return settled(log_->commit(records));
}

result<int64_t> metadata_store::propose(const std::vector<record>& records, std::chrono::milliseconds timeout) {
  std::lock_guard w(write_mu_);
  return settled(log_->commit(records, timeout));
}

result<int64_t> metadata_store::settled(result<int64_t> offset) {
  if (!offset) return offset;
  std::lock_guard g(mu_);
  auto it = refused_.find(*offset);
  if (it != refused_.end()) return it->second;
  return offset;
}

int64_t metadata_store::applied_offset() const {
  std::lock_guard g(mu_);
  return applied_;
}

}  // namespace mosaic::metadata
