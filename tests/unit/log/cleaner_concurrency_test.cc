// The cleaner's swaps while a producer appends and a consumer reads the
// same log (run under TSan with the concurrency label): readers always see
// whole, valid batches with rising offsets, and in the end every key's
// latest value is there.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "kernel/log/batch_builder.h"
#include "kernel/log/log_cleaner.h"
#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

TEST(cleaner_concurrency, passes_swap_segments_under_appends_and_reads) {
  scratch_dir d;
  log_config c;
  c.segment_bytes = 8192;
  c.cleanup_compact = true;
  c.cleanup_delete = false;
  c.min_cleanable_dirty_ratio = 0.01;
  auto opened = partition_log::open(d.path(), c);
  ASSERT_TRUE(opened.ok());
  partition_log& l = **opened;
  constexpr int keys = 50;
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; i < 20000; ++i) {
      batch_builder b(1000);
      b.add("k" + std::to_string(i % keys), std::to_string(i), 1000);
      auto bytes = b.finish();
      auto r = l.append(bytes, 0);
      if (!r.ok()) break;
      l.advance_high_watermark(r.last_offset + 1);
      written = i + 1;
    }
    done = true;
  });
  std::atomic<int> bad{0};
  std::thread consumer([&] {
    while (!done) {
      auto r = l.read(l.log_start_offset(), 1 << 20, l.high_watermark());
      if (!r.ok()) continue;
      std::vector<uint8_t> bytes;
      if (!r->copy_to(bytes).ok()) continue;
      int64_t last = -1;
      for_each_batch(bytes, [&](const batch_view& b) {
        if (!validate_batch(b.bytes, 1 << 20, batch_origin::log).ok() || b.base_offset() <= last) ++bad;
        last = b.last_offset();
        return true;
      });
    }
  });
  offset_map map(1 << 16);
  io_throttle io(1e18);
  int passes = 0;
  while (!done) {
    (void)l.tick();
    auto r = clean_log(l, map, io, {}, [] { return false; });
    ASSERT_TRUE(r.ok()) << r.error().message();
    passes += r->segments_replaced > 0 ? 1 : 0;
  }
  producer.join();
  consumer.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(passes, 0);
  // Every key's last value is there, at its offset.
  std::map<std::string, std::pair<int64_t, std::string>> latest;
  for_each_batch(read_all(l, 0), [&](const batch_view& b) {
    for_each_record(b, [&](const record_view& r) {
      latest[std::string(r.key->begin(), r.key->end())] = {b.base_offset() + r.offset_delta,
                                                           std::string(r.value->begin(), r.value->end())};
    });
    return true;
  });
  ASSERT_EQ(latest.size(), static_cast<size_t>(keys));
  for (int k = 0; k < keys; ++k) {
    const int last = written - keys + ((k - written % keys) % keys + keys) % keys;
    EXPECT_EQ(latest["k" + std::to_string(k)], (std::pair<int64_t, std::string>{last, std::to_string(last)}));
  }
}

}  // namespace
}  // namespace mosaic::log
