#include "kernel/replication/partition_state.h"

#include <algorithm>

namespace mosaic::replication {

namespace {

bool has(const std::vector<broker_id>& v, broker_id b) { return std::find(v.begin(), v.end(), b) != v.end(); }

std::vector<broker_id> without(std::vector<broker_id> v, broker_id b) {
  std::erase(v, b);
  return v;
}

// Settles a proposed state: the ELR by KIP-966's rules, then the leader
// (kept if it may lead, else elected in KIP-966's order), then the epochs.
// `lost` names a replica whose log may lack committed offsets (it came back
// from an unclean shutdown): it neither joins the ELR nor is remembered as
// the last known leader.
change settle(const partition_state& old, partition_state next, const broker_view& brokers,
              const partition_policy& policy, bool allow_unclean, broker_id lost = no_leader) {
  change out;
  // ELR: while the ISR is at or above min ISR nothing else is eligible; once
  // it falls below, every replica that leaves it keeps its eligibility (the
  // high watermark stops with it, so it holds every committed offset).
  if (static_cast<int>(next.isr.size()) >= policy.min_insync) {
    next.elr.clear();
    next.last_known_elr.clear();
  } else {
    std::vector<broker_id> elr;
    for (broker_id r : next.replicas)
      if (r != lost && (has(old.isr, r) || has(old.elr, r)) && !has(next.isr, r)) elr.push_back(r);
    next.elr = elr;
  }
  for (broker_id r : next.elr) std::erase(next.last_known_elr, r);

  // The leader.
  const bool keeps = next.leader != no_leader && has(next.isr, next.leader) && brokers.live(next.leader);
  if (!keeps) {
    next.leader = no_leader;
    for (broker_id r : next.replicas)
      if (has(next.isr, r) && brokers.live(r)) {
        next.leader = r;
        break;
      }
    if (next.leader == no_leader && next.isr.empty()) {
      // Nobody in sync: an eligible replica, then the last known leader,
      // then (only when allowed) any live replica.
      for (broker_id r : next.replicas)
        if (has(next.elr, r) && brokers.live(r)) {
          next.leader = r;
          break;
        }
      if (next.leader == no_leader)
        for (broker_id r : next.last_known_elr)
          if (brokers.live(r)) {
            next.leader = r;
            break;
          }
      if (next.leader == no_leader && allow_unclean)
        for (broker_id r : next.replicas)
          if (brokers.live(r)) {
            next.leader = r;
            out.unclean = true;
            break;
          }
      if (next.leader != no_leader) {
        next.isr = {next.leader};
        next.elr = out.unclean ? std::vector<broker_id>{} : without(next.elr, next.leader);
        next.last_known_elr.clear();
      }
    }
  }
  // Nothing can lead and nothing is eligible: remember who led last, the
  // one replica sure to hold every committed offset if it comes back whole.
  if (next.leader == no_leader && next.isr.empty() && next.elr.empty() && old.leader != no_leader && old.leader != lost)
    next.last_known_elr = {old.leader};

  if (next.leader != old.leader) ++next.leader_epoch;
  out.changed = !(next == old);
  if (out.changed) ++next.partition_epoch;
  out.next = std::move(next);
  return out;
}

change refuse(const partition_state& p, change_error e, std::string why) {
  change out;
  out.error = e;
  out.message = std::move(why);
  out.next = p;
  return out;
}

}  // namespace

partition_state initial_state(const std::vector<broker_id>& replicas, const broker_view& brokers) {
  partition_state p;
  p.replicas = replicas;
  for (broker_id r : replicas)
    if (brokers.live(r)) p.isr.push_back(r);
  if (!p.isr.empty()) p.leader = p.isr.front();
  return p;
}

change on_broker_gone(const partition_state& p, broker_id b, const broker_view& brokers,
                      const partition_policy& policy) {
  if (!has(p.isr, b) && p.leader != b) return settle(p, p, brokers, policy, policy.unclean_election);
  partition_state next = p;
  next.isr = without(p.isr, b);
  if (next.leader == b) next.leader = no_leader;
  return settle(p, next, brokers, policy, policy.unclean_election);
}

change on_broker_back(const partition_state& p, const broker_view& brokers, const partition_policy& policy) {
  if (p.leader != no_leader) return settle(p, p, brokers, policy, false);
  return settle(p, p, brokers, policy, policy.unclean_election);
}

change on_unclean_restart(const partition_state& p, broker_id b, const broker_view& brokers,
                          const partition_policy& policy) {
  // The only replica there is: no other copy can be better, and taking it
  // out would leave the partition offline for good.
  if (p.replicas == std::vector<broker_id>{b}) return settle(p, p, brokers, policy, false, no_leader);
  partition_state next = p;
  next.isr = without(p.isr, b);
  next.elr = without(p.elr, b);
  next.last_known_elr = without(p.last_known_elr, b);
  if (next.leader == b) next.leader = no_leader;
  return settle(p, next, brokers, policy, policy.unclean_election, /*lost=*/b);
}

change on_alter_isr(const partition_state& p, broker_id from, int32_t leader_epoch, int32_t partition_epoch,
                    const std::vector<std::pair<broker_id, int64_t>>& new_isr, const broker_view& brokers,
                    const partition_policy& policy) {
  if (from != p.leader) return refuse(p, change_error::not_leader_or_follower, "the sender does not lead");
  if (leader_epoch != p.leader_epoch)
    return refuse(
        p, change_error::fenced_leader_epoch,
        "leader epoch " + std::to_string(leader_epoch) + ", the partition is at " + std::to_string(p.leader_epoch));
  if (partition_epoch != p.partition_epoch)
    return refuse(p, change_error::invalid_update_version,
                  "partition epoch " + std::to_string(partition_epoch) + ", the partition is at " +
                      std::to_string(p.partition_epoch));
  std::set<broker_id> seen;
  for (const auto& [r, epoch] : new_isr) {
    if (!has(p.replicas, r) || !seen.insert(r).second)
      return refuse(p, change_error::invalid_request, "broker " + std::to_string(r) + " is not a replica, or twice");
    if (has(p.isr, r)) continue;
    if (!brokers.live(r))
      return refuse(p, change_error::ineligible_replica, "broker " + std::to_string(r) + " is not live");
    auto registered = brokers.epochs.find(r);
    if (registered == brokers.epochs.end() || registered->second != epoch)
      return refuse(p, change_error::ineligible_replica,
                    "broker " + std::to_string(r) + " fetched at broker epoch " + std::to_string(epoch) +
                        ", not its registration's");
  }
  if (!seen.count(p.leader)) return refuse(p, change_error::invalid_request, "the ISR must hold its leader");
  partition_state next = p;
  next.isr.clear();
  for (broker_id r : p.replicas)
    if (seen.count(r)) next.isr.push_back(r);
  return settle(p, next, brokers, policy, false);
}

change elect_preferred(const partition_state& p, const broker_view& brokers, const partition_policy& policy) {
  if (p.replicas.empty()) return refuse(p, change_error::invalid_request, "no replicas");
  const broker_id preferred = p.replicas.front();
  if (p.leader == preferred) return refuse(p, change_error::election_not_needed, "the preferred replica leads");
  if (!brokers.live(preferred) || !has(p.isr, preferred))
    return refuse(p, change_error::preferred_leader_not_available,
                  "replica " + std::to_string(preferred) + " is not live and in sync");
  partition_state next = p;
  next.leader = preferred;
  return settle(p, next, brokers, policy, false);
}

change elect_unclean(const partition_state& p, const broker_view& brokers, const partition_policy& policy) {
  if (p.leader != no_leader) return refuse(p, change_error::election_not_needed, "the partition has a leader");
  change out = settle(p, p, brokers, policy, true);
  if (out.next.leader == no_leader)
    return refuse(p, change_error::eligible_leaders_not_available, "no replica of the partition is live");
  return out;
}

bool has_eligible_leader(const partition_state& p, const broker_view& brokers) {
  for (broker_id r : p.isr)
    if (brokers.live(r)) return true;
  if (!p.isr.empty()) return false;
  for (broker_id r : p.elr)
    if (brokers.live(r)) return true;
  for (broker_id r : p.last_known_elr)
    if (brokers.live(r)) return true;
  return false;
}

std::string to_string(const partition_state& p) {
  auto list = [](const std::vector<broker_id>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
  };
  return "leader " + std::to_string(p.leader) + " epoch " + std::to_string(p.leader_epoch) + "/" +
         std::to_string(p.partition_epoch) + " replicas " + list(p.replicas) + " isr " + list(p.isr) + " elr " +
         list(p.elr) + " lkelr " + list(p.last_known_elr);
}

}  // namespace mosaic::replication
