#include "kernel/log/cleaner.h"

#include <algorithm>

#include "kernel/log/record_batch.h"

namespace mosaic::log {

namespace {

// The uncompressed records section of `b` (in `scratch` if it had to be
// decompressed).
result<std::span<const uint8_t>> records_of(const batch_view& b, const codec_hooks& codecs,
                                            std::vector<uint8_t>& scratch) {
  if (b.codec() == 0) return b.records();
  if (!codecs.decompress) return status(errc::unsupported, "no codec to read a compressed batch");
  scratch.clear();
  if (auto s = codecs.decompress(b.codec(), b.records(), scratch); !s.ok()) return s;
  return std::span<const uint8_t>(scratch);
}

status malformed(const batch_view& b) {
  return status(errc::corrupt, "the batch at offset " + std::to_string(b.base_offset()) + " has a malformed record");
}

// `b` with only `kept` records (raw, in order), its header otherwise as it
// was: new length, count and CRC, the records recompressed in its codec.
status rebuild(const batch_view& b, std::span<const std::span<const uint8_t>> kept, const codec_hooks& codecs,
               std::vector<uint8_t>& out) {
  std::vector<uint8_t> plain;
  for (const auto& r : kept) plain.insert(plain.end(), r.begin(), r.end());
  std::vector<uint8_t> packed;
  std::span<const uint8_t> body = plain;
  if (b.codec() != 0) {
    if (!codecs.compress) return status(errc::unsupported, "no codec to rewrite a compressed batch");
    if (auto s = codecs.compress(b.codec(), plain, packed); !s.ok()) return s;
    body = packed;
  }
  append_rewritten(b, body, b.attributes(), static_cast<int32_t>(kept.size()), out);
  return {};
}

// Two independent 64-bit hashes (FNV-1a, and a multiply-xorshift mix): a
// false match between two keys is about as likely as with Kafka's MD5.
std::pair<uint64_t, uint64_t> hash_key(std::span<const uint8_t> key) noexcept {
  uint64_t a = 1469598103934665603ull;
  uint64_t b = 0x9E3779B97F4A7C15ull ^ key.size();
  for (uint8_t c : key) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 0xBF58476D1CE4E5B9ull;
    b ^= b >> 31;
  }
  return {a, b};
}

}  // namespace

offset_map::offset_map(size_t buffer_bytes)
    : slots_(std::max<size_t>(buffer_bytes / slot_bytes, 2)), capacity_(slots_.size() * 9 / 10) {}

size_t offset_map::find(uint64_t a, uint64_t b) const noexcept {
  size_t i = static_cast<size_t>(a % slots_.size());
  while (slots_[i].offset >= 0 && (slots_[i].a != a || slots_[i].b != b)) i = (i + 1) % slots_.size();
  return i;
}

bool offset_map::put(std::span<const uint8_t> key, int64_t offset) {
  const auto [a, b] = hash_key(key);
  slot& s = slots_[find(a, b)];
  if (s.offset >= 0) {
    s.offset = std::max(s.offset, offset);
    return true;
  }
  if (size_ >= capacity_) return false;
  s = slot{a, b, offset};
  ++size_;
  return true;
}

std::optional<int64_t> offset_map::get(std::span<const uint8_t> key) const {
  const auto [a, b] = hash_key(key);
  const slot& s = slots_[find(a, b)];
  if (s.offset < 0) return std::nullopt;
  return s.offset;
}

void offset_map::clear() {
  std::fill(slots_.begin(), slots_.end(), slot{});
  size_ = 0;
}

result<mapped> map_keys(std::span<const uint8_t> batches, offset_map& map, const codec_hooks& codecs) {
  std::vector<uint8_t> scratch;
  mapped m;
  status failed;
  for_each_batch(batches, [&](const batch_view& b) {
    if (b.is_control()) {
      m.end = b.last_offset() + 1;
      return true;
    }
    auto records = records_of(b, codecs, scratch);
    if (!records) {
      failed = records.error();
      return false;
    }
    // A batch's keys all go in or none: count the new ones first.
    std::vector<std::pair<std::span<const uint8_t>, int64_t>> keys;
    const bool whole = for_each_record(*records, b.records_count(), [&](const record_view& r) {
      if (r.key) keys.emplace_back(*r.key, b.base_offset() + r.offset_delta);
    });
    if (!whole) {
      failed = malformed(b);
      return false;
    }
    size_t fresh = 0;
    for (const auto& [k, o] : keys) fresh += map.get(k) ? 0 : 1;
    if (map.size() + fresh > map.capacity()) {
      m.full = true;
      return false;
    }
    for (const auto& [k, o] : keys) map.put(k, o);
    m.end = b.last_offset() + 1;
    return true;
  });
  if (!failed.ok()) return failed;
  return m;
}

result<compaction_stats> compact_batches(std::span<const uint8_t> batches, const offset_map& map,
                                         const compaction_rules& rules, const codec_hooks& codecs,
                                         std::vector<uint8_t>& out) {
  compaction_stats stats;
  std::vector<uint8_t> scratch;
  std::vector<std::span<const uint8_t>> kept;
  status failed;
  for_each_batch(batches, [&](const batch_view& b) {
    if (b.is_control() || b.base_offset() >= rules.mapped_end) {
      out.insert(out.end(), b.bytes.begin(), b.bytes.end());
      stats.records_read += static_cast<uint64_t>(b.records_count());
      stats.records_kept += static_cast<uint64_t>(b.records_count());
      return true;
    }
    auto records = records_of(b, codecs, scratch);
    if (!records) {
      failed = records.error();
      return false;
    }
    const bool old_tombstones =
        b.base_offset() < rules.tombstones_cleaned_below && b.max_timestamp() < rules.tombstone_horizon_ms;
    kept.clear();
    const bool whole = for_each_record(*records, b.records_count(), [&](const record_view& r) {
      ++stats.records_read;
      const int64_t offset = b.base_offset() + r.offset_delta;
      if (!r.key) {
        ++stats.keyless_removed;
        return;
      }
      if (offset < rules.mapped_end) {
        auto latest = map.get(*r.key);
        if (latest && *latest > offset) return;  // a later record has the key
      }
      if (!r.value && old_tombstones) {
        ++stats.tombstones_removed;
        return;
      }
      kept.push_back(r.bytes);
    });
    if (!whole) {
      failed = malformed(b);
      return false;
    }
    stats.records_kept += kept.size();
    if (kept.empty()) {
      ++stats.batches_removed;
      return true;
    }
    if (kept.size() == static_cast<size_t>(b.records_count())) {
      out.insert(out.end(), b.bytes.begin(), b.bytes.end());
      return true;
    }
    if (auto s = rebuild(b, kept, codecs, out); !s.ok()) {
      failed = s;
      return false;
    }
    return true;
  });
  if (!failed.ok()) return failed;
  return stats;
}

result<std::vector<int32_t>> keyless_records(std::span<const uint8_t> batch, const codec_hooks& codecs) {
  std::vector<int32_t> out;
  status failed;
  std::vector<uint8_t> scratch;
  for_each_batch(batch, [&](const batch_view& b) {
    if (b.is_control()) return true;
    auto records = records_of(b, codecs, scratch);
    if (!records) {
      failed = records.error();
      return false;
    }
    int32_t index = 0;
    if (!for_each_record(*records, b.records_count(), [&](const record_view& r) {
          if (!r.key) out.push_back(index);
          ++index;
        }))
      failed = malformed(b);
    return failed.ok();
  });
  if (!failed.ok()) return failed;
  return out;
}

}  // namespace mosaic::log
