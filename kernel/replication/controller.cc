#include "kernel/replication/controller.h"

#include <algorithm>
#include <map>

namespace mosaic::replication {

namespace {

bool has(const std::vector<broker_id>& v, broker_id b) { return std::find(v.begin(), v.end(), b) != v.end(); }

// A partition's changes made one after another count as one: the record
// follows the partition epoch it was decided on.
void push_change(std::vector<metadata::record>& out, const metadata::partition_record& before, partition_state next) {
  next.partition_epoch = before.partition_epoch + 1;
  out.emplace_back(metadata::partition_change_record{to_record(before, next)});
}

template <class F>
void for_each_partition(const metadata::image& img, F&& fn) {
  for (const auto& [name, t] : img.topics())
    for (const auto& p : t.partitions) fn(t, p);
}

std::vector<broker_id> minus(const std::vector<broker_id>& a, const std::vector<broker_id>& b) {
  std::vector<broker_id> out;
  for (broker_id x : a)
    if (!has(b, x)) out.push_back(x);
  return out;
}

// A reassignment's end: the replicas become its target (the replicas but
// the removing ones, in order), the leaving ones leave every set, and a
// leader that leaves hands over to the first live in-sync target replica.
partition_state finish_reassignment(const partition_state& p, const std::vector<broker_id>& removing,
                                    const broker_view& view) {
  partition_state next = p;
  next.replicas = minus(p.replicas, removing);
  next.isr = minus(p.isr, removing);
  next.elr = minus(p.elr, removing);
  next.last_known_elr = minus(p.last_known_elr, removing);
  if (has(removing, next.leader) || (next.leader != no_leader && !view.live(next.leader))) {
    next.leader = no_leader;
    for (broker_id r : next.replicas)
      if (has(next.isr, r) && view.live(r)) {
        next.leader = r;
        break;
      }
    ++next.leader_epoch;
  }
  return next;
}

// The partition an operator names, or nullptr and why in `out`.
const metadata::partition_record* find_partition(const metadata::image& img, const std::string& topic,
                                                 int32_t partition, decision& out, const metadata::topic_state*& t) {
  t = img.find(topic);
  if (!t) {
    out.error = change_error::unknown_topic_or_partition;
    out.message = "Topic '" + topic + "' does not exist.";
    return nullptr;
  }
  if (partition < 0 || static_cast<size_t>(partition) >= t->partitions.size()) {
    out.error = change_error::unknown_topic_or_partition;
    out.message = "Partition " + std::to_string(partition) + " of '" + topic + "' does not exist.";
    return nullptr;
  }
  return &t->partitions[static_cast<size_t>(partition)];
}

}  // namespace

partition_policy policy_for(const metadata::topic_state& t, const controller_settings& s) {
  partition_policy p;
  p.min_insync = s.default_min_insync;
  p.unclean_election = s.default_unclean_election;
  if (auto it = t.configs.find("min.insync.replicas"); it != t.configs.end()) {
    try {
      p.min_insync = std::stoi(it->second);
    } catch (const std::exception&) {  // checked when set; an old value keeps the default
    }
  }
  if (auto it = t.configs.find("unclean.leader.election.enable"); it != t.configs.end())
    p.unclean_election = it->second == "true";
  return p;
}

broker_view view_of(const metadata::image& img) {
  broker_view v;
  for (const auto& [id, b] : img.brokers()) {
    v.epochs[id] = b.epoch;
    if (!b.fenced) v.unfenced.insert(id);
  }
  return v;
}

partition_state to_state(const metadata::partition_record& p) {
  partition_state s;
  s.replicas = p.replicas;
  s.isr = p.isr;
  s.elr = p.elr;
  s.last_known_elr = p.last_known_elr;
  s.leader = p.leader;
  s.leader_epoch = p.leader_epoch;
  s.partition_epoch = p.partition_epoch;
  return s;
}

metadata::partition_record to_record(const metadata::partition_record& base, const partition_state& s) {
  metadata::partition_record r = base;
  r.replicas = s.replicas;
  r.isr = s.isr;
  r.elr = s.elr;
  r.last_known_elr = s.last_known_elr;
  r.leader = s.leader;
  r.leader_epoch = s.leader_epoch;
  r.partition_epoch = s.partition_epoch;
  return r;
}

std::vector<metadata::record> reconcile(const metadata::image& img, const contact& c, const controller_settings& s) {
  std::vector<metadata::record> out;
  broker_view view = view_of(img);
  for (const auto& [id, b] : img.brokers()) {
    const bool heard = id == c.self || c.heard.count(id) != 0;
    if (c.unknown.count(id) && id != c.self) continue;
    if (!b.fenced && !heard) {
      out.emplace_back(metadata::broker_fence_record{id, b.epoch, true, false});
      view.unfenced.erase(id);
    } else if (b.fenced && heard && !b.shutting_down) {
      out.emplace_back(metadata::broker_fence_record{id, b.epoch, false, false});
      view.unfenced.insert(id);
    }
  }
  for_each_partition(img, [&](const metadata::topic_state& t, const metadata::partition_record& p) {
    // Most partitions need nothing: a leader, no reassignment, and every
    // replica that leads or is in the ISR alive. Told apart before any
    // copy, since a pass reads every partition of the cluster.
    bool attention = p.leader == no_leader || !p.adding.empty() || !p.removing.empty();
    for (size_t i = 0; !attention && i < p.replicas.size(); ++i) {
      const broker_id r = p.replicas[i];
      attention = !view.live(r) && (p.leader == r || has(p.isr, r));
    }
    if (!attention) return;
    const partition_policy policy = policy_for(t, s);
    partition_state now = to_state(p);
    bool changed = false;
    for (broker_id r : p.replicas) {
      if (view.live(r) || (!has(now.isr, r) && now.leader != r)) continue;
      change ch = on_broker_gone(now, r, view, policy);
      if (ch.error == change_error::none && ch.changed) {
        now = ch.next;
        changed = true;
      }
    }
    if (now.leader == no_leader) {
      change ch = on_broker_back(now, view, policy);
      if (ch.error == change_error::none && ch.changed) {
        now = ch.next;
        changed = true;
      }
    }
    // A reassignment whose new replicas have all caught up ends.
    bool reassigned = false;
    if (!p.adding.empty() || !p.removing.empty()) {
      bool caught_up = true;
      for (broker_id r : p.adding) caught_up = caught_up && has(now.isr, r);
      if (caught_up && !minus(now.isr, p.removing).empty()) {
        now = finish_reassignment(now, p.removing, view);
        changed = reassigned = true;
      }
    }
    if (!changed) return;
    now.partition_epoch = p.partition_epoch + 1;
    metadata::partition_record r = to_record(p, now);
    if (reassigned) r.adding.clear(), r.removing.clear();
    out.emplace_back(metadata::partition_change_record{r});
  });
  return out;
}

std::vector<metadata::record> preferred_elections(const metadata::image& img, int imbalance_percent,
                                                  const controller_settings& s) {
  std::map<broker_id, std::pair<int, int>> share;  // preferred of: (partitions, not led)
  for_each_partition(img, [&](const metadata::topic_state&, const metadata::partition_record& p) {
    if (p.replicas.empty() || !p.adding.empty()) return;
    auto& [total, off] = share[p.replicas.front()];
    ++total;
    if (p.leader != p.replicas.front()) ++off;
  });
  std::vector<metadata::record> out;
  const broker_view view = view_of(img);
  for_each_partition(img, [&](const metadata::topic_state& t, const metadata::partition_record& p) {
    if (p.replicas.empty() || !p.adding.empty() || p.leader == p.replicas.front()) return;
    const auto [total, off] = share[p.replicas.front()];
    if (off * 100 <= imbalance_percent * total) return;
    change ch = elect_preferred(to_state(p), view, policy_for(t, s));
    if (ch.error == change_error::none && ch.changed) push_change(out, p, ch.next);
  });
  return out;
}

decision elect(const metadata::image& img, const std::string& topic, int32_t partition, bool unclean,
               const controller_settings& s) {
  decision out;
  const metadata::topic_state* t = nullptr;
  const metadata::partition_record* p = find_partition(img, topic, partition, out, t);
  if (!p) return out;
  const broker_view view = view_of(img);
  const partition_policy policy = policy_for(*t, s);
  change c = unclean ? elect_unclean(to_state(*p), view, policy) : elect_preferred(to_state(*p), view, policy);
  if (c.error != change_error::none) {
    out.error = c.error;
    out.message = c.message;
  } else if (!c.changed) {
    out.error = change_error::election_not_needed;
    out.message = "the leader would not change";
  } else {
    c.next.partition_epoch = p->partition_epoch + 1;
    out.record = to_record(*p, c.next);
  }
  return out;
}

decision reassign(const metadata::image& img, const std::string& topic, int32_t partition,
                  const std::optional<std::vector<int32_t>>& target) {
  decision out;
  const metadata::topic_state* t = nullptr;
  const metadata::partition_record* found = find_partition(img, topic, partition, out, t);
  if (!found) return out;
  const metadata::partition_record& p = *found;
  const std::vector<broker_id> original = minus(p.replicas, p.adding);
  const broker_view view = view_of(img);
  metadata::partition_record r = p;
  r.partition_epoch = p.partition_epoch + 1;
  if (!target) {
    if (p.adding.empty() && p.removing.empty()) {
      out.error = change_error::no_reassignment_in_progress;
      out.message = "no reassignment of " + topic + "-" + std::to_string(partition) + " is under way";
      return out;
    }
    // Back to where it started: the replicas that were being added go.
    partition_state next = finish_reassignment(to_state(p), p.adding, view);
    next.partition_epoch = r.partition_epoch;
    r = to_record(p, next);
    r.adding.clear();
    r.removing.clear();
    out.record = r;
    return out;
  }
  std::set<int32_t> seen;
  for (int32_t b : *target) {
    if (!seen.insert(b).second) {
      out.error = change_error::invalid_replica_assignment;
      out.message = "broker " + std::to_string(b) + " is named twice";
      return out;
    }
    if (!img.brokers().count(b)) {
      out.error = change_error::invalid_replica_assignment;
      out.message = "broker " + std::to_string(b) + " is not registered";
      return out;
    }
  }
  if (target->empty()) {
    out.error = change_error::invalid_replica_assignment;
    out.message = "the target has no replica";
    return out;
  }
  if (*target == original && p.adding.empty() && p.removing.empty()) return out;  // already so
  r.replicas = *target;
  for (broker_id b : original)
    if (!has(*target, b)) r.replicas.push_back(b);
  r.adding = minus(*target, original);
  r.removing = minus(original, *target);
  // What was being added and is not in the new target goes at once.
  partition_state now = to_state(p);
  std::vector<broker_id> dropped = minus(p.adding, *target);
  if (!dropped.empty()) now = finish_reassignment(now, dropped, view);
  now.replicas = r.replicas;
  if (r.adding.empty()) {
    // Nothing to copy: done now.
    now = finish_reassignment(now, r.removing, view);
    r.removing.clear();
  }
  now.partition_epoch = r.partition_epoch;
  auto adding = r.adding, removing = r.removing;
  r = to_record(p, now);
  r.adding = adding;
  r.removing = removing;
  if (r.leader == no_leader || !has(r.isr, r.leader)) {
    out.error = change_error::invalid_replica_assignment;
    out.message = "no replica of the target is live and in sync";
    return out;
  }
  out.record = r;
  return out;
}

std::vector<metadata::record> registration_records(const metadata::image& img, const metadata::broker_record& b,
                                                   const controller_settings& s) {
  std::vector<metadata::record> out{b};
  broker_view view = view_of(img);
  view.unfenced.erase(b.id);
  view.epochs[b.id] = b.epoch;
  for_each_partition(img, [&](const metadata::topic_state& t, const metadata::partition_record& p) {
    if (!has(p.isr, b.id) && !has(p.elr, b.id) && !has(p.last_known_elr, b.id) && p.leader != b.id) return;
    change ch = on_unclean_restart(to_state(p), b.id, view, policy_for(t, s));
    if (ch.error == change_error::none && ch.changed) push_change(out, p, ch.next);
  });
  return out;
}

std::vector<metadata::record> controlled_shutdown_records(const metadata::image& img, int32_t self, int64_t epoch,
                                                          const controller_settings& s) {
  std::vector<metadata::record> out{metadata::broker_fence_record{self, epoch, true, true}};
  broker_view view = view_of(img);
  view.unfenced.erase(self);
  for_each_partition(img, [&](const metadata::topic_state& t, const metadata::partition_record& p) {
    if (!has(p.isr, self) && p.leader != self) return;
    change ch = on_broker_gone(to_state(p), self, view, policy_for(t, s));
    if (ch.error == change_error::none && ch.changed) push_change(out, p, ch.next);
  });
  return out;
}

std::vector<std::vector<int32_t>> place(const std::vector<broker_place>& brokers, int32_t first, int32_t count,
                                        int32_t factor, uint32_t offset) {
  std::vector<std::vector<int32_t>> out;
  if (factor <= 0 || static_cast<size_t>(factor) > brokers.size()) return out;
  // Brokers by rack (no rack is a rack of its own), then taken one from
  // each rack in turn: neighbours in this order are in different racks
  // while racks last.
  std::map<std::string, std::vector<int32_t>> by_rack;
  for (const auto& b : brokers) by_rack[b.rack ? "r:" + *b.rack : std::string("-")].push_back(b.id);
  for (auto& [rack, ids] : by_rack) std::sort(ids.begin(), ids.end());
  std::vector<int32_t> order;
  for (size_t i = 0; order.size() < brokers.size(); ++i)
    for (const auto& [rack, ids] : by_rack)
      if (i < ids.size()) order.push_back(ids[i]);
  const size_t n = order.size();
  for (int32_t p = 0; p < count; ++p) {
    const size_t start = (offset + static_cast<uint32_t>(first + p)) % n;
    std::vector<int32_t> replicas(static_cast<size_t>(factor));
    for (size_t j = 0; j < replicas.size(); ++j) replicas[j] = order[(start + j) % n];
    out.push_back(std::move(replicas));
  }
  return out;
}

}  // namespace mosaic::replication
