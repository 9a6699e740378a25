#include "kernel/log/record_batch.h"

#include "kernel/base/crc32c.h"

namespace mosaic::log {

const char* batch_error_name(batch_error e) noexcept {
  switch (e) {
    case batch_error::none: return "none";
    case batch_error::corrupt: return "corrupt";
    case batch_error::too_large: return "too large";
    case batch_error::invalid_record: return "invalid record";
    case batch_error::out_of_order_sequence: return "out of order sequence";
    case batch_error::invalid_producer_epoch: return "invalid producer epoch";
  }
  return "unknown";
}

size_t framed_size(std::span<const uint8_t> bytes) noexcept {
  if (bytes.size() < batch_layout::length_prefix) return 0;
  int32_t len = load_be32(bytes.data() + batch_layout::batch_length);
  if (len < static_cast<int32_t>(batch_layout::header_size - batch_layout::length_prefix)) return 0;
  return batch_layout::length_prefix + static_cast<size_t>(len);
}

bool read_varlong(const uint8_t*& p, const uint8_t* end, int64_t& out, int max_bytes) noexcept {
  uint64_t v = 0;
  for (int shift = 0, i = 0; i < max_bytes; ++i, shift += 7) {
    if (p == end) return false;
    uint8_t b = *p++;
    v |= uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) {
      out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
      return true;
    }
  }
  return false;
}

namespace {

bool read_varint(const uint8_t*& p, const uint8_t* end, int32_t& out) {
  int64_t v = 0;
  if (!read_varlong(p, end, v, 5) || v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int32_t>(v);
  return true;
}

batch_check refuse(batch_error e, std::string message) { return {e, std::move(message)}; }

// Walks the records of an uncompressed batch: each record's framing, its
// offset delta, and key and value lengths that fit; the count must match.
batch_check check_records(const batch_view& b, batch_origin origin) {
  auto records = b.records();
  const uint8_t* p = records.data();
  const uint8_t* end = p + records.size();
  const int32_t count = b.records_count();
  int32_t previous = -1;
  for (int32_t i = 0; i < count; ++i) {
    int32_t len = 0;
    if (!read_varint(p, end, len) || len < 1 || len > end - p)
      return refuse(batch_error::invalid_record, "record " + std::to_string(i) + " has a bad length");
    const uint8_t* rec_end = p + len;
    ++p;  // attributes
    int64_t ts_delta = 0;
    int32_t offset_delta = 0, key_len = 0, value_len = 0;
    if (!read_varlong(p, rec_end, ts_delta) || !read_varint(p, rec_end, offset_delta))
      return refuse(batch_error::invalid_record, "record " + std::to_string(i) + " is truncated");
    // A producer's records are numbered from 0; a compacted batch keeps
    // its records' deltas, rising, within lastOffsetDelta.
    const bool numbered = origin == batch_origin::producer
                              ? offset_delta == i
                              : offset_delta > previous && offset_delta <= b.last_offset_delta();
    if (!numbered)
      return refuse(batch_error::invalid_record,
                    "record " + std::to_string(i) + " has offset delta " + std::to_string(offset_delta));
    previous = offset_delta;
    if (!read_varint(p, rec_end, key_len) || key_len < -1 || key_len > rec_end - p)
      return refuse(batch_error::invalid_record, "record " + std::to_string(i) + " has a bad key length");
    p += key_len > 0 ? key_len : 0;
    if (!read_varint(p, rec_end, value_len) || value_len < -1 || value_len > rec_end - p)
      return refuse(batch_error::invalid_record, "record " + std::to_string(i) + " has a bad value length");
    p = rec_end;  // headers: covered by the CRC, parsed by consumers
  }
  if (p != end)
    return refuse(batch_error::invalid_record, "the batch holds more than its " + std::to_string(count) + " records");
  return {};
}

}  // namespace

bool for_each_record(const batch_view& batch, const std::function<void(const record_view&)>& fn) {
  return for_each_record(batch.records(), batch.records_count(), fn);
}

bool for_each_record(std::span<const uint8_t> records, int32_t count,
                     const std::function<void(const record_view&)>& fn) {
  const uint8_t* p = records.data();
  const uint8_t* end = p + records.size();
  auto field = [&](const uint8_t* rec_end, std::optional<std::span<const uint8_t>>& out) {
    int32_t len = 0;
    if (!read_varint(p, rec_end, len) || len < -1 || len > rec_end - p) return false;
    if (len >= 0) out = std::span<const uint8_t>(p, static_cast<size_t>(len));
    p += len > 0 ? len : 0;
    return true;
  };
  for (int32_t i = 0; i < count; ++i) {
    const uint8_t* const start = p;
    int32_t len = 0;
    if (!read_varint(p, end, len) || len < 1 || len > end - p) return false;
    const uint8_t* rec_end = p + len;
    ++p;  // attributes
    record_view r;
    r.bytes = std::span<const uint8_t>(start, static_cast<size_t>(rec_end - start));
    if (!read_varlong(p, rec_end, r.timestamp_delta) || !read_varint(p, rec_end, r.offset_delta)) return false;
    if (!field(rec_end, r.key) || !field(rec_end, r.value)) return false;
    r.headers = std::span<const uint8_t>(p, static_cast<size_t>(rec_end - p));
    fn(r);
    p = rec_end;
  }
  return true;
}

bool for_each_header(std::span<const uint8_t> headers,
                     const std::function<void(std::string_view, std::optional<std::string_view>)>& fn) {
  const uint8_t* p = headers.data();
  const uint8_t* end = p + headers.size();
  int32_t count = 0;
  if (!read_varint(p, end, count) || count < 0) return false;
  for (int32_t i = 0; i < count; ++i) {
    int32_t klen = 0, vlen = 0;
    if (!read_varint(p, end, klen) || klen < 0 || klen > end - p) return false;
    std::string_view key(reinterpret_cast<const char*>(p), static_cast<size_t>(klen));
    p += klen;
    if (!read_varint(p, end, vlen) || vlen < -1 || vlen > end - p) return false;
    std::optional<std::string_view> value;
    if (vlen >= 0) value = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(vlen));
    p += vlen > 0 ? vlen : 0;
    fn(key, value);
  }
  return true;
}

batch_check validate_batch(std::span<const uint8_t> bytes, size_t max_batch_bytes, batch_origin origin) {
  if (bytes.size() < batch_layout::header_size)
    return refuse(batch_error::corrupt,
                  "batch of " + std::to_string(bytes.size()) + " bytes is shorter than its header");
  const size_t framed = framed_size(bytes);
  if (framed == 0) return refuse(batch_error::corrupt, "batch length field is impossible");
  if (framed != bytes.size())
    return refuse(batch_error::corrupt, "batch length says " + std::to_string(framed) + " bytes, " +
                                            std::to_string(bytes.size()) + " are there");
  if (framed > max_batch_bytes)
    return refuse(batch_error::too_large, "batch of " + std::to_string(framed) + " bytes is over the limit of " +
                                              std::to_string(max_batch_bytes));
  const batch_view b{bytes};
  if (b.magic() != 2)
    return refuse(batch_error::invalid_record, "magic " + std::to_string(b.magic()) + " is not supported (only 2)");
  const uint32_t crc = crc32c::value(bytes.subspan(batch_layout::attributes));
  if (crc != b.crc()) return refuse(batch_error::corrupt, "CRC-32C mismatch");
  const int16_t attributes = b.attributes();
  if ((attributes & ~0x7F) != 0)
    return refuse(batch_error::invalid_record, "unknown attribute bits " + std::to_string(attributes));
  if (b.codec() > 4) return refuse(batch_error::invalid_record, "unknown codec " + std::to_string(b.codec()));
  if (b.records_count() <= 0) return refuse(batch_error::invalid_record, "a batch needs at least one record");
  const bool count_fits = origin == batch_origin::producer ? b.last_offset_delta() == b.records_count() - 1
                                                           : b.last_offset_delta() >= b.records_count() - 1;
  if (!count_fits)
    return refuse(batch_error::invalid_record, "lastOffsetDelta " + std::to_string(b.last_offset_delta()) +
                                                   " does not match " + std::to_string(b.records_count()) + " records");
  if (b.codec() == 0) return check_records(b, origin);
  return {};
}

void append_rewritten(const batch_view& b, std::span<const uint8_t> body, int16_t attributes, int32_t records_count,
                      std::vector<uint8_t>& out) {
  const size_t at = out.size();
  out.insert(out.end(), b.bytes.begin(), b.bytes.begin() + batch_layout::header_size);
  out.insert(out.end(), body.begin(), body.end());
  std::span<uint8_t> nb(out.data() + at, out.size() - at);
  store_be32(nb.data() + batch_layout::batch_length, static_cast<int32_t>(nb.size() - batch_layout::length_prefix));
  store_be16(nb.data() + batch_layout::attributes, attributes);
  store_be32(nb.data() + batch_layout::records_count, records_count);
  store_be32(nb.data() + batch_layout::crc, static_cast<int32_t>(crc32c::value(nb.subspan(batch_layout::attributes))));
}

void set_log_append_time(std::span<uint8_t> batch, int64_t now_ms) noexcept {
  int16_t attributes = load_be16(batch.data() + batch_layout::attributes);
  store_be16(batch.data() + batch_layout::attributes, static_cast<int16_t>(attributes | attr::log_append_time));
  store_be64(batch.data() + batch_layout::max_timestamp, now_ms);
  const uint32_t crc = crc32c::value(std::span<const uint8_t>(batch).subspan(batch_layout::attributes));
  store_be32(batch.data() + batch_layout::crc, static_cast<int32_t>(crc));
}

}  // namespace mosaic::log
