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
    if (changed) push_change(out, p, now);
  });
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
    std::vector<int32_t> replicas;
    for (int32_t j = 0; j < factor; ++j) replicas.push_back(order[(start + static_cast<size_t>(j)) % n]);
    out.push_back(std::move(replicas));
  }
  return out;
}

}  // namespace mosaic::replication
