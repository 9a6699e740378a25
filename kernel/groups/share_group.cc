#include "kernel/groups/share_group.h"

#include <algorithm>
#include <set>

#include "kernel/base/log.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

namespace {

adapter::share_heartbeat_result refusal(const adapter::share_heartbeat_request& req, error e, std::string message) {
  adapter::share_heartbeat_result r;
  r.member_id = req.member_id;
  r.code = e;
  r.message = std::move(message);
  return r;
}

}  // namespace

std::optional<adapter::share_heartbeat_result> share_group::check_heartbeat(
    const adapter::share_heartbeat_request& req) {
  if (req.group_id.empty()) return refusal(req, error::invalid_group_id, "the group id is empty");
  if (req.member_id.empty()) return refusal(req, error::invalid_request, "MemberId can't be empty");
  if (req.member_epoch == 0 && (!req.subscribed_topic_names || req.subscribed_topic_names->empty()))
    return refusal(req, error::invalid_request, "SubscribedTopicNames must be set and not empty when joining");
  return std::nullopt;
}

adapter::share_heartbeat_result share_group::heartbeat(const adapter::share_heartbeat_request& req, uint32_t holder,
                                                       const group_context& ctx, share_inputs& in, share_effects& fx) {
  if (req.member_epoch == 0) {
    if (!members.count(req.member_id) && static_cast<int64_t>(members.size()) >= ctx.settings.share_max_size)
      return refusal(req, error::group_max_size_reached,
                     "the share group has " + std::to_string(members.size()) + " members (group.share.max.size)");
    auto& joined = members[req.member_id];
    joined.id = req.member_id;
    joined.holder = holder;
    joined.epoch = 0;
  } else if (!members.count(req.member_id)) {
    return refusal(req, error::unknown_member_id, "member " + req.member_id + " is not in share group " + id);
  }
  auto& m = members[req.member_id];
  if (req.member_epoch > 0 && req.member_epoch != m.epoch)
    return refusal(
        req, error::fenced_member_epoch,
        "member epoch " + std::to_string(req.member_epoch) + " is not the member's " + std::to_string(m.epoch));
  m.rack = req.rack;
  m.client = req.client;
  m.deadline = ctx.now + milliseconds(config.session_timeout_ms);
  bool changed = req.member_epoch == 0;
  if (req.subscribed_topic_names && *req.subscribed_topic_names != m.topics) {
    m.topics = *req.subscribed_topic_names;
    changed = true;
  }
  update_target(changed, ctx, in, fx);
  adapter::share_heartbeat_result r;
  r.member_id = req.member_id;
  const auto& mine = target[m.id];
  if (m.epoch != epoch || req.member_epoch == 0) {
    const bool differs = mine != m.assigned || req.member_epoch == 0;
    m.assigned = mine;
    m.epoch = epoch;
    if (differs) r.assignment = to_list(m.assigned);
  }
  r.member_epoch = m.epoch;
  r.heartbeat_interval_ms = static_cast<int32_t>(config.heartbeat_interval_ms);
  return r;
}

uint32_t share_group::remove(const std::string& member_id, const group_context& ctx, share_inputs& in,
                             share_effects& fx) {
  auto it = members.find(member_id);
  if (it == members.end()) return 0;
  const uint32_t holder = it->second.holder;
  members.erase(it);
  target.erase(member_id);
  update_target(true, ctx, in, fx);
  return holder;
}

std::vector<std::string> share_group::expired(const group_context& ctx) const {
  std::vector<std::string> out;
  for (const auto& [mid, m] : members)
    if (m.deadline <= ctx.now) out.push_back(mid);
  return out;
}

// Recomputes the target assignment if the members or their topics changed
// since the last one (`force`: the members did).
void share_group::update_target(bool force, const group_context& ctx, share_inputs& in, share_effects& fx) {
  std::set<std::string> names;
  for (const auto& [mid, m] : members) names.insert(m.topics.begin(), m.topics.end());
  std::vector<adapter::topic_info> topics;
  for (const auto& n : names)
    if (auto t = in.find_topic(n)) topics.push_back(std::move(*t));
  std::map<uuid, int32_t> seen;
  for (const auto& t : topics) seen[t.id] = static_cast<int32_t>(t.partitions.size());
  if (!force && seen == topics_seen) return;
  if (seen != topics_seen) force = true;
  topics_seen = seen;
  sdk::assignor_input input;
  input.group_id = id;
  std::map<uuid, size_t> index;
  for (const auto& t : topics) {
    index[t.id] = input.topics.size();
    input.topics.push_back({t.id, t.name, static_cast<int32_t>(t.partitions.size())});
  }
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < input.topics.size(); ++i) by_name[input.topics[i].name] = i;
  for (const auto& [mid, m] : members) {
    sdk::assignor_input::member im;
    im.id = mid;
    im.rack = m.rack;
    for (const auto& n : m.topics)
      if (auto f = by_name.find(n); f != by_name.end()) im.topics.push_back(f->second);
    std::sort(im.topics.begin(), im.topics.end());
    im.topics.erase(std::unique(im.topics.begin(), im.topics.end()), im.topics.end());
    if (auto t = target.find(mid); t != target.end())
      for (const auto& [tid, ps] : t->second)
        if (auto f = index.find(tid); f != index.end()) im.current[f->second].assign(ps.begin(), ps.end());
    input.members.push_back(std::move(im));
  }
  const std::string name = ctx.settings.share_assignors.front();
  auto out = in.assign(name, input, nullptr);
  if (!out || !out->ok()) {
    log::error("share group {}: assignor '{}' failed, keeping the previous assignment: {}", id, name,
               out ? out->message : out.error().message());
    return;
  }
  assignor = name;
  std::map<std::string, partition_set> next;
  for (size_t i = 0; i < input.members.size(); ++i) {
    auto& set = next[input.members[i].id];
    for (const auto& [ti, ps] : out->members[i]) {
      set[input.topics[ti].id].insert(ps.begin(), ps.end());
      for (int32_t p : ps) fx.assigned.emplace_back(input.topics[ti].id, p);
    }
  }
  if (next != target || force) {
    target = std::move(next);
    ++epoch;
    assignment_epoch = epoch;
    fx.persist = true;
  }
}

void share_group::set_configs(share_overrides overrides, const config::group_settings& s) {
  configs = std::move(overrides);
  config = resolve_share_configs(configs, s);
}

adapter::share_group_description share_group::describe(const config::group_settings& s) const {
  adapter::share_group_description d;
  d.group_id = id;
  d.state = state_name();
  d.epoch = epoch;
  d.assignment_epoch = assignment_epoch;
  d.assignor = assignor.empty() ? s.share_assignors.front() : assignor;
  for (const auto& [mid, m] : members) {
    auto& dm = d.members.emplace_back();
    dm.member_id = mid;
    dm.rack = m.rack;
    dm.member_epoch = m.epoch;
    dm.client = m.client;
    dm.subscribed_topic_names = m.topics;
    dm.assignment = to_list(m.assigned);
  }
  return d;
}

}  // namespace mosaic::groups
