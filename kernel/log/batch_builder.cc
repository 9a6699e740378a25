#include "kernel/log/batch_builder.h"

#include <algorithm>

#include "kernel/base/crc32c.h"
#include "kernel/log/record_batch.h"

namespace mosaic::log {

namespace {

void put_varlong(std::vector<uint8_t>& out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}

void put_bytes(std::vector<uint8_t>& out, std::optional<std::string_view> b) {
  if (!b) {
    put_varlong(out, -1);
    return;
  }
  put_varlong(out, static_cast<int64_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

void append_record(std::vector<uint8_t>& out, int64_t timestamp_delta, int32_t offset_delta,
                   std::optional<std::string_view> key, std::optional<std::string_view> value,
                   std::span<const record_header> headers, std::span<const record_header> more_headers) {
  std::vector<uint8_t> body;
  body.push_back(0);  // record attributes
  put_varlong(body, timestamp_delta);
  put_varlong(body, offset_delta);
  put_bytes(body, key);
  put_bytes(body, value);
  put_varlong(body, static_cast<int64_t>(headers.size() + more_headers.size()));
  for (auto list : {headers, more_headers})
    for (const auto& h : list) {
      put_bytes(body, h.key);
      put_bytes(body, h.value);
    }
  put_varlong(out, static_cast<int64_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
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
