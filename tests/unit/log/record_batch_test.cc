#include "kernel/log/record_batch.h"

#include <gtest/gtest.h>

#include "kernel/base/crc32c.h"
#include "kernel/log/batch_builder.h"

namespace mosaic::log {
namespace {

std::vector<uint8_t> sample(int records = 3) {
  batch_builder b(1700000000000);
  for (int i = 0; i < records; ++i) b.add("key-" + std::to_string(i), "value-" + std::to_string(i), 1700000000000 + i);
  return b.finish();
}

void refresh_crc(std::vector<uint8_t>& b) {
  store_be32(b.data() + batch_layout::crc,
             static_cast<int32_t>(crc32c::value(std::span<const uint8_t>(b).subspan(batch_layout::attributes))));
}

TEST(record_batch, builder_output_is_a_valid_batch) {
  auto b = sample();
  auto check = validate_batch(b, 1 << 20);
  ASSERT_TRUE(check.ok()) << check.message;
  batch_view v{b};
  EXPECT_EQ(v.magic(), 2);
  EXPECT_EQ(v.records_count(), 3);
  EXPECT_EQ(v.last_offset_delta(), 2);
  EXPECT_EQ(v.base_timestamp(), 1700000000000);
  EXPECT_EQ(v.max_timestamp(), 1700000000002);
  EXPECT_EQ(v.producer_id(), -1);
  EXPECT_EQ(framed_size(b), b.size());
}

TEST(record_batch, patching_offset_and_epoch_keeps_the_crc_valid) {
  auto b = sample();
  set_base_offset(b, 123456);
  set_leader_epoch(b, 7);
  EXPECT_TRUE(validate_batch(b, 1 << 20).ok());
  EXPECT_EQ(batch_view{b}.base_offset(), 123456);
  EXPECT_EQ(batch_view{b}.leader_epoch(), 7);
  EXPECT_EQ(batch_view{b}.last_offset(), 123458);
}

TEST(record_batch, log_append_time_rewrites_the_crc) {
  auto b = sample();
  set_log_append_time(b, 42);
  EXPECT_TRUE(validate_batch(b, 1 << 20).ok());
  EXPECT_TRUE(batch_view{b}.log_append_time());
  EXPECT_EQ(batch_view{b}.max_timestamp(), 42);
}

TEST(record_batch, refuses_a_wrong_crc_as_corrupt) {
  auto b = sample();
  b[b.size() - 1] ^= 0x01;
  auto check = validate_batch(b, 1 << 20);
  EXPECT_EQ(check.error, batch_error::corrupt);
  EXPECT_EQ(check.message, "CRC-32C mismatch");
}

TEST(record_batch, refuses_lengths_beyond_the_buffer) {
  auto b = sample();
  auto cut = std::vector<uint8_t>(b.begin(), b.end() - 5);
  EXPECT_EQ(validate_batch(cut, 1 << 20).error, batch_error::corrupt);
  EXPECT_EQ(validate_batch(std::vector<uint8_t>(b.begin(), b.begin() + 30), 1 << 20).error, batch_error::corrupt);
  store_be32(b.data() + batch_layout::batch_length, 0x7FFFFFF0);
  EXPECT_EQ(validate_batch(b, 1 << 20).error, batch_error::corrupt);
  store_be32(b.data() + batch_layout::batch_length, -5);
  EXPECT_EQ(framed_size(b), 0u);
}

TEST(record_batch, refuses_a_batch_over_max_message_bytes) {
  auto b = sample(50);
  auto check = validate_batch(b, b.size() - 1);
  EXPECT_EQ(check.error, batch_error::too_large);
  EXPECT_TRUE(validate_batch(b, b.size()).ok());
}

TEST(record_batch, refuses_a_record_count_that_does_not_match) {
  auto b = sample(3);
  store_be32(b.data() + batch_layout::records_count, 4);
  store_be32(b.data() + batch_layout::last_offset_delta, 3);
  refresh_crc(b);
  auto check = validate_batch(b, 1 << 20);
  EXPECT_EQ(check.error, batch_error::invalid_record) << check.message;
  auto c = sample(3);
  store_be32(c.data() + batch_layout::records_count, 2);
  store_be32(c.data() + batch_layout::last_offset_delta, 1);
  refresh_crc(c);
  check = validate_batch(c, 1 << 20);
  EXPECT_EQ(check.error, batch_error::invalid_record);
  EXPECT_NE(check.message.find("more than its 2 records"), std::string::npos) << check.message;
  auto d = sample(3);
  store_be32(d.data() + batch_layout::last_offset_delta, 5);
  refresh_crc(d);
  EXPECT_EQ(validate_batch(d, 1 << 20).error, batch_error::invalid_record);
}

TEST(record_batch, refuses_bad_magic_attributes_and_empty_batches) {
  auto b = sample();
  b[batch_layout::magic] = 1;
  EXPECT_EQ(validate_batch(b, 1 << 20).error, batch_error::invalid_record);
  auto c = sample();
  store_be16(c.data() + batch_layout::attributes, 0x0105);
  refresh_crc(c);
  EXPECT_EQ(validate_batch(c, 1 << 20).error, batch_error::invalid_record);
  auto d = sample();
  store_be16(d.data() + batch_layout::attributes, 6);  // codec 6 does not exist
  refresh_crc(d);
  EXPECT_EQ(validate_batch(d, 1 << 20).error, batch_error::invalid_record);
  auto empty = batch_builder().finish();
  EXPECT_EQ(validate_batch(empty, 1 << 20).error, batch_error::invalid_record);
}

TEST(record_batch, refuses_a_record_with_a_wrong_offset_delta) {
  auto b = sample(2);
  // The second record's offsetDelta varint: find it by rebuilding the layout.
  // Record 0 starts at the header; skip its length varint and body.
  size_t at = batch_layout::header_size;
  int64_t len = b[at] >> 1;  // one-byte zigzag varint
  at += 1 + static_cast<size_t>(len);
  // Record 1: length, attributes, timestampDelta (one byte), offsetDelta.
  ASSERT_EQ(b[at + 3], 2);  // zigzag(1)
  b[at + 3] = 4;            // zigzag(2)
  refresh_crc(b);
  auto check = validate_batch(b, 1 << 20);
  EXPECT_EQ(check.error, batch_error::invalid_record);
  EXPECT_NE(check.message.find("record 1 has offset delta 2"), std::string::npos) << check.message;
}

TEST(record_batch, walks_back_to_back_batches_and_stops_at_a_torn_tail) {
  auto a = sample(1), b = sample(2);
  std::vector<uint8_t> buf(a);
  buf.insert(buf.end(), b.begin(), b.end());
  buf.insert(buf.end(), b.begin(), b.begin() + 20);
  int n = 0;
  size_t whole = for_each_batch(buf, [&](const batch_view&) {
    ++n;
    return true;
  });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(whole, a.size() + b.size());
}

}  // namespace
}  // namespace mosaic::log
