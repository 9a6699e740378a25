#include "kernel/groups/keyed_log.h"

#include <string_view>

#include "kernel/base/bytes.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"

namespace mosaic::groups {

namespace {
constexpr size_t max_batch_bytes = 1 << 20;
}

result<size_t> keyed_log::read(const scanner& scan, const visitor& apply) const {
  status bad;
  size_t records = 0;
  auto s = scan([&](std::span<const uint8_t> chunk) {
    log::for_each_batch(chunk, [&](const log::batch_view& b) {
      if (b.is_control()) return true;
      const bool ok = log::for_each_record(b, [&](const log::record_view& r) {
        if (!bad.ok()) return;
        if (!r.key) {
          bad = status(errc::corrupt,
                       "a " + what_ + " record at offset " + std::to_string(b.base_offset()) + " has no key");
          return;
        }
        try {
          apply(*r.key, r.value);
          ++records;
        } catch (const truncated_input&) {
          bad = status(errc::corrupt, "a " + what_ + " record in the batch at offset " +
                                          std::to_string(b.base_offset()) + " is malformed");
        }
      });
      if (!ok && bad.ok())
        bad = status(errc::corrupt,
                     "the " + what_ + " batch at offset " + std::to_string(b.base_offset()) + " is malformed");
      return bad.ok();
    });
    return bad.ok();
  });
  if (!s) return s;
  if (!bad) return bad;
  return records;
}

result<size_t> keyed_log::load(const visitor& apply) {
  auto n = read(
      [this](const std::function<bool(std::span<const uint8_t>)>& chunk) {
        return log_->scan(log_->log_start_offset(), log_->log_end_offset(), chunk);
      },
      apply);
  if (!n) return n;
  log_->set_high_watermark(log_->log_end_offset());
  live_bytes_ = log_->size_bytes();
  return n;
}

std::vector<uint8_t> keyed_log::take() {
  std::vector<uint8_t> batches;
  auto as_view = [](const std::vector<uint8_t>& b) {
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  };
  size_t i = 0;
  while (i < pending_.size()) {
    log::batch_builder b;
    size_t size = 0;
    do {
      const auto& e = pending_[i];
      b.add(as_view(e.key), e.value ? std::optional<std::string_view>(as_view(*e.value)) : std::nullopt);
      size += e.key.size() + (e.value ? e.value->size() : 0);
      ++i;
    } while (i < pending_.size() && size < max_batch_bytes);
    auto bytes = b.finish();
    batches.insert(batches.end(), bytes.begin(), bytes.end());
  }
  pending_.clear();
  written_ += batches.size();
  return batches;
}

status keyed_log::flush() {
  if (pending_.empty()) return {};
  auto batches = take();
  auto r = log_->append(batches, 0);
  if (!r.io) return r.io;
  if (r.refused) return status(errc::limit, what_ + " append refused: " + r.refused->message);
  if (auto s = log_->wait_durable(r.last_offset); !s) return s;
  log_->set_high_watermark(r.last_offset + 1);
  return {};
}

bool keyed_log::wants_compaction() const {
  const uint64_t size = log_->size_bytes();
  return size > 4 * live_bytes_ + log_->config().segment_bytes;
}

status keyed_log::compact(const std::function<void()>& write_all) {
  if (auto s = flush(); !s) return s;
  const int64_t start = log_->log_end_offset();
  const uint64_t before = written_;
  write_all();
  if (auto s = flush(); !s) return s;
  live_bytes_ = written_ - before;
  auto moved = log_->delete_records_before(start);
  if (!moved) return moved.error();
  return {};
}

}  // namespace mosaic::groups
