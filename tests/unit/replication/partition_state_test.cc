// The controller's partition rules (KIP-966): who is in sync, who is
// eligible, who may lead, and which AlterPartition requests are refused.
#include "kernel/replication/partition_state.h"

#include <gtest/gtest.h>

namespace mosaic::replication {
namespace {

broker_view live(std::set<broker_id> ids) {
  broker_view v;
  v.unfenced = std::move(ids);
  for (broker_id b = 0; b < 5; ++b) v.epochs[b] = 10 + b;
  return v;
}

const partition_policy min2{2, false};

TEST(partition_state, a_new_partition_is_led_by_its_first_live_replica_with_the_live_ones_in_sync) {
  auto p = initial_state({2, 0, 1}, live({0, 1}));
  EXPECT_EQ(p.leader, 0);
  EXPECT_EQ(p.isr, (std::vector<broker_id>{0, 1}));
}

TEST(partition_state, losing_the_leader_elects_from_the_isr_and_moves_both_epochs) {
  auto p = initial_state({0, 1, 2}, live({0, 1, 2}));
  auto c = on_broker_gone(p, 0, live({1, 2}), min2);
  ASSERT_TRUE(c.changed);
  EXPECT_EQ(c.next.leader, 1);
  EXPECT_EQ(c.next.isr, (std::vector<broker_id>{1, 2}));
  EXPECT_EQ(c.next.leader_epoch, p.leader_epoch + 1);
  EXPECT_EQ(c.next.partition_epoch, p.partition_epoch + 1);
  EXPECT_TRUE(c.next.elr.empty()) << "the ISR is still at min ISR";
}

TEST(partition_state, below_min_isr_the_replicas_that_leave_become_eligible_and_lead_when_back) {
  auto p = initial_state({0, 1, 2}, live({0, 1, 2}));
  p = on_broker_gone(p, 2, live({0, 1}), min2).next;  // ISR [0,1]: at min ISR, no ELR
  EXPECT_TRUE(p.elr.empty());
  p = on_broker_gone(p, 1, live({0}), min2).next;  // ISR [0] < 2: 1 keeps its eligibility
  EXPECT_EQ(p.isr, (std::vector<broker_id>{0}));
  EXPECT_EQ(p.elr, (std::vector<broker_id>{1}));
  p = on_broker_gone(p, 0, live({}), min2).next;  // the leader goes too
  EXPECT_EQ(p.leader, no_leader);
  EXPECT_TRUE(p.isr.empty());
  EXPECT_EQ(p.elr, (std::vector<broker_id>{0, 1}));
  // 2 was out of sync before the ISR fell below min: never eligible.
  auto c = on_broker_back(p, live({2}), min2);
  EXPECT_EQ(c.next.leader, no_leader);
  EXPECT_FALSE(has_eligible_leader(p, live({2})));
  // 1 comes back: it leads, alone in the ISR.
  c = on_broker_back(p, live({1, 2}), min2);
  EXPECT_EQ(c.next.leader, 1);
  EXPECT_EQ(c.next.isr, (std::vector<broker_id>{1}));
  EXPECT_EQ(c.next.elr, (std::vector<broker_id>{0}));
  EXPECT_FALSE(c.unclean);
}

TEST(partition_state, an_unclean_restart_loses_eligibility_and_the_last_known_leader_is_remembered) {
  auto p = initial_state({0, 1, 2}, live({0, 1, 2}));
  p = on_broker_gone(p, 2, live({0, 1}), min2).next;
  p = on_broker_gone(p, 1, live({0}), min2).next;
  p = on_broker_gone(p, 0, live({}), min2).next;  // ELR [0,1]
  p = on_unclean_restart(p, 1, live({}), min2).next;
  EXPECT_EQ(p.elr, (std::vector<broker_id>{0}));
  p = on_unclean_restart(p, 0, live({}), min2).next;
  EXPECT_TRUE(p.elr.empty());
  EXPECT_TRUE(p.last_known_elr.empty()) << "a leader that lost data is not remembered as safe";
  EXPECT_FALSE(has_eligible_leader(p, live({0, 1, 2})));
  auto refused = elect_unclean(p, live({}), min2);
  EXPECT_EQ(refused.error, change_error::eligible_leaders_not_available);
  auto unclean = elect_unclean(p, live({2}), min2);
  ASSERT_EQ(unclean.error, change_error::none);
  EXPECT_TRUE(unclean.unclean);
  EXPECT_EQ(unclean.next.leader, 2);
  EXPECT_EQ(unclean.next.isr, (std::vector<broker_id>{2}));
}

TEST(partition_state, a_single_replica_comes_back_from_an_unclean_restart) {
  // Replication factor 1: no other copy can be better, so the restarted
  // broker stays eligible and leads again once it is live.
  partition_policy min1{1, false};
  auto p = initial_state({4}, live({4}));
  p = on_broker_gone(p, 4, live({}), min1).next;
  EXPECT_EQ(p.leader, no_leader);
  auto c = on_unclean_restart(p, 4, live({}), min1);
  EXPECT_FALSE(c.changed);
  auto back = on_broker_back(c.next, live({4}), min1);
  ASSERT_EQ(back.error, change_error::none);
  EXPECT_EQ(back.next.leader, 4);
  EXPECT_EQ(back.next.isr, (std::vector<broker_id>{4}));
  EXPECT_GT(back.next.leader_epoch, p.leader_epoch);
}

TEST(partition_state, with_min_isr_1_a_clean_last_leader_stays_eligible_and_leads_again) {
  partition_policy min1{1, false};
  auto p = initial_state({0, 1}, live({0, 1}));
  p = on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{0, 10}}, live({0, 1}), min1).next;  // ISR [0]
  p = on_broker_gone(p, 0, live({1}), min1).next;
  EXPECT_EQ(p.leader, no_leader) << "1 was out of sync: it may not lead";
  EXPECT_EQ(p.elr, (std::vector<broker_id>{0}));
  auto c = on_broker_back(p, live({0, 1}), min1);
  EXPECT_EQ(c.next.leader, 0);
}

TEST(partition_state, alter_partition_is_refused_for_stale_epochs_strangers_and_earlier_incarnations) {
  auto p = initial_state({0, 1, 2}, live({0, 1, 2}));
  p = on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{0, 10}, {1, 11}}, live({0, 1, 2}), min2).next;
  ASSERT_EQ(p.isr, (std::vector<broker_id>{0, 1}));
  const auto v = live({0, 1, 2});
  EXPECT_EQ(on_alter_isr(p, 1, p.leader_epoch, p.partition_epoch, {{1, 11}}, v, min2).error,
            change_error::not_leader_or_follower);
  EXPECT_EQ(on_alter_isr(p, 0, p.leader_epoch - 1, p.partition_epoch, {{0, 10}}, v, min2).error,
            change_error::fenced_leader_epoch);
  EXPECT_EQ(on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch - 1, {{0, 10}}, v, min2).error,
            change_error::invalid_update_version);
  EXPECT_EQ(on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{1, 11}}, v, min2).error,
            change_error::invalid_request)
      << "the leader must stay in the ISR";
  EXPECT_EQ(on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{0, 10}, {3, 13}}, v, min2).error,
            change_error::invalid_request)
      << "not a replica";
  EXPECT_EQ(
      on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{0, 10}, {1, 11}, {2, 12}}, live({0, 1}), min2).error,
      change_error::ineligible_replica)
      << "fenced";
  EXPECT_EQ(on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{0, 10}, {1, 11}, {2, 9}}, v, min2).error,
            change_error::ineligible_replica)
      << "fetched as an earlier incarnation";
  auto ok = on_alter_isr(p, 0, p.leader_epoch, p.partition_epoch, {{0, 10}, {1, 11}, {2, 12}}, v, min2);
  EXPECT_EQ(ok.error, change_error::none);
  EXPECT_EQ(ok.next.isr, (std::vector<broker_id>{0, 1, 2}));
  EXPECT_EQ(ok.next.leader_epoch, p.leader_epoch) << "an ISR change keeps the leader epoch";
  EXPECT_EQ(ok.next.partition_epoch, p.partition_epoch + 1);
}

TEST(partition_state, preferred_election_moves_leadership_back_when_the_preferred_replica_is_in_sync) {
  auto p = initial_state({0, 1, 2}, live({0, 1, 2}));
  EXPECT_EQ(elect_preferred(p, live({0, 1, 2}), min2).error, change_error::election_not_needed);
  p = on_broker_gone(p, 0, live({1, 2}), min2).next;
  EXPECT_EQ(elect_preferred(p, live({0, 1, 2}), min2).error, change_error::preferred_leader_not_available)
      << "0 is not in sync yet";
  p = on_alter_isr(p, 1, p.leader_epoch, p.partition_epoch, {{0, 10}, {1, 11}, {2, 12}}, live({0, 1, 2}), min2).next;
  auto c = elect_preferred(p, live({0, 1, 2}), min2);
  ASSERT_EQ(c.error, change_error::none);
  EXPECT_EQ(c.next.leader, 0);
  EXPECT_EQ(c.next.leader_epoch, p.leader_epoch + 1);
}

}  // namespace
}  // namespace mosaic::replication
