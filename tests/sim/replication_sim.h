// The replication simulation: a controller (the pure rules of
// `kernel/replication/partition_state.h`) and brokers, each with a
// `replication::replica` per partition over a memory log, on a simulated
// network, driven by one seeded scheduler on a virtual clock. A seed fixes
// everything: brokers, partitions, min ISR, the network's loss, delays and
// cuts, crashes that lose what a log had not flushed, pauses, restarts, and
// a producer with acks=all on each partition. A run is a pure function of
// its seed.
//
// Checked while it runs: at most one leader per partition and leader epoch;
// the high watermark never moves back on a leader; a new leader holds every
// offset any leader had committed (KIP-966's guarantee, also when the ISR
// emptied and the leader came from the ELR or was the last known leader);
// no two acknowledged records share an offset. Checked at the end, after
// the network heals and every broker is back: each partition that still has
// an eligible replica elects a leader and acknowledges a new record, and
// every record acknowledged before is in its log, at its offset, in order.
#pragma once

#include <cstdint>
#include <string>

namespace mosaic::sim {

struct replication_sim_options {
  uint64_t seed = 0;
  int64_t chaos_ms = 4000;
  int64_t heal_ms = 8000;
  bool trace = false;
};

struct replication_sim_stats {
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t dropped = 0;
  uint64_t acked = 0;    // records acknowledged with acks=all
  uint64_t refused = 0;  // produce answers with an error
  uint64_t crashes = 0;
  uint64_t lost_unflushed = 0;  // crashes that cut a log's unflushed tail
  uint64_t pauses = 0;
  uint64_t leader_changes = 0;
  uint64_t elr_elections = 0;  // a leader chosen from the ELR or the last known ELR
  uint64_t isr_shrinks = 0;
  uint64_t isr_expands = 0;
  uint64_t truncations = 0;     // follower truncations on a diverging epoch
  uint64_t offline_at_end = 0;  // partitions left with no eligible replica
};

struct replication_sim_result {
  bool ok = true;
  std::string failure;
  uint64_t trace_hash = 0;
  replication_sim_stats stats;
};

replication_sim_result run_replication_simulation(const replication_sim_options& opts);

}  // namespace mosaic::sim
