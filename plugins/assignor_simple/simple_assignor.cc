// The share group assignor (`group.share.assignors=simple`, KIP-932's
// default). A share group's assignment only tells members which partitions
// to fetch from: several members may share a partition, and each record
// still goes to one of them. Per topic, among the members subscribed to it:
//
// - At least as many partitions as members: each partition goes to one
//   member, counts differing by at most one. Sticky: a member keeps what it
//   holds up to its fair share; the rest go to the least loaded.
// - Fewer partitions than members: each member gets one partition, the
//   members per partition differing by at most one, so that no member idles
//   and every partition is read. Sticky: a member keeps one partition it
//   holds while that partition has room.
//
// Not rack-aware. Deterministic: ties go to the lowest member index and the
// lowest partition.
#include <algorithm>
#include <utility>
#include <vector>

#include "mosaic/sdk/assignor.h"

namespace {

using mosaic::sdk::assignment;
using mosaic::sdk::group_spec;

class simple_assignor : public mosaic::sdk::assignor<simple_assignor> {
 public:
  static constexpr const char* name = "mosaic.assignor.simple";
  static constexpr const char* description =
      "share group assignment: balanced, sticky, partitions shared when members outnumber them";
  static constexpr const char* assignor_name = "simple";

  simple_assignor(const mosaic::sdk::config&, mosaic::sdk::host) {}

  void assign(const group_spec& g, assignment& out) const {
    for (size_t t = 0; t < g.topics.size(); ++t) {
      const int32_t partitions = std::max(g.topics[t].partitions, 0);
      std::vector<size_t> subs;
      for (size_t m = 0; m < g.members.size(); ++m)
        if (g.members[m].subscribes(t)) subs.push_back(m);
      if (subs.empty() || partitions == 0) continue;
      if (static_cast<size_t>(partitions) >= subs.size())
        spread_partitions(g, t, partitions, subs, out);
      else
        spread_members(g, t, partitions, subs, out);
    }
    for (size_t m = 0; m < out.member_count(); ++m)
      for (auto& [topic, parts] : out.of(m)) std::sort(parts.begin(), parts.end());
  }

 private:
  static std::vector<int32_t> current(const group_spec& g, size_t member, size_t topic, int32_t partitions) {
    std::vector<int32_t> out;
    auto it = g.members[member].current.find(topic);
    if (it == g.members[member].current.end()) return out;
    for (int32_t p : it->second)
      if (p >= 0 && p < partitions) out.push_back(p);
    return out;
  }

  // Partitions >= members: exclusive, balanced, sticky.
  static void spread_partitions(const group_spec& g, size_t t, int32_t partitions, const std::vector<size_t>& subs,
                                assignment& out) {
    const size_t n = subs.size();
    const size_t base = static_cast<size_t>(partitions) / n;
    size_t extra = static_cast<size_t>(partitions) % n;  // members that may hold base + 1
    std::vector<int> owner(static_cast<size_t>(partitions), -1);
    std::vector<std::vector<int32_t>> held(n);
    for (size_t i = 0; i < n; ++i) {
      for (int32_t p : current(g, subs[i], t, partitions)) {
        const size_t cap = base + (extra > 0 ? 1 : 0);
        if (owner[static_cast<size_t>(p)] >= 0 || held[i].size() >= cap) continue;
        owner[static_cast<size_t>(p)] = static_cast<int>(i);
        held[i].push_back(p);
      }
      if (held[i].size() > base && extra > 0) --extra;
    }
    for (int32_t p = 0; p < partitions; ++p) {
      if (owner[static_cast<size_t>(p)] >= 0) continue;
      size_t best = 0;
      for (size_t i = 1; i < n; ++i)
        if (held[i].size() < held[best].size()) best = i;
      owner[static_cast<size_t>(p)] = static_cast<int>(best);
      held[best].push_back(p);
    }
    for (size_t i = 0; i < n; ++i)
      for (int32_t p : held[i]) out.give(subs[i], t, p);
  }

  // Members > partitions: one partition each, members per partition balanced.
  static void spread_members(const group_spec& g, size_t t, int32_t partitions, const std::vector<size_t>& subs,
                             assignment& out) {
    const size_t n = subs.size();
    const size_t cap = (n + static_cast<size_t>(partitions) - 1) / static_cast<size_t>(partitions);
    std::vector<size_t> load(static_cast<size_t>(partitions), 0);
    std::vector<int32_t> given(n, -1);
    for (size_t i = 0; i < n; ++i)
      for (int32_t p : current(g, subs[i], t, partitions))
        if (load[static_cast<size_t>(p)] < cap) {
          given[i] = p;
          ++load[static_cast<size_t>(p)];
          break;
        }
    // Every partition must be read: a partition nobody kept takes a member
    // from the most loaded one.
    for (int32_t p = 0; p < partitions; ++p) {
      if (load[static_cast<size_t>(p)] > 0) continue;
      int32_t from = -1;
      for (int32_t q = 0; q < partitions; ++q)
        if (load[static_cast<size_t>(q)] > 1 &&
            (from < 0 || load[static_cast<size_t>(q)] > load[static_cast<size_t>(from)]))
          from = q;
      for (size_t i = n; i-- > 0 && from >= 0;)
        if (given[i] == from) {
          given[i] = -1;
          --load[static_cast<size_t>(from)];
          break;
        }
      if (from < 0) break;  // only unplaced members left: the loop below places them
      for (size_t i = 0; i < n; ++i)
        if (given[i] < 0) {
          given[i] = p;
          ++load[static_cast<size_t>(p)];
          break;
        }
    }
    for (size_t i = 0; i < n; ++i) {
      if (given[i] >= 0) continue;
      int32_t best = 0;
      for (int32_t p = 1; p < partitions; ++p)
        if (load[static_cast<size_t>(p)] < load[static_cast<size_t>(best)]) best = p;
      given[i] = best;
      ++load[static_cast<size_t>(best)];
    }
    for (size_t i = 0; i < n; ++i) out.give(subs[i], t, given[i]);
  }
};

}  // namespace

MOSAIC_PLUGIN("mosaic-assignor-simple", "0.1.0", simple_assignor)
