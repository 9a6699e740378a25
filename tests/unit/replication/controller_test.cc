// The controller's decisions as records (kernel/replication/controller.h),
// applied to a real metadata image the way every broker applies them.
#include "kernel/replication/controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace mosaic::replication {
namespace {

using metadata::broker_fence_record;
using metadata::broker_record;
using metadata::image;
using metadata::partition_change_record;
using metadata::partition_record;
using metadata::record;

metadata::uuid topic_id() {
  metadata::uuid u{};
  u[0] = 7;
  return u;
}

broker_record broker(int32_t id, int64_t epoch, bool fenced = false, std::optional<std::string> rack = std::nullopt) {
  broker_record b;
  b.id = id;
  b.host = "127.0.0.1";
  b.port = 9000 + id;
  b.epoch = epoch;
  b.rack = std::move(rack);
  b.fenced = fenced;
  return b;
}

// Brokers 1-3 unfenced, topic "t" with one partition on [1,2,3] led by 1.
image three_brokers(int min_insync = 2) {
  image img;
  for (int32_t id = 1; id <= 3; ++id) img.apply(broker(id, 10 + id));
  img.apply(metadata::topic_record{"t", topic_id()});
  partition_record p;
  p.topic_id = topic_id();
  p.partition = 0;
  p = to_record(p, initial_state({1, 2, 3}, view_of(img)));
  img.apply(p);
  img.apply(metadata::config_record{2, "t", "min.insync.replicas", std::to_string(min_insync)});
  return img;
}

// Applies an entry as the metadata store does: whole, if it checks out.
bool commit(image& img, const std::vector<record>& entry) {
  if (!img.check(entry).ok()) return false;
  for (const auto& r : entry) img.apply(r);
  return true;
}

const partition_record& part(const image& img) { return img.find("t")->partitions.at(0); }

contact heard(int32_t self, std::set<int32_t> ids) { return contact{self, std::move(ids), {}}; }

TEST(controller, a_silent_broker_is_fenced_and_its_partitions_move) {
  image img = three_brokers();
  const controller_settings s;
  EXPECT_TRUE(reconcile(img, heard(2, {1, 2, 3}), s).empty()) << "everyone heard: nothing to do";
  auto entry = reconcile(img, heard(2, {2, 3}), s);
  ASSERT_TRUE(commit(img, entry));
  EXPECT_TRUE(img.brokers().at(1).fenced);
  EXPECT_EQ(part(img).leader, 2);
  EXPECT_EQ(part(img).isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(part(img).leader_epoch, 1);
  EXPECT_EQ(part(img).partition_epoch, 1);
  EXPECT_TRUE(reconcile(img, heard(2, {2, 3}), s).empty()) << "settled";
}

TEST(controller, a_fenced_broker_heard_again_is_unfenced_but_not_put_back_in_the_isr) {
  image img = three_brokers();
  const controller_settings s;
  ASSERT_TRUE(commit(img, reconcile(img, heard(2, {2, 3}), s)));
  ASSERT_TRUE(commit(img, reconcile(img, heard(2, {1, 2, 3}), s)));
  EXPECT_FALSE(img.brokers().at(1).fenced);
  EXPECT_EQ(part(img).isr, (std::vector<int32_t>{2, 3})) << "it rejoins through its leader's AlterPartition";
}

TEST(controller, unknown_brokers_are_left_alone_until_a_session_has_passed) {
  image img = three_brokers();
  contact c = heard(2, {2});
  c.unknown = {1, 3};
  EXPECT_TRUE(reconcile(img, c, {}).empty());
}

TEST(controller, a_stale_decision_is_refused_by_the_image) {
  image img = three_brokers();
  const controller_settings s;
  auto first = reconcile(img, heard(2, {2, 3}), s);
  auto stale = reconcile(img, heard(3, {2, 3}), s);  // another controller, same image
  ASSERT_TRUE(commit(img, first));
  EXPECT_FALSE(commit(img, stale)) << "decided on partition epoch 0, which is gone";
}

TEST(controller, below_min_isr_leavers_become_eligible_and_one_leads_when_the_isr_is_empty) {
  image img = three_brokers(2);
  const controller_settings s;
  ASSERT_TRUE(commit(img, reconcile(img, heard(1, {1}), s)));  // 2 and 3 fenced
  EXPECT_EQ(part(img).isr, (std::vector<int32_t>{1}));
  // One at a time, as Kafka fences them: 2 left while the ISR still had
  // min ISR members, so only 3, which took it below, is eligible.
  EXPECT_EQ(part(img).elr, (std::vector<int32_t>{3}));
  // The leader dies too; 3 comes back: the ELR member leads.
  img.apply(broker_fence_record{1, 11, true, false});
  ASSERT_TRUE(commit(img, reconcile(img, heard(3, {3}), s)));
  EXPECT_EQ(part(img).leader, 3);
  EXPECT_EQ(part(img).isr, (std::vector<int32_t>{3}));
}

TEST(controller, a_registration_takes_the_restarted_broker_out_of_every_isr_at_once) {
  image img = three_brokers();
  auto entry = registration_records(img, broker(1, 20, true), {});
  ASSERT_EQ(entry.size(), 2u);
  ASSERT_TRUE(commit(img, entry));
  EXPECT_EQ(img.brokers().at(1).epoch, 20);
  EXPECT_TRUE(img.brokers().at(1).fenced);
  EXPECT_EQ(part(img).leader, 2) << "it led; leadership moved in the same entry";
  EXPECT_EQ(part(img).isr, (std::vector<int32_t>{2, 3}));
  // Heard from: unfenced; it rejoins the ISR by fetching.
  ASSERT_TRUE(commit(img, reconcile(img, heard(2, {1, 2, 3}), {})));
  EXPECT_FALSE(img.brokers().at(1).fenced);
}

TEST(controller, a_controlled_shutdown_hands_leadership_over_and_is_not_undone_while_it_runs) {
  image img = three_brokers();
  auto entry = controlled_shutdown_records(img, 1, 11, {});
  ASSERT_TRUE(commit(img, entry));
  EXPECT_TRUE(img.brokers().at(1).fenced);
  EXPECT_TRUE(img.brokers().at(1).shutting_down);
  EXPECT_EQ(part(img).leader, 2);
  EXPECT_TRUE(reconcile(img, heard(2, {1, 2, 3}), {}).empty()) << "still heard, but shutting down";
}

TEST(controller, a_reassignment_adds_first_and_removes_once_the_new_replicas_are_in_sync) {
  image img = three_brokers();
  img.apply(broker(4, 14));
  const controller_settings s;
  // Bad targets: nothing to propose.
  EXPECT_EQ(reassign(img, "t", 0, std::vector<int32_t>{1, 9}).error, change_error::invalid_replica_assignment);
  EXPECT_EQ(reassign(img, "t", 0, std::vector<int32_t>{4, 4}).error, change_error::invalid_replica_assignment);
  EXPECT_EQ(reassign(img, "t", 0, std::nullopt).error, change_error::no_reassignment_in_progress);
  EXPECT_EQ(reassign(img, "t", 3, std::vector<int32_t>{1}).error, change_error::unknown_topic_or_partition);
  EXPECT_FALSE(reassign(img, "t", 0, std::vector<int32_t>{1, 2, 3}).record) << "already there";

  // [1,2,3] -> [4,2,3]: 4 is added, 1 (the leader) will go.
  auto r = reassign(img, "t", 0, std::vector<int32_t>{4, 2, 3});
  ASSERT_EQ(r.error, change_error::none);
  ASSERT_TRUE(commit(img, {partition_change_record{*r.record}}));
  EXPECT_EQ(part(img).replicas, (std::vector<int32_t>{4, 2, 3, 1}));
  EXPECT_EQ(part(img).adding, std::vector<int32_t>{4});
  EXPECT_EQ(part(img).removing, std::vector<int32_t>{1});
  EXPECT_EQ(part(img).leader, 1) << "nothing moves before 4 has the data";
  EXPECT_TRUE(reconcile(img, heard(2, {1, 2, 3, 4}), s).empty()) << "4 is not in the ISR yet";
  // 4 caught up: its leader put it in the ISR; the controller finishes.
  partition_record in_sync = part(img);
  in_sync.isr = {1, 2, 3, 4};
  in_sync.partition_epoch += 1;
  ASSERT_TRUE(commit(img, {partition_change_record{in_sync}}));
  ASSERT_TRUE(commit(img, reconcile(img, heard(2, {1, 2, 3, 4}), s)));
  EXPECT_EQ(part(img).replicas, (std::vector<int32_t>{4, 2, 3}));
  EXPECT_TRUE(part(img).adding.empty() && part(img).removing.empty());
  EXPECT_EQ(part(img).isr, (std::vector<int32_t>{2, 3, 4}));
  EXPECT_EQ(part(img).leader, 4) << "the leader left: the first in-sync target replica leads";
  EXPECT_GT(part(img).leader_epoch, 0);

  // Cancelled half-way: back to where it started.
  auto again = reassign(img, "t", 0, std::vector<int32_t>{1, 2, 3});
  ASSERT_TRUE(commit(img, {partition_change_record{*again.record}}));
  EXPECT_EQ(part(img).adding, std::vector<int32_t>{1});
  auto cancel = reassign(img, "t", 0, std::nullopt);
  ASSERT_EQ(cancel.error, change_error::none);
  ASSERT_TRUE(commit(img, {partition_change_record{*cancel.record}}));
  EXPECT_EQ(part(img).replicas, (std::vector<int32_t>{2, 3, 4}));
  EXPECT_TRUE(part(img).adding.empty() && part(img).removing.empty());
}

TEST(controller, leadership_goes_back_to_preferred_replicas_past_the_imbalance_share) {
  image img = three_brokers();
  const controller_settings s;
  EXPECT_TRUE(preferred_elections(img, 10, s).empty()) << "balanced";
  ASSERT_TRUE(commit(img, reconcile(img, heard(2, {2, 3}), s)));  // 1 fenced: 2 leads
  EXPECT_TRUE(preferred_elections(img, 10, s).empty()) << "1 is not live";
  ASSERT_TRUE(commit(img, reconcile(img, heard(2, {1, 2, 3}), s)));
  EXPECT_TRUE(preferred_elections(img, 10, s).empty()) << "1 is live but not in sync";
  partition_record in_sync = part(img);
  in_sync.isr = {1, 2, 3};
  in_sync.partition_epoch += 1;
  ASSERT_TRUE(commit(img, {partition_change_record{in_sync}}));
  EXPECT_TRUE(preferred_elections(img, 100, s).empty()) << "under the share allowed";
  ASSERT_TRUE(commit(img, preferred_elections(img, 10, s)));
  EXPECT_EQ(part(img).leader, 1);
}

TEST(controller, placement_spreads_replicas_over_racks_and_rotates_leaders) {
  std::vector<broker_place> brokers = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
  auto a = place(brokers, 0, 6, 3, 0);
  ASSERT_EQ(a.size(), 6u);
  std::map<int32_t, int> leaders;
  std::map<int32_t, std::string> rack = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
  for (const auto& replicas : a) {
    ASSERT_EQ(replicas.size(), 3u);
    std::set<std::string> racks;
    for (int32_t r : replicas) racks.insert(rack[r]);
    EXPECT_EQ(racks.size(), 3u) << "each partition in three racks";
    ++leaders[replicas.front()];
  }
  EXPECT_EQ(leaders.size(), 6u) << "every broker leads one partition";
  EXPECT_TRUE(place(brokers, 0, 1, 7, 0).empty()) << "more replicas than brokers";
  EXPECT_EQ(place({{9, std::nullopt}}, 3, 2, 1, 5), (std::vector<std::vector<int32_t>>{{9}, {9}}));
}

}  // namespace
}  // namespace mosaic::replication
