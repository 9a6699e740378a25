#include "kernel/log/log_manager.h"

#include <gtest/gtest.h>

#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

log_manager_options options(std::vector<std::filesystem::path> dirs) {
  log_manager_options o;
  o.dirs = std::move(dirs);
  o.background = false;
  return o;
}

TEST(log_manager, finds_partitions_at_start_and_opens_them_only_when_used) {
  scratch_dir d;
  {
    auto m = log_manager::open(options({d.path()}));
    ASSERT_TRUE(m.ok());
    for (int p = 0; p < 5; ++p) {
      auto l = (*m)->create("orders-v2", p, {});
      ASSERT_TRUE(l.ok()) << l.error().message();
      auto b = batch("p" + std::to_string(p));
      ASSERT_TRUE((*l)->append(b, 0).ok());
    }
    ASSERT_TRUE((*m)->close_all().ok());
  }
  auto m = log_manager::open(options({d.path()}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->partition_count(), 5u);
  EXPECT_EQ((*m)->open_count(), 0u) << "nothing is opened before it is used";
  auto l = (*m)->get("orders-v2", 3);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ((*l)->log_end_offset(), 1);
  EXPECT_EQ((*m)->open_count(), 1u);
  EXPECT_EQ((*m)->get("orders-v2", 9).error().code(), errc::not_found);
  EXPECT_EQ((*m)->get("orders", 3).error().code(), errc::not_found);
}

TEST(log_manager, spreads_partitions_over_log_dirs_and_removes_them) {
  scratch_dir a, b;
  auto m = log_manager::open(options({a.path(), b.path()}));
  ASSERT_TRUE(m.ok());
  for (int p = 0; p < 4; ++p) ASSERT_TRUE((*m)->create("t", p, {}).ok());
  size_t in_a = 0, in_b = 0;
  for (const auto& e : std::filesystem::directory_iterator(a.path())) in_a += e.is_directory();
  for (const auto& e : std::filesystem::directory_iterator(b.path())) in_b += e.is_directory();
  EXPECT_EQ(in_a, 2u);
  EXPECT_EQ(in_b, 2u);
  ASSERT_TRUE((*m)->remove("t", 1).ok());
  EXPECT_EQ((*m)->partition_count(), 3u);
  EXPECT_FALSE(std::filesystem::exists(a.path() / "t-1") || std::filesystem::exists(b.path() / "t-1"));
}

TEST(log_manager, periodic_work_applies_retention) {
  scratch_dir d;
  auto m = log_manager::open(options({d.path()}));
  ASSERT_TRUE(m.ok());
  log_config cfg;
  cfg.segment_bytes = 400;
  cfg.retention_bytes = 800;
  cfg.retention_ms = -1;
  auto l = (*m)->create("r", 0, cfg);
  ASSERT_TRUE(l.ok());
  for (int i = 0; i < 20; ++i) {
    auto b = batch("x", 1, 1000, 150);
    ASSERT_TRUE((*l)->append(b, 0).ok());
  }
  const size_t before = (*l)->segment_count();
  (*m)->run_periodic(true);
  EXPECT_LT((*l)->segment_count(), before);
}

TEST(log_manager, a_declared_partition_touches_the_disk_only_when_first_used) {
  scratch_dir d;
  auto m = log_manager::open(options({d.path()}));
  ASSERT_TRUE(m.ok());
  for (int p = 0; p < 100; ++p) (*m)->declare("many", p, {}, true);
  EXPECT_EQ((*m)->partition_count(), 100u);
  EXPECT_EQ((*m)->open_count(), 0u);
  EXPECT_TRUE((*m)->known("many", 42));
  EXPECT_FALSE((*m)->known("many", 100));
  EXPECT_TRUE(std::filesystem::is_empty(d.path())) << "no folder before the first use";
  // The periodic work visits open logs only: it opens nothing.
  (*m)->run_periodic(true);
  EXPECT_EQ((*m)->open_count(), 0u);
  auto l = (*m)->get("many", 7);
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_TRUE(std::filesystem::exists(d.path() / "many-7"));
  auto b = batch("x");
  ASSERT_TRUE((*l)->append(b, 0).ok());
  ASSERT_TRUE((*m)->close_all().ok());

  // After a restart, a partition alone on this broker opens with its high
  // watermark at its end (no replica to wait for); one declared with
  // others starts where its replica will set it.
  auto again = log_manager::open(options({d.path()}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->partition_count(), 1u) << "only the used partition has a folder";
  (*again)->declare("many", 7, {}, true);
  auto reopened = (*again)->get("many", 7);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->high_watermark(), 1);
  EXPECT_EQ((*again)->open_count(), 1u);
}

log_config of_topic(const std::string& id) {
  log_config c;
  c.topic_id = id;
  return c;
}

// A partition's folder is stamped with its topic's id (partition.metadata);
// a folder stamped with another id holds a deleted topic of the same name
// (made again while this broker was away) and starts empty.
TEST(log_manager, a_folder_of_a_deleted_topic_of_the_same_name_starts_afresh) {
  scratch_dir d;
  {
    auto m = log_manager::open(options({d.path()}));
    ASSERT_TRUE(m.ok());
    auto l = (*m)->create("t", 0, of_topic("AAAA"));
    ASSERT_TRUE(l.ok());
    auto b = batch("old");
    ASSERT_TRUE((*l)->append(b, 0).ok());
    auto unstamped = (*m)->create("u", 0, {});  // the topic's id not known: no stamp
    ASSERT_TRUE(unstamped.ok());
    ASSERT_TRUE((*unstamped)->append(b, 0).ok());
    ASSERT_TRUE((*m)->close_all().ok());
  }
  EXPECT_EQ(log_manager::stamp_of(d.path() / "t-0"), "AAAA");
  EXPECT_EQ(log_manager::stamp_of(d.path() / "u-0"), std::nullopt);
  {
    auto m = log_manager::open(options({d.path()}));
    ASSERT_TRUE(m.ok());
    // The same topic: its records are kept; a folder of an earlier version
    // (no stamp) is taken as the topic's and stamped.
    auto same = (*m)->create("t", 0, of_topic("AAAA"));
    ASSERT_TRUE(same.ok());
    EXPECT_EQ((*same)->log_end_offset(), 1);
    auto u = (*m)->create("u", 0, of_topic("CCCC"));
    ASSERT_TRUE(u.ok());
    EXPECT_EQ((*u)->log_end_offset(), 1);
    ASSERT_TRUE((*m)->close_all().ok());
  }
  EXPECT_EQ(log_manager::stamp_of(d.path() / "u-0"), "CCCC");
  auto m = log_manager::open(options({d.path()}));
  ASSERT_TRUE(m.ok());
  // A topic config change (no id) before it opens does not lose the id.
  (*m)->set_config("t", 0, {});
  (*m)->declare("t", 0, of_topic("BBBB"), true);
  (*m)->set_config("t", 0, {});
  auto other = (*m)->get("t", 0);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->log_end_offset(), 0) << "the deleted topic's record is gone";
  EXPECT_EQ(log_manager::stamp_of(d.path() / "t-0"), "BBBB");
  auto b = batch("new");
  ASSERT_TRUE((*other)->append(b, 0).ok());
  // A running broker that sees a name deleted and made again removes only
  // the logs stamped with the old id.
  EXPECT_EQ((*m)->remove_other_topic("t", "BBBB"), 0u);
  EXPECT_EQ((*m)->remove_other_topic("u", "DDDD"), 1u);
  EXPECT_FALSE(std::filesystem::exists(d.path() / "u-0"));
  EXPECT_TRUE(std::filesystem::exists(d.path() / "t-0"));
}

TEST(log_manager, folder_names_read_back_as_topic_and_partition) {
  using tp = std::pair<std::string, int32_t>;
  EXPECT_EQ(log_manager::parse_folder("orders-3"), tp("orders", 3));
  EXPECT_EQ(log_manager::parse_folder("t-x-12"), tp("t-x", 12)) << "the last dash ends the topic";
  EXPECT_EQ(log_manager::parse_folder(log_manager::folder_name("a-b", 2147483647)), tp("a-b", 2147483647));
  for (const char* bad : {"orders", "orders-", "-3", "orders-3a", "orders-2147483648", "orders-99999999999"})
    EXPECT_FALSE(log_manager::parse_folder(bad)) << bad;
}

}  // namespace
}  // namespace mosaic::log
