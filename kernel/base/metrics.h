// Metrics for operators: a latency histogram cheap enough for every request,
// and a writer of Prometheus' text exposition format (version 0.0.4).
//
// The kernel keeps no global registry: each part counts what it does in its
// own atomics (its stats struct, a histogram member), and whoever serves
// /metrics (kernel/app) asks each part and writes the families with
// `exposition`. So a count has one home, and a metric costs nothing on the
// paths that no scrape looks at.
//
// Threading: a histogram is observed from any number of threads at once
// (relaxed atomics: a snapshot may be a few observations apart across its
// buckets, never torn within one); `exposition` is one scrape's, single
// threaded.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace mosaic::metrics {

// Latencies in seconds, from 50 µs to 30 s: the same buckets for every
// duration Mosaic exports, so quantiles can be compared and summed across
// families and nodes.
inline constexpr std::array<double, 18> duration_buckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

struct histogram_snapshot {
  std::array<uint64_t, duration_buckets.size() + 1> counts{};  // per bucket, the last one +Inf (not cumulative)
  uint64_t count = 0;
  double sum_seconds = 0;
  histogram_snapshot& operator+=(const histogram_snapshot& o);
};

class histogram {
 public:
  void observe(std::chrono::nanoseconds d) noexcept {
    const auto ns = static_cast<uint64_t>(d.count() < 0 ? 0 : d.count());
    counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  }
  histogram_snapshot snapshot() const noexcept;

  // The bucket a duration of `ns` nanoseconds falls in (the last one: above 30 s).
  static size_t bucket_of(uint64_t ns) noexcept;

 private:
  std::array<std::atomic<uint64_t>, duration_buckets.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

using labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// One scrape's text. Families are declared once (HELP and TYPE), then
// their samples follow; names are checked by the tests with promtool.
class exposition {
 public:
  // `type`: counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, labels l, double value);
  void sample(std::string_view name, labels l, uint64_t value);
  void sample(std::string_view name, labels l, int64_t value);
  // A sample whose name and labels the caller wrote (`head` ends with the
  // space before the value), for label names that come from elsewhere.
  void raw(std::string_view head, double value);
  // `name`'s _bucket, _sum and _count samples (the family declared as a histogram).
  void histogram(std::string_view name, labels l, const histogram_snapshot& s);

  const std::string& text() const noexcept { return out_; }
  std::string take() noexcept { return std::move(out_); }

  // A label value as the format wants it: backslash, double quote and
  // newline escaped.
  static void append_escaped(std::string& out, std::string_view value);

 private:
  void head(std::string_view name, std::string_view suffix, labels l, std::string_view extra_name = {},
            std::string_view extra_value = {});
  std::string out_;
};

}  // namespace mosaic::metrics
