// The Raft simulation: N `raft::node`s, each with a `memory_storage`, on an
// `rpc::memory_network`, driven by a seeded scheduler on a virtual clock.
// One seed fixes everything: the cluster's size, the network's faults, the
// schedule of partitions, crashes (which lose a random part of what was not
// yet synced), restarts, leadership transfers, membership changes, client
// writes and linearizable reads. A run is a pure function of its seed.
//
// Every message goes through the wire encoding, so the codec is exercised
// by every seed too.
//
// Checked while it runs: at most one leader per term; log matching; leader
// completeness (a new leader holds every committed entry); state-machine
// safety (every node applies the same entry at each index, and a snapshot
// carries the same state as the entries it replaced); commit never moves
// back; reads by read index see every write acknowledged before them.
// Checked at the end: once the network heals and every node is back, a
// leader is elected and a new command commits on every voter in time.
#pragma once

#include <cstdint>
#include <string>

namespace mosaic::sim {

struct sim_options {
  uint64_t seed = 0;
  int64_t chaos_ms = 3000;  // virtual time with faults
  int64_t heal_ms = 6000;   // then this long to elect and commit on a healed network
  bool trace = false;       // print every event (for replaying a failing seed)
};

struct sim_stats {
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t dropped = 0;
  uint64_t elections = 0;  // distinct (term, leader) pairs
  uint64_t committed = 0;  // the highest commit index reached
  uint64_t acked_writes = 0;
  uint64_t reads = 0;
  uint64_t crashes = 0;
  uint64_t snapshots_installed = 0;
  uint64_t config_changes = 0;
  uint64_t transfers = 0;
  uint64_t observers_added = 0;
};

struct sim_result {
  bool ok = true;
  std::string failure;      // the broken invariant, with the virtual time
  uint64_t trace_hash = 0;  // of every delivered frame, in order: equal runs give equal hashes
  sim_stats stats;
};

sim_result run_simulation(const sim_options& opts);

}  // namespace mosaic::sim
