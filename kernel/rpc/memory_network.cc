#include "kernel/rpc/memory_network.h"

#include <algorithm>

namespace mosaic::rpc {

void memory_network::partition(const std::vector<std::vector<int32_t>>& groups) {
  group_of_.clear();
  for (size_t g = 0; g < groups.size(); ++g)
    for (int32_t n : groups[g]) group_of_[n] = static_cast<int>(g);
  partitioned_ = true;
}

void memory_network::heal() {
  partitioned_ = false;
  group_of_.clear();
  cut_.clear();
}

bool memory_network::connected(int32_t from, int32_t to) const {
  if (cut_.count({from, to})) return false;
  if (!partitioned_) return true;
  auto a = group_of_.find(from);
  auto b = group_of_.find(to);
  return a != group_of_.end() && b != group_of_.end() && a->second == b->second;
}

bool memory_network::chance(double p) {
  if (p <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

void memory_network::enqueue(int64_t at, delivery d) {
  d.at = at;
  queue_.emplace(std::pair{at, seq_++}, std::move(d));
}

void memory_network::send(int64_t now, int32_t from, int32_t to, std::vector<uint8_t> frame) {
  ++sent_;
  if (!connected(from, to) || chance(faults_.drop)) {
    ++dropped_;
    return;
  }
  auto delay = [&] {
    int64_t lo = faults_.min_delay;
    int64_t hi = std::max(lo, faults_.max_delay);
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  };
  if (chance(faults_.duplicate)) enqueue(now + delay(), delivery{0, from, to, frame});
  enqueue(now + delay(), delivery{0, from, to, std::move(frame)});
}

void memory_network::forget(int32_t node) {
  for (auto it = queue_.begin(); it != queue_.end();)
    it = it->second.from == node || it->second.to == node ? queue_.erase(it) : std::next(it);
}

std::vector<delivery> memory_network::take_due(int64_t now) {
  std::vector<delivery> out;
  while (!queue_.empty() && queue_.begin()->first.first <= now) {
    auto it = queue_.begin();
    // A partition made after the send still stops the frame.
    if (connected(it->second.from, it->second.to)) out.push_back(std::move(it->second));
    queue_.erase(it);
  }
  return out;
}

}  // namespace mosaic::rpc
