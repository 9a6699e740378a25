#include "kernel/groups/consumer_group.h"

#include <algorithm>

#include <re2/re2.h>

#include "kernel/base/log.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

namespace {

// The topic named `name` in `topics` (sorted by name), or null.
const topic_summary* find_summary(const topic_summaries& topics, const std::string& name) {
  auto at = std::lower_bound(topics.begin(), topics.end(), name,
                             [](const topic_summary& t, const std::string& n) { return t.name < n; });
  return at != topics.end() && at->name == name ? &*at : nullptr;
}

partition_set to_set(const std::vector<adapter::topic_partitions>& l) {
  partition_set s;
  for (const auto& tp : l) s[tp.topic_id].insert(tp.partitions.begin(), tp.partitions.end());
  return s;
}

size_t partition_count(const partition_set& s) {
  size_t n = 0;
  for (const auto& [tid, parts] : s) n += parts.size();
  return n;
}

partition_set intersect(const partition_set& a, const partition_set& b) {
  partition_set out;
  for (const auto& [tid, parts] : a) {
    auto it = b.find(tid);
    if (it == b.end()) continue;
    for (int32_t p : parts)
      if (it->second.count(p)) out[tid].insert(p);
  }
  return out;
}

partition_set minus(const partition_set& a, const partition_set& b) {
  partition_set out;
  for (const auto& [tid, parts] : a) {
    auto it = b.find(tid);
    for (int32_t p : parts)
      if (it == b.end() || !it->second.count(p)) out[tid].insert(p);
  }
  return out;
}

bool subset(const partition_set& a, const partition_set& b) { return partition_count(minus(a, b)) == 0; }

bool overlaps(const partition_set& a, const partition_set& b) { return partition_count(intersect(a, b)) > 0; }

// Partitions newly held get the member's current epoch; partitions no
// longer held are forgotten.
void track_assignment_epochs(consumer_member& m) {
  std::map<std::pair<uuid, int32_t>, int32_t> next;
  for (const auto& [tid, parts] : m.assigned)
    for (int32_t p : parts) {
      auto it = m.assigned_at.find({tid, p});
      next[{tid, p}] = it == m.assigned_at.end() ? m.epoch : it->second;
    }
  m.assigned_at = std::move(next);
}

// Who holds each partition now (assigned or being revoked).
std::map<std::pair<uuid, int32_t>, std::string> owners(const std::map<std::string, consumer_member>& members) {
  std::map<std::pair<uuid, int32_t>, std::string> out;
  for (const auto& [mid, m] : members) {
    for (const auto& [t, parts] : m.assigned)
      for (int32_t p : parts) out[{t, p}] = mid;
    for (const auto& [t, parts] : m.revoking)
      for (int32_t p : parts) out[{t, p}] = mid;
  }
  return out;
}

void fail(adapter::consumer_heartbeat_result& r, error e, std::string message) {
  r.code = e;
  r.message = std::move(message);
}

}  // namespace

adapter::consumer_heartbeat_result consumer_group::refusal(const adapter::consumer_heartbeat_request& req,
                                                           const config::group_settings& s, error e,
                                                           std::string message) {
  adapter::consumer_heartbeat_result r;
  r.member_id = req.member_id;
  r.member_epoch = req.member_epoch;
  r.heartbeat_interval_ms = static_cast<int32_t>(s.consumer_heartbeat_interval_ms);
  fail(r, e, std::move(message));
  return r;
}

// ---- patterns ----------------------------------------------------------------

topic_patterns::topic_patterns() = default;
topic_patterns::~topic_patterns() = default;

const re2::RE2* topic_patterns::compiled(const std::string& pattern) {
  auto it = cache_.find(pattern);
  if (it == cache_.end()) {
    if (cache_.size() > 1000) cache_.clear();
    RE2::Options o;
    o.set_log_errors(false);
    it = cache_.emplace(pattern, std::make_unique<RE2>(pattern, o)).first;
  }
  return it->second->ok() ? it->second.get() : nullptr;
}

bool topic_patterns::full_match(const re2::RE2& re, const std::string& name) const { return RE2::FullMatch(name, re); }

// ---- heartbeats --------------------------------------------------------------

std::optional<adapter::consumer_heartbeat_result> consumer_group::check_heartbeat(
    const adapter::consumer_heartbeat_request& req, const config::group_settings& s, topic_patterns& patterns) {
  auto fail = [&](error e, std::string message) { return refusal(req, s, e, std::move(message)); };
  if (req.group_id.empty()) return fail(error::invalid_request, "GroupId can't be empty");
  if (req.member_epoch < -2) return fail(error::invalid_request, "MemberEpoch is invalid");
  if (req.member_epoch != 0 && req.member_id.empty())
    return fail(error::unknown_member_id, "MemberId can't be empty once the member has joined");
  if (req.member_epoch == 0) {
    if (!req.subscribed_topic_names && !req.subscribed_topic_regex)
      return fail(error::invalid_request, "a joining member must send SubscribedTopicNames or SubscribedTopicRegex");
    if (req.owned && !req.owned->empty())
      return fail(error::invalid_request, "TopicPartitions must be empty when (re-)joining");
  }
  if (req.server_assignor && !req.server_assignor->empty() &&
      std::find(s.consumer_assignors.begin(), s.consumer_assignors.end(), *req.server_assignor) ==
          s.consumer_assignors.end())
    return fail(error::unsupported_assignor, "ServerAssignor " + *req.server_assignor + " is not supported");
  if (req.subscribed_topic_regex && !req.subscribed_topic_regex->empty() &&
      patterns.compiled(*req.subscribed_topic_regex) == nullptr)
    return fail(error::invalid_regular_expression,
                "SubscribedTopicRegex " + *req.subscribed_topic_regex + " is not a valid regular expression");
  return std::nullopt;
}

adapter::consumer_heartbeat_result consumer_group::heartbeat(const adapter::consumer_heartbeat_request& req,
                                                             bool replay, const group_context& ctx,
                                                             consumer_inputs& in) {
  adapter::consumer_heartbeat_result r;
  r.member_id = req.member_id;
  r.member_epoch = req.member_epoch;
  r.heartbeat_interval_ms = static_cast<int32_t>(ctx.settings.consumer_heartbeat_interval_ms);
  if (req.member_epoch < 0) {
    if (!leave(req)) fail(r, error::unknown_member_id, "no member " + req.member_id);
    return r;
  }
  consumer_member* m = req.member_epoch == 0 ? join(req, ctx, r) : known(req, r);
  if (m == nullptr) return r;
  update(*m, req);
  if (!replay) m->session_deadline = ctx.now + milliseconds(ctx.settings.consumer_session_timeout_ms);
  refresh_target(ctx, in);

  std::optional<partition_set> owned;
  if (req.owned) owned = to_set(*req.owned);
  reconcile(*m, owned, ctx);

  r.member_id = m->id;
  r.member_epoch = m->epoch;
  // A member between assignments comes back soon: one waiting for
  // partitions others are releasing gets them on its next heartbeat
  // instead of a whole interval later.
  if (m->state != member_state::stable)
    r.heartbeat_interval_ms = std::min<int32_t>(r.heartbeat_interval_ms, reconciling_heartbeat_ms);
  if (m->send_assignment || req.member_epoch == 0) {
    r.assignment = to_list(m->assigned);
    m->send_assignment = false;
  }
  m->told_interval_ms = r.heartbeat_interval_ms;
  return r;
}

// Epoch -1 leaves; -2 (a static member) keeps its partitions waiting for
// it for a session timeout. False if there is no such member.
bool consumer_group::leave(const adapter::consumer_heartbeat_request& req) {
  auto it = members.find(req.member_id);
  if (it == members.end()) return false;
  if (req.member_epoch == -2 && it->second.instance_id) {
    it->second.left_static = true;
  } else {
    remove(req.member_id);
    log::debug("group {}: member {} left", id, req.member_id);
  }
  return true;
}

// Epoch 0: a new member, a static member back under a new id, or a member
// that lost its state and starts over. Null (with the error in `r`) if it
// cannot join.
consumer_member* consumer_group::join(const adapter::consumer_heartbeat_request& req, const group_context& ctx,
                                      adapter::consumer_heartbeat_result& r) {
  const std::string member_id = req.member_id.empty() ? ctx.new_member_id("") : req.member_id;
  consumer_member* m = nullptr;
  if (req.instance_id) {
    m = take_static(*req.instance_id, member_id, r);
    if (r.code != error::none) return nullptr;
  }
  if (m == nullptr) {
    auto it = members.find(member_id);
    if (it != members.end()) {
      m = &it->second;
      m->assigned.clear();
      m->assigned_at.clear();
      m->revoking.clear();
      m->epoch = 0;
      m->state = member_state::stable;
    } else {
      if (members.size() >= static_cast<size_t>(ctx.settings.consumer_max_size)) {
        fail(r, error::group_max_size_reached, "group " + id + " is full");
        return nullptr;
      }
      m = &members[member_id];
      m->id = member_id;
      m->instance_id = req.instance_id;
    }
    bump();
  }
  m->send_assignment = true;
  r.member_id = member_id;
  return m;
}

// A static member back under `new_id` takes its old id's place and
// assignment; another member holding the instance id is an error.
consumer_member* consumer_group::take_static(const std::string& instance_id, const std::string& new_id,
                                             adapter::consumer_heartbeat_result& r) {
  for (auto& [other_id, other] : members) {
    if (other.instance_id != instance_id || other_id == new_id) continue;
    if (!other.left_static) {
      fail(r, error::unreleased_instance_id, "static member " + instance_id + " is still held by member " + other_id);
      return nullptr;
    }
    consumer_member moved = std::move(other);
    const std::string old_id = other_id;  // `other_id` goes with the erase
    members.erase(old_id);
    auto t = target.find(old_id);
    if (t != target.end()) {
      target[new_id] = std::move(t->second);
      target.erase(old_id);
    }
    moved.id = new_id;
    moved.left_static = false;
    moved.send_assignment = true;
    return &(members[new_id] = std::move(moved));
  }
  return nullptr;
}

// A member past its first heartbeat: its epoch must be the current one,
// or the previous one with owned partitions that show a lost answer.
consumer_member* consumer_group::known(const adapter::consumer_heartbeat_request& req,
                                       adapter::consumer_heartbeat_result& r) {
  auto it = members.find(req.member_id);
  if (it == members.end()) {
    fail(r, error::unknown_member_id, "group " + id + " has no member " + req.member_id);
    return nullptr;
  }
  consumer_member& m = it->second;
  const bool lost_answer = req.member_epoch == m.previous_epoch && req.owned && subset(to_set(*req.owned), m.assigned);
  if (m.left_static || (req.member_epoch != m.epoch && !lost_answer)) {
    fail(r, error::fenced_member_epoch,
         "the member epoch " + std::to_string(req.member_epoch) + " is not the current " + std::to_string(m.epoch));
    return nullptr;
  }
  if (lost_answer) m.send_assignment = true;
  return &m;
}

// What the heartbeat says of the member; a change of subscription or
// assignor moves the group epoch.
void consumer_group::update(consumer_member& m, const adapter::consumer_heartbeat_request& req) {
  if (req.rack) m.rack = req.rack;
  if (req.rebalance_timeout_ms > 0) m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  if (!req.client.client_id.empty() || !req.client.client_host.empty()) m.client = req.client;
  if (req.subscribed_topic_names && *req.subscribed_topic_names != m.topic_names) {
    m.topic_names = *req.subscribed_topic_names;
    std::sort(m.topic_names.begin(), m.topic_names.end());
    bump();
  }
  if (req.subscribed_topic_regex) {
    std::optional<std::string> re;
    if (!req.subscribed_topic_regex->empty()) re = req.subscribed_topic_regex;
    if (re != m.topic_regex) {
      m.topic_regex = re;
      bump();
    }
  }
  if (req.server_assignor) {
    std::optional<std::string> a;
    if (!req.server_assignor->empty()) a = req.server_assignor;
    if (a != m.assignor) {
      m.assignor = a;
      bump();
    }
  }
}

// The subscribed topics changed (created, deleted, more partitions, a
// pattern that matches a new one): the epoch moves. A moved epoch means a
// new target.
void consumer_group::refresh_target(const group_context& ctx, consumer_inputs& in) {
  std::map<uuid, int32_t> seen;
  pattern_matches memo;
  for (const auto& [mid, member] : members)
    for (const auto& name : subscribed(member, in.topics, in.patterns, memo)) {
      const topic_summary* t = find_summary(in.topics, name);  // subscribed() names only topics that exist
      seen[t->id] = t->partitions;
    }
  if (seen != topics_seen) {
    if (!topics_seen.empty() || assignment_epoch > 0) bump();
    topics_seen = std::move(seen);
  }
  // The assignor that made the target was swapped (a cluster swap or a
  // reload): the epoch moves and the new generation computes the next
  // target from the current one; members reconcile to it step by step
  // (revocations first), as after any rebalance.
  if (!assignor_tried.empty() && epoch == assignment_epoch && assignment_epoch > 0) {
    const std::string now = pick_assignor(ctx.settings);
    if (now != assignor_tried) {
      log::info("group {}: the assignor is now '{}' (was '{}'); epoch {} computes a new target", id, now,
                assignor_tried, epoch + 1);
      bump();
    } else if (in.generation_of && assignor_generation != 0 && in.generation_of(now) != assignor_generation) {
      log::info("group {}: assignor '{}' was swapped (generation {} to {}); epoch {} computes a new target", id, now,
                assignor_generation, in.generation_of(now), epoch + 1);
      bump();
    }
  }
  if (epoch > assignment_epoch) compute_target(ctx, in);
}

std::string consumer_group::pick_assignor(const config::group_settings& s) const {
  std::map<std::string, int> votes;
  for (const auto& [mid, m] : members)
    if (m.assignor) ++votes[*m.assignor];
  std::string best = s.consumer_assignors.front();
  int most = 0;
  for (const auto& name : s.consumer_assignors)
    if (votes[name] > most) {
      most = votes[name];
      best = name;
    }
  return best;
}

void consumer_group::compute_target(const group_context& ctx, consumer_inputs& in) {
  const std::string name = pick_assignor(ctx.settings);
  sdk::assignor_input input;
  input.group_id = id;
  std::map<std::string, size_t> topic_index;
  std::map<uuid, size_t> index_by_id;
  std::vector<std::set<std::string>> subs;
  std::set<std::string> all;
  pattern_matches memo;
  for (const auto& [mid, m] : members) {
    subs.push_back(subscribed(m, in.topics, in.patterns, memo));
    all.insert(subs.back().begin(), subs.back().end());
  }
  for (const auto& topic : all) {  // by name, as the topics are listed
    const topic_summary& t = *find_summary(in.topics, topic);
    topic_index[t.name] = input.topics.size();
    index_by_id[t.id] = input.topics.size();
    input.topics.push_back({t.id, t.name, t.partitions});
  }
  size_t k = 0;
  for (const auto& [mid, m] : members) {
    sdk::assignor_input::member im;
    im.id = mid;
    im.instance_id = m.instance_id;
    im.rack = m.rack;
    for (const auto& n : subs[k]) im.topics.push_back(topic_index.at(n));
    std::sort(im.topics.begin(), im.topics.end());
    auto t = target.find(mid);
    if (t != target.end())
      for (const auto& [tid, parts] : t->second) {
        auto ti = index_by_id.find(tid);
        if (ti != index_by_id.end()) im.current[ti->second].assign(parts.begin(), parts.end());
      }
    input.members.push_back(std::move(im));
    ++k;
  }
  std::string served_by;
  auto out = in.assign(name, input, &served_by);
  assignment_epoch = epoch;
  assignor_tried = name;
  assignor_generation = in.generation_of ? in.generation_of(name) : 0;
  if (!out || !out->ok()) {
    const std::string why = !out ? out.error().message() : out->message;
    log::warn("group {}: assignor '{}' ({}) failed at epoch {}: {}; the previous assignment stays", id, name,
              served_by.empty() ? "not loaded" : served_by, epoch, why);
    for (auto it = target.begin(); it != target.end();)
      it = members.count(it->first) ? std::next(it) : target.erase(it);
    return;
  }
  target.clear();
  size_t i = 0;
  for (const auto& [mid, m] : members) {
    auto& t = target[mid];
    for (const auto& [ti, parts] : out->members[i]) t[input.topics[ti].id].insert(parts.begin(), parts.end());
    ++i;
  }
  assignor = name;
  log::debug("group {}: target assignment at epoch {} by {} for {} member(s)", id, epoch, name, members.size());
}

// Moves a member one step towards its target (Kafka's reconciliation):
// partitions it must give up are revoked first, with its epoch held back
// until it confirms; then it takes the new epoch and every partition of
// its target that nobody else still holds.
void consumer_group::reconcile(consumer_member& m, const std::optional<partition_set>& owned,
                               const group_context& ctx) {
  if (m.state == member_state::unrevoked_partitions) {
    if (!owned || overlaps(*owned, m.revoking)) return;  // not confirmed yet
    m.revoking.clear();
    m.state = member_state::stable;
  }
  if (m.epoch == assignment_epoch && m.state == member_state::stable) return;
  static const partition_set none;
  auto t = target.find(m.id);
  const partition_set& mine = t == target.end() ? none : t->second;
  partition_set keep = intersect(m.assigned, mine);
  partition_set revoke = minus(m.assigned, mine);
  if (partition_count(revoke) > 0) {
    m.assigned = std::move(keep);
    track_assignment_epochs(m);
    m.revoking = std::move(revoke);
    m.state = member_state::unrevoked_partitions;
    m.revocation_deadline = ctx.now + milliseconds(std::max(m.rebalance_timeout_ms, 1));
    m.send_assignment = true;
    return;
  }
  const auto held = owners(members);
  bool waiting = false;
  for (const auto& [tid, parts] : mine)
    for (int32_t p : parts) {
      auto o = held.find({tid, p});
      if (o != held.end() && o->second != m.id) {
        waiting = true;
        continue;
      }
      keep[tid].insert(p);
    }
  for (auto it = keep.begin(); it != keep.end();) it = it->second.empty() ? keep.erase(it) : std::next(it);
  if (keep != m.assigned) m.send_assignment = true;
  m.assigned = std::move(keep);
  if (m.epoch != assignment_epoch) {
    m.previous_epoch = m.epoch;
    m.epoch = assignment_epoch;
  }
  track_assignment_epochs(m);
  m.state = waiting ? member_state::unreleased_partitions : member_state::stable;
}

void consumer_group::remove(const std::string& member_id) {
  members.erase(member_id);
  target.erase(member_id);
  bump();
}

std::vector<std::string> consumer_group::expire(const group_context& ctx) {
  std::vector<std::string> gone;
  for (const auto& [mid, m] : members) {
    if (m.session_deadline != clock::time_point{} && m.session_deadline <= ctx.now) {
      log::info("group {}: member {} missed its session timeout and is removed", id, mid);
      gone.push_back(mid);
    } else if (m.state == member_state::unrevoked_partitions && m.revocation_deadline != clock::time_point{} &&
               m.revocation_deadline <= ctx.now) {
      log::info("group {}: member {} did not revoke its partitions within its rebalance timeout and is removed", id,
                mid);
      gone.push_back(mid);
    }
  }
  for (const auto& mid : gone) remove(mid);
  return gone;
}

void consumer_group::restored(const group_context& ctx) {
  for (auto& [mid, m] : members) {
    m.session_deadline = ctx.now + milliseconds(ctx.settings.consumer_session_timeout_ms);
    m.revocation_deadline = ctx.now + milliseconds(std::max(m.rebalance_timeout_ms, 1));
  }
}

// ---- questions -----------------------------------------------------------------

const consumer_member* consumer_group::member(const std::string& member_id) const {
  auto it = members.find(member_id);
  return it == members.end() ? nullptr : &it->second;
}

consumer_member* consumer_group::member(const std::string& member_id) {
  auto it = members.find(member_id);
  return it == members.end() ? nullptr : &it->second;
}

bool consumer_group::may_have_news(const std::string& member_id, int32_t answered_epoch) const {
  const consumer_member* m = member(member_id);
  if (m == nullptr) return true;
  return m->left_static || m->epoch != answered_epoch || m->epoch != assignment_epoch || epoch != assignment_epoch ||
         m->state != member_state::stable;
}

error consumer_group::check_commit(const adapter::commit_request& req, const named_topics& topics,
                                   std::vector<bool>& stale) const {
  const consumer_member* m = member(req.member_id);
  if (m == nullptr) return error::unknown_member_id;
  if (req.generation_or_epoch > m->epoch) return error::stale_member_epoch;
  if (req.generation_or_epoch < m->epoch) {
    // KIP-1251: an older epoch commits only partitions the member has held
    // since that epoch.
    stale.clear();
    for (const auto& o : req.offsets) {
      const auto& t = topics.at(o.topic);
      bool ok = false;
      if (t) {
        auto at = m->assigned_at.find({t->id, o.partition});
        ok = at != m->assigned_at.end() && req.generation_or_epoch >= at->second;
      }
      stale.push_back(!ok);
    }
    log::debug("group {}: commit by {} at epoch {} while the member is at {}", id, req.member_id,
               req.generation_or_epoch, m->epoch);
  }
  return error::none;
}

// Reading committed offsets with an epoch the member has already moved
// past is harmless (and a client that just got a new epoch may still send
// the old one); an epoch from the future is not.
error consumer_group::check_fetch(const std::string& member_id, int32_t member_epoch) const {
  const consumer_member* m = member(member_id);
  if (m == nullptr) return error::unknown_member_id;
  if (member_epoch > m->epoch) {
    log::debug("group {}: offset fetch by {} at epoch {} refused, the member is at {}", id, member_id, member_epoch,
               m->epoch);
    return error::stale_member_epoch;
  }
  return error::none;
}

// Names are looked up, not every topic scanned; a pattern runs over every
// name once per `memo` (one heartbeat), however many members share it.
std::set<std::string> consumer_group::subscribed(const consumer_member& m, const topic_summaries& topics,
                                                 topic_patterns& patterns, pattern_matches& memo) const {
  std::set<std::string> out;
  for (const auto& name : m.topic_names)
    if (const topic_summary* t = find_summary(topics, name); t != nullptr && !t->internal) out.insert(name);
  if (!m.topic_regex || m.topic_regex->empty()) return out;
  auto [it, fresh] = memo.try_emplace(*m.topic_regex);
  if (fresh)
    if (const re2::RE2* re = patterns.compiled(*m.topic_regex))  // one that does not compile matches nothing
      for (const auto& t : topics)
        if (!t.internal && patterns.full_match(*re, t.name)) it->second.push_back(t.name);
  out.insert(it->second.begin(), it->second.end());
  return out;
}

std::set<std::string> consumer_group::subscribed_topics(const topic_summaries& topics, topic_patterns& patterns) const {
  std::set<std::string> out;
  pattern_matches memo;
  for (const auto& [mid, m] : members) {
    auto s = subscribed(m, topics, patterns, memo);
    out.insert(s.begin(), s.end());
  }
  return out;
}

std::string consumer_group::state_name() const {
  if (members.empty()) return "Empty";
  if (epoch != assignment_epoch) return "Assigning";
  for (const auto& [mid, m] : members)
    if (m.epoch != assignment_epoch || m.state != member_state::stable) return "Reconciling";
  return "Stable";
}

adapter::consumer_group_description consumer_group::describe(const config::group_settings& s) const {
  adapter::consumer_group_description d;
  d.group_id = id;
  d.state = state_name();
  d.epoch = epoch;
  d.assignment_epoch = assignment_epoch;
  d.assignor = assignor.empty() ? pick_assignor(s) : assignor;
  for (const auto& [mid, m] : members) {
    adapter::consumer_group_description::member dm;
    dm.member_id = mid;
    dm.instance_id = m.instance_id;
    dm.rack = m.rack;
    dm.member_epoch = m.epoch;
    dm.client = m.client;
    dm.subscribed_topic_names = m.topic_names;
    dm.subscribed_topic_regex = m.topic_regex;
    dm.assignment = to_list(m.assigned);
    auto t = target.find(mid);
    if (t != target.end()) dm.target_assignment = to_list(t->second);
    d.members.push_back(std::move(dm));
  }
  return d;
}

}  // namespace mosaic::groups
