// Client quotas on a real mosaicd: set and described with the CLI
// (AlterClientQuotas, DescribeClientQuotas, kept in the metadata log and
// across a restart), Kafka's errors for bad ones; a producer over its byte
// rate gets throttle_time_ms in its answers and is not read from until the
// time has passed (KIP-219), while a client with another id is not slowed;
// librdkafka (mosaic-perf) held near the rate over a longer run.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "kernel/log/batch_builder.h"
#include "tests/integration/sasl_broker.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"

namespace mosaic::testing {
namespace {

namespace msg = kafka::msg;
using clock_type = std::chrono::steady_clock;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One record batch of about `n` bytes: ten records of n/10 bytes each.
std::vector<uint8_t> batch_of(size_t n) {
  log::batch_builder b(1700000000000);
  const std::string value(n / 10, 'q');
  for (int i = 0; i < 10; ++i) b.add(std::nullopt, value);
  return b.finish();
}

msg::produce_request produce_of(const std::string& topic, const std::vector<uint8_t>& batch) {
  msg::produce_request req;
  req.acks = 1;
  req.timeout_ms = 10000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  auto& p = t.partition_data.emplace_back();
  p.index = 0;
  p.records = kafka::bytes_ref::of(batch);
  return req;
}

TEST(quota, a_producer_over_its_rate_is_told_to_wait_and_is_not_read_from_until_then) {
  sasl_broker b;
  const std::string m = cli + " -b " + b.plain_address() + " ";
  ASSERT_EQ(run_command(m + "topic create metered").code, 0);
  auto set = run_command(m + "quota alter --client-id metered-client --add producer_byte_rate=1048576");
  ASSERT_EQ(set.code, 0) << set.out;
  auto described = run_command(m + "quota describe");
  EXPECT_TRUE(has(described.out, "client-id=metered-client")) << described.out;
  EXPECT_TRUE(has(described.out, "producer_byte_rate=1048576")) << described.out;

  const auto one_mib = batch_of(1000 * 1000);
  frame_client c(b.plain_port);
  ASSERT_TRUE(c.connected());
  auto produce = [&](frame_client& fc, const std::string& client_id) {
    send_request(fc, 0, 9, produce_of("metered", one_mib), 1, client_id);
    auto resp = receive_response<msg::produce_response>(fc, 0, 9, 1, 30000);
    EXPECT_TRUE(resp);
    if (!resp) return -1;
    EXPECT_EQ(resp->responses.at(0).partition_responses.at(0).error_code, 0);
    return resp->throttle_time_ms;
  };
  // Ten seconds' worth at 1 MiB/s pass unthrottled (the window's
  // allowance); past it, each answer says how long to wait.
  int32_t throttle = 0;
  int sent = 0;
  while (throttle == 0 && sent < 30) {
    throttle = produce(c, "metered-client");
    ++sent;
  }
  ASSERT_GT(throttle, 0) << "no throttle after " << sent << " MB";
  EXPECT_GE(sent, 10);
  EXPECT_LE(throttle, 11000);
  // The connection is muted: the next request is answered only after the
  // throttle time.
  const auto before = clock_type::now();
  produce(c, "metered-client");
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - before).count();
  EXPECT_GE(waited, throttle - 50) << "throttle " << throttle;
  // Another client id has no quota.
  frame_client other(b.plain_port);
  for (int k = 0; k < 12; ++k) EXPECT_EQ(produce(other, "free-client"), 0);

  // Quotas are metadata: they survive a restart; bad ones are refused.
  b.restart();
  const std::string m2 = cli + " -b " + b.plain_address() + " ";
  EXPECT_TRUE(has(run_command(m2 + "quota describe --client-id metered-client").out, "producer_byte_rate=1048576"));
  for (const auto& [args, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--user alice --add fetch_rate=5", "Unknown quota key 'fetch_rate'"},
           {"--user alice --add producer_byte_rate=-5", "must be a positive number"},
           {"--user alice --add producer_byte_rate=0", "must be a positive number"}}) {
    auto r = run_command(m2 + "quota alter " + args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_TRUE(has(r.out, expected)) << args << ": " << r.out;
  }
  EXPECT_EQ(run_command(m2 + "quota alter --client-id metered-client --delete producer_byte_rate").code, 0);
  EXPECT_FALSE(has(run_command(m2 + "quota describe").out, "metered-client"));
  // A filter of an unknown entity type is refused.
  frame_client d(b.plain_port);
  msg::describe_client_quotas_request bad;
  bad.components.push_back({"ip", 2, std::nullopt, {}});
  auto r = call<msg::describe_client_quotas_response>(d, 48, 1, bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, 42);
}

TEST(quota, a_client_over_its_request_percentage_is_told_to_wait_and_is_not_read_from_until_then) {
  sasl_broker b;
  const std::string m = cli + " -b " + b.plain_address() + " ";
  ASSERT_EQ(run_command(m + "topic create busy -p 8").code, 0);
  // 0.01% of a request thread: a millisecond of its time in ten seconds.
  auto set = run_command(m + "quota alter --client-id busy-client --add request_percentage=0.01");
  ASSERT_EQ(set.code, 0) << set.out;
  EXPECT_TRUE(has(run_command(m + "quota describe").out, "request_percentage=0.01"));

  msg::metadata_request busy;
  busy.topics = std::vector<msg::metadata_request_metadata_request_topic>{};
  busy.topics->emplace_back().name = "busy";
  auto metadata = [&](frame_client& fc, const std::string& client_id) {
    send_request(fc, 3, 12, busy, 1, client_id);
    auto resp = receive_response<msg::metadata_response>(fc, 3, 12, 1, 30000);
    EXPECT_TRUE(resp);
    if (!resp) return -1;
    EXPECT_EQ(resp->topics.at(0).error_code, 0);
    return resp->throttle_time_ms;
  };
  // Metadata requests until the client's share of the thread is over its
  // quota: then its answers carry the wait.
  frame_client c(b.plain_port);
  ASSERT_TRUE(c.connected());
  int32_t throttle = 0;
  int sent = 0;
  while (throttle == 0 && sent < 5000) {
    throttle = metadata(c, "busy-client");
    ++sent;
  }
  ASSERT_GT(throttle, 0) << "no throttle after " << sent << " requests";
  EXPECT_LE(throttle, 11000);
  // Muted: the next request is read only after the wait.
  const auto before = clock_type::now();
  metadata(c, "busy-client");
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - before).count();
  EXPECT_GE(waited, throttle - 50) << "throttle " << throttle << " after " << sent << " requests";
  // Another client id is not slowed.
  frame_client other(b.plain_port);
  for (int k = 0; k < sent + 10; ++k) ASSERT_EQ(metadata(other, "free-client"), 0) << k;
}

}  // namespace
}  // namespace mosaic::testing
