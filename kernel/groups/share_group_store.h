// Where share groups live: their records in the partitions of
// `__consumer_offsets`, beside the consumer groups', served by the broker
// that leads the group's partition (its coordinator, as FindCoordinator
// answers), as Kafka keeps its ShareGroup* records.
//
// The share manager is the group coordinator of share groups: it serves
// their heartbeats, descriptions and offsets administration only for the
// partitions this store has loaded, and takes their groups up and drops
// them as leadership comes and goes:
//
// - a partition newly led is read (on a loader thread) for its share
//   groups' records, handed to `on_load`; meanwhile its groups' requests
//   get COORDINATOR_LOAD_IN_PROGRESS;
// - a partition no longer led, or led at another leader epoch, is dropped
//   (`on_unload`): its groups' members find the new coordinator with
//   FindCoordinator after a NOT_COORDINATOR;
// - a group's record is written with acks=all at the epoch the partition
//   was loaded at, so it never lands in a term whose state was not read;
//   a write that fails is made again a second later while the partition
//   is still loaded here.
//
// Records are the group log's share-group records (`group_log.h`); the
// group coordinator passes over them when it loads the same partition.
//
// Threading: the share manager's thread only; loads and write completions
// come back through `post`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/groups/group_io.h"
#include "kernel/groups/group_log.h"
#include "kernel/groups/keyed_log.h"
#include "mosaic/sdk/task_queue.h"

namespace mosaic::groups {

class share_group_store {
 public:
  using post_fn = std::function<void(std::function<void()>)>;
  using clock = std::chrono::steady_clock;

  share_group_store(group_io* io, int32_t commit_timeout_ms, post_fn post);
  ~share_group_store();
  share_group_store(const share_group_store&) = delete;
  share_group_store& operator=(const share_group_store&) = delete;
  // Stops the loader thread (before the owner's thread goes).
  void stop();

  // None when this broker serves `group` now; COORDINATOR_LOAD_IN_PROGRESS
  // while it takes the group's partition up; NOT_COORDINATOR otherwise.
  adapter::error gate(const std::string& group);
  int32_t partition_of(const std::string& group) const;

  // Queue a group's record (or its deletion) in its partition, if loaded;
  // written by `flush`.
  void put(const std::string& group, const stored_share_group& g);
  void erase(const std::string& group);
  // The end of the owner's round: each partition's queued records appended
  // (the partitions at once, not waited for), and failed ones again once
  // due. `waiter` is asked for a callback for each partition with records
  // queued, called once the write that carries them is answered (or has
  // failed, or the partition is dropped): the round's answers wait for it.
  void flush(clock::time_point now, const std::function<std::function<void()>()>& waiter);

  // Loads the partitions this broker has come to lead, drops the others.
  void sync_leadership();

  // A partition's share groups, read (the owner takes them up).
  std::function<void(int32_t p, std::map<std::string, stored_share_group> groups)> on_load;
  // A partition dropped: the owner forgets its groups.
  std::function<void(int32_t p)> on_unload;

 private:
  struct shard {
    int32_t epoch = -1;
    keyed_log log{"share-group records"};
    // The latest record of each group, none for a deletion not yet
    // written: what a failed write makes again.
    std::map<std::string, std::optional<stored_share_group>> latest;
    // Groups whose latest record is not known written, with the number of
    // that record (a write answered clears those it carried).
    std::map<std::string, uint64_t> unwritten;
    uint64_t seq = 0;
    bool writing = false;
    std::vector<std::function<void()>> waiting;  // for the records queued (see `flush`)
    clock::time_point retry_at = clock::time_point::max();
  };
  struct load_under_way {
    int32_t epoch = -1;
    uint64_t id = 0;
  };
  struct loaded;
  void start_load(int32_t p, int32_t epoch);
  void install(int32_t p, int32_t epoch, uint64_t id, const std::shared_ptr<loaded>& l);
  void unload(int32_t p, const char* why);
  void write(int32_t p, shard& sh);
  void written(int32_t p, int32_t epoch, const std::map<std::string, uint64_t>& carried, bool ok,
               const std::string& why, const std::vector<std::function<void()>>& waiters);
  void queue(const std::string& group, std::optional<stored_share_group> g);

  group_io* io_;
  int32_t commit_timeout_ms_;
  post_fn post_;
  int32_t partitions_ = 0;
  std::map<int32_t, shard> shards_;
  std::map<int32_t, load_under_way> loading_;
  uint64_t next_id_ = 1;
  sdk::task_queue loader_;
};

}  // namespace mosaic::groups
