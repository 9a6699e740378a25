// The KIP-848 consumer group state machine, without a broker: joining,
// the target assignment, revocation before assignment, epoch fencing,
// static members, regular-expression subscriptions, session and
// revocation timeouts, and KIP-1251's commit epochs.
#include <algorithm>

#include "kernel/groups/consumer_group.h"

#include <gtest/gtest.h>

namespace mosaic::groups {
namespace {

using adapter::error;
using std::chrono::milliseconds;

adapter::uuid topic_id(uint8_t n) {
  adapter::uuid id{};
  id[15] = n;
  return id;
}

adapter::topic_info topic(const std::string& name, uint8_t n, int partitions) {
  adapter::topic_info t;
  t.name = name;
  t.id = topic_id(n);
  t.partitions.resize(static_cast<size_t>(partitions));
  return t;
}

// Round robin per topic over the members subscribed to it, in id order.
result<sdk::assignor_outcome> round_robin(const sdk::assignor_input& in) {
  sdk::assignor_outcome out;
  out.members.resize(in.members.size());
  for (size_t t = 0; t < in.topics.size(); ++t) {
    std::vector<size_t> subs;
    for (size_t m = 0; m < in.members.size(); ++m)
      for (size_t ti : in.members[m].topics)
        if (ti == t) subs.push_back(m);
    if (subs.empty()) continue;
    for (int32_t p = 0; p < in.topics[t].partitions; ++p)
      out.members[subs[static_cast<size_t>(p) % subs.size()]][t].push_back(p);
  }
  return out;
}

struct fixture {
  config::group_settings settings;
  int ids = 0;
  group_context ctx{clock::time_point{} + std::chrono::hours(1), 1000, settings,
                    [this](const std::string&) { return "m" + std::to_string(++ids); }};
  topic_summaries topics{{"t", topic_id(1), 4}};
  // A topic made since (kept sorted by name, as the metadata lists them).
  void add_topic(const std::string& name, uint8_t n, int32_t partitions) {
    topic_summary t{name, topic_id(n), partitions, name.rfind("__", 0) == 0};  // internal, as the broker marks them
    topics.insert(std::upper_bound(topics.begin(), topics.end(), t,
                                   [](const topic_summary& a, const topic_summary& b) { return a.name < b.name; }),
                  t);
  }
  bool assignor_fails = false;
  int assignor_runs = 0;
  assignor_fn assign = [this](const std::string&, const sdk::assignor_input& in, std::string* served_by) {
    ++assignor_runs;
    *served_by = "test";
    if (assignor_fails) return result<sdk::assignor_outcome>(status(errc::internal, "broken on purpose"));
    return round_robin(in);
  };
  topic_patterns patterns;
  consumer_group g{"g"};
  // The generation each assignor's slot runs (a swap moves it); empty:
  // not followed.
  std::function<uint64_t(const std::string&)> generation_of;

  adapter::consumer_heartbeat_result beat(adapter::consumer_heartbeat_request r) {
    r.group_id = "g";
    if (auto refused = consumer_group::check_heartbeat(r, settings, patterns)) return *refused;
    consumer_inputs in{topics, assign, patterns, generation_of};
    return g.heartbeat(r, false, ctx, in);
  }
  adapter::consumer_heartbeat_result join(std::vector<std::string> names = {"t"}) {
    adapter::consumer_heartbeat_request r;
    r.member_epoch = 0;
    r.subscribed_topic_names = std::move(names);
    r.rebalance_timeout_ms = 30000;
    return beat(r);
  }
  // A heartbeat that reports `owned` as what the member holds.
  adapter::consumer_heartbeat_result again(const std::string& id, int32_t epoch,
                                           std::optional<partition_set> owned = std::nullopt) {
    adapter::consumer_heartbeat_request r;
    r.member_id = id;
    r.member_epoch = epoch;
    if (owned) r.owned = to_list(*owned);
    return beat(r);
  }
  partition_set held(const std::string& id) const { return g.members.at(id).assigned; }
  static partition_set parts(std::set<int32_t> p) { return {{topic_id(1), std::move(p)}}; }
  void tick(int64_t ms) { ctx.now += milliseconds(ms); }
};

TEST(consumer_group, a_lone_member_gets_every_partition) {
  fixture f;
  auto r = f.join();
  ASSERT_EQ(r.code, error::none) << r.message;
  EXPECT_EQ(r.member_id, "m1");
  EXPECT_GT(r.member_epoch, 0);
  EXPECT_EQ(r.member_epoch, f.g.assignment_epoch);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(to_list(f.parts({0, 1, 2, 3})).size(), r.assignment->size());
  EXPECT_EQ(f.held("m1"), f.parts({0, 1, 2, 3}));
  EXPECT_EQ(f.g.state_name(), "Stable");
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
}

// A swap of the assignor (kernel/app/cluster_swaps.h): a new generation of
// the one that made the target, or another default assignor (which the
// coordinator puts first in the list), moves the epoch at the next
// heartbeat, and the new one computes the target, given the current one;
// while neither changes, nothing moves.
TEST(consumer_group, a_swapped_assignor_moves_the_epoch_and_makes_the_next_target) {
  fixture f;
  f.settings.consumer_assignors = {"uniform", "range"};
  uint64_t generation = 1;
  f.generation_of = [&](const std::string&) { return generation; };
  std::vector<std::string> asked;
  std::vector<size_t> current_given;  // partitions the assignor was told a member holds
  f.assign = [&](const std::string& name, const sdk::assignor_input& in, std::string* served_by) {
    asked.push_back(name);
    *served_by = "test";
    size_t n = 0;
    for (const auto& m : in.members)
      for (const auto& [t, parts] : m.current) n += parts.size();
    current_given.push_back(n);
    return round_robin(in);
  };
  auto r = f.join();
  ASSERT_EQ(r.code, error::none) << r.message;
  const int32_t e1 = r.member_epoch;
  ASSERT_EQ(asked, std::vector<std::string>{"uniform"});
  r = f.again("m1", e1, f.parts({0, 1, 2, 3}));
  EXPECT_EQ(r.member_epoch, e1);
  EXPECT_EQ(asked.size(), 1u) << "nothing changed: no new target";

  generation = 2;  // uniform swapped
  r = f.again("m1", e1, f.parts({0, 1, 2, 3}));
  EXPECT_GT(r.member_epoch, e1);
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked.back(), "uniform");
  EXPECT_EQ(current_given.back(), 4u) << "the new generation starts from the current target";
  const int32_t e2 = r.member_epoch;
  r = f.again("m1", e2, f.parts({0, 1, 2, 3}));
  EXPECT_EQ(r.member_epoch, e2);
  EXPECT_EQ(asked.size(), 2u);

  f.settings.consumer_assignors = {"range", "uniform"};  // range is the default now
  r = f.again("m1", e2, f.parts({0, 1, 2, 3}));
  EXPECT_GT(r.member_epoch, e2);
  EXPECT_EQ(asked.back(), "range");
  EXPECT_EQ(f.g.assignor, "range");
  EXPECT_EQ(f.held("m1"), f.parts({0, 1, 2, 3}));
}

TEST(consumer_group, revokes_before_it_assigns) {
  fixture f;
  const int32_t e1 = f.join().member_epoch;
  auto b = f.join();  // m2: the target gives it half
  const int32_t e2 = b.member_epoch;
  EXPECT_GT(e2, e1);
  EXPECT_EQ(f.held("m2"), partition_set{});  // m1 still holds them all
  EXPECT_EQ(f.g.state_name(), "Reconciling");
  EXPECT_EQ(b.heartbeat_interval_ms, reconciling_heartbeat_ms);

  // m1 is told to give up half, at its old epoch.
  auto a = f.again("m1", e1, f.parts({0, 1, 2, 3}));
  EXPECT_EQ(a.member_epoch, e1);
  EXPECT_EQ(f.g.members.at("m1").state, member_state::unrevoked_partitions);
  EXPECT_EQ(f.held("m1"), f.parts({0, 2}));
  // m2 gets nothing while m1 has not confirmed.
  f.again("m2", e2, partition_set{});
  EXPECT_EQ(f.held("m2"), partition_set{});
  // m1 confirms by leaving them out; it takes the new epoch.
  a = f.again("m1", e1, f.parts({0, 2}));
  EXPECT_EQ(a.member_epoch, e2);
  EXPECT_EQ(f.g.members.at("m1").state, member_state::stable);
  auto got = f.again("m2", e2, partition_set{});
  EXPECT_EQ(f.held("m2"), f.parts({1, 3}));
  ASSERT_TRUE(got.assignment);
  EXPECT_EQ(f.g.state_name(), "Stable");
}

TEST(consumer_group, an_epoch_the_member_never_had_is_fenced) {
  fixture f;
  const int32_t e1 = f.join().member_epoch;
  auto r = f.again("m1", e1 + 5);
  EXPECT_EQ(r.code, error::fenced_member_epoch);
  r = f.again("m9", e1);
  EXPECT_EQ(r.code, error::unknown_member_id);
  // The previous epoch is taken when the owned partitions show a lost answer.
  const int32_t e2 = f.join().member_epoch;  // m2
  f.again("m1", e1, f.parts({0, 1, 2, 3}));
  f.again("m1", e1, f.parts({0, 2}));  // m1 now at e2, previous e1
  r = f.again("m1", e1, f.parts({0, 2}));
  EXPECT_EQ(r.code, error::none) << r.message;
  EXPECT_EQ(r.member_epoch, e2);
  EXPECT_TRUE(r.assignment);               // told again what it missed
  r = f.again("m1", e1, f.parts({0, 1}));  // not a subset of what it holds
  EXPECT_EQ(r.code, error::fenced_member_epoch);
}

TEST(consumer_group, a_member_that_leaves_mid_revocation_frees_its_partitions) {
  fixture f;
  const int32_t e1 = f.join().member_epoch;
  const int32_t e2 = f.join().member_epoch;
  f.again("m1", e1, f.parts({0, 1, 2, 3}));  // revoking 1 and 3
  ASSERT_EQ(f.g.members.at("m1").state, member_state::unrevoked_partitions);
  adapter::consumer_heartbeat_request leave;
  leave.member_id = "m1";
  leave.member_epoch = -1;
  EXPECT_EQ(f.beat(leave).code, error::none);
  EXPECT_EQ(f.g.members.count("m1"), 0u);
  auto r = f.again("m2", e2, partition_set{});
  EXPECT_EQ(f.held("m2"), f.parts({0, 1, 2, 3}));
  EXPECT_GT(r.member_epoch, e2);
}

TEST(consumer_group, session_expiry_during_a_rebalance_removes_the_member) {
  fixture f;
  f.join();
  f.tick(30000);
  const int32_t e2 = f.join().member_epoch;  // m2 joins; m1 has not heartbeated for 30 s
  f.tick(15000);
  auto gone = f.g.expire(f.ctx);
  EXPECT_EQ(gone, std::vector<std::string>{"m1"});
  auto r = f.again("m2", e2, partition_set{});
  EXPECT_EQ(f.held("m2"), f.parts({0, 1, 2, 3}));
  EXPECT_GT(r.member_epoch, e2);
}

TEST(consumer_group, a_member_that_does_not_revoke_in_time_is_removed) {
  fixture f;
  const int32_t e1 = f.join().member_epoch;
  const int32_t e2 = f.join().member_epoch;
  f.again("m1", e1, f.parts({0, 1, 2, 3}));
  f.tick(29999);
  f.again("m2", e2, partition_set{});  // keeps m2's session
  EXPECT_TRUE(f.g.expire(f.ctx).empty());
  f.tick(1);
  EXPECT_EQ(f.g.expire(f.ctx), std::vector<std::string>{"m1"});
}

TEST(consumer_group, a_regex_subscription_follows_new_topics) {
  fixture f;
  adapter::consumer_heartbeat_request r;
  r.member_epoch = 0;
  r.subscribed_topic_regex = "t.*";
  auto a = f.beat(r);
  ASSERT_EQ(a.code, error::none) << a.message;
  EXPECT_EQ(f.held("m1"), f.parts({0, 1, 2, 3}));
  f.add_topic("t2", 2, 2);
  f.add_topic("other", 3, 2);
  auto b = f.again("m1", a.member_epoch, f.parts({0, 1, 2, 3}));
  EXPECT_GT(b.member_epoch, a.member_epoch);
  partition_set want = f.parts({0, 1, 2, 3});
  want[topic_id(2)] = {0, 1};
  EXPECT_EQ(f.held("m1"), want);
  // A pattern that does not compile is refused before the group.
  r.subscribed_topic_regex = "t(";
  EXPECT_EQ(f.beat(r).code, error::invalid_regular_expression);
}

TEST(consumer_group, a_static_member_back_under_a_new_id_keeps_its_assignment) {
  fixture f;
  adapter::consumer_heartbeat_request r;
  r.member_epoch = 0;
  r.instance_id = "host-1";
  r.subscribed_topic_names = std::vector<std::string>{"t"};
  auto first = f.beat(r);
  ASSERT_EQ(first.code, error::none);
  // Another member may not take the instance id while it is held.
  auto clash = f.beat(r);
  EXPECT_EQ(clash.code, error::unreleased_instance_id);
  adapter::consumer_heartbeat_request leave;
  leave.member_id = first.member_id;
  leave.member_epoch = -2;
  f.beat(leave);
  EXPECT_TRUE(f.g.members.at(first.member_id).left_static);
  auto back = f.beat(r);
  ASSERT_EQ(back.code, error::none) << back.message;
  EXPECT_NE(back.member_id, first.member_id);
  EXPECT_EQ(back.member_epoch, first.member_epoch);  // no new epoch
  EXPECT_EQ(f.held(back.member_id), f.parts({0, 1, 2, 3}));
}

TEST(consumer_group, a_failing_assignor_keeps_the_previous_target) {
  fixture f;
  const int32_t e1 = f.join().member_epoch;
  f.assignor_fails = true;
  const int32_t e2 = f.join().member_epoch;
  EXPECT_EQ(f.g.target.at("m1"), f.parts({0, 1, 2, 3}));
  EXPECT_EQ(f.g.target.count("m2"), 0u);
  EXPECT_EQ(f.g.assignment_epoch, e2);  // tried at this epoch; not again until it moves
  const int runs = f.assignor_runs;
  f.again("m1", e1);
  EXPECT_EQ(f.assignor_runs, runs);
}

TEST(consumer_group, a_commit_from_an_older_epoch_counts_only_for_partitions_held_since) {
  fixture f;
  const int32_t e1 = f.join().member_epoch;
  const int32_t e2 = f.join().member_epoch;
  f.again("m1", e1, f.parts({0, 1, 2, 3}));
  f.again("m1", e1, f.parts({0, 2}));  // m1 at e2, holding 0 and 2 since e1
  adapter::commit_request c;
  c.group_id = "g";
  c.member_id = "m1";
  c.generation_or_epoch = e1;
  c.offsets = {{"t", 0, 5, -1, std::nullopt}, {"t", 1, 5, -1, std::nullopt}};
  named_topics topics{{"t", topic("t", 1, 4)}};
  std::vector<bool> stale;
  EXPECT_EQ(f.g.check_commit(c, topics, stale), error::none);
  EXPECT_EQ(stale, (std::vector<bool>{false, true}));  // 1 went to m2
  c.generation_or_epoch = e2 + 1;
  EXPECT_EQ(f.g.check_commit(c, topics, stale), error::stale_member_epoch);
  EXPECT_EQ(f.g.check_fetch("m1", e2), error::none);
  EXPECT_EQ(f.g.check_fetch("m1", e1), error::none);
  EXPECT_EQ(f.g.check_fetch("m1", e2 + 1), error::stale_member_epoch);
}

TEST(consumer_group, a_subscription_by_name_gets_only_topics_that_exist_and_are_not_internal) {
  fixture f;
  f.add_topic("__consumer_offsets", 9, 50);
  f.add_topic("a", 2, 1);
  f.add_topic("z", 3, 1);
  auto a = f.join({"z", "missing", "__consumer_offsets", "t"});
  ASSERT_EQ(a.code, error::none) << a.message;
  partition_set want = f.parts({0, 1, 2, 3});
  want[topic_id(3)] = {0};
  EXPECT_EQ(f.held("m1"), want);
  EXPECT_EQ(f.g.subscribed_topics(f.topics, f.patterns), (std::set<std::string>{"t", "z"}));
}

TEST(consumer_group, members_sharing_a_pattern_and_a_member_with_another_get_what_each_subscribes_to) {
  fixture f;
  f.add_topic("t2", 2, 2);
  f.add_topic("z", 3, 1);
  f.add_topic("__t", 4, 3);  // internal: a pattern never matches it
  adapter::consumer_heartbeat_request r;
  r.member_epoch = 0;
  r.member_id = "m1";
  r.subscribed_topic_regex = "t.*";
  r.rebalance_timeout_ms = 30000;
  ASSERT_EQ(f.beat(r).code, error::none);
  r.member_id = "m2";
  ASSERT_EQ(f.beat(r).code, error::none);
  r.member_id = "m3";
  r.subscribed_topic_regex = "z";  // another pattern in the same heartbeats: matched on its own
  ASSERT_EQ(f.beat(r).code, error::none);
  EXPECT_EQ(f.g.subscribed_topics(f.topics, f.patterns), (std::set<std::string>{"t", "t2", "z"}));
  // The target: t's four and t2's two partitions between m1 and m2, z's to m3.
  const auto& target = f.g.target;
  std::map<uuid, std::set<int32_t>> pattern_side;
  for (const char* m : {"m1", "m2"})
    for (const auto& [id, parts] : target.at(m)) pattern_side[id].insert(parts.begin(), parts.end());
  EXPECT_EQ(pattern_side, (std::map<uuid, std::set<int32_t>>{{topic_id(1), {0, 1, 2, 3}}, {topic_id(2), {0, 1}}}));
  EXPECT_EQ(target.at("m3"), (partition_set{{topic_id(3), {0}}}));
}

TEST(consumer_group, requests_that_cannot_be_served_are_refused_before_the_group) {
  fixture f;
  adapter::consumer_heartbeat_request r;
  r.group_id = "g";
  r.member_epoch = 0;
  EXPECT_EQ(consumer_group::check_heartbeat(r, f.settings, f.patterns)->code, error::invalid_request);
  r.subscribed_topic_names = std::vector<std::string>{"t"};
  r.server_assignor = "nonesuch";
  EXPECT_EQ(consumer_group::check_heartbeat(r, f.settings, f.patterns)->code, error::unsupported_assignor);
  r.server_assignor.reset();
  r.member_epoch = 3;
  EXPECT_EQ(consumer_group::check_heartbeat(r, f.settings, f.patterns)->code, error::unknown_member_id);
  r.member_id = "m1";
  EXPECT_FALSE(consumer_group::check_heartbeat(r, f.settings, f.patterns));
}

}  // namespace
}  // namespace mosaic::groups
