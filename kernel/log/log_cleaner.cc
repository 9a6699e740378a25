#include "kernel/log/log_cleaner.h"

#include <thread>

#include "kernel/base/file.h"
#include "kernel/base/log.h"

namespace mosaic::log {

void io_throttle::spend(uint64_t bytes, const std::function<bool()>& stopped) {
  spent_ += bytes;
  if (rate_ >= std::numeric_limits<double>::max() / 2 || rate_ <= 0) return;
  const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(spent_) / rate_));
  while (!stopped() && std::chrono::steady_clock::now() < due)
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(due - std::chrono::steady_clock::now(),
                                                                              std::chrono::milliseconds(50)));
}

namespace {

// Maps the dirty part's keys; returns the offset the map reaches.
result<int64_t> map_dirty(partition_log& log, const clean_view& view, offset_map& map, io_throttle& io,
                          const codec_hooks& codecs, const std::function<bool()>& stopped, uint64_t& read) {
  int64_t end = view.cleaned_offset;
  bool full = false;
  status failed;
  auto s = log.scan(view.cleaned_offset, view.uncleanable_offset, [&](std::span<const uint8_t> chunk) {
    read += chunk.size();
    io.spend(chunk.size(), stopped);
    auto m = map_keys(chunk, map, codecs);
    if (!m) {
      failed = m.error();
      return false;
    }
    if (m->end >= 0) end = m->end;
    full = m->full;
    return !full && !stopped();
  });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  if (full)
    log::info("{}: the dedupe buffer ({} keys) holds the keys up to offset {}; the rest waits for the next pass",
              log.dir().string(), map.capacity(), end);
  return end;
}

// Rewrites one sealed segment; true if it changed and was swapped.
result<bool> clean_segment(partition_log& log, const std::shared_ptr<segment>& seg, const offset_map& map,
                           const compaction_rules& rules, io_throttle& io, const codec_hooks& codecs,
                           const std::function<bool()>& stopped, clean_result& out) {
  const auto path = log.cleaned_path(*seg);
  bool changed = false;
  status failed;
  {
    file_writer w(path);
    std::vector<uint8_t> kept;
    auto s = log.scan(seg->base_offset(), seg->next_offset(), [&](std::span<const uint8_t> chunk) {
      out.bytes_read += chunk.size();
      kept.clear();
      auto st = compact_batches(chunk, map, rules, codecs, kept);
      if (!st) {
        failed = st.error();
        return false;
      }
      changed = changed || st->changed();
      out.records.records_read += st->records_read;
      out.records.records_kept += st->records_kept;
      out.records.tombstones_removed += st->tombstones_removed;
      out.records.keyless_removed += st->keyless_removed;
      out.records.batches_removed += st->batches_removed;
      if (auto ws = w.write(kept); !ws.ok()) {
        failed = ws;
        return false;
      }
      out.bytes_written += kept.size();
      io.spend(chunk.size() + kept.size(), stopped);
      return !stopped();
    });
    if (failed.ok() && !s.ok()) failed = s;
    if (failed.ok() && changed && !stopped()) failed = w.finish();
  }
  std::error_code ec;
  if (!failed.ok() || !changed || stopped()) {
    std::filesystem::remove(path, ec);
    if (!failed.ok()) return failed;
    return false;
  }
  if (auto s = log.replace_segment(seg, path); !s.ok()) {
    std::filesystem::remove(path, ec);
    if (s.code() == errc::not_found) return false;  // retention or truncation took it meanwhile
    return s;
  }
  return true;
}

}  // namespace

result<clean_result> clean_log(partition_log& log, offset_map& map, io_throttle& io, const codec_hooks& codecs,
                               const std::function<bool()>& stopped) {
  clean_result out;
  const clean_view view = log.cleaning_view();
  if (view.dirty_bytes == 0) return out;
  log::info("{}: cleaning from offset {} to {} ({} dirty bytes, dirty ratio {:.2f})", log.dir().string(),
            view.cleaned_offset, view.uncleanable_offset, view.dirty_bytes, view.dirty_ratio);
  map.clear();
  auto end = map_dirty(log, view, map, io, codecs, stopped, out.bytes_read);
  if (!end) return end.error();
  if (stopped()) {
    out.aborted = true;
    return out;
  }
  if (*end <= view.cleaned_offset) {
    log::warn("{}: log.cleaner.dedupe.buffer.size is too small for one batch's keys at offset {}", log.dir().string(),
              view.cleaned_offset);
    return out;
  }
  compaction_rules rules;
  rules.mapped_end = *end;
  // Tombstones cleaned in an earlier pass, and older than
  // delete.retention.ms, go now.
  rules.tombstones_cleaned_below = view.cleaned_offset;
  rules.tombstone_horizon_ms = view.now_ms - log.config().delete_retention_ms;
  for (const auto& seg : view.segments) {
    if (seg->base_offset() >= *end) break;
    auto swapped = clean_segment(log, seg, map, rules, io, codecs, stopped, out);
    if (!swapped) return swapped.error();
    out.segments_replaced += *swapped ? 1 : 0;
    if (stopped()) {
      out.aborted = true;
      return out;
    }
  }
  if (auto s = log.set_cleaned_offset(*end); !s.ok()) return s;
  out.cleaned_to = *end;
  return out;
}

}  // namespace mosaic::log
