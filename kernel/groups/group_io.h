// What the group coordinator and the share manager need of the broker,
// and nothing more: the topics, reading a partition, writing a record
// batch. kernel/app lends both the same one, over the broker service
// (app/group_io.cc); the group kinds themselves see none of it.
//
// Threading: any thread; `read` and `write` answer on a broker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/groups/state.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::groups {

class group_io {
 public:
  virtual ~group_io() = default;

  // ---- topics ----
  virtual std::vector<adapter::topic_info> topics() const = 0;
  // Every topic's summary, by name; one list shared by every caller until
  // the metadata changes, so a heartbeat neither copies the cluster's
  // partitions nor holds the metadata's lock while it does.
  virtual std::shared_ptr<const topic_summaries> summaries() const = 0;
  virtual std::optional<adapter::topic_info> find_topic(const std::string& name) const = 0;
  virtual std::optional<adapter::topic_info> find_topic(const adapter::uuid& id) const = 0;
  // Makes a topic of `partitions` partitions if there is none by that name
  // (dead-letter topics, when they may be created); the topic, if there is
  // one after.
  virtual std::optional<adapter::topic_info> ensure_topic(const std::string& name, int32_t partitions) = 0;

  // ---- reading a partition ----
  virtual adapter::offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp) = 0;
  // A fetch (max_wait_ms 0: what is there now, answered before it returns).
  virtual void read(adapter::fetch_request req, std::function<void(std::vector<adapter::fetched_partition>)> done) = 0;

  // ---- writing ----
  // Appends one record batch with acks=all; `done` once replicated or failed.
  // With `leader_epoch` set, only while this broker leads the partition at
  // that epoch (NOT_LEADER_OR_FOLLOWER otherwise): a coordinator's records
  // never land in a term whose state it has not loaded.
  virtual void write(const std::string& topic, int32_t partition, std::shared_ptr<std::vector<uint8_t>> batch,
                     int32_t timeout_ms, std::function<void(const adapter::produce_result&)> done,
                     int32_t leader_epoch = -1) = 0;

  // ---- internal partitions (the coordinator's) ----
  struct internal_topic {
    std::string name;
    int32_t partitions = 1;
    int32_t replication_factor = 1;  // at most the registered brokers
    std::map<std::string, std::string> configs;
  };
  // The internal topic, made first if there is none (Kafka makes
  // __consumer_offsets at the first FindCoordinator); an error when it
  // cannot be made now (too few live brokers, no quorum), to retry.
  virtual result<adapter::topic_info> ensure_internal_topic(const internal_topic& t) = 0;
  // The partitions of `topic` this broker leads and may write now, by
  // partition, with their leader epochs.
  virtual std::map<int32_t, int32_t> led_partitions(const std::string& topic) const = 0;
  // `changed` is called (on a broker thread, which it must not block) after
  // every metadata change that may have moved leadership; one listener per
  // `owner`. An empty one stops the owner's calls; once this returns, its
  // previous one is not running.
  virtual void on_leadership(const void* owner, std::function<void()> changed) = 0;
  // This broker's copy of a partition, from its start to its end (records
  // not replicated yet included: a new leader's log is the state from now
  // on), in chunks; `chunk` returns false to stop.
  virtual status scan(const std::string& topic, int32_t partition,
                      const std::function<bool(std::span<const uint8_t>)>& chunk) = 0;

  // ---- share groups' configs (in the metadata) ----
  virtual std::map<std::string, std::string> group_configs(const std::string& group) const = 0;
  // Sets (a value) or removes (nullopt) each; waits for the quorum.
  virtual status set_group_configs(const std::string& group,
                                   const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) = 0;
  // Moves whenever any config changes.
  virtual uint64_t config_version() const = 0;

  // ---- frames between brokers (the share coordinator's requests) ----
  using frame_handler = std::function<void(int32_t from, int16_t kind, std::vector<uint8_t> body)>;
  // Frames of kinds [first, last] from other brokers, on a broker thread
  // (`handler` must not block); an empty one stops them.
  virtual void serve_frames(int16_t first, int16_t last, frame_handler handler) = 0;
  // Sends one to broker `to`; lost if it cannot be reached (the caller
  // times out and asks again).
  virtual void send_frame(int32_t to, int16_t kind, std::vector<uint8_t> body) = 0;
};

}  // namespace mosaic::groups
