// The group coordinator's log: committed offsets and group state as keyed
// records in a partition of the internal topic `__consumer_offsets` (one
// group_log per partition the coordinator leads), the later record of a key
// replacing the earlier one and a null value deleting it, as in Kafka's
// compacted __consumer_offsets (the topic's cleanup.policy is compact, so
// the log cleaner keeps it small on every replica). The records' fields
// follow Kafka's group-coordinator records (OffsetCommit, GroupMetadata,
// ConsumerGroup*, and ShareGroupMetadata for the share manager's records,
// which the coordinator passes over); the encoding is Mosaic's own: a type byte and the key
// fields in the record key, a version byte and the fields in the value,
// big-endian (kernel/base/bytes.h).
//
// Writes are queued while the coordinator handles a round of requests and
// taken as record batches at its end (`take`), which the coordinator
// appends through the replicated produce path; a request is answered once
// the batches that carry its records are replicated.
//
// Threading: used by the coordinator's thread only.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/groups/classic_group.h"
#include "kernel/groups/consumer_group.h"
#include "kernel/groups/keyed_log.h"

namespace mosaic::groups {

struct loaded_state {
  std::map<std::string, std::map<offset_key, committed>> offsets;  // by group
  std::map<std::string, classic_group> classic;
  std::map<std::string, consumer_group> consumer;
  size_t records = 0;
};

// A share group's record (the share manager's, share_group_store.h): its
// epoch and the topics it was ever assigned (whose share-partitions may
// have state with the share coordinator), as Kafka's ShareGroupMetadata
// and ShareGroupStatePartitionMetadata. Its members are not kept.
struct stored_share_group {
  int32_t epoch = 0;
  std::set<uuid> topics;
};
std::vector<uint8_t> share_group_key(const std::string& group);
std::vector<uint8_t> encode_share_group(const stored_share_group& g);
// False when the record is not a share group's; otherwise its group and
// its value (none: deleted). Throws truncated_input on a malformed one.
bool read_share_group(std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value,
                      std::string& group, std::optional<stored_share_group>& g);

class group_log {
 public:
  group_log() : log_("group log") {}

  // Reads the log `scan` gives into `out`.
  status load(const keyed_log::scanner& scan, loaded_state& out);

  void put_offset(const std::string& group, const offset_key& key, const committed& c);
  void delete_offset(const std::string& group, const offset_key& key);
  // A group's record is written only when it differs from the one last
  // written for the group (most heartbeats change nothing); `force` writes
  // it anyway (compaction).
  void put_group(const classic_group& g, bool force = false);
  void put_group(const consumer_group& g, bool force = false);
  void delete_group(const std::string& group);  // both kinds

  bool pending() const noexcept { return log_.pending(); }
  // The queued records as record batches.
  std::vector<uint8_t> take() { return log_.take(); }

  uint64_t bytes_written() const noexcept { return log_.bytes_written(); }

 private:
  void put_value(uint8_t type, const std::string& group, std::vector<uint8_t> value, bool force);

  keyed_log log_;
  std::map<std::string, size_t> last_written_;  // group -> hash of its last record
};

}  // namespace mosaic::groups
