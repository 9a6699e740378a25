// The metadata image: the state the committed records describe. Applying
// the same records in the same order gives the same image on every node;
// that is all the Raft log has to guarantee.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/metadata/records.h"

namespace mosaic::metadata {

struct topic_state {
  std::string name;
  uuid id{};
  std::vector<partition_record> partitions;    // by partition number
  std::map<std::string, std::string> configs;  // topic overrides only
  // What the produce path reads, typed when its config record is applied.
  std::optional<int64_t> min_insync_replicas;  // min.insync.replicas, if overridden
};

class image {
 public:
  void apply(const record& r);
  // Whether one entry may apply to this image: a topic created twice, a
  // change to a topic that is gone, a producer id block handed out twice
  // are refused (whole entries, the same way on every node, since the
  // image is the same). Writers on different nodes check against images
  // that may be a little behind; this is where their races are settled.
  status check(const std::vector<record>& entry) const;
  // Records that rebuild this image when applied to an empty one, in an
  // order that does so: what a snapshot holds.
  std::vector<record> to_records() const;

  const std::string& cluster_id() const noexcept { return cluster_id_; }
  const std::map<std::string, topic_state>& topics() const noexcept { return topics_; }
  const topic_state* find(const std::string& name) const;
  const topic_state* find(const uuid& id) const;
  // Dynamic broker configs by resource name: "" holds the cluster-wide
  // defaults, a broker id's string that broker's own.
  const std::map<std::string, std::map<std::string, std::string>>& broker_configs() const noexcept {
    return broker_configs_;
  }
  // Counts applied config records (topic or broker): a reader that kept
  // the count knows whether configs changed since.
  // Share groups' configs (ConfigRecord of resource type GROUP, 32), by group id.
  const std::map<std::string, std::map<std::string, std::string>>& group_configs() const noexcept {
    return group_configs_;
  }
  uint64_t config_changes() const noexcept { return config_changes_; }
  int64_t next_producer_id_block() const noexcept { return next_producer_id_block_; }
  const std::map<int32_t, broker_record>& brokers() const noexcept { return brokers_; }

 private:
  std::string cluster_id_;
  std::map<std::string, topic_state> topics_;
  std::map<uuid, std::string> names_;
  std::map<std::string, std::map<std::string, std::string>> broker_configs_;
  std::map<std::string, std::map<std::string, std::string>> group_configs_;
  uint64_t config_changes_ = 0;
  int64_t next_producer_id_block_ = 0;
  std::map<int32_t, broker_record> brokers_;
};

}  // namespace mosaic::metadata
