#include "kernel/log/batch_builder.h"

#include <algorithm>
#include <cstring>

#include "kernel/base/crc32c.h"
#include "kernel/log/record_batch.h"

namespace mosaic::log {

namespace {

size_t varlong_size(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  size_t n = 1;
  while (z >= 0x80) {
    z >>= 7;
    ++n;
  }
  return n;
}

size_t bytes_size(std::optional<std::string_view> b) {
  return b ? varlong_size(static_cast<int64_t>(b->size())) + b->size() : 1;
}

// Writes at `p` (room made by the caller), returns the end.
uint8_t* write_varlong(uint8_t* p, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    *p++ = static_cast<uint8_t>(z | 0x80);
    z >>= 7;
  }
  *p++ = static_cast<uint8_t>(z);
  return p;
}

uint8_t* write_bytes(uint8_t* p, std::optional<std::string_view> b) {
  if (!b) return write_varlong(p, -1);
  p = write_varlong(p, static_cast<int64_t>(b->size()));
  if (!b->empty()) std::memcpy(p, b->data(), b->size());
  return p + b->size();
}

}  // namespace

void append_record(std::vector<uint8_t>& out, int64_t timestamp_delta, int32_t offset_delta,
                   std::optional<std::string_view> key, std::optional<std::string_view> value,
                   std::span<const record_header> headers, std::span<const record_header> more_headers) {
  // Sized first, then written in place: one growth of `out` per record.
  size_t body = 1 + varlong_size(timestamp_delta) + varlong_size(offset_delta) + bytes_size(key) + bytes_size(value) +
                varlong_size(static_cast<int64_t>(headers.size() + more_headers.size()));
  for (auto list : {headers, more_headers})
    for (const auto& h : list) body += bytes_size(h.key) + bytes_size(h.value);
  const size_t at = out.size();
  out.resize(at + varlong_size(static_cast<int64_t>(body)) + body);
  uint8_t* p = write_varlong(out.data() + at, static_cast<int64_t>(body));
  *p++ = 0;  // record attributes
  p = write_varlong(p, timestamp_delta);
  p = write_varlong(p, offset_delta);
  p = write_bytes(p, key);
  p = write_bytes(p, value);
  p = write_varlong(p, static_cast<int64_t>(headers.size() + more_headers.size()));
  for (auto list : {headers, more_headers})
    for (const auto& h : list) {
      p = write_bytes(p, h.key);
      p = write_bytes(p, h.value);
    }
}

batch_builder& batch_builder::add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                                  int64_t timestamp_ms, std::span<const record_header> headers) {
  const int64_t ts = timestamp_ms < 0 ? base_timestamp_ : timestamp_ms;
  if (count_ == 0) base_timestamp_ = ts;
  max_timestamp_ = std::max(max_timestamp_, ts);
  append_record(records_, ts - base_timestamp_, count_, key, value, headers);
  ++count_;
  return *this;
}

std::vector<uint8_t> batch_builder::finish() const {
  std::vector<uint8_t> b(batch_layout::header_size + records_.size());
  uint8_t* p = b.data();
  store_be64(p + batch_layout::base_offset, 0);
  store_be32(p + batch_layout::batch_length, static_cast<int32_t>(b.size() - batch_layout::length_prefix));
  store_be32(p + batch_layout::leader_epoch, -1);
  p[batch_layout::magic] = 2;
  store_be16(p + batch_layout::attributes, attributes_);
  store_be32(p + batch_layout::last_offset_delta, count_ - 1);
  store_be64(p + batch_layout::base_timestamp, count_ == 0 ? -1 : base_timestamp_);
  store_be64(p + batch_layout::max_timestamp, max_timestamp_);
  store_be64(p + batch_layout::producer_id, producer_id_);
  store_be16(p + batch_layout::producer_epoch, producer_epoch_);
  store_be32(p + batch_layout::base_sequence, base_sequence_);
  store_be32(p + batch_layout::records_count, count_);
  std::copy(records_.begin(), records_.end(), b.begin() + batch_layout::header_size);
  store_be32(p + batch_layout::crc,
             static_cast<int32_t>(crc32c::value(std::span<const uint8_t>(b).subspan(batch_layout::attributes))));
  return b;
}

}  // namespace mosaic::log
