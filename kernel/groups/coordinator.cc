#include "kernel/groups/coordinator.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include <re2/re2.h>

#include "kernel/base/log.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* classic_state_name(classic_state s) {
  switch (s) {
    case classic_state::empty: return "Empty";
    case classic_state::preparing_rebalance: return "PreparingRebalance";
    case classic_state::completing_rebalance: return "CompletingRebalance";
    case classic_state::stable: return "Stable";
    case classic_state::dead: return "Dead";
  }
  return "Dead";
}

partition_set to_set(const std::vector<adapter::topic_partitions>& l) {
  partition_set s;
  for (const auto& tp : l) s[tp.topic_id].insert(tp.partitions.begin(), tp.partitions.end());
  return s;
}

size_t partition_count(const partition_set& s) {
  size_t n = 0;
  for (const auto& [id, parts] : s) n += parts.size();
  return n;
}

partition_set intersect(const partition_set& a, const partition_set& b) {
  partition_set out;
  for (const auto& [id, parts] : a) {
    auto it = b.find(id);
    if (it == b.end()) continue;
    for (int32_t p : parts)
      if (it->second.count(p)) out[id].insert(p);
  }
  return out;
}

partition_set minus(const partition_set& a, const partition_set& b) {
  partition_set out;
  for (const auto& [id, parts] : a) {
    auto it = b.find(id);
    for (int32_t p : parts)
      if (it == b.end() || !it->second.count(p)) out[id].insert(p);
  }
  return out;
}

bool subset(const partition_set& a, const partition_set& b) { return partition_count(minus(a, b)) == 0; }

bool overlaps(const partition_set& a, const partition_set& b) { return partition_count(intersect(a, b)) > 0; }

}  // namespace

// ---------------------------------------------------------------------------

// The heartbeat interval given to a consumer group member that is between
// assignments (revoking, or waiting for partitions to be released).
constexpr int32_t reconciling_heartbeat_ms = 50;

struct coordinator::impl {
  impl(log::partition_log* l, const plugin::assignor_set* a, options o)
      : glog(l), assignors(a), opts(std::move(o)), rng(std::random_device{}()) {}

  group_log glog;
  const plugin::assignor_set* assignors;
  options opts;
  std::mt19937_64 rng;
  std::map<std::string, std::map<offset_key, committed>> offsets;
  std::map<std::string, classic_group> classic;
  std::map<std::string, consumer_group> consumer;
  std::map<std::string, std::unique_ptr<RE2>> regex_cache;
  // Answers that wait for this round's records to be on disk.
  std::vector<std::function<void(bool durable)>> after_flush;
  clock::time_point now;

  const config::group_settings& cfg() const { return opts.settings; }

  void later(std::function<void(bool durable)> f) { after_flush.push_back(std::move(f)); }

  // Claims a group id for this coordinator; false if it is a share group's.
  bool claim(const std::string& id) {
    return opts.kinds == nullptr || opts.kinds->claim(id, group_kinds::kind::coordinator);
  }

  std::string new_member_id(const std::string& prefix) {
    static const char* hex = "0123456789abcdef";
    std::string id = prefix.empty() ? std::string() : prefix + "-";
    for (int i = 0; i < 2; ++i) {
      uint64_t v = rng();
      for (int k = 0; k < 16; ++k, v >>= 4) id += hex[v & 15];
    }
    return id;
  }

  // ---- classic groups -----------------------------------------------------

  static bool same_protocols(const classic_member& m, const adapter::join_request& req) {
    return m.protocols == req.protocols && m.protocol_type == req.protocol_type;
  }

  // The protocols every member supports.
  static std::set<std::string> common_protocols(const classic_group& g) {
    std::set<std::string> common;
    bool first = true;
    for (const auto& [id, m] : g.members) {
      std::set<std::string> mine;
      for (const auto& p : m.protocols) mine.insert(p.first);
      if (first) {
        common = std::move(mine);
        first = false;
      } else {
        std::set<std::string> both;
        std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(),
                              std::inserter(both, both.begin()));
        common = std::move(both);
      }
    }
    return common;
  }

  // As Kafka: the joiner's protocol type is the members' (the group's own
  // is set only when a generation completes, so during the first rebalance
  // it is still empty), and one of its protocols is supported by every
  // member. Order of preference does not matter here; the vote settles it.
  static bool compatible(const classic_group& g, const adapter::join_request& req) {
    if (g.members.empty()) return true;
    if (req.protocol_type != g.members.begin()->second.protocol_type) return false;
    const auto common = common_protocols(g);
    for (const auto& p : req.protocols)
      if (common.count(p.first)) return true;
    return false;
  }

  // Each member votes for its first choice among the common protocols.
  static std::optional<std::string> choose_protocol(const classic_group& g) {
    const auto common = common_protocols(g);
    if (common.empty()) return std::nullopt;
    std::map<std::string, int> votes;
    for (const auto& [id, m] : g.members)
      for (const auto& p : m.protocols)
        if (common.count(p.first)) {
          ++votes[p.first];
          break;
        }
    std::optional<std::string> best;
    int most = -1;
    for (const auto& p : g.members.begin()->second.protocols) {  // ties: the first member's order
      if (!common.count(p.first)) continue;
      if (votes[p.first] > most) {
        most = votes[p.first];
        best = p.first;
      }
    }
    return best;
  }

  adapter::join_result generation_info(const classic_group& g, const classic_member& m, bool skip_assignment) const {
    adapter::join_result r;
    r.generation = g.generation;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol;
    r.leader = g.leader;
    r.member_id = m.id;
    r.skip_assignment = skip_assignment;
    if (m.id == g.leader && g.protocol)
      for (const auto& [id, other] : g.members) {
        const auto* md = other.metadata_for(*g.protocol);
        r.members.push_back({other.id, other.instance_id, md ? *md : std::vector<uint8_t>{}});
      }
    return r;
  }

  int32_t max_rebalance_timeout(const classic_group& g) const {
    int32_t t = 0;
    for (const auto& [id, m] : g.members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
  }

  void set_member(classic_member& m, const adapter::join_request& req) {
    m.protocol_type = req.protocol_type;
    m.protocols = req.protocols;
    m.session_timeout_ms = req.session_timeout_ms;
    m.rebalance_timeout_ms = req.rebalance_timeout_ms > 0 ? req.rebalance_timeout_ms : req.session_timeout_ms;
    m.client = req.client;
    m.subscribed_topics = req.subscribed_topics;
    m.session_deadline = now + milliseconds(m.session_timeout_ms);
  }

  void prepare_rebalance(classic_group& g) {
    for (auto& [id, m] : g.members)
      if (m.awaiting_sync) {
        adapter::sync_result r;
        r.code = error::rebalance_in_progress;
        std::exchange(m.awaiting_sync, nullptr)(std::move(r));
      }
    if (g.state == classic_state::empty) {
      g.initial_rebalance = cfg().initial_rebalance_delay_ms > 0;
      g.initial_delay_end = now + milliseconds(cfg().initial_rebalance_delay_ms);
    }
    g.state = classic_state::preparing_rebalance;
    g.rebalance_deadline = now + milliseconds(std::max(max_rebalance_timeout(g), 1));
  }

  void maybe_complete_join(classic_group& g) {
    if (g.state != classic_state::preparing_rebalance) return;
    if (g.initial_rebalance && now < g.initial_delay_end) return;
    bool all = g.pending.empty();
    for (const auto& [id, m] : g.members) all = all && static_cast<bool>(m.awaiting_join);
    if (all || now >= g.rebalance_deadline) complete_join(g);
  }

  void complete_join(classic_group& g) {
    for (auto it = g.members.begin(); it != g.members.end();) {
      if (!it->second.awaiting_join) {
        log::info("group {}: member {} did not rejoin in time and is removed", g.id, it->first);
        it = g.members.erase(it);
      } else {
        ++it;
      }
    }
    g.pending.clear();
    g.initial_rebalance = false;
    ++g.generation;
    if (g.members.empty()) {
      g.state = classic_state::empty;
      g.protocol.reset();
      g.leader.clear();
      glog.put_group(g);
      return;
    }
    g.protocol_type = g.members.begin()->second.protocol_type;
    g.protocol = choose_protocol(g);
    if (!g.members.count(g.leader)) g.leader = g.members.begin()->first;
    g.state = classic_state::completing_rebalance;
    g.rebalance_deadline = now + milliseconds(std::max(max_rebalance_timeout(g), 1));
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      m.session_deadline = now + milliseconds(m.session_timeout_ms);
    }
    for (auto& [id, m] : g.members) std::exchange(m.awaiting_join, nullptr)(generation_info(g, m, false));
    log::debug("group {}: generation {} with {} member(s), protocol {}", g.id, g.generation, g.members.size(),
               g.protocol.value_or("-"));
  }

  void remove_classic_member(classic_group& g, const std::string& id, error reason) {
    auto it = g.members.find(id);
    if (it == g.members.end()) return;
    if (it->second.awaiting_join) {
      adapter::join_result r;
      r.code = reason;
      r.member_id = id;
      std::exchange(it->second.awaiting_join, nullptr)(std::move(r));
    }
    if (it->second.awaiting_sync) {
      adapter::sync_result r;
      r.code = reason;
      std::exchange(it->second.awaiting_sync, nullptr)(std::move(r));
    }
    g.members.erase(it);
  }

  // After members left or expired.
  void members_changed(classic_group& g) {
    if (g.state == classic_state::stable || g.state == classic_state::completing_rebalance ||
        (g.state == classic_state::empty && !g.members.empty()))
      prepare_rebalance(g);
    maybe_complete_join(g);
  }

  void join(adapter::join_request req, const std::function<void(adapter::join_result)>& done) {
    auto fail = [&](error e) {
      adapter::join_result r;
      r.code = e;
      r.member_id = req.member_id;
      done(std::move(r));
    };
    if (req.group_id.empty()) return fail(error::invalid_group_id);
    if (req.session_timeout_ms < cfg().min_session_timeout_ms || req.session_timeout_ms > cfg().max_session_timeout_ms)
      return fail(error::invalid_session_timeout);
    if (req.protocol_type.empty() || req.protocols.empty()) return fail(error::inconsistent_group_protocol);
    if (auto c = consumer.find(req.group_id); c != consumer.end()) {
      if (!c->second.members.empty()) return fail(error::inconsistent_group_protocol);
      consumer.erase(c);  // an empty consumer group becomes a classic one; its offsets stay
    }
    auto it = classic.find(req.group_id);
    if (it == classic.end()) {
      if (!req.member_id.empty()) return fail(error::unknown_member_id);
      if (!claim(req.group_id)) return fail(error::group_id_not_found);  // a share group's id
      it = classic.emplace(req.group_id, classic_group{}).first;
      it->second.id = req.group_id;
    }
    classic_group& g = it->second;
    if (!compatible(g, req)) return fail(error::inconsistent_group_protocol);
    if (req.member_id.empty())
      join_new(g, std::move(req), done);
    else
      join_known(g, std::move(req), done);
  }

  void join_new(classic_group& g, adapter::join_request req, const std::function<void(adapter::join_result)>& done) {
    const std::string id = new_member_id(req.client.client_id.empty() ? "member" : req.client.client_id);
    if (req.instance_id) {
      if (const classic_member* old = g.by_instance(*req.instance_id)) return replace_static(g, old->id, id, req, done);
    } else if (req.require_known_member_id) {
      if (g.members.size() + g.pending.size() >= static_cast<size_t>(cfg().max_size)) {
        adapter::join_result r;
        r.code = error::group_max_size_reached;
        return done(std::move(r));
      }
      g.pending[id] = now + milliseconds(req.session_timeout_ms);
      adapter::join_result r;
      r.code = error::member_id_required;
      r.member_id = id;
      return done(std::move(r));
    }
    add_member(g, id, req, done);
  }

  void add_member(classic_group& g, const std::string& id, const adapter::join_request& req,
                  const std::function<void(adapter::join_result)>& done) {
    if (g.members.size() >= static_cast<size_t>(cfg().max_size)) {
      adapter::join_result r;
      r.code = error::group_max_size_reached;
      r.member_id = id;
      return done(std::move(r));
    }
    classic_member& m = g.members[id];
    m.id = id;
    m.instance_id = req.instance_id;
    set_member(m, req);
    m.awaiting_join = done;
    if (g.state == classic_state::preparing_rebalance && g.initial_rebalance) {
      // A new group waits a little longer with each member that arrives,
      // within the rebalance timeout.
      g.initial_delay_end = std::min(now + milliseconds(cfg().initial_rebalance_delay_ms), g.rebalance_deadline);
    }
    if (g.state != classic_state::preparing_rebalance) prepare_rebalance(g);
    g.rebalance_deadline = std::max(g.rebalance_deadline, now + milliseconds(m.rebalance_timeout_ms));
    maybe_complete_join(g);
  }

  // A static member came back with a new member id: it takes the old id's
  // place, and its assignment, without a rebalance if nothing changed.
  void replace_static(classic_group& g, const std::string& old_id, const std::string& id,
                      const adapter::join_request& req, const std::function<void(adapter::join_result)>& done) {
    classic_member m = std::move(g.members.at(old_id));
    if (m.awaiting_join) {
      adapter::join_result r;
      r.code = error::fenced_instance_id;
      r.member_id = old_id;
      std::exchange(m.awaiting_join, nullptr)(std::move(r));
    }
    if (m.awaiting_sync) {
      adapter::sync_result r;
      r.code = error::fenced_instance_id;
      std::exchange(m.awaiting_sync, nullptr)(std::move(r));
    }
    g.members.erase(old_id);
    const bool unchanged = same_protocols(m, req);
    m.id = id;
    set_member(m, req);
    if (g.leader == old_id) g.leader = id;
    auto& placed = g.members[id] = std::move(m);
    if (g.state == classic_state::stable && unchanged) {
      glog.put_group(g);
      auto r = generation_info(g, placed, id == g.leader);
      later([done, r](bool durable) mutable {
        if (!durable) r.code = error::coordinator_not_available;
        done(std::move(r));
      });
      return;
    }
    placed.awaiting_join = done;
    if (g.state != classic_state::preparing_rebalance) prepare_rebalance(g);
    maybe_complete_join(g);
  }

  void join_known(classic_group& g, adapter::join_request req, const std::function<void(adapter::join_result)>& done) {
    if (g.pending.erase(req.member_id)) return add_member(g, req.member_id, req, done);
    auto it = g.members.find(req.member_id);
    adapter::join_result r;
    r.member_id = req.member_id;
    if (it == g.members.end()) {
      if (req.instance_id && g.by_instance(*req.instance_id)) {
        r.code = error::fenced_instance_id;
      } else {
        r.code = error::unknown_member_id;
      }
      return done(std::move(r));
    }
    classic_member& m = it->second;
    if (req.instance_id != m.instance_id && req.instance_id) {
      r.code = error::fenced_instance_id;
      return done(std::move(r));
    }
    const bool unchanged = same_protocols(m, req);
    set_member(m, req);
    switch (g.state) {
      case classic_state::preparing_rebalance:
        m.awaiting_join = done;
        maybe_complete_join(g);
        return;
      case classic_state::completing_rebalance:
        if (unchanged) return done(generation_info(g, m, false));
        m.awaiting_join = done;
        prepare_rebalance(g);
        return;
      case classic_state::stable:
        if (unchanged && m.id != g.leader) return done(generation_info(g, m, false));
        m.awaiting_join = done;
        prepare_rebalance(g);
        maybe_complete_join(g);
        return;
      case classic_state::empty:
      case classic_state::dead:
        m.awaiting_join = done;
        prepare_rebalance(g);
        maybe_complete_join(g);
        return;
    }
  }

  // Finds a classic member for a request; an error if there is none or the
  // instance id says it is someone else.
  error find_member(classic_group* g, const std::string& member_id, const std::optional<std::string>& instance_id,
                    classic_member** out) {
    if (g == nullptr) return error::unknown_member_id;
    auto it = g->members.find(member_id);
    if (it == g->members.end()) {
      if (instance_id && g->by_instance(*instance_id)) return error::fenced_instance_id;
      return error::unknown_member_id;
    }
    if (instance_id && it->second.instance_id != instance_id) return error::fenced_instance_id;
    *out = &it->second;
    return error::none;
  }

  classic_group* find_classic(const std::string& id) {
    auto it = classic.find(id);
    return it == classic.end() ? nullptr : &it->second;
  }

  void sync(adapter::sync_request req, const std::function<void(adapter::sync_result)>& done) {
    adapter::sync_result r;
    classic_group* g = find_classic(req.group_id);
    classic_member* m = nullptr;
    r.code = find_member(g, req.member_id, req.instance_id, &m);
    if (r.code != error::none) return done(std::move(r));
    if (req.generation != g->generation) {
      r.code = error::illegal_generation;
      return done(std::move(r));
    }
    if ((req.protocol_type && *req.protocol_type != g->protocol_type) ||
        (req.protocol_name && req.protocol_name != g->protocol)) {
      r.code = error::inconsistent_group_protocol;
      return done(std::move(r));
    }
    r.protocol_type = g->protocol_type;
    r.protocol_name = g->protocol;
    m->session_deadline = now + milliseconds(m->session_timeout_ms);
    switch (g->state) {
      case classic_state::empty:
      case classic_state::dead: r.code = error::unknown_member_id; return done(std::move(r));
      case classic_state::preparing_rebalance: r.code = error::rebalance_in_progress; return done(std::move(r));
      case classic_state::stable: r.assignment = m->assignment; return done(std::move(r));
      case classic_state::completing_rebalance: break;
    }
    m->awaiting_sync = done;
    if (m->id != g->leader) return;
    for (auto& [id, member] : g->members) member.assignment.clear();
    for (auto& [id, bytes] : req.assignments) {
      auto it = g->members.find(id);
      if (it != g->members.end()) it->second.assignment = std::move(bytes);
    }
    g->state = classic_state::stable;
    glog.put_group(*g);
    // Everyone who synced hears once the assignment is on disk; the rest
    // get theirs when they sync.
    std::vector<std::pair<std::function<void(adapter::sync_result)>, adapter::sync_result>> answers;
    for (auto& [id, member] : g->members)
      if (member.awaiting_sync) {
        adapter::sync_result a = r;
        a.assignment = member.assignment;
        answers.emplace_back(std::exchange(member.awaiting_sync, nullptr), std::move(a));
      }
    later([answers = std::move(answers)](bool durable) mutable {
      for (auto& [fn, a] : answers) {
        if (!durable) {
          a.code = error::coordinator_not_available;
          a.assignment.clear();
        }
        fn(std::move(a));
      }
    });
  }

  error heartbeat(const std::string& group_id, int32_t generation, const adapter::member_identity& who) {
    classic_group* g = find_classic(group_id);
    classic_member* m = nullptr;
    if (auto e = find_member(g, who.member_id, who.instance_id, &m); e != error::none) return e;
    switch (g->state) {
      case classic_state::empty:
      case classic_state::dead: return error::unknown_member_id;
      case classic_state::preparing_rebalance:
        m->session_deadline = now + milliseconds(m->session_timeout_ms);
        return error::rebalance_in_progress;
      case classic_state::completing_rebalance:
      case classic_state::stable:
        if (generation != g->generation) return error::illegal_generation;
        m->session_deadline = now + milliseconds(m->session_timeout_ms);
        return error::none;
    }
    return error::none;
  }

  std::vector<error> leave(const std::string& group_id, const std::vector<adapter::member_identity>& who) {
    std::vector<error> out;
    classic_group* g = find_classic(group_id);
    bool changed = false;
    for (const auto& w : who) {
      if (g == nullptr) {
        out.push_back(error::unknown_member_id);
        continue;
      }
      std::string id = w.member_id;
      if (w.instance_id) {
        const classic_member* m = g->by_instance(*w.instance_id);
        if (m == nullptr) {
          out.push_back(error::unknown_member_id);
          continue;
        }
        if (!w.member_id.empty() && m->id != w.member_id) {
          out.push_back(error::fenced_instance_id);
          continue;
        }
        id = m->id;
      }
      if (g->pending.erase(id)) {
        out.push_back(error::none);
        continue;
      }
      if (!g->members.count(id)) {
        out.push_back(error::unknown_member_id);
        continue;
      }
      remove_classic_member(*g, id, error::unknown_member_id);
      log::debug("group {}: member {} left", group_id, id);
      out.push_back(error::none);
      changed = true;
    }
    if (changed) members_changed(*g);
    return out;
  }

  // ---- consumer groups --------------------------------------------------

  consumer_group* find_consumer(const std::string& id) {
    auto it = consumer.find(id);
    return it == consumer.end() ? nullptr : &it->second;
  }

  // A subscription's regular expression, compiled once; null if it does not
  // compile. RE2, the syntax Kafka's RE2/J speaks.
  const RE2* compiled(const std::string& pattern) {
    auto it = regex_cache.find(pattern);
    if (it == regex_cache.end()) {
      if (regex_cache.size() > 1000) regex_cache.clear();
      RE2::Options o;
      o.set_log_errors(false);
      it = regex_cache.emplace(pattern, std::make_unique<RE2>(pattern, o)).first;
    }
    return it->second->ok() ? it->second.get() : nullptr;
  }

  // The topics a member subscribes to, by name, among those that exist.
  std::set<std::string> subscribed(const consumer_member& m, const std::vector<adapter::topic_info>& topics) {
    std::set<std::string> out;
    std::set<std::string> names(m.topic_names.begin(), m.topic_names.end());
    const RE2* re = m.topic_regex && !m.topic_regex->empty() ? compiled(*m.topic_regex) : nullptr;
    for (const auto& t : topics) {
      if (t.internal) continue;
      if (names.count(t.name) || (re != nullptr && RE2::FullMatch(t.name, *re))) out.insert(t.name);
    }
    return out;
  }

  void bump(consumer_group& g) { g.epoch = std::max(g.epoch, g.assignment_epoch) + 1; }

  // Who holds each partition now (assigned or being revoked).
  static std::map<std::pair<uuid, int32_t>, std::string> owners(const consumer_group& g) {
    std::map<std::pair<uuid, int32_t>, std::string> out;
    for (const auto& [id, m] : g.members) {
      for (const auto& [t, parts] : m.assigned)
        for (int32_t p : parts) out[{t, p}] = id;
      for (const auto& [t, parts] : m.revoking)
        for (int32_t p : parts) out[{t, p}] = id;
    }
    return out;
  }

  std::string pick_assignor(const consumer_group& g) const {
    std::map<std::string, int> votes;
    for (const auto& [id, m] : g.members)
      if (m.assignor) ++votes[*m.assignor];
    std::string best = cfg().consumer_assignors.front();
    int most = 0;
    for (const auto& name : cfg().consumer_assignors)
      if (votes[name] > most) {
        most = votes[name];
        best = name;
      }
    return best;
  }

  void compute_target(consumer_group& g, const std::vector<adapter::topic_info>& topics) {
    const std::string name = pick_assignor(g);
    sdk::assignor_input in;
    in.group_id = g.id;
    std::map<std::string, size_t> topic_index;
    std::map<uuid, size_t> index_by_id;
    std::vector<std::set<std::string>> subs;
    std::set<std::string> all;
    for (const auto& [id, m] : g.members) {
      subs.push_back(subscribed(m, topics));
      all.insert(subs.back().begin(), subs.back().end());
    }
    for (const auto& t : topics) {
      if (!all.count(t.name)) continue;
      topic_index[t.name] = in.topics.size();
      index_by_id[t.id] = in.topics.size();
      in.topics.push_back({t.id, t.name, static_cast<int32_t>(t.partitions.size())});
    }
    size_t k = 0;
    for (const auto& [id, m] : g.members) {
      sdk::assignor_input::member im;
      im.id = id;
      im.instance_id = m.instance_id;
      im.rack = m.rack;
      for (const auto& n : subs[k]) im.topics.push_back(topic_index.at(n));
      std::sort(im.topics.begin(), im.topics.end());
      auto target = g.target.find(id);
      if (target != g.target.end())
        for (const auto& [tid, parts] : target->second) {
          auto ti = index_by_id.find(tid);
          if (ti != index_by_id.end()) im.current[ti->second].assign(parts.begin(), parts.end());
        }
      in.members.push_back(std::move(im));
      ++k;
    }
    std::string served_by;
    auto out = assignors->run(name, in, &served_by);
    g.assignment_epoch = g.epoch;
    if (!out || !out->ok()) {
      const std::string why = !out ? out.error().message() : out->message;
      log::warn("group {}: assignor '{}' ({}) failed at epoch {}: {}; the previous assignment stays", g.id, name,
                served_by.empty() ? "not loaded" : served_by, g.epoch, why);
      for (auto it = g.target.begin(); it != g.target.end();)
        it = g.members.count(it->first) ? std::next(it) : g.target.erase(it);
      return;
    }
    g.target.clear();
    size_t i = 0;
    for (const auto& [id, m] : g.members) {
      auto& t = g.target[id];
      for (const auto& [ti, parts] : out->members[i]) t[in.topics[ti].id].insert(parts.begin(), parts.end());
      ++i;
    }
    g.assignor = name;
    log::debug("group {}: target assignment at epoch {} by {} for {} member(s)", g.id, g.epoch, name, g.members.size());
  }

  // Moves a member one step towards its target (Kafka's reconciliation):
  // partitions it must give up are revoked first, with its epoch held back
  // until it confirms; then it takes the new epoch and every partition of
  // its target that nobody else still holds.
  void reconcile(consumer_group& g, consumer_member& m, const std::optional<partition_set>& owned) {
    if (m.state == member_state::unrevoked_partitions) {
      if (!owned || overlaps(*owned, m.revoking)) return;  // not confirmed yet
      m.revoking.clear();
      m.state = member_state::stable;
    }
    if (m.epoch == g.assignment_epoch && m.state == member_state::stable) return;
    static const partition_set none;
    auto t = g.target.find(m.id);
    const partition_set& target = t == g.target.end() ? none : t->second;
    partition_set keep = intersect(m.assigned, target);
    partition_set revoke = minus(m.assigned, target);
    if (partition_count(revoke) > 0) {
      m.assigned = std::move(keep);
      track_assignment_epochs(m);
      m.revoking = std::move(revoke);
      m.state = member_state::unrevoked_partitions;
      m.revocation_deadline = now + milliseconds(std::max(m.rebalance_timeout_ms, 1));
      m.send_assignment = true;
      return;
    }
    const auto held = owners(g);
    bool waiting = false;
    for (const auto& [tid, parts] : target)
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
    if (m.epoch != g.assignment_epoch) {
      m.previous_epoch = m.epoch;
      m.epoch = g.assignment_epoch;
    }
    track_assignment_epochs(m);
    m.state = waiting ? member_state::unreleased_partitions : member_state::stable;
  }

  // Partitions newly held get the member's current epoch; partitions no
  // longer held are forgotten.
  static void track_assignment_epochs(consumer_member& m) {
    std::map<std::pair<uuid, int32_t>, int32_t> next;
    for (const auto& [tid, parts] : m.assigned)
      for (int32_t p : parts) {
        auto it = m.assigned_at.find({tid, p});
        next[{tid, p}] = it == m.assigned_at.end() ? m.epoch : it->second;
      }
    m.assigned_at = std::move(next);
  }

  void remove_consumer_member(consumer_group& g, const std::string& id) {
    g.members.erase(id);
    g.target.erase(id);
    bump(g);
  }

  // `replay`: the request of a held heartbeat, run again to see whether the
  // member has news; it does not count as a new sign of life.
  adapter::consumer_heartbeat_result consumer_heartbeat(const adapter::consumer_heartbeat_request& req,
                                                        bool replay = false) {
    adapter::consumer_heartbeat_result r;
    r.member_id = req.member_id;
    r.member_epoch = req.member_epoch;
    r.heartbeat_interval_ms = static_cast<int32_t>(cfg().consumer_heartbeat_interval_ms);
    auto fail = [&](error e, std::string message) {
      r.code = e;
      r.message = std::move(message);
      return r;
    };
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
        std::find(cfg().consumer_assignors.begin(), cfg().consumer_assignors.end(), *req.server_assignor) ==
            cfg().consumer_assignors.end())
      return fail(error::unsupported_assignor, "ServerAssignor " + *req.server_assignor + " is not supported");
    if (req.subscribed_topic_regex && !req.subscribed_topic_regex->empty() &&
        compiled(*req.subscribed_topic_regex) == nullptr)
      return fail(error::invalid_regular_expression,
                  "SubscribedTopicRegex " + *req.subscribed_topic_regex + " is not a valid regular expression");
    if (auto c = classic.find(req.group_id); c != classic.end()) {
      if (!c->second.members.empty())
        return fail(error::group_id_not_found, "group " + req.group_id + " is a classic group with members");
      classic.erase(c);  // an empty classic group becomes a consumer group; its offsets stay
    }
    consumer_group* g = find_consumer(req.group_id);
    if (g == nullptr) {
      if (req.member_epoch != 0)
        return fail(error::unknown_member_id, "group " + req.group_id + " has no member " + req.member_id);
      if (!claim(req.group_id)) return fail(error::group_id_not_found, "group " + req.group_id + " is a share group");
      g = &consumer[req.group_id];
      g->id = req.group_id;
    }

    // Leaving.
    if (req.member_epoch < 0) {
      auto it = g->members.find(req.member_id);
      if (it == g->members.end()) return fail(error::unknown_member_id, "no member " + req.member_id);
      if (req.member_epoch == -2 && it->second.instance_id) {
        it->second.left_static = true;  // its partitions wait for it, for a session timeout
      } else {
        remove_consumer_member(*g, req.member_id);
        log::debug("group {}: member {} left", g->id, req.member_id);
      }
      glog.put_group(*g);
      return r;
    }

    consumer_member* m = nullptr;
    if (req.member_epoch == 0) {
      std::string id = req.member_id.empty() ? new_member_id("") : req.member_id;
      if (req.instance_id) {
        for (auto& [other_id, other] : g->members) {
          if (other.instance_id != req.instance_id || other_id == id) continue;
          if (!other.left_static)
            return fail(error::unreleased_instance_id,
                        "static member " + *req.instance_id + " is still held by member " + other_id);
          // The static member is back under a new id: same assignment.
          consumer_member moved = std::move(other);
          g->members.erase(other_id);
          auto target = g->target.find(moved.id);
          if (target != g->target.end()) {
            g->target[id] = std::move(target->second);
            g->target.erase(moved.id);
          }
          moved.id = id;
          moved.left_static = false;
          moved.send_assignment = true;
          g->members[id] = std::move(moved);
          m = &g->members[id];
          break;
        }
      }
      if (m == nullptr) {
        auto it = g->members.find(id);
        if (it != g->members.end()) {
          // A member that lost its state joins again: it starts over.
          it->second.assigned.clear();
          it->second.assigned_at.clear();
          it->second.revoking.clear();
          it->second.epoch = 0;
          it->second.state = member_state::stable;
          m = &it->second;
          bump(*g);
        } else {
          if (g->members.size() >= static_cast<size_t>(cfg().consumer_max_size))
            return fail(error::group_max_size_reached, "group " + g->id + " is full");
          m = &g->members[id];
          m->id = id;
          m->instance_id = req.instance_id;
          bump(*g);
        }
      }
      m->send_assignment = true;
      r.member_id = id;
    } else {
      auto it = g->members.find(req.member_id);
      if (it == g->members.end())
        return fail(error::unknown_member_id, "group " + g->id + " has no member " + req.member_id);
      m = &it->second;
      const bool lost_answer =
          req.member_epoch == m->previous_epoch && req.owned && subset(to_set(*req.owned), m->assigned);
      if (m->left_static || (req.member_epoch != m->epoch && !lost_answer))
        return fail(error::fenced_member_epoch, "the member epoch " + std::to_string(req.member_epoch) +
                                                    " is not the current " + std::to_string(m->epoch));
      if (lost_answer) m->send_assignment = true;
    }

    if (req.rack) m->rack = req.rack;
    if (req.rebalance_timeout_ms > 0) m->rebalance_timeout_ms = req.rebalance_timeout_ms;
    if (!req.client.client_id.empty() || !req.client.client_host.empty()) m->client = req.client;
    if (req.subscribed_topic_names && *req.subscribed_topic_names != m->topic_names) {
      m->topic_names = *req.subscribed_topic_names;
      std::sort(m->topic_names.begin(), m->topic_names.end());
      bump(*g);
    }
    if (req.subscribed_topic_regex) {
      std::optional<std::string> re;
      if (!req.subscribed_topic_regex->empty()) re = req.subscribed_topic_regex;
      if (re != m->topic_regex) {
        m->topic_regex = re;
        bump(*g);
      }
    }
    if (req.server_assignor) {
      std::optional<std::string> a;
      if (!req.server_assignor->empty()) a = req.server_assignor;
      if (a != m->assignor) {
        m->assignor = a;
        bump(*g);
      }
    }
    if (!replay) m->session_deadline = now + milliseconds(cfg().consumer_session_timeout_ms);

    const auto topics = opts.topics();
    std::map<std::string, const adapter::topic_info*> by_name;
    for (const auto& t : topics) by_name[t.name] = &t;
    std::map<uuid, int32_t> seen;
    for (const auto& [id, member] : g->members)
      for (const auto& name : subscribed(member, topics)) {
        const auto* t = by_name.at(name);  // subscribed() names only topics that exist
        seen[t->id] = static_cast<int32_t>(t->partitions.size());
      }
    if (seen != g->topics_seen) {
      if (!g->topics_seen.empty() || g->assignment_epoch > 0) bump(*g);
      g->topics_seen = std::move(seen);
    }
    if (g->epoch > g->assignment_epoch) compute_target(*g, topics);

    std::optional<partition_set> owned;
    if (req.owned) owned = to_set(*req.owned);
    reconcile(*g, *m, owned);

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
    glog.put_group(*g);
    return r;
  }

  // ---- held heartbeats (a long poll) --------------------------------------
  //
  // A KIP-848 member learns of a new assignment only from the answer to a
  // heartbeat. Answered at once, a member that must give partitions up to a
  // newcomer hears of it up to a whole interval later. So a heartbeat that
  // brings a settled member nothing new is held, and answered as soon as it
  // must give partitions up (see `urgent`) or is fenced or removed, when
  // the adapter releases it (the connection sent another request), or
  // at its hold time: `group.consumer.heartbeat.hold.ms` (4 s by default:
  // @platformatic/kafka times a request out after 5 s), and under the
  // interval the member was last told by a tenth, at least 100 ms, since
  // librdkafka times a heartbeat out after that interval (and sends the
  // next one an interval after the last).

  using heartbeat_done = std::function<void(adapter::consumer_heartbeat_result)>;
  struct held_heartbeat {
    adapter::consumer_heartbeat_request req;
    heartbeat_done done;
    clock::time_point deadline;
  };
  std::map<std::string, std::map<uint64_t, held_heartbeat>> holding;  // by group, then hold id
  std::map<uint64_t, std::string> held_in;                            // hold id -> group
  std::set<std::string> touched;                                      // groups that may have changed this round
  clock::time_point next_hold_deadline = clock::time_point::max();

  // The answer goes once the round's records are on disk.
  void answer(const heartbeat_done& done, adapter::consumer_heartbeat_result r) {
    later([done, r = std::move(r)](bool durable) mutable {
      if (!durable && r.code == error::none) {
        r = {};
        r.code = error::coordinator_not_available;
        r.message = "the group log could not be written";
      }
      done(std::move(r));
    });
  }

  consumer_member* member_of(const std::string& group, const std::string& member) {
    consumer_group* g = find_consumer(group);
    if (g == nullptr) return nullptr;
    auto it = g->members.find(member);
    return it == g->members.end() ? nullptr : &it->second;
  }

  // The answer can wait: it gives a settled member no partition and takes
  // none away. A new member epoch alone can wait too: the member learns it
  // with the answer, whenever that goes.
  static bool can_wait(const adapter::consumer_heartbeat_request& req, const adapter::consumer_heartbeat_result& r,
                       const consumer_member& m) {
    return r.code == error::none && req.member_epoch > 0 && !r.assignment && m.state == member_state::stable &&
           !m.left_static;
  }

  // A held heartbeat is answered before its hold time only when the member
  // must give partitions up (another member waits for them) or the answer
  // is an error. Partitions it gains wait for the end of the hold, as they
  // would wait for its next heartbeat without one: librdkafka 2.15.1, handed
  // new partitions just as the application closes it, drops their stored
  // offsets before the application's revocation callback can commit them.
  static bool urgent(const adapter::consumer_heartbeat_result& r, const consumer_member& m) {
    return r.code != error::none || m.state == member_state::unrevoked_partitions || m.left_static;
  }

  // How long a heartbeat may be held (see above); also well within the
  // session, so that a held member never expires.
  int64_t hold_ms(const consumer_member& m) const {
    const int64_t told = m.told_interval_ms;
    return std::min({cfg().consumer_heartbeat_hold_ms, told - std::max<int64_t>(told / 10, 100),
                     cfg().consumer_session_timeout_ms / 2});
  }

  void consumer_heartbeat(adapter::consumer_heartbeat_request req, heartbeat_done done) {
    touched.insert(req.group_id);
    auto r = consumer_heartbeat(req);
    const consumer_member* m = req.hold != 0 ? member_of(req.group_id, r.member_id) : nullptr;
    if (m != nullptr && can_wait(req, r, *m)) {
      const int64_t ms = hold_ms(*m);
      if (ms > 0) {
        req.member_epoch = r.member_epoch;  // where the member stands now, for the checks and replays to come
        const uint64_t id = req.hold;
        const auto deadline = now + milliseconds(ms);
        next_hold_deadline = std::min(next_hold_deadline, deadline);
        log::debug("group {}: heartbeat of {} held for up to {} ms", req.group_id, req.member_id, ms);
        held_in[id] = req.group_id;
        auto& slot = holding[req.group_id][id];  // before `req` is moved from
        slot = {std::move(req), std::move(done), deadline};
        return;
      }
    }
    answer(done, std::move(r));
  }

  void release_heartbeat(uint64_t id) {
    auto g = held_in.find(id);
    if (g == held_in.end()) return;
    auto& in_group = holding[g->second];
    auto h = in_group.find(id);
    log::debug("group {}: heartbeat of {} released (its connection sent another request)", g->second,
               h->second.req.member_id);
    answer(h->second.done, consumer_heartbeat(h->second.req, true));
    in_group.erase(h);
    if (in_group.empty()) holding.erase(g->second);
    held_in.erase(g);
  }

  // Whether something may have changed for the member of a held heartbeat.
  bool may_have_news(const std::string& group, const adapter::consumer_heartbeat_request& req) {
    const consumer_group* g = find_consumer(group);
    if (g == nullptr) return true;
    auto it = g->members.find(req.member_id);
    if (it == g->members.end()) return true;
    const consumer_member& m = it->second;
    return m.left_static || m.epoch != req.member_epoch || m.epoch != g->assignment_epoch ||
           g->epoch != g->assignment_epoch || m.state != member_state::stable;
  }

  // At the end of each round: the held heartbeats of groups touched in it,
  // and those whose hold time is up.
  void recheck_held() {
    if (holding.empty()) {
      touched.clear();
      return;
    }
    const bool due = now >= next_hold_deadline;
    std::vector<std::string> groups;
    if (due) {
      next_hold_deadline = clock::time_point::max();
      for (const auto& [id, hs] : holding) groups.push_back(id);
    } else {
      for (const auto& id : touched)
        if (holding.count(id)) groups.push_back(id);
    }
    touched.clear();
    for (const auto& group : groups) {
      auto& in_group = holding[group];
      for (auto it = in_group.begin(); it != in_group.end();) {
        held_heartbeat& h = it->second;
        const bool expired = now >= h.deadline;
        if (!expired && !may_have_news(group, h.req)) {
          if (due) next_hold_deadline = std::min(next_hold_deadline, h.deadline);
          ++it;
          continue;
        }
        auto r = consumer_heartbeat(h.req, true);
        consumer_member* m = member_of(group, r.member_id);
        if (!expired && m != nullptr && !urgent(r, *m)) {
          if (r.assignment) m->send_assignment = true;  // still to be told, when the hold ends
          h.req.member_epoch = r.member_epoch;
          if (due) next_hold_deadline = std::min(next_hold_deadline, h.deadline);
          ++it;
          continue;
        }
        log::debug("group {}: held heartbeat of {} answered ({})", group, h.req.member_id,
                   expired ? "its hold time is up" : "news for it");
        answer(h.done, std::move(r));
        held_in.erase(it->first);
        it = in_group.erase(it);
      }
      if (in_group.empty()) holding.erase(group);
    }
  }

  static std::string consumer_state_name(const consumer_group& g) {
    if (g.members.empty()) return "Empty";
    if (g.epoch != g.assignment_epoch) return "Assigning";
    for (const auto& [id, m] : g.members)
      if (m.epoch != g.assignment_epoch || m.state != member_state::stable) return "Reconciling";
    return "Stable";
  }

  adapter::consumer_group_description describe_consumer(const std::string& id) {
    adapter::consumer_group_description d;
    d.group_id = id;
    consumer_group* g = find_consumer(id);
    if (g == nullptr) {
      d.code = error::group_id_not_found;
      d.message = "group " + id + " is not a consumer group";
      d.state = "Dead";
      return d;
    }
    d.state = consumer_state_name(*g);
    d.epoch = g->epoch;
    d.assignment_epoch = g->assignment_epoch;
    d.assignor = g->assignor.empty() ? pick_assignor(*g) : g->assignor;
    for (const auto& [mid, m] : g->members) {
      adapter::consumer_group_description::member dm;
      dm.member_id = mid;
      dm.instance_id = m.instance_id;
      dm.rack = m.rack;
      dm.member_epoch = m.epoch;
      dm.client = m.client;
      dm.subscribed_topic_names = m.topic_names;
      dm.subscribed_topic_regex = m.topic_regex;
      dm.assignment = to_list(m.assigned);
      auto t = g->target.find(mid);
      if (t != g->target.end()) dm.target_assignment = to_list(t->second);
      d.members.push_back(std::move(dm));
    }
    return d;
  }

  // ---- offsets ------------------------------------------------------------

  // The topics a commit names, as the metadata has them now (nullopt: none
  // by that name), each looked up once.
  using named_topics = std::map<std::string, std::optional<adapter::topic_info>>;
  named_topics topics_of(const adapter::commit_request& req) const {
    named_topics out;
    for (const auto& o : req.offsets)
      if (!out.count(o.topic)) out[o.topic] = opts.find_topic(o.topic);
    return out;
  }

  // For a commit at an epoch older than the member's: true for each offset
  // whose partition the member did not hold at that epoch.
  static std::vector<bool> stale_for(const consumer_member& m, const adapter::commit_request& req,
                                     const named_topics& topics) {
    std::vector<bool> out;
    for (const auto& o : req.offsets) {
      const auto& t = topics.at(o.topic);
      bool ok = false;
      if (t) {
        auto at = m.assigned_at.find({t->id, o.partition});
        ok = at != m.assigned_at.end() && req.generation_or_epoch >= at->second;
      }
      out.push_back(!ok);
    }
    return out;
  }

  std::vector<error> commit(const adapter::commit_request& req) {
    auto all = [&](error e) { return std::vector<error>(req.offsets.size(), e); };
    std::vector<bool> stale_partitions;
    if (req.group_id.empty()) return all(error::invalid_group_id);
    const named_topics topics = topics_of(req);
    // A negative generation is an admin client's or a consumer's that
    // assigns partitions itself: taken, whatever the member id, by a group
    // that is absent or has no members (as Kafka takes it).
    const bool simple = req.generation_or_epoch < 0;
    if (consumer_group* g = find_consumer(req.group_id)) {
      if (!simple || !g->members.empty()) {
        auto it = g->members.find(req.member_id);
        if (it == g->members.end()) return all(error::unknown_member_id);
        const consumer_member& m = it->second;
        if (req.generation_or_epoch > m.epoch) return all(error::stale_member_epoch);
        if (req.generation_or_epoch < m.epoch) {
          // KIP-1251: an older epoch commits only partitions the member has
          // held since that epoch.
          stale_partitions = stale_for(m, req, topics);
          log::debug("group {}: commit by {} at epoch {} while the member is at {}", g->id, req.member_id,
                     req.generation_or_epoch, m.epoch);
        }
      }
    } else if (classic_group* cg = find_classic(req.group_id)) {
      if (!simple || !cg->members.empty()) {
        classic_member* m = nullptr;
        if (auto e = find_member(cg, req.member_id, req.instance_id, &m); e != error::none) return all(e);
        if (req.generation_or_epoch != cg->generation) return all(error::illegal_generation);
        if (cg->state == classic_state::completing_rebalance) return all(error::rebalance_in_progress);
      }
    } else if (!simple) {
      return all(error::illegal_generation);
    }
    std::vector<error> out;
    if (!claim(req.group_id)) return all(error::group_id_not_found);  // a share group's id
    auto& group_offsets = offsets[req.group_id];
    const int64_t t = wall_ms();
    for (size_t i = 0; i < req.offsets.size(); ++i) {
      const auto& o = req.offsets[i];
      const auto& topic = topics.at(o.topic);  // offsets are kept for partitions that exist
      if (!topic || o.partition < 0 || static_cast<size_t>(o.partition) >= topic->partitions.size()) {
        out.push_back(error::unknown_topic_or_partition);
        continue;
      }
      if (!stale_partitions.empty() && stale_partitions[i]) {
        out.push_back(error::stale_member_epoch);
        continue;
      }
      if (o.metadata && static_cast<int64_t>(o.metadata->size()) > cfg().offset_metadata_max_bytes) {
        out.push_back(error::offset_metadata_too_large);
        continue;
      }
      committed c{o.offset, o.leader_epoch, o.metadata, t};
      glog.put_offset(req.group_id, {o.topic, o.partition}, c);
      group_offsets[{o.topic, o.partition}] = std::move(c);
      out.push_back(error::none);
    }
    if (group_offsets.empty()) offsets.erase(req.group_id);
    return out;
  }

  adapter::offset_fetch_result fetch(const adapter::offset_fetch_request& req) {
    adapter::offset_fetch_result r;
    if (req.member_id) {
      if (consumer_group* g = find_consumer(req.group_id)) {
        auto it = g->members.find(*req.member_id);
        if (it == g->members.end()) {
          r.code = error::unknown_member_id;
          return r;
        }
        // Reading committed offsets with an epoch the member has already
        // moved past is harmless (and a client that just got a new epoch
        // may still send the old one); an epoch from the future is not.
        if (req.member_epoch > it->second.epoch) {
          log::debug("group {}: offset fetch by {} at epoch {} refused, the member is at {}", g->id, *req.member_id,
                     req.member_epoch, it->second.epoch);
          r.code = error::stale_member_epoch;
          return r;
        }
      }
    }
    auto g = offsets.find(req.group_id);
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
      if (g != offsets.end())
        for (const auto& [k, c] : g->second) r.offsets.push_back(make(k, &c));
      return r;
    }
    for (const auto& k : *req.partitions) {
      const committed* c = nullptr;
      if (g != offsets.end()) {
        auto it = g->second.find(k);
        if (it != g->second.end()) c = &it->second;
      }
      r.offsets.push_back(make(k, c));
    }
    return r;
  }

  // The topics a group's members consume now (OffsetDelete keeps theirs).
  std::set<std::string> subscribed_topics(const std::string& group) {
    std::set<std::string> out;
    if (classic_group* g = find_classic(group))
      for (const auto& [id, m] : g->members) out.insert(m.subscribed_topics.begin(), m.subscribed_topics.end());
    if (consumer_group* g = find_consumer(group)) {
      const auto topics = opts.topics();
      for (const auto& [id, m] : g->members) {
        auto s = subscribed(m, topics);
        out.insert(s.begin(), s.end());
      }
    }
    return out;
  }

  bool exists(const std::string& group) const {
    return classic.count(group) || consumer.count(group) || offsets.count(group);
  }

  bool has_members(const std::string& group) {
    if (classic_group* g = find_classic(group)) return !g->members.empty();
    if (consumer_group* g = find_consumer(group)) return !g->members.empty();
    return false;
  }

  std::pair<error, std::vector<error>> delete_offsets(const std::string& group,
                                                      const std::vector<std::pair<std::string, int32_t>>& parts) {
    if (!exists(group)) return {error::group_id_not_found, {}};
    const auto busy = has_members(group) ? subscribed_topics(group) : std::set<std::string>{};
    std::vector<error> out;
    auto g = offsets.find(group);
    for (const auto& k : parts) {
      if (busy.count(k.first)) {
        out.push_back(error::group_subscribed_to_topic);
        continue;
      }
      if (g != offsets.end() && g->second.erase(k)) glog.delete_offset(group, k);
      out.push_back(error::none);
    }
    if (g != offsets.end() && g->second.empty()) offsets.erase(g);
    return {error::none, out};
  }

  std::vector<adapter::group_listing> list(const std::vector<std::string>& states,
                                           const std::vector<std::string>& types) {
    std::vector<adapter::group_listing> all;
    for (const auto& [id, g] : classic) {
      std::string type = g.protocol_type;
      if (type.empty() && !g.members.empty()) type = g.members.begin()->second.protocol_type;
      all.push_back({id, type, classic_state_name(g.state), "classic"});
    }
    for (const auto& [id, g] : consumer) all.push_back({id, "consumer", consumer_state_name(g), "consumer"});
    for (const auto& [id, o] : offsets)
      if (!classic.count(id) && !consumer.count(id)) all.push_back({id, "", "Empty", "classic"});
    return filter_listings(std::move(all), states, types);
  }

  adapter::classic_group_description describe_classic(const std::string& id) {
    adapter::classic_group_description d;
    d.group_id = id;
    if (consumer.count(id)) {
      d.code = error::group_id_not_found;
      d.message = "group " + id + " is not a classic group";
      d.state = "Dead";
      return d;
    }
    classic_group* g = find_classic(id);
    if (g == nullptr) {
      if (offsets.count(id)) {
        d.state = "Empty";
        return d;
      }
      d.code = error::group_id_not_found;
      d.message = "group " + id + " not found";
      d.state = "Dead";
      return d;
    }
    d.state = classic_state_name(g->state);
    d.protocol_type = g->protocol_type;
    if (g->state == classic_state::stable || g->state == classic_state::completing_rebalance)
      d.protocol = g->protocol.value_or("");
    for (const auto& [mid, m] : g->members) {
      adapter::classic_group_description::member dm;
      dm.member_id = mid;
      dm.instance_id = m.instance_id;
      dm.client = m.client;
      if (g->protocol)
        if (const auto* md = m.metadata_for(*g->protocol)) dm.metadata = *md;
      if (g->state == classic_state::stable) dm.assignment = m.assignment;
      d.members.push_back(std::move(dm));
    }
    return d;
  }

  error delete_group(const std::string& id) {
    if (!exists(id)) return error::group_id_not_found;
    if (has_members(id)) return error::non_empty_group;
    classic.erase(id);
    consumer.erase(id);
    touched.insert(id);
    auto o = offsets.find(id);
    if (o != offsets.end()) {
      for (const auto& [k, c] : o->second) glog.delete_offset(id, k);
      offsets.erase(o);
    }
    glog.delete_group(id);
    if (opts.kinds) opts.kinds->release(id, group_kinds::kind::coordinator);
    log::info("group {} deleted", id);
    return error::none;
  }

  // ---- timers -------------------------------------------------------------

  void expire() {
    for (auto& [id, g] : classic) {
      bool changed = false;
      for (auto it = g.pending.begin(); it != g.pending.end();)
        it = it->second <= now ? g.pending.erase(it) : std::next(it);
      std::vector<std::string> gone;
      for (const auto& [mid, m] : g.members)
        if (!m.awaiting_join && m.session_deadline <= now) gone.push_back(mid);
      // Members that never sent SyncGroup within the rebalance timeout are
      // dropped, so the others are not left waiting for a leader that is gone.
      if (g.state == classic_state::completing_rebalance && now >= g.rebalance_deadline)
        for (const auto& [mid, m] : g.members)
          if (!m.awaiting_sync && std::find(gone.begin(), gone.end(), mid) == gone.end()) gone.push_back(mid);
      for (const auto& mid : gone) {
        log::info("group {}: member {} is removed (no heartbeat or SyncGroup in time)", id, mid);
        remove_classic_member(g, mid, error::unknown_member_id);
        changed = true;
      }
      if (changed) members_changed(g);
      maybe_complete_join(g);
    }
    for (auto& [id, g] : consumer) {
      std::vector<std::string> gone;
      for (const auto& [mid, m] : g.members) {
        if (m.session_deadline != clock::time_point{} && m.session_deadline <= now) {
          log::info("group {}: member {} missed its session timeout and is removed", id, mid);
          gone.push_back(mid);
        } else if (m.state == member_state::unrevoked_partitions && m.revocation_deadline != clock::time_point{} &&
                   m.revocation_deadline <= now) {
          log::info("group {}: member {} did not revoke its partitions within its rebalance timeout and is removed", id,
                    mid);
          gone.push_back(mid);
        }
      }
      for (const auto& mid : gone) remove_consumer_member(g, mid);
      if (!gone.empty()) {
        glog.put_group(g);
        touched.insert(id);
      }
    }
  }

  void restore(loaded_state&& s) {
    offsets = std::move(s.offsets);
    classic = std::move(s.classic);
    consumer = std::move(s.consumer);
    for (const auto& [id, o] : offsets) claim(id);
    for (const auto& [id, g] : classic) claim(id);
    for (const auto& [id, g] : consumer) claim(id);
    now = clock::now();
    // Members get a fresh session from the restart, as if they had just
    // sent a heartbeat.
    for (auto& [id, g] : classic) {
      if (g.state == classic_state::preparing_rebalance || g.state == classic_state::completing_rebalance)
        g.state = g.members.empty() ? classic_state::empty : classic_state::stable;
      for (auto& [mid, m] : g.members) m.session_deadline = now + milliseconds(m.session_timeout_ms);
    }
    for (auto& [id, g] : consumer)
      for (auto& [mid, m] : g.members) {
        m.session_deadline = now + milliseconds(cfg().consumer_session_timeout_ms);
        m.revocation_deadline = now + milliseconds(std::max(m.rebalance_timeout_ms, 1));
      }
  }

  void write_all() {
    for (const auto& [id, g] : classic) glog.put_group(g, true);
    for (const auto& [id, g] : consumer) glog.put_group(g, true);
    for (const auto& [group, o] : offsets)
      for (const auto& [k, c] : o) glog.put_offset(group, k, c);
  }
};

// ---------------------------------------------------------------------------

coordinator::coordinator(log::partition_log* log, const plugin::assignor_set* assignors, options opts)
    : impl_(std::make_unique<impl>(log, assignors, std::move(opts))) {}

result<std::unique_ptr<coordinator>> coordinator::start(log::partition_log* log, const plugin::assignor_set* assignors,
                                                        options opts) {
  if (opts.settings.consumer_assignors.empty())
    return status(errc::config, "group.consumer.assignors: needs at least one assignor");
  for (const auto& name : opts.settings.consumer_assignors)
    if (!assignors->has(name))
      return status(errc::config,
                    "group.consumer.assignors names '" + name + "', but no loaded assignor plugin has that name");
  std::unique_ptr<coordinator> c(new coordinator(log, assignors, std::move(opts)));
  loaded_state s;
  if (auto st = c->impl_->glog.load(s); !st) return status(st.code(), "reading the group log: " + st.message());
  log::info("groups: {} classic, {} consumer, offsets of {} group(s) ({} records read)", s.classic.size(),
            s.consumer.size(), s.offsets.size(), s.records);
  c->impl_->restore(std::move(s));
  impl* state = c->impl_.get();
  c->loop_.start(state->opts.tick_ms,
                 {[state](clock::time_point now) { state->now = now; }, [state] { state->expire(); },
                  [state] {
                    state->recheck_held();
                    commit_round(
                        state->glog, state->after_flush, [state] { state->write_all(); }, "groups: the group log");
                  }});
  return c;
}

coordinator::~coordinator() { stop(); }

void coordinator::stop() { loop_.stop(); }

// ---- the calls: each posts its work to the coordinator's thread ----------

void coordinator::join_group(adapter::join_request req, std::function<void(adapter::join_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable { impl_->join(std::move(req), done); });
}

void coordinator::sync_group(adapter::sync_request req, std::function<void(adapter::sync_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable { impl_->sync(std::move(req), done); });
}

void coordinator::heartbeat(std::string group_id, int32_t generation, adapter::member_identity member,
                            std::function<void(adapter::error)> done) {
  post([this, group_id = std::move(group_id), generation, member = std::move(member), done = std::move(done)] {
    done(impl_->heartbeat(group_id, generation, member));
  });
}

void coordinator::leave_group(std::string group_id, std::vector<adapter::member_identity> members,
                              std::function<void(std::vector<adapter::error>)> done) {
  post([this, group_id = std::move(group_id), members = std::move(members), done = std::move(done)] {
    auto out = impl_->leave(group_id, members);
    impl_->later([done, out = std::move(out)](bool) mutable { done(std::move(out)); });
  });
}

void coordinator::consumer_heartbeat(adapter::consumer_heartbeat_request req,
                                     std::function<void(adapter::consumer_heartbeat_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    impl_->consumer_heartbeat(std::move(req), std::move(done));
  });
}

void coordinator::release_heartbeat(uint64_t hold) {
  post([this, hold] { impl_->release_heartbeat(hold); });
}

void coordinator::describe_consumer_groups(std::vector<std::string> group_ids,
                                           std::function<void(std::vector<adapter::consumer_group_description>)> done) {
  post([this, group_ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::consumer_group_description> out;
    for (const auto& id : group_ids) out.push_back(impl_->describe_consumer(id));
    done(std::move(out));
  });
}

void coordinator::commit_offsets(adapter::commit_request req, std::function<void(std::vector<adapter::error>)> done) {
  post([this, req = std::move(req), done = std::move(done)] {
    auto out = impl_->commit(req);
    impl_->later([done, out = std::move(out)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::coordinator_not_available;
      done(std::move(out));
    });
  });
}

void coordinator::fetch_offsets(std::vector<adapter::offset_fetch_request> reqs,
                                std::function<void(std::vector<adapter::offset_fetch_result>)> done) {
  post([this, reqs = std::move(reqs), done = std::move(done)] {
    std::vector<adapter::offset_fetch_result> out;
    for (const auto& r : reqs) out.push_back(impl_->fetch(r));
    done(std::move(out));
  });
}

void coordinator::delete_offsets(std::string group_id, std::vector<std::pair<std::string, int32_t>> partitions,
                                 std::function<void(adapter::error, std::vector<adapter::error>)> done) {
  post([this, group_id = std::move(group_id), partitions = std::move(partitions), done = std::move(done)] {
    auto [e, out] = impl_->delete_offsets(group_id, partitions);
    impl_->later([done, e = e, out = std::move(out)](bool durable) mutable {
      done(durable ? e : error::coordinator_not_available, std::move(out));
    });
  });
}

void coordinator::list_groups(std::vector<std::string> states, std::vector<std::string> types,
                              std::function<void(std::vector<adapter::group_listing>)> done) {
  post([this, states = std::move(states), types = std::move(types), done = std::move(done)] {
    done(impl_->list(states, types));
  });
}

void coordinator::describe_classic_groups(std::vector<std::string> group_ids,
                                          std::function<void(std::vector<adapter::classic_group_description>)> done) {
  post([this, group_ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::classic_group_description> out;
    for (const auto& id : group_ids) out.push_back(impl_->describe_classic(id));
    done(std::move(out));
  });
}

void coordinator::delete_groups(std::vector<std::string> group_ids,
                                std::function<void(std::vector<adapter::error>)> done) {
  post([this, group_ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::error> out;
    for (const auto& id : group_ids) out.push_back(impl_->delete_group(id));
    impl_->later([done, out = std::move(out)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::coordinator_not_available;
      done(std::move(out));
    });
  });
}

}  // namespace mosaic::groups
