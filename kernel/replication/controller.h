// The controller's decisions as metadata records: which brokers are fenced,
// and how each partition changes when they are. Pure functions of the
// metadata image and what the caller observed (which brokers it has heard
// from), built on the per-partition rules of `partition_state.h`; the shell
// proposes what they return, and the metadata log applies it only on the
// state it was decided from (a partition change names the partition epoch
// it follows), so a decision made on a stale image is refused, never
// applied twice.
//
// - `reconcile` is the active controller's periodic pass: a broker not
//   heard from within the session timeout is fenced; a fenced one heard
//   from again (and not shutting down) is unfenced; then every partition is
//   brought in line with who is live: a fenced replica leaves the ISR (and
//   the leadership), a partition without a leader elects one when a replica
//   is eligible. Level-triggered: a pass whose proposal lost a race is
//   simply made again on the newer image.
// - `registration_records` is what a broker proposes when it starts: its record
//   (fenced until the controller hears from it) and, in the same entry, its
//   removal from every ISR, ELR and last known ELR (KIP-966's unclean
//   shutdown), since whatever its log had not flushed may be gone.
// - `controlled_shutdown_records` is what a broker proposes before it stops: fenced
//   for shutdown, and every partition it leads handed to another replica.
// - `place` assigns a new partition's replicas (rack-aware).
//
// Threading: none.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/metadata/image.h"
#include "kernel/replication/partition_state.h"

namespace mosaic::replication {

struct controller_settings {
  int default_min_insync = 1;             // min.insync.replicas (a topic's own value wins)
  bool default_unclean_election = false;  // unclean.leader.election.enable (likewise)
};

// Who the controller has heard from within the session timeout. `self` is
// always heard; a broker in `unknown` (the controller has not been active
// long enough to tell) is neither fenced nor unfenced.
struct contact {
  int32_t self = -1;
  std::set<int32_t> heard;
  std::set<int32_t> unknown;
};

partition_policy policy_for(const metadata::topic_state& t, const controller_settings& s);
broker_view view_of(const metadata::image& img);
partition_state to_state(const metadata::partition_record& p);
metadata::partition_record to_record(const metadata::partition_record& base, const partition_state& s);

std::vector<metadata::record> reconcile(const metadata::image& img, const contact& c, const controller_settings& s);

std::vector<metadata::record> registration_records(const metadata::image& img, const metadata::broker_record& b,
                                                   const controller_settings& s);

std::vector<metadata::record> controlled_shutdown_records(const metadata::image& img, int32_t self, int64_t epoch,
                                                          const controller_settings& s);

// A decision on one partition asked for by an operator: the record that
// carries it out (none: nothing to change), or why not.
struct decision {
  change_error error = change_error::none;
  std::string message;
  std::optional<metadata::partition_record> record;
};

// AlterPartitionReassignments for one partition: `target` replicas, or
// none to cancel the reassignment under way. The change that starts it:
// the partition's replicas become the target followed by the current ones
// not in it, `adding` the target's new ones, `removing` the ones to go. The
// new replicas fetch like any follower; `reconcile` completes the
// reassignment once every one of them is in the ISR (the replicas become
// the target, a leader that is leaving hands over). A target that adds
// nothing completes at once. Errors: UNKNOWN_TOPIC_OR_PARTITION,
// INVALID_REPLICA_ASSIGNMENT (empty, a duplicate, an unregistered broker),
// NO_REASSIGNMENT_IN_PROGRESS (a cancel with nothing to cancel).
decision reassign(const metadata::image& img, const std::string& topic, int32_t partition,
                  const std::optional<std::vector<int32_t>>& target);

// ElectLeaders for one partition: the preferred replica (`elect_preferred`)
// or, with `unclean`, any live one (`elect_unclean`); ELECTION_NOT_NEEDED
// when the leader would not change.
decision elect(const metadata::image& img, const std::string& topic, int32_t partition, bool unclean,
               const controller_settings& s);

// Automatic preferred-leader balancing (auto.leader.rebalance.enable): for
// each broker whose share of partitions it is the preferred replica of
// but does not lead is over `imbalance_percent`
// (leader.imbalance.per.broker.percentage), a preferred election for each
// of those where it is live and in sync.
std::vector<metadata::record> preferred_elections(const metadata::image& img, int imbalance_percent,
                                                  const controller_settings& s);

// Replicas for `count` new partitions numbered from `first`, `factor` each,
// over `brokers` (id and rack; unfenced ones). Racks alternate, so a
// partition's replicas span as many racks as there are; leaders (the first
// replica) rotate over the brokers from `offset`. Empty when `factor` is
// more than the brokers.
struct broker_place {
  int32_t id = -1;
  std::optional<std::string> rack;
};
std::vector<std::vector<int32_t>> place(const std::vector<broker_place>& brokers, int32_t first, int32_t count,
                                        int32_t factor, uint32_t offset);

}  // namespace mosaic::replication
