// A leader's and a follower's replica over real partition logs (files in a
// temp folder), their fetches handed across directly: the follower's log
// ends byte for byte the leader's, a diverging tail is cut, the high
// watermark and an acks=all wait follow.
#include <gtest/gtest.h>

#include "kernel/log/batch_builder.h"
#include "kernel/replication/partition_replica_log.h"
#include "tests/support/temp_dir.h"

namespace mosaic::replication {
namespace {

std::vector<uint8_t> batch_of(const std::string& tag, int n) {
  log::batch_builder b(1700000000000);
  for (int i = 0; i < n; ++i) b.add("k", tag + std::to_string(i), 1700000000000 + i);
  return b.finish();
}

std::unique_ptr<log::partition_log> open(const std::filesystem::path& dir) {
  auto l = log::partition_log::open(dir, {});
  EXPECT_TRUE(l.ok());
  return std::move(*l);
}

std::vector<uint8_t> all_of(const log::partition_log& l) {
  std::vector<uint8_t> out;
  auto r = l.read(l.log_start_offset(), SIZE_MAX, l.log_end_offset());
  if (r) (void)r->copy_to(out);
  return out;
}

struct pair_of_replicas {
  mosaic::testing::temp_dir dir{"replica_log"};
  std::unique_ptr<log::partition_log> leader_log = open(dir / "leader");
  std::unique_ptr<log::partition_log> follower_log = open(dir / "follower");
  partition_replica_log leader_view{*leader_log};
  partition_replica_log follower_view{*follower_log};
  replica leader{{1, 30000, 2, 1 << 20, 500}, leader_view};
  replica follower{{2, 30000, 2, 1 << 20, 500}, follower_view};
  std::map<broker_id, int64_t> epochs{{1, 10}, {2, 20}};
  int64_t now = 0;

  pair_of_replicas() {
    leader.set_broker_epoch(10);
    follower.set_broker_epoch(20);
  }
  void apply(const partition_state& p) {
    leader.apply(p, epochs, now);
    follower.apply(p, epochs, now);
  }
  void append(const std::string& tag, int n) {
    auto bytes = batch_of(tag, n);
    ASSERT_TRUE(leader_log->append(bytes, leader.leader_epoch()).ok());
    leader.on_appended(now);
  }
  // Fetch rounds until nothing more to send (at most `rounds`).
  void replicate(int rounds = 20) {
    for (int i = 0; i < rounds; ++i) {
      now += 10;
      follower.tick(now);
      auto out = follower.take();
      if (!out.fetch) continue;
      auto resp = leader.on_fetch(*out.fetch, now);
      follower.on_fetch_response(resp, now);
    }
  }
};

partition_state led_by_1(int32_t epoch, int32_t partition_epoch) {
  partition_state p;
  p.replicas = {1, 2};
  p.isr = {1, 2};
  p.leader = 1;
  p.leader_epoch = epoch;
  p.partition_epoch = partition_epoch;
  return p;
}

TEST(replica_log, a_follower_copies_the_leaders_log_and_the_high_watermark_follows) {
  pair_of_replicas r;
  r.apply(led_by_1(1, 0));
  ASSERT_EQ(r.leader.role(), replica_role::leader);
  ASSERT_EQ(r.follower.role(), replica_role::follower);
  r.append("a", 3);
  r.append("b", 2);
  EXPECT_EQ(r.leader.high_watermark(), 0) << "not until the follower has it";
  r.leader.await(7, r.leader_log->log_end_offset(), r.now + 1000);
  EXPECT_TRUE(r.leader.take().produced.empty());
  r.replicate();
  EXPECT_EQ(all_of(*r.follower_log), all_of(*r.leader_log)) << "byte for byte";
  EXPECT_EQ(r.follower_log->leader_epochs(), r.leader_log->leader_epochs());
  EXPECT_EQ(r.leader.high_watermark(), 5);
  EXPECT_EQ(r.follower.high_watermark(), 5);
  auto done = r.leader.take().produced;
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, 7u);
  EXPECT_EQ(done[0].error, replica_error::none);
  EXPECT_TRUE(r.follower_view.error().ok());
}

TEST(replica_log, a_follower_cuts_the_tail_the_new_leader_does_not_have_and_takes_its_history) {
  pair_of_replicas r;
  // Both had epoch 1's first batch; the follower (leader of epoch 1 then)
  // also wrote a second that never reached broker 1.
  auto first = batch_of("x", 2);
  auto first_copy = first;
  ASSERT_TRUE(r.leader_log->append(first, 1).ok());
  ASSERT_TRUE(r.follower_log->append(first_copy, 1).ok());
  auto lost = batch_of("lost", 3);
  ASSERT_TRUE(r.follower_log->append(lost, 1).ok());
  ASSERT_EQ(r.follower_log->log_end_offset(), 5);
  // Broker 1 leads epoch 2 and writes there.
  r.apply(led_by_1(2, 1));
  r.append("y", 4);
  r.replicate();
  EXPECT_EQ(all_of(*r.follower_log), all_of(*r.leader_log)) << "the lost batch is gone, epoch 2's arrived";
  EXPECT_EQ(r.follower_log->log_end_offset(), 6);
  EXPECT_EQ(r.follower_log->end_offset_for_epoch(1), (std::pair<int32_t, int64_t>{1, 2}));
  EXPECT_EQ(r.leader.high_watermark(), 6);
}

TEST(replica_log, a_fetch_from_an_earlier_incarnation_or_epoch_is_refused) {
  pair_of_replicas r;
  r.apply(led_by_1(3, 0));
  fetch_request f;
  f.replica = 2;
  f.broker_epoch = 19;  // before a restart
  f.current_leader_epoch = 3;
  EXPECT_EQ(r.leader.on_fetch(f, 0).error, replica_error::stale_broker_epoch);
  f.broker_epoch = 20;
  f.current_leader_epoch = 2;
  EXPECT_EQ(r.leader.on_fetch(f, 0).error, replica_error::fenced_leader_epoch);
  f.current_leader_epoch = 4;
  EXPECT_EQ(r.leader.on_fetch(f, 0).error, replica_error::unknown_leader_epoch);
  f.current_leader_epoch = 3;
  f.replica = 3;
  EXPECT_EQ(r.leader.on_fetch(f, 0).error, replica_error::not_leader_or_follower);
  EXPECT_EQ(r.follower.on_fetch(f, 0).error, replica_error::not_leader_or_follower);
}

TEST(replica_log, a_follower_behind_the_leaders_log_start_starts_over_there) {
  pair_of_replicas r;
  r.apply(led_by_1(1, 0));
  r.append("a", 3);
  r.append("b", 3);
  r.leader_log->set_high_watermark(6);
  ASSERT_TRUE(r.leader_log->delete_records_before(3).ok());
  r.replicate();
  EXPECT_EQ(r.follower_log->log_start_offset(), 3);
  EXPECT_EQ(r.follower_log->log_end_offset(), 6);
  EXPECT_EQ(all_of(*r.follower_log), all_of(*r.leader_log));
}

}  // namespace
}  // namespace mosaic::replication
