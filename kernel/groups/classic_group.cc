#include "kernel/groups/classic_group.h"

#include <algorithm>

#include "kernel/base/log.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

const char* state_name(classic_state s) {
  switch (s) {
    case classic_state::empty: return "Empty";
    case classic_state::preparing_rebalance: return "PreparingRebalance";
    case classic_state::completing_rebalance: return "CompletingRebalance";
    case classic_state::stable: return "Stable";
    case classic_state::dead: return "Dead";
  }
  return "Dead";
}

namespace {

bool same_protocols(const classic_member& m, const adapter::join_request& req) {
  return m.protocols == req.protocols && m.protocol_type == req.protocol_type;
}

void set_member(classic_member& m, const adapter::join_request& req, const group_context& ctx) {
  m.protocol_type = req.protocol_type;
  m.protocols = req.protocols;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms > 0 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  m.client = req.client;
  m.subscribed_topics = req.subscribed_topics;
  m.session_deadline = ctx.now + milliseconds(m.session_timeout_ms);
}

adapter::join_result join_error(error e, const std::string& member_id) {
  adapter::join_result r;
  r.code = e;
  r.member_id = member_id;
  return r;
}

adapter::sync_result sync_error(error e) {
  adapter::sync_result r;
  r.code = e;
  return r;
}

// The member a request names; an error if there is none or the instance
// id says it is someone else.
template <class Group, class Member>
error find_in(Group& g, const std::string& member_id, const std::optional<std::string>& instance_id, Member** out) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) {
    if (instance_id && g.by_instance(*instance_id)) return error::fenced_instance_id;
    return error::unknown_member_id;
  }
  if (instance_id && it->second.instance_id != instance_id) return error::fenced_instance_id;
  *out = &it->second;
  return error::none;
}

}  // namespace

error classic_group::check_join(const adapter::join_request& req, const config::group_settings& s) {
  if (req.group_id.empty()) return error::invalid_group_id;
  if (req.session_timeout_ms < s.min_session_timeout_ms || req.session_timeout_ms > s.max_session_timeout_ms)
    return error::invalid_session_timeout;
  if (req.protocol_type.empty() || req.protocols.empty()) return error::inconsistent_group_protocol;
  return error::none;
}

const classic_member* classic_group::by_instance(const std::string& instance) const {
  for (const auto& entry : members)
    if (entry.second.instance_id == instance) return &entry.second;
  return nullptr;
}

error classic_group::find_member(const std::string& member_id, const std::optional<std::string>& instance_id,
                                 const classic_member** out) const {
  return find_in(*this, member_id, instance_id, out);
}

// The protocols every member supports.
std::set<std::string> classic_group::common_protocols() const {
  std::set<std::string> common;
  bool first = true;
  for (const auto& [mid, m] : members) {
    std::set<std::string> mine;
    for (const auto& p : m.protocols) mine.insert(p.first);
    if (first) {
      common = std::move(mine);
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(), std::inserter(both, both.begin()));
      common = std::move(both);
    }
  }
  return common;
}

// As Kafka: the joiner's protocol type is the members' (the group's own is
// set only when a generation completes, so during the first rebalance it
// is still empty), and one of its protocols is supported by every member.
// Order of preference does not matter here; the vote settles it.
bool classic_group::compatible(const adapter::join_request& req) const {
  if (members.empty()) return true;
  if (req.protocol_type != members.begin()->second.protocol_type) return false;
  const auto common = common_protocols();
  for (const auto& p : req.protocols)
    if (common.count(p.first)) return true;
  return false;
}

// Each member votes for its first choice among the common protocols.
std::optional<std::string> classic_group::choose_protocol() const {
  const auto common = common_protocols();
  if (common.empty()) return std::nullopt;
  std::map<std::string, int> votes;
  for (const auto& [mid, m] : members)
    for (const auto& p : m.protocols)
      if (common.count(p.first)) {
        ++votes[p.first];
        break;
      }
  std::optional<std::string> best;
  int most = -1;
  for (const auto& p : members.begin()->second.protocols) {  // ties: the first member's order
    if (!common.count(p.first)) continue;
    if (votes[p.first] > most) {
      most = votes[p.first];
      best = p.first;
    }
  }
  return best;
}

adapter::join_result classic_group::generation_info(const classic_member& m, bool skip_assignment) const {
  adapter::join_result r;
  r.generation = generation;
  r.protocol_type = protocol_type;
  r.protocol_name = protocol;
  r.leader = leader;
  r.member_id = m.id;
  r.skip_assignment = skip_assignment;
  if (m.id == leader && protocol)
    for (const auto& [mid, other] : members) {
      const auto* md = other.metadata_for(*protocol);
      r.members.push_back({other.id, other.instance_id, md ? *md : std::vector<uint8_t>{}});
    }
  return r;
}

int32_t classic_group::max_rebalance_timeout() const {
  int32_t t = 0;
  for (const auto& [mid, m] : members) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

void classic_group::prepare_rebalance(const group_context& ctx, classic_effects& fx) {
  for (auto& [mid, m] : members)
    if (m.awaiting_sync != 0)
      fx.syncs.push_back({std::exchange(m.awaiting_sync, 0), sync_error(error::rebalance_in_progress), false});
  if (state == classic_state::empty) {
    initial_rebalance = ctx.settings.initial_rebalance_delay_ms > 0;
    initial_delay_end = ctx.now + milliseconds(ctx.settings.initial_rebalance_delay_ms);
  }
  state = classic_state::preparing_rebalance;
  rebalance_deadline = ctx.now + milliseconds(std::max(max_rebalance_timeout(), 1));
}

void classic_group::maybe_complete_join(const group_context& ctx, classic_effects& fx) {
  if (state != classic_state::preparing_rebalance) return;
  if (initial_rebalance && ctx.now < initial_delay_end) return;
  bool all = pending.empty();
  for (const auto& [mid, m] : members) all = all && m.awaiting_join != 0;
  if (all || ctx.now >= rebalance_deadline) complete_join(ctx, fx);
}

void classic_group::complete_join(const group_context& ctx, classic_effects& fx) {
  for (auto it = members.begin(); it != members.end();) {
    if (it->second.awaiting_join == 0) {
      log::info("group {}: member {} did not rejoin in time and is removed", id, it->first);
      it = members.erase(it);
    } else {
      ++it;
    }
  }
  pending.clear();
  initial_rebalance = false;
  ++generation;
  if (members.empty()) {
    state = classic_state::empty;
    protocol.reset();
    leader.clear();
    fx.persist = true;
    return;
  }
  protocol_type = members.begin()->second.protocol_type;
  protocol = choose_protocol();
  if (!members.count(leader)) leader = members.begin()->first;
  state = classic_state::completing_rebalance;
  rebalance_deadline = ctx.now + milliseconds(std::max(max_rebalance_timeout(), 1));
  for (auto& [mid, m] : members) {
    m.assignment.clear();
    m.session_deadline = ctx.now + milliseconds(m.session_timeout_ms);
  }
  for (auto& [mid, m] : members)
    fx.joins.push_back({std::exchange(m.awaiting_join, 0), generation_info(m, false), false});
  log::debug("group {}: generation {} with {} member(s), protocol {}", id, generation, members.size(),
             protocol.value_or("-"));
}

void classic_group::remove_member(const std::string& member_id, error reason, classic_effects& fx) {
  auto it = members.find(member_id);
  if (it == members.end()) return;
  if (it->second.awaiting_join != 0)
    fx.joins.push_back({std::exchange(it->second.awaiting_join, 0), join_error(reason, member_id), false});
  if (it->second.awaiting_sync != 0)
    fx.syncs.push_back({std::exchange(it->second.awaiting_sync, 0), sync_error(reason), false});
  members.erase(it);
}

// After members left or expired.
void classic_group::members_changed(const group_context& ctx, classic_effects& fx) {
  if (state == classic_state::stable || state == classic_state::completing_rebalance ||
      (state == classic_state::empty && !members.empty()))
    prepare_rebalance(ctx, fx);
  maybe_complete_join(ctx, fx);
}

void classic_group::join(const adapter::join_request& req, waiter_id waiter, const group_context& ctx,
                         classic_effects& fx) {
  if (!compatible(req)) {
    fx.joins.push_back({waiter, join_error(error::inconsistent_group_protocol, req.member_id), false});
    return;
  }
  if (req.member_id.empty())
    join_new(req, waiter, ctx, fx);
  else
    join_known(req, waiter, ctx, fx);
}

void classic_group::join_new(const adapter::join_request& req, waiter_id waiter, const group_context& ctx,
                             classic_effects& fx) {
  const std::string member_id = ctx.new_member_id(req.client.client_id.empty() ? "member" : req.client.client_id);
  if (req.instance_id) {
    if (const classic_member* old = by_instance(*req.instance_id))
      return replace_static(old->id, member_id, req, waiter, ctx, fx);
  } else if (req.require_known_member_id) {
    if (members.size() + pending.size() >= static_cast<size_t>(ctx.settings.max_size)) {
      fx.joins.push_back({waiter, join_error(error::group_max_size_reached, ""), false});
      return;
    }
    pending[member_id] = ctx.now + milliseconds(req.session_timeout_ms);
    fx.joins.push_back({waiter, join_error(error::member_id_required, member_id), false});
    return;
  }
  add_member(member_id, req, waiter, ctx, fx);
}

void classic_group::add_member(const std::string& member_id, const adapter::join_request& req, waiter_id waiter,
                               const group_context& ctx, classic_effects& fx) {
  if (members.size() >= static_cast<size_t>(ctx.settings.max_size)) {
    fx.joins.push_back({waiter, join_error(error::group_max_size_reached, member_id), false});
    return;
  }
  classic_member& m = members[member_id];
  m.id = member_id;
  m.instance_id = req.instance_id;
  set_member(m, req, ctx);
  m.awaiting_join = waiter;
  if (state == classic_state::preparing_rebalance && initial_rebalance) {
    // A new group waits a little longer with each member that arrives,
    // within the rebalance timeout.
    initial_delay_end = std::min(ctx.now + milliseconds(ctx.settings.initial_rebalance_delay_ms), rebalance_deadline);
  }
  if (state != classic_state::preparing_rebalance) prepare_rebalance(ctx, fx);
  rebalance_deadline = std::max(rebalance_deadline, ctx.now + milliseconds(m.rebalance_timeout_ms));
  maybe_complete_join(ctx, fx);
}

// A static member came back with a new member id: it takes the old id's
// place, and its assignment, without a rebalance if nothing changed.
void classic_group::replace_static(const std::string& old_id, const std::string& new_id,
                                   const adapter::join_request& req, waiter_id waiter, const group_context& ctx,
                                   classic_effects& fx) {
  classic_member m = std::move(members.at(old_id));
  if (m.awaiting_join != 0)
    fx.joins.push_back({std::exchange(m.awaiting_join, 0), join_error(error::fenced_instance_id, old_id), false});
  if (m.awaiting_sync != 0)
    fx.syncs.push_back({std::exchange(m.awaiting_sync, 0), sync_error(error::fenced_instance_id), false});
  members.erase(old_id);
  const bool unchanged = same_protocols(m, req);
  m.id = new_id;
  set_member(m, req, ctx);
  if (leader == old_id) leader = new_id;
  auto& placed = members[new_id] = std::move(m);
  if (state == classic_state::stable && unchanged) {
    fx.persist = true;
    fx.joins.push_back({waiter, generation_info(placed, new_id == leader), true});
    return;
  }
  placed.awaiting_join = waiter;
  if (state != classic_state::preparing_rebalance) prepare_rebalance(ctx, fx);
  maybe_complete_join(ctx, fx);
}

void classic_group::join_known(const adapter::join_request& req, waiter_id waiter, const group_context& ctx,
                               classic_effects& fx) {
  if (pending.erase(req.member_id)) return add_member(req.member_id, req, waiter, ctx, fx);
  auto it = members.find(req.member_id);
  if (it == members.end()) {
    const bool fenced = req.instance_id && by_instance(*req.instance_id);
    fx.joins.push_back(
        {waiter, join_error(fenced ? error::fenced_instance_id : error::unknown_member_id, req.member_id), false});
    return;
  }
  classic_member& m = it->second;
  if (req.instance_id != m.instance_id && req.instance_id) {
    fx.joins.push_back({waiter, join_error(error::fenced_instance_id, req.member_id), false});
    return;
  }
  const bool unchanged = same_protocols(m, req);
  set_member(m, req, ctx);
  switch (state) {
    case classic_state::preparing_rebalance:
      m.awaiting_join = waiter;
      maybe_complete_join(ctx, fx);
      return;
    case classic_state::completing_rebalance:
      if (unchanged) {
        fx.joins.push_back({waiter, generation_info(m, false), false});
        return;
      }
      m.awaiting_join = waiter;
      prepare_rebalance(ctx, fx);
      return;
    case classic_state::stable:
      if (unchanged && m.id != leader) {
        fx.joins.push_back({waiter, generation_info(m, false), false});
        return;
      }
      m.awaiting_join = waiter;
      prepare_rebalance(ctx, fx);
      maybe_complete_join(ctx, fx);
      return;
    case classic_state::empty:
    case classic_state::dead:
      m.awaiting_join = waiter;
      prepare_rebalance(ctx, fx);
      maybe_complete_join(ctx, fx);
      return;
  }
}

void classic_group::sync(const adapter::sync_request& req, waiter_id waiter, const group_context& ctx,
                         classic_effects& fx) {
  adapter::sync_result r;
  auto answer = [&](error e) {
    r.code = e;
    fx.syncs.push_back({waiter, std::move(r), false});
  };
  classic_member* m = nullptr;
  if (auto e = find_in(*this, req.member_id, req.instance_id, &m); e != error::none) return answer(e);
  if (req.generation != generation) return answer(error::illegal_generation);
  if ((req.protocol_type && *req.protocol_type != protocol_type) ||
      (req.protocol_name && req.protocol_name != protocol))
    return answer(error::inconsistent_group_protocol);
  r.protocol_type = protocol_type;
  r.protocol_name = protocol;
  m->session_deadline = ctx.now + milliseconds(m->session_timeout_ms);
  switch (state) {
    case classic_state::empty:
    case classic_state::dead: return answer(error::unknown_member_id);
    case classic_state::preparing_rebalance: return answer(error::rebalance_in_progress);
    case classic_state::stable: r.assignment = m->assignment; return answer(error::none);
    case classic_state::completing_rebalance: break;
  }
  m->awaiting_sync = waiter;
  if (m->id != leader) return;
  for (auto& [mid, member] : members) member.assignment.clear();
  for (const auto& [mid, bytes] : req.assignments) {
    auto it = members.find(mid);
    if (it != members.end()) it->second.assignment = bytes;
  }
  state = classic_state::stable;
  fx.persist = true;
  // Everyone who synced hears once the assignment is on disk; the rest
  // get theirs when they sync.
  for (auto& [mid, member] : members)
    if (member.awaiting_sync != 0) {
      adapter::sync_result a = r;
      a.assignment = member.assignment;
      fx.syncs.push_back({std::exchange(member.awaiting_sync, 0), std::move(a), true});
    }
}

error classic_group::heartbeat(int32_t gen, const adapter::member_identity& who, const group_context& ctx) {
  classic_member* m = nullptr;
  if (auto e = find_in(*this, who.member_id, who.instance_id, &m); e != error::none) return e;
  switch (state) {
    case classic_state::empty:
    case classic_state::dead: return error::unknown_member_id;
    case classic_state::preparing_rebalance:
      m->session_deadline = ctx.now + milliseconds(m->session_timeout_ms);
      return error::rebalance_in_progress;
    case classic_state::completing_rebalance:
    case classic_state::stable:
      if (gen != generation) return error::illegal_generation;
      m->session_deadline = ctx.now + milliseconds(m->session_timeout_ms);
      return error::none;
  }
  return error::none;
}

std::vector<error> classic_group::leave(const std::vector<adapter::member_identity>& who, const group_context& ctx,
                                        classic_effects& fx) {
  std::vector<error> out;
  bool changed = false;
  for (const auto& w : who) {
    std::string member_id = w.member_id;
    if (w.instance_id) {
      const classic_member* m = by_instance(*w.instance_id);
      if (m == nullptr) {
        out.push_back(error::unknown_member_id);
        continue;
      }
      if (!w.member_id.empty() && m->id != w.member_id) {
        out.push_back(error::fenced_instance_id);
        continue;
      }
      member_id = m->id;
    }
    if (pending.erase(member_id)) {
      out.push_back(error::none);
      continue;
    }
    if (!members.count(member_id)) {
      out.push_back(error::unknown_member_id);
      continue;
    }
    remove_member(member_id, error::unknown_member_id, fx);
    log::debug("group {}: member {} left", id, member_id);
    out.push_back(error::none);
    changed = true;
  }
  if (changed) members_changed(ctx, fx);
  return out;
}

void classic_group::expire(const group_context& ctx, classic_effects& fx) {
  for (auto it = pending.begin(); it != pending.end();) it = it->second <= ctx.now ? pending.erase(it) : std::next(it);
  std::vector<std::string> gone;
  for (const auto& [mid, m] : members)
    if (m.awaiting_join == 0 && m.session_deadline <= ctx.now) gone.push_back(mid);
  // Members that never sent SyncGroup within the rebalance timeout are
  // dropped, so the others are not left waiting for a leader that is gone.
  if (state == classic_state::completing_rebalance && ctx.now >= rebalance_deadline)
    for (const auto& [mid, m] : members)
      if (m.awaiting_sync == 0 && std::find(gone.begin(), gone.end(), mid) == gone.end()) gone.push_back(mid);
  for (const auto& mid : gone) {
    log::info("group {}: member {} is removed (no heartbeat or SyncGroup in time)", id, mid);
    remove_member(mid, error::unknown_member_id, fx);
  }
  if (!gone.empty()) members_changed(ctx, fx);
  maybe_complete_join(ctx, fx);
}

void classic_group::restored(const group_context& ctx) {
  if (state == classic_state::preparing_rebalance || state == classic_state::completing_rebalance)
    state = members.empty() ? classic_state::empty : classic_state::stable;
  for (auto& [mid, m] : members) m.session_deadline = ctx.now + milliseconds(m.session_timeout_ms);
}

error classic_group::check_commit(const adapter::commit_request& req) const {
  const classic_member* m = nullptr;
  if (auto e = find_member(req.member_id, req.instance_id, &m); e != error::none) return e;
  if (req.generation_or_epoch != generation) return error::illegal_generation;
  if (state == classic_state::completing_rebalance) return error::rebalance_in_progress;
  return error::none;
}

std::set<std::string> classic_group::subscribed_topics() const {
  std::set<std::string> out;
  for (const auto& [mid, m] : members) out.insert(m.subscribed_topics.begin(), m.subscribed_topics.end());
  return out;
}

std::string classic_group::listed_type() const {
  if (protocol_type.empty() && !members.empty()) return members.begin()->second.protocol_type;
  return protocol_type;
}

adapter::classic_group_description classic_group::describe() const {
  adapter::classic_group_description d;
  d.group_id = id;
  d.state = state_name(state);
  d.protocol_type = protocol_type;
  if (state == classic_state::stable || state == classic_state::completing_rebalance)
    d.protocol = protocol.value_or("");
  for (const auto& [mid, m] : members) {
    adapter::classic_group_description::member dm;
    dm.member_id = mid;
    dm.instance_id = m.instance_id;
    dm.client = m.client;
    if (protocol)
      if (const auto* md = m.metadata_for(*protocol)) dm.metadata = *md;
    if (state == classic_state::stable) dm.assignment = m.assignment;
    d.members.push_back(std::move(dm));
  }
  return d;
}

}  // namespace mosaic::groups
