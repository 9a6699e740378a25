// The Kafka adapter behind the real network layer, spoken to by kcat (a real
// librdkafka client) and by hand-made frames for the error paths.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "kafka_messages.h"
#include "kernel/net/server.h"
#include "plugins/protocol_kafka/adapter/kafka_adapter.h"
#include "tests/support/frame_client.h"

namespace mosaic::kafka {
namespace {

struct broker {
  std::unique_ptr<net::server> srv;
  uint16_t port = 0;
  broker() {
    auto s = net::server::start({{"PLAINTEXT", "127.0.0.1", 0, make_adapter({1, "mosaic-test-cluster"})}}, {});
    EXPECT_TRUE(s.ok()) << s.error().message();
    srv = std::move(*s);
    port = srv->bound_port("PLAINTEXT");
  }
};

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

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
  msg::request_header h;
  h.request_api_key = key;
  h.request_api_version = version;
  h.correlation_id = 42;
  h.client_id = "test";
  h.encode(w, header_version);
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
  ASSERT_EQ(body.api_keys.size(), supported_apis().size());
  for (const auto& k : body.api_keys) EXPECT_TRUE(k.api_key == 3 || k.api_key == 18) << k.api_key;
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
