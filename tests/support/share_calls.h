// Hand-made Kafka requests for the share group tests (against a broker in
// the process, over a frame_client): topics, records, group configs,
// ShareGroupHeartbeat and ShareFetch.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka_messages.h"
#include "kernel/log/batch_builder.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"

namespace mosaic::testing {

// Creates a topic, with `configs`; returns its id.
inline kafka::uuid create_share_topic(frame_client& c, const std::string& name, int32_t partitions = 1,
                                      const std::vector<std::pair<std::string, std::string>>& configs = {}) {
  kafka::msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  for (const auto& [k, v] : configs) {
    auto& cfg = t.configs.emplace_back();
    cfg.name = k;
    cfg.value = v;
  }
  auto r = call<kafka::msg::create_topics_response>(c, 19, 7, req);
  EXPECT_TRUE(r && r->topics.at(0).error_code == 0);
  return r ? r->topics.at(0).topic_id : kafka::uuid{};
}

// Produces records with values prefix + "0", prefix + "1", ... to one partition.
inline void produce_values(frame_client& c, const std::string& topic, int n, const std::string& prefix = "",
                           int32_t partition = 0) {
  log::batch_builder b(1700000000000);
  for (int i = 0; i < n; ++i) b.add(std::nullopt, prefix + std::to_string(i));
  auto records = b.finish();
  auto r = call<kafka::msg::produce_response>(c, 0, 9, produce_request(topic, partition, records));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->responses.at(0).partition_responses.at(0).error_code, 0);
}

// Sets one config of a resource (2 a topic, 32 a group); returns the
// resource's error code.
inline int16_t set_resource_config(frame_client& c, int8_t type, const std::string& resource, const std::string& name,
                                   const std::string& value) {
  kafka::msg::incremental_alter_configs_request req;
  auto& r = req.resources.emplace_back();
  r.resource_type = type;
  r.resource_name = resource;
  auto& cfg = r.configs.emplace_back();
  cfg.name = name;
  cfg.config_operation = 0;
  cfg.value = value;
  auto resp = call<kafka::msg::incremental_alter_configs_response>(c, 44, 1, req);
  EXPECT_TRUE(resp);
  return resp ? resp->responses.at(0).error_code : -1;
}

// Sets one config of a GROUP resource; returns the resource's error code.
inline int16_t set_group_config(frame_client& c, const std::string& group, const std::string& name,
                                const std::string& value) {
  return set_resource_config(c, 32, group, name, value);
}

inline kafka::msg::share_group_heartbeat_response share_heartbeat(frame_client& c, const std::string& group,
                                                                  const std::string& member, int32_t epoch,
                                                                  std::optional<std::vector<std::string>> topics = {}) {
  kafka::msg::share_group_heartbeat_request req;
  req.group_id = group;
  req.member_id = member;
  req.member_epoch = epoch;
  req.subscribed_topic_names = std::move(topics);
  // As a client does: NOT_COORDINATOR sends it to FindCoordinator (which
  // makes __consumer_offsets at the first ask), COORDINATOR_LOAD_IN_PROGRESS
  // to wait a little.
  bool found = false;
  for (int tries = 0;; ++tries) {
    auto r = call<kafka::msg::share_group_heartbeat_response>(c, 76, 1, req);
    EXPECT_TRUE(r);
    if (!r) return {};
    const int16_t e = r->error_code;
    if ((e != 14 && e != 16) || tries == 500) return *r;
    if (e == 16 && !found) {
      find_coordinator(c, group);
      found = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// One AcknowledgementBatch: a range and its type(s).
struct share_acks {
  int64_t first, last;
  std::vector<int8_t> types;
};

// ShareFetch of partition 0 of `topic`, acknowledgements piggybacked.
inline reply<kafka::msg::share_fetch_response> share_fetch(frame_client& c, const std::string& group,
                                                           const std::string& member, int32_t epoch,
                                                           const kafka::uuid& topic,
                                                           const std::vector<share_acks>& acks = {},
                                                           int32_t max_records = 100, int32_t wait_ms = 0,
                                                           int32_t max_bytes = 1 << 20) {
  kafka::msg::share_fetch_request req;
  req.group_id = group;
  req.member_id = member;
  req.share_session_epoch = epoch;
  req.max_wait_ms = wait_ms;
  req.min_bytes = 1;
  req.max_bytes = max_bytes;
  req.max_records = max_records;
  req.batch_size = max_records;
  auto& t = req.topics.emplace_back();
  t.topic_id = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  for (const auto& a : acks) p.acknowledgement_batches.push_back({a.first, a.last, a.types, {}});
  auto r = call<kafka::msg::share_fetch_response>(c, 78, 2, req);
  EXPECT_TRUE(r);
  return r ? *r : reply<kafka::msg::share_fetch_response>{};
}

// ShareAcknowledge of partition 0 of `topic` (a renewal with `renew`);
// nullopt if no answer came.
inline std::optional<reply<kafka::msg::share_acknowledge_response>> share_acknowledge(
    frame_client& c, const std::string& group, const std::string& member, int32_t epoch, const kafka::uuid& topic,
    const std::vector<share_acks>& acks, bool renew = false) {
  kafka::msg::share_acknowledge_request req;
  req.group_id = group;
  req.member_id = member;
  req.share_session_epoch = epoch;
  req.is_renew_ack = renew;
  auto& t = req.topics.emplace_back();
  t.topic_id = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  for (const auto& a : acks) p.acknowledgement_batches.push_back({a.first, a.last, a.types, {}});
  return call<kafka::msg::share_acknowledge_response>(c, 79, 2, req);
}

// The acquired offsets of a ShareFetch response.
inline std::set<int64_t> acquired_offsets(const kafka::msg::share_fetch_response& r) {
  std::set<int64_t> out;
  for (const auto& t : r.responses)
    for (const auto& p : t.partitions)
      for (const auto& a : p.acquired_records)
        for (int64_t o = a.first_offset; o <= a.last_offset; ++o) out.insert(o);
  return out;
}

}  // namespace mosaic::testing
