// Builds uncompressed magic-v2 record batches: for tests, benchmarks and the
// broker's own internal logs; `append_record` also re-encodes the records of
// a producer's batch that a record interceptor stamped with headers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace mosaic::log {

struct record_header {
  std::string_view key;
  std::optional<std::string_view> value;
};

// Appends one record of the v2 format (its length prefix included) to a
// records section: the headers of `headers` then of `more_headers`.
void append_record(std::vector<uint8_t>& out, int64_t timestamp_delta, int32_t offset_delta,
                   std::optional<std::string_view> key, std::optional<std::string_view> value,
                   std::span<const record_header> headers, std::span<const record_header> more_headers = {});

class batch_builder {
 public:
  explicit batch_builder(int64_t base_timestamp_ms = 0) : base_timestamp_(base_timestamp_ms) {}

  // Producer identity (idempotence); -1 when none.
  batch_builder& producer(int64_t id, int16_t epoch, int32_t base_sequence) {
    producer_id_ = id;
    producer_epoch_ = epoch;
    base_sequence_ = base_sequence;
    return *this;
  }
  batch_builder& attributes(int16_t a) {
    attributes_ = a;
    return *this;
  }

  batch_builder& add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                     int64_t timestamp_ms = -1, std::span<const record_header> headers = {});

  size_t record_count() const noexcept { return static_cast<size_t>(count_); }
  // The whole batch, CRC included; base offset 0 and leader epoch -1, as a
  // producer sends it.
  std::vector<uint8_t> finish() const;

 private:
  int64_t base_timestamp_;
  int64_t max_timestamp_ = -1;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  int16_t attributes_ = 0;
  int32_t count_ = 0;
  std::vector<uint8_t> records_;
};

}  // namespace mosaic::log
