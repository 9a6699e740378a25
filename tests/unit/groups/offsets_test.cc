// Committed offsets without a broker: OffsetCommit's per-partition checks,
// OffsetFetch, OffsetDelete, and expiry after offsets.retention.minutes
// (KIP-211's rules), each change reported for the group log.
#include "kernel/groups/offsets.h"

#include <gtest/gtest.h>

namespace mosaic::groups {
namespace {

using adapter::error;

constexpr int64_t minute = 60000;
constexpr int64_t retention = 7 * 24 * 60 * minute;

struct fixture {
  offset_store store;
  named_topics topics;
  std::vector<offset_change> changes;

  fixture() {
    adapter::topic_info t;
    t.name = "t";
    t.partitions.resize(2);
    topics["t"] = t;
    adapter::topic_info u = t;
    u.name = "u";
    topics["u"] = u;
  }
  std::vector<error> commit(const std::string& group, std::vector<adapter::offset_commit> offsets, int64_t at,
                            std::vector<bool> stale = {}) {
    adapter::commit_request req;
    req.group_id = group;
    req.offsets = std::move(offsets);
    for (const auto& o : req.offsets)
      if (!topics.count(o.topic)) topics[o.topic] = std::nullopt;
    return store.commit(req, topics, stale, at, 10, changes);
  }
  int64_t offset_of(const std::string& group, const std::string& topic, int32_t partition) {
    adapter::offset_fetch_request req;
    req.group_id = group;
    req.partitions = std::vector<offset_key>{{topic, partition}};
    return store.fetch(req).offsets.at(0).offset;
  }
};

TEST(offsets, a_commit_keeps_what_exists_and_refuses_the_rest_per_partition) {
  fixture f;
  auto out = f.commit("g",
                      {{"t", 0, 5, 3, std::string("meta")},
                       {"t", 2, 5, -1, std::nullopt},           // no partition 2
                       {"gone", 0, 5, -1, std::nullopt},        // no such topic
                       {"t", 1, 6, -1, std::string(11, 'x')}},  // metadata over 10 bytes
                      1000);
  EXPECT_EQ(out, (std::vector<error>{error::none, error::unknown_topic_or_partition, error::unknown_topic_or_partition,
                                     error::offset_metadata_too_large}));
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(f.changes[0].key, (offset_key{"t", 0}));
  EXPECT_EQ(f.changes[0].value->commit_time_ms, 1000);
  EXPECT_EQ(f.offset_of("g", "t", 0), 5);
  EXPECT_EQ(f.offset_of("g", "t", 1), -1);  // never committed
  // Partitions refused by KIP-1251 are refused one by one.
  out = f.commit("g", {{"t", 0, 7, -1, std::nullopt}, {"t", 1, 7, -1, std::nullopt}}, 2000, {false, true});
  EXPECT_EQ(out, (std::vector<error>{error::none, error::stale_member_epoch}));
  EXPECT_EQ(f.offset_of("g", "t", 0), 7);
}

TEST(offsets, a_group_that_keeps_nothing_is_not_listed) {
  fixture f;
  f.commit("g", {{"gone", 0, 5, -1, std::nullopt}}, 1000);
  EXPECT_FALSE(f.store.has("g"));
  adapter::offset_fetch_request all;
  all.group_id = "g";
  EXPECT_TRUE(f.store.fetch(all).offsets.empty());
}

TEST(offsets, delete_spares_the_topics_the_members_consume) {
  fixture f;
  f.commit("g", {{"t", 0, 5, -1, std::nullopt}, {"u", 0, 5, -1, std::nullopt}}, 1000);
  f.changes.clear();
  auto out = f.store.erase("g", {{"t", 0}, {"u", 0}}, {"t"}, f.changes);
  EXPECT_EQ(out, (std::vector<error>{error::group_subscribed_to_topic, error::none}));
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_FALSE(f.changes[0].value);
  EXPECT_EQ(f.offset_of("g", "t", 0), 5);
  EXPECT_EQ(f.offset_of("g", "u", 0), -1);
}

TEST(offsets, an_empty_groups_offsets_expire_after_retention_from_when_it_emptied) {
  fixture f;
  f.commit("g", {{"t", 0, 5, -1, std::nullopt}}, 0);
  retention_view empty;
  empty.empty_since_ms = 10 * minute;  // the last member left after the commit
  EXPECT_EQ(f.store.expire("g", empty, retention + 5 * minute, retention, f.changes), 0u);
  f.changes.clear();
  EXPECT_EQ(f.store.expire("g", empty, retention + 10 * minute, retention, f.changes), 1u);
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_FALSE(f.changes[0].value);
  EXPECT_FALSE(f.store.has("g"));
}

TEST(offsets, a_later_commit_restarts_the_count) {
  fixture f;
  f.commit("g", {{"t", 0, 5, -1, std::nullopt}, {"t", 1, 5, -1, std::nullopt}}, 0);
  f.commit("g", {{"t", 1, 6, -1, std::nullopt}}, 60 * minute);  // a simple consumer commits again
  retention_view standalone;                                    // no group: counted from each commit
  EXPECT_EQ(f.store.expire("g", standalone, retention, retention, f.changes), 1u);
  EXPECT_EQ(f.offset_of("g", "t", 0), -1);
  EXPECT_EQ(f.offset_of("g", "t", 1), 6);
}

TEST(offsets, while_members_consume_only_other_topics_offsets_expire) {
  fixture f;
  f.commit("g", {{"t", 0, 5, -1, std::nullopt}, {"u", 0, 5, -1, std::nullopt}}, 0);
  retention_view active;
  active.has_members = true;
  active.expires_while_active = true;
  active.subscribed = {"t"};
  EXPECT_EQ(f.store.expire("g", active, 2 * retention, retention, f.changes), 1u);
  EXPECT_EQ(f.offset_of("g", "t", 0), 5);
  EXPECT_EQ(f.offset_of("g", "u", 0), -1);
  // A group of another protocol (connect, say) keeps everything while active.
  active.expires_while_active = false;
  active.subscribed.clear();
  EXPECT_EQ(f.store.expire("g", active, 3 * retention, retention, f.changes), 0u);
  EXPECT_EQ(f.offset_of("g", "t", 0), 5);
}

}  // namespace
}  // namespace mosaic::groups
