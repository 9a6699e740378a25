// The generated Kafka message code: every message, every version in its
// schema's range, filled with non-default values, encoded, decoded and
// encoded again to the same bytes; every strict prefix of the encoding is
// refused. Plus the primitives and a few messages checked by hand against
// the wire format.
#include <gtest/gtest.h>

#include "kafka_messages.h"
#include "plugins/protocol_kafka/protocol/registry.h"

namespace mosaic::kafka::msg {
// The generated sample builders (in the samples library).
void fill(fetch_response& x, int16_t v, int seed);
void fill(metadata_response& x, int16_t v, int seed);
}  // namespace mosaic::kafka::msg

namespace mosaic::kafka {
namespace {

class every_message : public ::testing::TestWithParam<msg::message_info> {};

TEST_P(every_message, round_trips_in_every_version) {
  const auto& m = GetParam();
  ASSERT_LE(m.min_version, m.max_version);
  for (int16_t v = m.min_version; v <= m.max_version; ++v) {
    std::string why;
    EXPECT_TRUE(m.roundtrip(v, why)) << m.name << " v" << v << ": " << why;
  }
}

INSTANTIATE_TEST_SUITE_P(generated, every_message, ::testing::ValuesIn(msg::all_messages()),
                         [](const ::testing::TestParamInfo<msg::message_info>& p) {
                           return std::string(p.param.name);
                         });

TEST(kafka_messages, every_schema_is_generated) {
  size_t requests = 0, responses = 0, headers = 0;
  for (const auto& m : msg::all_messages()) {
    requests += std::string(m.type) == "request";
    responses += std::string(m.type) == "response";
    headers += std::string(m.type) == "header";
  }
  EXPECT_EQ(requests, responses);
  EXPECT_GT(requests, 80u);  // every API key Kafka 4.x still accepts
  EXPECT_EQ(headers, 2u);
}

std::vector<uint8_t> encode(const auto& m, int16_t v) {
  std::vector<uint8_t> out;
  writer w(out);
  m.encode(w, v);
  return out;
}

TEST(kafka_messages, api_versions_request_v3_matches_the_wire_format) {
  msg::api_versions_request req;
  req.client_software_name = "mosaic";
  req.client_software_version = "1.0";
  // v3 is flexible: compact strings (length + 1 as a uvarint), then an
  // empty tagged-field section.
  std::vector<uint8_t> want = {7, 'm', 'o', 's', 'a', 'i', 'c', 4, '1', '.', '0', 0};
  EXPECT_EQ(encode(req, 3), want);
  EXPECT_TRUE(encode(req, 2).empty()) << "v0-2 have no fields";
}

TEST(kafka_messages, request_header_v2_keeps_client_id_non_compact) {
  msg::request_header h;
  h.request_api_key = 18;
  h.request_api_version = 3;
  h.correlation_id = 7;
  h.client_id = "ab";
  // ClientId stays an int16-length nullable string even in flexible v2.
  std::vector<uint8_t> want = {0, 18, 0, 3, 0, 0, 0, 7, 0, 2, 'a', 'b', 0};
  EXPECT_EQ(encode(h, 2), want);
  h.client_id.reset();
  want = {0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff, 0};
  EXPECT_EQ(encode(h, 2), want);
}

TEST(kafka_messages, unknown_tagged_fields_survive_a_round_trip) {
  msg::api_versions_request req;
  req.client_software_name = "x";
  req.unknown_tags.push_back({4242, {9, 8, 7}});
  auto bytes = encode(req, 3);
  msg::api_versions_request back;
  reader r(bytes);
  back.decode(r, 3);
  ASSERT_EQ(back.unknown_tags.size(), 1u);
  EXPECT_EQ(back.unknown_tags[0].tag, 4242u);
  EXPECT_EQ(back.unknown_tags[0].data, (std::vector<uint8_t>{9, 8, 7}));
  EXPECT_EQ(encode(back, 3), bytes);
}

TEST(kafka_messages, records_are_views_into_the_input) {
  msg::produce_request req;
  req.transactional_id.reset();
  req.acks = -1;
  req.timeout_ms = 1000;
  req.topic_data.resize(1);
  req.topic_data[0].name = "t";
  req.topic_data[0].partition_data.resize(1);
  static const uint8_t batch[] = {1, 2, 3, 4};
  req.topic_data[0].partition_data[0].records = bytes_ref::of(batch);
  auto bytes = encode(req, 9);
  msg::produce_request back;
  reader r(bytes);
  back.decode(r, 9);
  const auto& rec = back.topic_data[0].partition_data[0].records;
  ASSERT_EQ(rec.size, 4u);
  EXPECT_GE(rec.data, bytes.data());
  EXPECT_LT(rec.data, bytes.data() + bytes.size());
}

TEST(kafka_messages, samples_fill_nested_fields_so_round_trips_mean_something) {
  msg::fetch_response f;
  msg::fill(f, 17, 1);
  ASSERT_EQ(f.responses.size(), 2u);
  ASSERT_EQ(f.responses[0].partitions.size(), 2u);
  EXPECT_FALSE(f.responses[0].partitions[0].records.null);
  std::vector<uint8_t> bytes;
  writer w(bytes);
  f.encode(w, 17);
  EXPECT_GT(bytes.size(), 200u);
  msg::metadata_response m;
  msg::fill(m, 12, 1);
  EXPECT_EQ(m.topics.size(), 2u);
  EXPECT_TRUE(m.topics[0].name.has_value());
}

TEST(kafka_codec, refuses_forged_lengths_without_allocating) {
  // An array claiming two billion elements in a 6-byte frame.
  std::vector<uint8_t> forged = {0x7f, 0xff, 0xff, 0xff, 0, 0};
  reader r(forged);
  EXPECT_THROW(r.array_length(false), decode_error);
  std::vector<uint8_t> long_string = {0x10, 0x00, 'a'};
  reader s(long_string);
  EXPECT_THROW(s.string(false), decode_error);
  std::vector<uint8_t> endless_varint(11, 0xff);
  reader t(endless_varint);
  EXPECT_THROW(t.uvarint(), decode_error);
}

TEST(kafka_codec, compact_and_classic_encodings) {
  std::vector<uint8_t> out;
  writer w(out);
  w.nullable_string(std::nullopt, true);
  w.nullable_string(std::nullopt, false);
  w.bytes(bytes_ref::none(), true);
  w.bytes(bytes_ref::none(), false);
  w.uvarint(300);
  EXPECT_EQ(out, (std::vector<uint8_t>{0, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xac, 0x02}));
  reader r(out);
  EXPECT_FALSE(r.nullable_string(true));
  EXPECT_FALSE(r.nullable_string(false));
  EXPECT_TRUE(r.bytes(true).null);
  EXPECT_TRUE(r.bytes(false).null);
  EXPECT_EQ(r.uvarint(), 300u);
  EXPECT_TRUE(r.done());
}

}  // namespace
}  // namespace mosaic::kafka
