// The group coordinator's log: committed offsets and group state as keyed
// records in an internal partition (`__consumer_offsets-0`, never listed as
// a topic), the later record of a key replacing the earlier one and a null
// value deleting it, as in Kafka's compacted __consumer_offsets. The
// records' fields follow Kafka's group-coordinator records (OffsetCommit,
// GroupMetadata, ConsumerGroup*); the encoding is Mosaic's own: a type byte
// and the key fields in the record key, a version byte and the fields in
// the value, big-endian (kernel/base/bytes.h).
//
// Writes are queued by the coordinator while it handles a round of
// requests and written by `flush` as one append and one fsync (group
// commit, keyed_log.h); a request is answered after the flush that carries
// its records.
//
// Threading: used by the coordinator's thread only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/groups/classic_group.h"
#include "kernel/groups/consumer_group.h"
#include "kernel/groups/keyed_log.h"
#include "kernel/log/partition_log.h"

namespace mosaic::groups {

struct loaded_state {
  std::map<std::string, std::map<offset_key, committed>> offsets;  // by group
  std::map<std::string, classic_group> classic;
  std::map<std::string, consumer_group> consumer;
  size_t records = 0;
};

class group_log {
 public:
  explicit group_log(log::partition_log* log) : log_(log, "group log") {}

  // Reads the whole log into `out`.
  status load(loaded_state& out);

  void put_offset(const std::string& group, const offset_key& key, const committed& c);
  void delete_offset(const std::string& group, const offset_key& key);
  // A group's record is written only when it differs from the one last
  // written for the group (most heartbeats change nothing); `force` writes
  // it anyway (compaction).
  void put_group(const classic_group& g, bool force = false);
  void put_group(const consumer_group& g, bool force = false);
  void delete_group(const std::string& group);  // both kinds

  bool pending() const noexcept { return log_.pending(); }
  status flush() { return log_.flush(); }
  bool wants_compaction() const { return log_.wants_compaction(); }
  status compact(const std::function<void()>& write_all) { return log_.compact(write_all); }

  uint64_t bytes_written() const noexcept { return log_.bytes_written(); }

 private:
  void put_value(uint8_t type, const std::string& group, std::vector<uint8_t> value, bool force);

  keyed_log log_;
  std::map<std::string, size_t> last_written_;  // group -> hash of its last record
};

}  // namespace mosaic::groups
