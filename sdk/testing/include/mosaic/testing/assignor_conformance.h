// The conformance suite every assignor plugin passes. Include it in exactly
// one test file and instantiate it for your assignor:
//
//   #include "mosaic/testing/assignor_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(rack_first, assignor_conformance,
//       ::testing::Values(mosaic::testing::assignor_case{"/path/librack.so", "com.acme.assignor.rack_first"}));
//
// The assignor is called exactly as the broker calls it
// (mosaic/sdk/assignor_host.h), which refuses a partition given twice, to
// a member not subscribed to its topic, or that does not exist. On top of
// that the suite checks: every subscribed partition is assigned; balance
// (per member, or per topic for range-like assignors); stickiness when a
// member joins or leaves (for assignors that declare it); stale entries in
// the current assignment (deleted topics, shrunk subscriptions) are dropped;
// the same input gives the same answer, on any instance and from several
// threads at once; empty groups, members without subscriptions, more members
// than partitions, and a group of 100 members over 1,000 partitions.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/assignor.h"
#include "mosaic/sdk/assignor_host.h"
#include "mosaic/testing/fake_host.h"

namespace mosaic::testing {

struct assignor_case {
  std::string library_path;
  std::string factory_name;
  std::map<std::string, std::string> config;
  // Members that stay keep min(what they held, their fair share).
  bool sticky = true;
  // Balance across all of a member's partitions, or within each topic.
  enum class balance { per_member, per_topic } balance_kind = balance::per_member;
};

inline void PrintTo(const assignor_case& c, std::ostream* os) { *os << c.factory_name; }

class assignor_conformance : public ::testing::TestWithParam<assignor_case> {
 protected:
  using input = sdk::assignor_input;

  void SetUp() override {
    lib_ = std::make_unique<plugin_library>(GetParam().library_path);
    const mosaic_factory_v1& f = lib_->factory(GetParam().factory_name);
    ASSERT_EQ(f.category, MOSAIC_CATEGORY_ASSIGNOR);
    inst_ = host_.create(f, GetParam().config);
    vt_ = &inst_->vtable<mosaic_assignor_vtable_v1>();
    ASSERT_NE(vt_->assignor_name, nullptr);
  }

  sdk::assignor_outcome run(const input& in) const { return sdk::call_assignor(*vt_, inst_->handle(), in); }

  // `members` members subscribed to every topic; topics named t0, t1, ...
  static input homogeneous(size_t members, const std::vector<int32_t>& partitions) {
    input in;
    in.group_id = "g";
    for (size_t t = 0; t < partitions.size(); ++t) {
      input::topic tp;
      tp.id[0] = static_cast<uint8_t>(t + 1);
      tp.name = "t" + std::to_string(t);
      tp.partitions = partitions[t];
      in.topics.push_back(tp);
    }
    for (size_t m = 0; m < members; ++m) {
      input::member mm;
      mm.id = member_id(m);
      for (size_t t = 0; t < partitions.size(); ++t) mm.topics.push_back(t);
      in.members.push_back(mm);
    }
    return in;
  }
  static std::string member_id(size_t i) {
    std::string s = std::to_string(i);
    return "m" + std::string(4 - std::min<size_t>(4, s.size()), '0') + s;  // sorts as numbers
  }
  static size_t count(const sdk::partition_map& m) {
    size_t n = 0;
    for (const auto& [t, parts] : m) n += parts.size();
    return n;
  }
  // The answer fed back as the current assignment.
  static void adopt(input& in, const sdk::assignor_outcome& out) {
    for (size_t m = 0; m < in.members.size(); ++m) in.members[m].current = out.members[m];
  }

  // Every partition of a subscribed topic is assigned (the host already
  // refused duplicates, strangers and phantoms).
  static void expect_complete(const input& in, const sdk::assignor_outcome& out) {
    ASSERT_TRUE(out.ok()) << out.message;
    ASSERT_EQ(out.members.size(), in.members.size());
    for (size_t t = 0; t < in.topics.size(); ++t) {
      bool subscribed = false;
      for (const auto& m : in.members) subscribed = subscribed || std::count(m.topics.begin(), m.topics.end(), t) > 0;
      size_t given = 0;
      for (const auto& m : out.members) {
        auto it = m.find(t);
        if (it != m.end()) given += it->second.size();
      }
      EXPECT_EQ(given, subscribed ? static_cast<size_t>(in.topics[t].partitions) : 0u) << in.topics[t].name;
    }
  }

  void expect_balanced(const input& in, const sdk::assignor_outcome& out) const {
    if (GetParam().balance_kind == assignor_case::balance::per_member) {
      size_t lo = SIZE_MAX, hi = 0;
      for (const auto& m : out.members) {
        lo = std::min(lo, count(m));
        hi = std::max(hi, count(m));
      }
      if (!out.members.empty()) {
        EXPECT_LE(hi - lo, 1u);
      }
      return;
    }
    for (size_t t = 0; t < in.topics.size(); ++t) {
      size_t lo = SIZE_MAX, hi = 0;
      for (size_t m = 0; m < in.members.size(); ++m) {
        if (std::count(in.members[m].topics.begin(), in.members[m].topics.end(), t) == 0) continue;
        auto it = out.members[m].find(t);
        const size_t n = it == out.members[m].end() ? 0 : it->second.size();
        lo = std::min(lo, n);
        hi = std::max(hi, n);
      }
      if (hi >= lo) {
        EXPECT_LE(hi - lo, 1u) << in.topics[t].name;
      }
    }
  }

  // How many of `before`'s partitions `after` still has.
  static size_t kept(const sdk::partition_map& before, const sdk::partition_map& after) {
    size_t n = 0;
    for (const auto& [t, parts] : before) {
      auto it = after.find(t);
      if (it == after.end()) continue;
      for (int32_t p : parts) n += std::count(it->second.begin(), it->second.end(), p);
    }
    return n;
  }

  fake_host host_;
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  const mosaic_assignor_vtable_v1* vt_ = nullptr;
};

TEST_P(assignor_conformance, an_empty_group_gets_nothing) {
  auto in = homogeneous(0, {4});
  auto out = run(in);
  ASSERT_TRUE(out.ok()) << out.message;
  EXPECT_TRUE(out.members.empty());
}

TEST_P(assignor_conformance, one_member_gets_everything) {
  auto in = homogeneous(1, {3, 5});
  auto out = run(in);
  expect_complete(in, out);
  EXPECT_EQ(count(out.members[0]), 8u);
}

TEST_P(assignor_conformance, every_subscribed_partition_once_and_balanced) {
  for (size_t members : {2u, 3u, 7u, 16u}) {
    auto in = homogeneous(members, {5, 8, 13});
    auto out = run(in);
    expect_complete(in, out);
    expect_balanced(in, out);
  }
}

TEST_P(assignor_conformance, only_subscribers_get_a_topic) {
  auto in = homogeneous(4, {6, 6, 3});
  in.members[0].topics = {0};
  in.members[1].topics = {0, 1};
  in.members[2].topics = {1};
  in.members[3].topics = {};  // subscribed to nothing that exists
  auto out = run(in);
  expect_complete(in, out);  // topic 2 has no subscriber: nobody gets it
  EXPECT_EQ(count(out.members[3]), 0u);
  EXPECT_EQ(out.members[0].count(1), 0u);
  EXPECT_EQ(out.members[2].count(0), 0u);
}

TEST_P(assignor_conformance, more_members_than_partitions) {
  auto in = homogeneous(10, {3});
  auto out = run(in);
  expect_complete(in, out);
  size_t busy = 0;
  for (const auto& m : out.members) {
    EXPECT_LE(count(m), 1u);
    busy += count(m) > 0 ? 1 : 0;
  }
  EXPECT_EQ(busy, 3u);
}

TEST_P(assignor_conformance, stale_current_entries_are_dropped) {
  auto in = homogeneous(2, {4, 4});
  in.members[0].current[0] = {0, 1, 2, 3, 9};  // 9 does not exist
  in.members[1].current[0] = {0};              // claimed by member 0 too
  in.members[1].current[1] = {0, 1};
  in.members[1].topics = {0};  // no longer subscribed to topic 1
  auto out = run(in);
  expect_complete(in, out);
  EXPECT_EQ(out.members[1].count(1), 0u);
}

TEST_P(assignor_conformance, the_same_input_gives_the_same_answer) {
  auto in = homogeneous(7, {11, 5, 9});
  in.members[2].topics = {0, 2};
  in.members[4].topics = {1};
  auto first = run(in);
  expect_complete(in, first);
  // A second instance, and several threads on the first at once.
  auto other = host_.create(lib_->factory(GetParam().factory_name), GetParam().config);
  auto again = sdk::call_assignor(*vt_, other->handle(), in);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.members, first.members);
  std::vector<sdk::assignor_outcome> outs(4);
  std::vector<std::thread> threads;
  for (auto& o : outs) threads.emplace_back([&] { o = run(in); });
  for (auto& t : threads) t.join();
  for (const auto& o : outs) EXPECT_EQ(o.members, first.members);
}

// Complete and balanced after the change; a sticky assignor also moves no
// more than it must.
TEST_P(assignor_conformance, a_member_joins) {
  auto in = homogeneous(4, {10, 7});
  auto before = run(in);
  expect_complete(in, before);
  adopt(in, before);
  input::member newcomer;
  newcomer.id = member_id(99);
  newcomer.topics = {0, 1};
  in.members.push_back(newcomer);
  auto after = run(in);
  expect_complete(in, after);
  expect_balanced(in, after);
  const size_t fair = 17 / in.members.size();
  if (GetParam().sticky) {
    for (size_t m = 0; m + 1 < in.members.size(); ++m)
      EXPECT_GE(kept(before.members[m], after.members[m]), std::min(count(before.members[m]), fair)) << m;
  }
}

TEST_P(assignor_conformance, a_member_leaves) {
  auto in = homogeneous(5, {12, 9});
  auto before = run(in);
  expect_complete(in, before);
  adopt(in, before);
  in.members.erase(in.members.begin() + 2);
  before.members.erase(before.members.begin() + 2);
  auto after = run(in);
  expect_complete(in, after);
  expect_balanced(in, after);
  if (GetParam().sticky) {
    for (size_t m = 0; m < in.members.size(); ++m)
      EXPECT_EQ(kept(before.members[m], after.members[m]), count(before.members[m])) << m;
  }
}

TEST_P(assignor_conformance, a_hundred_members_over_a_thousand_partitions) {
  auto in = homogeneous(100, {250, 250, 250, 250});
  auto out = run(in);
  expect_complete(in, out);
  expect_balanced(in, out);
  adopt(in, out);
  auto again = run(in);  // a stable group: nothing moves
  expect_complete(in, again);
  EXPECT_EQ(again.members, out.members);
}

}  // namespace mosaic::testing
