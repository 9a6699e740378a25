// Following a partition's leadership, as the coordinators do: the
// partitions whose state is loaded (or being loaded) are compared with those
// this broker leads now and at which leader epoch.
//
// Threading: a pure function.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace mosaic::groups {

struct leadership_changes {
  std::vector<int32_t> drop;                      // loaded, but no longer led, or led at another epoch
  std::vector<std::pair<int32_t, int32_t>> load;  // led and not loaded: partition, leader epoch
};

// `led`: partition -> leader epoch. `loaded` and `loading` map partitions
// to anything with an `epoch`; the loads under way for a partition no
// longer led at their epoch are forgotten from `loading` (their result
// finds nothing waiting for it).
template <class Loaded, class Loading>
leadership_changes follow_leadership(const std::map<int32_t, int32_t>& led, const Loaded& loaded, Loading& loading) {
  auto stale = [&](int32_t p, int32_t epoch) {
    auto l = led.find(p);
    return l == led.end() || l->second != epoch;
  };
  leadership_changes c;
  for (const auto& [p, v] : loaded)
    if (stale(p, v.epoch)) c.drop.push_back(p);
  std::erase_if(loading, [&](const auto& kv) { return stale(kv.first, kv.second.epoch); });
  for (const auto& [p, epoch] : led) {
    auto l = loaded.find(p);
    if ((l == loaded.end() || l->second.epoch != epoch) && !loading.count(p)) c.load.emplace_back(p, epoch);
  }
  return c;
}

}  // namespace mosaic::groups
