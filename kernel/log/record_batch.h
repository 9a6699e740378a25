// The Kafka record batch, magic v2: the unit the log stores, exactly as the
// producer sent it. Parsing never trusts a length; validation checks what a
// broker must before appending; appending patches only the fields the CRC
// does not cover (base offset, partition leader epoch).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::log {

// Offsets into the 61-byte batch header.
namespace batch_layout {
inline constexpr size_t base_offset = 0;
inline constexpr size_t batch_length = 8;
inline constexpr size_t leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
inline constexpr size_t header_size = 61;
// batchLength counts the bytes after itself.
inline constexpr size_t length_prefix = 12;
}  // namespace batch_layout

namespace attr {
inline constexpr int16_t codec_mask = 0x07;
inline constexpr int16_t log_append_time = 0x08;
inline constexpr int16_t transactional = 0x10;
inline constexpr int16_t control = 0x20;
inline constexpr int16_t delete_horizon = 0x40;
}  // namespace attr

inline int64_t load_be64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return static_cast<int64_t>(__builtin_bswap64(v));
}
inline int32_t load_be32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<int32_t>(__builtin_bswap32(v));
}
inline int16_t load_be16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return static_cast<int16_t>(__builtin_bswap16(v));
}
inline void store_be64(uint8_t* p, int64_t v) noexcept {
  uint64_t b = __builtin_bswap64(static_cast<uint64_t>(v));
  std::memcpy(p, &b, 8);
}
inline void store_be32(uint8_t* p, int32_t v) noexcept {
  uint32_t b = __builtin_bswap32(static_cast<uint32_t>(v));
  std::memcpy(p, &b, 4);
}
inline void store_be16(uint8_t* p, int16_t v) noexcept {
  uint16_t b = __builtin_bswap16(static_cast<uint16_t>(v));
  std::memcpy(p, &b, 2);
}

// A read-only view of one batch's header; `bytes` spans the whole batch.
struct batch_view {
  std::span<const uint8_t> bytes;

  int64_t base_offset() const noexcept { return load_be64(bytes.data() + batch_layout::base_offset); }
  int32_t batch_length() const noexcept { return load_be32(bytes.data() + batch_layout::batch_length); }
  int32_t leader_epoch() const noexcept { return load_be32(bytes.data() + batch_layout::leader_epoch); }
  int8_t magic() const noexcept { return static_cast<int8_t>(bytes[batch_layout::magic]); }
  uint32_t crc() const noexcept { return static_cast<uint32_t>(load_be32(bytes.data() + batch_layout::crc)); }
  int16_t attributes() const noexcept { return load_be16(bytes.data() + batch_layout::attributes); }
  int32_t last_offset_delta() const noexcept { return load_be32(bytes.data() + batch_layout::last_offset_delta); }
  int64_t base_timestamp() const noexcept { return load_be64(bytes.data() + batch_layout::base_timestamp); }
  int64_t max_timestamp() const noexcept { return load_be64(bytes.data() + batch_layout::max_timestamp); }
  int64_t producer_id() const noexcept { return load_be64(bytes.data() + batch_layout::producer_id); }
  int16_t producer_epoch() const noexcept { return load_be16(bytes.data() + batch_layout::producer_epoch); }
  int32_t base_sequence() const noexcept { return load_be32(bytes.data() + batch_layout::base_sequence); }
  int32_t records_count() const noexcept { return load_be32(bytes.data() + batch_layout::records_count); }

  int codec() const noexcept { return attributes() & attr::codec_mask; }
  bool is_control() const noexcept { return (attributes() & attr::control) != 0; }
  bool is_transactional() const noexcept { return (attributes() & attr::transactional) != 0; }
  bool log_append_time() const noexcept { return (attributes() & attr::log_append_time) != 0; }
  int64_t last_offset() const noexcept { return base_offset() + last_offset_delta(); }
  size_t size() const noexcept { return bytes.size(); }
  std::span<const uint8_t> records() const noexcept { return bytes.subspan(batch_layout::header_size); }
};

// Why a batch is refused. The Kafka adapter maps these to protocol errors:
// corrupt -> CORRUPT_MESSAGE, too_large -> MESSAGE_TOO_LARGE,
// invalid_record -> INVALID_RECORD.
enum class batch_error {
  none = 0,
  corrupt,
  too_large,
  invalid_record,
  out_of_order_sequence,   // an idempotent producer's sequence has a gap
  invalid_producer_epoch,  // an idempotent producer's epoch is older than the partition has seen
};
const char* batch_error_name(batch_error e) noexcept;

struct batch_check {
  batch_error error = batch_error::none;
  std::string message;
  bool ok() const noexcept { return error == batch_error::none; }
};

// The size of the batch that starts at `bytes` (length prefix + batchLength),
// or 0 if fewer than 12 bytes are there or the length is impossible.
size_t framed_size(std::span<const uint8_t> bytes) noexcept;

// Where a batch comes from: a producer's has its records numbered 0..n-1;
// one already in a log (read back, or replicated) may have been compacted:
// fewer records than lastOffsetDelta + 1, their offset deltas rising.
enum class batch_origin { producer, log };

// Checks one whole batch as a broker must before appending it: lengths
// within the buffer, magic 2, the CRC-32C, attributes, record count against
// lastOffsetDelta, and for uncompressed batches every record's framing and
// offset delta. `max_batch_bytes` is max.message.bytes.
batch_check validate_batch(std::span<const uint8_t> bytes, size_t max_batch_bytes,
                           batch_origin origin = batch_origin::producer);

// Walks a buffer of back-to-back batches (a produce request's records, or a
// segment), calling `fn(batch_view)` for each whole batch. Returns how many
// bytes held whole batches: the rest is a torn tail.
template <class F>
size_t for_each_batch(std::span<const uint8_t> bytes, F&& fn) {
  size_t at = 0;
  while (at < bytes.size()) {
    size_t n = framed_size(bytes.subspan(at));
    if (n == 0 || n > bytes.size() - at) break;
    if (!fn(batch_view{bytes.subspan(at, n)})) break;
    at += n;
  }
  return at;
}

// Reads one zigzag varint of the record format (at most `max_bytes` long) and
// advances `p`; false if it runs past `end`.
bool read_varlong(const uint8_t*& p, const uint8_t* end, int64_t& out, int max_bytes = 10) noexcept;

// One record of an uncompressed batch, as views into the batch.
struct record_view {
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::span<const uint8_t>> key;
  std::optional<std::span<const uint8_t>> value;
  std::span<const uint8_t> headers;  // the headers section, raw: see for_each_header
  std::span<const uint8_t> bytes;    // the whole record, its length prefix included
};

// Calls `fn(key, value)` for each header of a record's headers section
// (value nullopt for a null value); false if the section is malformed.
bool for_each_header(std::span<const uint8_t> headers,
                     const std::function<void(std::string_view, std::optional<std::string_view>)>& fn);

// Calls `fn(record_view)` for each record of an uncompressed batch; false if
// a record is malformed (a validated batch never is).
bool for_each_record(const batch_view& batch, const std::function<void(const record_view&)>& fn);
// The same over a records section of `count` records (a compressed batch's,
// once decompressed).
bool for_each_record(std::span<const uint8_t> records, int32_t count,
                     const std::function<void(const record_view&)>& fn);

// The patches an append makes, outside the CRC.
inline void set_base_offset(std::span<uint8_t> batch, int64_t offset) noexcept {
  store_be64(batch.data() + batch_layout::base_offset, offset);
}
inline void set_leader_epoch(std::span<uint8_t> batch, int32_t epoch) noexcept {
  store_be32(batch.data() + batch_layout::leader_epoch, epoch);
}
// Appends to `out` batch `b` with `body` as its records section (a
// recompression's, a compaction's): its header as it was but for
// `attributes` and `records_count`, with a new length and CRC.
void append_rewritten(const batch_view& b, std::span<const uint8_t> body, int16_t attributes, int32_t records_count,
                      std::vector<uint8_t>& out);

// For a topic with message.timestamp.type=LogAppendTime: sets the timestamp
// type and maxTimestamp, which the CRC covers, so the CRC is recomputed.
void set_log_append_time(std::span<uint8_t> batch, int64_t now_ms) noexcept;

}  // namespace mosaic::log
