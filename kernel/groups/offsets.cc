#include "kernel/groups/offsets.h"

#include <algorithm>

namespace mosaic::groups {

using adapter::error;

std::vector<error> offset_store::commit(const adapter::commit_request& req, const named_topics& topics,
                                        const std::vector<bool>& stale, int64_t wall_ms, int64_t metadata_max_bytes,
                                        std::vector<offset_change>& changes) {
  std::vector<error> out;
  auto& kept = groups_[req.group_id];
  for (size_t i = 0; i < req.offsets.size(); ++i) {
    const auto& o = req.offsets[i];
    const auto& topic = topics.at(o.topic);  // offsets are kept for partitions that exist
    if (!topic || o.partition < 0 || static_cast<size_t>(o.partition) >= topic->partitions.size()) {
      out.push_back(error::unknown_topic_or_partition);
      continue;
    }
    if (!stale.empty() && stale[i]) {
      out.push_back(error::stale_member_epoch);
      continue;
    }
    if (o.metadata && static_cast<int64_t>(o.metadata->size()) > metadata_max_bytes) {
      out.push_back(error::offset_metadata_too_large);
      continue;
    }
    committed c{o.offset, o.leader_epoch, o.metadata, wall_ms};
    changes.push_back({req.group_id, {o.topic, o.partition}, c});
    kept[{o.topic, o.partition}] = std::move(c);
    out.push_back(error::none);
  }
  if (kept.empty()) groups_.erase(req.group_id);
  return out;
}

adapter::offset_fetch_result offset_store::fetch(const adapter::offset_fetch_request& req) const {
  adapter::offset_fetch_result r;
  auto g = groups_.find(req.group_id);
  auto make = [](const offset_key& k, const committed* c) {
    adapter::committed_offset o;
    o.topic = k.first;
    o.partition = k.second;
    if (c != nullptr) {
      o.offset = c->offset;
      o.leader_epoch = c->leader_epoch;
      o.metadata = c->metadata;
    } else {
      o.metadata = std::string();
    }
    return o;
  };
  if (!req.partitions) {
    if (g != groups_.end())
      for (const auto& [k, c] : g->second) r.offsets.push_back(make(k, &c));
    return r;
  }
  for (const auto& k : *req.partitions) {
    const committed* c = nullptr;
    if (g != groups_.end()) {
      auto it = g->second.find(k);
      if (it != g->second.end()) c = &it->second;
    }
    r.offsets.push_back(make(k, c));
  }
  return r;
}

std::vector<error> offset_store::erase(const std::string& group, const std::vector<offset_key>& parts,
                                       const std::set<std::string>& busy, std::vector<offset_change>& changes) {
  std::vector<error> out;
  auto g = groups_.find(group);
  for (const auto& k : parts) {
    if (busy.count(k.first)) {
      out.push_back(error::group_subscribed_to_topic);
      continue;
    }
    if (g != groups_.end() && g->second.erase(k)) changes.push_back({group, k, std::nullopt});
    out.push_back(error::none);
  }
  if (g != groups_.end() && g->second.empty()) groups_.erase(g);
  return out;
}

void offset_store::erase_group(const std::string& group, std::vector<offset_change>& changes) {
  auto g = groups_.find(group);
  if (g == groups_.end()) return;
  for (const auto& [k, c] : g->second) changes.push_back({group, k, std::nullopt});
  groups_.erase(g);
}

size_t offset_store::expire(const std::string& group, const retention_view& view, int64_t wall_ms, int64_t retention_ms,
                            std::vector<offset_change>& changes) {
  auto g = groups_.find(group);
  if (g == groups_.end()) return 0;
  if (view.has_members && !view.expires_while_active) return 0;
  size_t n = 0;
  for (auto it = g->second.begin(); it != g->second.end();) {
    const committed& c = it->second;
    int64_t base = c.commit_time_ms;
    if (view.has_members) {
      if (view.subscribed.count(it->first.first)) {
        ++it;
        continue;
      }
    } else {
      base = std::max(base, view.empty_since_ms);
    }
    if (wall_ms - base < retention_ms) {
      ++it;
      continue;
    }
    changes.push_back({group, it->first, std::nullopt});
    it = g->second.erase(it);
    ++n;
  }
  if (g->second.empty()) groups_.erase(g);
  return n;
}

}  // namespace mosaic::groups
