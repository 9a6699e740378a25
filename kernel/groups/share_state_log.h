// The share-state records: per share-partition a snapshot (start offset,
// in-flight state runs and the leader epoch that wrote it, as Kafka's
// ShareSnapshot) and, in logs of earlier versions, updates laid over it
// (ShareUpdate); per share group its epoch and configs. Keyed records on a
// keyed_log, like the group log (group_log.h): a type byte and the key
// fields in the record key, a version byte and the fields in the value,
// big-endian. The share coordinator keeps snapshots in the partitions of
// `__share_group_state` (detached: it writes what `take` gives through the
// replicated produce path); the share manager keeps group records in a log
// of its own (`__share_groups-0`).
//
// Threading: used by the share manager's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kernel/base/bytes.h"
#include "kernel/base/status.h"
#include "kernel/groups/keyed_log.h"
#include "kernel/groups/share_configs.h"
#include "kernel/groups/share_partition.h"
#include "kernel/groups/state.h"

namespace mosaic::groups {

// A share-partition: the group and the topic-partition it reads.
struct sp_key {
  std::string group;
  uuid topic{};
  int32_t partition = 0;
  bool operator<(const sp_key& o) const {
    return std::tie(group, topic, partition) < std::tie(o.group, o.topic, o.partition);
  }
};

// State runs as the records (and the share coordinator's frames) carry
// them; `read_runs` throws truncated_input on a malformed one.
void write_runs(byte_writer& w, const std::vector<state_batch>& runs);
std::vector<state_batch> read_runs(byte_reader& r);

class share_state_log {
 public:
  explicit share_state_log(log::partition_log* log) : log_(log, "share-group log") {}
  // Detached: read with `read`, written through `take`.
  share_state_log() : log_("share-state partition") {}

  // What `load` finds, record by record in log order.
  struct visitor {
    // `topics`: those the group was assigned (whose share-partitions may
    // have state with the share coordinator); none in an earlier version's.
    std::function<void(const std::string& group, int32_t epoch, share_overrides configs, std::set<uuid> topics)> group;
    std::function<void(const std::string& group)> group_deleted;
    // A snapshot replaces the share-partition's state; an update is laid
    // over it (and is ignored by the owner when there is no snapshot).
    // A snapshot of an earlier version has epochs -1.
    std::function<void(const sp_key& k, int64_t start, std::vector<state_batch> runs, int32_t leader_epoch,
                       int32_t state_epoch)>
        snapshot;
    std::function<void(const sp_key& k, int64_t start, std::vector<state_batch> runs)> update;
    std::function<void(const sp_key& k)> partition_deleted;
  };
  // Reads the whole log; the number of records read.
  result<size_t> load(const visitor& v);
  // The same over the chunks `scan` gives (detached).
  result<size_t> read(const keyed_log::scanner& scan, const visitor& v) const;
  // The queued records as record batches (detached).
  std::vector<uint8_t> take() { return log_.take(); }

  void put_group(const std::string& group, int32_t epoch, const share_overrides& configs,
                 const std::set<uuid>& topics = {});
  void delete_group(const std::string& group);
  // A snapshot also deletes the updates laid over the previous one.
  void put_snapshot(const sp_key& k, int64_t start, const std::vector<state_batch>& runs);
  // A snapshot with the epochs it was written at (the share coordinator's).
  void put_state(const sp_key& k, int64_t start, const std::vector<state_batch>& runs, int32_t leader_epoch,
                 int32_t state_epoch);
  void put_update(const sp_key& k, int64_t start, const std::vector<state_batch>& runs);
  void delete_partition(const sp_key& k);

  bool pending() const noexcept { return log_.pending(); }
  status flush() { return log_.flush(); }
  bool wants_compaction() const { return log_.wants_compaction(); }
  status compact(const std::function<void()>& write_all) { return log_.compact(write_all); }

 private:
  keyed_log log_;
};

}  // namespace mosaic::groups
