// The group APIs against a whole broker in the process, spoken to with
// hand-made requests: the classic rebalance barrier, KIP-848 reconciliation,
// offsets, administration, and every error a client library would hide
// (stale generations and epochs, fenced members, expired sessions, bad
// assignors, malformed plugin answers).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "kafka_messages.h"
#include "kernel/groups/group_log.h"
#include "kernel/groups/group_partition.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/log_manager.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/test_broker.h"

namespace mosaic::kafka {
namespace {

using mosaic::testing::call;
using mosaic::testing::frame_client;
using mosaic::testing::receive_response;
using mosaic::testing::send_request;
using mosaic::testing::test_broker;
using namespace std::chrono_literals;

constexpr int16_t find_coordinator_key = 10, join_key = 11, heartbeat_key = 12, leave_key = 13, sync_key = 14,
                  describe_groups_key = 15, list_groups_key = 16, offset_commit_key = 8, offset_fetch_key = 9,
                  delete_groups_key = 42, offset_delete_key = 47, cg_heartbeat_key = 68, cg_describe_key = 69;

// Short timeouts, so that expiry can be watched in a test.
const std::vector<std::string> quick = {"group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=100",
                                        "group.consumer.session.timeout.ms=600",
                                        "group.consumer.heartbeat.interval.ms=100"};

void create_topic(frame_client& c, const std::string& name, int32_t partitions) {
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  auto r = call<msg::create_topics_response>(c, 19, 7, req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->topics.at(0).error_code, 0);
}

// ---- classic ----

msg::join_group_request join_req(const std::string& group, const std::string& member, int32_t session_ms = 6000,
                                 const std::string& protocol = "range", std::vector<uint8_t> metadata = {1, 2, 3}) {
  msg::join_group_request req;
  req.group_id = group;
  req.session_timeout_ms = session_ms;
  req.rebalance_timeout_ms = 3000;
  req.member_id = member;
  req.protocol_type = "consumer";
  auto& p = req.protocols.emplace_back();
  p.name = protocol;
  static std::vector<std::vector<uint8_t>> keep;  // the request holds a view
  keep.push_back(std::move(metadata));
  p.metadata = bytes_ref::of(keep.back());
  return req;
}

// A ConsumerProtocolSubscription (v1) for `topics`, as a consumer's
// JoinGroup metadata carries it.
std::vector<uint8_t> subscription(const std::vector<std::string>& topics) {
  std::vector<uint8_t> out;
  writer w(out);
  w.integer<int16_t>(1);
  msg::consumer_protocol_subscription sub;
  sub.topics = topics;
  sub.encode(w, 1);
  return out;
}

// Joins a new member the v4+ way (MEMBER_ID_REQUIRED first); returns the
// response to the second JoinGroup.
msg::join_group_response join(frame_client& c, const std::string& group, int32_t session_ms = 6000,
                              std::vector<uint8_t> metadata = {1, 2, 3}) {
  auto first = call<msg::join_group_response>(c, join_key, 9, join_req(group, "", session_ms, "range", metadata));
  EXPECT_TRUE(first);
  if (!first) return {};
  EXPECT_EQ(first->error_code, 79);  // MEMBER_ID_REQUIRED
  auto second = call<msg::join_group_response>(
      c, join_key, 9, join_req(group, first->member_id, session_ms, "range", std::move(metadata)));
  EXPECT_TRUE(second);
  return second ? static_cast<msg::join_group_response>(*second) : msg::join_group_response{};
}

msg::sync_group_response sync(frame_client& c, const std::string& group, int32_t generation, const std::string& member,
                              std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments = {}) {
  msg::sync_group_request req;
  req.group_id = group;
  req.generation_id = generation;
  req.member_id = member;
  req.protocol_type = "consumer";
  req.protocol_name = "range";
  for (auto& [id, bytes] : assignments) {
    auto& a = req.assignments.emplace_back();
    a.member_id = id;
    a.assignment = bytes_ref::of(bytes);
  }
  auto r = call<msg::sync_group_response>(c, sync_key, 5, req);
  EXPECT_TRUE(r);
  msg::sync_group_response out = r ? static_cast<msg::sync_group_response>(*r) : msg::sync_group_response{};
  static std::vector<std::vector<uint8_t>> keep;
  keep.emplace_back(out.assignment.data, out.assignment.data + out.assignment.size);
  out.assignment = bytes_ref::of(keep.back());
  return out;
}

int16_t heartbeat(frame_client& c, const std::string& group, int32_t generation, const std::string& member) {
  msg::heartbeat_request req;
  req.group_id = group;
  req.generation_id = generation;
  req.member_id = member;
  auto r = call<msg::heartbeat_response>(c, heartbeat_key, 4, req);
  EXPECT_TRUE(r);
  return r ? r->error_code : -2;
}

std::vector<int16_t> commit(frame_client& c, const std::string& group, int32_t generation, const std::string& member,
                            const std::string& topic, std::vector<std::pair<int32_t, int64_t>> offsets, int16_t v = 9,
                            std::optional<std::string> metadata = std::nullopt) {
  msg::offset_commit_request req;
  req.group_id = group;
  req.generation_id_or_member_epoch = generation;
  req.member_id = member;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  for (auto [p, o] : offsets) {
    auto& rp = t.partitions.emplace_back();
    rp.partition_index = p;
    rp.committed_offset = o;
    rp.committed_metadata = metadata;
  }
  auto r = call<msg::offset_commit_response>(c, offset_commit_key, v, req);
  EXPECT_TRUE(r);
  std::vector<int16_t> out;
  if (r)
    for (const auto& p : r->topics.at(0).partitions) out.push_back(p.error_code);
  return out;
}

// Committed offsets of partitions 0..n-1 (OffsetFetch v8, one group).
std::vector<int64_t> committed(frame_client& c, const std::string& group, const std::string& topic, int32_t n) {
  msg::offset_fetch_request req;
  auto& g = req.groups.emplace_back();
  g.group_id = group;
  auto& t = g.topics.emplace().emplace_back();
  t.name = topic;
  for (int32_t p = 0; p < n; ++p) t.partition_indexes.push_back(p);
  auto r = call<msg::offset_fetch_response>(c, offset_fetch_key, 8, req);
  EXPECT_TRUE(r);
  std::vector<int64_t> out;
  if (r)
    for (const auto& p : r->groups.at(0).topics.at(0).partitions) out.push_back(p.committed_offset);
  return out;
}

TEST(group_api, find_coordinator_names_this_node_singly_and_batched) {
  test_broker b;
  frame_client c(b.port());
  msg::find_coordinator_request req;
  req.key = "g";
  auto v0 = call<msg::find_coordinator_response>(c, find_coordinator_key, 0, req);
  ASSERT_TRUE(v0);
  EXPECT_EQ(v0->error_code, 0);
  EXPECT_EQ(v0->node_id, 1);
  EXPECT_EQ(v0->port, b.port());
  req.coordinator_keys = {"a", "b"};
  auto v4 = call<msg::find_coordinator_response>(c, find_coordinator_key, 6, req);
  ASSERT_TRUE(v4);
  ASSERT_EQ(v4->coordinators.size(), 2u);
  EXPECT_EQ(v4->coordinators[1].key, "b");
  EXPECT_EQ(v4->coordinators[1].host, "127.0.0.1");
  req.key_type = 1;  // a transaction coordinator: not served, and final (not retriable)
  auto txn = call<msg::find_coordinator_response>(c, find_coordinator_key, 6, req);
  ASSERT_TRUE(txn);
  EXPECT_EQ(txn->coordinators[0].error_code, 53);  // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  EXPECT_NE(txn->coordinators[0].error_message->find("transactions are not available"), std::string::npos);
  req.key_type = 2;  // share-group state: no coordinator of its own yet
  auto share = call<msg::find_coordinator_response>(c, find_coordinator_key, 6, req);
  ASSERT_TRUE(share);
  EXPECT_EQ(share->coordinators[0].error_code, 15);
}

TEST(group_api, the_group_topic_is_made_at_the_first_find_coordinator_and_clients_cannot_touch_it) {
  test_broker b;
  frame_client c(b.port());
  // Before any group: no __consumer_offsets, and no coordinator for a group
  // request sent without asking (NOT_COORDINATOR: the client asks then).
  msg::metadata_request md;
  auto none = call<msg::metadata_response>(c, 3, 12, md);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->topics.empty());
  msg::heartbeat_request hb;
  hb.group_id = "g";
  hb.generation_id = 1;
  hb.member_id = "m";
  auto early = call<msg::heartbeat_response>(c, heartbeat_key, 4, hb);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->error_code, 16);  // NOT_COORDINATOR
  EXPECT_EQ(mosaic::testing::find_coordinator(c, "g"), 1);
  auto all = call<msg::metadata_response>(c, 3, 12, md);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->topics.size(), 1u);
  EXPECT_EQ(all->topics[0].name, "__consumer_offsets");
  EXPECT_TRUE(all->topics[0].is_internal);
  EXPECT_EQ(all->topics[0].partitions.size(), 50u);  // offsets.topic.num.partitions
  // The name stays reserved: not made, deleted, grown or written by clients.
  msg::create_topics_request req;
  auto& t = req.topics.emplace_back();
  t.name = "__consumer_offsets";
  t.num_partitions = 1;
  t.replication_factor = 1;
  auto r = call<msg::create_topics_response>(c, 19, 7, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topics.at(0).error_code, 17);  // INVALID_TOPIC_EXCEPTION: reserved
  msg::delete_topics_request del;
  del.topic_names = {"__consumer_offsets"};
  auto d = call<msg::delete_topics_response>(c, 20, 4, del);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->responses.at(0).error_code, 17);
  msg::create_partitions_request grow;
  auto& gt = grow.topics.emplace_back();
  gt.name = "__consumer_offsets";
  gt.count = 60;
  auto gr = call<msg::create_partitions_response>(c, 37, 3, grow);
  ASSERT_TRUE(gr);
  EXPECT_EQ(gr->results.at(0).error_code, 17);
  log::batch_builder builder;
  builder.add("k", "v");
  const std::vector<uint8_t> records = builder.finish();
  auto pr = call<msg::produce_response>(c, 0, 9, mosaic::testing::produce_request("__consumer_offsets", 0, records));
  ASSERT_TRUE(pr);
  EXPECT_EQ(pr->responses.at(0).partition_responses.at(0).error_code, 17);
}

TEST(group_api, a_group_maps_to_its_partition_as_kafka_maps_it) {
  // Java's String.hashCode, over UTF-16 code units.
  EXPECT_EQ(groups::java_string_hash(""), 0);
  EXPECT_EQ(groups::java_string_hash("hello"), 99162322);
  EXPECT_EQ(groups::java_string_hash("Aa"), groups::java_string_hash("BB"));
  EXPECT_EQ(groups::java_string_hash("\xc3\xa9"), 0xe9);                          // U+00E9: one unit
  EXPECT_EQ(groups::java_string_hash("\xf0\x9f\x98\x80"), 31 * 0xD83D + 0xDE00);  // U+1F600: two surrogates
  EXPECT_EQ(groups::java_string_hash("\xff"), 0xFFFD);  // not UTF-8: U+FFFD, as Java decodes it
  // Kafka's Utils.abs: a negative hash is negated, Integer.MIN_VALUE is 0.
  EXPECT_EQ(groups::java_string_hash("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(groups::partition_for("polygenelubricants", 50), 0);
  EXPECT_EQ(groups::java_string_hash("consumers"), -421004483);
  EXPECT_EQ(groups::partition_for("consumers", 50), 421004483 % 50);
  EXPECT_EQ(groups::partition_for("hello", 50), 99162322 % 50);
}

TEST(group_api, classic_join_sync_heartbeat_and_their_errors) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  auto j = join(c, "g1");
  EXPECT_EQ(j.error_code, 0);
  EXPECT_EQ(j.generation_id, 1);
  EXPECT_EQ(j.leader, j.member_id);
  EXPECT_EQ(j.protocol_name, "range");
  ASSERT_EQ(j.members.size(), 1u);
  std::vector<uint8_t> mine = {9, 9};
  auto s = sync(c, "g1", 1, j.member_id, {{j.member_id, mine}});
  EXPECT_EQ(s.error_code, 0);
  EXPECT_EQ(std::vector<uint8_t>(s.assignment.data, s.assignment.data + s.assignment.size), mine);
  EXPECT_EQ(heartbeat(c, "g1", 1, j.member_id), 0);
  EXPECT_EQ(heartbeat(c, "g1", 0, j.member_id), 22);  // ILLEGAL_GENERATION
  EXPECT_EQ(heartbeat(c, "g1", 1, "nobody"), 25);     // UNKNOWN_MEMBER_ID
  EXPECT_EQ(heartbeat(c, "nogroup", 1, "x"), 25);
  EXPECT_EQ(sync(c, "g1", 2, j.member_id).error_code, 22);

  // A session outside group.{min,max}.session.timeout.ms, another protocol
  // type, a protocol nobody shares, an empty group id.
  auto bad = call<msg::join_group_response>(c, join_key, 9, join_req("g1", "", 50));
  EXPECT_EQ(bad->error_code, 26);  // INVALID_SESSION_TIMEOUT
  auto other = join_req("g1", "");
  other.protocol_type = "connect";
  EXPECT_EQ(call<msg::join_group_response>(c, join_key, 9, other)->error_code, 23);  // INCONSISTENT_GROUP_PROTOCOL
  EXPECT_EQ(call<msg::join_group_response>(c, join_key, 9, join_req("g1", "", 6000, "roundrobin"))->error_code, 23);
  EXPECT_EQ(call<msg::join_group_response>(c, join_key, 9, join_req("", ""))->error_code, 24);  // INVALID_GROUP_ID
  // A known member id the group never gave out.
  EXPECT_EQ(call<msg::join_group_response>(c, join_key, 9, join_req("g1", "made-up"))->error_code, 25);
}

TEST(group_api, classic_rebalance_when_a_member_joins_and_when_one_stops_heartbeating) {
  test_broker b(quick);
  frame_client a(b.port()), bc(b.port());
  mosaic::testing::find_coordinator(a, "g2");  // makes __consumer_offsets, as a client's first ask does
  auto ja = join(a, "g2", 500);
  ASSERT_EQ(ja.generation_id, 1);
  ASSERT_EQ(sync(a, "g2", 1, ja.member_id, {{ja.member_id, {1}}}).error_code, 0);

  // B joins: the group prepares a rebalance, A hears of it by heartbeat and
  // rejoins; both get generation 2, the leader with both members.
  auto first = call<msg::join_group_response>(bc, join_key, 9, join_req("g2", "", 500));
  ASSERT_EQ(first->error_code, 79);
  send_request(bc, join_key, 9, join_req("g2", first->member_id, 500));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(heartbeat(a, "g2", 1, ja.member_id), 27);  // REBALANCE_IN_PROGRESS
  auto ra = call<msg::join_group_response>(a, join_key, 9, join_req("g2", ja.member_id, 500));
  auto rb = receive_response<msg::join_group_response>(bc, join_key, 9);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->generation_id, 2);
  EXPECT_EQ(rb->generation_id, 2);
  EXPECT_EQ(ra->leader, ja.member_id);
  EXPECT_EQ(ra->members.size(), 2u);
  EXPECT_TRUE(rb->members.empty());
  // B's SyncGroup waits for the leader's.
  msg::sync_group_request sb;
  sb.group_id = "g2";
  sb.generation_id = 2;
  sb.member_id = rb->member_id;
  send_request(bc, sync_key, 5, sb);
  ASSERT_EQ(sync(a, "g2", 2, ja.member_id, {{ja.member_id, {1}}, {rb->member_id, {2}}}).error_code, 0);
  auto sbr = receive_response<msg::sync_group_response>(bc, sync_key, 5);
  ASSERT_TRUE(sbr);
  EXPECT_EQ(sbr->error_code, 0);
  EXPECT_EQ(sbr->assignment.size, 1u);

  // A commit from the old generation is refused; the current one is taken.
  create_topic(a, "t2", 2);
  EXPECT_EQ(commit(a, "g2", 1, ja.member_id, "t2", {{0, 5}}), std::vector<int16_t>{22});
  EXPECT_EQ(commit(a, "g2", 2, ja.member_id, "t2", {{0, 5}}), std::vector<int16_t>{0});
  // An "admin" commit (no member, generation -1) into a group with members.
  EXPECT_EQ(commit(a, "g2", -1, "", "t2", {{1, 7}}), std::vector<int16_t>{25});
  EXPECT_EQ(committed(a, "g2", "t2", 2), (std::vector<int64_t>{5, -1}));

  // B goes quiet: after its 500 ms session it is removed, and A's next
  // heartbeat says rebalance; A rejoins alone into generation 3.
  int16_t e = 0;
  for (int i = 0; i < 40 && e != 27; ++i) {
    std::this_thread::sleep_for(50ms);
    e = heartbeat(a, "g2", 2, ja.member_id);
  }
  ASSERT_EQ(e, 27);
  auto alone = call<msg::join_group_response>(a, join_key, 9, join_req("g2", ja.member_id, 500));
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->generation_id, 3);
  EXPECT_EQ(alone->members.size(), 1u);
  EXPECT_EQ(heartbeat(bc, "g2", 2, rb->member_id), 25);  // B is gone
}

TEST(group_api, leave_describe_list_delete_and_offset_delete) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "t3", 2);
  auto j = join(c, "g3", 6000, subscription({"t3"}));
  ASSERT_EQ(sync(c, "g3", 1, j.member_id, {{j.member_id, {1}}}).error_code, 0);
  ASSERT_EQ(commit(c, "g3", 1, j.member_id, "t3", {{0, 3}, {1, 4}}), (std::vector<int16_t>{0, 0}));
  // Offsets metadata over offset.metadata.max.bytes (4096).
  EXPECT_EQ(commit(c, "g3", 1, j.member_id, "t3", {{0, 9}}, 9, std::string(5000, 'x')), std::vector<int16_t>{12});

  msg::describe_groups_request dreq;
  dreq.groups = {"g3", "missing"};
  auto d = call<msg::describe_groups_response>(c, describe_groups_key, 5, dreq);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->groups[0].group_state, "Stable");
  EXPECT_EQ(d->groups[0].protocol_data, "range");
  ASSERT_EQ(d->groups[0].members.size(), 1u);
  EXPECT_EQ(d->groups[0].members[0].client_id, "broker-api-test");
  EXPECT_EQ(d->groups[1].group_state, "Dead");
  EXPECT_EQ(d->groups[1].error_code, 0);  // before v6 a missing group is Dead, not an error
  auto d6 = call<msg::describe_groups_response>(c, describe_groups_key, 6, dreq);
  EXPECT_EQ(d6->groups[1].error_code, 69);  // GROUP_ID_NOT_FOUND

  msg::delete_groups_request del;
  del.groups_names = {"g3", "missing"};
  auto busy = call<msg::delete_groups_response>(c, delete_groups_key, 2, del);
  EXPECT_EQ(busy->results[0].error_code, 68);  // NON_EMPTY_GROUP
  EXPECT_EQ(busy->results[1].error_code, 69);

  // OffsetDelete refuses a topic the members subscribe to.
  msg::offset_delete_request od;
  od.group_id = "g3";
  auto& odt = od.topics.emplace_back();
  odt.name = "t3";
  odt.partitions.emplace_back().partition_index = 1;
  auto refused = call<msg::offset_delete_response>(c, offset_delete_key, 0, od);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->topics.at(0).partitions.at(0).error_code, 86);  // GROUP_SUBSCRIBED_TO_TOPIC
  od.group_id = "missing";
  EXPECT_EQ(call<msg::offset_delete_response>(c, offset_delete_key, 0, od)->error_code, 69);
  od.group_id = "g3";

  msg::leave_group_request leave;
  leave.group_id = "g3";
  auto& who = leave.members.emplace_back();
  who.member_id = j.member_id;
  leave.members.emplace_back().member_id = "stranger";
  auto lr = call<msg::leave_group_response>(c, leave_key, 5, leave);
  ASSERT_TRUE(lr);
  EXPECT_EQ(lr->members[0].error_code, 0);
  EXPECT_EQ(lr->members[1].error_code, 25);

  // Without members, the offsets of the topic can go.
  auto odr = call<msg::offset_delete_response>(c, offset_delete_key, 0, od);
  ASSERT_TRUE(odr);
  EXPECT_EQ(odr->error_code, 0);
  EXPECT_EQ(odr->topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(committed(c, "g3", "t3", 2), (std::vector<int64_t>{3, -1}));

  msg::list_groups_request lreq;
  auto all = call<msg::list_groups_response>(c, list_groups_key, 5, lreq);
  ASSERT_EQ(all->groups.size(), 1u);
  EXPECT_EQ(all->groups[0].group_state, "Empty");
  EXPECT_EQ(all->groups[0].group_type, "classic");
  lreq.types_filter = {"consumer"};
  EXPECT_TRUE(call<msg::list_groups_response>(c, list_groups_key, 5, lreq)->groups.empty());
  lreq.types_filter = {};
  lreq.states_filter = {"stable"};
  EXPECT_TRUE(call<msg::list_groups_response>(c, list_groups_key, 5, lreq)->groups.empty());

  del.groups_names = {"g3"};
  EXPECT_EQ(call<msg::delete_groups_response>(c, delete_groups_key, 2, del)->results[0].error_code, 0);
  EXPECT_EQ(committed(c, "g3", "t3", 2), (std::vector<int64_t>{-1, -1}));
  lreq.states_filter = {};
  EXPECT_TRUE(call<msg::list_groups_response>(c, list_groups_key, 5, lreq)->groups.empty());
}

// ---- KIP-848 ----

// A ConsumerGroupHeartbeat; a join (epoch 0) subscribed to `topic` if given.
msg::consumer_group_heartbeat_request cg_req(const std::string& group, const std::string& member, int32_t epoch,
                                             const std::optional<std::string>& topic = std::nullopt) {
  return mosaic::testing::consumer_heartbeat_request(group, member, epoch, topic);
}

using tp_list = std::vector<msg::consumer_group_heartbeat_request_topic_partitions>;

tp_list as_owned(const std::optional<msg::consumer_group_heartbeat_response_assignment>& a) {
  tp_list out;
  if (!a) return out;
  for (const auto& tp : a->topic_partitions) {
    auto& o = out.emplace_back();
    o.topic_id = tp.topic_id;
    o.partitions = tp.partitions;
  }
  return out;
}

size_t count(const tp_list& l) {
  size_t n = 0;
  for (const auto& tp : l) n += tp.partitions.size();
  return n;
}

std::optional<mosaic::testing::reply<msg::consumer_group_heartbeat_response>> cg(
    frame_client& c, const msg::consumer_group_heartbeat_request& r) {
  return call<msg::consumer_group_heartbeat_response>(c, cg_heartbeat_key, 1, r);
}

TEST(group_api, kip848_members_reconcile_revocation_before_assignment) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "k1", 4);
  auto j1 = cg_req("k", "member-1", 0, "k1");
  auto r1 = cg(c, j1);
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->error_code, 0) << r1->error_message.value_or("");
  EXPECT_EQ(r1->member_id, "member-1");
  const int32_t e1 = r1->member_epoch;
  EXPECT_GT(e1, 0);
  EXPECT_EQ(r1->heartbeat_interval_ms, 100);
  tp_list owned1 = as_owned(r1->assignment);
  EXPECT_EQ(count(owned1), 4u);

  // A second member: it waits for partitions member 1 still holds.
  auto j2 = cg_req("k", "member-2", 0, "k1");
  auto r2 = cg(c, j2);
  ASSERT_EQ(r2->error_code, 0);
  EXPECT_GT(r2->member_epoch, e1);
  EXPECT_EQ(count(as_owned(r2->assignment)), 0u);

  // Member 1 is told to give up two partitions, at its old epoch.
  auto h1 = cg_req("k", "member-1", e1);
  h1.topic_partitions = owned1;
  auto r1b = cg(c, h1);
  ASSERT_EQ(r1b->error_code, 0);
  EXPECT_EQ(r1b->member_epoch, e1);
  owned1 = as_owned(r1b->assignment);
  EXPECT_EQ(count(owned1), 2u);
  // It confirms: the new epoch.
  h1.topic_partitions = owned1;
  auto r1c = cg(c, h1);
  EXPECT_EQ(r1c->member_epoch, r2->member_epoch);

  // Member 2 now gets the two released partitions.
  auto h2 = cg_req("k", "member-2", r2->member_epoch);
  auto r2b = cg(c, h2);
  ASSERT_EQ(r2b->error_code, 0);
  EXPECT_EQ(count(as_owned(r2b->assignment)), 2u);

  // An epoch the member never had is fenced; an unknown member is unknown.
  auto wrong = cg_req("k", "member-2", 99);
  EXPECT_EQ(cg(c, wrong)->error_code, 110);  // FENCED_MEMBER_EPOCH
  EXPECT_EQ(cg(c, cg_req("k", "member-9", 3))->error_code, 25);

  // Commits: the current epoch works; an older one only for partitions held
  // since then (KIP-1251), a newer one never.
  const int32_t e2 = r1c->member_epoch;
  std::vector<std::pair<int32_t, int64_t>> mine;
  for (int32_t p : owned1.at(0).partitions) mine.emplace_back(p, 1);
  EXPECT_EQ(commit(c, "k", e2, "member-1", "k1", mine), std::vector<int16_t>(mine.size(), 0));
  EXPECT_EQ(commit(c, "k", e2 + 1, "member-1", "k1", mine), std::vector<int16_t>(mine.size(), 113));
  EXPECT_EQ(commit(c, "k", e1, "member-1", "k1", mine), std::vector<int16_t>(mine.size(), 0));
  std::vector<std::pair<int32_t, int64_t>> theirs;
  for (int32_t p = 0; p < 4; ++p)
    if (std::find(owned1[0].partitions.begin(), owned1[0].partitions.end(), p) == owned1[0].partitions.end())
      theirs.emplace_back(p, 1);
  EXPECT_EQ(commit(c, "k", e1, "member-1", "k1", theirs), std::vector<int16_t>(theirs.size(), 113));

  // ConsumerGroupDescribe shows both members and their assignments.
  msg::consumer_group_describe_request dreq;
  dreq.group_ids = {"k", "nope"};
  auto d = call<msg::consumer_group_describe_response>(c, cg_describe_key, 1, dreq);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->groups[0].group_state, "Stable");
  EXPECT_EQ(d->groups[0].assignor_name, "uniform");
  ASSERT_EQ(d->groups[0].members.size(), 2u);
  EXPECT_EQ(d->groups[0].members[0].assignment.topic_partitions.at(0).topic_name, "k1");
  EXPECT_EQ(d->groups[1].error_code, 69);

  // Leaving (epoch -1) hands the partitions back to the other member.
  auto bye = cg_req("k", "member-2", -1);
  auto left = cg(c, bye);
  EXPECT_EQ(left->member_epoch, -1);
  h1.member_epoch = r1c->member_epoch;
  h1.topic_partitions = owned1;
  auto back = cg(c, h1);
  EXPECT_EQ(count(as_owned(back->assignment)), 4u);
}

// Long intervals, so that a held heartbeat (a long poll) can be told from
// one answered at its hold time.
const std::vector<std::string> holding = {"group.consumer.session.timeout.ms=30000",
                                          "group.consumer.heartbeat.interval.ms=10000",
                                          "group.consumer.heartbeat.hold.ms=8000"};

using steady = std::chrono::steady_clock;

int64_t ms_since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count();
}

TEST(group_api, kip848_a_settled_members_heartbeat_is_held_until_it_has_partitions_to_give_up) {
  test_broker b(holding);
  frame_client c1(b.port());
  mosaic::testing::find_coordinator(c1, "g");  // makes __consumer_offsets, as a client's first ask does
  frame_client c2(b.port());
  create_topic(c1, "h1", 4);
  auto j1 = cg_req("h", "member-1", 0, "h1");
  auto r1 = cg(c1, j1);  // a join is answered at once
  ASSERT_EQ(r1->error_code, 0);
  EXPECT_EQ(r1->heartbeat_interval_ms, 10000);
  tp_list owned1 = as_owned(r1->assignment);
  ASSERT_EQ(count(owned1), 4u);

  // Member 1 has nothing to learn: its heartbeat waits.
  auto h1 = cg_req("h", "member-1", r1->member_epoch);
  h1.topic_partitions = owned1;
  send_request(c1, cg_heartbeat_key, 1, h1, 21);
  EXPECT_FALSE(c1.receive(500)) << "a heartbeat with nothing new was answered at once";

  // A second member joins: member 1 hears at once that it must give two
  // partitions up, long before its hold time (8 s) is over.
  const auto joined = steady::now();
  auto j2 = cg_req("h", "member-2", 0, "h1");
  auto r2 = cg(c2, j2);
  ASSERT_EQ(r2->error_code, 0);
  auto told = receive_response<msg::consumer_group_heartbeat_response>(c1, cg_heartbeat_key, 1, 21, 7000);
  ASSERT_TRUE(told);
  EXPECT_LT(ms_since(joined), 4000);
  ASSERT_EQ(told->error_code, 0);
  owned1 = as_owned(told->assignment);
  EXPECT_EQ(count(owned1), 2u);
  // A member with partitions to give up comes back soon, not in 10 s.
  EXPECT_LT(told->heartbeat_interval_ms, 10000);

  // It confirms; member 2, waiting for them (its heartbeats are not held),
  // gets the two partitions.
  h1.topic_partitions = owned1;
  send_request(c1, cg_heartbeat_key, 1, h1, 22);
  auto h2 = cg_req("h", "member-2", r2->member_epoch);
  h2.topic_partitions.emplace();
  tp_list owned2;
  int32_t epoch2 = r2->member_epoch;
  for (int i = 0; i < 50 && count(owned2) == 0; ++i) {
    auto r2b = cg(c2, h2);
    ASSERT_TRUE(r2b);
    ASSERT_EQ(r2b->error_code, 0);
    epoch2 = r2b->member_epoch;
    if (r2b->assignment) owned2 = as_owned(r2b->assignment);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(count(owned2), 2u);

  // Member 1's confirmation brought it only a new epoch: held. Another
  // request on its connection releases it, since answers go back in order.
  msg::offset_fetch_request of;
  of.groups.emplace_back().group_id = "h";
  const auto asked = steady::now();
  send_request(c1, offset_fetch_key, 8, of, 23);
  auto confirmed = receive_response<msg::consumer_group_heartbeat_response>(c1, cg_heartbeat_key, 1, 22, 7000);
  ASSERT_TRUE(confirmed);
  EXPECT_EQ(confirmed->error_code, 0);
  EXPECT_EQ(confirmed->member_epoch, r2->member_epoch);
  auto offsets = receive_response<msg::offset_fetch_response>(c1, offset_fetch_key, 8, 23, 7000);
  ASSERT_TRUE(offsets);
  EXPECT_LT(ms_since(asked), 4000);

  // A member that leaves while its heartbeat is held gets that heartbeat
  // answered (UNKNOWN_MEMBER_ID) once it is gone.
  h2.member_epoch = epoch2;
  h2.topic_partitions = owned2;
  send_request(c2, cg_heartbeat_key, 1, h2, 24);
  EXPECT_FALSE(c2.receive(300));
  frame_client c3(b.port());
  EXPECT_EQ(cg(c3, cg_req("h", "member-2", -1))->error_code, 0);
  auto gone = receive_response<msg::consumer_group_heartbeat_response>(c2, cg_heartbeat_key, 1, 24, 7000);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->error_code, 25);
}

TEST(group_api, kip848_partitions_a_held_member_gains_wait_for_the_end_of_its_hold) {
  test_broker b({"group.consumer.session.timeout.ms=30000", "group.consumer.heartbeat.interval.ms=2000"});
  frame_client c1(b.port());
  mosaic::testing::find_coordinator(c1, "g");  // makes __consumer_offsets, as a client's first ask does
  frame_client c2(b.port());
  create_topic(c1, "g1", 2);
  auto j1 = cg_req("g", "member-1", 0, "g1");
  auto r1 = cg(c1, j1);
  ASSERT_EQ(count(as_owned(r1->assignment)), 2u);
  // Member 2 joins; member 1 gives one partition up and confirms.
  auto j2 = cg_req("g", "member-2", 0, "g1");
  auto r2 = cg(c2, j2);
  ASSERT_EQ(r2->error_code, 0);
  auto h1 = cg_req("g", "member-1", r1->member_epoch);
  h1.topic_partitions = as_owned(r1->assignment);
  auto give = cg(c1, h1);  // news: answered at once
  ASSERT_EQ(count(as_owned(give->assignment)), 1u);
  h1.topic_partitions = as_owned(give->assignment);
  h1.member_epoch = give->member_epoch;
  send_request(c1, cg_heartbeat_key, 1, h1, 41);  // the confirmation: held (a new epoch only)
  EXPECT_FALSE(c1.receive(300));

  // Member 2 leaves: member 1 gains its partition, but learns of it when
  // its hold ends (1.8 s, under the 2 s interval), not at once.
  const auto left = steady::now();
  EXPECT_EQ(cg(c2, cg_req("g", "member-2", -1))->error_code, 0);
  EXPECT_FALSE(c1.receive(500)) << "a gain was answered at once";
  auto gained = receive_response<msg::consumer_group_heartbeat_response>(c1, cg_heartbeat_key, 1, 41, 5000);
  ASSERT_TRUE(gained);
  EXPECT_LT(ms_since(left), 2000);
  ASSERT_EQ(gained->error_code, 0);
  EXPECT_EQ(count(as_owned(gained->assignment)), 2u);
}

TEST(group_api, kip848_a_held_heartbeat_is_answered_within_the_interval_the_member_was_told) {
  for (const bool hold : {true, false}) {
    SCOPED_TRACE(hold ? "held" : "group.consumer.heartbeat.hold.ms=0");
    test_broker b({"group.consumer.session.timeout.ms=30000", "group.consumer.heartbeat.interval.ms=2000",
                   std::string("group.consumer.heartbeat.hold.ms=") + (hold ? "8000" : "0")});
    frame_client c(b.port());
    mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
    create_topic(c, "e1", 1);
    auto j = cg_req("e", "member", 0, "e1");
    auto r = cg(c, j);
    ASSERT_EQ(r->error_code, 0);
    auto h = cg_req("e", "member", r->member_epoch);
    h.topic_partitions = as_owned(r->assignment);
    const auto sent = steady::now();
    send_request(c, cg_heartbeat_key, 1, h, 31);
    auto answer = receive_response<msg::consumer_group_heartbeat_response>(c, cg_heartbeat_key, 1, 31, 5000);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->error_code, 0);
    const int64_t waited = ms_since(sent);
    if (hold) {
      // 8 s asked for, but librdkafka gives up on a heartbeat after the
      // interval (2 s): held for 1.8 s.
      EXPECT_GE(waited, 1000);
      EXPECT_LT(waited, 2000);
    } else {
      EXPECT_LT(waited, 1000);  // Kafka's way: at once
    }
  }
}

TEST(group_api, kip848_refuses_bad_requests) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  auto no_sub = cg_req("k", "m", 0);          // joins without a subscription
  EXPECT_EQ(cg(c, no_sub)->error_code, 42);
  auto assignor = cg_req("k", "m", 0, "x");
  assignor.server_assignor = "sticky-nonsense";
  EXPECT_EQ(cg(c, assignor)->error_code, 112);  // UNSUPPORTED_ASSIGNOR
  auto regex = cg_req("k", "m", 0);
  regex.subscribed_topic_regex = "orders-[";
  EXPECT_EQ(cg(c, regex)->error_code, 128);  // INVALID_REGULAR_EXPRESSION
  auto empty_id = cg_req("k", "", 0, "x");
  EXPECT_EQ(cg(c, empty_id)->error_code, 42);  // v1: the client names itself
  auto no_group = cg_req("", "m", 0, "x");
  EXPECT_EQ(cg(c, no_group)->error_code, 42);
  // A classic group with members is not a consumer group.
  auto j = join(c, "busy");
  ASSERT_EQ(j.error_code, 0);
  auto cross = cg_req("busy", "m", 0, "x");
  EXPECT_EQ(cg(c, cross)->error_code, 69);
}

TEST(group_api, kip848_regular_expression_subscriptions_follow_new_topics) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "orders-eu", 2);
  create_topic(c, "payments", 2);
  auto j = cg_req("re", "m", 0);
  j.subscribed_topic_regex = "orders-.*";
  auto r = cg(c, j);
  ASSERT_EQ(r->error_code, 0);
  EXPECT_EQ(count(as_owned(r->assignment)), 2u);
  create_topic(c, "orders-us", 3);
  auto h = cg_req("re", "m", r->member_epoch);
  h.topic_partitions = as_owned(r->assignment);
  auto r2 = cg(c, h);
  ASSERT_EQ(r2->error_code, 0);
  EXPECT_GT(r2->member_epoch, r->member_epoch);
  EXPECT_EQ(count(as_owned(r2->assignment)), 5u);
}

TEST(group_api, kip848_member_that_stops_heartbeating_loses_its_partitions) {
  test_broker b(quick);  // group.consumer.session.timeout.ms=600
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "s1", 2);
  auto j1 = cg_req("s", "alive", 0, "s1");
  auto a = cg(c, j1);
  auto j2 = cg_req("s", "quiet", 0, "s1");
  ASSERT_EQ(cg(c, j2)->error_code, 0);
  // The live member keeps heartbeating; the quiet one's session runs out
  // and its partition comes back to the live member.
  tp_list owned = as_owned(a->assignment);
  int32_t epoch = a->member_epoch;
  size_t have = count(owned);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  bool shrank = false;
  while (std::chrono::steady_clock::now() < deadline && !(shrank && have == 2)) {
    auto h = cg_req("s", "alive", epoch);
    h.topic_partitions = owned;
    auto r = cg(c, h);
    ASSERT_EQ(r->error_code, 0);
    epoch = r->member_epoch;
    if (r->assignment) owned = as_owned(r->assignment);
    have = count(owned);
    shrank = shrank || have == 1;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(shrank);
  EXPECT_EQ(have, 2u);
  EXPECT_EQ(cg(c, cg_req("s", "quiet", 1))->error_code, 25);  // removed
}

TEST(group_api, kip848_static_member_keeps_its_partitions_across_a_restart_of_the_client) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "st", 2);
  auto j = cg_req("static", "first-life", 0);
  j.instance_id = "worker-a";
  j.subscribed_topic_names = std::vector<std::string>{"st"};
  auto r = cg(c, j);
  ASSERT_EQ(r->error_code, 0);
  // Another member may not take the instance id while it is held.
  auto thief = cg_req("static", "thief", 0);
  thief.instance_id = "worker-a";
  thief.subscribed_topic_names = std::vector<std::string>{"st"};
  EXPECT_EQ(cg(c, thief)->error_code, 111);  // UNRELEASED_INSTANCE_ID
  // A static leave (-2) keeps the assignment for the session timeout; the
  // same instance back under a new member id gets it at once.
  auto leave = cg_req("static", "first-life", -2);
  leave.instance_id = "worker-a";
  EXPECT_EQ(cg(c, leave)->member_epoch, -2);
  auto back = cg_req("static", "second-life", 0);
  back.instance_id = "worker-a";
  back.subscribed_topic_names = std::vector<std::string>{"st"};
  auto r2 = cg(c, back);
  ASSERT_EQ(r2->error_code, 0);
  EXPECT_EQ(as_owned(r2->assignment).at(0).partitions, as_owned(r->assignment).at(0).partitions);
  EXPECT_EQ(r2->member_epoch, r->member_epoch);  // no rebalance
}

TEST(group_api, a_malformed_assignment_from_a_plugin_is_refused_and_the_previous_one_kept) {
  // The fixture assignor answers correctly for one member and gives a
  // partition twice once there are two.
  test_broker b({"group.consumer.assignors=[bad, uniform]",
                 "plugins.load=[{name: test.assignor.bad, library: " MOSAIC_FIXTURE_DIR "/libbad_assignor.so}]",
                 "group.consumer.heartbeat.interval.ms=100"});
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "m1", 3);
  auto j1 = cg_req("bad-group", "one", 0, "m1");
  auto r1 = cg(c, j1);
  ASSERT_EQ(r1->error_code, 0);
  EXPECT_EQ(count(as_owned(r1->assignment)), 3u);
  auto j2 = cg_req("bad-group", "two", 0, "m1");
  auto r2 = cg(c, j2);
  ASSERT_EQ(r2->error_code, 0);
  EXPECT_EQ(count(as_owned(r2->assignment)), 0u);  // nothing new to give
  auto h1 = cg_req("bad-group", "one", r1->member_epoch);
  h1.topic_partitions = as_owned(r1->assignment);
  auto r1b = cg(c, h1);
  ASSERT_EQ(r1b->error_code, 0);
  EXPECT_FALSE(r1b->assignment && count(as_owned(r1b->assignment)) != 3u);  // kept all three
  msg::consumer_group_describe_request dreq;
  dreq.group_ids = {"bad-group"};
  auto d = call<msg::consumer_group_describe_response>(c, cg_describe_key, 0, dreq);
  ASSERT_EQ(d->groups[0].members.size(), 2u);
  std::map<std::string, size_t> targets;
  for (const auto& m : d->groups[0].members)
    for (const auto& tp : m.target_assignment.topic_partitions) targets[m.member_id] += tp.partitions.size();
  EXPECT_EQ(targets["one"], 3u);  // the previous target, not a partition given twice
  EXPECT_EQ(targets["two"], 0u);
}

TEST(group_api, groups_and_offsets_survive_a_restart) {
  mosaic::testing::temp_dir dir("mosaic_groups_restart");
  std::string member;
  int32_t epoch = 0;
  {
    test_broker b(quick, &dir);
    frame_client c(b.port());
    mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
    create_topic(c, "r1", 2);
    auto j = join(c, "classic-r");
    ASSERT_EQ(sync(c, "classic-r", 1, j.member_id, {{j.member_id, {4, 2}}}).error_code, 0);
    member = j.member_id;
    EXPECT_EQ(commit(c, "classic-r", 1, member, "r1", {{0, 11}, {1, 12}}), (std::vector<int16_t>{0, 0}));
    auto k = cg_req("kip-r", "km", 0, "r1");
    auto kr = cg(c, k);
    ASSERT_EQ(kr->error_code, 0);
    epoch = kr->member_epoch;
  }
  test_broker again(quick, &dir);
  frame_client c(again.port());
  // As a client does after a restart: find the coordinator, which answers
  // COORDINATOR_LOAD_IN_PROGRESS until it has read the groups back.
  mosaic::testing::find_coordinator(c, "classic-r");
  EXPECT_EQ(committed(c, "classic-r", "r1", 2), (std::vector<int64_t>{11, 12}));
  // The classic member carries on in its generation and gets its assignment.
  EXPECT_EQ(heartbeat(c, "classic-r", 1, member), 0);
  auto s = sync(c, "classic-r", 1, member);
  EXPECT_EQ(s.error_code, 0);
  EXPECT_EQ(std::vector<uint8_t>(s.assignment.data, s.assignment.data + s.assignment.size),
            (std::vector<uint8_t>{4, 2}));
  // The KIP-848 member too, at its epoch.
  auto h = cg_req("kip-r", "km", epoch);
  auto r = cg(c, h);
  EXPECT_EQ(r->error_code, 0);
  EXPECT_EQ(r->member_epoch, epoch);  // no rebalance: the topics its target was made for were kept
}

// A partition's groups are read off the coordinator's thread: until they
// are in, their requests get COORDINATOR_LOAD_IN_PROGRESS (clients retry).
TEST(group_api, a_partition_being_loaded_answers_coordinator_load_in_progress) {
  mosaic::testing::temp_dir dir("mosaic_groups_loading");
  const std::vector<std::string> cfg = {"offsets.topic.num.partitions=1"};
  constexpr int groups = 300, partitions = 1000;  // 300,000 offsets to read back
  {
    test_broker b(cfg, &dir);
    frame_client c(b.port());
    mosaic::testing::find_coordinator(c, "g");
    create_topic(c, "big", partitions);
    std::vector<std::pair<int32_t, int64_t>> all;
    for (int32_t p = 0; p < partitions; ++p) all.emplace_back(p, p);
    for (int g = 0; g < groups; ++g) ASSERT_EQ(commit(c, "big-" + std::to_string(g), -1, "", "big", all).at(0), 0);
  }
  test_broker again(cfg, &dir);
  frame_client c(again.port());
  msg::offset_fetch_request req;
  req.groups.emplace_back().group_id = "big-7";
  int loading = 0;
  const auto began = std::chrono::steady_clock::now();
  std::optional<mosaic::testing::reply<msg::offset_fetch_response>> r;
  // Asked until answered or 90 s (the load takes about 8 s under TSan alone,
  // more when the machine is busy).
  while (std::chrono::steady_clock::now() - began < std::chrono::seconds(90)) {
    r = call<msg::offset_fetch_response>(c, offset_fetch_key, 8, req);
    ASSERT_TRUE(r);
    if (r->groups.at(0).error_code != 14) break;
    ++loading;
    std::this_thread::sleep_for(5ms);
  }
  std::printf(
      "%d answers of COORDINATOR_LOAD_IN_PROGRESS in %lld ms\n", loading,
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began).count()));
  EXPECT_GT(loading, 0);
  ASSERT_EQ(r->groups.at(0).error_code, 0);
  ASSERT_EQ(r->groups.at(0).topics.size(), 1u);
  EXPECT_EQ(r->groups.at(0).topics[0].partitions.size(), static_cast<size_t>(partitions));
}

// Before groups had partitions of their own, every group's records were in
// one log, __consumer_offsets-0. A data dir of that time keeps its offsets:
// partition 0 is that log, and its groups move to their own partitions.
TEST(group_api, offsets_in_the_single_log_of_earlier_versions_move_to_their_partitions) {
  mosaic::testing::temp_dir dir("mosaic_groups_legacy");
  const std::string group = "consumers";  // hashes to partition 33 of 50
  ASSERT_EQ(groups::partition_for(group, 50), 33);
  {
    log::log_manager_options o;
    o.dirs = {dir.path() / "data"};
    o.background = false;
    auto logs = log::log_manager::open(o);
    ASSERT_TRUE(logs);
    log::log_config c;
    auto legacy = (*logs)->create("__consumer_offsets", 0, c);
    ASSERT_TRUE(legacy);
    groups::group_log gl;
    gl.put_offset(group, {"old-topic", 0}, groups::committed{42, -1, "kept", 1700000000000});
    gl.put_offset(group, {"old-topic", 1}, groups::committed{43, -1, std::nullopt, 1700000000000});
    auto bytes = gl.take();
    auto r = (*legacy)->append(bytes, 0);
    ASSERT_TRUE(r.io.ok() && !r.refused);
  }
  for (int run = 0; run < 2; ++run) {  // moved, then still there after a restart
    test_broker b(quick, &dir);
    frame_client c(b.port());
    if (run == 0) create_topic(c, "old-topic", 2);
    mosaic::testing::find_coordinator(c, group);
    std::vector<int64_t> got;
    for (int i = 0; i < 100 && got != std::vector<int64_t>{42, 43}; ++i) {
      if (i > 0) std::this_thread::sleep_for(20ms);
      got = committed(c, group, "old-topic", 2);
    }
    EXPECT_EQ(got, (std::vector<int64_t>{42, 43})) << "run " << run;
  }
  // Written to the group's own partition, deleted from partition 0.
  log::log_manager_options o;
  o.dirs = {dir.path() / "data"};
  o.background = false;
  auto logs = log::log_manager::open(o);
  ASSERT_TRUE(logs);
  auto home = (*logs)->get("__consumer_offsets", 33);
  auto legacy = (*logs)->get("__consumer_offsets", 0);
  ASSERT_TRUE(home && legacy);
  EXPECT_GE((*home)->log_end_offset(), 2);
  EXPECT_EQ((*legacy)->log_end_offset(), 6);  // the two offsets, then the group's and their tombstones, once
}

}  // namespace
}  // namespace mosaic::kafka
