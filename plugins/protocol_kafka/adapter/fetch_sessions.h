// KIP-227 fetch sessions, kept by the Kafka adapter (they are Kafka's, not
// the broker's): the partitions a client fetches, kept between requests so
// that an incremental request names only what changed and an incremental
// response carries only partitions with news.
//
// Threading: any thread (one mutex for the cache).
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "mosaic/adapter/broker.h"

namespace mosaic::kafka {

struct session_partition {
  std::string topic;
  adapter::uuid topic_id{};
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  int32_t leader_epoch = -1;  // the client's current leader epoch
  int16_t error = 0;          // resolving the topic
  int64_t sent_hw = -2;
  int64_t sent_lso = -2;
};
using partition_key = std::pair<std::string, int32_t>;

struct fetch_session {
  int32_t epoch = 1;  // the epoch the next request must carry
  std::map<partition_key, session_partition> partitions;
  std::chrono::steady_clock::time_point used;
};

class session_cache {
 public:
  static constexpr size_t max_sessions = 1000;

  int32_t create(std::map<partition_key, session_partition> parts) {
    std::lock_guard g(mu_);
    if (sessions_.size() >= max_sessions) {
      auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      sessions_.erase(oldest);
    }
    int32_t id = 0;
    do id = next_id_ = next_id_ == INT32_MAX ? 1 : next_id_ + 1;
    while (sessions_.count(id));
    auto& s = sessions_[id];
    s.partitions = std::move(parts);
    s.used = std::chrono::steady_clock::now();
    return id;
  }
  void remove(int32_t id) {
    std::lock_guard g(mu_);
    sessions_.erase(id);
  }
  // Runs fn(session*) under the lock; nullptr if there is no such session.
  template <class F>
  auto with(int32_t id, F&& fn) {
    std::lock_guard g(mu_);
    auto it = sessions_.find(id);
    return fn(it == sessions_.end() ? nullptr : &it->second);
  }

 private:
  std::mutex mu_;
  std::map<int32_t, fetch_session> sessions_;
  int32_t next_id_ = 0;
};

}  // namespace mosaic::kafka
