#include "kernel/base/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mosaic::metrics {
namespace {

using namespace std::chrono_literals;

TEST(histogram, puts_each_duration_in_the_first_bucket_that_holds_it) {
  EXPECT_EQ(histogram::bucket_of(0), 0u);
  EXPECT_EQ(histogram::bucket_of(50'000), 0u);  // 50 µs: the bound is inclusive (le)
  EXPECT_EQ(histogram::bucket_of(50'001), 1u);
  EXPECT_EQ(histogram::bucket_of(1'000'000), 4u);  // 1 ms
  EXPECT_EQ(histogram::bucket_of(30'000'000'000), duration_buckets.size() - 1);
  EXPECT_EQ(histogram::bucket_of(30'000'000'001), duration_buckets.size());  // +Inf
}

TEST(histogram, counts_every_observation_from_many_threads) {
  histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.observe(std::chrono::microseconds(i % 2 == 0 ? 30 : 3000));
    });
  for (auto& t : threads) t.join();
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.counts[0], 20000u);
  EXPECT_EQ(s.counts[histogram::bucket_of(3'000'000)], 20000u);
  EXPECT_NEAR(s.sum_seconds, 20000 * 30e-6 + 20000 * 3e-3, 1e-6);
}

TEST(histogram, takes_a_negative_duration_as_zero) {
  histogram h;
  h.observe(-5ms);
  EXPECT_EQ(h.snapshot().counts[0], 1u);
  EXPECT_EQ(h.snapshot().sum_seconds, 0);
}

TEST(exposition, writes_families_samples_and_escaped_labels) {
  exposition e;
  e.family("mosaic_things_total", "counter", "Things done.\nSecond line with a \\ backslash.");
  e.sample("mosaic_things_total", {{"name", "a\"b\\c\nd"}}, uint64_t{7});
  e.sample("mosaic_level", {}, -2.5);
  e.sample("mosaic_signed", {{"x", "1"}, {"y", "2"}}, int64_t{-3});
  EXPECT_EQ(e.text(),
            "# HELP mosaic_things_total Things done.\\nSecond line with a \\\\ backslash.\n"
            "# TYPE mosaic_things_total counter\n"
            "mosaic_things_total{name=\"a\\\"b\\\\c\\nd\"} 7\n"
            "mosaic_level -2.5\n"
            "mosaic_signed{x=\"1\",y=\"2\"} -3\n");
}

TEST(exposition, writes_a_histogram_with_cumulative_buckets) {
  histogram h;
  h.observe(10us);
  h.observe(2ms);
  h.observe(40s);
  exposition e;
  e.histogram("mosaic_d_seconds", {{"api", "Produce"}}, h.snapshot());
  const std::string& t = e.text();
  EXPECT_NE(t.find("mosaic_d_seconds_bucket{api=\"Produce\",le=\"5e-05\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("mosaic_d_seconds_bucket{api=\"Produce\",le=\"0.0025\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("mosaic_d_seconds_bucket{api=\"Produce\",le=\"30\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("mosaic_d_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("mosaic_d_seconds_sum{api=\"Produce\"} 40.00201\n"), std::string::npos) << t;
  EXPECT_NE(t.find("mosaic_d_seconds_count{api=\"Produce\"} 3\n"), std::string::npos) << t;
}

TEST(exposition, writes_numbers_prometheus_can_read) {
  exposition e;
  e.sample("a", {}, std::numeric_limits<double>::infinity());
  e.sample("b", {}, std::numeric_limits<double>::quiet_NaN());
  e.sample("c", {}, 0.1);
  EXPECT_EQ(e.text(), "a +Inf\nb NaN\nc 0.1\n");
}

}  // namespace
}  // namespace mosaic::metrics
