// The range assignor (`group.remote.assignor=range`): for each topic, its
// subscribers in member-id order each take one contiguous range of
// partitions, the first (partitions % subscribers) of them one more than
// the rest. Topics with the same partition count and the same subscribers
// are therefore co-partitioned: partition i of each goes to the same
// member, which is what joins across topics need. Balanced per topic, not
// across topics, and not sticky: a member joining shifts the ranges.
#include <vector>

#include "mosaic/sdk/assignor.h"

namespace {

using mosaic::sdk::assignment;
using mosaic::sdk::group_spec;

class range_assignor : public mosaic::sdk::assignor<range_assignor> {
 public:
  static constexpr const char* name = "mosaic.assignor.range";
  static constexpr const char* description = "co-partitioned contiguous ranges per topic (Kafka's range)";
  static constexpr const char* assignor_name = "range";

  range_assignor(const mosaic::sdk::config&, mosaic::sdk::host) {}

  void assign(const group_spec& g, assignment& out) const {
    std::vector<size_t> subscribers;
    for (size_t t = 0; t < g.topics.size(); ++t) {
      subscribers.clear();
      for (size_t m = 0; m < g.members.size(); ++m)
        if (g.members[m].subscribes(t)) subscribers.push_back(m);
      if (subscribers.empty() || g.topics[t].partitions <= 0) continue;
      const auto n = static_cast<size_t>(g.topics[t].partitions);
      const size_t each = n / subscribers.size();
      const size_t extra = n % subscribers.size();
      size_t next = 0;
      for (size_t i = 0; i < subscribers.size(); ++i) {
        const size_t count = each + (i < extra ? 1 : 0);
        for (size_t k = 0; k < count; ++k) out.give(subscribers[i], t, static_cast<int32_t>(next++));
      }
    }
  }
};

}  // namespace

MOSAIC_PLUGIN("mosaic-assignor-range", "0.1.0", range_assignor)
