// The leader-epoch cache alone, then as the partition log keeps it.
#include "kernel/log/leader_epoch_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "kernel/log/partition_log.h"
#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;
using entries = std::vector<epoch_entry>;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(leader_epoch_cache, records_only_newer_epochs) {
  leader_epoch_cache c;
  EXPECT_TRUE(c.assign(0, 0));
  EXPECT_FALSE(c.assign(0, 10)) << "the same epoch keeps its start";
  EXPECT_TRUE(c.assign(3, 20));
  EXPECT_FALSE(c.assign(2, 30)) << "an older epoch is not recorded";
  EXPECT_FALSE(c.assign(-1, 40));
  EXPECT_EQ(c.entries(), (entries{{0, 0}, {3, 20}}));
  EXPECT_TRUE(c.assign(5, 20)) << "an epoch that wrote nothing is superseded";
  EXPECT_EQ(c.entries(), (entries{{0, 0}, {5, 20}}));
  EXPECT_EQ(c.latest_epoch(), 5);
}

TEST(leader_epoch_cache, answers_where_an_epoch_ends) {
  leader_epoch_cache c;
  EXPECT_EQ(c.end_offset_for(0, 0), std::make_pair(-1, int64_t{-1})) << "empty";
  c.assign(1, 5);
  c.assign(2, 10);
  c.assign(4, 20);
  const int64_t leo = 30;
  EXPECT_EQ(c.end_offset_for(4, leo), std::make_pair(4, int64_t{30})) << "the latest ends at the log end";
  EXPECT_EQ(c.end_offset_for(2, leo), std::make_pair(2, int64_t{20}));
  EXPECT_EQ(c.end_offset_for(3, leo), std::make_pair(2, int64_t{20})) << "an unknown epoch: the one below it";
  EXPECT_EQ(c.end_offset_for(1, leo), std::make_pair(1, int64_t{10}));
  EXPECT_EQ(c.end_offset_for(0, leo), std::make_pair(0, int64_t{5})) << "older than all: the first start";
  EXPECT_EQ(c.end_offset_for(7, leo), std::make_pair(-1, int64_t{-1})) << "newer than all";
  EXPECT_EQ(c.end_offset_for(-1, leo), std::make_pair(-1, int64_t{-1}));
}

TEST(leader_epoch_cache, truncates_from_either_end) {
  leader_epoch_cache c;
  c.assign(1, 0);
  c.assign(2, 10);
  c.assign(3, 20);
  EXPECT_FALSE(c.truncate_from_end(25));
  EXPECT_TRUE(c.truncate_from_end(20));
  EXPECT_EQ(c.entries(), (entries{{1, 0}, {2, 10}}));
  EXPECT_TRUE(c.truncate_from_start(12));
  EXPECT_EQ(c.entries(), (entries{{2, 12}}));
  EXPECT_FALSE(c.truncate_from_start(12));
  EXPECT_FALSE(c.truncate_from_start(3)) << "below every entry: nothing to drop";
}

TEST(leader_epoch_cache, writes_kafkas_checkpoint_format_and_reads_it_back) {
  scratch_dir d;
  const auto file = d.path() / leader_epoch_cache::file_name;
  leader_epoch_cache c;
  c.assign(0, 0);
  c.assign(7, 42);
  ASSERT_TRUE(c.write(file).ok());
  EXPECT_EQ(slurp(file), "0\n2\n0 0\n7 42\n");
  auto back = leader_epoch_cache::load(file);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->entries(), c.entries());
  auto missing = leader_epoch_cache::load(d.path() / "nothing");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->entries().empty());
}

TEST(leader_epoch_cache, refuses_malformed_checkpoints) {
  scratch_dir d;
  const auto file = d.path() / leader_epoch_cache::file_name;
  for (const char* text : {"", "1\n0\n", "0\n2\n0 0\n", "0\n1\nx y\n", "0\n2\n3 10\n1 20\n", "0\n1\n0 0\n5 5\n",
                           "0\n1\n-2 0\n", "0\n-1\n"}) {
    std::ofstream(file, std::ios::trunc) << text;
    auto c = leader_epoch_cache::load(file);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().code(), errc::corrupt) << text;
  }
}

std::unique_ptr<partition_log> open_log(const std::filesystem::path& dir, log_config c = {}) {
  auto l = partition_log::open(dir, c);
  EXPECT_TRUE(l.ok()) << l.error().message();
  return l.ok() ? std::move(*l) : nullptr;
}

bool append(partition_log& l, std::vector<uint8_t> bytes, int32_t epoch) { return l.append(bytes, epoch).ok(); }

TEST(partition_log_epochs, are_recorded_by_appends_and_checkpointed) {
  scratch_dir d;
  auto l = open_log(d.path());
  ASSERT_TRUE(append(*l, batch("a", 3), 0));
  ASSERT_TRUE(append(*l, batch("b", 2), 0));
  ASSERT_TRUE(append(*l, batch("c", 4), 2));
  ASSERT_TRUE(append(*l, batch("d", 1), 5));
  EXPECT_EQ(l->leader_epochs(), (entries{{0, 0}, {2, 5}, {5, 9}}));
  EXPECT_EQ(l->end_offset_for_epoch(0), std::make_pair(0, int64_t{5}));
  EXPECT_EQ(l->end_offset_for_epoch(1), std::make_pair(0, int64_t{5}));
  EXPECT_EQ(l->end_offset_for_epoch(5), std::make_pair(5, int64_t{10}));
  // Written before the batches, so even an unclean stop keeps it.
  EXPECT_EQ(slurp(d.path() / leader_epoch_cache::file_name), "0\n3\n0 0\n2 5\n5 9\n");
}

TEST(partition_log_epochs, follow_truncation_and_the_log_start) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 400;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(append(*l, batch("x" + std::to_string(i), 1, 1000, 150), i / 3));
  EXPECT_EQ(l->leader_epochs(), (entries{{0, 0}, {1, 3}, {2, 6}}));
  ASSERT_TRUE(l->truncate_to(6).ok());
  EXPECT_EQ(l->leader_epochs(), (entries{{0, 0}, {1, 3}}));
  EXPECT_EQ(l->end_offset_for_epoch(1), std::make_pair(1, int64_t{6}));
  l->set_high_watermark(6);
  ASSERT_TRUE(l->delete_records_before(4).ok());
  EXPECT_EQ(l->leader_epochs(), (entries{{1, 4}}));
  ASSERT_TRUE(l->close().ok());
  l = open_log(d.path(), cfg);
  EXPECT_EQ(l->leader_epochs(), (entries{{1, 4}}));
}

TEST(partition_log_epochs, are_rebuilt_from_the_batches_when_the_checkpoint_is_lost_or_bad) {
  scratch_dir d;
  {
    auto l = open_log(d.path());
    ASSERT_TRUE(append(*l, batch("a", 2), 3));
    ASSERT_TRUE(append(*l, batch("b", 2), 4));
    ASSERT_TRUE(l->close().ok());
  }
  const auto file = d.path() / leader_epoch_cache::file_name;
  std::filesystem::remove(file);
  {
    auto l = open_log(d.path());
    EXPECT_EQ(l->leader_epochs(), (entries{{3, 0}, {4, 2}}));
    ASSERT_TRUE(l->close().ok());
  }
  std::ofstream(file, std::ios::trunc) << "garbage";
  {
    auto l = open_log(d.path());
    EXPECT_EQ(l->leader_epochs(), (entries{{3, 0}, {4, 2}}));
    ASSERT_TRUE(l->close().ok());
  }
  // A checkpoint ahead of the log (the crash came between it and the
  // batches) is trimmed on open.
  std::ofstream(file, std::ios::trunc) << "0\n3\n3 0\n4 2\n9 4\n";
  auto l = open_log(d.path());
  EXPECT_EQ(l->leader_epochs(), (entries{{3, 0}, {4, 2}}));
  EXPECT_EQ(slurp(file), "0\n2\n3 0\n4 2\n");
}

}  // namespace
}  // namespace mosaic::log
