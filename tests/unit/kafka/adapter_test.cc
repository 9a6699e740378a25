// The Kafka adapter behind the real network layer, spoken to by kcat (a real
// librdkafka client) and by hand-made frames for the error paths.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <tuple>

#include "kafka_messages.h"
#include "plugins/protocol_kafka/adapter/kafka_adapter.h"
#include "plugins/protocol_kafka/protocol/registry.h"
#include "plugins/protocol_kafka/protocol/request.h"
#include "tests/support/frame_client.h"
#include "tests/support/shell.h"
#include "tests/support/test_broker.h"

namespace mosaic::kafka {
namespace {

struct broker {
  mosaic::testing::test_broker b{{"auto.create.topics.enable=false"}};
  uint16_t port = b.port();
};

std::string run(const std::string& cmd) { return mosaic::testing::run_command(cmd).out; }

TEST(kafka_adapter, kcat_lists_the_broker) {
  broker b;
  const std::string port = std::to_string(b.port);
  const std::string out = run("timeout 20 kcat -L -b 127.0.0.1:" + port + " -m 10");
  EXPECT_NE(out.find("1 brokers:"), std::string::npos) << out;
  EXPECT_NE(out.find("broker 1 at 127.0.0.1:" + port + " (controller)"), std::string::npos) << out;
  EXPECT_NE(out.find("0 topics:"), std::string::npos) << out;
}

using raw_client = mosaic::testing::frame_client;

std::vector<uint8_t> request(int16_t key, int16_t version, int16_t header_version, const auto& body, int16_t body_v) {
  std::vector<uint8_t> out;
  writer w(out);
  write_request_header(w, key, version, header_version, 42, "test");
  body.encode(w, body_v);
  return out;
}

TEST(kafka_adapter, api_versions_advertises_only_what_is_implemented) {
  broker b;
  raw_client c(b.port);
  msg::api_versions_request req;
  req.client_software_name = "test";
  req.client_software_version = "1";
  c.send(request(18, 3, 2, req, 3));
  auto resp = c.receive();
  ASSERT_TRUE(resp);
  reader r(*resp);
  msg::response_header h;
  h.decode(r, 0);  // ApiVersions answers with header v0 even when flexible
  EXPECT_EQ(h.correlation_id, 42);
  msg::api_versions_response body;
  body.decode(r, 3);
  EXPECT_EQ(body.error_code, 0);
  // All the table but the telemetry APIs (71, 72): this broker asks clients
  // for no metrics (telemetry_api_test has them advertised).
  ASSERT_EQ(body.api_keys.size(), supported_apis().size() - 2);
  for (const auto& k : body.api_keys) {
    EXPECT_NE(k.api_key, 71);
    EXPECT_NE(k.api_key, 72);
    auto a = std::find_if(supported_apis().begin(), supported_apis().end(),
                          [&](const api_range& s) { return s.api_key == k.api_key; });
    ASSERT_NE(a, supported_apis().end()) << k.api_key;
    EXPECT_EQ(k.min_version, a->min_version);
    EXPECT_EQ(k.max_version, a->max_version);
  }
}

TEST(kafka_adapter, advertised_ranges_match_the_schemas) {
  for (const auto& a : supported_apis()) {
    bool found = false;
    for (const auto& m : msg::all_messages()) {
      if (m.api_key != a.api_key || std::string(m.type) != "request") continue;
      found = true;
      EXPECT_GE(a.min_version, m.min_version) << m.name;
      EXPECT_LE(a.max_version, m.max_version) << m.name;
      EXPECT_EQ(a.first_flexible, m.first_flexible) << m.name;
    }
    EXPECT_TRUE(found) << a.api_key;
  }
}

// The adapter README's API table ("| Name (key) | min-max | notes |") says
// what ApiVersions advertises: the same keys with the same ranges.
TEST(kafka_adapter, the_readmes_api_table_is_what_api_versions_advertises) {
  std::ifstream in(MOSAIC_SOURCE_DIR "/plugins/protocol_kafka/README.md");
  ASSERT_TRUE(in.good());
  std::set<std::tuple<int, int, int>> documented;
  for (std::string line; std::getline(in, line);) {
    // "| Produce (0) | 3-13 | ..." or "| DescribeProducers (61) | 0 | ..."
    const auto open = line.find(" (");
    const auto close = line.find(") | ");
    if (line.rfind("| ", 0) != 0 || open == std::string::npos || close == std::string::npos || close < open) continue;
    const std::string key = line.substr(open + 2, close - open - 2);
    if (key.empty() || key.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto cell_end = line.find(" |", close + 4);
    const std::string range = line.substr(close + 4, cell_end - close - 4);
    const auto dash = range.find('-');
    const int lo = std::stoi(range.substr(0, dash));
    const int hi = dash == std::string::npos ? lo : std::stoi(range.substr(dash + 1));
    EXPECT_TRUE(documented.insert({std::stoi(key), lo, hi}).second) << line;
  }
  std::set<std::tuple<int, int, int>> advertised;
  for (const auto& a : supported_apis()) advertised.insert({a.api_key, a.min_version, a.max_version});
  EXPECT_EQ(documented.size(), supported_apis().size());
  EXPECT_EQ(documented, advertised);
}

TEST(kafka_adapter, an_unsupported_api_versions_version_gets_the_v0_error) {
  broker b;
  raw_client c(b.port);
  msg::api_versions_request req;
  c.send(request(18, 99, 2, req, 4));
  auto resp = c.receive();
  ASSERT_TRUE(resp);
  reader r(*resp);
  msg::response_header h;
  h.decode(r, 0);
  msg::api_versions_response body;
  body.decode(r, 0);
  EXPECT_EQ(h.correlation_id, 42);
  EXPECT_EQ(body.error_code, 35) << "UNSUPPORTED_VERSION";
  EXPECT_FALSE(body.api_keys.empty());
}

TEST(kafka_adapter, unknown_apis_and_garbage_close_the_connection_and_nothing_else) {
  broker b;
  raw_client unknown(b.port);
  msg::api_versions_request req;
  unknown.send(request(9999, 0, 1, req, 0));
  EXPECT_FALSE(unknown.receive()) << "an API key this broker does not serve closes the connection";
  raw_client garbage(b.port);
  garbage.send(std::vector<uint8_t>{0x00, 0x03, 0x00, 0x0c, 0xff});
  EXPECT_FALSE(garbage.receive()) << "a truncated request closes the connection";
  raw_client good(b.port);
  msg::metadata_request m;
  m.topics.emplace();
  m.topics->emplace_back().name = "orders";
  good.send(request(3, 12, 2, m, 12));
  auto resp = good.receive();
  ASSERT_TRUE(resp);
  reader r(*resp);
  msg::response_header h;
  h.decode(r, 1);
  msg::metadata_response body;
  body.decode(r, 12);
  ASSERT_EQ(body.topics.size(), 1u);
  EXPECT_EQ(body.topics[0].error_code, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(body.cluster_id, "mosaic-test-cluster");
  ASSERT_EQ(body.brokers.size(), 1u);
  EXPECT_EQ(body.brokers[0].port, b.port);
}

}  // namespace
}  // namespace mosaic::kafka
