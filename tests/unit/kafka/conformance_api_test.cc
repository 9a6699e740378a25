// Kafka's rules where a client library hides them, spoken with hand-made
// requests to a whole broker in the process: response size limits (KIP-74)
// for Fetch and ShareFetch, commits from outside a group, authorized
// operations without an authorizer, dynamic broker configs, and share
// acknowledgements that race a leave or a topic's deletion. The real-client
// side of the same rules is tests/compat/conformance_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "kafka_messages.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/share_calls.h"
#include "tests/support/test_broker.h"

namespace mosaic::kafka {
namespace {

using mosaic::testing::call;
using mosaic::testing::frame_client;
using mosaic::testing::test_broker;
using namespace std::chrono_literals;

constexpr int16_t unknown_topic_or_partition = 3, invalid_config = 40, unknown_topic_id = 100;

// One batch of one record of `size` bytes.
std::vector<uint8_t> one_record(size_t size) {
  log::batch_builder b(1700000000000);
  b.add(std::nullopt, std::string(size, 'x'));
  return b.finish();
}

void create(frame_client& c, const std::string& name, int32_t partitions) {
  testing::create_share_topic(c, name, partitions);
}

void produce(frame_client& c, const std::string& topic, int32_t partition, const std::vector<uint8_t>& records) {
  auto r = call<msg::produce_response>(c, 0, 9, testing::produce_request(topic, partition, records));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->responses.at(0).partition_responses.at(0).error_code, 0);
}

TEST(conformance_api, a_fetch_goes_past_max_bytes_only_with_its_first_batch) {
  test_broker b;
  frame_client c(b.port());
  create(c, "wide", 3);
  for (int32_t p = 0; p < 3; ++p) produce(c, "wide", p, one_record(1000));
  msg::fetch_request req;
  req.max_wait_ms = 0;
  req.min_bytes = 1;
  req.max_bytes = 1500;  // one batch and a half
  auto& t = req.topics.emplace_back();
  t.topic = "wide";
  for (int32_t p = 0; p < 3; ++p) {
    auto& fp = t.partitions.emplace_back();
    fp.partition = p;
    fp.fetch_offset = 0;
    fp.partition_max_bytes = 100;  // smaller than a batch: the first still comes whole
  }
  auto r = call<msg::fetch_response>(c, 1, 12, req);
  ASSERT_TRUE(r);
  const auto& parts = r->responses.at(0).partitions;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_GT(parts[0].records.span().size(), 1000u) << "the first partition's first batch, whole";
  EXPECT_TRUE(parts[1].records.span().empty()) << "a second batch would pass max_bytes";
  EXPECT_TRUE(parts[2].records.span().empty());
  for (const auto& p : parts) EXPECT_EQ(p.error_code, 0);
  // With room for two, two partitions answer; the third waits.
  req.max_bytes = 2500;
  for (auto& fp : req.topics[0].partitions) fp.partition_max_bytes = 1 << 20;
  r = call<msg::fetch_response>(c, 1, 12, req);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->responses.at(0).partitions[0].records.span().empty());
  EXPECT_FALSE(r->responses.at(0).partitions[1].records.span().empty());
  EXPECT_TRUE(r->responses.at(0).partitions[2].records.span().empty());
}

TEST(conformance_api, an_admin_commit_needs_no_member_and_partitions_that_exist) {
  test_broker b;
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create(c, "kept", 1);
  msg::offset_commit_request req;
  req.group_id = "admin-set";
  req.generation_id_or_member_epoch = -1;  // AlterConsumerGroupOffsets
  req.member_id = "";
  auto add = [&](const std::string& topic, int32_t partition) {
    if (req.topics.empty() || req.topics.back().name != topic) req.topics.emplace_back().name = topic;
    auto& p = req.topics.back().partitions.emplace_back();
    p.partition_index = partition;
    p.committed_offset = 7;
  };
  add("kept", 0);
  add("kept", 3);
  add("never-made", 0);
  auto r = call<msg::offset_commit_response>(c, 8, 8, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(r->topics.at(0).partitions.at(1).error_code, unknown_topic_or_partition);
  EXPECT_EQ(r->topics.at(1).partitions.at(0).error_code, unknown_topic_or_partition);
  // A consumer's own member id with a negative generation: a simple
  // consumer (assign()), taken by a group with no members.
  req.member_id = "made-by-the-client";
  req.topics.resize(1);
  req.topics[0].partitions.resize(1);
  r = call<msg::offset_commit_response>(c, 8, 8, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topics.at(0).partitions.at(0).error_code, 0);
  // A positive generation from outside any group stays refused.
  req.generation_id_or_member_epoch = 3;
  req.group_id = "no-such-group";
  r = call<msg::offset_commit_response>(c, 8, 8, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topics.at(0).partitions.at(0).error_code, 22);  // ILLEGAL_GENERATION
}

TEST(conformance_api, authorized_operations_are_all_of_them_without_an_authorizer) {
  test_broker b;
  frame_client c(b.port());
  create(c, "ops", 1);
  msg::metadata_request md;
  md.topics.emplace();
  md.topics->emplace_back().name = "ops";
  md.include_topic_authorized_operations = true;
  md.include_cluster_authorized_operations = true;
  auto m10 = call<msg::metadata_response>(c, 3, 10, md);
  ASSERT_TRUE(m10);
  // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
  EXPECT_EQ(m10->topics.at(0).topic_authorized_operations, 0b110111111000);
  // CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
  EXPECT_EQ(m10->cluster_authorized_operations, 0b1111110100000);
  md.include_topic_authorized_operations = false;
  auto plain = call<msg::metadata_response>(c, 3, 12, md);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->topics.at(0).topic_authorized_operations, INT32_MIN) << "not asked for";
  msg::describe_cluster_request dc;
  dc.include_cluster_authorized_operations = true;
  auto cluster = call<msg::describe_cluster_response>(c, 60, 1, dc);
  ASSERT_TRUE(cluster);
  EXPECT_EQ(__builtin_popcount(static_cast<uint32_t>(cluster->cluster_authorized_operations)), 7);
  msg::describe_groups_request dg;
  dg.groups = {"any"};
  dg.include_authorized_operations = true;
  auto groups = call<msg::describe_groups_response>(c, 15, 5, dg);
  ASSERT_TRUE(groups);
  EXPECT_EQ(groups->groups.at(0).authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));  // READ DELETE DESCRIBE
}

// IncrementalAlterConfigs of a BROKER resource: `name` "" for every broker.
int16_t alter_broker(frame_client& c, const std::string& name, const std::string& key,
                     const std::optional<std::string>& value) {
  msg::incremental_alter_configs_request req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 4;
  r.resource_name = name;
  auto& cfg = r.configs.emplace_back();
  cfg.name = key;
  cfg.config_operation = value ? 0 : 1;
  cfg.value = value;
  auto resp = call<msg::incremental_alter_configs_response>(c, 44, 1, req);
  EXPECT_TRUE(resp);
  return resp ? resp->responses.at(0).error_code : -1;
}

std::map<std::string, std::pair<std::string, int8_t>> describe(frame_client& c, int8_t type, const std::string& name) {
  msg::describe_configs_request req;
  auto& r = req.resources.emplace_back();
  r.resource_type = type;
  r.resource_name = name;
  auto resp = call<msg::describe_configs_response>(c, 32, 4, req);
  std::map<std::string, std::pair<std::string, int8_t>> out;
  if (resp)
    for (const auto& v : resp->results.at(0).configs) out[v.name] = {v.value.value_or(""), v.config_source};
  return out;
}

TEST(conformance_api, dynamic_broker_configs_set_topic_defaults_cluster_wide_and_per_broker) {
  test_broker b({"log.retention.ms=1000000"});
  frame_client c(b.port());
  create(c, "t", 1);
  EXPECT_EQ(describe(c, 4, "1")["log.retention.ms"], (std::pair<std::string, int8_t>{"1000000", 4}));  // STATIC
  ASSERT_EQ(alter_broker(c, "", "log.retention.ms", "2000000"), 0);
  EXPECT_EQ(describe(c, 4, "1")["log.retention.ms"], (std::pair<std::string, int8_t>{"2000000", 3}));  // DYN DEFAULT
  EXPECT_EQ(describe(c, 4, "")["log.retention.ms"].first, "2000000");
  EXPECT_EQ(describe(c, 2, "t")["retention.ms"].first, "2000000") << "a topic without an override follows";
  ASSERT_EQ(alter_broker(c, "1", "log.retention.ms", "3000000"), 0);
  EXPECT_EQ(describe(c, 4, "1")["log.retention.ms"], (std::pair<std::string, int8_t>{"3000000", 2}));  // DYN BROKER
  EXPECT_EQ(describe(c, 2, "t")["retention.ms"].first, "3000000") << "the broker's own value wins";
  ASSERT_EQ(alter_broker(c, "1", "log.retention.ms", std::nullopt), 0);
  EXPECT_EQ(describe(c, 2, "t")["retention.ms"].first, "2000000");
  // Refused, changing nothing: a bad value, a key read at start-up, one
  // Mosaic does not change at run time yet, a broker that does not exist.
  EXPECT_EQ(alter_broker(c, "", "log.retention.ms", "-7"), invalid_config);
  EXPECT_EQ(alter_broker(c, "", "num.partitions", "4"), invalid_config);
  EXPECT_EQ(alter_broker(c, "", "min.insync.replicas", "2"), invalid_config);
  EXPECT_EQ(alter_broker(c, "9", "log.retention.ms", "5"), 42);  // INVALID_REQUEST
  EXPECT_EQ(describe(c, 2, "t")["retention.ms"].first, "2000000");
}

TEST(conformance_api, dynamic_broker_configs_survive_a_restart) {
  mosaic::testing::temp_dir dir;
  {
    test_broker b({}, &dir);
    frame_client c(b.port());
    ASSERT_EQ(alter_broker(c, "", "log.segment.bytes", "123456"), 0);
  }
  test_broker again({}, &dir);
  frame_client c(again.port());
  EXPECT_EQ(describe(c, 4, "1")["log.segment.bytes"], (std::pair<std::string, int8_t>{"123456", 3}));
}

TEST(conformance_api, a_compacted_topic_refuses_a_batch_with_a_keyless_record_and_names_it) {
  test_broker b;
  frame_client c(b.port());
  testing::create_share_topic(c, "compacted", 1, {{"cleanup.policy", "compact"}});
  log::batch_builder batch(1700000000000);
  batch.add("a", "1");
  batch.add(std::nullopt, "no key");
  batch.add("b", "2");
  batch.add(std::nullopt, "nor this");
  auto records = batch.finish();
  auto r = call<msg::produce_response>(c, 0, 9, testing::produce_request("compacted", 0, records));
  ASSERT_TRUE(r);
  const auto& p = r->responses.at(0).partition_responses.at(0);
  EXPECT_EQ(p.error_code, 87);  // INVALID_RECORD
  ASSERT_EQ(p.record_errors.size(), 2u);
  EXPECT_EQ(p.record_errors[0].batch_index, 1);
  EXPECT_EQ(p.record_errors[1].batch_index, 3);
  EXPECT_NE(p.error_message->find("Compacted topic cannot accept message without key"), std::string::npos);
  // Nothing of the batch was stored; a batch of keyed records is taken.
  log::batch_builder keyed(1700000000000);
  keyed.add("a", "1");
  auto good = keyed.finish();
  auto ok = call<msg::produce_response>(c, 0, 9, testing::produce_request("compacted", 0, good));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(ok->responses.at(0).partition_responses.at(0).base_offset, 0);
}

// ---- share groups ----

const std::vector<std::string> quick = {"group.share.session.timeout.ms=1000", "group.share.heartbeat.interval.ms=100",
                                        "group.share.min.record.lock.duration.ms=1000"};

using acks = testing::share_acks;

TEST(conformance_api, share_fetch_max_bytes_bounds_what_is_acquired) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = testing::create_share_topic(c, "big");
  ASSERT_EQ(testing::set_group_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  for (int i = 0; i < 3; ++i) produce(c, "big", 0, one_record(1000));
  testing::share_heartbeat(c, "g", "m", 0, std::vector<std::string>{"big"});
  auto none = testing::share_fetch(c, "g", "m", 0, t, {}, 100, 0, /*max_bytes=*/0);
  EXPECT_TRUE(testing::acquired_offsets(none).empty()) << "max_bytes 0: acknowledgements only";
  auto one = testing::share_fetch(c, "g", "m", 1, t, {}, 100, 0, 1500);
  EXPECT_EQ(testing::acquired_offsets(one), (std::set<int64_t>{0})) << "a second 1,000-byte batch would not fit";
  auto whole = testing::share_fetch(c, "g", "m", 2, t, {}, 100, 0, 500);
  EXPECT_EQ(testing::acquired_offsets(whole), (std::set<int64_t>{1})) << "the first batch comes whole (KIP-74)";
}

TEST(conformance_api, acknowledgements_for_a_deleted_topic_are_refused) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = testing::create_share_topic(c, "doomed");
  ASSERT_EQ(testing::set_group_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  testing::produce_values(c, "doomed", 3);
  testing::share_heartbeat(c, "g", "m", 0, std::vector<std::string>{"doomed"});
  ASSERT_EQ(testing::acquired_offsets(testing::share_fetch(c, "g", "m", 0, t)).size(), 3u);
  msg::delete_topics_request del;
  del.topic_names = {"doomed"};
  auto d = call<msg::delete_topics_response>(c, 20, 5, del);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->responses.at(0).error_code, 0);
  auto ack = testing::share_acknowledge(c, "g", "m", 1, t, {{0, 1, {1}}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->responses.at(0).partitions.at(0).error_code, unknown_topic_id);
  auto piggy = testing::share_fetch(c, "g", "m", 2, t, {{2, 2, {1}}});
  EXPECT_EQ(piggy.responses.at(0).partitions.at(0).acknowledge_error_code, unknown_topic_id);
}

TEST(conformance_api, a_leave_sent_before_the_last_acknowledgements_keeps_them) {
  test_broker b;  // the default session timeout (45 s): members here do not heartbeat while the test waits
  frame_client c(b.port());
  const uuid t = testing::create_share_topic(c, "q");
  ASSERT_EQ(testing::set_group_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  testing::produce_values(c, "q", 6);
  testing::share_heartbeat(c, "g", "m1", 0, std::vector<std::string>{"q"});
  ASSERT_EQ(testing::acquired_offsets(testing::share_fetch(c, "g", "m1", 0, t, {}, 3)), (std::set<int64_t>{0, 1, 2}));
  // The closing consumer's leave arrives first, its final acknowledgements
  // right after: they are taken, and the session ends with them.
  testing::share_heartbeat(c, "g", "m1", -1);
  auto fetch_after_leave = testing::share_fetch(c, "g", "m1", 1, t, {}, 3);
  EXPECT_TRUE(testing::acquired_offsets(fetch_after_leave).empty()) << "a member that left acquires nothing";
  auto last = testing::share_acknowledge(c, "g", "m1", -1, t, {{0, 2, {1}}});
  ASSERT_TRUE(last);
  EXPECT_EQ(last->error_code, 0);
  EXPECT_EQ(last->responses.at(0).partitions.at(0).error_code, 0);
  testing::share_heartbeat(c, "g", "m2", 0, std::vector<std::string>{"q"});
  EXPECT_EQ(testing::acquired_offsets(testing::share_fetch(c, "g", "m2", 0, t, {}, 3)), (std::set<int64_t>{3, 4, 5}))
      << "the accepted records do not come again";
  // A member that leaves and never sends its final request: what it holds
  // is released after the grace (5 s), well before its locks (30 s) run out.
  testing::share_heartbeat(c, "g", "m2", -1);
  testing::share_heartbeat(c, "g", "m3", 0, std::vector<std::string>{"q"});
  EXPECT_TRUE(testing::acquired_offsets(testing::share_fetch(c, "g", "m3", 0, t, {}, 3)).empty());
  std::this_thread::sleep_for(5500ms);
  auto back = testing::share_fetch(c, "g", "m3", 1, t, {}, 3);
  EXPECT_EQ(testing::acquired_offsets(back), (std::set<int64_t>{3, 4, 5}));
}

}  // namespace
}  // namespace mosaic::kafka
