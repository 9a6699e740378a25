// Share groups' pure parts, without a broker: membership and the shared
// target assignment (share_group), share sessions and their epochs
// (share_sessions), and the typed group configs (share_configs).
#include "kernel/groups/share_group.h"

#include <gtest/gtest.h>

#include "kernel/groups/share_sessions.h"

namespace mosaic::groups {
namespace {

using adapter::error;
using std::chrono::milliseconds;

adapter::topic_info topic(const std::string& name, uint8_t n, int partitions) {
  adapter::topic_info t;
  t.name = name;
  t.id[15] = n;
  t.partitions.resize(static_cast<size_t>(partitions));
  return t;
}

// Every partition to every member subscribed to its topic (share groups
// may share a partition).
result<sdk::assignor_outcome> everyone(const sdk::assignor_input& in) {
  sdk::assignor_outcome out;
  out.members.resize(in.members.size());
  for (size_t m = 0; m < in.members.size(); ++m)
    for (size_t t : in.members[m].topics)
      for (int32_t p = 0; p < in.topics[t].partitions; ++p) out.members[m][t].push_back(p);
  return out;
}

struct fixture {
  config::group_settings settings;
  group_context ctx{clock::time_point{} + std::chrono::hours(1), 1000, settings,
                    [](const std::string& p) { return p; }};
  std::vector<adapter::topic_info> topics{topic("t", 1, 2)};
  assignor_fn assign = [](const std::string&, const sdk::assignor_input& input, std::string*) {
    return everyone(input);
  };
  share_inputs in{[this](const std::string& name) -> std::optional<adapter::topic_info> {
                    for (const auto& t : topics)
                      if (t.name == name) return t;
                    return std::nullopt;
                  },
                  assign};
  share_group g{"g", settings};

  adapter::share_heartbeat_result beat(const std::string& member, int32_t epoch,
                                       std::optional<std::vector<std::string>> names = std::nullopt,
                                       share_effects* fx_out = nullptr) {
    adapter::share_heartbeat_request r;
    r.group_id = "g";
    r.member_id = member;
    r.member_epoch = epoch;
    r.subscribed_topic_names = std::move(names);
    if (auto refused = share_group::check_heartbeat(r)) return *refused;
    share_effects fx;
    auto out = g.heartbeat(r, 7, ctx, in, fx);
    if (fx_out != nullptr) *fx_out = fx;
    return out;
  }
};

TEST(share_group, a_joining_member_gets_its_partitions_and_they_are_made_to_exist) {
  fixture f;
  share_effects fx;
  auto r = f.beat("a", 0, std::vector<std::string>{"t"}, &fx);
  ASSERT_EQ(r.code, error::none) << r.message;
  EXPECT_EQ(r.member_epoch, 1);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(r.assignment->at(0).partitions, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(fx.persist);
  EXPECT_EQ(fx.assigned.size(), 2u);
  EXPECT_EQ(f.g.members.at("a").holder, 7u);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
}

TEST(share_group, members_share_partitions_and_a_second_member_moves_the_epoch) {
  fixture f;
  f.beat("a", 0, std::vector<std::string>{"t"});
  auto b = f.beat("b", 0, std::vector<std::string>{"t"});
  EXPECT_EQ(b.member_epoch, 2);
  auto a = f.beat("a", 1);
  EXPECT_EQ(a.member_epoch, 2);
  EXPECT_FALSE(a.assignment);  // the same partitions: nothing new to say
  EXPECT_EQ(f.g.members.at("a").assigned, f.g.members.at("b").assigned);
}

TEST(share_group, a_stale_epoch_is_fenced_and_an_unknown_member_refused) {
  fixture f;
  f.beat("a", 0, std::vector<std::string>{"t"});
  EXPECT_EQ(f.beat("a", 5).code, error::fenced_member_epoch);
  EXPECT_EQ(f.beat("z", 1).code, error::unknown_member_id);
  EXPECT_EQ(f.beat("a", 0).code, error::invalid_request);  // a join names its topics
}

TEST(share_group, a_new_topic_partition_changes_the_target) {
  fixture f;
  f.beat("a", 0, std::vector<std::string>{"t"});
  f.topics[0].partitions.resize(3);
  auto r = f.beat("a", 1);
  EXPECT_EQ(r.member_epoch, 2);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(r.assignment->at(0).partitions.size(), 3u);
}

TEST(share_group, sessions_expire_and_removal_gives_back_the_holder) {
  fixture f;
  f.settings.share_max_size = 1;
  f.beat("a", 0, std::vector<std::string>{"t"});
  EXPECT_EQ(f.beat("b", 0, std::vector<std::string>{"t"}).code, error::group_max_size_reached);
  f.ctx.now += milliseconds(44999);
  EXPECT_TRUE(f.g.expired(f.ctx).empty());
  f.ctx.now += milliseconds(1);
  EXPECT_EQ(f.g.expired(f.ctx), std::vector<std::string>{"a"});
  share_effects fx;
  EXPECT_EQ(f.g.remove("a", f.ctx, f.in, fx), 7u);
  EXPECT_TRUE(fx.persist);
  EXPECT_EQ(f.g.remove("a", f.ctx, f.in, fx), 0u);
  EXPECT_EQ(f.g.state_name(), "Empty");
}

TEST(share_group, the_groups_own_configs_apply_once_set) {
  fixture f;
  f.g.set_configs({{"share.session.timeout.ms", "2000"}, {"share.heartbeat.interval.ms", "700"}}, f.settings);
  auto r = f.beat("a", 0, std::vector<std::string>{"t"});
  EXPECT_EQ(r.heartbeat_interval_ms, 700);
  f.ctx.now += milliseconds(2000);
  EXPECT_EQ(f.g.expired(f.ctx), std::vector<std::string>{"a"});
}

TEST(share_sessions, epochs_go_up_by_one_from_an_open_session) {
  share_sessions s;
  error code = error::none;
  std::string why;
  ASSERT_NE(s.use("g", "a", 0, 10, code, why), nullptr);
  EXPECT_NE(s.use("g", "a", 1, 10, code, why), nullptr);
  EXPECT_EQ(s.use("g", "a", 3, 10, code, why), nullptr);
  EXPECT_EQ(code, error::invalid_share_session_epoch);
  EXPECT_EQ(s.use("g", "b", 1, 10, code, why), nullptr);
  EXPECT_EQ(code, error::share_session_not_found);
  EXPECT_NE(s.use("g", "a", -1, 10, code, why), nullptr);  // the closing request
  EXPECT_TRUE(s.close("g", "a"));
  EXPECT_FALSE(s.close("g", "a"));
}

TEST(share_sessions, the_limit_counts_open_sessions_and_a_reopen_is_not_a_new_one) {
  share_sessions s;
  error code = error::none;
  std::string why;
  ASSERT_NE(s.use("g", "a", 0, 1, code, why), nullptr);
  EXPECT_NE(s.use("g", "a", 0, 1, code, why), nullptr);
  EXPECT_EQ(s.use("g", "b", 0, 1, code, why), nullptr);
  EXPECT_EQ(code, error::share_session_limit_reached);
}

TEST(share_sessions, a_leaving_members_session_waits_for_its_final_request) {
  share_sessions s;
  error code = error::none;
  std::string why;
  auto* open = s.use("g", "a", 0, 10, code, why);
  ASSERT_NE(open, nullptr);
  const adapter::uuid t{};
  open->update({{t, 0}, {t, 1}}, {});
  open->update({{t, 1}}, {{t, 0}});
  EXPECT_EQ(open->partitions, (std::vector<std::pair<adapter::uuid, int32_t>>{{t, 1}}));
  const auto now = clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(s.close_by("g", "a", now + milliseconds(5000)));
  EXPECT_TRUE(s.overdue(now + milliseconds(4999)).empty());
  EXPECT_EQ(s.overdue(now + milliseconds(5000)).size(), 1u);
  EXPECT_FALSE(s.close_by("g", "nobody", now));
}

TEST(share_configs, overrides_are_parsed_once_over_the_brokers_defaults) {
  config::group_settings s;
  s.share_delivery_count_limit = 4;
  auto c = resolve_share_configs({}, s);
  EXPECT_EQ(c.limits.delivery_limit, 4);
  EXPECT_EQ(c.limits.lock_ms, 30000);
  EXPECT_FALSE(c.read_committed);
  EXPECT_FALSE(c.limits.dead_letter_topic);
  EXPECT_EQ(c.reset_timestamp(5000), adapter::latest_timestamp);
  c = resolve_share_configs({{"share.delivery.count.limit", "7"},
                             {"share.isolation.level", "read_committed"},
                             {"errors.deadletterqueue.topic.name", "dlq.x"},
                             {"share.auto.offset.reset", "by_duration:PT1M"},
                             {"share.record.lock.duration.ms", "not a number"}},
                            s);
  EXPECT_EQ(c.limits.delivery_limit, 7);
  EXPECT_TRUE(c.read_committed);
  EXPECT_TRUE(c.limits.dead_letter_topic);
  EXPECT_EQ(c.reset_timestamp(100000), 40000);
  EXPECT_EQ(c.limits.lock_ms, 30000);  // unparsable: the default
}

TEST(share_configs, each_value_is_checked_against_the_brokers_bounds) {
  config::group_settings s;
  const auto* limit = find_share_config("share.delivery.count.limit");
  ASSERT_NE(limit, nullptr);
  EXPECT_TRUE(limit->check(s, limit->name, "3").empty());
  EXPECT_FALSE(limit->check(s, limit->name, "11").empty());
  EXPECT_FALSE(limit->check(s, limit->name, "3x").empty());
  const auto* dlq = find_share_config("errors.deadletterqueue.topic.name");
  EXPECT_FALSE(dlq->check(s, dlq->name, "__internal").empty());
  EXPECT_FALSE(dlq->check(s, dlq->name, "other").empty());  // not under the dlq. prefix
  EXPECT_EQ(find_share_config("nonesuch"), nullptr);
  EXPECT_EQ(parse_duration_ms("P1DT2H3M4S"), 86400000 + 7200000 + 180000 + 4000);
  EXPECT_FALSE(parse_duration_ms("1D"));
  EXPECT_EQ(share_config_fields().size(), 10u);
}

}  // namespace
}  // namespace mosaic::groups
