// The broker's service API, as protocol adapters call it (the unstable C++
// tier of the SDK, like adapter.h). The kernel implements it in
// kernel/broker; an adapter turns its wire protocol into these calls.
//
// Errors are numbered as Kafka's error codes: the Kafka adapter passes them
// through and another adapter maps them to its own.
//
// Threading: every call may be made from any thread. Calls that complete
// later (produce with acks that wait, fetch with a long poll) call `done`
// exactly once, from a network or an I/O thread; `done` must not block.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/adapter/adapter.h"
#include "mosaic/adapter/errors.h"
#include "mosaic/adapter/security.h"
#include "mosaic/adapter/telemetry.h"

namespace mosaic::adapter {

using uuid = std::array<uint8_t, 16>;

// An error and the words that go with it.
struct outcome {
  error code = error::none;
  std::string message;
  bool ok() const noexcept { return code == error::none; }
  static outcome fail(error c, std::string m) { return {c, std::move(m)}; }
};

struct partition_info {
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> elr;             // eligible leader replicas (KIP-966)
  std::vector<int32_t> last_known_elr;  // the last leader when nothing is eligible
  std::vector<int32_t> offline;         // replicas on fenced brokers
  std::vector<int32_t> adding;          // a reassignment under way: replicas being added
  std::vector<int32_t> removing;        // and replicas to be removed once they are in sync
};

struct topic_info {
  std::string name;
  uuid id{};
  bool internal = false;
  std::vector<partition_info> partitions;
};

struct new_topic {
  std::string name;
  int32_t partitions = -1;          // -1: num.partitions
  int16_t replication_factor = -1;  // -1: default.replication.factor
  std::vector<std::pair<std::string, std::string>> configs;
  // Explicit replicas per partition (0, 1, ... in order); when set,
  // `partitions` and `replication_factor` are -1.
  std::vector<std::vector<int32_t>> assignments;
};

enum class resource_type : int8_t { topic = 2, broker = 4, group = 32 };

// Where a config value comes from, numbered as DescribeConfigs' ConfigSource.
enum class config_source : int8_t {
  topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_value = 5,
  group = 8
};

struct config_value {
  std::string name;
  std::optional<std::string> value;
  config_source source = config_source::default_value;
  bool read_only = false;
  bool sensitive = false;
  std::string type;  // boolean, string, int, short, long, double, list, class, password
  std::string doc;
};

enum class alter_op : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_change {
  std::string name;
  alter_op op = alter_op::set;
  std::optional<std::string> value;
};

struct produce_result {
  error code = error::none;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  // KIP-467: the records that caused an INVALID_RECORD, by their index in
  // the partition's records, each with why.
  std::vector<std::pair<int32_t, std::string>> record_errors{};
};

// Who sent a produce (broker::produce), for the record interceptors.
struct produce_origin {
  std::string_view principal = "User:ANONYMOUS";  // "User:alice"
  std::string_view client_id;
};

// A record as an adapter for another protocol than Kafka's writes and
// reads it (broker::encode_records, broker::decode_records).
struct plain_record {
  int64_t offset = -1;     // read: the record's offset
  int64_t timestamp = -1;  // write: -1 for now; read: the record's (or the batch's LogAppendTime)
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct fetch_partition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 1 << 20;
  // The leader epoch the client knows (-1: none): an older one is
  // FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH.
  int32_t current_leader_epoch = -1;
};

struct fetched_partition {
  error code = error::none;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  std::vector<uint8_t> records;   // whole batches, copied (without zero_copy)
  std::vector<file_range> files;  // whole batches, as file ranges (with zero_copy)
  uint64_t size() const noexcept {
    uint64_t n = records.size();
    for (const auto& f : files) n += f.length;
    return n;
  }
};

struct fetch_request {
  std::vector<fetch_partition> partitions;
  int32_t max_wait_ms = 500;
  int32_t min_bytes = 1;
  // For the whole response; only the first batch of the first partition
  // with data may exceed it (KIP-74).
  int32_t max_bytes = 50 << 20;
  bool zero_copy = false;  // answer with file ranges instead of copies
};

// ListOffsets' special timestamps.
inline constexpr int64_t latest_timestamp = -1;
inline constexpr int64_t earliest_timestamp = -2;
inline constexpr int64_t max_timestamp = -3;

struct offset_lookup {
  error code = error::none;
  int64_t timestamp = -1;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
};

// One of a broker's listeners, by name (Kafka's endpoints of a broker
// registration).
struct listener_address {
  std::string name;
  std::string host;
  int32_t port = 0;
};

// A broker of the cluster and where clients reach it.
struct broker_endpoint {
  int32_t node_id = -1;
  std::string host;  // its first listener
  int32_t port = 0;
  std::optional<std::string> rack = std::nullopt;
  bool fenced = false;
  std::vector<listener_address> listeners = {};  // every listener (empty: registered before they were kept)

  // Where a client of the listener named `listener` reaches this broker:
  // the broker's listener of that name, as Kafka answers (a client of an
  // SSL listener is never sent to a plaintext port); nothing when it has
  // none of that name; its one address when it registered no names.
  std::optional<std::pair<std::string, int32_t>> address_on(const std::string& listener) const {
    if (listeners.empty()) return std::pair{host, port};
    for (const auto& l : listeners)
      if (l.name == listener) return std::pair{l.host, l.port};
    return std::nullopt;
  }
};

// The metadata quorum as DescribeQuorum reports it (from the leader's view
// when asked of the leader; a follower knows only the leader and epoch).
struct quorum_description {
  error code = error::none;
  std::string message;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;
  int64_t high_watermark = -1;
  struct replica {
    int32_t id = -1;
    int64_t log_end_offset = -1;
    int64_t last_fetch_ms = -1;  // wall clock, -1: unknown
    int64_t last_caught_up_ms = -1;
  };
  std::vector<replica> voters;
  std::vector<replica> observers;
  std::vector<broker_endpoint> nodes;  // where each voter listens for the quorum
};

class broker {
 public:
  virtual ~broker() = default;

  virtual int32_t node_id() const = 0;
  virtual std::string cluster_id() const = 0;
  // The brokers registered in the metadata (this one once it has
  // registered), and the metadata quorum's leader (-1: none known).
  virtual std::vector<broker_endpoint> brokers() const = 0;
  virtual int32_t controller_id() const = 0;
  virtual quorum_description describe_quorum() const = 0;

  // Metadata, as of now.
  virtual std::vector<topic_info> topics() const = 0;
  // One page of all topics, in name order: from topic `from` (inclusive;
  // "" for the first) and its partition `first_partition`, at most
  // `partition_limit` partitions in all, the last topic cut short where
  // the page ends. Costs the page, not the cluster (DescribeTopicPartitions
  // in a cluster of a million partitions).
  virtual std::vector<topic_info> topics_page(const std::string& from, int32_t first_partition,
                                              size_t partition_limit) const = 0;
  virtual std::optional<topic_info> find_topic(const std::string& name) const = 0;
  virtual std::optional<topic_info> find_topic(const uuid& id) const = 0;
  virtual bool auto_create_topics() const = 0;

  // Administration. Each change is a record in the metadata log, applied
  // once it is committed.
  virtual outcome create_topic(const new_topic& t, bool validate_only, topic_info* created) = 0;
  virtual outcome delete_topic(const std::string& name) = 0;
  // `assignments` (optional) give the new partitions' replicas, in order.
  virtual outcome create_partitions(const std::string& name, int32_t count,
                                    const std::vector<std::vector<int32_t>>& assignments, bool validate_only) = 0;
  // ElectLeaders for one partition: the preferred replica (the first
  // assigned) when it is live and in sync, or with `unclean` any live
  // replica of a partition that has no leader and no eligible replica.
  // ELECTION_NOT_NEEDED when nothing would change.
  virtual outcome elect_leader(const std::string& topic, int32_t partition, bool unclean) = 0;
  // AlterPartitionReassignments for one partition: moves it to `target`
  // replicas (the new ones catch up before the old ones go), or with none
  // cancels the reassignment under way.
  virtual outcome reassign(const std::string& topic, int32_t partition,
                           const std::optional<std::vector<int32_t>>& target) = 0;
  // Every config of the resource when `names` is empty.
  virtual outcome describe_configs(resource_type type, const std::string& name, const std::vector<std::string>& names,
                                   std::vector<config_value>& out) const = 0;
  // `incremental`: the changes apply on top of the current configs
  // (IncrementalAlterConfigs); otherwise they replace them (AlterConfigs).
  virtual outcome alter_configs(resource_type type, const std::string& name, const std::vector<config_change>& changes,
                                bool incremental, bool validate_only) = 0;

  // Appends `records` (record batches, patched in place with their offsets)
  // to a partition. `owner` keeps the bytes alive if the append has to
  // wait. acks: 0 and 1 answer once the batches are in the log; -1 also
  // waits for the in-sync replicas and, where the topic's flush policy asks
  // for it, for the disk. `timeout_ms` bounds the wait for the replicas
  // (the Produce request's timeout): past it the answer is REQUEST_TIMED_OUT
  // and the batch may still become visible.
  // `origin` (read during the call only) is who produced: what the topic's
  // record interceptors see.
  virtual void produce(const std::string& topic, int32_t partition, std::span<uint8_t> records, int16_t acks,
                       int32_t timeout_ms, std::shared_ptr<const void> owner, const produce_origin& origin,
                       std::function<void(produce_result)> done) = 0;

  // Reads every partition of `req`; answers at once if min_bytes are there
  // (or an error), else when appends bring them or max_wait_ms passes.
  virtual void fetch(fetch_request req, std::function<void(std::vector<fetched_partition>)> done) = 0;

  virtual offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp) = 0;

  // Records as one uncompressed batch, the way a producer sends it (magic
  // 2, CRC-32C; no producer id), ready for produce(). Any thread.
  virtual std::vector<uint8_t> encode_records(const std::vector<plain_record>& records) const = 0;
  // The records of whole batches (a fetch's, a share fetch's), decompressed
  // with this broker's codecs, control records left out, appended to `out`
  // in offset order; CORRUPT_MESSAGE (or UNSUPPORTED_COMPRESSION_TYPE) for
  // a batch that does not decode, with the records before it kept. Any
  // thread.
  virtual outcome decode_records(std::span<const uint8_t> batches, std::vector<plain_record>& out) const = 0;

  // Where a leader epoch ends in a partition's log (OffsetForLeaderEpoch):
  // the largest epoch at or below `leader_epoch` and the offset after its
  // last record. `current_leader_epoch` (-1: not checked) fences callers
  // with stale metadata: older than the partition's epoch is
  // fenced_leader_epoch, newer is unknown_leader_epoch.
  struct epoch_end {
    error code = error::none;
    int32_t leader_epoch = -1;
    int64_t end_offset = -1;
  };
  virtual epoch_end offset_for_leader_epoch(const std::string& topic, int32_t partition, int32_t current_leader_epoch,
                                            int32_t leader_epoch) = 0;

  // An idempotent producer's identity (InitProducerId without a
  // transactional id): a new producer id at epoch 0, or, given the current
  // id and epoch (KIP-360), the same id at the next epoch.
  struct producer_identity {
    int64_t id = -1;
    int16_t epoch = -1;
  };
  virtual outcome init_producer_id(producer_identity& identity) = 0;

  // Moves a partition's log start offset up to `offset` (-1: the high
  // watermark), deleting whole segments below it (DeleteRecords).
  struct records_deleted {
    error code = error::none;
    int64_t low_watermark = -1;
  };
  virtual records_deleted delete_records(const std::string& topic, int32_t partition, int64_t offset) = 0;

  // The idempotent producers a partition knows (DescribeProducers).
  struct producer_view {
    int64_t id = -1;
    int16_t epoch = -1;
    int32_t last_sequence = -1;
    int64_t last_timestamp = -1;
  };
  virtual outcome describe_producers(const std::string& topic, int32_t partition, std::vector<producer_view>& out) = 0;

  // Each log dir with its space and the partitions in it (DescribeLogDirs).
  struct log_dir_usage {
    std::string path;
    int64_t total_bytes = -1;
    int64_t usable_bytes = -1;
    struct partition {
      std::string topic;
      int32_t partition = 0;
      int64_t bytes = 0;
      // A compacted topic's partition: the share of its log written since
      // the cleaner last went over it (min.cleanable.dirty.ratio's
      // measure); -1 for the others.
      double dirty_ratio = -1;
    };
    std::vector<partition> partitions;
  };
  virtual std::vector<log_dir_usage> describe_log_dirs() const = 0;

  // SCRAM credentials, kept in the metadata log (Kafka's
  // DescribeUserScramCredentials and AlterUserScramCredentials). Mechanisms
  // as Kafka numbers them: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
  struct scram_user {
    std::string name;
    std::vector<std::pair<int8_t, int32_t>> mechanisms;  // mechanism, iterations
  };
  virtual std::vector<scram_user> scram_users() const = 0;
  // Stores a credential from the salted password a client derived
  // (Hi(password, salt, iterations)); the broker keeps only the salt, the
  // iterations and the two keys RFC 5802 derives, never the salted password.
  virtual outcome upsert_scram_credential(const std::string& user, int8_t mechanism, int32_t iterations,
                                          std::span<const uint8_t> salt, std::span<const uint8_t> salted_password) = 0;
  virtual outcome delete_scram_credential(const std::string& user, int8_t mechanism) = 0;

  // ACLs, kept in the metadata log (Kafka's CreateAcls, DescribeAcls,
  // DeleteAcls). A binding names a resource pattern and an entry; a filter
  // matches bindings (null strings and `any` match everything; the pattern
  // `match` matches the patterns that apply to the name: literal, `*` and
  // prefixes).
  struct acl_binding {
    acl_resource resource_type = acl_resource::topic;
    std::string resource_name;
    acl_pattern pattern = acl_pattern::literal;
    std::string principal;  // "User:alice", "User:*"
    std::string host = "*";
    acl_operation operation = acl_operation::all;
    acl_permission permission = acl_permission::allow;
    bool operator==(const acl_binding&) const = default;
  };
  struct acl_filter {
    acl_resource resource_type = acl_resource::any;
    std::optional<std::string> resource_name;
    acl_pattern pattern = acl_pattern::any;
    std::optional<std::string> principal;
    std::optional<std::string> host;
    acl_operation operation = acl_operation::any;
    acl_permission permission = acl_permission::any;
  };
  // One outcome per binding, in order (INVALID_REQUEST for a binding that
  // cannot be stored: a filter-only value, a bad principal or host).
  virtual std::vector<outcome> create_acls(const std::vector<acl_binding>& bindings) = 0;
  virtual std::vector<acl_binding> describe_acls(const acl_filter& filter) const = 0;
  // Per filter: its outcome and the bindings it deleted.
  virtual std::vector<std::pair<outcome, std::vector<acl_binding>>> delete_acls(
      const std::vector<acl_filter>& filters) = 0;

  // Client quotas, kept in the metadata log (Kafka's DescribeClientQuotas
  // and AlterClientQuotas). An entity names a user and/or a client id; a
  // null name is that type's default. Keys: producer_byte_rate,
  // consumer_byte_rate (bytes/s; request_percentage is refused: not
  // enforced yet).
  using quota_entity = std::vector<std::pair<std::string, std::optional<std::string>>>;
  struct quota_entry {
    quota_entity entity;
    std::map<std::string, double> values;
  };
  // A filter component (Kafka's match types): 0 the exact name, 1 the
  // default, 2 any entity of the type.
  struct quota_match {
    std::string entity_type;
    int8_t match_type = 0;
    std::optional<std::string> match;
  };
  // The entries that match every component (strict: and name no other
  // entity type); INVALID_REQUEST for a bad filter.
  virtual outcome describe_client_quotas(const std::vector<quota_match>& components, bool strict,
                                         std::vector<quota_entry>& out) const = 0;
  struct quota_change {
    std::string key;
    double value = 0;
    bool remove = false;
  };
  virtual outcome alter_client_quota(const quota_entity& entity, const std::vector<quota_change>& changes,
                                     bool validate_only) = 0;
  // The quotas that apply to a user and a client id, each by Kafka's
  // precedence (user and client id, then user with the default client id,
  // then the user, then the default user's, then the client id's).
  struct client_quotas {
    std::optional<double> producer_byte_rate, consumer_byte_rate;
    std::optional<double> request_percentage;  // of one request thread's time
  };
  virtual client_quotas quotas_for(const std::string& user, const std::string& client_id) const = 0;
};

class group_coordinator;
class share_groups;

// A plugin a slot of this node runs, with its generation and what it has
// been asked (the console's plugins page).
struct plugin_slot_info {
  std::string slot;    // "codec 4", "assignor uniform", "group.share.policy", "listener HTTP", ...
  std::string plugin;  // the plugin id
  uint64_t generation = 0;
  uint64_t calls = 0;
  uint64_t errors = 0;
};

// The cluster's plugin swaps (kernel/app/cluster_swaps.h), as an adapter
// serves `mosaic plugin`: what this broker runs, the cluster's history,
// and changes (a swap, a canary's promotion, a rollback), each validated
// here and then committed to the metadata log, which every broker applies
// at the same offset. Calls may take seconds (a validation in a child
// process, a commit): an adapter makes them off its network threads.
struct plugin_slot_state {
  std::string slot;  // "group.share.policy", "assignor.uniform", "codec.3", "interceptor.0", ...
  std::string plugin;
  std::string library;  // its file, or "builtin"
  std::string sha256;   // "" for built-in code
  uint64_t local_generation = 0;
  int64_t cluster_generation = 0;  // 0: the broker's own YAML
  bool canary = false;
  uint64_t calls = 0, errors = 0;
  // The 99th percentile of the calls' latency, in µs, as the upper bound of
  // the metrics bucket it falls in; -1 while calls are not timed (no
  // metrics listener, no canary here) or none was made.
  int64_t p99_us = -1;
  std::string config;   // secrets masked
  std::string problem;  // why the cluster's generation does not run here, or ""
};
struct plugin_swap_event {
  std::string slot, action;
  int64_t generation = 0;
  std::string plugin, library, sha256, config, principal, reason;
  std::vector<int32_t> brokers;
  int64_t time_ms = 0;
};
struct plugin_change {
  enum class kind { swap, promote, rollback } what = kind::swap;
  std::string slot;
  std::string plugin;
  std::optional<std::string> library;
  std::vector<std::pair<std::string, std::string>> config;
  std::vector<int32_t> brokers;  // a canary's; empty: every broker
  int64_t expected_generation = -1;
  std::string reason;
  std::string principal;  // who asks (the adapter's authenticated principal)
  bool validate_only = false;
};
struct plugin_change_result {
  outcome result;
  int64_t generation = 0;
};
class plugin_admin {
 public:
  virtual ~plugin_admin() = default;
  virtual std::vector<plugin_slot_state> slots() = 0;
  virtual std::vector<plugin_swap_event> history(const std::string& slot) = 0;  // "" for every slot
  virtual plugin_change_result change(const plugin_change& c) = 0;
};

// What the host gives an adapter when it creates it.
struct adapter_context {
  broker* service = nullptr;
  group_coordinator* groups = nullptr;  // consumer groups and committed offsets
  share_groups* shares = nullptr;       // share groups (KIP-932)
  listener_security security;           // the listener's protocol and SASL mechanisms
  // The broker's log (adapters have no logger of their own); may be empty.
  std::function<void(log_level, const std::string&)> log;
  // Where clients' pushed metrics go (KIP-714); null: clients are asked
  // for none.
  client_telemetry* telemetry = nullptr;
  // The node's plugins now, slot by slot; may be empty. Any thread.
  std::function<std::vector<plugin_slot_info>()> plugins;
  // The cluster's plugin swaps; null where the node has none.
  plugin_admin* plugin_swaps = nullptr;
};

// How the host creates an adapter named in a listener's `adapter` key: a
// built-in adapter registers one of these under its name.
using adapter_factory = std::shared_ptr<protocol_adapter> (*)(const adapter_context& context);

}  // namespace mosaic::adapter
