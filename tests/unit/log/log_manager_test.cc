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
