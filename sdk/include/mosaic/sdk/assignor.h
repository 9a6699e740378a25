// C++ side of the assignor category: derive from `assignor<T>` and provide
// `assignor_name` and `assign`:
//
//   class my_assignor : public mosaic::sdk::assignor<my_assignor> {
//    public:
//     static constexpr const char* name = "com.acme.assignor.rack_first";
//     static constexpr const char* assignor_name = "rack-first";
//     my_assignor(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     void assign(const mosaic::sdk::group_spec& group, mosaic::sdk::assignment& out) const;
//   };
//
// `assign` must be deterministic and may run on several threads at once (see
// mosaic/abi/assignor.h). The views borrow the broker's data for the call.
#pragma once

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "mosaic/abi/assignor.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

using topic_id = std::array<uint8_t, 16>;

struct topic_spec {
  topic_id id{};
  std::string_view name;
  int32_t partitions = 0;
  // Racks of each partition's replicas; empty when unknown.
  std::vector<std::vector<std::string_view>> racks;
};

// Partitions by topic index (into group_spec::topics), each list sorted.
using partition_map = std::map<size_t, std::vector<int32_t>>;

struct member_spec {
  std::string_view id;
  std::optional<std::string_view> instance_id;
  std::optional<std::string_view> rack;
  std::vector<size_t> topics;  // subscribed, sorted topic indexes
  partition_map current;       // the member's current target assignment

  bool subscribes(size_t topic) const {
    for (size_t t : topics)
      if (t == topic) return true;
    return false;
  }
};

struct group_spec {
  std::string_view id;
  std::vector<member_spec> members;  // sorted by member id
  std::vector<topic_spec> topics;    // sorted by name
};

// The answer: for each member (same order as group_spec::members), the
// partitions it gets.
class assignment {
 public:
  explicit assignment(size_t members) : members_(members) {}
  void give(size_t member, size_t topic, int32_t partition) { members_.at(member)[topic].push_back(partition); }
  const partition_map& of(size_t member) const { return members_.at(member); }
  partition_map& of(size_t member) { return members_.at(member); }
  size_t member_count() const noexcept { return members_.size(); }

 private:
  std::vector<partition_map> members_;
};

// The C view as C++ values (views into the caller's strings).
inline group_spec to_group_spec(const mosaic_assignor_group_v1& g) {
  group_spec out;
  out.id = g.group_id != nullptr ? g.group_id : "";
  out.topics.reserve(g.topic_count);
  for (size_t i = 0; i < g.topic_count; ++i) {
    const auto& t = g.topics[i];
    topic_spec ts;
    std::copy(std::begin(t.id), std::end(t.id), ts.id.begin());
    ts.name = t.name != nullptr ? t.name : "";
    ts.partitions = t.partition_count;
    if (t.partition_racks != nullptr) {
      ts.racks.resize(static_cast<size_t>(t.partition_count));
      for (int32_t p = 0; p < t.partition_count; ++p)
        for (const char* const* r = t.partition_racks[p]; r != nullptr && *r != nullptr; ++r)
          ts.racks[static_cast<size_t>(p)].emplace_back(*r);
    }
    out.topics.push_back(std::move(ts));
  }
  out.members.reserve(g.member_count);
  for (size_t i = 0; i < g.member_count; ++i) {
    const auto& m = g.members[i];
    member_spec ms;
    ms.id = m.member_id;
    if (m.instance_id != nullptr) ms.instance_id = m.instance_id;
    if (m.rack != nullptr) ms.rack = m.rack;
    ms.topics.assign(m.subscribed_topics, m.subscribed_topics + m.subscribed_count);
    for (size_t c = 0; c < m.current_count; ++c)
      ms.current[m.current[c].topic_index].assign(m.current[c].partitions,
                                                  m.current[c].partitions + m.current[c].partition_count);
    out.members.push_back(std::move(ms));
  }
  return out;
}

template <class T>
struct assignor_binding {
  static mosaic_status_t assign(void* instance, const mosaic_assignor_group_v1* group,
                                const mosaic_assignment_sink_v1* out, mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      const group_spec spec = to_group_spec(*group);
      assignment result(spec.members.size());
      static_cast<const T*>(instance)->assign(spec, result);
      for (size_t m = 0; m < result.member_count(); ++m)
        for (const auto& [topic, parts] : result.of(m)) {
          mosaic_status_t s = out->assign(out->host_ctx, m, topic, parts.data(), parts.size());
          if (s != MOSAIC_OK) throw error(s, "the host refused the assignment");
        }
    });
  }
  static constexpr mosaic_assignor_vtable_v1 table = {sizeof(mosaic_assignor_vtable_v1), T::assignor_name, &assign};
};

template <class T>
struct assignor {
  static constexpr int32_t category = MOSAIC_CATEGORY_ASSIGNOR;
  using binding = assignor_binding<T>;
};

}  // namespace mosaic::sdk
