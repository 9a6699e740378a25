// Replicated partitions on three real mosaicd processes (each a broker and
// a voter, tests/integration/cluster.h), driven by a real client (kcat on
// librdkafka) and by hand-made requests: acks=all records survive a kill -9
// of their leader, the killed broker comes back into the ISR, the checks
// CreateTopics makes, min.insync.replicas, and bad frames on the
// replication port.
#include <gtest/gtest.h>

#include <algorithm>

#include <string>

#include "kernel/base/bytes.h"
#include "kernel/log/batch_builder.h"
#include "kernel/rpc/frame.h"
#include "tests/integration/cluster.h"

namespace mosaic::testing {
namespace {

// Short timeouts so that a failover takes a couple of seconds.
std::vector<std::string> fast() {
  return {"broker.session.timeout.ms=1500", "replica.lag.time.max.ms=2000", "replica.fetch.wait.max.ms=200"};
}

msg::metadata_response_metadata_response_partition partition_of(cluster& c, int asked, const std::string& topic,
                                                                int32_t partition = 0) {
  auto md = c.metadata(asked);
  if (md)
    for (const auto& t : md->topics)
      if (t.name == topic && static_cast<size_t>(partition) < t.partitions.size())
        return t.partitions[static_cast<size_t>(partition)];
  msg::metadata_response_metadata_response_partition none;
  none.error_code = -2;
  return none;
}

// Produces `values` to partition 0 with `acks` (Produce v11); the answer.
std::optional<msg::produce_response> produce_call(cluster& c, int id, const std::string& topic, int16_t acks,
                                                  const std::vector<std::string>& values, int32_t timeout_ms = 5000) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return std::nullopt;
  log::batch_builder b(1700000000000);
  for (const auto& v : values) b.add(std::nullopt, v);
  auto records = b.finish();
  auto req = produce_request(topic, 0, records, acks);
  req.timeout_ms = timeout_ms;
  auto r = call<msg::produce_response>(fc, 0, 11, req);
  if (!r) return std::nullopt;
  return static_cast<msg::produce_response>(*r);
}

// The same; the partition's error code.
int16_t produce(cluster& c, int id, const std::string& topic, int16_t acks, const std::vector<std::string>& values,
                int32_t timeout_ms = 5000) {
  auto r = produce_call(c, id, topic, acks, values, timeout_ms);
  return r ? r->responses.at(0).partition_responses.at(0).error_code : int16_t{-2};
}

// A CreateTopics request with explicit assignments (one replica list per
// partition; no count or factor, as clients send them) and `configs`.
msg::create_topics_request assigned_topic(const std::string& name, const std::vector<std::vector<int32_t>>& replicas,
                                          const std::vector<std::pair<std::string, std::string>>& configs = {}) {
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = -1;
  t.replication_factor = -1;
  for (size_t p = 0; p < replicas.size(); ++p) {
    auto& a = t.assignments.emplace_back();
    a.partition_index = static_cast<int32_t>(p);
    a.broker_ids = replicas[p];
  }
  for (const auto& [k, v] : configs) {
    auto& cfg = t.configs.emplace_back();
    cfg.name = k;
    cfg.value = v;
  }
  return req;
}

int16_t create_with(cluster& c, int id, msg::create_topics_request req) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return -2;
  req.timeout_ms = 10000;
  auto r = call<msg::create_topics_response>(fc, 19, 7, req);
  return r ? r->topics.at(0).error_code : int16_t{-2};
}

std::string bootstrap(cluster& c, std::initializer_list<int> ids) {
  std::string out;
  for (int id : ids) out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(c.port(id));
  return out;
}

std::string numbers(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += std::to_string(i) + "\n";
  return s;
}

TEST(replication, acknowledged_records_survive_a_kill_9_of_their_leader_and_the_broker_rejoins_the_isr) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = "r3";
  t.num_partitions = 1;
  t.replication_factor = 3;
  auto& cfg = t.configs.emplace_back();
  cfg.name = "min.insync.replicas";
  cfg.value = "2";
  ASSERT_EQ(create_with(c, 1, req), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 2, "r3").isr_nodes.size() == 3; }, 10s));

  // A real client, acks=all and idempotent, with its default retries.
  const std::string all = bootstrap(c, {1, 2, 3});
  auto first = run_command("printf '" + numbers(1, 2000) + "' | timeout 60 kcat -P -b " + all +
                           " -t r3 -X acks=all -X enable.idempotence=true 2>&1");
  ASSERT_EQ(first.code, 0) << first.out;

  const int leader = partition_of(c, 1, "r3").leader_id;
  ASSERT_GE(leader, 1);
  const auto killed_at = clock_type::now();
  c.kill(leader);
  std::vector<int> rest;
  for (int id = 1; id <= 3; ++id)
    if (id != leader) rest.push_back(id);
  const std::string survivors = bootstrap(c, {rest[0], rest[1]});
  auto second = run_command("printf '" + numbers(2001, 4000) + "' | timeout 90 kcat -P -b " + survivors +
                            " -t r3 -X acks=all -X enable.idempotence=true 2>&1");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - killed_at);
  ASSERT_EQ(second.code, 0) << second.out;
  std::printf("kill -9 of the leader to the last of 2,000 acks=all records through the new leader: %lld ms\n",
              static_cast<long long>(took.count()));
  auto after = partition_of(c, rest[0], "r3");
  EXPECT_NE(after.leader_id, leader);
  EXPECT_GT(after.leader_epoch, 0);
  EXPECT_EQ(after.isr_nodes.size(), 2u);
  EXPECT_EQ(after.offline_replicas, std::vector<int32_t>{leader});

  // The operator's view: the partition is under-replicated, the killed
  // broker fenced; produce and consume through the CLI find the leader.
  const std::string cli = std::string(MOSAIC_CLI_PATH) + " -b 127.0.0.1:" + std::to_string(c.port(rest[0]));
  auto under = run_command(cli + " partitions list --under-replicated 2>&1");
  EXPECT_EQ(under.code, 0) << under.out;
  EXPECT_NE(under.out.find("r3 "), std::string::npos) << under.out;
  auto info = run_command(cli + " cluster info 2>&1");
  EXPECT_NE(info.out.find("fenced"), std::string::npos) << info.out;
  auto described = run_command(cli + " topic describe r3 2>&1");
  EXPECT_EQ(described.code, 0) << described.out;
  EXPECT_NE(described.out.find("4000"), std::string::npos) << "the high watermark, from the leader\n" << described.out;

  // Every acknowledged record, once, in order.
  auto consumed = run_command("timeout 60 kcat -C -e -q -b " + survivors + " -t r3 -o beginning -f '%s\\n' 2>&1");
  ASSERT_EQ(consumed.code, 0) << consumed.out;
  EXPECT_EQ(consumed.out, numbers(1, 4000));

  // The killed broker comes back: unfenced, caught up, in the ISR again,
  // and its copy serves a consumer once it leads.
  c.start(leader);
  ASSERT_TRUE(c.ready(leader)) << c.node(leader).err();
  EXPECT_TRUE(eventually([&] { return partition_of(c, rest[0], "r3").isr_nodes.size() == 3; }, 20s))
      << c.node(leader).err();
  EXPECT_NE(c.node(leader).err().find("broker epoch 2"), std::string::npos) << c.node(leader).err();
}

TEST(replication, create_topics_checks_the_replication_factor_and_the_assignment) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  EXPECT_EQ(c.create(1, "too-many", 4), 38);  // INVALID_REPLICATION_FACTOR
  auto assigned = [&](const std::string& name, const std::vector<std::vector<int32_t>>& replicas) {
    return create_with(c, 2, assigned_topic(name, replicas));
  };
  EXPECT_EQ(assigned("unknown-broker", {{1, 9}}), 39);  // INVALID_REPLICA_ASSIGNMENT
  EXPECT_EQ(assigned("twice", {{2, 2}}), 39);
  EXPECT_EQ(assigned("uneven", {{1, 2}, {3}}), 39);
  EXPECT_TRUE(c.topics(1).count("unknown-broker") == 0 && c.topics(1).count("twice") == 0);
  ASSERT_EQ(assigned("placed", {{2, 3}, {3, 1}}), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "placed", 1).isr_nodes.size() == 2; }, 10s));
  EXPECT_EQ(partition_of(c, 1, "placed", 0).replica_nodes, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(partition_of(c, 1, "placed", 1).leader_id, 3);
  // A replication factor of 3: every broker leads one of three partitions.
  ASSERT_EQ(c.create(3, "spread", 3, 3), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "spread", 2).isr_nodes.size() == 3; }, 10s));
  std::set<int32_t> leaders;
  for (int32_t p = 0; p < 3; ++p) leaders.insert(partition_of(c, 1, "spread", p).leader_id);
  EXPECT_EQ(leaders, (std::set<int32_t>{1, 2, 3}));
  // One replica each, spread too: each broker opens the logs placed on it,
  // whoever created the topic.
  ASSERT_EQ(c.create(1, "single", 1, 3), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 3, "single", 2).leader_id > 0; }, 10s));
  std::set<int32_t> placed;
  for (int32_t p = 0; p < 3; ++p) placed.insert(partition_of(c, 1, "single", p).leader_id);
  EXPECT_EQ(placed, (std::set<int32_t>{1, 2, 3}));
  const std::string all = bootstrap(c, {1, 2, 3});
  auto produced = run_command("printf '" + numbers(1, 300) + "' | timeout 60 kcat -P -b " + all + " -t single 2>&1");
  ASSERT_EQ(produced.code, 0) << produced.out;
  auto consumed = run_command("timeout 60 kcat -C -e -q -b " + all + " -t single -o beginning -f '%s\\n' | sort -n");
  EXPECT_EQ(consumed.out, numbers(1, 300));
}

TEST(replication, a_partition_holds_no_folder_until_used_and_a_deleted_topics_logs_go_on_every_broker) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  // Broker 1 creates a topic whose one replica is on broker 2: broker 2
  // knows it, and makes its folder only when a record arrives.
  ASSERT_EQ(create_with(c, 1, assigned_topic("elsewhere", {{2}, {2}})), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 2, "elsewhere", 1).leader_id == 2; }, 10s));
  EXPECT_FALSE(std::filesystem::exists(c.data_dir(2) / "elsewhere-0"));
  int16_t code = 6;
  ASSERT_TRUE(eventually([&] { return (code = produce(c, 2, "elsewhere", 1, {"old"})) != 6; }, 10s));
  ASSERT_EQ(code, 0);
  EXPECT_TRUE(std::filesystem::exists(c.data_dir(2) / "elsewhere-0"));
  EXPECT_FALSE(std::filesystem::exists(c.data_dir(2) / "elsewhere-1")) << "not used yet";

  // Deleted through broker 1: broker 2 removes its log too.
  {
    frame_client fc(c.port(1));
    msg::delete_topics_request del;
    del.topic_names = {"elsewhere"};
    del.timeout_ms = 10000;
    auto d = call<msg::delete_topics_response>(fc, 20, 5, del);
    ASSERT_TRUE(d);
    ASSERT_EQ(d->responses.at(0).error_code, 0);
  }
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(c.data_dir(2) / "elsewhere-0"); }, 10s))
      << c.node(2).err();
  // Made again under the same name, it starts empty.
  ASSERT_EQ(create_with(c, 3, assigned_topic("elsewhere", {{2}})), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 2, "elsewhere").leader_id == 2; }, 10s));
  ASSERT_TRUE(eventually([&] { return (code = produce(c, 2, "elsewhere", 1, {"new"})) != 6; }, 10s));
  ASSERT_EQ(code, 0);
  auto consumed = run_command("timeout 30 kcat -C -e -q -b 127.0.0.1:" + std::to_string(c.port(2)) +
                              " -t elsewhere -o beginning -f '%s\\n' 2>&1");
  EXPECT_EQ(consumed.out, "new\n");
}

TEST(replication, acks_all_waits_for_min_insync_replicas_and_is_refused_below_it) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(create_with(c, 1, assigned_topic("two", {{1, 2}}, {{"min.insync.replicas", "2"}})), 0);
  // Both brokers have the topic in their image, and the leader has taken
  // its replica up (until then it answers NOT_LEADER_OR_FOLLOWER and
  // appends nothing, so the retry cannot store "a b" twice).
  ASSERT_TRUE(eventually([&] { return partition_of(c, 2, "two").isr_nodes.size() == 2; }, 10s));
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "two").isr_nodes.size() == 2; }, 10s));
  int16_t first = 6;
  ASSERT_TRUE(eventually([&] { return (first = produce(c, 1, "two", -1, {"a", "b"})) != 6; }, 10s));
  EXPECT_EQ(first, 0);
  // The follower refuses, and names the leader and where it listens
  // (KIP-951), so the client need not ask Metadata first.
  auto refused = produce_call(c, 2, "two", -1, {"c"});
  ASSERT_TRUE(refused);
  const auto& rp = refused->responses.at(0).partition_responses.at(0);
  EXPECT_EQ(rp.error_code, 6);  // NOT_LEADER_OR_FOLLOWER
  EXPECT_EQ(rp.current_leader.leader_id, 1);
  EXPECT_EQ(rp.current_leader.leader_epoch, partition_of(c, 1, "two").leader_epoch);
  ASSERT_EQ(refused->node_endpoints.size(), 1u);
  EXPECT_EQ(refused->node_endpoints[0].node_id, 1);
  EXPECT_EQ(refused->node_endpoints[0].port, c.port(1));
  // Broker 2 dies (the quorum keeps 1 and 3). Until the ISR shrinks, an
  // acks=all batch is appended and waits for broker 2: the request's own
  // timeout ends the wait with REQUEST_TIMED_OUT, and the batch stays.
  c.kill(2);
  auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(produce(c, 1, "two", -1, {"d"}, 300), 7);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 5s) << "the wait ends at the request's timeout_ms";
  int kept = 1;
  // The ISR shrinks to the leader alone, below min.insync.replicas; once
  // the leader's replica has that from its image, acks=all is refused
  // before appending (NOT_ENOUGH_REPLICAS). A batch that came in before
  // it knew is appended and times out like the first.
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "two").isr_nodes.size() == 1; }, 15s));
  int16_t code = 0;
  for (int tries = 0; code != 19 && tries < 50; ++tries) {
    code = produce(c, 1, "two", -1, {"d"}, 300);
    ASSERT_TRUE(code == 7 || code == 19) << code;
    kept += code == 7;
  }
  ASSERT_EQ(code, 19) << "NOT_ENOUGH_REPLICAS, before appending";
  EXPECT_EQ(produce(c, 1, "two", 1, {"e"}), 0) << "acks=1 is still taken";
  // Below min ISR the high watermark stays (KIP-966): the acks=1 record
  // is not visible yet. Broker 2 back: it catches up, the ISR is whole
  // again, and everything is visible.
  c.start(2);
  ASSERT_TRUE(c.ready(2));
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "two").isr_nodes.size() == 2; }, 20s));
  EXPECT_EQ(produce(c, 1, "two", -1, {"f"}), 0);
  auto consumed = run_command("timeout 30 kcat -C -e -q -b 127.0.0.1:" + std::to_string(c.port(1)) +
                              " -t two -o beginning -f '%s\\n' 2>&1");
  std::string ds;
  for (int i = 0; i < kept; ++i) ds += "d\n";
  EXPECT_EQ(consumed.out, "a\nb\n" + ds + "e\nf\n");
}

std::optional<msg::elect_leaders_response> elect(cluster& c, int id, int8_t type, const std::string& topic,
                                                 int32_t partition) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return std::nullopt;
  msg::elect_leaders_request req;
  req.election_type = type;
  req.topic_partitions.emplace();
  auto& t = req.topic_partitions->emplace_back();
  t.topic = topic;
  t.partitions = {partition};
  auto r = call<msg::elect_leaders_response>(fc, 43, 2, req);
  if (!r) return std::nullopt;
  return static_cast<msg::elect_leaders_response>(*r);
}

int16_t elect_code(cluster& c, int id, int8_t type, const std::string& topic, int32_t partition) {
  auto r = elect(c, id, type, topic, partition);
  if (!r || r->replica_election_results.empty() || r->replica_election_results[0].partition_result.empty()) return -2;
  return r->replica_election_results[0].partition_result[0].error_code;
}

std::optional<msg::describe_topic_partitions_response> describe_partitions(
    cluster& c, int id, std::vector<std::string> topics, int32_t limit,
    std::optional<std::pair<std::string, int32_t>> cursor = std::nullopt) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return std::nullopt;
  msg::describe_topic_partitions_request req;
  for (auto& t : topics) req.topics.emplace_back().name = t;
  req.response_partition_limit = limit;
  if (cursor) {
    req.cursor.emplace();
    req.cursor->topic_name = cursor->first;
    req.cursor->partition_index = cursor->second;
  }
  auto r = call<msg::describe_topic_partitions_response>(fc, 75, 0, req);
  if (!r) return std::nullopt;
  return static_cast<msg::describe_topic_partitions_response>(*r);
}

TEST(replication, leader_elections_on_request_and_describe_topic_partitions) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(create_with(c, 2, assigned_topic("el", {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}, {{"min.insync.replicas", "2"}})),
            0);
  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE(eventually([&] { return partition_of(c, id, "el", 2).isr_nodes.size() == 3; }, 10s));

  // DescribeTopicPartitions: every field, paged one partition at a time.
  auto page = describe_partitions(c, 3, {"el"}, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->topics.size(), 1u);
  ASSERT_EQ(page->topics[0].partitions.size(), 2u);
  const auto& p0 = page->topics[0].partitions[0];
  EXPECT_EQ(p0.leader_id, 1);
  EXPECT_EQ(p0.replica_nodes, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(p0.isr_nodes.size(), 3u);
  EXPECT_EQ(p0.eligible_leader_replicas, std::vector<int32_t>{});
  ASSERT_TRUE(page->next_cursor);
  EXPECT_EQ(page->next_cursor->partition_index, 2);
  auto rest = describe_partitions(c, 3, {"el"}, 2, std::pair{std::string("el"), 2});
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->topics.at(0).partitions.size(), 1u);
  EXPECT_FALSE(rest->next_cursor);
  auto unknown = describe_partitions(c, 3, {"nope"}, 10);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->topics.at(0).error_code, 3);
  // All topics, paged two partitions at a time (each page read from the
  // metadata alone): every partition once, in name order.
  ASSERT_EQ(c.create(1, "pages", 1, 5), 0);
  ASSERT_TRUE(eventually([&] { return c.topics(3).count("pages") == 1; }, 10s));
  std::vector<std::pair<std::string, int32_t>> walked, want;
  std::optional<std::pair<std::string, int32_t>> cursor;
  for (int pages = 0; pages < 200; ++pages) {
    auto pg = describe_partitions(c, 3, {}, 2, cursor);
    ASSERT_TRUE(pg);
    for (const auto& t : pg->topics)
      for (const auto& p : t.partitions) walked.emplace_back(t.name.value_or(""), p.partition_index);
    if (!pg->next_cursor) break;
    cursor = std::pair{pg->next_cursor->topic_name, pg->next_cursor->partition_index};
  }
  auto md = c.metadata(3);
  ASSERT_TRUE(md);
  for (const auto& t : md->topics)
    for (const auto& p : t.partitions) want.emplace_back(*t.name, p.partition_index);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(walked, want);
  EXPECT_GE(want.size(), 8u);

  // The preferred leader needs no election; an unclean one is refused
  // while the partition has a leader; a missing partition is unknown.
  EXPECT_EQ(elect_code(c, 2, 0, "el", 0), 84);  // ELECTION_NOT_NEEDED
  EXPECT_EQ(elect_code(c, 2, 1, "el", 0), 84);
  EXPECT_EQ(elect_code(c, 2, 0, "el", 7), 3);
  EXPECT_EQ(elect_code(c, 2, 0, "missing", 0), 3);

  // Broker 1 dies: 2 leads; the preferred replica is not live.
  c.kill(1);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 2, "el").leader_id == 2; }, 15s));
  EXPECT_EQ(elect_code(c, 2, 0, "el", 0), 80);  // PREFERRED_LEADER_NOT_AVAILABLE
  // Back and in sync: a preferred election returns leadership to it.
  c.start(1);
  ASSERT_TRUE(c.ready(1));
  ASSERT_TRUE(eventually([&] { return partition_of(c, 2, "el").isr_nodes.size() == 3; }, 20s));
  const int32_t before = partition_of(c, 2, "el").leader_epoch;
  EXPECT_EQ(elect_code(c, 3, 0, "el", 0), 0);
  EXPECT_TRUE(eventually([&] { return partition_of(c, 2, "el").leader_id == 1; }, 5s));
  auto now = partition_of(c, 2, "el");
  EXPECT_EQ(now.leader_id, 1);
  EXPECT_GT(now.leader_epoch, before);
  EXPECT_TRUE(eventually([&] { return produce(c, 1, "el", -1, {"after the election"}) == 0; }, 5s));

  // A consumer that still knows the old epoch is told so (and named the
  // leader, KIP-951); one from the future is told the broker does not know
  // that epoch yet.
  auto fetch_code = [&](int32_t epoch) -> std::pair<int16_t, int32_t> {
    frame_client fc(c.port(1));
    msg::fetch_request f;
    f.max_wait_ms = 0;
    f.session_epoch = -1;
    auto& ft = f.topics.emplace_back();
    ft.topic = "el";
    auto& fp = ft.partitions.emplace_back();
    fp.partition = 0;
    fp.current_leader_epoch = epoch;
    auto r = call<msg::fetch_response>(fc, 1, 12, f);
    if (!r) return {-2, -2};
    const auto& got = r->responses.at(0).partitions.at(0);
    return {got.error_code, got.current_leader.leader_id};
  };
  EXPECT_EQ(fetch_code(before), (std::pair<int16_t, int32_t>{74, 1}));  // FENCED_LEADER_EPOCH
  EXPECT_EQ(fetch_code(now.leader_epoch + 5).first, 75);                // UNKNOWN_LEADER_EPOCH
  EXPECT_EQ(fetch_code(now.leader_epoch).first, 0);
}

int16_t reassign(cluster& c, int id, const std::string& topic, std::optional<std::vector<int32_t>> replicas) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return -2;
  msg::alter_partition_reassignments_request req;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.replicas = std::move(replicas);
  auto r = call<msg::alter_partition_reassignments_response>(fc, 45, 0, req);
  if (!r) return -2;
  const auto& answer = r->responses.at(0).partitions.at(0);
  if (answer.error_code != 0)
    std::printf("reassign %s: %s\n", topic.c_str(), answer.error_message.value_or("").c_str());
  return answer.error_code;
}

size_t reassignments_under_way(cluster& c, int id) {
  frame_client fc(c.port(id));
  msg::list_partition_reassignments_request req;
  auto r = call<msg::list_partition_reassignments_response>(fc, 46, 0, req);
  return r ? r->topics.size() : 99;
}

TEST(replication, a_reassignment_copies_the_partition_then_drops_the_old_replica_and_its_leadership) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(create_with(c, 1, assigned_topic("mv", {{1, 2}})), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "mv").isr_nodes.size() == 2; }, 10s));
  const std::string all = bootstrap(c, {1, 2, 3});
  auto produced =
      run_command("printf '" + numbers(1, 3000) + "' | timeout 60 kcat -P -b " + all + " -t mv -X acks=all 2>&1");
  ASSERT_EQ(produced.code, 0) << produced.out;

  // Bad targets change nothing.
  EXPECT_EQ(reassign(c, 2, "mv", std::vector<int32_t>{2, 9}), 39);  // INVALID_REPLICA_ASSIGNMENT
  EXPECT_EQ(reassign(c, 2, "mv", std::vector<int32_t>{3, 3}), 39);
  EXPECT_EQ(reassign(c, 2, "mv", std::nullopt), 85);  // NO_REASSIGNMENT_IN_PROGRESS
  EXPECT_EQ(reassign(c, 2, "nope", std::vector<int32_t>{1}), 3);
  EXPECT_EQ(partition_of(c, 1, "mv").replica_nodes, (std::vector<int32_t>{1, 2}));

  // To [2, 3]: broker 3 copies the partition, joins the ISR, then broker 1,
  // the leader, goes and leadership moves to a replica that stays.
  ASSERT_EQ(reassign(c, 3, "mv", std::vector<int32_t>{2, 3}), 0);
  ASSERT_TRUE(eventually(
      [&] {
        auto p = partition_of(c, 1, "mv");
        return reassignments_under_way(c, 1) == 0 && p.replica_nodes == std::vector<int32_t>{2, 3};
      },
      20s));
  auto p = partition_of(c, 1, "mv");
  EXPECT_TRUE(p.leader_id == 2 || p.leader_id == 3) << p.leader_id;
  EXPECT_EQ(p.isr_nodes.size(), 2u);
  // (The new leader may learn it a moment after broker 1 does.)
  EXPECT_TRUE(eventually([&] { return produce(c, p.leader_id, "mv", -1, {"3001"}) == 0; }, 5s));
  auto consumed = run_command("timeout 60 kcat -C -e -q -b " + all + " -t mv -o beginning -f '%s\\n' 2>&1");
  EXPECT_EQ(consumed.out, numbers(1, 3001));
}

TEST(replication, a_replica_copied_from_a_compacted_leader_keeps_its_offsets_and_can_lead) {
  std::vector<std::string> settings = fast();
  settings.push_back("log.cleaner.backoff.ms=200");
  cluster c(false, settings);
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(create_with(c, 1,
                        assigned_topic("state", {{1, 2}},
                                       {{"cleanup.policy", "compact"},
                                        {"segment.bytes", "65536"},
                                        {"segment.ms", "1000"},
                                        {"min.cleanable.dirty.ratio", "0.01"}})),
            0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "state").isr_nodes.size() == 2; }, 10s));
  // 20,000 updates of 500 keys: "k<n>:<i>".
  std::string updates;
  for (int i = 0; i < 20000; ++i) updates += "k" + std::to_string(i % 500) + ":" + std::to_string(i) + "\n";
  temp_dir scratch;
  scratch.write("updates.txt", updates);
  const std::string all = bootstrap(c, {1, 2, 3});
  auto produced = run_command("timeout 60 kcat -P -b " + all + " -t state -K: -X acks=all -l " +
                              (scratch / "updates.txt").string() + " 2>&1");
  ASSERT_EQ(produced.code, 0) << produced.out;
  auto read = [&] {
    return run_command("timeout 60 kcat -C -e -q -b " + all + " -t state -o beginning -f '%o %k %s\\n' 2>&1").out;
  };
  std::string want;
  for (int i = 19500; i < 20000; ++i)
    want += std::to_string(i) + " k" + std::to_string(i % 500) + " " + std::to_string(i) + "\n";
  ASSERT_TRUE(eventually([&] { return read() == want; }, 60s)) << "the leader compacts: " << read().size();
  // Broker 3 takes the partition alone: it copies the compacted leader's
  // batches, gaps and all, then leads them.
  ASSERT_EQ(reassign(c, 1, "state", std::vector<int32_t>{3}), 0);
  ASSERT_TRUE(eventually(
      [&] {
        auto p = partition_of(c, 1, "state");
        return reassignments_under_way(c, 1) == 0 && p.replica_nodes == std::vector<int32_t>{3} && p.leader_id == 3;
      },
      30s));
  EXPECT_TRUE(eventually([&] { return read() == want; }, 10s)) << read();
}

TEST(replication, leadership_returns_to_the_preferred_replica_on_its_own) {
  auto settings = fast();
  settings.push_back("leader.imbalance.check.interval.seconds=1");
  settings.push_back("leader.imbalance.per.broker.percentage=0");
  cluster c(false, settings);
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "pref", 3), 0) << c.node(1).err();
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "pref").isr_nodes.size() == 3; }, 10s)) << c.node(1).err();
  const int preferred = partition_of(c, 1, "pref").replica_nodes.at(0);
  c.kill(preferred);
  const int asked = preferred == 1 ? 2 : 1;
  // Another broker leads (a Metadata call that failed under load reads as
  // no leader, which is not one).
  int interim = -1;
  ASSERT_TRUE(eventually(
      [&] {
        interim = partition_of(c, asked, "pref").leader_id;
        return interim >= 1 && interim != preferred;
      },
      15s));
  c.start(preferred);
  ASSERT_TRUE(c.ready(preferred)) << c.node(preferred).err();
  // Back in the ISR, then leading again: nobody asked.
  EXPECT_TRUE(eventually([&] { return partition_of(c, asked, "pref").leader_id == preferred; }, 20s))
      << "leader " << partition_of(c, asked, "pref").leader_id << ", preferred " << preferred << "\n"
      << c.node(asked).err();
  // The controller's balance check moved it; on a loaded machine the
  // interim leader may instead miss its session (1.5 s here) and be fenced,
  // which also hands the partition back, on its own all the same.
  auto said = [&](const std::string& text) {
    for (int id = 1; id <= 3; ++id)
      if (c.node(id).err().find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(eventually(
      [&] {
        return said("preferred leader election") ||
               (interim > 0 && said("fencing broker " + std::to_string(interim) + " "));
      },
      5s));
}

TEST(replication, garbage_and_forged_frames_on_the_replication_port_change_nothing) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "guarded", 3), 0);
  ASSERT_TRUE(eventually([&] { return partition_of(c, 1, "guarded").isr_nodes.size() == 3; }, 10s));
  const int leader = partition_of(c, 1, "guarded").leader_id;
  const std::string log = c.node(leader).err();
  const auto at = log.find("replication port ");
  ASSERT_NE(at, std::string::npos) << log;
  const auto port = static_cast<uint16_t>(std::stoi(log.substr(at + 17)));
  const int other = leader == 1 ? 2 : 1;
  {
    // A frame claiming to come from one broker that names another as the
    // replica, then a fetch with a broker epoch no registration has.
    frame_client fc(port);
    ASSERT_TRUE(fc.connected());
    auto fetch = [&](int32_t from, int32_t replica, int64_t broker_epoch) {
      std::vector<uint8_t> body;
      byte_writer w(body);
      w.str("guarded");
      w.i32(0);
      w.i32(replica);
      w.i64(broker_epoch);
      w.i32(0);   // current leader epoch
      w.i64(0);   // fetch offset
      w.i32(-1);  // last fetched epoch
      w.i32(1 << 20);
      w.i64(1);
      std::vector<uint8_t> frame;
      rpc::write_frame(rpc::frame_header{30, 0, from, leader}, body, frame);
      fc.send_raw(frame);
    };
    fetch(other, 6 - leader - other, 1);
    fetch(other, other, 999);
    fetch(other, other, 1);
    fc.send_raw(std::vector<uint8_t>{0, 0, 0, 5, 1, 2, 3, 4, 5});  // shorter than a frame header
  }
  {
    frame_client fc(port);
    ASSERT_TRUE(fc.connected());
    fc.send_raw(std::vector<uint8_t>{0x7f, 0xff, 0xff, 0xff, 0, 30});  // a 2 GiB frame
  }
  EXPECT_TRUE(c.node(leader).wait_for_log("names replica", 5s)) << c.node(leader).err();
  EXPECT_TRUE(c.node(leader).wait_for_log("closing a connection from another node", 5s)) << c.node(leader).err();
  // Still leading, still replicating: the ISR is whole and acks=all works.
  EXPECT_EQ(produce(c, leader, "guarded", -1, {"x"}), 0);
  EXPECT_EQ(partition_of(c, other, "guarded").isr_nodes.size(), 3u);
  EXPECT_EQ(partition_of(c, other, "guarded").leader_id, leader);
}

}  // namespace
}  // namespace mosaic::testing
