// Hand-made Kafka requests for tests: encode a request at a version, send
// it on a frame_client, and decode the response.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kafka_messages.h"
#include "kernel/groups/group_partition.h"
#include "plugins/protocol_kafka/adapter/kafka_adapter.h"
#include "plugins/protocol_kafka/protocol/request.h"
#include "tests/support/frame_client.h"

namespace mosaic::testing {

inline int16_t first_flexible(int16_t key) {
  for (const auto& a : kafka::supported_apis())
    if (a.api_key == key) return a.first_flexible;
  return 99;
}

// A Produce request for one partition (the records must outlive it).
inline kafka::msg::produce_request produce_request(const std::string& topic, int32_t partition,
                                                   const std::vector<uint8_t>& records, int16_t acks = -1) {
  kafka::msg::produce_request req;
  req.acks = acks;
  req.timeout_ms = 5000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  auto& p = t.partition_data.emplace_back();
  p.index = partition;
  p.records = kafka::bytes_ref::of(records);
  return req;
}

// A decoded response with the bytes its records fields point into (moving
// it keeps them where they are).
template <class Response>
struct reply : Response {
  std::vector<uint8_t> raw;
};

// Sends `req` as API `key` version `v`, without waiting for the answer.
template <class Request>
void send_request(frame_client& c, int16_t key, int16_t v, const Request& req, int32_t correlation = 7,
                  const std::string& client_id = "broker-api-test") {
  using namespace mosaic::kafka;
  const bool flexible = v >= first_flexible(key);
  std::vector<uint8_t> out;
  writer w(out);
  write_request_header(w, key, v, flexible ? 2 : 1, correlation, client_id);
  req.encode(w, v);
  c.send(out);
}

// Reads and decodes the answer to a request sent with send_request.
template <class Response>
std::optional<reply<Response>> receive_response(frame_client& c, int16_t key, int16_t v, int32_t correlation = 7,
                                                int timeout_ms = 5000) {
  using namespace mosaic::kafka;
  const bool flexible = v >= first_flexible(key);
  auto bytes = c.receive(timeout_ms);
  if (!bytes) return std::nullopt;
  std::optional<reply<Response>> resp(std::in_place);
  resp->raw = std::move(*bytes);
  reader r(resp->raw);
  msg::response_header rh;
  rh.decode(r, flexible && key != 18 ? 1 : 0);
  EXPECT_EQ(rh.correlation_id, correlation);
  resp->decode(r, v);
  return resp;
}

// Sends `req` as API `key` version `v` and decodes the response.
template <class Response, class Request>
std::optional<reply<Response>> call(frame_client& c, int16_t key, int16_t v, const Request& req) {
  send_request(c, key, v, req);
  return receive_response<Response>(c, key, v);
}

// A ConsumerGroupHeartbeat (KIP-848); a join (epoch 0) subscribed to
// `topic` if given.
inline kafka::msg::consumer_group_heartbeat_request consumer_heartbeat_request(
    const std::string& group, const std::string& member, int32_t epoch,
    const std::optional<std::string>& topic = std::nullopt) {
  kafka::msg::consumer_group_heartbeat_request req;
  req.group_id = group;
  req.member_id = member;
  req.member_epoch = epoch;
  if (epoch == 0) {
    req.rebalance_timeout_ms = 5000;
    req.topic_partitions.emplace();
  }
  if (topic) req.subscribed_topic_names = std::vector<std::string>{*topic};
  return req;
}

// FindCoordinator for `group`, as every client asks before it sends a
// group request: the first one makes __consumer_offsets. Then, as a client
// retries COORDINATOR_LOAD_IN_PROGRESS, it waits (up to 10 s) until the
// coordinator has loaded the group's partition when it is `c`'s broker.
// Returns the coordinator's node id (-1 on an error).
inline int32_t find_coordinator(frame_client& c, const std::string& group) {
  kafka::msg::find_coordinator_request req;
  req.key = group;
  auto r = call<kafka::msg::find_coordinator_response>(c, 10, 3, req);
  EXPECT_TRUE(r);
  if (!r) return -1;
  EXPECT_EQ(r->error_code, 0) << (r->error_message ? *r->error_message : "");
  if (r->error_code != 0) return -1;
  // A group id for each partition of __consumer_offsets, so that a test
  // may use any group at once.
  kafka::msg::metadata_request md;
  md.topics.emplace().emplace_back().name = "__consumer_offsets";
  auto m = call<kafka::msg::metadata_response>(c, 3, 12, md);
  const auto n = m && !m->topics.empty() ? static_cast<int32_t>(m->topics[0].partitions.size()) : 0;
  std::vector<std::string> probes{group};
  std::vector<bool> covered(static_cast<size_t>(n), false);
  for (int i = 0, left = n; left > 0 && i < 100000; ++i) {
    const std::string id = "load-check-" + std::to_string(i);
    auto p = static_cast<size_t>(groups::partition_for(id, n));
    if (covered[p]) continue;
    covered[p] = true;
    --left;
    probes.push_back(id);
  }
  for (int i = 0; i < 500; ++i) {
    kafka::msg::offset_fetch_request fetch;
    for (const auto& id : probes) fetch.groups.emplace_back().group_id = id;  // no topics: every offset
    auto f = call<kafka::msg::offset_fetch_response>(c, 9, 8, fetch);
    bool loading = false;
    if (f)
      for (const auto& g : f->groups) loading = loading || g.error_code == 14;  // COORDINATOR_LOAD_IN_PROGRESS
    // The share groups of the same partitions (the share manager's load).
    kafka::msg::share_group_describe_request sd;
    sd.group_ids = probes;
    auto d = call<kafka::msg::share_group_describe_response>(c, 77, 1, sd);
    if (d)
      for (const auto& g : d->groups) loading = loading || g.error_code == 14;
    if (!loading) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return r->node_id;
}

}  // namespace mosaic::testing
