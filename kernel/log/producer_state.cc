#include "kernel/log/producer_state.h"

#include <vector>

#include "kernel/base/crc32c.h"
#include "kernel/base/file.h"

namespace mosaic::log {

sequence_verdict producer_state::check(int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                                       producer_batch* original) const {
  auto it = producers_.find(pid);
  if (it == producers_.end()) return sequence_verdict::accept;  // unknown or expired: any sequence (KIP-360)
  const producer_entry& e = it->second;
  if (epoch < e.epoch) return sequence_verdict::stale_epoch;
  if (epoch > e.epoch) return first_seq == 0 ? sequence_verdict::accept : sequence_verdict::out_of_order;
  for (const auto& b : e.batches)
    if (b.first_seq == first_seq && b.last_seq == last_seq) {
      if (original) *original = b;
      return sequence_verdict::duplicate;
    }
  if (e.batches.empty()) return sequence_verdict::accept;
  const int32_t last = e.batches.back().last_seq;
  const int32_t expected = last == INT32_MAX ? 0 : last + 1;
  return first_seq == expected ? sequence_verdict::accept : sequence_verdict::out_of_order;
}

void producer_state::update(int64_t pid, int16_t epoch, const producer_batch& b, int64_t now_ms) {
  producer_entry& e = producers_[pid];
  if (epoch != e.epoch) e.batches.clear();
  e.epoch = epoch;
  e.batches.push_back(b);
  while (e.batches.size() > batches_kept) e.batches.pop_front();
  e.last_append_ms = now_ms;
}

void producer_state::replay(std::span<const uint8_t> bytes, int64_t now_ms) {
  for_each_batch(bytes, [&](const batch_view& b) {
    if (b.producer_id() >= 0 && !b.is_control() && b.base_sequence() >= 0)
      update(b.producer_id(), b.producer_epoch(),
             {b.base_sequence(), last_sequence(b.base_sequence(), b.last_offset_delta()), b.base_offset(),
              b.last_offset()},
             now_ms);
    return true;
  });
}

size_t producer_state::expire(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(producers_, [&](const auto& kv) { return now_ms - kv.second.last_append_ms > expiration_ms; });
}

const producer_entry* producer_state::find(int64_t pid) const {
  auto it = producers_.find(pid);
  return it == producers_.end() ? nullptr : &it->second;
}

namespace {

void put64(std::vector<uint8_t>& out, int64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> s));
}
int64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

}  // namespace

// Layout: "MPS1", crc32c of the rest (8 bytes, the low 32 bits used),
// offset, count, then per producer: id, epoch, batches, and per batch
// first/last sequence and offsets; every number 8 bytes big-endian.
status producer_state::write_snapshot(const std::filesystem::path& file, int64_t offset) const {
  std::vector<uint8_t> body;
  put64(body, offset);
  put64(body, static_cast<int64_t>(producers_.size()));
  for (const auto& [pid, e] : producers_) {
    put64(body, pid);
    put64(body, e.epoch);
    put64(body, static_cast<int64_t>(e.batches.size()));
    for (const auto& b : e.batches) {
      put64(body, b.first_seq);
      put64(body, b.last_seq);
      put64(body, b.first_offset);
      put64(body, b.last_offset);
    }
  }
  std::vector<uint8_t> all = {'M', 'P', 'S', '1'};
  put64(all, crc32c::value(body));
  all.insert(all.end(), body.begin(), body.end());
  // Not synced: the roll that writes it holds the partition lock, and a torn
  // snapshot fails its CRC and is rebuilt from the log.
  return replace_file(file, all, /*sync=*/false);
}

std::optional<int64_t> producer_state::read_snapshot(const std::filesystem::path& file, int64_t now_ms) {
  auto read = read_file(file);
  if (!read) return std::nullopt;
  const std::vector<uint8_t>& all = *read;
  if (all.size() < 28 || all[0] != 'M' || all[1] != 'P' || all[2] != 'S' || all[3] != '1') return std::nullopt;
  std::span<const uint8_t> body(all.data() + 12, all.size() - 12);
  if (static_cast<uint32_t>(get64(all.data() + 4)) != crc32c::value(body)) return std::nullopt;
  const uint8_t* p = body.data();
  const uint8_t* end = p + body.size();
  auto next = [&](int64_t& v) {
    if (end - p < 8) return false;
    v = get64(p);
    p += 8;
    return true;
  };
  int64_t offset = 0, count = 0;
  if (!next(offset) || !next(count) || count < 0) return std::nullopt;
  std::unordered_map<int64_t, producer_entry> loaded;
  for (int64_t i = 0; i < count; ++i) {
    int64_t pid = 0, epoch = 0, n = 0;
    if (!next(pid) || !next(epoch) || !next(n) || n < 0 || n > static_cast<int64_t>(batches_kept)) return std::nullopt;
    producer_entry& e = loaded[pid];
    e.epoch = static_cast<int16_t>(epoch);
    e.last_append_ms = now_ms;
    for (int64_t k = 0; k < n; ++k) {
      int64_t fs = 0, ls = 0, fo = 0, lo = 0;
      if (!next(fs) || !next(ls) || !next(fo) || !next(lo)) return std::nullopt;
      e.batches.push_back({static_cast<int32_t>(fs), static_cast<int32_t>(ls), fo, lo});
    }
  }
  producers_ = std::move(loaded);
  return offset;
}

}  // namespace mosaic::log
