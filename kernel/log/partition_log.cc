#include "kernel/log/partition_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "kernel/base/file.h"
#include "kernel/base/log.h"
#include "kernel/base/numbers.h"

namespace mosaic::log {

namespace {

constexpr const char* clean_marker = "clean-shutdown";
constexpr const char* lso_file = "log-start-offset";
constexpr const char* cleaned_file = "cleaner-offset-checkpoint";

int64_t system_now_ms() { return wall_ms(); }

metrics::histogram& flush_histogram() noexcept {
  static metrics::histogram h;
  return h;
}

}  // namespace

status read_result::copy_to(std::vector<uint8_t>& out) const {
  const size_t start = out.size();
  out.resize(start + bytes);
  uint8_t* w = out.data() + start;
  for (const auto& s : slices) {
    uint64_t done = 0;
    while (done < s.length) {
      ssize_t n = ::pread(s.fd, w + done, s.length - done, static_cast<off_t>(s.position + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        out.resize(start);
        return status(errc::io, std::string("cannot read segment: ") + std::strerror(errno));
      }
      done += static_cast<uint64_t>(n);
    }
    w += s.length;
  }
  return {};
}

partition_log::partition_log(std::filesystem::path dir, log_config config, clock_fn clock)
    : dir_(std::move(dir)), config_(std::move(config)), clock_(clock ? std::move(clock) : clock_fn(system_now_ms)) {}

partition_log::~partition_log() {
  if (!closed_) (void)close();
}

result<std::unique_ptr<partition_log>> partition_log::open(const std::filesystem::path& dir, log_config config,
                                                           clock_fn clock) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return status(errc::io, "cannot create " + dir.string() + ": " + ec.message());
  std::unique_ptr<partition_log> l(new partition_log(dir, std::move(config), std::move(clock)));
  if (auto s = l->load(); !s.ok()) {
    l->closed_ = true;
    return s;
  }
  if (auto s = l->recover_producers(); !s.ok()) {
    l->closed_ = true;
    return s;
  }
  if (auto s = l->recover_epochs(); !s.ok()) {
    l->closed_ = true;
    return s;
  }
  return l;
}

status partition_log::load() {
  std::error_code ec;
  const bool clean = std::filesystem::exists(dir_ / clean_marker, ec);
  // From here on, a crash must not look clean.
  std::filesystem::remove(dir_ / clean_marker, ec);

  std::vector<int64_t> bases;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const auto name = entry.path().filename().string();
    if (name.size() == 24 && name.ends_with(".log") && name.find_first_not_of("0123456789") == 20)
      bases.push_back(std::stoll(name.substr(0, 20)));
    else if (name.ends_with(".tmp"))
      std::filesystem::remove(entry.path(), ec);  // a write that never finished
  }
  std::sort(bases.begin(), bases.end());

  int64_t lso = 0;
  if (std::ifstream in(dir_ / lso_file); in) in >> lso;
  if (std::ifstream in(dir_ / cleaned_file); in) in >> cleaned_offset_;

  for (size_t i = 0; i < bases.size(); ++i) {
    auto seg = segment::open(dir_, bases[i], config_.index_interval_bytes);
    if (!seg) return seg.error();
    const bool last = i + 1 == bases.size();
    // Sealed segments were synced before their indexes were written, so a
    // whole index means a whole segment; the active one is read through
    // unless the log was closed cleanly.
    auto rec = (*seg)->recover(last && !clean);
    if (!rec) return rec.error();
    if (!segments_.empty() && (*seg)->base_offset() < segments_.back()->next_offset())
      return status(errc::corrupt,
                    dir_.string() + ": segment " + std::to_string(bases[i]) + " overlaps the one before");
    segments_.push_back(*seg);
    if (rec->truncated_bytes > 0) {
      log::warn("{}: cut {} bytes from segment {}: {}", dir_.string(), rec->truncated_bytes, bases[i], rec->reason);
      // Nothing after a corrupt byte is served: later segments go too.
      for (size_t j = i + 1; j < bases.size(); ++j) {
        log::warn("{}: dropping segment {} after the cut", dir_.string(), bases[j]);
        for (const char* suffix : {".log", ".index", ".timeindex"})
          std::filesystem::remove(dir_ / segment::file_name(bases[j], suffix), ec);
      }
      break;
    }
  }
  if (segments_.empty()) {
    auto seg = segment::create(dir_, lso, config_.index_interval_bytes);
    if (!seg) return seg.error();
    segments_.push_back(*seg);
  }
  segments_.back()->set_first_append_ms(segments_.back()->size() > 0 ? clock_() : 0);
  log_start_offset_ = std::max(lso, segments_.front()->base_offset());
  const int64_t leo = segments_.back()->next_offset();
  log_start_offset_ = std::min(log_start_offset_, leo);
  high_watermark_ = leo;
  flushed_offset_ = leo;
  return {};
}

append_result partition_log::append(std::span<uint8_t> batches, int32_t leader_epoch) {
  append_result r;
  size_t max_message_bytes = 0;  // read under the lock: set_config may run meanwhile
  {
    std::lock_guard lock(mu_);
    max_message_bytes = config_.max_message_bytes;
  }
  // Validation runs outside the lock: it is the CPU-heavy part (CRC).
  std::vector<segment::appended_batch> entries;
  struct idempotence {
    size_t entry;
    int64_t pid;
    int16_t epoch;
    int32_t first_seq;
    int32_t last_seq;
  };
  std::vector<idempotence> idem;
  size_t whole = for_each_batch(batches, [&](const batch_view& b) {
    auto check = validate_batch(b.bytes, max_message_bytes);
    if (!check.ok()) {
      r.refused = append_refusal{check.error, "batch " + std::to_string(entries.size()) + ": " + check.message};
      return false;
    }
    if (b.producer_id() >= 0 && b.base_sequence() >= 0 && !b.is_control())
      idem.push_back({entries.size(), b.producer_id(), b.producer_epoch(), b.base_sequence(),
                      producer_state::last_sequence(b.base_sequence(), b.last_offset_delta())});
    entries.push_back({0, b.last_offset_delta(), b.max_timestamp(), 0, b.size()});
    return true;
  });
  if (r.refused) return r;
  if (whole != batches.size() || entries.empty()) {
    // The bytes after the last whole batch are not a batch: either a batch
    // whose length runs past the buffer, or one too short to be a batch.
    const auto rest = batches.subspan(whole);
    const size_t framed = framed_size(rest);
    if (framed > max_message_bytes)
      r.refused = append_refusal{batch_error::too_large, "batch " + std::to_string(entries.size()) + " of " +
                                                             std::to_string(framed) + " bytes is over the limit"};
    else
      r.refused =
          append_refusal{batch_error::corrupt, "batch " + std::to_string(entries.size()) + ": length runs past the " +
                                                   std::to_string(rest.size()) + " bytes there"};
    return r;
  }

  bool flush_now = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      r.io = status(errc::io, dir_.string() + ": the log is closed");
      return r;
    }
    const int64_t now = clock_();
    // Idempotent producers: each producer's first batch here is checked
    // against what the log has seen (a request carries one batch per
    // partition from such a producer).
    for (size_t i = 0; i < idem.size(); ++i) {
      const auto& d = idem[i];
      bool first_of_producer = true;
      for (size_t k = 0; k < i; ++k) first_of_producer = first_of_producer && idem[k].pid != d.pid;
      if (!first_of_producer) continue;
      producer_batch original;
      const auto verdict = producers_.check(d.pid, d.epoch, d.first_seq, d.last_seq, &original);
      const std::string who = "producer " + std::to_string(d.pid) + " epoch " + std::to_string(d.epoch);
      if (verdict == sequence_verdict::duplicate && entries.size() == 1) {
        r.duplicate = true;
        r.base_offset = original.first_offset;
        r.last_offset = original.last_offset;
        return r;
      }
      if (verdict == sequence_verdict::stale_epoch) {
        r.refused = append_refusal{batch_error::invalid_producer_epoch,
                                   who + " is older than epoch " + std::to_string(producers_.find(d.pid)->epoch)};
        return r;
      }
      if (verdict != sequence_verdict::accept) {
        const auto* e = producers_.find(d.pid);
        r.refused = append_refusal{
            batch_error::out_of_order_sequence,
            who + ": sequence " + std::to_string(d.first_seq) + " does not follow " +
                (e && !e->batches.empty() ? std::to_string(e->batches.back().last_seq) : std::string("(none)"))};
        return r;
      }
    }
    int64_t next = segments_.back()->next_offset();
    // A new leader epoch is checkpointed before its first batch is written.
    if (epochs_.assign(leader_epoch, next))
      if (auto s = persist_epochs_locked(); !s.ok()) {
        r.io = s;
        return r;
      }
    size_t at = 0;
    for (auto& e : entries) {
      auto bytes = batches.subspan(at, e.size);
      set_base_offset(bytes, next);
      set_leader_epoch(bytes, leader_epoch);
      if (config_.log_append_time) {
        set_log_append_time(bytes, now);
        e.max_timestamp = now;
      }
      const int64_t delta = e.last_offset;
      e.base_offset = next;
      e.last_offset = next + delta;
      next = e.last_offset + 1;
      at += e.size;
    }
    if (auto s = write_locked(batches, entries, now); !s.ok()) {
      r.io = s;
      return r;
    }
    for (const auto& d : idem)
      producers_.update(d.pid, d.epoch,
                        {d.first_seq, d.last_seq, entries[d.entry].base_offset, entries[d.entry].last_offset}, now);
    r.base_offset = entries.front().base_offset;
    r.last_offset = entries.back().last_offset;
    r.log_append_time = config_.log_append_time ? now : -1;
    r.batches = entries.size();
    std::lock_guard fl(flush_mu_);
    flush_now = r.last_offset + 1 - flushed_offset_ >= config_.flush_messages;
  }
  // A rolled segment is synced and indexed by the periodic task (or a
  // flush, or close), not here: the appender does not wait for it.
  if (flush_now) r.io = wait_durable(r.last_offset);
  return r;
}

// Writes whole batches whose offsets are set at the end of the active
// segment (rolling first when it is full, old, or its relative offsets
// would overflow), and records where each one landed.
status partition_log::write_locked(std::span<const uint8_t> batches, std::vector<segment::appended_batch>& entries,
                                   int64_t now) {
  auto active = segments_.back();
  const int64_t first = entries.front().base_offset, last = entries.back().last_offset;
  const bool full = active->size() > 0 && active->size() + batches.size() > config_.segment_bytes;
  const bool old = active->size() > 0 && now - active->first_append_ms() >= config_.segment_ms;
  const bool offsets_overflow = last - active->base_offset() > INT32_MAX;
  if (full || old || offsets_overflow) {
    if (auto s = roll_locked(first); !s.ok()) return s;
    active = segments_.back();
  }
  uint64_t pos = active->size();
  for (auto& e : entries) {
    e.position = pos;
    pos += e.size;
  }
  const iovec iov{const_cast<uint8_t*>(batches.data()), batches.size()};
  if (auto s = active->append({&iov, 1}, entries, config_.preallocate_bytes); !s.ok()) return s;
  if (active->first_append_ms() == 0) active->set_first_append_ms(now);
  if (unflushed_since_ms_ < 0) unflushed_since_ms_ = now;
  return {};
}

append_result partition_log::append_replicated(std::span<const uint8_t> batches) {
  append_result r;
  std::vector<segment::appended_batch> entries;
  std::vector<batch_view> views;
  const size_t whole = for_each_batch(batches, [&](const batch_view& b) {
    auto check = validate_batch(b.bytes, SIZE_MAX, batch_origin::log);
    if (!check.ok()) {
      r.refused = append_refusal{check.error, "batch " + std::to_string(entries.size()) + ": " + check.message};
      return false;
    }
    // Compaction leaves gaps between batches, never an overlap.
    if (!entries.empty() && b.base_offset() <= entries.back().last_offset) {
      r.refused = append_refusal{batch_error::corrupt, "batch " + std::to_string(entries.size()) + " starts at " +
                                                           std::to_string(b.base_offset()) + ", not after the last"};
      return false;
    }
    entries.push_back({b.base_offset(), b.last_offset(), b.max_timestamp(), 0, b.size()});
    views.push_back(b);
    return true;
  });
  if (r.refused) return r;
  if (whole != batches.size() || entries.empty()) {
    r.refused = append_refusal{batch_error::corrupt, "the replicated bytes end inside a batch"};
    return r;
  }
  bool flush_now = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      r.io = status(errc::io, dir_.string() + ": the log is closed");
      return r;
    }
    const int64_t end = segments_.back()->next_offset();
    if (entries.front().base_offset < end) {
      r.refused = append_refusal{batch_error::corrupt, "replicated batches start at " +
                                                           std::to_string(entries.front().base_offset) +
                                                           ", the log ends at " + std::to_string(end)};
      return r;
    }
    const int64_t now = clock_();
    bool epochs_changed = false;
    for (const auto& b : views) epochs_changed = epochs_.assign(b.leader_epoch(), b.base_offset()) || epochs_changed;
    if (epochs_changed)
      if (auto s = persist_epochs_locked(); !s.ok()) {
        r.io = s;
        return r;
      }
    if (auto s = write_locked(batches, entries, now); !s.ok()) {
      r.io = s;
      return r;
    }
    // The leader checked the producers' sequences; a follower keeps their
    // state so that it can check them itself once it leads.
    for (const auto& b : views)
      if (b.producer_id() >= 0 && b.base_sequence() >= 0 && !b.is_control())
        producers_.update(b.producer_id(), b.producer_epoch(),
                          {b.base_sequence(), producer_state::last_sequence(b.base_sequence(), b.last_offset_delta()),
                           b.base_offset(), b.last_offset()},
                          now);
    r.base_offset = entries.front().base_offset;
    r.last_offset = entries.back().last_offset;
    r.batches = entries.size();
    std::lock_guard fl(flush_mu_);
    flush_now = r.last_offset + 1 - flushed_offset_ >= config_.flush_messages;
  }
  if (flush_now) r.io = wait_durable(r.last_offset);
  return r;
}

status partition_log::start_leader_epoch(int32_t epoch) {
  std::lock_guard lock(mu_);
  if (!epochs_.assign(epoch, segments_.back()->next_offset())) return {};
  return persist_epochs_locked();
}

status partition_log::roll_locked(int64_t next_offset) {
  auto seg = segment::create(dir_, next_offset, config_.index_interval_bytes);
  if (!seg) return seg.error();
  // A snapshot per roll bounds the scan after an unclean stop to the
  // segments since.
  if (auto s = producers_.write_snapshot(dir_ / "producer.snapshot", next_offset); !s.ok())
    log::warn("{}: {}", dir_.string(), s.message());
  to_seal_.push_back(segments_.back());
  segments_.push_back(*seg);
  log::debug("{}: rolled to segment {}", dir_.string(), next_offset);
  return {};
}

// Rolled segments are synced, then their indexes written: an index on disk
// promises a whole segment. Runs outside the partition's lock.
status partition_log::seal_pending() {
  std::vector<std::shared_ptr<segment>> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(to_seal_);
  }
  for (const auto& seg : pending) {
    if (auto s = seg->release_preallocation(); !s.ok()) return s;
    if (auto s = seg->flush(); !s.ok()) return s;
    if (auto s = seg->write_indexes(); !s.ok()) return s;
  }
  return {};
}

status partition_log::wait_durable(int64_t offset) {
  std::unique_lock fl(flush_mu_);
  ++waiters_;
  while (flushed_offset_ <= offset) {
    if (flushing_) {
      flush_cv_.wait(fl);
      continue;
    }
    // This caller flushes for everyone who arrived meanwhile.
    flushing_ = true;
    --waiters_;
    // Commit delay: when the last flush released several waiters, they are
    // about to append again; giving them a fraction of an fsync's time to do
    // so lets one fsync cover them all instead of every other one.
    if (last_released_ >= 2) {
      const auto delay = std::chrono::nanoseconds(std::min<int64_t>(last_fsync_ns_ / 4, 200'000));
      fl.unlock();
      std::this_thread::sleep_for(delay);
      fl.lock();
    }
    const int64_t already = flushed_offset_;
    fl.unlock();
    int64_t target = 0;
    std::vector<std::shared_ptr<segment>> dirty;
    {
      std::lock_guard lock(mu_);
      target = segments_.back()->next_offset();
      for (const auto& seg : segments_)
        if (seg->next_offset() > already) dirty.push_back(seg);
      unflushed_since_ms_ = -1;
    }
    const auto started = std::chrono::steady_clock::now();
    status s;
    for (const auto& seg : dirty)
      if (s = seg->flush(); !s.ok()) break;
    const int64_t took =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
    flush_histogram().observe(std::chrono::nanoseconds(took));
    fl.lock();
    flushing_ = false;
    ++flushes_;
    last_fsync_ns_ = took;
    last_released_ = waiters_;
    ++waiters_;
    if (s.ok()) flushed_offset_ = std::max(flushed_offset_, target);
    flush_cv_.notify_all();
    if (!s.ok()) {
      --waiters_;
      return s;
    }
    if (target <= offset) break;  // asked for more than was appended
  }
  --waiters_;
  return {};
}

status partition_log::flush() {
  if (auto s = wait_durable(log_end_offset() - 1); !s.ok()) return s;
  return seal_pending();
}

result<read_result> partition_log::read(int64_t offset, size_t max_bytes, int64_t max_offset, bool min_one) const {
  std::vector<std::pair<std::shared_ptr<segment>, uint64_t>> segs;  // with the size to read below
  {
    std::lock_guard lock(mu_);
    const int64_t leo = segments_.back()->next_offset();
    if (offset < log_start_offset_ || offset > leo)
      return status(errc::not_found, "offset " + std::to_string(offset) + " is outside [" +
                                         std::to_string(log_start_offset_) + ", " + std::to_string(leo) + "]");
    max_offset = std::min(max_offset, leo);
    if (offset >= max_offset) return read_result{};
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](int64_t o, const std::shared_ptr<segment>& s) { return o < s->base_offset(); });
    if (it != segments_.begin()) --it;
    for (; it != segments_.end() && (*it)->base_offset() < max_offset; ++it) segs.emplace_back(*it, (*it)->size());
  }
  read_result r;
  for (const auto& [seg, size] : segs) {
    // Held through the lookups below too, so the file cannot be closed
    // between them; out of descriptors even after closing unused ones, this
    // read fails and nothing else does.
    auto file = seg->file();
    if (!file) {
      if (r.slices.empty())
        return status(errc::io, "cannot open " + seg->path().string() + ": " + std::strerror(errno));
      break;
    }
    uint64_t start = 0;
    if (r.slices.empty()) {
      auto at = seg->locate(offset, size);
      if (!at) continue;  // the offset is past this segment's whole batches
      start = at->position;
      r.first_offset = at->base_offset;
    }
    uint64_t end = size;
    if (max_offset < seg->next_offset())
      if (auto stop = seg->locate(max_offset, size)) end = stop->position;  // the batch holding max_offset stays out
    const uint64_t budget = max_bytes > r.bytes ? max_bytes - r.bytes : 0;
    uint64_t cut = seg->whole_batches_end(start, start + std::min<uint64_t>(end - start, budget));
    // KIP-74: a first batch larger than max_bytes is returned whole, when
    // the caller allows it.
    if (cut == start && r.slices.empty() && min_one) cut = start + seg->batch_size_at(start, end);
    if (cut > start) {
      const int fd = file->fd();
      r.slices.push_back({std::move(file), fd, start, cut - start});
      r.bytes += cut - start;
    }
    // Stop where this segment stopped short (the budget or max_offset):
    // a later segment's batches would leave a gap.
    if (cut < end || end < size || r.bytes >= max_bytes) break;
  }
  return r;
}

status partition_log::scan(int64_t from, int64_t to, const std::function<bool(std::span<const uint8_t>)>& chunk) const {
  for (int64_t at = from; at < to;) {
    auto got = read(at, 4 << 20, to);
    if (!got) return got.error();
    std::vector<uint8_t> bytes;
    if (auto s = got->copy_to(bytes); !s.ok()) return s;
    if (bytes.empty() || !chunk(bytes)) break;
    int64_t next = at;
    for_each_batch(bytes, [&](const batch_view& b) {
      next = b.last_offset() + 1;
      return true;
    });
    if (next <= at) break;
    at = next;
  }
  return {};
}

std::optional<int64_t> partition_log::offset_for_timestamp(int64_t ts) const {
  std::vector<std::pair<std::shared_ptr<segment>, uint64_t>> segs;
  int64_t lso = 0;
  {
    std::lock_guard lock(mu_);
    lso = log_start_offset_;
    for (const auto& s : segments_) segs.emplace_back(s, s->size());
  }
  for (const auto& [seg, size] : segs) {
    if (seg->max_timestamp() < ts && seg != segs.back().first) continue;
    if (auto found = seg->offset_for_timestamp(ts, size)) return std::max(*found, lso);
  }
  return std::nullopt;
}

result<int64_t> partition_log::truncate_to(int64_t offset) {
  std::lock_guard maintenance(maintenance_mu_);
  auto leo = truncate_locked(offset);
  // The producer state may name batches that are gone: rebuilt from the
  // log that is left (the snapshot, if ahead of the new end, is ignored).
  if (leo)
    if (auto s = recover_producers(); !s.ok()) return s;
  return leo;
}

result<int64_t> partition_log::truncate_locked(int64_t offset) {
  std::lock_guard lock(mu_);
  if (offset >= segments_.back()->next_offset()) {
    // Nothing to cut; but an epoch a leader started at the end, with no
    // batches yet, goes (a follower that led before must not name it).
    const int64_t leo = segments_.back()->next_offset();
    if (offset == leo && epochs_.truncate_from_end(leo))
      if (auto s = persist_epochs_locked(); !s.ok()) return s;
    return leo;
  }
  while (segments_.size() > 1 && segments_.back()->base_offset() >= offset) {
    auto gone = segments_.back();
    segments_.pop_back();
    std::erase(to_seal_, gone);
    (void)gone->remove_files();
  }
  if (segments_.back()->base_offset() >= offset) {
    // Everything goes: start over, empty, at `offset`.
    if (auto s = start_over_locked(std::max(offset, int64_t{0})); !s.ok()) return s;
  } else {
    auto r = segments_.back()->truncate_from(offset);
    if (!r) return r.error();
    std::erase(to_seal_, segments_.back());
  }
  const int64_t leo = segments_.back()->next_offset();
  high_watermark_ = std::min(high_watermark_, leo);
  if (epochs_.truncate_from_end(leo) || epochs_.truncate_from_start(log_start_offset_))
    if (auto s = persist_epochs_locked(); !s.ok()) return s;
  // What is written again past the new end has not been cleaned.
  if (cleaned_offset_ > leo)
    if (auto s = persist_cleaned_offset_locked(leo); !s.ok()) return s;
  std::lock_guard fl(flush_mu_);
  flushed_offset_ = std::min(flushed_offset_, leo);
  return leo;
}

result<int64_t> partition_log::reset_to(int64_t offset) {
  if (offset < 0) return status(errc::invalid_argument, "a log cannot start at " + std::to_string(offset));
  std::lock_guard maintenance(maintenance_mu_);
  {
    std::lock_guard lock(mu_);
    if (auto s = start_over_locked(offset); !s.ok()) return s;
    high_watermark_ = offset;
    epochs_ = leader_epoch_cache{};
    producers_.clear();
    if (auto s = persist_epochs_locked(); !s.ok()) return s;
    if (auto s = persist_log_start_offset(offset); !s.ok()) return s;
  }
  std::lock_guard fl(flush_mu_);
  flushed_offset_ = offset;
  return offset;
}

// Removes every segment and starts the log over with one empty segment at
// `offset`, its new start.
status partition_log::start_over_locked(int64_t offset) {
  for (const auto& seg : segments_) {
    std::erase(to_seal_, seg);
    (void)seg->remove_files();
  }
  segments_.clear();
  auto seg = segment::create(dir_, offset, config_.index_interval_bytes);
  if (!seg) return seg.error();
  segments_.push_back(*seg);
  log_start_offset_ = offset;
  if (cleaned_offset_ > offset)
    if (auto s = persist_cleaned_offset_locked(offset); !s.ok()) return s;
  return {};
}

status partition_log::persist_log_start_offset(int64_t lso) {
  return replace_file(dir_ / lso_file, std::to_string(lso) + "\n");
}

result<int64_t> partition_log::delete_records_before(int64_t offset) {
  std::lock_guard maintenance(maintenance_mu_);
  std::lock_guard lock(mu_);
  if (offset > high_watermark_)
    return status(errc::invalid_argument, "offset " + std::to_string(offset) + " is past the high watermark " +
                                              std::to_string(high_watermark_));
  if (offset <= log_start_offset_) return log_start_offset_;
  if (auto s = persist_log_start_offset(offset); !s.ok()) return s;
  log_start_offset_ = offset;
  if (epochs_.truncate_from_start(offset))
    if (auto s = persist_epochs_locked(); !s.ok()) log::warn("{}: {}", dir_.string(), s.message());
  while (segments_.size() > 1 && segments_.front()->next_offset() <= offset) {
    auto gone = segments_.front();
    segments_.erase(segments_.begin());
    std::erase(to_seal_, gone);
    (void)gone->remove_files();
  }
  return log_start_offset_;
}

size_t partition_log::enforce_retention() {
  std::lock_guard maintenance(maintenance_mu_);
  std::lock_guard lock(mu_);
  if (!config_.cleanup_delete) return 0;  // cleanup.policy=compact alone: the cleaner's
  const int64_t now = clock_();
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size();
  size_t removed = 0;
  while (segments_.size() > 1) {
    const auto& oldest = segments_.front();
    const bool too_old = config_.retention_ms >= 0 && oldest->max_timestamp() >= 0 &&
                         oldest->max_timestamp() < now - config_.retention_ms;
    const bool too_big =
        config_.retention_bytes >= 0 && total - oldest->size() >= static_cast<uint64_t>(config_.retention_bytes);
    if (!too_old && !too_big) break;
    auto gone = oldest;
    segments_.erase(segments_.begin());
    std::erase(to_seal_, gone);
    total -= gone->size();
    (void)gone->remove_files();
    log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
    ++removed;
  }
  if (removed > 0 && epochs_.truncate_from_start(log_start_offset_))
    if (auto s = persist_epochs_locked(); !s.ok()) log::warn("{}: {}", dir_.string(), s.message());
  return removed;
}

status partition_log::tick() {
  bool flush_due = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return {};
    const int64_t now = clock_();
    auto& active = segments_.back();
    if (active->size() > 0 && now - active->first_append_ms() >= config_.segment_ms)
      if (auto s = roll_locked(active->next_offset()); !s.ok()) return s;
    flush_due = unflushed_since_ms_ >= 0 && now - unflushed_since_ms_ >= config_.flush_ms;
    producers_.expire(now, config_.producer_expiration_ms);
  }
  if (flush_due)
    if (auto s = flush(); !s.ok()) return s;
  return seal_pending();
}

int64_t partition_log::log_start_offset() const {
  std::lock_guard lock(mu_);
  return log_start_offset_;
}

int64_t partition_log::log_end_offset() const {
  std::lock_guard lock(mu_);
  return segments_.back()->next_offset();
}

int64_t partition_log::high_watermark() const {
  std::lock_guard lock(mu_);
  return high_watermark_;
}

void partition_log::set_high_watermark(int64_t hw) {
  std::lock_guard lock(mu_);
  high_watermark_ = std::clamp(hw, log_start_offset_, segments_.back()->next_offset());
}

void partition_log::advance_high_watermark(int64_t hw) {
  std::lock_guard lock(mu_);
  high_watermark_ = std::max(high_watermark_, std::clamp(hw, log_start_offset_, segments_.back()->next_offset()));
}

int64_t partition_log::flushed_offset() const {
  std::lock_guard fl(flush_mu_);
  return flushed_offset_;
}

const metrics::histogram& partition_log::flush_latency() noexcept { return flush_histogram(); }

uint64_t partition_log::flush_count() const {
  std::lock_guard fl(flush_mu_);
  return flushes_;
}

uint64_t partition_log::size_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size();
  return total;
}

size_t partition_log::segment_count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

void partition_log::set_config(const log_config& c) {
  std::lock_guard lock(mu_);
  config_ = c;
}

// ---- compaction ----

clean_view partition_log::cleaning_view() const {
  std::lock_guard lock(mu_);
  clean_view v;
  const int64_t now = clock_();
  v.now_ms = now;
  v.cleaned_offset = std::max(cleaned_offset_, log_start_offset_);
  v.uncleanable_offset = std::min(segments_.back()->base_offset(), high_watermark_);
  const int64_t lag_edge = config_.min_compaction_lag_ms > 0 ? now - config_.min_compaction_lag_ms : INT64_MAX;
  for (const auto& s : segments_) {
    if (s == segments_.back() || s->base_offset() >= v.uncleanable_offset) break;
    if (std::find(to_seal_.begin(), to_seal_.end(), s) != to_seal_.end()) break;  // indexes not written yet
    // The next segment starts where this one's records may end; one still
    // holding records past the HW waits.
    if (s->next_offset() > high_watermark_) break;
    const bool dirty = s->next_offset() > v.cleaned_offset;
    if (dirty && s->max_timestamp() > lag_edge) {
      v.uncleanable_offset = s->base_offset();  // younger than min.compaction.lag.ms
      break;
    }
    v.segments.push_back(s);
    if (dirty) {
      v.dirty_bytes += s->size();
      if (v.oldest_dirty_ms < 0) v.oldest_dirty_ms = s->max_timestamp();
    } else {
      v.clean_bytes += s->size();
    }
  }
  if (!v.segments.empty())
    v.uncleanable_offset = std::min(v.uncleanable_offset, v.segments.back()->next_offset());
  else
    v.uncleanable_offset = std::min(v.uncleanable_offset, v.cleaned_offset);
  const uint64_t total = v.clean_bytes + v.dirty_bytes;
  v.dirty_ratio = total > 0 ? static_cast<double>(v.dirty_bytes) / static_cast<double>(total) : 0.0;
  v.past_max_lag = v.dirty_bytes > 0 && config_.max_compaction_lag_ms < INT64_MAX && v.oldest_dirty_ms >= 0 &&
                   v.oldest_dirty_ms < now - config_.max_compaction_lag_ms;
  return v;
}

int64_t partition_log::cleaned_offset() const {
  std::lock_guard lock(mu_);
  return std::max(cleaned_offset_, log_start_offset_);
}

status partition_log::set_cleaned_offset(int64_t offset) {
  std::lock_guard lock(mu_);
  if (offset <= cleaned_offset_) return {};
  return persist_cleaned_offset_locked(offset);
}

status partition_log::persist_cleaned_offset_locked(int64_t offset) {
  if (auto s = replace_file(dir_ / cleaned_file, std::to_string(offset) + "\n"); !s.ok()) return s;
  cleaned_offset_ = offset;
  return {};
}

std::filesystem::path partition_log::cleaned_path(const segment& s) const {
  return dir_ / segment::file_name(s.base_offset(), ".cleaned.tmp");
}

status partition_log::replace_segment(const std::shared_ptr<segment>& old, const std::filesystem::path& cleaned) {
  std::lock_guard maintenance(maintenance_mu_);
  std::error_code ec;
  {
    std::lock_guard lock(mu_);
    if (closed_ || std::find(segments_.begin(), segments_.end(), old) == segments_.end() || old == segments_.back()) {
      std::filesystem::remove(cleaned, ec);
      return status(errc::not_found, "segment " + std::to_string(old->base_offset()) + " is no longer in the log");
    }
  }
  // Readers holding `old` keep its file: its descriptor is open before the
  // name moves to the new one.
  if (!old->pin_file()) return status(errc::io, "cannot open segment " + std::to_string(old->base_offset()));
  // The old indexes go first: after a crash a segment without indexes is
  // read through, whichever file it is.
  for (const char* suffix : {".index", ".timeindex"})
    std::filesystem::remove(dir_ / segment::file_name(old->base_offset(), suffix), ec);
  std::filesystem::rename(cleaned, old->path(), ec);
  if (ec) return status(errc::io, "cannot put the compacted segment in place: " + ec.message());
  if (auto s = sync_dir(dir_); !s.ok()) return s;
  auto fresh = segment::open(dir_, old->base_offset(), config_.index_interval_bytes);
  if (!fresh) return fresh.error();
  auto rec = (*fresh)->recover(true);
  if (!rec) return rec.error();
  if (rec->truncated_bytes > 0)
    return status(errc::corrupt, "the compacted segment " + std::to_string(old->base_offset()) + " is not whole");
  if (auto s = (*fresh)->write_indexes(); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto it = std::find(segments_.begin(), segments_.end(), old);
  if (it == segments_.end()) return status(errc::not_found, "the segment left the log");
  *it = *fresh;
  return {};
}

status partition_log::close() {
  std::lock_guard maintenance(maintenance_mu_);
  if (auto s = flush(); !s.ok()) return s;
  if (auto s = seal_pending(); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (closed_) return {};
  closed_ = true;
  if (auto s = segments_.back()->write_indexes(); !s.ok()) return s;
  if (auto s = producers_.write_snapshot(dir_ / "producer.snapshot", segments_.back()->next_offset()); !s.ok())
    return s;
  std::ofstream(dir_ / clean_marker) << "1\n";
  return {};
}

status partition_log::recover_producers() {
  const int64_t lso = log_start_offset(), leo = log_end_offset();
  producer_state state;
  auto from = state.read_snapshot(dir_ / "producer.snapshot", clock_());
  if (!from || *from > leo || *from < lso) {
    state.clear();
    from = lso;
  }
  if (auto s = scan(*from, leo,
                    [&](std::span<const uint8_t> bytes) {
                      state.replay(bytes, clock_());
                      return true;
                    });
      !s.ok())
    return s;
  std::lock_guard lock(mu_);
  producers_ = std::move(state);
  return {};
}

status partition_log::recover_epochs() {
  const auto file = dir_ / leader_epoch_cache::file_name;
  auto loaded = leader_epoch_cache::load(file);
  const int64_t lso = log_start_offset(), leo = log_end_offset();
  bool rebuild = !loaded || (loaded->entries().empty() && leo > lso);
  if (!loaded) log::warn("{}; rebuilding it from the log", loaded.error().message());
  leader_epoch_cache epochs = loaded ? *loaded : leader_epoch_cache{};
  if (rebuild) {
    // Each batch header names its epoch; the first batch of each new epoch
    // gives its start.
    epochs = {};
    if (auto s = scan(lso, leo,
                      [&](std::span<const uint8_t> bytes) {
                        for_each_batch(bytes, [&](const batch_view& b) {
                          epochs.assign(b.leader_epoch(), b.base_offset());
                          return true;
                        });
                        return true;
                      });
        !s.ok())
      return s;
  }
  bool changed = epochs.truncate_from_end(leo);
  changed = epochs.truncate_from_start(lso) || changed;
  std::lock_guard lock(mu_);
  epochs_ = std::move(epochs);
  if (rebuild || changed) return persist_epochs_locked();
  return {};
}

status partition_log::persist_epochs_locked() { return epochs_.write(dir_ / leader_epoch_cache::file_name); }

std::pair<int32_t, int64_t> partition_log::end_offset_for_epoch(int32_t epoch) const {
  std::lock_guard lock(mu_);
  return epochs_.end_offset_for(epoch, segments_.back()->next_offset());
}

std::vector<epoch_entry> partition_log::leader_epochs() const {
  std::lock_guard lock(mu_);
  return epochs_.entries();
}

std::optional<producer_entry> partition_log::producer(int64_t pid) const {
  std::lock_guard lock(mu_);
  const auto* e = producers_.find(pid);
  if (!e) return std::nullopt;
  return *e;
}

std::vector<std::pair<int64_t, producer_entry>> partition_log::producers() const {
  std::lock_guard lock(mu_);
  return {producers_.all().begin(), producers_.all().end()};
}

size_t partition_log::producer_count() const {
  std::lock_guard lock(mu_);
  return producers_.size();
}

}  // namespace mosaic::log
