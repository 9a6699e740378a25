// The share group APIs (KIP-932) against a whole broker in the process,
// spoken to with hand-made requests: membership, share sessions and their
// epochs, acquisition and acknowledgement with every error a client could
// provoke, group configs, the offsets admin calls, ListGroups/DeleteGroups,
// share state across a restart, and where a share group's own record lives.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "kafka_messages.h"
#include "kernel/groups/group_partition.h"
#include "kernel/groups/share_coordinator.h"
#include "kernel/groups/share_state_log.h"
#include "kernel/log/log_manager.h"
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

constexpr int16_t hb_key = 76, describe_key = 77, fetch_key = 78, describe_offsets_key = 90, alter_offsets_key = 91,
                  delete_offsets_key = 92;
constexpr int16_t invalid_request = 42, unknown_member = 25, fenced_member_epoch = 110, invalid_record_state = 121,
                  session_not_found = 122, invalid_session_epoch = 123, unknown_topic_id = 100, invalid_config = 40,
                  non_empty_group = 68, group_id_not_found = 69;

const std::vector<std::string> quick = {"group.share.session.timeout.ms=1000", "group.share.heartbeat.interval.ms=100",
                                        "group.share.min.record.lock.duration.ms=1000"};

using mosaic::testing::acquired_offsets;
using mosaic::testing::set_group_config;
using mosaic::testing::share_acks;

uuid create_topic(frame_client& c, const std::string& name, int32_t partitions = 1) {
  return mosaic::testing::create_share_topic(c, name, partitions);
}

void produce(frame_client& c, const std::string& topic, int n) { mosaic::testing::produce_values(c, topic, n, "v"); }

int16_t set_config(frame_client& c, const std::string& group, const std::string& name, const std::string& value) {
  return set_group_config(c, group, name, value);
}

msg::share_group_heartbeat_response heartbeat(frame_client& c, const std::string& group, const std::string& member,
                                              int32_t epoch, std::optional<std::vector<std::string>> topics = {}) {
  return mosaic::testing::share_heartbeat(c, group, member, epoch, std::move(topics));
}

using acks = share_acks;

mosaic::testing::reply<msg::share_fetch_response> fetch(frame_client& c, const std::string& group,
                                                        const std::string& member, int32_t epoch, const uuid& topic,
                                                        std::vector<acks> a = {}, int32_t max_records = 100) {
  return mosaic::testing::share_fetch(c, group, member, epoch, topic, a, max_records);
}

msg::share_acknowledge_response acknowledge(frame_client& c, const std::string& group, const std::string& member,
                                            int32_t epoch, const uuid& topic, const std::vector<acks>& a,
                                            bool renew = false) {
  auto r = mosaic::testing::share_acknowledge(c, group, member, epoch, topic, a, renew);
  EXPECT_TRUE(r);
  return r ? static_cast<msg::share_acknowledge_response>(*r) : msg::share_acknowledge_response{};
}

std::set<int64_t> acquired(const msg::share_fetch_response& r) { return acquired_offsets(r); }

const msg::share_fetch_response_partition_data& first(const msg::share_fetch_response& r) {
  return r.responses.at(0).partitions.at(0);
}

TEST(share_api, heartbeats_join_assign_fence_and_leave) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "hb", 2);
  EXPECT_EQ(heartbeat(c, "g", "", 0, std::vector<std::string>{"hb"}).error_code, invalid_request);
  EXPECT_EQ(heartbeat(c, "g", "m1", 0).error_code, invalid_request) << "a join names its topics";
  auto j = heartbeat(c, "g", "m1", 0, std::vector<std::string>{"hb"});
  ASSERT_EQ(j.error_code, 0);
  EXPECT_GT(j.member_epoch, 0);
  EXPECT_EQ(j.heartbeat_interval_ms, 100);
  ASSERT_TRUE(j.assignment);
  ASSERT_EQ(j.assignment->topic_partitions.size(), 1u);
  EXPECT_EQ(j.assignment->topic_partitions[0].topic_id, t);
  EXPECT_EQ(j.assignment->topic_partitions[0].partitions, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(heartbeat(c, "g", "stranger", 3).error_code, unknown_member);
  EXPECT_EQ(heartbeat(c, "g", "m1", j.member_epoch + 7).error_code, fenced_member_epoch);
  // A second member: the two partitions are split.
  auto j2 = heartbeat(c, "g", "m2", 0, std::vector<std::string>{"hb"});
  ASSERT_EQ(j2.error_code, 0);
  ASSERT_TRUE(j2.assignment);
  auto again = heartbeat(c, "g", "m1", j.member_epoch);
  ASSERT_TRUE(again.assignment);
  EXPECT_EQ(again.assignment->topic_partitions.at(0).partitions.size(), 1u);
  EXPECT_EQ(heartbeat(c, "g", "m2", -1).member_epoch, -1);
}

TEST(share_api, more_members_than_partitions_share_the_partition) {
  test_broker b(quick);
  frame_client c(b.port());
  create_topic(c, "one");
  for (const std::string m : {"a", "b", "c"}) heartbeat(c, "g", m, 0, std::vector<std::string>{"one"});
  msg::share_group_describe_request req;
  req.group_ids = {"g", "nope"};
  auto d = call<msg::share_group_describe_response>(c, describe_key, 1, req);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->groups.size(), 2u);
  EXPECT_EQ(d->groups[0].group_state, "Stable");
  EXPECT_EQ(d->groups[0].assignor_name, "simple");
  ASSERT_EQ(d->groups[0].members.size(), 3u);
  for (const auto& m : d->groups[0].members) {
    // Not every member has heard its assignment yet: the target is what counts.
    (void)m;
  }
  EXPECT_EQ(d->groups[1].error_code, group_id_not_found);
  for (const std::string m : {"a", "b", "c"}) {
    auto h = heartbeat(c, "g", m, 0, std::vector<std::string>{"one"});
    ASSERT_TRUE(h.assignment);
    EXPECT_EQ(h.assignment->topic_partitions.at(0).partitions, (std::vector<int32_t>{0})) << m;
  }
}

TEST(share_api, records_go_to_one_member_and_acknowledgements_finish_them) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "q");
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  produce(c, "q", 10);
  heartbeat(c, "g", "m1", 0, std::vector<std::string>{"q"});
  heartbeat(c, "g", "m2", 0, std::vector<std::string>{"q"});
  auto f1 = fetch(c, "g", "m1", 0, t, {}, 4);
  EXPECT_EQ(f1.acquisition_lock_timeout_ms, 30000);
  EXPECT_EQ(acquired(f1), (std::set<int64_t>{0, 1, 2, 3}));
  EXPECT_FALSE(first(f1).records.span().empty());
  EXPECT_EQ(first(f1).acquired_records.at(0).delivery_count, 1);
  auto f2 = fetch(c, "g", "m2", 0, t, {}, 100);
  EXPECT_EQ(acquired(f2), (std::set<int64_t>{4, 5, 6, 7, 8, 9}));
  // m2 cannot acknowledge m1's records; m1 can, piggybacked on its next fetch.
  auto bad = acknowledge(c, "g", "m2", 1, t, {{0, 0, {1}}});
  EXPECT_EQ(bad.responses.at(0).partitions.at(0).error_code, invalid_record_state);
  auto f3 = fetch(c, "g", "m1", 1, t, {{0, 1, {1}}, {2, 3, {2, 3}}});
  EXPECT_EQ(first(f3).acknowledge_error_code, 0);
  EXPECT_EQ(acquired(f3), (std::set<int64_t>{2})) << "the released record comes back, the rejected one does not";
  EXPECT_EQ(first(f3).acquired_records.at(0).delivery_count, 2);
}

// A consumer is handed records only once their acquisition is in the
// share-partition's persisted state: a new leader reading that state must
// never hand the same records out again at the same delivery count. Here
// the share coordinator's writes are refused (its partition has fewer
// in-sync replicas than min.insync.replicas) until its topic's config is
// changed.
TEST(share_api, records_are_handed_out_only_once_their_acquisition_is_persisted) {
  test_broker b({"group.share.session.timeout.ms=30000", "min.insync.replicas=2"});
  frame_client c(b.port());
  const uuid t = mosaic::testing::create_share_topic(c, "q", 1, {{"min.insync.replicas", "1"}});
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  produce(c, "q", 5);
  heartbeat(c, "g", "m1", 0, std::vector<std::string>{"q"});
  int32_t epoch = 0;
  for (int i = 0; i < 3; ++i) {
    auto f = fetch(c, "g", "m1", epoch++, t);
    for (const auto& r : f.responses)
      for (const auto& p : r.partitions) EXPECT_EQ(p.error_code, 0);
    EXPECT_TRUE(acquired(f).empty()) << "fetch " << i << ": nothing is handed out while the state cannot be written";
  }
  constexpr int8_t topic_resource = 2;
  ASSERT_EQ(mosaic::testing::set_resource_config(c, topic_resource, "__share_group_state", "min.insync.replicas", "1"),
            0);
  std::set<int64_t> got;
  int16_t count = -1;
  for (auto until = std::chrono::steady_clock::now() + 10s; got.empty() && std::chrono::steady_clock::now() < until;) {
    auto f = mosaic::testing::share_fetch(c, "g", "m1", epoch++, t, {}, 100, 200);
    got = acquired(f);
    if (!got.empty()) count = first(f).acquired_records.at(0).delivery_count;
  }
  EXPECT_EQ(got, (std::set<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(count, 1) << "the acquisitions taken back did not count as deliveries";
  // An acknowledgement that cannot be persisted is not confirmed, in either request.
  ASSERT_EQ(mosaic::testing::set_resource_config(c, topic_resource, "__share_group_state", "min.insync.replicas", "2"),
            0);
  constexpr int16_t kafka_storage_error = 56;
  auto a = acknowledge(c, "g", "m1", epoch++, t, {{0, 1, {1}}});
  EXPECT_EQ(a.responses.at(0).partitions.at(0).error_code, kafka_storage_error);
  auto f = mosaic::testing::share_fetch(c, "g", "m1", epoch++, t, {{2, 2, {1}}}, 100, 5000);
  EXPECT_EQ(first(f).acknowledge_error_code, kafka_storage_error) << "answered in the round that applied it";
}

TEST(share_api, session_epochs_are_checked) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "s");
  heartbeat(c, "g", "m", 0, std::vector<std::string>{"s"});
  EXPECT_EQ(fetch(c, "g", "m", 3, t).error_code, session_not_found);
  EXPECT_EQ(fetch(c, "g", "m", 0, t).error_code, 0);
  EXPECT_EQ(fetch(c, "g", "m", 2, t).error_code, invalid_session_epoch) << "1 comes next";
  EXPECT_EQ(fetch(c, "g", "m", 1, t).error_code, 0);
  EXPECT_EQ(acknowledge(c, "g", "m", 0, t, {}).error_code, invalid_session_epoch) << "ShareAcknowledge opens nothing";
  EXPECT_EQ(acknowledge(c, "g", "m", 2, t, {}).error_code, 0);
  EXPECT_EQ(acknowledge(c, "g", "m", -1, t, {}).error_code, 0);
  EXPECT_EQ(fetch(c, "g", "m", 3, t).error_code, session_not_found) << "closed";
  msg::share_fetch_request no_member;
  no_member.share_session_epoch = 0;
  auto r = call<msg::share_fetch_response>(c, fetch_key, 1, no_member);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, invalid_request);
}

TEST(share_api, malformed_acknowledgements_change_nothing) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "m");
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  produce(c, "m", 4);
  heartbeat(c, "g", "m", 0, std::vector<std::string>{"m"});
  ASSERT_EQ(acquired(fetch(c, "g", "m", 0, t)).size(), 4u);
  int32_t epoch = 1;
  for (const auto& a : std::vector<acks>{{0, 1, {9}},     // no such type
                                         {0, 3, {1, 1}},  // two types for four offsets
                                         {2, 1, {1}},     // last before first
                                         {3, 7, {1}},     // beyond what was handed out
                                         {0, 0, {}}}) {   // no type
    auto r = fetch(c, "g", "m", epoch++, t, {a});
    EXPECT_EQ(first(r).acknowledge_error_code, invalid_record_state) << a.first << "-" << a.last;
    EXPECT_TRUE(acquired(r).empty());
  }
  EXPECT_EQ(first(fetch(c, "g", "m", epoch++, t, {{0, 3, {1}}})).acknowledge_error_code, 0)
      << "the records were still held";
  msg::share_fetch_request unknown;
  unknown.group_id = "g";
  unknown.member_id = "m";
  unknown.share_session_epoch = epoch++;
  unknown.topics.emplace_back().topic_id = uuid{9, 9, 9};
  unknown.topics.back().partitions.emplace_back().partition_index = 0;
  auto r = call<msg::share_fetch_response>(c, fetch_key, 2, unknown);
  ASSERT_TRUE(r);
  bool saw = false;
  for (const auto& rt : r->responses)
    if (rt.topic_id == uuid{9, 9, 9}) saw = rt.partitions.at(0).error_code == unknown_topic_id;
  EXPECT_TRUE(saw);
}

TEST(share_api, a_closed_session_releases_its_records_and_renew_keeps_them) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "r");
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  ASSERT_EQ(set_config(c, "g", "share.record.lock.duration.ms", "1000"), 0);
  produce(c, "r", 2);
  auto ha = heartbeat(c, "g", "a", 0, std::vector<std::string>{"r"});
  auto hb = heartbeat(c, "g", "b", 0, std::vector<std::string>{"r"});
  ASSERT_EQ(acquired(fetch(c, "g", "a", 0, t, {}, 1)), (std::set<int64_t>{0}));
  ASSERT_EQ(acquired(fetch(c, "g", "b", 0, t, {}, 1)), (std::set<int64_t>{1}));
  // b renews its lock past the lock duration; a's lock runs out. Both stay
  // members (a 1 s session timeout).
  for (int i = 1; i <= 3; ++i) {
    std::this_thread::sleep_for(500ms);
    ha = heartbeat(c, "g", "a", ha.member_epoch);
    hb = heartbeat(c, "g", "b", hb.member_epoch);
    auto r = acknowledge(c, "g", "b", i, t, {{1, 1, {4}}}, true);
    ASSERT_EQ(r.error_code, 0) << r.error_message.value_or("");
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses.at(0).partitions.at(0).error_code, 0) << i;
  }
  auto again = fetch(c, "g", "b", 4, t);
  ASSERT_EQ(again.error_code, 0) << again.error_message.value_or("");
  ASSERT_EQ(first(again).error_code, 0);
  EXPECT_EQ(acquired(again), (std::set<int64_t>{0})) << "a's record, after its lock ran out";
  EXPECT_EQ(first(again).acquired_records.at(0).delivery_count, 2);
  EXPECT_EQ(first(fetch(c, "g", "b", 5, t, {{1, 1, {1}}})).acknowledge_error_code, 0) << "b still held offset 1";
  // Closing b's session frees offset 0 at once.
  EXPECT_EQ(acknowledge(c, "g", "b", -1, t, {}).error_code, 0);
  EXPECT_EQ(acquired(fetch(c, "g", "a", 1, t)), (std::set<int64_t>{0}));
}

TEST(share_api, the_in_flight_bound_holds_back_records_until_some_are_finished) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "bound");
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  ASSERT_EQ(set_config(c, "g", "share.partition.max.record.locks", "100"), 0);
  produce(c, "bound", 150);
  heartbeat(c, "g", "a", 0, std::vector<std::string>{"bound"});
  heartbeat(c, "g", "b", 0, std::vector<std::string>{"bound"});
  EXPECT_EQ(acquired(fetch(c, "g", "a", 0, t, {}, 500)).size(), 100u);
  // b waits its whole MaxWaitMs: nothing may be handed out beyond the bound.
  const auto start = std::chrono::steady_clock::now();
  auto waited = mosaic::testing::share_fetch(c, "g", "b", 0, t, {}, 500, 300);
  EXPECT_TRUE(acquired(waited).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 290ms);
  // a finishes 50: b gets the next 50.
  ASSERT_EQ(acknowledge(c, "g", "a", 1, t, {{0, 49, {1}}}).responses.at(0).partitions.at(0).error_code, 0);
  auto next = acquired(fetch(c, "g", "b", 1, t, {}, 500));
  ASSERT_EQ(next.size(), 50u);
  EXPECT_EQ(*next.begin(), 100);
}

TEST(share_api, group_configs_are_checked_and_described) {
  test_broker b(quick);
  frame_client c(b.port());
  EXPECT_EQ(set_config(c, "g", "share.record.lock.duration.ms", "500"), invalid_config) << "below the broker's minimum";
  EXPECT_EQ(set_config(c, "g", "share.delivery.count.limit", "11"), invalid_config);
  EXPECT_EQ(set_config(c, "g", "share.auto.offset.reset", "sometimes"), invalid_config);
  EXPECT_EQ(set_config(c, "g", "share.auto.offset.reset", "by_duration:PT1H"), 0);
  EXPECT_EQ(set_config(c, "g", "errors.deadletterqueue.topic.name", "elsewhere"), invalid_config) << "not dlq.";
  EXPECT_EQ(set_config(c, "g", "no.such.config", "1"), invalid_config);
  EXPECT_EQ(set_config(c, "g", "share.isolation.level", "read_committed"), 0);
  msg::describe_configs_request req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 32;
  r.resource_name = "g";
  auto d = call<msg::describe_configs_response>(c, 32, 4, req);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->results.at(0).error_code, 0);
  std::map<std::string, std::pair<std::string, int8_t>> got;
  for (const auto& cfg : d->results[0].configs) got[cfg.name] = {cfg.value.value_or(""), cfg.config_source};
  EXPECT_EQ(got["share.auto.offset.reset"], std::make_pair(std::string("by_duration:PT1H"), int8_t{8}));
  EXPECT_EQ(got["share.delivery.count.limit"], std::make_pair(std::string("5"), int8_t{5}));
  EXPECT_EQ(got["share.isolation.level"].first, "read_committed");
}

TEST(share_api, offsets_can_be_described_altered_and_deleted) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "o");
  produce(c, "o", 10);
  heartbeat(c, "g", "m", 0, std::vector<std::string>{"o"});  // latest: starts at 10
  produce(c, "o", 5);
  auto describe = [&] {
    msg::describe_share_group_offsets_request req;
    req.groups.emplace_back().group_id = "g";
    auto r = call<msg::describe_share_group_offsets_response>(c, describe_offsets_key, 1, req);
    EXPECT_TRUE(r);
    return r->groups.at(0).topics.at(0).partitions.at(0);
  };
  EXPECT_EQ(describe().start_offset, 10);
  EXPECT_EQ(describe().lag, 5);
  msg::alter_share_group_offsets_request alter;
  alter.group_id = "g";
  auto& at = alter.topics.emplace_back();
  at.topic_name = "o";
  at.partitions.push_back({0, 2, {}});
  auto busy = call<msg::alter_share_group_offsets_response>(c, alter_offsets_key, 0, alter);
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->error_code, non_empty_group);
  heartbeat(c, "g", "m", -1);
  auto done = call<msg::alter_share_group_offsets_response>(c, alter_offsets_key, 0, alter);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->error_code, 0);
  EXPECT_EQ(describe().start_offset, 2);
  EXPECT_EQ(describe().lag, 13);
  heartbeat(c, "g", "m", 0, std::vector<std::string>{"o"});
  EXPECT_EQ(acquired(fetch(c, "g", "m", 0, t, {}, 1)), (std::set<int64_t>{2}));
  heartbeat(c, "g", "m", -1);
  msg::delete_share_group_offsets_request del;
  del.group_id = "g";
  del.topics.emplace_back().topic_name = "o";
  auto gone = call<msg::delete_share_group_offsets_response>(c, delete_offsets_key, 0, del);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->error_code, 0);
  msg::describe_share_group_offsets_request req;
  req.groups.emplace_back().group_id = "g";
  auto r = call<msg::describe_share_group_offsets_response>(c, describe_offsets_key, 1, req);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->groups.at(0).topics.empty());
}

TEST(share_api, a_deleted_topics_share_state_is_forgotten) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "gone");
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  produce(c, "gone", 3);
  heartbeat(c, "g", "m", 0, std::vector<std::string>{"gone"});
  ASSERT_EQ(acquired(fetch(c, "g", "m", 0, t)).size(), 3u);
  ASSERT_EQ(acknowledge(c, "g", "m", 1, t, {{0, 2, {1}}}).responses.at(0).partitions.at(0).error_code, 0);
  msg::delete_topics_request del;
  del.topic_names = {"gone"};
  auto d = call<msg::delete_topics_response>(c, 20, 5, del);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->responses.at(0).error_code, 0);
  msg::describe_share_group_offsets_request req;
  req.groups.emplace_back().group_id = "g";
  auto r = call<msg::describe_share_group_offsets_response>(c, 90, 1, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->groups.at(0).error_code, 0);
  EXPECT_TRUE(r->groups.at(0).topics.empty());
  // A topic made again under the same name starts afresh.
  const uuid again = create_topic(c, "gone");
  EXPECT_NE(again, t);
  produce(c, "gone", 1);
  heartbeat(c, "g", "m", -1);
  heartbeat(c, "g", "m", 0, std::vector<std::string>{"gone"});
  EXPECT_EQ(acquired(fetch(c, "g", "m", 0, again)), (std::set<int64_t>{0}));
}

TEST(share_api, list_and_delete_groups_cover_share_groups) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "l");
  heartbeat(c, "sg", "m", 0, std::vector<std::string>{"l"});
  msg::list_groups_request lr;
  lr.types_filter = {"share"};
  auto l = call<msg::list_groups_response>(c, 16, 5, lr);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->groups.size(), 1u);
  EXPECT_EQ(l->groups[0].group_id, "sg");
  EXPECT_EQ(l->groups[0].group_type, "share");
  EXPECT_EQ(l->groups[0].group_state, "Stable");
  msg::delete_groups_request dr;
  dr.groups_names = {"sg", "none"};
  auto d = call<msg::delete_groups_response>(c, 42, 2, dr);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->results.at(0).error_code, non_empty_group);
  EXPECT_EQ(d->results.at(1).error_code, group_id_not_found);
  heartbeat(c, "sg", "m", -1);
  d = call<msg::delete_groups_response>(c, 42, 2, dr);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->results.at(0).error_code, 0);
  l = call<msg::list_groups_response>(c, 16, 5, lr);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->groups.empty());
}

TEST(share_api, a_group_id_is_one_kind_of_group) {
  test_broker b(quick);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");  // makes __consumer_offsets, as a client's first ask does
  create_topic(c, "k");
  // A KIP-848 consumer group "cg".
  msg::consumer_group_heartbeat_request cg;
  cg.group_id = "cg";
  cg.member_id = "c1";
  cg.member_epoch = 0;
  cg.rebalance_timeout_ms = 5000;
  cg.subscribed_topic_names = std::vector<std::string>{"k"};
  cg.topic_partitions.emplace();
  auto joined = call<msg::consumer_group_heartbeat_response>(c, 68, 1, cg);
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->error_code, 0);
  auto share_join = heartbeat(c, "cg", "s1", 0, std::vector<std::string>{"k"});
  EXPECT_EQ(share_join.error_code, group_id_not_found) << "a consumer group's id is not a share group";
  EXPECT_EQ(set_config(c, "cg", "share.auto.offset.reset", "earliest"), group_id_not_found);
  // A share group "sg": consumer groups, classic groups and offset commits keep off it.
  ASSERT_EQ(heartbeat(c, "sg", "s1", 0, std::vector<std::string>{"k"}).error_code, 0);
  cg.group_id = "sg";
  auto consumer_join = call<msg::consumer_group_heartbeat_response>(c, 68, 1, cg);
  ASSERT_TRUE(consumer_join);
  EXPECT_EQ(consumer_join->error_code, group_id_not_found);
  msg::offset_commit_request commit;
  commit.group_id = "sg";
  commit.generation_id_or_member_epoch = -1;
  auto& ct = commit.topics.emplace_back();
  ct.name = "k";
  ct.partitions.emplace_back().committed_offset = 1;
  auto committed = call<msg::offset_commit_response>(c, 8, 8, commit);
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->topics.at(0).partitions.at(0).error_code, group_id_not_found);
  // Deleted, the id is free for the other kind.
  heartbeat(c, "sg", "s1", -1);
  msg::delete_groups_request dr;
  dr.groups_names = {"sg"};
  auto d = call<msg::delete_groups_response>(c, 42, 2, dr);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->results.at(0).error_code, 0);
  consumer_join = call<msg::consumer_group_heartbeat_response>(c, 68, 1, cg);
  ASSERT_TRUE(consumer_join);
  EXPECT_EQ(consumer_join->error_code, 0);
}

TEST(share_api, a_member_that_stops_heartbeating_loses_its_locks) {
  test_broker b(quick);
  frame_client c(b.port());
  const uuid t = create_topic(c, "e");
  ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
  produce(c, "e", 1);
  heartbeat(c, "g", "gone", 0, std::vector<std::string>{"e"});
  ASSERT_EQ(acquired(fetch(c, "g", "gone", 0, t)).size(), 1u);
  auto h = heartbeat(c, "g", "stays", 0, std::vector<std::string>{"e"});
  std::set<int64_t> got;
  for (int i = 0; i < 40 && got.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    heartbeat(c, "g", "stays", h.member_epoch);
    h = heartbeat(c, "g", "stays", h.member_epoch);
    got = acquired(fetch(c, "g", "stays", i == 0 ? 0 : i, t));
  }
  EXPECT_EQ(got, (std::set<int64_t>{0})) << "within the 1 s session timeout, not the 30 s lock";
}

TEST(share_api, acknowledged_state_survives_a_restart) {
  mosaic::testing::temp_dir dir;
  uuid t;
  {
    test_broker b(quick, &dir);
    frame_client c(b.port());
    t = create_topic(c, "d");
    ASSERT_EQ(set_config(c, "g", "share.auto.offset.reset", "earliest"), 0);
    ASSERT_EQ(set_config(c, "g", "share.record.lock.duration.ms", "1000"), 0);
    produce(c, "d", 6);
    heartbeat(c, "g", "m", 0, std::vector<std::string>{"d"});
    ASSERT_EQ(acquired(fetch(c, "g", "m", 0, t)).size(), 6u);
    // 0-1 accepted, 2 released, 3 accepted, 4-5 held when the broker goes.
    auto r = acknowledge(c, "g", "m", 1, t, {{0, 3, {1, 1, 2, 1}}});
    ASSERT_EQ(r.responses.at(0).partitions.at(0).error_code, 0);
  }
  test_broker b(quick, &dir);
  frame_client c(b.port());
  auto h = heartbeat(c, "g", "m2", 0, std::vector<std::string>{"d"});
  const auto began = std::chrono::steady_clock::now();
  auto f = fetch(c, "g", "m2", 0, t);
  EXPECT_EQ(acquired(f), (std::set<int64_t>{2})) << "4-5 stay locked: their holder may still be at work";
  for (const auto& a : first(f).acquired_records)
    if (a.first_offset == 2) {
      EXPECT_EQ(a.delivery_count, 2) << "the release was persisted with its count";
    }
  // Once their lock would have ended, 4-5 are offered again, with the
  // delivery the crash cut short counted.
  std::map<int64_t, int16_t> later;
  for (int i = 1; i < 40 && !(later.count(4) && later.count(5)); ++i) {
    std::this_thread::sleep_for(100ms);
    h = heartbeat(c, "g", "m2", h.member_epoch);  // within the 1 s session timeout
    auto g = fetch(c, "g", "m2", i, t);
    if (g.responses.empty() || g.responses[0].partitions.empty()) continue;
    for (const auto& a : first(g).acquired_records)
      for (int64_t o = a.first_offset; o <= a.last_offset; ++o) later[o] = a.delivery_count;
  }
  later.erase(2);  // m2's own lock on 2 ends too
  EXPECT_EQ(later, (std::map<int64_t, int16_t>{{4, 2}, {5, 2}}));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 900ms) << "not before the lock would have ended";
}

// Before share-partition states had a coordinator, one broker-local log,
// __share_group_state-0, held them (snapshots with updates laid over) and
// the groups' records. A data dir of that time keeps them: the topic is
// made at start, its partition 0 takes the log over, the group's configs
// go to the metadata and the state moves to the partition it hashes to.
TEST(share_api, states_in_the_single_log_of_earlier_versions_are_kept) {
  mosaic::testing::temp_dir dir("mosaic_share_legacy");
  uuid t;
  {
    test_broker b(quick, &dir);
    frame_client c(b.port());
    t = create_topic(c, "d");
    produce(c, "d", 6);
  }
  const groups::sp_key key{"g", t, 0};
  {
    log::log_manager_options o;
    o.dirs = {dir.path() / "data"};
    o.background = false;
    auto logs = log::log_manager::open(o);
    ASSERT_TRUE(logs);
    auto legacy = (*logs)->create(groups::share_state_topic_name, 0, log::log_config{});
    ASSERT_TRUE(legacy);
    groups::share_state_log sl;
    sl.put_group("g", 3, {{"share.record.lock.duration.ms", "20000"}});
    // 0-1 accepted before; 2 released once, 3 accepted; then 2 accepted.
    sl.put_snapshot(key, 2,
                    {{2, 2, groups::record_state::available, 1}, {3, 3, groups::record_state::acknowledged, 1}});
    sl.put_update(key, 2, {{2, 2, groups::record_state::acknowledged, 2}});
    auto bytes = sl.take();
    auto r = (*legacy)->append(bytes, 0);
    ASSERT_TRUE(r.io.ok() && !r.refused);
  }
  for (int run = 0; run < 2; ++run) {  // taken over, then still there after a restart
    test_broker b(quick, &dir);
    frame_client c(b.port());
    msg::describe_configs_request req;
    auto& res = req.resources.emplace_back();
    res.resource_type = 32;
    res.resource_name = "g";
    auto d = call<msg::describe_configs_response>(c, 32, 4, req);
    ASSERT_TRUE(d);
    std::string lock;
    for (const auto& cfg : d->results.at(0).configs)
      if (cfg.name == "share.record.lock.duration.ms") lock = cfg.value.value_or("");
    EXPECT_EQ(lock, "20000") << "run " << run << ": the group's config is in the metadata";
    heartbeat(c, "g", "m" + std::to_string(run), 0, std::vector<std::string>{"d"});
    auto f = fetch(c, "g", "m" + std::to_string(run), 0, t);
    EXPECT_EQ(acquired(f), (std::set<int64_t>{4, 5})) << "run " << run << ": 0-3 were finished";
    // Released, for the next run to find them again.
    auto r = acknowledge(c, "g", "m" + std::to_string(run), 1, t, {{4, 5, {2}}});
    ASSERT_EQ(r.responses.at(0).partitions.at(0).error_code, 0);
  }
}

struct group_view {
  int16_t code = -1;
  std::string state;
  int32_t epoch = -1;
};
group_view describe_group(frame_client& c, const std::string& group) {
  msg::share_group_describe_request req;
  req.group_ids = {group};
  auto r = call<msg::share_group_describe_response>(c, describe_key, 1, req);
  if (!r || r->groups.empty()) return {};
  return {r->groups[0].error_code, r->groups[0].group_state, r->groups[0].group_epoch};
}

// The end offset of the __consumer_offsets partition a group lives in.
int64_t group_partition_end(frame_client& c, const std::string& group) {
  msg::list_offsets_request req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = groups::offsets_topic_name;
  auto& p = t.partitions.emplace_back();
  p.partition_index = groups::partition_for(group, 50);
  p.timestamp = -1;
  auto r = call<msg::list_offsets_response>(c, 2, 7, req);
  if (!r || r->topics.empty() || r->topics[0].partitions.empty()) return -2;
  const auto& rp = r->topics[0].partitions[0];
  return rp.error_code != 0 ? -rp.error_code : rp.offset;
}

// A share group's record (its epoch, the topics it was assigned) is in its
// __consumer_offsets partition, as a consumer group's: written with
// acks=all, written again when that fails, and read back after a restart.
TEST(share_api, a_share_groups_record_is_in_consumer_offsets_written_again_after_a_failure) {
  mosaic::testing::temp_dir dir;
  constexpr int8_t topic_resource = 2;
  int32_t epoch = 0;
  {
    test_broker b(quick, &dir);
    frame_client c(b.port());
    mosaic::testing::find_coordinator(c, "g");
    create_topic(c, "r");
    // The partition refuses writes (one replica, two needed).
    ASSERT_EQ(
        mosaic::testing::set_resource_config(c, topic_resource, groups::offsets_topic_name, "min.insync.replicas", "2"),
        0);
    auto h = heartbeat(c, "g", "m", 0, std::vector<std::string>{"r"});
    ASSERT_EQ(h.error_code, 0);
    epoch = h.member_epoch;
    EXPECT_EQ(group_partition_end(c, "g"), 0) << "the record could not be written";
    EXPECT_EQ(describe_group(c, "g").epoch, epoch) << "the group is served meanwhile";
    ASSERT_EQ(
        mosaic::testing::set_resource_config(c, topic_resource, groups::offsets_topic_name, "min.insync.replicas", "1"),
        0);
    int64_t end = 0;
    for (auto until = std::chrono::steady_clock::now() + 10s;
         (end = group_partition_end(c, "g")) <= 0 && std::chrono::steady_clock::now() < until;)
      std::this_thread::sleep_for(50ms);
    EXPECT_GT(end, 0) << "written again once the partition takes writes";
  }
  test_broker b(quick, &dir);
  frame_client c(b.port());
  mosaic::testing::find_coordinator(c, "g");
  auto v = describe_group(c, "g");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.state, "Empty") << "members are not kept";
  EXPECT_GE(v.epoch, epoch) << "(its member's session ended meanwhile: a later epoch)";
  // The topics it was assigned are known: their share-partitions described.
  msg::describe_share_group_offsets_request req;
  req.groups.emplace_back().group_id = "g";
  auto o = call<msg::describe_share_group_offsets_response>(c, describe_offsets_key, 1, req);
  ASSERT_TRUE(o);
  ASSERT_EQ(o->groups.size(), 1u);
  ASSERT_EQ(o->groups[0].topics.size(), 1u);
  EXPECT_EQ(o->groups[0].topics[0].topic_name, "r");
}

// Share groups once kept their records in a log of the broker's own,
// __share_groups-0: a record found there is moved into the group's
// __consumer_offsets partition when that partition is loaded.
TEST(share_api, a_group_record_of_the_brokers_own_log_moves_into_consumer_offsets) {
  mosaic::testing::temp_dir dir("mosaic_share_own_log");
  uuid t;
  {
    test_broker b(quick, &dir);
    frame_client c(b.port());
    t = create_topic(c, "o");
  }
  {
    log::log_manager_options o;
    o.dirs = {dir.path() / "data"};
    o.background = false;
    auto logs = log::log_manager::open(o);
    ASSERT_TRUE(logs);
    auto own = (*logs)->get("__share_groups", 0);
    if (!own) own = (*logs)->create("__share_groups", 0, log::log_config{});
    ASSERT_TRUE(own);
    groups::share_state_log sl;
    sl.put_group("g", 7, {}, {t});
    auto bytes = sl.take();
    auto r = (*own)->append(bytes, 0);
    ASSERT_TRUE(r.io.ok() && !r.refused);
  }
  for (int run = 0; run < 2; ++run) {  // moved, then read from __consumer_offsets after a restart
    test_broker b(quick, &dir);
    frame_client c(b.port());
    mosaic::testing::find_coordinator(c, "g");
    auto v = describe_group(c, "g");
    EXPECT_EQ(v.code, 0) << "run " << run;
    EXPECT_EQ(v.epoch, 7) << "run " << run;
    if (run == 0) {
      int64_t end = 0;
      for (auto until = std::chrono::steady_clock::now() + 10s;
           (end = group_partition_end(c, "g")) <= 0 && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(50ms);
      EXPECT_GT(end, 0) << "written into __consumer_offsets";
    }
  }
}

}  // namespace
}  // namespace mosaic::kafka
