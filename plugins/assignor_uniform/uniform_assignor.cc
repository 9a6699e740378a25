// The uniform assignor, KIP-848's default (`group.remote.assignor=uniform`):
// spreads the subscribed partitions so that member counts differ by at most
// one where subscriptions allow it, moving as few partitions as it can from
// the current assignment.
//
// 1. Sticky: each member keeps the partitions it holds now that still exist
//    and that it still subscribes to (a partition claimed twice stays with
//    the first member in id order).
// 2. Unowned partitions go one by one to the least loaded subscriber (ties to
//    the lowest member id), topics with the fewest subscribers first.
// 3. Balance: while some member holds two or more partitions more than a
//    member that could take one of them, the most loaded gives its highest
//    such partition to the least loaded. With identical subscriptions this
//    ends with counts differing by at most one, and every member keeps
//    min(what it held, its fair share) of its old partitions.
#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "mosaic/sdk/assignor.h"

namespace {

using mosaic::sdk::assignment;
using mosaic::sdk::group_spec;

class uniform_assignor : public mosaic::sdk::assignor<uniform_assignor> {
 public:
  static constexpr const char* name = "mosaic.assignor.uniform";
  static constexpr const char* description = "balanced and sticky partition assignment (KIP-848's uniform)";
  static constexpr const char* assignor_name = "uniform";

  uniform_assignor(const mosaic::sdk::config&, mosaic::sdk::host) {}

  void assign(const group_spec& g, assignment& out) const {
    const size_t members = g.members.size();
    if (members == 0) return;
    std::vector<std::vector<int>> owner(g.topics.size());
    std::vector<std::vector<size_t>> subscribers(g.topics.size());
    for (size_t t = 0; t < g.topics.size(); ++t)
      owner[t].assign(static_cast<size_t>(std::max(g.topics[t].partitions, 0)), -1);
    for (size_t m = 0; m < members; ++m)
      for (size_t t : g.members[m].topics)
        if (t < g.topics.size()) subscribers[t].push_back(m);

    // Each member's partitions as (topic, partition), in the order taken.
    std::vector<std::vector<std::pair<size_t, int32_t>>> held(members);
    auto take = [&](size_t m, size_t t, int32_t p) {
      owner[t][static_cast<size_t>(p)] = static_cast<int>(m);
      held[m].emplace_back(t, p);
    };

    // 1. Keep what is still valid.
    for (size_t m = 0; m < members; ++m)
      for (const auto& [t, parts] : g.members[m].current) {
        if (t >= g.topics.size() || !g.members[m].subscribes(t)) continue;
        for (int32_t p : parts)
          if (p >= 0 && p < g.topics[t].partitions && owner[t][static_cast<size_t>(p)] < 0) take(m, t, p);
      }

    // 2. Hand out the rest, most constrained topics first.
    std::vector<size_t> order(g.topics.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return subscribers[a].size() < subscribers[b].size(); });
    for (size_t t : order) {
      if (subscribers[t].empty()) continue;
      for (int32_t p = 0; p < g.topics[t].partitions; ++p) {
        if (owner[t][static_cast<size_t>(p)] >= 0) continue;
        size_t best = subscribers[t].front();
        for (size_t m : subscribers[t])
          if (held[m].size() < held[best].size()) best = m;
        take(best, t, p);
      }
    }

    // 3. Even out.
    std::vector<size_t> by_load(members);
    for (;;) {
      std::iota(by_load.begin(), by_load.end(), 0);
      std::stable_sort(by_load.begin(), by_load.end(),
                       [&](size_t a, size_t b) { return held[a].size() > held[b].size(); });
      bool moved = false;
      for (size_t i = 0; i < members && !moved; ++i) {
        const size_t from = by_load[i];
        for (size_t j = members; j-- > i + 1 && !moved;) {
          const size_t to = by_load[j];
          if (held[from].size() <= held[to].size() + 1) break;  // later ones are fuller still
          auto& list = held[from];
          for (size_t k = list.size(); k-- > 0;) {
            const auto [t, p] = list[k];
            if (!g.members[to].subscribes(t)) continue;
            list.erase(list.begin() + static_cast<std::ptrdiff_t>(k));
            take(to, t, p);
            moved = true;
            break;
          }
        }
      }
      if (!moved) break;
    }

    for (size_t m = 0; m < members; ++m) {
      for (const auto& [t, p] : held[m]) out.give(m, t, p);
      for (auto& [t, parts] : out.of(m)) std::sort(parts.begin(), parts.end());
    }
  }
};

}  // namespace

MOSAIC_PLUGIN("mosaic-assignor-uniform", "0.1.0", uniform_assignor)
