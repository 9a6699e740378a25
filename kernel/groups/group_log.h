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
// commit); a request is answered after the flush that carries its records.
//
// Compaction: once the log holds much more than the live state, `compact`
// writes the live state again and deletes the segments wholly below it.
//
// Threading: used by the coordinator's thread only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/groups/state.h"
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
  explicit group_log(log::partition_log* log) : log_(log) {}

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

  bool pending() const noexcept { return !pending_.empty(); }
  // Appends what is queued and waits until it is on disk.
  status flush();

  // True when the log is several times larger than the state last written
  // by `compact` and has grown by a segment since.
  bool wants_compaction() const;
  // Writes the live state (`write_all` queues it with the put_ calls), then
  // deletes the segments wholly below where that copy starts.
  status compact(const std::function<void()>& write_all);

  uint64_t bytes_written() const noexcept { return written_; }

 private:
  struct entry {
    std::vector<uint8_t> key;
    std::optional<std::vector<uint8_t>> value;
  };
  log::partition_log* log_;
  void put_value(uint8_t type, const std::string& group, std::vector<uint8_t> value, bool force);

  std::vector<entry> pending_;
  std::map<std::string, size_t> last_written_;  // group -> hash of its last record
  uint64_t written_ = 0;
  uint64_t live_bytes_ = 0;  // the size of the last full copy (or of the log at load)
};

}  // namespace mosaic::groups
