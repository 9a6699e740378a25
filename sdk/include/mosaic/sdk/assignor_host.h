// The host's side of the assignor category: builds the C view of a group,
// calls an assignor through its table, and checks the answer. The broker's
// group coordinator and the SDK's conformance suite both call assignors
// through this, so a plugin is tested exactly as the broker runs it.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mosaic/abi/assignor.h"
#include "mosaic/sdk/assignor.h"

namespace mosaic::sdk {

struct assignor_input {
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack;
    std::vector<size_t> topics;  // subscribed, sorted topic indexes
    partition_map current;
  };
  struct topic {
    topic_id id{};
    std::string name;
    int32_t partitions = 0;
  };
  std::string group_id;
  std::vector<member> members;  // sorted by id
  std::vector<topic> topics;    // sorted by name
};

struct assignor_outcome {
  mosaic_status_t status = MOSAIC_OK;
  std::string message;                 // why, when status is not MOSAIC_OK
  std::vector<partition_map> members;  // by member index; sorted partitions
  bool ok() const noexcept { return status == MOSAIC_OK; }
};

namespace detail {

struct assignment_collector {
  const assignor_input* in;
  std::vector<partition_map> members;
  bool shared = false;  // a share group: a partition may go to several members, once each
  std::set<std::tuple<size_t, size_t, int32_t>> taken;  // (member if shared, topic, partition)
  std::string problem;

  static mosaic_status_t sink(void* ctx, size_t member, size_t topic, const int32_t* partitions, size_t count) {
    auto* self = static_cast<assignment_collector*>(ctx);
    if (!self->problem.empty()) return MOSAIC_ERR_INVALID_ARGUMENT;
    try {
      return self->add(member, topic, partitions, count);
    } catch (...) {
      return MOSAIC_ERR_NO_MEMORY;
    }
  }

  mosaic_status_t add(size_t member, size_t topic, const int32_t* partitions, size_t count) {
    if (member >= in->members.size()) {
      problem = "it names member index " + std::to_string(member) + " of " + std::to_string(in->members.size());
      return MOSAIC_ERR_INVALID_ARGUMENT;
    }
    if (topic >= in->topics.size()) {
      problem = "it names topic index " + std::to_string(topic) + " of " + std::to_string(in->topics.size());
      return MOSAIC_ERR_INVALID_ARGUMENT;
    }
    const auto& m = in->members[member];
    const auto& t = in->topics[topic];
    bool subscribed = false;
    for (size_t s : m.topics) subscribed = subscribed || s == topic;
    if (!subscribed) {
      problem = "it gives " + t.name + " to member " + m.id + ", which does not subscribe to it";
      return MOSAIC_ERR_INVALID_ARGUMENT;
    }
    auto& list = members[member][topic];
    for (size_t i = 0; i < count; ++i) {
      const int32_t p = partitions[i];
      if (p < 0 || p >= t.partitions) {
        problem = "it gives " + t.name + "-" + std::to_string(p) + ", which does not exist";
        return MOSAIC_ERR_INVALID_ARGUMENT;
      }
      if (!taken.emplace(shared ? member : 0, topic, p).second) {
        problem = "it gives " + t.name + "-" + std::to_string(p) + " twice" + (shared ? " to member " + m.id : "");
        return MOSAIC_ERR_INVALID_ARGUMENT;
      }
      list.push_back(p);
    }
    return MOSAIC_OK;
  }
};

}  // namespace detail

// Calls `vt.assign` on `instance` for the group `in`. A status from the
// plugin, or an answer that gives a partition twice, to a member that does
// not subscribe to its topic, or that does not exist, is a failed outcome
// with the reason in `message`. For a share group (`shared`), a partition
// may go to several members, but to each at most once.
inline assignor_outcome call_assignor(const mosaic_assignor_vtable_v1& vt, void* instance, const assignor_input& in,
                                      bool shared = false) {
  // The C view: arrays that point into `in` and into these vectors.
  std::vector<std::vector<std::vector<int32_t>>> current(in.members.size());
  std::vector<std::vector<mosaic_topic_partitions_v1>> current_views(in.members.size());
  std::vector<mosaic_assignor_member_v1> members(in.members.size());
  for (size_t i = 0; i < in.members.size(); ++i) {
    const auto& m = in.members[i];
    current[i].reserve(m.current.size());  // no reallocation: the views point into it
    for (const auto& [topic, parts] : m.current) {
      if (topic >= in.topics.size()) continue;
      const auto& copy = current[i].emplace_back(parts);
      current_views[i].push_back({topic, copy.data(), copy.size()});
    }
    members[i] = {sizeof(mosaic_assignor_member_v1),
                  m.id.c_str(),
                  m.instance_id ? m.instance_id->c_str() : nullptr,
                  m.rack ? m.rack->c_str() : nullptr,
                  m.topics.data(),
                  m.topics.size(),
                  current_views[i].data(),
                  current_views[i].size()};
  }
  std::vector<mosaic_assignor_topic_v1> topics(in.topics.size());
  for (size_t i = 0; i < in.topics.size(); ++i) {
    auto& t = topics[i];
    t.struct_size = sizeof(mosaic_assignor_topic_v1);
    std::copy(in.topics[i].id.begin(), in.topics[i].id.end(), std::begin(t.id));
    t.name = in.topics[i].name.c_str();
    t.partition_count = in.topics[i].partitions;
    t.partition_racks = nullptr;
  }
  const mosaic_assignor_group_v1 group{sizeof(mosaic_assignor_group_v1),
                                       in.group_id.c_str(),
                                       members.data(),
                                       members.size(),
                                       topics.data(),
                                       topics.size()};
  detail::assignment_collector collector{&in, std::vector<partition_map>(in.members.size()), shared, {}, {}};
  const mosaic_assignment_sink_v1 sink{sizeof(mosaic_assignment_sink_v1), &collector,
                                       &detail::assignment_collector::sink};
  char message[512] = {0};
  mosaic_error_v1 err{message, sizeof(message)};
  assignor_outcome out;
  out.status = vt.assign(instance, &group, &sink, &err);
  if (!collector.problem.empty()) {
    out.status = MOSAIC_ERR_INVALID_ARGUMENT;
    out.message = "the assignor's answer is invalid: " + collector.problem;
    return out;
  }
  if (out.status != MOSAIC_OK) {
    out.message = message[0] != '\0' ? message : "the assignor failed without a message";
    return out;
  }
  for (auto& m : collector.members)
    for (auto& [topic, parts] : m) std::sort(parts.begin(), parts.end());
  out.members = std::move(collector.members);
  return out;
}

}  // namespace mosaic::sdk
