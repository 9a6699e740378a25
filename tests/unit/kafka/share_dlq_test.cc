// Dead letters (KIP-1191) through a whole broker and the dlq_topic handler
// plugin: a record waits in ARCHIVING while its dead-letter topic is
// missing, without holding up the records behind it; the write resumes
// after a restart; a handler with a queue of one still gets every letter
// written.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "kafka_messages.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/share_calls.h"
#include "tests/support/test_broker.h"

namespace mosaic::kafka {
namespace {

using mosaic::testing::call;
using mosaic::testing::frame_client;
using mosaic::testing::temp_dir;
using mosaic::testing::test_broker;
using namespace std::chrono_literals;

std::vector<std::string> settings(int64_t max_in_flight = 1024) {
  return {"group.share.session.timeout.ms=30000",
          "plugins.load=[{name: mosaic.dlq.topic, config: {max.in.flight: " + std::to_string(max_in_flight) + "}}]"};
}

uuid create_topic(frame_client& c, const std::string& name) { return mosaic::testing::create_share_topic(c, name); }

void produce(frame_client& c, const std::string& topic, int n) { mosaic::testing::produce_values(c, topic, n); }

void set_config(frame_client& c, const std::string& group, const std::string& name, const std::string& value) {
  ASSERT_EQ(mosaic::testing::set_group_config(c, group, name, value), 0);
}

void join(frame_client& c, const std::string& member, const std::string& topic) {
  ASSERT_EQ(mosaic::testing::share_heartbeat(c, "g", member, 0, std::vector<std::string>{topic}).error_code, 0);
}

std::set<int64_t> fetch(frame_client& c, const std::string& member, int32_t epoch, const uuid& topic,
                        const std::vector<std::pair<int64_t, int8_t>>& acks, int32_t max_records = 100) {
  std::vector<mosaic::testing::share_acks> batches;
  for (const auto& [o, type] : acks) batches.push_back({o, o, {type}});
  auto r = mosaic::testing::share_fetch(c, "g", member, epoch, topic, batches, max_records);
  EXPECT_EQ(r.error_code, 0);
  for (const auto& rt : r.responses)
    for (const auto& rp : rt.partitions) EXPECT_EQ(rp.acknowledge_error_code, 0);
  return mosaic::testing::acquired_offsets(r);
}

int64_t end_offset(frame_client& c, const std::string& topic) {
  msg::list_offsets_request req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.timestamp = -1;
  auto r = call<msg::list_offsets_response>(c, 2, 7, req);
  if (!r || r->topics.at(0).partitions.at(0).error_code != 0) return -1;
  return r->topics.at(0).partitions.at(0).offset;
}

int64_t start_offset(frame_client& c) {
  msg::describe_share_group_offsets_request req;
  req.groups.emplace_back().group_id = "g";
  // COORDINATOR_LOAD_IN_PROGRESS (the group's partition being read after a
  // restart) is asked again, as a client does.
  auto r = call<msg::describe_share_group_offsets_response>(c, 90, 1, req);
  for (int i = 0; i < 200 && r && !r->groups.empty() && r->groups[0].error_code == 14; ++i) {
    std::this_thread::sleep_for(50ms);
    r = call<msg::describe_share_group_offsets_response>(c, 90, 1, req);
  }
  if (!r || r->groups.at(0).topics.empty()) return -1;
  return r->groups.at(0).topics.at(0).partitions.at(0).start_offset;
}

bool eventually(const std::function<bool()>& f, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

TEST(share_dlq, a_missing_dead_letter_topic_holds_the_record_in_archiving_and_nothing_else) {
  temp_dir dir;
  uuid t;
  {
    test_broker b(settings(), &dir);
    frame_client c(b.port());
    t = create_topic(c, "q");
    set_config(c, "g", "share.auto.offset.reset", "earliest");
    set_config(c, "g", "errors.deadletterqueue.topic.name", "dlq.q");
    produce(c, "q", 3);
    join(c, "m", "q");
    ASSERT_EQ(fetch(c, "m", 0, t, {}, 1), (std::set<int64_t>{0}));
    // Offset 0 rejected: its dead-letter topic does not exist, so it waits
    // in ARCHIVING; the records behind it are delivered meanwhile.
    ASSERT_EQ(fetch(c, "m", 1, t, {{0, 3}}), (std::set<int64_t>{1, 2}));
    ASSERT_EQ(fetch(c, "m", 2, t, {{1, 1}, {2, 1}}), (std::set<int64_t>{}));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(start_offset(c), 0) << "ARCHIVING is not finished";
  }
  // After a restart the write resumes, and succeeds once the topic exists.
  test_broker b(settings(), &dir);
  frame_client c(b.port());
  EXPECT_EQ(start_offset(c), 0);
  create_topic(c, "dlq.q");
  EXPECT_TRUE(eventually([&] { return end_offset(c, "dlq.q") == 1; }));
  EXPECT_TRUE(eventually([&] { return start_offset(c) == 3; }));
}

TEST(share_dlq, two_hundred_rejects_at_once_all_reach_the_dead_letter_topic) {
  test_broker b(settings(1));
  frame_client c(b.port());
  const uuid t = create_topic(c, "q");
  create_topic(c, "dlq.q");
  set_config(c, "g", "share.auto.offset.reset", "earliest");
  set_config(c, "g", "errors.deadletterqueue.topic.name", "dlq.q");
  produce(c, "q", 200);
  join(c, "m", "q");
  auto got = fetch(c, "m", 0, t, {}, 200);
  ASSERT_EQ(got.size(), 200u);
  std::vector<std::pair<int64_t, int8_t>> rejects;
  for (int64_t o : got) rejects.emplace_back(o, 3);
  fetch(c, "m", 1, t, rejects);
  EXPECT_TRUE(eventually([&] { return end_offset(c, "dlq.q") == 200; })) << end_offset(c, "dlq.q");
  EXPECT_TRUE(eventually([&] { return start_offset(c) == 200; }));
}

TEST(share_dlq, a_group_reading_its_own_dead_letter_topic_archives_instead_of_looping) {
  test_broker b(settings());
  frame_client c(b.port());
  const uuid t = create_topic(c, "dlq.self");
  set_config(c, "g", "share.auto.offset.reset", "earliest");
  set_config(c, "g", "errors.deadletterqueue.topic.name", "dlq.self");
  produce(c, "dlq.self", 1);
  join(c, "m", "dlq.self");
  ASSERT_EQ(fetch(c, "m", 0, t, {}), (std::set<int64_t>{0}));
  fetch(c, "m", 1, t, {{0, 3}});
  EXPECT_TRUE(eventually([&] { return start_offset(c) == 1; }));
  EXPECT_EQ(end_offset(c, "dlq.self"), 1) << "nothing was written back into the topic";
}

}  // namespace
}  // namespace mosaic::kafka
