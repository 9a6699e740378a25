// The share coordinator (KIP-932): the durable state of share-partitions,
// kept in the partitions of the internal topic `__share_group_state`
// (`share.coordinator.state.topic.num.partitions`, 50, of
// `share.coordinator.state.topic.replication.factor`, 3, replicas), and
// served by the broker that leads each partition. A share-partition's
// state lives in partition `abs(hashCode("group:topicId:partition")) % N`,
// the key Kafka's share coordinator hashes.
//
// Two halves, both on the share manager's thread:
//
// - `share_coordinator` holds the state of the partitions this broker
//   leads: loaded when leadership comes (requests meanwhile get
//   COORDINATOR_LOAD_IN_PROGRESS), dropped when it goes. Each state is one
//   snapshot record (start offset, in-flight runs, the leader epoch and
//   state epoch it was written at); a write is answered once replicated
//   (acks=all at the epoch the partition was loaded at). Kafka's
//   ReadShareGroupState, WriteShareGroupState, InitializeShareGroupState
//   and DeleteShareGroupState are its four operations. Fencing as Kafka's:
//   a write or read of an older leader epoch than the state's is
//   FENCED_LEADER_EPOCH, a write of another state epoch (the offsets were
//   altered or deleted since it read) FENCED_STATE_EPOCH.
// - `share_state_client` is how a share-partition leader reaches the
//   coordinator of a key: a direct call when this broker leads the key's
//   partition, otherwise a frame to the broker that does, on the
//   replication port (kinds 40 and 41: `share_state_wire`), answered or
//   timed out.
//
// Threading: the share manager's thread only; frames and write completions
// arrive through `post`.
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

#include "kernel/config/broker_config.h"
#include "kernel/groups/group_io.h"
#include "kernel/groups/share_state_log.h"
#include "mosaic/sdk/task_queue.h"

namespace mosaic::groups {

inline constexpr const char* share_state_topic_name = "__share_group_state";

// One share-partition's persisted state.
struct persisted_share {
  int64_t start = 0;
  std::vector<state_batch> runs;
  int32_t leader_epoch = -1;  // of the partition leader that last read or wrote it
  int32_t state_epoch = 0;    // moves when the state is replaced (offsets altered)
};

enum class share_state_op : uint8_t {
  read = 0,     // the state; with a leader epoch >= 0, that epoch is taken up (and fences older ones)
  write = 1,    // the partition leader's new state
  replace = 2,  // an administrator's new start: the state epoch moves, every leader re-reads
  erase = 3,    // the state deleted (its group or topic's offsets deleted)
};

struct share_state_request {
  share_state_op op = share_state_op::read;
  sp_key key;
  int32_t leader_epoch = -1;
  int32_t state_epoch = 0;
  persisted_share state;  // write, replace
};

struct share_state_answer {
  adapter::error code = adapter::error::none;
  std::optional<persisted_share> state;  // read: nullopt when there is none
};

using share_state_done = std::function<void(share_state_answer)>;
using post_fn = std::function<void(std::function<void()>)>;

// The coordinator key of a share-partition, as Kafka writes it.
std::string share_coordinator_key(const sp_key& k);

class share_coordinator {
 public:
  share_coordinator(group_io* io, const config::group_settings* cfg, post_fn post);
  ~share_coordinator();
  share_coordinator(const share_coordinator&) = delete;
  share_coordinator& operator=(const share_coordinator&) = delete;
  // Stops the loader thread (before the owner's thread goes).
  void stop();

  // Serves one request for a key of a partition this broker leads (else
  // NOT_COORDINATOR, or COORDINATOR_LOAD_IN_PROGRESS while loading). A
  // write is answered once replicated, by `flush`.
  void serve(const share_state_request& req, share_state_done done);
  // The end of the owner's round: each partition's queued records appended
  // (acks=all, the partitions at once, not waited for here).
  void flush();
  // Loads the partitions this broker has come to lead, drops the others.
  void sync_leadership();
  // Group records found in partitions written by earlier versions (one
  // broker-local log held groups and share-partitions alike).
  std::function<void(const std::string& group, int32_t epoch, share_overrides configs)> on_legacy_group;

 private:
  struct shard;
  struct loaded;
  struct pending_answer {
    share_state_done done;
    share_state_answer answer;
  };
  adapter::error gate(int32_t p);
  void start_load(int32_t p, int32_t epoch);
  void install(int32_t p, int32_t epoch, uint64_t id, const std::shared_ptr<loaded>& l);
  void unload(int32_t p, const char* why);
  void adopt_strays(shard& home, int32_t p);
  void written(int32_t p, const adapter::produce_result& r, std::vector<pending_answer> answers);
  int32_t partition_of(const sp_key& k) const;

  group_io* io_;
  const config::group_settings* cfg_;
  post_fn post_;
  int32_t partitions_ = 0;
  std::map<int32_t, shard> shards_;
  struct load_under_way {
    int32_t epoch = -1;
    uint64_t id = 0;
  };
  std::map<int32_t, load_under_way> loading_;
  uint64_t next_id_ = 1;
  // Keys found in a partition they do not hash to (a log of an earlier
  // version): by key, the partition they are in and their state.
  std::map<sp_key, std::pair<int32_t, persisted_share>> strays_;
  sdk::task_queue loader_;
};

// The frames between brokers: a request (kind 40) and its answer (kind
// 41), numbered by the sender.
namespace share_state_wire {
inline constexpr int16_t request_kind = 40;
inline constexpr int16_t answer_kind = 41;
std::vector<uint8_t> encode_request(uint64_t id, const share_state_request& req);
std::vector<uint8_t> encode_answer(uint64_t id, const share_state_answer& a);
// Throw truncated_input on a malformed body.
share_state_request decode_request(std::span<const uint8_t> body, uint64_t& id);
share_state_answer decode_answer(std::span<const uint8_t> body, uint64_t& id);
}  // namespace share_state_wire

class share_state_client {
 public:
  share_state_client(group_io* io, const config::group_settings* cfg, int32_t self, share_coordinator* local);

  // Sends `req` to the coordinator of its key: here, or to the broker that
  // leads the key's partition. Answered once (on the owner's thread): by
  // the coordinator, or REQUEST_TIMED_OUT / COORDINATOR_NOT_AVAILABLE.
  void call(const share_state_request& req, share_state_done done);
  // A frame from another broker: a request to serve, or an answer.
  void on_frame(int32_t from, int16_t kind, std::span<const uint8_t> body);
  // Answers the calls whose time ran out (REQUEST_TIMED_OUT), and those
  // whose partition another broker leads by now (NOT_COORDINATOR: asked
  // again there, not waited for from a broker that may be dead).
  void expire(std::chrono::steady_clock::time_point now);
  // The topic, made at first need; nullopt (with the reason) when it
  // cannot be made now.
  std::optional<adapter::topic_info> state_topic(std::string& why);

 private:
  struct waiting {
    share_state_done done;
    std::chrono::steady_clock::time_point deadline;
    int32_t to = -1;       // the broker asked
    size_t partition = 0;  // of the state topic, which it led
  };
  group_io* io_;
  const config::group_settings* cfg_;
  int32_t self_;
  share_coordinator* local_;
  std::map<uint64_t, waiting> waiting_;
  uint64_t next_id_ = 1;
};

}  // namespace mosaic::groups
