// The cluster metadata as records: every change to topics, partitions and
// configs is one or more of these, committed to the metadata log and then
// applied to the image. The fields follow KRaft's metadata records
// (TopicRecord, PartitionRecord, ConfigRecord, RemoveTopicRecord); the
// encoding is Mosaic's own: a type byte, a version byte, then the fields
// big-endian, strings with a 32-bit length (-1 for null).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::metadata {

using uuid = std::array<uint8_t, 16>;

struct cluster_record {
  std::string cluster_id;
};

struct topic_record {
  std::string name;
  uuid id{};
};

// A partition as it is created (KRaft's PartitionRecord, v2's fields):
// replicas, leader, ISR and KIP-966's eligible leader replicas. Records of
// version 0 (before replication) read with the ISR equal to the replicas.
struct partition_record {
  uuid topic_id{};
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> elr;
  std::vector<int32_t> last_known_elr;
  int32_t partition_epoch = 0;
  // Version 2: a reassignment under way (Kafka's AddingReplicas and
  // RemovingReplicas): `replicas` holds the old and the new ones until the
  // new ones are in sync.
  std::vector<int32_t> adding;
  std::vector<int32_t> removing;
};

// A partition's next state, as the controller decided it
// (`kernel/replication/partition_state.h`). Kafka's PartitionChangeRecord
// carries only what changed; this carries the whole state, so that applying
// it needs nothing but the record. It applies only on the state it was
// decided from: its partition epoch must be the current one's plus one.
struct partition_change_record {
  partition_record state;
};

// resource_type as Kafka numbers ConfigResource types: 2 topic, 4 broker.
struct config_record {
  int8_t resource_type = 2;
  std::string resource_name;
  std::string name;
  std::optional<std::string> value;  // null: back to the default
};

struct remove_topic_record {
  uuid topic_id{};
};

// Producer ids below `next_block_start` are handed out (KRaft's
// ProducerIdsRecord): a broker takes a block at a time, so no id is ever
// given twice, restarts included.
struct producer_ids_record {
  int64_t next_block_start = 0;
};

// A broker and where clients reach it (KRaft's RegisterBrokerRecord, one
// endpoint): written by each node at start-up when it changed. Version 1
// adds the registration: a broker epoch that grows with every start (an
// incarnation), the incarnation's random id, the rack, and whether it is
// fenced (not serving as a replica). Version 2 adds the replication port;
// version 3 every listener by name (KRaft's endpoints), so that a client is
// sent to the other brokers' listener of the name it came in on.
struct broker_listener {
  std::string name;
  std::string host;
  int32_t port = 0;
  bool operator==(const broker_listener&) const = default;
};

struct broker_record {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  int64_t epoch = 0;
  uuid incarnation{};
  std::optional<std::string> rack;
  bool fenced = false;
  // Version 2: where followers fetch from it (kernel/rpc, on `host`; 0:
  // none), and whether it is fenced because it is shutting down (the
  // controller does not unfence it while it is still heard from).
  int32_t replication_port = 0;
  bool shutting_down = false;
  std::vector<broker_listener> listeners = {};  // version 3 (host and port: the first)
};

// A broker fenced (its session expired, or it shut down) or unfenced
// (Kafka's FenceBrokerRecord / UnfenceBrokerRecord), for the registration
// with `epoch` only: a later incarnation is not touched by it.
struct broker_fence_record {
  int32_t id = -1;
  int64_t epoch = 0;
  bool fenced = true;
  bool shutdown = false;  // version 1: fenced by its own controlled shutdown
};

// A user's SCRAM credential for one mechanism (KRaft's
// UserScramCredentialRecord): the salt, the iteration count and the two
// keys RFC 5802 derives from the salted password (never the password).
// Mechanisms as Kafka numbers them: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
struct scram_credential_record {
  std::string name;
  int8_t mechanism = 1;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> stored_key;
  std::vector<uint8_t> server_key;
  int32_t iterations = 4096;
};

// (KRaft's RemoveUserScramCredentialRecord.)
struct remove_scram_credential_record {
  std::string name;
  int8_t mechanism = 1;
};

// One ACL (KRaft's AccessControlEntryRecord): its id, the resource
// pattern and the entry, with Kafka's codes for the resource type, pattern
// type, operation and permission.
struct acl_record {
  uuid id{};
  int8_t resource_type = 2;
  std::string resource_name;
  int8_t pattern_type = 3;
  std::string principal;
  std::string host = "*";
  int8_t operation = 2;
  int8_t permission = 3;
};

// (KRaft's RemoveAccessControlEntryRecord.)
struct remove_acl_record {
  uuid id{};
};

// A client quota (KRaft's ClientQuotaRecord): for an entity (by type,
// "user" and/or "client-id", each named, or null for the type's default),
// a key (producer_byte_rate, consumer_byte_rate, request_percentage) set
// to a value, or removed (no value).
using quota_entity = std::vector<std::pair<std::string, std::optional<std::string>>>;
struct client_quota_record {
  quota_entity entity;  // sorted by type
  std::string key;
  std::optional<double> value;
};

// A plugin swap (Mosaic's own; KRaft has none): from this entry on, slot
// `slot` runs generation `generation` of the cluster's swaps: `plugin` from
// `library` (its SHA-256 when the swap was asked) with `config`, on the
// brokers listed (a canary) or on every broker (none listed). Every broker
// applies it at the same offset (kernel/app/cluster_swaps.cc), and a broker
// that restarts finds it in the image.
//
// `action`: "swap" (a new generation on top), "promote" (the canary on top
// goes to every broker), "rollback" (the top generation goes; the one below
// it runs again: `generation` names it, 0 for the node's own YAML). A
// snapshot writes each slot back as "history:<action>" records (what
// `mosaic plugin history` shows) then "stack" records (the generations in
// effect); neither is ever proposed.
struct plugin_swap_record {
  std::string slot;  // "group.share.policy", "assignor.uniform", "codec.3", "interceptor.0", ...
  std::string action = "swap";
  int64_t generation = 0;
  std::string plugin;   // the plugin id ("" with generation 0: the YAML's)
  std::string library;  // as asked ("" for the built-in or implied one)
  std::string sha256;   // of the library the asking broker checked ("" for built-in code)
  std::vector<std::pair<std::string, std::string>> config;
  std::vector<int32_t> brokers;  // a canary's broker(s); empty: every broker
  std::string principal;         // who asked
  int64_t time_ms = 0;           // when (wall clock of the asking broker)
  std::string reason;            // a rollback's cause ("canary: 12 errors in 100 calls"), or ""
  bool operator==(const plugin_swap_record&) const = default;
};

using record = std::variant<cluster_record, topic_record, partition_record, config_record, remove_topic_record,
                            producer_ids_record, broker_record, partition_change_record, broker_fence_record,
                            scram_credential_record, remove_scram_credential_record, acl_record, remove_acl_record,
                            client_quota_record, plugin_swap_record>;

// One entry of the metadata log: records committed and applied together.
std::vector<uint8_t> encode(const std::vector<record>& records);
// Appends one record's bytes (what `encode` writes for each); the partition
// overload spares a snapshot a copy of every partition into a `record`.
void encode_one(std::vector<uint8_t>& bytes, const record& r);
void encode_one(std::vector<uint8_t>& bytes, const partition_record& r);
result<std::vector<record>> decode(std::span<const uint8_t> bytes);
// The same, handing each record to `fn` as it is read (a snapshot of a
// million partitions is applied without holding them all as records).
status decode_each(std::span<const uint8_t> bytes, const std::function<void(record&&)>& fn);

// A random topic id (version 4 UUID; never all zeros).
uuid random_uuid();
// Kafka's text form of an id: URL-safe base64 without padding (22 chars).
std::string to_base64(const uuid& id);

}  // namespace mosaic::metadata
