// The in-memory transport for tests: nodes hand it frames, it delivers them
// on a virtual clock, and it can be told to misbehave the way real networks
// do: drop, delay, duplicate and reorder frames, and partition nodes from
// one another. Every choice comes from one seeded generator, so a run is a
// pure function of its seed and the order of calls (the Raft simulation in
// tests/sim relies on that to replay a failing seed).
//
// Threading: none; one thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace mosaic::rpc {

struct network_faults {
  double drop = 0;        // probability a frame is lost
  double duplicate = 0;   // probability a frame is delivered twice
  int64_t min_delay = 1;  // delivery delay, uniform in [min, max] (virtual time units)
  int64_t max_delay = 1;
};

struct delivery {
  int64_t at = 0;
  int32_t from = -1;
  int32_t to = -1;
  std::vector<uint8_t> frame;
};

class memory_network {
 public:
  explicit memory_network(uint64_t seed) : rng_(seed) {}

  void set_faults(const network_faults& f) { faults_ = f; }
  const network_faults& faults() const { return faults_; }

  // Frames between nodes of different groups are dropped (in both
  // directions) until `heal`. A node in no group can talk to no one.
  void partition(const std::vector<std::vector<int32_t>>& groups);
  // Cuts one direction only: `from` can no longer reach `to`.
  void cut(int32_t from, int32_t to) { cut_.insert({from, to}); }
  void heal();
  bool connected(int32_t from, int32_t to) const;

  // Takes a frame sent at `now`.
  void send(int64_t now, int32_t from, int32_t to, std::vector<uint8_t> frame);
  // Drops every frame in flight to or from `node` (it crashed).
  void forget(int32_t node);

  // The time of the next delivery, or -1 if nothing is in flight.
  int64_t next_time() const { return queue_.empty() ? -1 : queue_.begin()->first.first; }
  // Removes and returns the deliveries due at or before `now`, in order.
  std::vector<delivery> take_due(int64_t now);
  size_t in_flight() const { return queue_.size(); }
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  bool chance(double p);
  void enqueue(int64_t at, delivery d);

  std::mt19937_64 rng_;
  network_faults faults_;
  bool partitioned_ = false;
  std::map<int32_t, int> group_of_;
  std::set<std::pair<int32_t, int32_t>> cut_;
  std::map<std::pair<int64_t, uint64_t>, delivery> queue_;  // (time, sequence)
  uint64_t seq_ = 0;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace mosaic::rpc
