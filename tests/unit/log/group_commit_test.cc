// The log under concurrent use; run under TSan in the test suite.
#include <gtest/gtest.h>

#include <thread>

#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

TEST(log_concurrency, group_commit_shares_fsyncs_between_waiters) {
  scratch_dir d;
  auto opened = partition_log::open(d.path(), {});
  ASSERT_TRUE(opened.ok());
  auto& l = *opened;
  constexpr int threads = 8, per_thread = 40;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto b = batch("g" + std::to_string(t) + "." + std::to_string(i));
        auto r = l->append(b, 0);
        if (!r.ok() || !l->wait_durable(r.last_offset).ok() || l->flushed_offset() <= r.last_offset)
          failures.fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(l->log_end_offset(), threads * per_thread);
  EXPECT_LT(l->flush_count(), static_cast<uint64_t>(threads * per_thread))
      << "concurrent waiters must share fdatasync calls";
}

TEST(log_concurrency, readers_see_whole_batches_while_a_writer_appends_and_rolls) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 8 * 1024;
  auto opened = partition_log::open(d.path(), cfg);
  ASSERT_TRUE(opened.ok());
  auto& l = *opened;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      while (!done.load()) {
        const int64_t leo = l->log_end_offset();
        auto res = l->read(0, 64 * 1024, leo);
        if (!res.ok()) {
          bad.fetch_add(1);
          continue;
        }
        std::vector<uint8_t> bytes;
        if (!res->copy_to(bytes).ok()) bad.fetch_add(1);
        int64_t expect = 0;
        size_t whole = for_each_batch(bytes, [&](const batch_view& b) {
          if (b.base_offset() != expect || !validate_batch(b.bytes, SIZE_MAX).ok()) bad.fetch_add(1);
          expect = b.last_offset() + 1;
          return true;
        });
        if (whole != bytes.size()) bad.fetch_add(1);
      }
    });
  for (int i = 0; i < 400; ++i) {
    auto b = batch("w" + std::to_string(i), 1 + i % 3, 1000, 100);
    ASSERT_TRUE(l->append(b, 0).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(l->segment_count(), 3u);
}

}  // namespace
}  // namespace mosaic::log
