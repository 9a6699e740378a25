// The Kafka APIs against a whole broker in the process (real node, real
// files, real sockets), spoken to with hand-made requests: the error paths
// and the protocol rules a client library would hide.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "kafka_messages.h"
#include "kernel/broker/service.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/log_manager.h"
#include "kernel/log/record_batch.h"
#include "kernel/metadata/records.h"
#include "plugins/protocol_kafka/adapter/kafka_adapter.h"
#include "plugins/protocol_kafka/protocol/request.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/test_broker.h"

namespace mosaic::kafka {
namespace {

using mosaic::testing::call;
using mosaic::testing::frame_client;
using mosaic::testing::test_broker;
using namespace std::chrono_literals;

std::vector<uint8_t> batch_of(int n, const std::string& prefix = "v", int64_t ts = 1700000000000) {
  log::batch_builder b(ts);
  for (int i = 0; i < n; ++i) b.add("k" + std::to_string(i), prefix + std::to_string(i), ts + i);
  return b.finish();
}

msg::create_topics_response create(frame_client& c, const std::string& name, int32_t partitions,
                                   std::vector<std::pair<std::string, std::string>> configs = {}, int16_t factor = 1,
                                   bool validate_only = false) {
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = factor;
  for (auto& [k, v] : configs) {
    auto& cfg = t.configs.emplace_back();
    cfg.name = k;
    cfg.value = v;
  }
  req.validate_only = validate_only;
  auto r = call<msg::create_topics_response>(c, 19, 7, req);
  EXPECT_TRUE(r);
  return r ? static_cast<msg::create_topics_response>(*r) : msg::create_topics_response{};
}

msg::produce_response produce(frame_client& c, const std::string& topic, int32_t partition,
                              std::vector<uint8_t> records, int16_t acks = -1, int16_t v = 9) {
  auto r = call<msg::produce_response>(c, 0, v, testing::produce_request(topic, partition, records, acks));
  EXPECT_TRUE(r);
  return r ? static_cast<msg::produce_response>(*r) : msg::produce_response{};
}

msg::fetch_request fetch_req(const std::string& topic, int32_t partition, int64_t offset, int32_t wait_ms = 0) {
  msg::fetch_request req;
  req.max_wait_ms = wait_ms;
  req.min_bytes = 1;
  req.max_bytes = 1 << 20;
  auto& t = req.topics.emplace_back();
  t.topic = topic;
  auto& p = t.partitions.emplace_back();
  p.partition = partition;
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
  return req;
}

// Offsets of the records in a fetch response's partition.
std::vector<int64_t> offsets_in(const msg::fetch_response_partition_data& p) {
  std::vector<int64_t> out;
  log::for_each_batch(p.records.span(), [&](const log::batch_view& b) {
    for (int64_t o = b.base_offset(); o <= b.last_offset(); ++o) out.push_back(o);
    return true;
  });
  return out;
}

TEST(broker_api, produce_then_fetch_returns_the_records_with_their_offsets) {
  test_broker b;
  frame_client c(b.port());
  ASSERT_EQ(create(c, "orders", 2).topics.at(0).error_code, 0);
  auto r1 = produce(c, "orders", 1, batch_of(3));
  ASSERT_EQ(r1.responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(r1.responses[0].partition_responses[0].base_offset, 0);
  auto r2 = produce(c, "orders", 1, batch_of(2));
  EXPECT_EQ(r2.responses[0].partition_responses[0].base_offset, 3);
  for (int16_t v : {4, 11, 12}) {
    auto f = call<msg::fetch_response>(c, 1, v, fetch_req("orders", 1, 0));
    ASSERT_TRUE(f);
    ASSERT_EQ(f->responses.size(), 1u) << v;
    const auto& p = f->responses[0].partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.high_watermark, 5);
    EXPECT_EQ(offsets_in(p), (std::vector<int64_t>{0, 1, 2, 3, 4})) << v;
  }
  // From the middle of a batch: the whole batch comes back (the client skips).
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("orders", 1, 4));
  EXPECT_EQ(offsets_in(f->responses[0].partitions[0]), (std::vector<int64_t>{3, 4}));
}

TEST(broker_api, fetch_by_topic_id_from_v13_and_unknown_ids) {
  test_broker b;
  frame_client c(b.port());
  auto created = create(c, "by-id", 1);
  const uuid id = created.topics.at(0).topic_id;
  EXPECT_NE(id, uuid{});
  produce(c, "by-id", 0, batch_of(2));
  auto req = fetch_req("", 0, 0);
  req.topics[0].topic_id = id;
  auto f = call<msg::fetch_response>(c, 1, 18, req);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->responses.at(0).topic_id, id);
  EXPECT_EQ(offsets_in(f->responses[0].partitions.at(0)), (std::vector<int64_t>{0, 1}));
  req.topics[0].topic_id[0] ^= 0xFF;
  f = call<msg::fetch_response>(c, 1, 16, req);
  EXPECT_EQ(f->responses.at(0).partitions.at(0).error_code, 100) << "UNKNOWN_TOPIC_ID";
}

TEST(broker_api, a_long_poll_is_woken_by_an_append_and_otherwise_waits_its_time) {
  test_broker b;
  frame_client consumer(b.port()), producer(b.port());
  create(producer, "waits", 1);
  auto start = std::chrono::steady_clock::now();
  auto empty = call<msg::fetch_response>(consumer, 1, 12, fetch_req("waits", 0, 0, 300));
  ASSERT_TRUE(empty);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms) << "max.wait.ms is honoured";
  EXPECT_TRUE(offsets_in(empty->responses[0].partitions[0]).empty());

  std::thread later([&] {
    std::this_thread::sleep_for(200ms);
    produce(producer, "waits", 0, batch_of(1));
  });
  start = std::chrono::steady_clock::now();
  auto woken = call<msg::fetch_response>(consumer, 1, 12, fetch_req("waits", 0, 0, 10000));
  const auto waited = std::chrono::steady_clock::now() - start;
  later.join();
  ASSERT_TRUE(woken);
  EXPECT_EQ(offsets_in(woken->responses[0].partitions[0]), (std::vector<int64_t>{0}));
  EXPECT_LT(waited, 5s) << "the append wakes the fetch long before max.wait.ms";
}

TEST(broker_api, fetch_sessions_send_only_what_changed) {
  test_broker b;
  frame_client c(b.port());
  create(c, "s", 2);
  produce(c, "s", 0, batch_of(1));
  auto req = fetch_req("s", 0, 0);
  auto& p1 = req.topics[0].partitions.emplace_back();
  p1.partition = 1;
  p1.partition_max_bytes = 1 << 20;
  req.session_id = 0;
  req.session_epoch = 0;  // a new session
  auto full = call<msg::fetch_response>(c, 1, 12, req);
  ASSERT_TRUE(full);
  ASSERT_NE(full->session_id, 0);
  EXPECT_EQ(full->responses.at(0).partitions.size(), 2u);

  // Epoch 1, nothing named: partition 0 advanced by the client is named;
  // nothing changed, so nothing comes back.
  msg::fetch_request inc;
  inc.session_id = full->session_id;
  inc.session_epoch = 1;
  inc.max_bytes = 1 << 20;
  auto& t = inc.topics.emplace_back();
  t.topic = "s";
  auto& p0 = t.partitions.emplace_back();
  p0.partition = 0;
  p0.fetch_offset = 1;
  p0.partition_max_bytes = 1 << 20;
  auto quiet = call<msg::fetch_response>(c, 1, 12, inc);
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->error_code, 0);
  EXPECT_TRUE(quiet->responses.empty());

  // New data in partition 1 (not named this time): only it comes back.
  produce(c, "s", 1, batch_of(2));
  msg::fetch_request inc2;
  inc2.session_id = full->session_id;
  inc2.session_epoch = 2;
  inc2.max_bytes = 1 << 20;
  auto news = call<msg::fetch_response>(c, 1, 12, inc2);
  ASSERT_TRUE(news);
  ASSERT_EQ(news->responses.size(), 1u);
  ASSERT_EQ(news->responses[0].partitions.size(), 1u);
  EXPECT_EQ(news->responses[0].partitions[0].partition_index, 1);
  EXPECT_EQ(offsets_in(news->responses[0].partitions[0]), (std::vector<int64_t>{0, 1}));

  // A stale epoch and an unknown session are refused.
  auto stale = call<msg::fetch_response>(c, 1, 12, inc2);
  EXPECT_EQ(stale->error_code, 71) << "INVALID_FETCH_SESSION_EPOCH";
  inc2.session_id = full->session_id + 1000;
  auto unknown = call<msg::fetch_response>(c, 1, 12, inc2);
  EXPECT_EQ(unknown->error_code, 70) << "FETCH_SESSION_ID_NOT_FOUND";
}

TEST(broker_api, produce_errors_are_per_partition_and_the_broker_carries_on) {
  test_broker b;
  frame_client c(b.port());
  create(c, "small", 1, {{"max.message.bytes", "200"}});
  EXPECT_EQ(produce(c, "nope", 0, batch_of(1)).responses[0].partition_responses[0].error_code, 3)
      << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(produce(c, "small", 5, batch_of(1)).responses[0].partition_responses[0].error_code, 3);
  EXPECT_EQ(produce(c, "small", 0, batch_of(40)).responses[0].partition_responses[0].error_code, 10)
      << "MESSAGE_TOO_LARGE over the topic's max.message.bytes";
  auto corrupt = batch_of(2);
  corrupt.back() ^= 0x55;  // the CRC no longer matches
  auto r = produce(c, "small", 0, corrupt);
  EXPECT_EQ(r.responses[0].partition_responses[0].error_code, 2) << "CORRUPT_MESSAGE";
  EXPECT_TRUE(r.responses[0].partition_responses[0].error_message.has_value());
  EXPECT_EQ(produce(c, "small", 0, batch_of(1), 2).responses[0].partition_responses[0].error_code, 21)
      << "INVALID_REQUIRED_ACKS";
  // Nothing of the refused appends went in; a good one still does.
  auto ok = produce(c, "small", 0, batch_of(1));
  EXPECT_EQ(ok.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(ok.responses[0].partition_responses[0].base_offset, 0);
}

TEST(broker_api, acks_all_needs_min_insync_replicas) {
  test_broker b;
  frame_client c(b.port());
  create(c, "strict", 1, {{"min.insync.replicas", "2"}});
  EXPECT_EQ(produce(c, "strict", 0, batch_of(1), -1).responses[0].partition_responses[0].error_code, 19)
      << "NOT_ENOUGH_REPLICAS";
  EXPECT_EQ(produce(c, "strict", 0, batch_of(1), 1).responses[0].partition_responses[0].error_code, 0);
}

TEST(broker_api, acks_zero_gets_no_response_and_the_next_request_is_answered) {
  test_broker b;
  frame_client c(b.port());
  create(c, "fire", 1);
  msg::produce_request req;
  req.acks = 0;
  auto& t = req.topic_data.emplace_back();
  t.name = "fire";
  auto records = batch_of(1);
  t.partition_data.emplace_back().records = bytes_ref::of(records);
  std::vector<uint8_t> out;
  writer w(out);
  msg::request_header h;
  h.request_api_key = 0;
  h.request_api_version = 9;
  h.correlation_id = 1;
  h.encode(w, 2);
  req.encode(w, 9);
  c.send(out);
  msg::list_offsets_request lo;
  lo.replica_id = -1;
  auto& lt = lo.topics.emplace_back();
  lt.name = "fire";
  lt.partitions.emplace_back().timestamp = -1;
  auto latest = call<msg::list_offsets_response>(c, 2, 7, lo);
  ASSERT_TRUE(latest) << "the acks=0 request had no response; the next one has its own";
  EXPECT_EQ(latest->topics[0].partitions[0].offset, 1);

  // An acks=0 produce that fails closes the connection (the producer's only
  // way to learn of it), and only that one.
  t.name = "no-such-topic";
  std::vector<uint8_t> bad;
  writer bw(bad);
  h.encode(bw, 2);
  req.encode(bw, 9);
  c.send(bad);
  EXPECT_TRUE(c.closed_by_server());
  frame_client other(b.port());
  EXPECT_TRUE(call<msg::list_offsets_response>(other, 2, 7, lo));
}

TEST(broker_api, list_offsets_earliest_latest_by_timestamp_and_max) {
  test_broker b;
  frame_client c(b.port());
  create(c, "times", 1);
  produce(c, "times", 0, batch_of(3, "a", 1000));  // offsets 0-2, timestamps 1000-1002
  produce(c, "times", 0, batch_of(3, "b", 5000));  // offsets 3-5, timestamps 5000-5002
  produce(c, "times", 0, batch_of(1, "c", 2000));  // offset 6, timestamp 2000
  auto ask = [&](int64_t ts) {
    msg::list_offsets_request req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.name = "times";
    t.partitions.emplace_back().timestamp = ts;
    auto r = call<msg::list_offsets_response>(c, 2, 11, req);
    EXPECT_TRUE(r);
    return r->topics.at(0).partitions.at(0);
  };
  EXPECT_EQ(ask(-2).offset, 0);
  EXPECT_EQ(ask(-1).offset, 7);
  auto at = ask(1001);
  EXPECT_EQ(at.offset, 1);
  EXPECT_EQ(at.timestamp, 1001);
  EXPECT_EQ(ask(4000).offset, 3);
  EXPECT_EQ(ask(9999).offset, -1) << "no record that late";
  EXPECT_EQ(ask(-4).offset, 0) << "earliest local";
  EXPECT_EQ(ask(-5).offset, -1) << "latest tiered: nothing is tiered";
  auto max = ask(-3);
  EXPECT_EQ(max.offset, 5);
  EXPECT_EQ(max.timestamp, 5002);
}

TEST(broker_api, create_topics_checks_names_factors_and_configs) {
  test_broker b;
  frame_client c(b.port());
  EXPECT_EQ(create(c, "bad name!", 1).topics[0].error_code, 17) << "INVALID_TOPIC_EXCEPTION";
  EXPECT_EQ(create(c, "__cluster_metadata", 1).topics[0].error_code, 17);
  EXPECT_EQ(create(c, "rf3", 1, {}, 3).topics[0].error_code, 38) << "INVALID_REPLICATION_FACTOR";
  EXPECT_EQ(create(c, "zero", 0).topics[0].error_code, 37) << "INVALID_PARTITIONS";
  EXPECT_EQ(create(c, "compacted", 1, {{"cleanup.policy", "compact"}}).topics[0].error_code, 0);
  auto policy = create(c, "no-policy", 1, {{"cleanup.policy", "shred"}});
  EXPECT_EQ(policy.topics[0].error_code, 40) << "INVALID_CONFIG";
  EXPECT_NE(policy.topics[0].error_message->find("must be delete, compact or compact,delete"), std::string::npos);
  EXPECT_EQ(create(c, "unknown-key", 1, {{"retention.mss", "1"}}).topics[0].error_code, 40);
  EXPECT_EQ(create(c, "bad-value", 1, {{"retention.ms", "soon"}}).topics[0].error_code, 40);
  auto dry = create(c, "dry", 3, {}, 1, true);
  EXPECT_EQ(dry.topics[0].error_code, 0);
  EXPECT_EQ(dry.topics[0].num_partitions, 3);
  msg::metadata_request all;
  auto md = call<msg::metadata_response>(c, 3, 12, all);
  ASSERT_EQ(md->topics.size(), 1u) << "validate_only created nothing";
  EXPECT_EQ(md->topics[0].name, "compacted");
  auto defaults = create(c, "defaults", -1, {}, -1);
  EXPECT_EQ(defaults.topics[0].error_code, 0);
  EXPECT_EQ(defaults.topics[0].num_partitions, 1) << "num.partitions";
  EXPECT_EQ(create(c, "defaults", 1).topics[0].error_code, 36) << "TOPIC_ALREADY_EXISTS";
}

TEST(broker_api, metadata_auto_creates_when_enabled_and_allowed) {
  test_broker b({"num.partitions=3"});
  frame_client c(b.port());
  msg::metadata_request req;
  req.topics.emplace();
  req.topics->emplace_back().name = "auto";
  req.allow_auto_topic_creation = false;
  auto no = call<msg::metadata_response>(c, 3, 12, req);
  EXPECT_EQ(no->topics.at(0).error_code, 3);
  req.allow_auto_topic_creation = true;
  auto yes = call<msg::metadata_response>(c, 3, 12, req);
  EXPECT_EQ(yes->topics.at(0).error_code, 0);
  EXPECT_EQ(yes->topics[0].partitions.size(), 3u);
  EXPECT_NE(yes->topics[0].topic_id, uuid{});
  req.topics->at(0).name = "bad/name";
  auto bad = call<msg::metadata_response>(c, 3, 12, req);
  EXPECT_EQ(bad->topics.at(0).error_code, 17);
}

TEST(broker_api, configs_describe_alter_and_incremental_alter) {
  test_broker b({"log.retention.ms=1000000"});
  frame_client c(b.port());
  create(c, "cfg", 1, {{"retention.bytes", "12345"}});
  auto describe = [&]() {
    msg::describe_configs_request req;
    auto& r = req.resources.emplace_back();
    r.resource_type = 2;
    r.resource_name = "cfg";
    auto resp = call<msg::describe_configs_response>(c, 32, 4, req);
    std::map<std::string, std::pair<std::string, int8_t>> out;
    for (const auto& v : resp->results.at(0).configs) out[v.name] = {v.value.value_or(""), v.config_source};
    return out;
  };
  auto before = describe();
  EXPECT_EQ(before["retention.bytes"], (std::pair<std::string, int8_t>{"12345", 1}));
  EXPECT_EQ(before["retention.ms"], (std::pair<std::string, int8_t>{"1000000", 5}));

  msg::incremental_alter_configs_request inc;
  auto& r = inc.resources.emplace_back();
  r.resource_type = 2;
  r.resource_name = "cfg";
  r.configs.resize(2);
  r.configs[0].name = "retention.ms";
  r.configs[0].config_operation = 0;  // SET
  r.configs[0].value = "42000";
  r.configs[1].name = "retention.bytes";
  r.configs[1].config_operation = 1;  // DELETE
  auto ir = call<msg::incremental_alter_configs_response>(c, 44, 1, inc);
  EXPECT_EQ(ir->responses.at(0).error_code, 0);
  auto after = describe();
  EXPECT_EQ(after["retention.ms"].first, "42000");
  EXPECT_EQ(after["retention.bytes"].second, 5) << "back to the default";

  r.configs[0].value = "-5";
  ir = call<msg::incremental_alter_configs_response>(c, 44, 1, inc);
  EXPECT_EQ(ir->responses.at(0).error_code, 40);
  EXPECT_EQ(describe()["retention.ms"].first, "42000") << "a refused change changes nothing";

  msg::alter_configs_request whole;
  auto& wr = whole.resources.emplace_back();
  wr.resource_type = 2;
  wr.resource_name = "cfg";
  auto& one = wr.configs.emplace_back();
  one.name = "segment.bytes";
  one.value = "100000";
  auto ar = call<msg::alter_configs_response>(c, 33, 2, whole);
  EXPECT_EQ(ar->responses.at(0).error_code, 0);
  auto replaced = describe();
  EXPECT_EQ(replaced["segment.bytes"].first, "100000");
  EXPECT_EQ(replaced["retention.ms"].second, 5) << "AlterConfigs replaces the whole set";

  wr.resource_name = "missing";
  EXPECT_EQ(call<msg::alter_configs_response>(c, 33, 2, whole)->responses.at(0).error_code, 3);
}

TEST(broker_api, delete_and_create_partitions) {
  test_broker b;
  frame_client c(b.port());
  create(c, "grow", 2);
  msg::create_partitions_request cp;
  auto& t = cp.topics.emplace_back();
  t.name = "grow";
  t.count = 1;
  EXPECT_EQ(call<msg::create_partitions_response>(c, 37, 3, cp)->results.at(0).error_code, 37);
  t.count = 5;
  EXPECT_EQ(call<msg::create_partitions_response>(c, 37, 3, cp)->results.at(0).error_code, 0);
  EXPECT_EQ(produce(c, "grow", 4, batch_of(1)).responses[0].partition_responses[0].error_code, 0);

  msg::delete_topics_request del;
  del.topic_names = {"grow", "never"};
  auto d = call<msg::delete_topics_response>(c, 20, 5, del);
  ASSERT_EQ(d->responses.size(), 2u);
  EXPECT_EQ(d->responses[0].error_code, 0);
  EXPECT_EQ(d->responses[1].error_code, 3);
  EXPECT_EQ(produce(c, "grow", 0, batch_of(1)).responses[0].partition_responses[0].error_code, 3);
  EXPECT_EQ(create(c, "grow", 1).topics[0].error_code, 0) << "the name is free again";
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("grow", 0, 0));
  EXPECT_EQ(f->responses[0].partitions[0].high_watermark, 0) << "a new topic starts empty";
}

TEST(broker_api, topics_and_records_survive_a_restart) {
  mosaic::testing::temp_dir dir;
  uuid id{};
  {
    test_broker b({"log.flush.interval.messages=1"}, &dir);
    frame_client c(b.port());
    id = create(c, "kept", 2, {{"retention.ms", "123456"}}).topics.at(0).topic_id;
    produce(c, "kept", 1, batch_of(4));
  }
  test_broker again({}, &dir);
  frame_client c(again.port());
  msg::metadata_request req;
  req.topics.emplace();
  req.topics->emplace_back().name = "kept";
  auto md = call<msg::metadata_response>(c, 3, 12, req);
  ASSERT_EQ(md->topics.at(0).error_code, 0);
  EXPECT_EQ(md->topics[0].topic_id, id);
  EXPECT_EQ(md->topics[0].partitions.size(), 2u);
  EXPECT_EQ(md->cluster_id, "mosaic-test-cluster");
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("kept", 1, 0));
  EXPECT_EQ(offsets_in(f->responses.at(0).partitions.at(0)), (std::vector<int64_t>{0, 1, 2, 3}));
}

// A partition folder is stamped with its topic's id (partition.metadata).
// One stamped with another id holds a topic of the same name that was
// deleted and made again while this broker was away: its records are not
// the topic's, and it starts empty.
TEST(broker_api, a_folder_left_by_a_deleted_topic_of_the_same_name_is_not_served) {
  mosaic::testing::temp_dir dir;
  {
    test_broker b({"log.flush.interval.messages=1"}, &dir);
    frame_client c(b.port());
    create(c, "same", 1);
    produce(c, "same", 0, batch_of(4));
    create(c, "kept", 1);
    produce(c, "kept", 0, batch_of(2));
  }
  const auto folder = dir.path() / "data" / "same-0";
  const auto stamped = log::log_manager::stamp_of(folder);
  ASSERT_TRUE(stamped.has_value()) << "the folder is stamped";
  {
    std::ofstream out(folder / "partition.metadata", std::ios::trunc);
    out << "version: 0\ntopic_id: an-older-topic\n";
  }
  test_broker again({}, &dir);
  frame_client c(again.port());
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("same", 0, 0));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->responses.at(0).partitions.at(0).high_watermark, 0) << "the older topic's records are not served";
  EXPECT_EQ(log::log_manager::stamp_of(folder), stamped) << "stamped with the topic's own id again";
  auto k = call<msg::fetch_response>(c, 1, 12, fetch_req("kept", 0, 0));
  ASSERT_TRUE(k);
  EXPECT_EQ(offsets_in(k->responses.at(0).partitions.at(0)), (std::vector<int64_t>{0, 1}));
}

TEST(broker_api, a_metadata_partition_log_from_before_raft_is_imported_at_first_start) {
  mosaic::testing::temp_dir dir;
  const metadata::uuid id = metadata::random_uuid();
  {
    // What Mosaic kept before the metadata log was Raft: one record batch
    // per entry in the partition log __cluster_metadata-0.
    log::log_manager_options o;
    o.dirs = {dir.path() / "data"};
    o.background = false;
    auto m = log::log_manager::open(o);
    ASSERT_TRUE(m);
    auto l = (*m)->create(broker::metadata_log_name, 0, log::log_config{});
    ASSERT_TRUE(l);
    auto entry = [&](const std::vector<metadata::record>& records) {
      const auto bytes = metadata::encode(records);
      log::batch_builder b;
      b.add(std::nullopt, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      auto batch = b.finish();
      ASSERT_TRUE((*l)->append(batch, 0).ok());
    };
    entry({metadata::cluster_record{"mosaic-test-cluster"}});
    entry({metadata::topic_record{"old", id}, metadata::partition_record{id, 0, 1, 0, {1}, {1}, {}, {}, 0, {}, {}},
           metadata::partition_record{id, 1, 1, 0, {1}, {1}, {}, {}, 0, {}, {}},
           metadata::config_record{2, "old", "retention.ms", "4242"}});
    entry({metadata::topic_record{"gone", metadata::random_uuid()}});
    entry({metadata::remove_topic_record{}});  // an unknown id: nothing happens
    ASSERT_TRUE((*l)->flush().ok());
    ASSERT_TRUE((*m)->close_all().ok());
  }
  for (int round = 0; round < 2; ++round) {  // imported, then read back from the quorum
    test_broker b({}, &dir);
    frame_client c(b.port());
    msg::metadata_request req;
    req.topics.emplace();
    req.topics->emplace_back().name = "old";
    auto md = call<msg::metadata_response>(c, 3, 12, req);
    ASSERT_EQ(md->topics.at(0).error_code, 0) << "round " << round;
    EXPECT_EQ(md->topics[0].topic_id, id);
    EXPECT_EQ(md->topics[0].partitions.size(), 2u);
    EXPECT_EQ(md->cluster_id, "mosaic-test-cluster");
    EXPECT_EQ(create(c, "gone", 1).topics.at(0).error_code, 36);  // TOPIC_ALREADY_EXISTS: it was imported too
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / broker::quorum_dir_name / "snapshot"));
  }
}

TEST(broker_api, metadata_snapshots_keep_every_topic_across_restarts) {
  mosaic::testing::temp_dir dir;
  {
    test_broker b({"metadata.log.max.record.bytes.between.snapshots=500"}, &dir);
    frame_client c(b.port());
    for (int i = 0; i < 30; ++i) ASSERT_EQ(create(c, "t" + std::to_string(i), 2).topics.at(0).error_code, 0);
    auto* q = b.node().metadata().log().quorum();
    ASSERT_NE(q, nullptr);
    auto state = q->describe();
    // Snapshots were taken, each after as much log as the image held (the
    // log keeps a few entries behind them, and the restart replays the rest).
    EXPECT_GT(state.snap.index, 10);
    EXPECT_GT(state.last_index, state.snap.index);
    EXPECT_EQ(state.voters, (std::vector<int32_t>{1}));
    EXPECT_EQ(state.leader, 1);
  }
  test_broker again({"metadata.log.max.record.bytes.between.snapshots=500"}, &dir);
  frame_client c(again.port());
  msg::metadata_request req;  // all topics
  auto md = call<msg::metadata_response>(c, 3, 12, req);
  std::set<std::string> names;
  for (const auto& t : md->topics) names.insert(*t.name);
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(names.count("t" + std::to_string(i))) << "t" << i;
  EXPECT_EQ(create(c, "t7", 1).topics.at(0).error_code, 36);
}

// Heartbeats read the topics' summaries: one list per metadata version,
// shared, never a copy of every partition per heartbeat.
TEST(broker_api, the_groups_topic_summaries_are_shared_until_the_metadata_changes) {
  test_broker b;
  frame_client c(b.port());
  ASSERT_EQ(create(c, "b", 3).topics.at(0).error_code, 0);
  ASSERT_EQ(create(c, "a", 2).topics.at(0).error_code, 0);
  auto first = b.node().broker_io().summaries();
  EXPECT_EQ(b.node().broker_io().summaries(), first);  // the same list, not a new one
  std::vector<std::pair<std::string, int32_t>> seen;
  for (const auto& t : *first)
    if (!t.internal) seen.emplace_back(t.name, t.partitions);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int32_t>>{{"a", 2}, {"b", 3}}));
  ASSERT_EQ(create(c, "__private", 1).topics.at(0).error_code, 0);
  auto second = b.node().broker_io().summaries();
  EXPECT_NE(second, first);
  EXPECT_EQ(first->size() + 1, second->size());  // the old list is unchanged for whoever holds it
  auto internal = std::find_if(second->begin(), second->end(), [](const auto& t) { return t.name == "__private"; });
  ASSERT_NE(internal, second->end());
  EXPECT_TRUE(internal->internal);
}

TEST(broker_api, compression_type_recompresses_through_the_codec_plugins) {
  test_broker b;
  frame_client c(b.port());
  create(c, "packed", 1, {{"compression.type", "zstd"}});
  create(c, "plain", 1, {{"compression.type", "uncompressed"}});
  const auto original = batch_of(50, "value-that-repeats-value-that-repeats-");
  ASSERT_EQ(produce(c, "packed", 0, original).responses[0].partition_responses[0].error_code, 0);
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("packed", 0, 0));
  const auto& p = f->responses.at(0).partitions.at(0);
  EXPECT_EQ(offsets_in(p).size(), 50u);
  int codec = -1;
  size_t stored = 0;
  log::for_each_batch(p.records.span(), [&](const log::batch_view& v) {
    codec = v.codec();
    stored = v.size();
    EXPECT_TRUE(log::validate_batch(v.bytes, 1 << 20).ok()) << "a valid batch, CRC and all";
    return true;
  });
  EXPECT_EQ(codec, 4) << "stored as zstd";
  EXPECT_LT(stored, original.size() / 2);

  // And back: the zstd batch produced to an uncompressed topic is stored
  // uncompressed, record for record the batch the producer first made.
  std::vector<uint8_t> zstd_batch(p.records.span().begin(), p.records.span().end());
  ASSERT_EQ(produce(c, "plain", 0, zstd_batch).responses[0].partition_responses[0].error_code, 0);
  auto g = call<msg::fetch_response>(c, 1, 12, fetch_req("plain", 0, 0));
  std::vector<uint8_t> back(g->responses[0].partitions[0].records.span().begin(),
                            g->responses[0].partitions[0].records.span().end());
  ASSERT_EQ(back.size(), original.size());
  // Equal from the attributes on (offset and epoch are the broker's).
  EXPECT_TRUE(std::equal(back.begin() + log::batch_layout::crc, back.end(), original.begin() + log::batch_layout::crc));
}

TEST(broker_api, log_append_time_topics_stamp_the_broker_time) {
  test_broker b;
  frame_client c(b.port());
  create(c, "stamped", 1, {{"message.timestamp.type", "LogAppendTime"}});
  const auto before =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto r = produce(c, "stamped", 0, batch_of(3, "v", 1000));
  const auto& rp = r.responses.at(0).partition_responses.at(0);
  ASSERT_EQ(rp.error_code, 0);
  EXPECT_GE(rp.log_append_time_ms, before) << "the response carries the append time";
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("stamped", 0, 0));
  log::for_each_batch(f->responses.at(0).partitions.at(0).records.span(), [&](const log::batch_view& v) {
    EXPECT_TRUE(v.log_append_time());
    EXPECT_EQ(v.max_timestamp(), rp.log_append_time_ms);
    EXPECT_TRUE(log::validate_batch(v.bytes, 1 << 20).ok()) << "CRC recomputed";
    return true;
  });
}

TEST(broker_api, idempotent_produce_a_replayed_request_gets_its_original_offset) {
  test_broker b;
  frame_client c(b.port());
  create(c, "idem", 1);
  msg::init_producer_id_request init;
  init.transaction_timeout_ms = 60000;
  auto id = call<msg::init_producer_id_response>(c, 22, 4, init);
  ASSERT_TRUE(id);
  ASSERT_EQ(id->error_code, 0);
  ASSERT_GE(id->producer_id, 0);
  auto other = call<msg::init_producer_id_response>(c, 22, 4, init);
  EXPECT_NE(other->producer_id, id->producer_id) << "every producer gets its own id";

  auto make = [&](int16_t epoch, int32_t seq) {
    log::batch_builder bb(1700000000000);
    bb.producer(id->producer_id, epoch, seq);
    bb.add("k", "v" + std::to_string(seq));
    bb.add("k", "w" + std::to_string(seq));
    return bb.finish();
  };
  // The same request, byte for byte, sent twice.
  msg::produce_request req;
  req.acks = -1;
  req.timeout_ms = 5000;
  auto& t = req.topic_data.emplace_back();
  t.name = "idem";
  auto first_batch = make(0, 0);
  t.partition_data.emplace_back().records = bytes_ref::of(first_batch);
  auto r1 = call<msg::produce_response>(c, 0, 9, req);
  auto r2 = call<msg::produce_response>(c, 0, 9, req);
  ASSERT_EQ(r1->responses.at(0).partition_responses.at(0).error_code, 0);
  ASSERT_EQ(r2->responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(r2->responses[0].partition_responses[0].base_offset, r1->responses[0].partition_responses[0].base_offset);
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("idem", 0, 0));
  EXPECT_EQ(offsets_in(f->responses.at(0).partitions.at(0)), (std::vector<int64_t>{0, 1})) << "no second copy";

  EXPECT_EQ(produce(c, "idem", 0, make(0, 5)).responses[0].partition_responses[0].error_code, 45)
      << "OUT_OF_ORDER_SEQUENCE_NUMBER";
  EXPECT_EQ(produce(c, "idem", 0, make(0, 2)).responses[0].partition_responses[0].error_code, 0);
  // KIP-360: the producer asks for its next epoch; the old one is fenced.
  init.producer_id = id->producer_id;
  init.producer_epoch = 0;
  auto bumped = call<msg::init_producer_id_response>(c, 22, 4, init);
  EXPECT_EQ(bumped->producer_id, id->producer_id);
  EXPECT_EQ(bumped->producer_epoch, 1);
  EXPECT_EQ(produce(c, "idem", 0, make(1, 0)).responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(produce(c, "idem", 0, make(0, 4)).responses[0].partition_responses[0].error_code, 47)
      << "INVALID_PRODUCER_EPOCH";

  msg::init_producer_id_request txn;
  txn.transactional_id = "tx-1";
  EXPECT_EQ(call<msg::init_producer_id_response>(c, 22, 4, txn)->error_code, 15)
      << "transactions need a coordinator: COORDINATOR_NOT_AVAILABLE";
}

TEST(broker_api, delete_records_describe_producers_and_log_dirs) {
  test_broker b({"log.segment.bytes=1000"});
  frame_client c(b.port());
  create(c, "trim", 1);
  for (int i = 0; i < 10; ++i) produce(c, "trim", 0, batch_of(3));  // 30 records over several segments
  msg::delete_records_request del;
  auto& t = del.topics.emplace_back();
  t.name = "trim";
  t.partitions.emplace_back().offset = 12;
  auto d = call<msg::delete_records_response>(c, 21, 2, del);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(d->topics[0].partitions[0].low_watermark, 12);
  EXPECT_EQ(call<msg::fetch_response>(c, 1, 12, fetch_req("trim", 0, 3))->responses[0].partitions[0].error_code, 1)
      << "OFFSET_OUT_OF_RANGE below the new log start";
  t.partitions[0].offset = 31;
  EXPECT_EQ(call<msg::delete_records_response>(c, 21, 2, del)->topics[0].partitions[0].error_code, 1)
      << "past the high watermark";
  t.partitions[0].offset = -1;
  EXPECT_EQ(call<msg::delete_records_response>(c, 21, 2, del)->topics[0].partitions[0].low_watermark, 30)
      << "-1: up to the high watermark";

  msg::init_producer_id_request init;
  auto id = call<msg::init_producer_id_response>(c, 22, 4, init);
  log::batch_builder bb(1700000000000);
  bb.producer(id->producer_id, 0, 0);
  bb.add("k", "v");
  bb.add("k", "w");
  produce(c, "trim", 0, bb.finish());
  msg::describe_producers_request dp;
  auto& dt = dp.topics.emplace_back();
  dt.name = "trim";
  dt.partition_indexes = {0, 7};
  auto producers = call<msg::describe_producers_response>(c, 61, 0, dp);
  ASSERT_TRUE(producers);
  const auto& p0 = producers->topics.at(0).partitions.at(0);
  ASSERT_EQ(p0.active_producers.size(), 1u);
  EXPECT_EQ(p0.active_producers[0].producer_id, id->producer_id);
  EXPECT_EQ(p0.active_producers[0].last_sequence, 1);
  EXPECT_EQ(producers->topics[0].partitions.at(1).error_code, 3);

  msg::describe_log_dirs_request dl;  // null topics: everything
  auto dirs = call<msg::describe_log_dirs_response>(c, 35, 4, dl);
  ASSERT_TRUE(dirs);
  ASSERT_EQ(dirs->results.size(), 1u);
  EXPECT_GT(dirs->results[0].total_bytes, 0);
  ASSERT_EQ(dirs->results[0].topics.size(), 1u) << "the metadata log is not listed";
  EXPECT_EQ(dirs->results[0].topics[0].name, "trim");
  EXPECT_GT(dirs->results[0].topics[0].partitions.at(0).partition_size, 0);
}

TEST(broker_api, offset_for_leader_epoch_answers_from_the_checkpoint_and_fences_stale_callers) {
  test_broker b;
  frame_client c(b.port());
  create(c, "epochs", 1);
  msg::offset_for_leader_epoch_request req;
  auto& t = req.topics.emplace_back();
  t.topic = "epochs";
  auto& p = t.partitions.emplace_back();
  p.leader_epoch = 0;
  for (int16_t v : {int16_t{2}, int16_t{4}}) {
    auto empty = call<msg::offset_for_leader_epoch_response>(c, 23, v, req);
    ASSERT_TRUE(empty) << v;
    EXPECT_EQ(empty->topics.at(0).partitions.at(0).error_code, 0);
    EXPECT_EQ(empty->topics[0].partitions[0].leader_epoch, -1) << "an empty log has no epochs yet";
    EXPECT_EQ(empty->topics[0].partitions[0].end_offset, -1);
  }
  produce(c, "epochs", 0, batch_of(3));
  produce(c, "epochs", 0, batch_of(2));
  auto r = call<msg::offset_for_leader_epoch_response>(c, 23, 4, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(r->topics[0].partitions[0].leader_epoch, 0);
  EXPECT_EQ(r->topics[0].partitions[0].end_offset, 5) << "the latest epoch ends at the log end";
  p.leader_epoch = 3;
  EXPECT_EQ(call<msg::offset_for_leader_epoch_response>(c, 23, 4, req)->topics[0].partitions[0].end_offset, -1)
      << "an epoch newer than the log's";
  p.leader_epoch = 0;
  p.current_leader_epoch = 1;
  EXPECT_EQ(call<msg::offset_for_leader_epoch_response>(c, 23, 4, req)->topics[0].partitions[0].error_code, 75)
      << "UNKNOWN_LEADER_EPOCH: the caller knows a newer leader than this one";
  p.current_leader_epoch = 0;
  p.partition = 9;
  EXPECT_EQ(call<msg::offset_for_leader_epoch_response>(c, 23, 4, req)->topics[0].partitions[0].error_code, 3);
}

TEST(broker_api, producers_silent_past_producer_id_expiration_ms_are_forgotten) {
  test_broker b({"producer.id.expiration.ms=300"});
  frame_client c(b.port());
  create(c, "idle", 1);
  auto id = call<msg::init_producer_id_response>(c, 22, 4, msg::init_producer_id_request{});
  ASSERT_TRUE(id);
  log::batch_builder bb(1700000000000);
  bb.producer(id->producer_id, 0, 0);
  bb.add("k", "v");
  produce(c, "idle", 0, bb.finish());
  msg::describe_producers_request dp;
  auto& dt = dp.topics.emplace_back();
  dt.name = "idle";
  dt.partition_indexes = {0};
  auto count = [&] {
    return call<msg::describe_producers_response>(c, 61, 0, dp)->topics.at(0).partitions.at(0).active_producers.size();
  };
  EXPECT_EQ(count(), 1u);
  // The log manager's periodic task expires it within a tick (1 s) after
  // the 300 ms.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (count() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count(), 0u);
}

TEST(broker_api, concurrent_producers_to_one_partition_lose_nothing) {
  test_broker b;
  {
    frame_client c(b.port());
    create(c, "busy", 1);
  }
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&] {
      frame_client c(b.port());
      for (int i = 0; i < 100; ++i)
        EXPECT_EQ(produce(c, "busy", 0, batch_of(2), 1).responses.at(0).partition_responses.at(0).error_code, 0);
    });
  for (auto& t : producers) t.join();
  frame_client c(b.port());
  auto f = call<msg::fetch_response>(c, 1, 12, fetch_req("busy", 0, 0));
  const auto& p = f->responses.at(0).partitions.at(0);
  EXPECT_EQ(p.high_watermark, 800) << "the high watermark never moves back";
  std::vector<int64_t> want(800);
  for (int64_t i = 0; i < 800; ++i) want[static_cast<size_t>(i)] = i;
  EXPECT_EQ(offsets_in(p), want);
}

TEST(broker_api, describe_cluster_names_this_node) {
  test_broker b;
  frame_client c(b.port());
  msg::describe_cluster_request req;
  auto r = call<msg::describe_cluster_response>(c, 60, 1, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cluster_id, "mosaic-test-cluster");
  ASSERT_EQ(r->brokers.size(), 1u);
  EXPECT_EQ(r->brokers[0].port, b.port());
}

TEST(broker_api, unsupported_versions_and_oversized_requests_close_only_that_connection) {
  test_broker b({"socket.request.max.bytes=100000"});
  frame_client good(b.port());
  create(good, "t", 1);
  {
    frame_client c(b.port());
    msg::produce_request req;
    std::vector<uint8_t> out;
    writer w(out);
    msg::request_header h;
    h.request_api_key = 0;
    h.request_api_version = 2;  // below Kafka 4's minimum of 3
    h.encode(w, 1);
    c.send(out);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    frame_client c(b.port());
    c.send(std::vector<uint8_t>(200000, 0));
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(produce(good, "t", 0, batch_of(1)).responses.at(0).partition_responses.at(0).error_code, 0);
}

}  // namespace
}  // namespace mosaic::kafka
