// Byte rates and request time per (user, client id), measured as Kafka
// measures them for its quotas: eleven one-second samples, the rate over the time they span
// (at least ten seconds, so a burst at start-up is not a spike), and a
// client over its quota throttled for as long as it takes the rate to come
// back to it: (rate - quota) / quota x the window, at most the eleven
// seconds the samples span. Thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace mosaic::kafka {

class quota_meter {
 public:
  // request: milliseconds a request thread spent on the client's requests
  // (a request_percentage of p is p x 10 ms a second).
  enum kind : int { produce = 0, fetch = 1, request = 2 };

  // Records `bytes` (or milliseconds) for the client and returns the
  // milliseconds it must wait (0 when within `quota`, per second).
  // `now_ms` (steady clock) is for tests.
  int64_t record(const std::string& user, const std::string& client_id, kind k, double bytes, double quota,
                 int64_t now_ms = -1) {
    const int64_t now =
        now_ms >= 0
            ? now_ms
            : std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
                  .count();
    std::lock_guard g(mu_);
    if (++since_sweep_ >= sweep_every) sweep(now);
    auto& s = series_[{user, client_id, k}];
    const int64_t start = now / sample_ms * sample_ms;
    auto& slot = s[static_cast<size_t>(now / sample_ms % samples)];
    if (slot.start != start) slot = {start, 0};
    slot.bytes += bytes;
    double total = 0;
    int64_t oldest = start;
    for (const auto& x : s)
      if (x.start > now - samples * sample_ms) {
        total += x.bytes;
        oldest = std::min(oldest, x.start);
      }
    const int64_t window = std::max<int64_t>(now - oldest, (samples - 1) * sample_ms);
    const double rate = total * 1000.0 / static_cast<double>(window);
    if (rate <= quota || quota <= 0) return 0;
    const double wait = (rate - quota) / quota * static_cast<double>(window);
    return static_cast<int64_t>(std::min(wait, static_cast<double>(samples * sample_ms)));
  }

  // The (user, client id, kind) series kept.
  size_t tracked() {
    std::lock_guard g(mu_);
    return series_.size();
  }

 private:
  // Clients come and go (a client id per process): every so many records,
  // the series with no sample in the window are dropped.
  void sweep(int64_t now) {
    since_sweep_ = 0;
    std::erase_if(series_, [now](const auto& entry) {
      for (const auto& x : entry.second)
        if (x.start > now - samples * sample_ms) return false;
      return true;
    });
  }

  static constexpr int samples = 11;
  static constexpr int64_t sample_ms = 1000;
  static constexpr int sweep_every = 4096;
  struct sample {
    int64_t start = -1;
    double bytes = 0;
  };
  std::mutex mu_;
  int since_sweep_ = 0;
  std::map<std::tuple<std::string, std::string, int>, std::array<sample, samples>> series_;
};

}  // namespace mosaic::kafka
