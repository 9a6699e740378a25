// The metadata image: the state the committed records describe. Applying
// the same records in the same order gives the same image on every node;
// that is all the Raft log has to guarantee.
#pragma once

#include <algorithm>
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
  // Image versions (see `image::changes_since`): when the topic was made,
  // when its configs last changed, when each partition last changed, and
  // the latest of all of them.
  uint64_t created = 0;
  uint64_t configured = 0;
  std::vector<uint64_t> partition_changed;
  uint64_t changed = 0;
  // Whether partition `p` may look different to a reader that last looked
  // at version `since` (it, or the topic's configs, changed after).
  bool changed_since(size_t p, uint64_t since) const noexcept {
    return created > since || configured > since || (p < partition_changed.size() && partition_changed[p] > since);
  }
};

// What changed in the image after a version a reader kept
// (`image::changes_since`): for those that act on the image after every
// entry (the replica manager, the broker's logs and configs), so that
// their work follows what changed, not the size of the cluster.
struct image_changes {
  uint64_t since = 0;    // the version asked from
  uint64_t version = 0;  // the image's version now: ask from it next time
  // Asked from 0, or from before what the image remembers (a snapshot was
  // restored since, or too many topics were removed): read all of it.
  bool everything = false;
  bool brokers = false;              // a registration or a fencing
  bool broker_configs = false;       // dynamic broker configs (every topic's defaults)
  std::vector<std::string> topics;   // made or changed (partitions or configs)
  std::vector<std::string> removed;  // removed (a name may be in both: removed, then made again)
};

// One plugin slot's cluster swaps (plugin_swap_record): the generations
// in effect, oldest first (a rollback drops the top one), and what was
// done, oldest first (at most `history_kept`).
struct plugin_slot_swaps {
  static constexpr size_t history_kept = 256;
  std::vector<plugin_swap_record> stack;
  std::vector<plugin_swap_record> history;
  int64_t last_generation = 0;  // the highest generation ever given in the slot
  // What `broker` runs: the top generation meant for it (a canary is meant
  // for its brokers only), or null for the broker's own YAML.
  const plugin_swap_record* effective(int32_t broker) const {
    for (auto it = stack.rbegin(); it != stack.rend(); ++it)
      if (it->brokers.empty() || std::find(it->brokers.begin(), it->brokers.end(), broker) != it->brokers.end())
        return &*it;
    return nullptr;
  }
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
  // The same records, encoded (`encode`) straight into `out`: a snapshot of
  // a million partitions without a million `record` copies first.
  void encode_records(std::vector<uint8_t>& out) const;

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
  // Every applied record moves the version on by one.
  uint64_t version() const noexcept { return version_; }
  image_changes changes_since(uint64_t since) const;
  // Before a snapshot's records are applied to a fresh image: its versions
  // go on from `previous`'s, and a reader that asks from before them
  // reads everything.
  void continue_from(const image& previous);
  int64_t next_producer_id_block() const noexcept { return next_producer_id_block_; }
  const std::map<int32_t, broker_record>& brokers() const noexcept { return brokers_; }
  // SCRAM credentials by user, then mechanism (1 SHA-256, 2 SHA-512).
  const std::map<std::string, std::map<int8_t, scram_credential_record>>& scram_credentials() const noexcept {
    return scram_;
  }
  // ACLs by id, and the version of the last change to them (a reader that
  // kept it knows whether they changed since).
  const std::map<uuid, acl_record>& acls() const noexcept { return acls_; }
  uint64_t acls_changed() const noexcept { return acls_changed_; }
  // Client quotas by entity, then key.
  const std::map<quota_entity, std::map<std::string, double>>& client_quotas() const noexcept { return quotas_; }
  // Plugin swaps by slot, and the version of the last one (a node that
  // kept it knows whether to look again).
  const std::map<std::string, plugin_slot_swaps>& plugin_swaps() const noexcept { return swaps_; }
  uint64_t plugin_swaps_changed() const noexcept { return swaps_changed_; }

 private:
  std::string cluster_id_;
  std::map<std::string, topic_state> topics_;
  std::map<uuid, std::string> names_;
  std::map<std::string, std::map<std::string, std::string>> broker_configs_;
  std::map<std::string, std::map<std::string, std::string>> group_configs_;
  uint64_t config_changes_ = 0;
  int64_t next_producer_id_block_ = 0;
  std::map<int32_t, broker_record> brokers_;
  std::map<std::string, std::map<int8_t, scram_credential_record>> scram_;
  std::map<uuid, acl_record> acls_;
  uint64_t acls_changed_ = 0;
  std::map<quota_entity, std::map<std::string, double>> quotas_;
  std::map<std::string, plugin_slot_swaps> swaps_;
  uint64_t swaps_changed_ = 0;

  // Versions: the topics by their latest change (one entry each), the
  // removals remembered (at most `removals_kept`), and before which a
  // reader must read everything.
  void touch(topic_state& t);
  static constexpr size_t removals_kept = 65536;
  uint64_t version_ = 0;
  uint64_t forgotten_ = 0;
  uint64_t brokers_changed_ = 0;
  uint64_t broker_configs_changed_ = 0;
  std::map<uint64_t, std::string> by_change_;
  std::map<uint64_t, std::string> removed_;
};

}  // namespace mosaic::metadata
