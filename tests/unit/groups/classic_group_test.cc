// The classic group state machine (JoinGroup/SyncGroup), without a broker:
// member ids, the rebalance barrier and its deadlines, the leader's
// assignment, static members, heartbeats, leaving, commits.
#include "kernel/groups/classic_group.h"

#include <gtest/gtest.h>

namespace mosaic::groups {
namespace {

using adapter::error;
using std::chrono::milliseconds;

struct fixture {
  config::group_settings settings = [] {
    config::group_settings s;
    s.initial_rebalance_delay_ms = 0;
    return s;
  }();
  int ids = 0;
  group_context ctx{clock::time_point{} + std::chrono::hours(1), 1000, settings,
                    [this](const std::string& p) { return p + "-" + std::to_string(++ids); }};
  classic_group g{"g"};
  waiter_id next = 1;

  adapter::join_request join_req(const std::string& member, std::vector<std::string> protocols = {"range"}) {
    adapter::join_request r;
    r.group_id = "g";
    r.member_id = member;
    r.protocol_type = "consumer";
    for (auto& p : protocols) r.protocols.push_back({p, {1, 2}});
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 20000;
    r.subscribed_topics = {"t"};
    r.require_known_member_id = true;  // JoinGroup v4+
    return r;
  }
  classic_effects join(const adapter::join_request& r, waiter_id* w = nullptr) {
    classic_effects fx;
    const waiter_id id = next++;
    if (w != nullptr) *w = id;
    g.join(r, id, ctx, fx);
    return fx;
  }
  // Joins a new member the v4 way (MEMBER_ID_REQUIRED, then again); the
  // member id and the second join's waiter.
  std::string join_new(waiter_id* w, std::vector<std::string> protocols = {"range"}) {
    auto first = join(join_req("", protocols));
    EXPECT_EQ(first.joins.size(), 1u);
    EXPECT_EQ(first.joins[0].result.code, error::member_id_required);
    const std::string id = first.joins[0].result.member_id;
    join(join_req(id, protocols), w);
    return id;
  }
  classic_effects sync(const std::string& member, int32_t generation,
                       std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments = {},
                       waiter_id* w = nullptr) {
    adapter::sync_request r;
    r.group_id = "g";
    r.member_id = member;
    r.generation = generation;
    r.assignments = std::move(assignments);
    classic_effects fx;
    const waiter_id id = next++;
    if (w != nullptr) *w = id;
    g.sync(r, id, ctx, fx);
    return fx;
  }
  classic_effects tick(int64_t ms) {
    ctx.now += milliseconds(ms);
    classic_effects fx;
    g.expire(ctx, fx);
    return fx;
  }
  const classic_effects::join_answer* answer_to(const classic_effects& fx, waiter_id w) {
    for (const auto& a : fx.joins)
      if (a.to == w) return &a;
    return nullptr;
  }
  // Two members in a stable generation: a (the leader) and b.
  void stable_pair(std::string& a, std::string& b) {
    settings.initial_rebalance_delay_ms = 3000;
    waiter_id wa = 0, wb = 0;
    a = join_new(&wa);
    b = join_new(&wb);
    auto fx = tick(3000);
    ASSERT_EQ(fx.joins.size(), 2u);
    sync(b, 1);
    auto done = sync(a, 1, {{a, {7}}, {b, {8}}});
    ASSERT_EQ(done.syncs.size(), 2u);
    ASSERT_EQ(g.state, classic_state::stable);
  }
};

TEST(classic_group, a_new_member_gets_an_id_to_join_with) {
  fixture f;
  auto fx = f.join(f.join_req(""));
  ASSERT_EQ(fx.joins.size(), 1u);
  EXPECT_EQ(fx.joins[0].result.code, error::member_id_required);
  EXPECT_EQ(fx.joins[0].result.member_id, "member-1");
  EXPECT_TRUE(f.g.members.empty());
  EXPECT_EQ(f.g.pending.count("member-1"), 1u);
  // An id that is never used is forgotten after the session timeout.
  f.tick(10001);
  EXPECT_TRUE(f.g.pending.empty());
}

TEST(classic_group, the_first_rebalance_waits_the_initial_delay_for_more_members) {
  fixture f;
  f.settings.initial_rebalance_delay_ms = 3000;
  waiter_id wa = 0, wb = 0;
  const auto a = f.join_new(&wa);
  EXPECT_EQ(f.g.state, classic_state::preparing_rebalance);
  f.tick(2000);
  const auto b = f.join_new(&wb);
  EXPECT_TRUE(f.tick(2999).joins.empty());  // each arrival waits a little longer
  auto fx = f.tick(1);
  ASSERT_EQ(fx.joins.size(), 2u);
  EXPECT_EQ(f.g.generation, 1);
  EXPECT_EQ(f.g.state, classic_state::completing_rebalance);
  const auto* leader = f.answer_to(fx, wa);
  ASSERT_NE(leader, nullptr);
  EXPECT_EQ(leader->result.leader, a);
  EXPECT_EQ(leader->result.members.size(), 2u);  // only the leader sees the members
  const auto* follower = f.answer_to(fx, wb);
  ASSERT_NE(follower, nullptr);
  EXPECT_TRUE(follower->result.members.empty());
  EXPECT_EQ(follower->result.member_id, b);
  EXPECT_EQ(follower->result.protocol_name, "range");
}

TEST(classic_group, the_leaders_assignment_reaches_every_member_once_on_disk) {
  fixture f;
  std::string a, b;
  f.settings.initial_rebalance_delay_ms = 3000;
  waiter_id wa = 0, wb = 0, sb = 0, sa = 0;
  a = f.join_new(&wa);
  b = f.join_new(&wb);
  f.tick(3000);
  auto waiting = f.sync(b, 1, {}, &sb);
  EXPECT_TRUE(waiting.syncs.empty());  // the follower waits for the leader
  auto fx = f.sync(a, 1, {{a, {7}}, {b, {8}}}, &sa);
  EXPECT_TRUE(fx.persist);
  ASSERT_EQ(fx.syncs.size(), 2u);
  for (const auto& s : fx.syncs) {
    EXPECT_TRUE(s.after_write);
    EXPECT_EQ(s.result.code, error::none);
    EXPECT_EQ(s.result.assignment, std::vector<uint8_t>{static_cast<uint8_t>(s.to == sa ? 7 : 8)});
  }
  EXPECT_EQ(f.g.state, classic_state::stable);
}

TEST(classic_group, the_protocol_is_the_common_one_most_members_prefer) {
  fixture f;
  f.settings.initial_rebalance_delay_ms = 3000;
  waiter_id w = 0;
  f.join_new(&w, {"range", "roundrobin"});
  f.join_new(&w, {"roundrobin", "range"});
  f.join_new(&w, {"roundrobin", "sticky"});
  f.tick(3000);
  EXPECT_EQ(f.g.protocol, "roundrobin");  // range is not everyone's
  auto refused = f.join(f.join_req("", {"cooperative-sticky"}));
  ASSERT_EQ(refused.joins.size(), 1u);
  EXPECT_EQ(refused.joins[0].result.code, error::inconsistent_group_protocol);
}

TEST(classic_group, a_member_that_does_not_rejoin_in_time_is_removed) {
  fixture f;
  std::string a, b;
  f.stable_pair(a, b);
  // b rejoins with a new subscription: a rebalance that a must join.
  auto req = f.join_req(b);
  req.subscribed_topics = {"t", "u"};
  req.protocols[0].second = {9};
  waiter_id wb = 0;
  f.join(req, &wb);
  EXPECT_EQ(f.g.state, classic_state::preparing_rebalance);
  EXPECT_EQ(f.g.heartbeat(1, {a, std::nullopt}, f.ctx), error::rebalance_in_progress);
  auto fx = f.tick(20000);  // a's heartbeat kept it alive, but it did not rejoin
  ASSERT_EQ(fx.joins.size(), 1u);
  EXPECT_EQ(fx.joins[0].to, wb);
  EXPECT_EQ(fx.joins[0].result.leader, b);
  EXPECT_EQ(f.g.members.size(), 1u);
  EXPECT_EQ(f.g.generation, 2);
}

TEST(classic_group, a_silent_member_is_removed_and_the_group_rebalances) {
  fixture f;
  std::string a, b;
  f.stable_pair(a, b);
  f.tick(5000);
  EXPECT_EQ(f.g.heartbeat(1, {a, std::nullopt}, f.ctx), error::none);
  EXPECT_EQ(f.g.heartbeat(0, {a, std::nullopt}, f.ctx), error::illegal_generation);
  f.tick(6000);  // b's session (10 s) is over; a's is not
  EXPECT_EQ(f.g.members.count(b), 0u);
  EXPECT_EQ(f.g.state, classic_state::preparing_rebalance);
  EXPECT_EQ(f.g.heartbeat(1, {b, std::nullopt}, f.ctx), error::unknown_member_id);
}

TEST(classic_group, a_member_that_never_syncs_is_removed_at_the_rebalance_timeout) {
  fixture f;
  f.settings.initial_rebalance_delay_ms = 3000;
  waiter_id wa = 0, wb = 0, sa = 0;
  const auto a = f.join_new(&wa);
  const auto b = f.join_new(&wb);
  f.tick(3000);
  f.sync(b, 1, {}, &sa);         // the leader, a, never sends its assignment
  for (int i = 0; i < 2; ++i) {  // both stay alive
    f.tick(9000);
    EXPECT_EQ(f.g.heartbeat(1, {a, std::nullopt}, f.ctx), error::none);
    EXPECT_EQ(f.g.heartbeat(1, {b, std::nullopt}, f.ctx), error::none);
  }
  auto fx = f.tick(2000);
  EXPECT_EQ(f.g.members.count(a), 0u);
  // b's SyncGroup is told to rejoin.
  ASSERT_EQ(fx.syncs.size(), 1u);
  EXPECT_EQ(fx.syncs[0].to, sa);
  EXPECT_EQ(fx.syncs[0].result.code, error::rebalance_in_progress);
}

TEST(classic_group, a_static_member_back_under_a_new_id_takes_its_place_without_a_rebalance) {
  fixture f;
  f.settings.initial_rebalance_delay_ms = 0;
  auto req = f.join_req("");
  req.instance_id = "host-1";
  waiter_id first = 0;
  auto fx = f.join(req, &first);
  ASSERT_EQ(fx.joins.size(), 1u);  // static members skip MEMBER_ID_REQUIRED
  const std::string old_id = fx.joins[0].result.member_id;
  f.sync(old_id, 1, {{old_id, {5}}});
  ASSERT_EQ(f.g.state, classic_state::stable);

  waiter_id again = 0;
  auto back = f.join(req, &again);  // same instance, no member id: a restart
  ASSERT_EQ(back.joins.size(), 1u);
  EXPECT_TRUE(back.joins[0].after_write);
  EXPECT_TRUE(back.persist);
  const std::string new_id = back.joins[0].result.member_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(f.g.generation, 1);  // no rebalance
  EXPECT_EQ(f.g.members.at(new_id).assignment, std::vector<uint8_t>{5});
  // The old id is fenced.
  EXPECT_EQ(f.g.heartbeat(1, {old_id, std::string("host-1")}, f.ctx), error::fenced_instance_id);
}

TEST(classic_group, leaving_removes_members_and_wakes_a_rebalance) {
  fixture f;
  std::string a, b;
  f.stable_pair(a, b);
  auto fx = classic_effects{};
  auto out = f.g.leave({{b, std::nullopt}, {"nobody", std::nullopt}}, f.ctx, fx);
  EXPECT_EQ(out, (std::vector<error>{error::none, error::unknown_member_id}));
  EXPECT_EQ(f.g.state, classic_state::preparing_rebalance);
  waiter_id wa = 0;
  auto rejoined = f.join(f.join_req(a), &wa);
  ASSERT_EQ(rejoined.joins.size(), 1u);  // the only member is back: the generation completes
  EXPECT_EQ(rejoined.joins[0].result.generation, 2);
  EXPECT_EQ(rejoined.joins[0].result.members.size(), 1u);
}

TEST(classic_group, commits_need_the_current_generation_outside_a_rebalance) {
  fixture f;
  std::string a, b;
  f.stable_pair(a, b);
  adapter::commit_request c;
  c.group_id = "g";
  c.member_id = a;
  c.generation_or_epoch = 1;
  EXPECT_EQ(f.g.check_commit(c), error::none);
  c.generation_or_epoch = 0;
  EXPECT_EQ(f.g.check_commit(c), error::illegal_generation);
  c.member_id = "nobody";
  EXPECT_EQ(f.g.check_commit(c), error::unknown_member_id);
}

TEST(classic_group, join_checks_come_before_the_group) {
  fixture f;
  auto r = f.join_req("");
  r.session_timeout_ms = 10;
  EXPECT_EQ(classic_group::check_join(r, f.settings), error::invalid_session_timeout);
  r = f.join_req("");
  r.protocols.clear();
  EXPECT_EQ(classic_group::check_join(r, f.settings), error::inconsistent_group_protocol);
  r = f.join_req("");
  r.group_id.clear();
  EXPECT_EQ(classic_group::check_join(r, f.settings), error::invalid_group_id);
}

}  // namespace
}  // namespace mosaic::groups
