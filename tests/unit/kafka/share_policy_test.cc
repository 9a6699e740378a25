// Share policy plugins through a whole broker: the backoff policy's delays
// and renewal cap, a policy that cannot bend the kernel's rules, and a hot
// swap between policies while workers acknowledge (nothing lost, nothing
// accepted delivered again).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kafka_messages.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/share_calls.h"
#include "tests/support/test_broker.h"

namespace mosaic::kafka {
namespace {

using mosaic::testing::frame_client;
using mosaic::testing::temp_dir;
using mosaic::testing::test_broker;
using namespace std::chrono_literals;

constexpr int16_t invalid_record_state = 121;

std::vector<std::string> settings(const std::string& policy) {
  return {"group.share.session.timeout.ms=60000", "group.share.heartbeat.interval.ms=100",
          "group.share.min.record.lock.duration.ms=1000", "group.share.policy=" + policy,
          "plugins.load=[{name: mosaic.share_policy.backoff, config: {backoff.initial.ms: 300, backoff.max.ms: 600, "
          "renew.max: 2}}, {name: mosaic.share_policy.default}]"};
}

uuid create_topic(frame_client& c, const std::string& name) { return mosaic::testing::create_share_topic(c, name); }

void produce(frame_client& c, const std::string& topic, int n) { mosaic::testing::produce_values(c, topic, n); }

void earliest(frame_client& c, const std::string& group) {
  ASSERT_EQ(mosaic::testing::set_group_config(c, group, "share.auto.offset.reset", "earliest"), 0);
}

int32_t join(frame_client& c, const std::string& group, const std::string& member, const std::string& topic) {
  auto r = mosaic::testing::share_heartbeat(c, group, member, 0, std::vector<std::string>{topic});
  EXPECT_EQ(r.error_code, 0);
  return r.member_epoch;
}

// One ShareFetch (with piggybacked acknowledgements of partition 0); the
// acquired offsets with their delivery counts.
struct fetched {
  int16_t ack_error = 0;
  std::map<int64_t, int16_t> records;
};

fetched take(frame_client& c, const std::string& group, const std::string& member, int32_t epoch, const uuid& topic,
             const std::map<int64_t, int8_t>& acks, int32_t max_records = 10, int32_t wait_ms = 0) {
  std::vector<mosaic::testing::share_acks> batches;
  for (const auto& [o, type] : acks) batches.push_back({o, o, {type}});
  auto r = mosaic::testing::share_fetch(c, group, member, epoch, topic, batches, max_records, wait_ms);
  fetched out;
  EXPECT_EQ(r.error_code, 0) << r.error_message.value_or("");
  for (const auto& rt : r.responses)
    for (const auto& rp : rt.partitions) {
      out.ack_error = rp.acknowledge_error_code;
      for (const auto& a : rp.acquired_records)
        for (int64_t o = a.first_offset; o <= a.last_offset; ++o) out.records[o] = a.delivery_count;
    }
  return out;
}

TEST(share_policy, backoff_delays_redelivery_and_caps_renewals) {
  test_broker b(settings("mosaic.share_policy.backoff"));
  ASSERT_EQ(b.node().share_policy().current_name(), "mosaic.share_policy.backoff");
  frame_client c(b.port());
  const uuid t = create_topic(c, "b");
  earliest(c, "g");
  produce(c, "b", 1);
  join(c, "g", "m", "b");
  int32_t epoch = 0;
  ASSERT_EQ(take(c, "g", "m", epoch++, t, {}).records.size(), 1u);
  const auto released = std::chrono::steady_clock::now();
  EXPECT_TRUE(take(c, "g", "m", epoch++, t, {{0, 2}}).records.empty()) << "not offered again at once";
  // Offered again 300 ms after the first delivery's release.
  fetched again;
  while (again.records.empty() && std::chrono::steady_clock::now() - released < 3s)
    again = take(c, "g", "m", epoch++, t, {}, 10, 100);
  const auto waited = std::chrono::steady_clock::now() - released;
  ASSERT_EQ(again.records.size(), 1u);
  EXPECT_EQ(again.records.at(0), 2);
  EXPECT_GE(waited, 290ms);
  // Two renewals are granted, the third refused.
  for (int i = 0; i < 3; ++i) {
    auto r = mosaic::testing::share_acknowledge(c, "g", "m", epoch++, t, {{0, 0, {4}}}, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->responses.at(0).partitions.at(0).error_code, i < 2 ? 0 : invalid_record_state) << i;
  }
}

TEST(share_policy, an_unknown_policy_is_refused_at_start_up) {
  auto cfg = config::parse_broker_config("", "<test>", {"group.share.policy=mosaic.codec.gzip"}, ".");
  ASSERT_TRUE(cfg);
  app::node n(*cfg, app::builtin_plugins());
  auto s = n.load_plugins(true);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a share policy"), std::string::npos) << s.message();
  auto cfg2 = config::parse_broker_config("", "<test>", {"group.share.policy=mosaic.share_policy.nope"}, ".");
  ASSERT_TRUE(cfg2);
  app::node n2(*cfg2, app::builtin_plugins());
  EXPECT_FALSE(n2.load_plugins(true).ok());
}

// Workers accept most records and release some while the policy is swapped
// back and forth; every record is accepted exactly once, and no accepted
// record is handed out again.
TEST(share_policy, a_hot_swap_while_workers_acknowledge_loses_nothing) {
  temp_dir dir;
  const std::string policies[] = {"mosaic.share_policy.default", "mosaic.share_policy.backoff"};
  test_broker b(settings(policies[0]), &dir);
  const int records = 5000;
  uuid t;
  {
    frame_client c(b.port());
    t = create_topic(c, "w");
    earliest(c, "g");
    produce(c, "w", records);
  }
  std::mutex mu;
  std::map<int64_t, int> accepted;
  std::atomic<int> redelivered_after_accept{0};
  std::atomic<bool> stop{false};
  auto worker = [&](int id) {
    frame_client c(b.port());
    const std::string member = "w" + std::to_string(id);
    join(c, "g", member, "w");
    int32_t epoch = 0;
    std::map<int64_t, int8_t> acks;
    int round = 0;
    while (!stop) {
      auto f = take(c, "g", member, epoch++, t, acks, 25, 50);
      if (f.ack_error != 0) ADD_FAILURE() << "acknowledgements refused: " << f.ack_error;
      {
        std::lock_guard g(mu);
        for (const auto& [o, type] : acks)
          if (type == 1) ++accepted[o];
        for (const auto& [o, count] : f.records)
          if (accepted.count(o)) ++redelivered_after_accept;
      }
      acks.clear();
      for (const auto& [o, count] : f.records) acks[o] = (++round % 7 == 0 && count < 3) ? 2 : 1;
    }
    if (!acks.empty()) {  // the last acknowledgements, closing the session
      std::vector<mosaic::testing::share_acks> last;
      for (const auto& [o, type] : acks) last.push_back({o, o, {type}});
      auto r = mosaic::testing::share_acknowledge(c, "g", member, -1, t, last);
      std::lock_guard g(mu);
      if (r && r->responses.at(0).partitions.at(0).error_code == 0)
        for (const auto& [o, type] : acks)
          if (type == 1) ++accepted[o];
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) workers.emplace_back(worker, i);
  int swaps = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    auto fresh = config::parse_broker_config(
        "", "<test>",
        [&] {
          auto all =
              std::vector<std::string>{"log.dirs=[" + (dir.path() / "data").string() + "]",
                                       "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]"};
          for (auto& s : settings(policies[(swaps + 1) % 2])) all.push_back(s);
          return all;
        }(),
        dir.path());
    ASSERT_TRUE(fresh);
    ASSERT_TRUE(b.node().reload_plugins(*fresh).ok());
    ++swaps;
    EXPECT_EQ(b.node().share_policy().current_name(), policies[swaps % 2]);
    std::lock_guard g(mu);
    if (static_cast<int>(accepted.size()) == records) break;
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_GE(swaps, 4);
  EXPECT_EQ(redelivered_after_accept.load(), 0);
  ASSERT_EQ(static_cast<int>(accepted.size()), records);
  for (const auto& [o, n] : accepted) EXPECT_EQ(n, 1) << "offset " << o << " accepted " << n << " times";
}

}  // namespace
}  // namespace mosaic::kafka
