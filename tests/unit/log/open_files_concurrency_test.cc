// The descriptor bound under concurrent appends and reads (run under TSan:
// an eviction races the appender's writev and a reader's pread).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "kernel/log/log_manager.h"
#include "kernel/log/open_files.h"
#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

TEST(open_files_concurrency, appends_and_reads_across_evictions_lose_nothing) {
  scratch_dir d;
  open_files::instance().set_limit(4);
  log_manager_options o;
  o.dirs = {d.path()};
  o.background = false;
  auto m = log_manager::open(o);
  ASSERT_TRUE(m.ok());
  constexpr int partitions = 32;
  log_config small;
  small.segment_bytes = 4096;  // rolls too: sealed segments are closed and opened again
  for (int p = 0; p < partitions; ++p) ASSERT_TRUE((*m)->create("c", p, small).ok());
  std::atomic<int64_t> appended[partitions] = {};
  std::atomic<bool> failed{false};
  auto writer = [&](unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 1500 && !failed; ++i) {
      const int p = static_cast<int>(rng() % partitions);
      auto l = (*m)->get("c", p);
      auto b = batch("w" + std::to_string(seed), 3, 1000, 40);
      if (!l.ok() || !(*l)->append(b, 0).ok()) failed = true;
      appended[p] += 3;
    }
  };
  auto reader = [&](unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 1500 && !failed; ++i) {
      auto l = (*m)->get("c", static_cast<int>(rng() % partitions));
      if (!l.ok()) failed = true;
      auto r = (*l)->read(0, 1 << 16, INT64_MAX);
      std::vector<uint8_t> out;
      if (!r.ok() || !r->copy_to(out).ok()) failed = true;
    }
  };
  std::thread w1(writer, 1), w2(writer, 2), r1(reader, 3), r2(reader, 4);
  w1.join();
  w2.join();
  r1.join();
  r2.join();
  EXPECT_FALSE(failed);
  for (int p = 0; p < partitions; ++p) {
    auto l = (*m)->get("c", p);
    ASSERT_TRUE(l.ok());
    EXPECT_EQ((*l)->log_end_offset(), appended[p].load()) << p;
    int64_t records = 0;
    for_each_batch(read_all(**l, 0), [&](const batch_view& b) {
      records += b.records_count();
      return true;
    });
    EXPECT_EQ(records, appended[p].load()) << p;
  }
  ASSERT_TRUE((*m)->close_all().ok());
  open_files::instance().set_limit(0);
}

}  // namespace
}  // namespace mosaic::log
