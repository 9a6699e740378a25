// KIP-714 client telemetry on a broker in the process: GetTelemetrySubscriptions
// and PushTelemetry over a real socket, the pushed OTLP metrics (encoded
// here by hand, protobuf's wire format) on /metrics, and every refusal.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "kafka_messages.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/test_broker.h"

namespace mosaic {
namespace {

namespace msg = kafka::msg;
using testing::call;
using testing::frame_client;
using testing::test_broker;

constexpr int16_t get_subscriptions_key = 71;
constexpr int16_t push_key = 72;

// Protobuf's wire format, as much as MetricsData needs.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string bytes_field(int n, const std::string& payload) {
  return varint(static_cast<uint64_t>(n) << 3 | 2) + varint(payload.size()) + payload;
}
std::string varint_field(int n, uint64_t v) { return varint(static_cast<uint64_t>(n) << 3) + varint(v); }
std::string double_field(int n, double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, 8);
  std::string out = varint(static_cast<uint64_t>(n) << 3 | 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>(bits >> (8 * i));
  return out;
}
std::string key_value(const std::string& k, const std::string& v) {
  return bytes_field(1, k) + bytes_field(2, bytes_field(1, v));  // AnyValue.string_value
}
// MetricsData with one resource attribute, a gauge and a monotonic sum.
std::string metrics_data(double gauge, double sum) {
  const std::string gauge_point = double_field(4, gauge) + bytes_field(7, key_value("node.id", "1"));
  const std::string gauge_metric = bytes_field(1, "org.apache.kafka.producer.node.request.latency.avg") +
                                   bytes_field(5, bytes_field(1, gauge_point));
  const std::string sum_point = double_field(4, sum);
  const std::string sum_metric = bytes_field(1, "org.apache.kafka.producer.connection.creation.total") +
                                 bytes_field(7, bytes_field(1, sum_point) + varint_field(3, 1));
  const std::string scope = bytes_field(2, gauge_metric) + bytes_field(2, sum_metric);
  const std::string resource = bytes_field(1, key_value("client_software_name", "test"));
  return bytes_field(1, bytes_field(1, resource) + bytes_field(2, scope));
}

kafka::bytes_ref ref(const std::string& s) {
  return kafka::bytes_ref::of({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

msg::get_telemetry_subscriptions_response subscribe(frame_client& c, const kafka::uuid& id = {}) {
  msg::get_telemetry_subscriptions_request req;
  req.client_instance_id = id;
  auto r = call<msg::get_telemetry_subscriptions_response>(c, get_subscriptions_key, 0, req);
  EXPECT_TRUE(r);
  return r ? static_cast<msg::get_telemetry_subscriptions_response>(*r) : msg::get_telemetry_subscriptions_response{};
}

int16_t push(frame_client& c, const kafka::uuid& id, int32_t subscription, const std::string& body,
             int8_t compression = 0, bool terminating = false) {
  msg::push_telemetry_request req;
  req.client_instance_id = id;
  req.subscription_id = subscription;
  req.compression_type = compression;
  req.terminating = terminating;
  req.metrics = ref(body);
  auto r = call<msg::push_telemetry_response>(c, push_key, 0, req);
  EXPECT_TRUE(r);
  return r ? r->error_code : int16_t{-1};
}

bool advertised(frame_client& c, int16_t key) {
  auto v = call<msg::api_versions_response>(c, 18, 3, msg::api_versions_request{});
  EXPECT_TRUE(v);
  if (!v) return false;
  for (const auto& k : v->api_keys)
    if (k.api_key == key) return true;
  return false;
}

TEST(telemetry_api, without_a_subscription_the_apis_are_neither_advertised_nor_served) {
  test_broker b;
  frame_client c(b.port());
  EXPECT_FALSE(advertised(c, get_subscriptions_key));
  EXPECT_FALSE(advertised(c, push_key));
  msg::get_telemetry_subscriptions_request req;
  EXPECT_FALSE(call<msg::get_telemetry_subscriptions_response>(c, get_subscriptions_key, 0, req));
  EXPECT_TRUE(c.closed_by_server());
}

TEST(telemetry_api, pushed_metrics_are_exported_until_the_client_terminates) {
  test_broker b({"telemetry.metrics=[org.apache.kafka.producer., org.apache.kafka.consumer.]",
                 "telemetry.push.interval.ms=1000", "telemetry.max.bytes=4096"});
  frame_client c(b.port());
  EXPECT_TRUE(advertised(c, get_subscriptions_key));
  EXPECT_TRUE(advertised(c, push_key));
  auto s = subscribe(c);
  ASSERT_EQ(s.error_code, 0);
  EXPECT_NE(s.client_instance_id, kafka::uuid{});  // one is assigned
  EXPECT_TRUE(s.accepted_compression_types.empty());
  EXPECT_EQ(s.requested_metrics,
            (std::vector<std::string>{"org.apache.kafka.producer.", "org.apache.kafka.consumer."}));
  EXPECT_EQ(s.push_interval_ms, 1000);
  EXPECT_EQ(s.telemetry_max_bytes, 4096);
  EXPECT_FALSE(s.delta_temporality);
  const kafka::uuid id = s.client_instance_id;
  // Asking again with the id keeps it (the answer's id is zero).
  EXPECT_EQ(subscribe(c, id).client_instance_id, kafka::uuid{});

  ASSERT_EQ(push(c, id, s.subscription_id, metrics_data(12.5, 3)), 0);
  std::string text = b.node().render_metrics();
  EXPECT_NE(
      text.find(
          R"(client_id="broker-api-test",metric="org.apache.kafka.producer.node.request.latency.avg",node_id="1"} 12.5)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(metric="org.apache.kafka.producer.connection.creation.total"} 3)"), std::string::npos) << text;
  EXPECT_NE(text.find("mosaic_client_telemetry_clients 1\n"), std::string::npos) << text;
  // A later push replaces the values.
  ASSERT_EQ(push(c, id, s.subscription_id, metrics_data(7, 4)), 0);
  text = b.node().render_metrics();
  EXPECT_NE(text.find(R"(node_id="1"} 7)"), std::string::npos) << text;
  EXPECT_EQ(text.find("} 12.5"), std::string::npos) << text;
  // A terminating client is forgotten.
  ASSERT_EQ(push(c, id, s.subscription_id, "", 0, true), 0);
  text = b.node().render_metrics();
  EXPECT_NE(text.find("mosaic_client_telemetry_clients 0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("org.apache.kafka.producer.node.request.latency.avg"), std::string::npos) << text;
}

TEST(telemetry_api, refuses_bad_pushes_with_kip_714_s_errors_and_keeps_nothing_of_them) {
  test_broker b({"telemetry.metrics=[\"*\"]", "telemetry.max.bytes=1024"});
  frame_client c(b.port());
  auto s = subscribe(c);
  EXPECT_EQ(s.requested_metrics, (std::vector<std::string>{""}));  // "*": every metric
  const kafka::uuid id = s.client_instance_id;
  EXPECT_EQ(push(c, id, s.subscription_id + 1, metrics_data(1, 1)), 117);        // UNKNOWN_SUBSCRIPTION_ID
  EXPECT_EQ(push(c, id, s.subscription_id, std::string(2000, 'x')), 118);        // TELEMETRY_TOO_LARGE
  EXPECT_EQ(push(c, id, s.subscription_id, metrics_data(1, 1), 4), 76);          // UNSUPPORTED_COMPRESSION_TYPE
  EXPECT_EQ(push(c, kafka::uuid{}, s.subscription_id, metrics_data(1, 1)), 42);  // INVALID_REQUEST
  // Not protobuf, a truncated message, a field of a wire type that does not exist.
  for (const std::string& bad :
       {std::string("\xff\xff\xff", 3), metrics_data(1, 1).substr(0, 20), std::string("\x0f\x01", 2)})
    EXPECT_EQ(push(c, id, s.subscription_id, bad), 87);  // INVALID_RECORD
  const std::string text = b.node().render_metrics();
  EXPECT_NE(text.find("mosaic_client_telemetry_clients 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mosaic_client_telemetry_pushes_total 0\n"), std::string::npos) << text;
  // The connection and the broker carry on.
  EXPECT_EQ(push(c, id, s.subscription_id, metrics_data(2, 2)), 0);
}

}  // namespace
}  // namespace mosaic
