// The controller's side of replication: a partition's replicas, leader,
// epochs, ISR and eligible leader replicas (KIP-966), and the pure rules
// that change them. Each function takes the partition as the metadata has
// it and what happened (a broker fenced, an AlterPartition from the leader,
// an election asked for), and returns the partition as it must be next, or
// an error and no change. The active controller turns a change into a
// metadata record (Kafka's PartitionChangeRecord is the model); every
// broker applies the records in log order, so every broker agrees.
//
// Epochs: the leader epoch moves when the leader changes (or the partition
// loses its leader); the partition epoch moves on every change, so a
// request built on an older state (an AlterPartition, say) is refused.
//
// Threading: none; these are functions of their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/adapter/broker.h"

namespace mosaic::replication {

using broker_id = int32_t;
inline constexpr broker_id no_leader = -1;

struct partition_state {
  std::vector<broker_id> replicas;        // the assignment; replicas[0] is the preferred leader
  std::vector<broker_id> isr;             // in sync: has every committed offset
  std::vector<broker_id> elr;             // eligible: was in the ISR when it fell below min ISR
  std::vector<broker_id> last_known_elr;  // the last leader when nothing else is eligible
  broker_id leader = no_leader;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  bool operator==(const partition_state&) const = default;
};

// What the controller knows of the brokers when it decides. A broker back
// from an unclean shutdown is first taken out of every partition's ISR, ELR
// and last known ELR (`on_unclean_restart`), so the sets themselves only
// ever name replicas that hold every committed offset.
struct broker_view {
  std::set<broker_id> unfenced;         // registered, heartbeating, not shutting down
  std::map<broker_id, int64_t> epochs;  // each broker's registration (its incarnation)
  bool live(broker_id b) const { return unfenced.count(b) != 0; }
};

struct partition_policy {
  int min_insync = 1;             // min.insync.replicas
  bool unclean_election = false;  // unclean.leader.election.enable
};

// Answers carry Kafka's error codes, from the one error table the broker
// API has (`mosaic/adapter/broker.h`).
using change_error = adapter::error;

struct change {
  change_error error = change_error::none;
  std::string message;
  partition_state next;  // the new state (== the old one when error or nothing changed)
  bool changed = false;
  bool unclean = false;  // the leader was chosen by an unclean election
};

// A new partition on `replicas`: the first live one leads, the live ones
// are the ISR.
partition_state initial_state(const std::vector<broker_id>& replicas, const broker_view& brokers);

// A broker stopped being live (its session expired, it is shutting down, or
// it was fenced): it leaves the ISR, and a new leader is chosen if it led.
change on_broker_gone(const partition_state& p, broker_id b, const broker_view& brokers,
                      const partition_policy& policy);

// A broker is live again: a partition without a leader may elect it (or
// another replica that is eligible now).
change on_broker_back(const partition_state& p, const broker_view& brokers, const partition_policy& policy);

// A broker re-registered after an unclean shutdown: it leaves the ISR, the
// ELR and the last known ELR (its log may lack committed records).
change on_unclean_restart(const partition_state& p, broker_id b, const broker_view& brokers,
                          const partition_policy& policy);

// AlterPartition: the leader `from`, at `leader_epoch` and
// `partition_epoch`, asks for `new_isr`, each member with the broker epoch
// the leader saw it fetch with. Refused (and nothing changes) when the
// epochs are not the partition's, the sender does not lead, the ISR leaves
// out the leader or names a replica not assigned, or adds one that is not
// live or whose broker epoch is not its registration's (KIP-903: what an
// earlier incarnation fetched says nothing of what a restarted broker has).
change on_alter_isr(const partition_state& p, broker_id from, int32_t leader_epoch, int32_t partition_epoch,
                    const std::vector<std::pair<broker_id, int64_t>>& new_isr, const broker_view& brokers,
                    const partition_policy& policy);

// ElectLeaders: the preferred replica when it is live and in the ISR; or an
// unclean election (any live replica) when the partition has no leader and
// no replica is eligible.
change elect_preferred(const partition_state& p, const broker_view& brokers, const partition_policy& policy);
change elect_unclean(const partition_state& p, const broker_view& brokers, const partition_policy& policy);

// Whether `p` could elect a leader without an unclean election.
bool has_eligible_leader(const partition_state& p, const broker_view& brokers);

std::string to_string(const partition_state& p);

}  // namespace mosaic::replication
