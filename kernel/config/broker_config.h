// The broker's configuration: the YAML file, checked, with `--set`
// overrides applied. yaml-cpp stays inside broker_config.cc.
//
// Every error names where the bad value came from: "FILE:LINE:COLUMN" for
// the file, "--set KEY" for an override, then the key and what is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/config/property.h"
#include "mosaic/sdk/config_validation.h"

namespace mosaic::config {

// TLS settings under Kafka's names, for a listener (its own keys) or the
// broker (top-level keys, the listeners' defaults). Unset: the default.
struct tls_config {
  std::optional<std::string> keystore;                      // ssl.keystore.location: PEM, certificate chain and key
  std::optional<std::string> key_password;                  // ssl.key.password: for an encrypted key
  std::optional<std::string> truststore;                    // ssl.truststore.location: PEM CA certificates
  std::optional<std::string> client_auth;                   // ssl.client.auth: required, requested or none
  std::optional<std::vector<std::string>> protocols;        // ssl.enabled.protocols: TLSv1.2, TLSv1.3
  std::optional<std::string> cipher_suites;                 // ssl.cipher.suites: TLS 1.2 ciphers, OpenSSL's names
  std::optional<std::vector<std::string>> principal_rules;  // ssl.principal.mapping.rules
};

struct listener_config {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::string adapter;
  std::string security_protocol = "PLAINTEXT";  // PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL
  // The SASL mechanisms offered (empty: sasl.enabled.mechanisms).
  std::vector<std::string> sasl_mechanisms;
  // For SSL and SASL_SSL: its own TLS keys over the broker's (merged when
  // the config is read: a TLS listener's keystore is always set).
  tls_config tls;
  bool tls_enabled() const { return security_protocol == "SSL" || security_protocol == "SASL_SSL"; }
};

// One entry of `plugins.load`: a plugin id to instantiate, optionally the
// library to take it from, and its config block (checked later, against the
// fields the plugin declares).
struct plugin_entry {
  std::string name;
  std::optional<std::string> library;  // "builtin", a file name or a path
  std::vector<sdk::raw_value> config;
  std::string where;
};

// One entry of `plugins.interceptors`: a record interceptor plugin (its own
// instance, with its own config) and the topics it sees, by name or prefix.
struct interceptor_entry {
  plugin_entry plugin;
  std::vector<std::string> topics;
  std::vector<std::string> prefixes;  // "" matches every topic
};

// Broker-wide defaults for the log settings of topics, under Kafka's names.
struct log_defaults {
  int64_t segment_bytes = 1LL << 30;                    // log.segment.bytes
  int64_t roll_ms = 7LL * 24 * 3600 * 1000;             // log.roll.ms
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;        // log.retention.ms (-1: keep forever)
  int64_t retention_bytes = -1;                         // log.retention.bytes (-1: no limit)
  int64_t retention_check_interval_ms = 5 * 60 * 1000;  // log.retention.check.interval.ms
  int64_t flush_interval_messages = INT64_MAX;          // log.flush.interval.messages
  int64_t flush_interval_ms = INT64_MAX;                // log.flush.interval.ms
  int64_t index_interval_bytes = 4096;                  // log.index.interval.bytes
  int64_t message_max_bytes = 1048588;                  // message.max.bytes
  int64_t producer_id_expiration_ms = 86400000;         // producer.id.expiration.ms
  int64_t preallocate_bytes = 4 << 20;                  // log.preallocate.bytes (Mosaic's; 0: off)
  int64_t max_open_files = 0;                           // log.max.open.files (Mosaic's; 0: half RLIMIT_NOFILE)
  bool log_append_time = false;                         // log.message.timestamp.type=LogAppendTime
  bool cleaner_enable = true;                           // log.cleaner.enable
  int64_t cleaner_backoff_ms = 15000;                   // log.cleaner.backoff.ms
  int64_t cleaner_dedupe_buffer_size = 128LL << 20;     // log.cleaner.dedupe.buffer.size
  int64_t cleaner_io_max_bytes_per_second = INT64_MAX;  // log.cleaner.io.max.bytes.per.second
};

// Broker-wide settings of the network, topics and clients, under Kafka's
// names.
struct server_settings {
  int64_t num_partitions = 1;                    // num.partitions
  int64_t default_replication_factor = 1;        // default.replication.factor
  int64_t min_insync_replicas = 1;               // min.insync.replicas
  int64_t socket_request_max_bytes = 100 << 20;  // socket.request.max.bytes
  int64_t queued_max_request_bytes = 100 << 20;  // queued.max.request.bytes (-1: no bound)
  int64_t max_connections = 10000;               // max.connections
  int64_t connections_max_idle_ms = 600000;      // connections.max.idle.ms
  int64_t num_network_threads = 2;               // num.network.threads
  int64_t num_io_threads = 2;                    // num.io.threads
  bool auto_create_topics = true;                // auto.create.topics.enable
  std::string compression_type = "producer";     // compression.type
  std::string rack;                              // broker.rack ("": none)
  std::string cleanup_policy = "delete";         // log.cleanup.policy
  std::string cluster_id;                        // cluster.id (empty: made at first start)
  // Replication (kernel/replication).
  int64_t broker_session_timeout_ms = 9000;         // broker.session.timeout.ms
  int64_t replica_lag_time_max_ms = 30000;          // replica.lag.time.max.ms
  int64_t replica_fetch_wait_max_ms = 500;          // replica.fetch.wait.max.ms
  int64_t replica_fetch_max_bytes = 1 << 20;        // replica.fetch.max.bytes
  int64_t replication_port = 0;                     // replication.port (Mosaic's; 0: any free port)
  bool unclean_leader_election = false;             // unclean.leader.election.enable
  bool auto_leader_rebalance = true;                // auto.leader.rebalance.enable
  int64_t leader_imbalance_check_interval_s = 300;  // leader.imbalance.check.interval.seconds
  int64_t leader_imbalance_percent = 10;            // leader.imbalance.per.broker.percentage
  // Security (kernel/security).
  std::vector<std::string> sasl_enabled_mechanisms;       // sasl.enabled.mechanisms (empty: every one loaded)
  int64_t connections_max_reauth_ms = 0;                  // connections.max.reauth.ms (0: sessions never expire)
  int64_t failed_authentication_delay_ms = 100;           // connection.failed.authentication.delay.ms
  int64_t sasl_server_max_receive_size = 524288;          // sasl.server.max.receive.size
  tls_config tls;                                         // the TLS listeners' defaults
  std::string authorizer = "none";                        // authorizer: none, acl or a plugin id
  std::vector<std::string> super_users;                   // super.users: principals allowed everything
  bool allow_everyone_if_no_acl = false;                  // allow.everyone.if.no.acl.found
  std::string inter_broker_protocol = "PLAINTEXT";        // security.inter.broker.protocol: PLAINTEXT or SSL
  std::vector<std::string> inter_broker_peer_principals;  // inter.broker.peer.principals (Mosaic's)
  // Client telemetry (KIP-714).
  std::vector<std::string> telemetry_metrics;   // telemetry.metrics: name prefixes, "*" for all (empty: none)
  int64_t telemetry_push_interval_ms = 300000;  // telemetry.push.interval.ms
  int64_t telemetry_max_bytes = 1048576;        // telemetry.max.bytes
  int64_t telemetry_max_clients = 1000;         // telemetry.max.clients (Mosaic's)
};

// The group coordinator's settings, under Kafka's names.
struct group_settings {
  int64_t min_session_timeout_ms = 6000;                            // group.min.session.timeout.ms
  int64_t max_session_timeout_ms = 1800000;                         // group.max.session.timeout.ms
  int64_t initial_rebalance_delay_ms = 3000;                        // group.initial.rebalance.delay.ms
  int64_t max_size = INT32_MAX;                                     // group.max.size (classic groups)
  int64_t consumer_session_timeout_ms = 45000;                      // group.consumer.session.timeout.ms
  int64_t consumer_heartbeat_interval_ms = 5000;                    // group.consumer.heartbeat.interval.ms
  int64_t consumer_heartbeat_hold_ms = 4000;                        // group.consumer.heartbeat.hold.ms (Mosaic's)
  int64_t consumer_max_size = INT32_MAX;                            // group.consumer.max.size
  int64_t offset_metadata_max_bytes = 4096;                         // offset.metadata.max.bytes
  int64_t offsets_retention_ms = 10080 * 60000LL;                   // offsets.retention.minutes (7 days), in ms
  int64_t offsets_retention_check_interval_ms = 600000;             // offsets.retention.check.interval.ms
  int64_t offsets_topic_partitions = 50;                            // offsets.topic.num.partitions
  int64_t offsets_topic_replication_factor = 3;                     // offsets.topic.replication.factor
  int64_t offsets_commit_timeout_ms = 5000;                         // offsets.commit.timeout.ms
  int64_t share_state_topic_partitions = 50;                        // share.coordinator.state.topic.num.partitions
  int64_t share_state_topic_replication_factor = 3;                 // share.coordinator.state.topic.replication.factor
  std::vector<std::string> consumer_assignors{"uniform", "range"};  // group.consumer.assignors
  // Share groups (KIP-932): defaults, and the bounds a group's own configs
  // must keep to.
  int64_t share_session_timeout_ms = 45000;                  // group.share.session.timeout.ms
  int64_t share_heartbeat_interval_ms = 5000;                // group.share.heartbeat.interval.ms
  int64_t share_max_size = 200;                              // group.share.max.size
  int64_t share_record_lock_duration_ms = 30000;             // group.share.record.lock.duration.ms
  int64_t share_min_record_lock_duration_ms = 15000;         // group.share.min.record.lock.duration.ms
  int64_t share_max_record_lock_duration_ms = 60000;         // group.share.max.record.lock.duration.ms
  int64_t share_delivery_count_limit = 5;                    // group.share.delivery.count.limit
  int64_t share_min_delivery_count_limit = 2;                // group.share.min.delivery.count.limit
  int64_t share_max_delivery_count_limit = 10;               // group.share.max.delivery.count.limit
  int64_t share_partition_max_record_locks = 2000;           // group.share.partition.max.record.locks
  int64_t share_min_partition_max_record_locks = 100;        // group.share.min.partition.max.record.locks
  int64_t share_max_partition_max_record_locks = 4000;       // group.share.max.partition.max.record.locks
  int64_t share_max_share_sessions = 2000;                   // group.share.max.share.sessions
  std::vector<std::string> share_assignors{"simple"};        // group.share.assignors
  std::string share_policy = "mosaic.share_policy.default";  // group.share.policy (a plugin id)
  std::string dlq_handler = "mosaic.dlq.topic";              // group.share.dlq.handler (a plugin id)
  std::string dlq_topic_prefix = "dlq.";                     // errors.deadletterqueue.topic.name.prefix
  bool dlq_auto_create_topics = false;                       // errors.deadletterqueue.auto.create.topics.enable
};

// A voter of the metadata quorum: Kafka's `controller.quorum.voters`
// entry `id@host:port`.
struct quorum_voter {
  int32_t id = 0;
  std::string host;
  uint16_t port = 0;
};

struct quorum_settings {
  // Empty: this node alone, its quorum port picked at start-up.
  std::vector<quorum_voter> voters;    // controller.quorum.voters
  int64_t election_timeout_ms = 1000;  // controller.quorum.election.timeout.ms
  int64_t snapshot_bytes = 20 << 20;   // metadata.log.max.record.bytes.between.snapshots
};

struct broker_config {
  std::filesystem::path source;  // the file it was read from
  int32_t node_id = 1;
  std::vector<std::string> process_roles{"broker", "controller"};
  std::vector<std::filesystem::path> log_dirs{"data"};  // relative to the working directory
  std::string log_level = "info";
  log_defaults log;
  server_settings server;
  group_settings groups;
  quorum_settings quorum;
  std::vector<listener_config> listeners;
  std::vector<std::filesystem::path> plugin_search_paths;  // relative to the config file's folder
  std::vector<plugin_entry> plugins;
  std::vector<interceptor_entry> interceptors;  // plugins.interceptors, in order
  // plugins.trust: which plugin libraries may be loaded (kernel/plugin/trust.h).
  struct {
    std::vector<std::filesystem::path> folders;
    std::vector<std::string> sha256;
    bool require_signatures = false;
    std::vector<std::string> public_keys;
  } plugin_trust;
  // plugins.hot_swap: cluster-wide swaps through `mosaic plugin swap`
  // (kernel/app/cluster_swaps.h); this node takes them only when enabled.
  struct {
    bool enabled = false;
    int64_t smoke_timeout_ms = 10000;  // a swap's validation in a child process, at most
  } hot_swap;
};

// Every key the YAML takes, in the table the parser reads integers by:
// for `--help` and the README's table (a test keeps them the same).
const std::vector<property>& documented_keys();

// Reads `file`, applies `overrides` ("key=value", the value read as YAML),
// and checks the result. `origin` replaces "$ORIGIN" in plugin search paths
// (the folder of the mosaicd binary).
result<broker_config> load_broker_config(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                                         const std::filesystem::path& origin);

// The same, from YAML text; `source_name` stands for the file in messages
// and its folder anchors relative plugin search paths.
result<broker_config> parse_broker_config(const std::string& yaml_text, const std::string& source_name,
                                          const std::vector<std::string>& overrides,
                                          const std::filesystem::path& origin);

}  // namespace mosaic::config
