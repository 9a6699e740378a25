#include "kernel/config/broker_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "kernel/base/log.h"

namespace mosaic::config {

namespace {

// Thrown inside this file only, turned into a status at its edge.
struct config_error {
  std::string message;
};

// A pointer to an integer setting, for the key table.
template <auto Part, auto Member>
int64_t* at(broker_config& c) {
  return &((c.*Part).*Member);
}

// Every YAML key, in one table: what --help and the README say of it, an
// integer's range, whether it may change at run time (as the broker-wide
// default of a topic config, through IncrementalAlterConfigs on a BROKER
// resource), and where an integer key's value goes (the other keys are
// read by the parser's own code).
struct key_row {
  property p;
  int64_t* (*field)(broker_config&) = nullptr;
  int64_t scale = 1;  // the field holds the value times this (minutes kept as ms)
};

const std::vector<key_row> rows = {
    {{"node.id", "integer", "1", "this node's id in the cluster"}},
    {{"process.roles", "list", "[broker, controller]",
      "broker, controller or both. A controller is a voter of the metadata quorum (listed in controller.quorum.voters "
      "when that is set); a broker-only node follows the quorum as an observer (controller.quorum.voters names the "
      "controllers); a controller-only node serves no clients (no listeners but a metrics one)"}},
    {{"log.dirs", "list", "[data]",
      "where partition data is kept; a relative folder is taken from the directory mosaicd starts in"}},
    {{"log_level", "string", "info", "trace, debug, info, warn, error or off"}},
    {{"log.segment.bytes", "integer", "1073741824", "a segment rolls at this size", 14, INT64_MAX, true},
     at<&broker_config::log, &log_defaults::segment_bytes>},
    {{"log.roll.ms", "integer", "604800000", "a segment rolls this long after its first append", 1, INT64_MAX, true},
     at<&broker_config::log, &log_defaults::roll_ms>},
    {{"log.retention.ms", "integer", "604800000", "segments whose newest record is older are deleted; -1 keeps them",
      -1, INT64_MAX, true},
     at<&broker_config::log, &log_defaults::retention_ms>},
    {{"log.retention.bytes", "integer", "-1", "a partition keeps at most this much (whole segments); -1: no limit", -1,
      INT64_MAX, true},
     at<&broker_config::log, &log_defaults::retention_bytes>},
    {{"log.retention.check.interval.ms", "integer", "300000", "how often retention runs", 1, INT64_MAX, false},
     at<&broker_config::log, &log_defaults::retention_check_interval_ms>},
    {{"log.flush.interval.messages", "integer", "(none)", "fsync after this many unflushed messages", 1, INT64_MAX,
      true},
     at<&broker_config::log, &log_defaults::flush_interval_messages>},
    {{"log.flush.interval.ms", "integer", "(none)", "fsync when the oldest unflushed append is this old", 0, INT64_MAX,
      true},
     at<&broker_config::log, &log_defaults::flush_interval_ms>},
    {{"log.index.interval.bytes", "integer", "4096", "bytes between offset index entries", 0, INT64_MAX, true},
     at<&broker_config::log, &log_defaults::index_interval_bytes>},
    {{"log.preallocate.bytes", "integer", "4194304",
      "Mosaic's own: disk reserved past the end of each partition's active segment, in steps of up to this size "
      "(never more than the segment holds, none below 64 KiB), given back when the segment is sealed; it spares "
      "the file system work on every write. 0: none",
      0, INT64_MAX, false},
     at<&broker_config::log, &log_defaults::preallocate_bytes>},
    {{"log.max.open.files", "integer", "0",
      "Mosaic's own: the most segment files held open at once; past it the least recently used are closed and "
      "opened again when next read or written, so a broker may hold more partitions than its descriptor limit. 0: "
      "half the process's descriptor limit (mosaicd raises its soft limit to the hard one at start)",
      0, INT64_MAX, false},
     at<&broker_config::log, &log_defaults::max_open_files>},
    {{"message.max.bytes", "integer", "1048588", "the largest record batch accepted", 0, INT64_MAX, true},
     at<&broker_config::log, &log_defaults::message_max_bytes>},
    {{"producer.id.expiration.ms", "integer", "86400000",
      "an idempotent producer silent this long is forgotten by the partitions it wrote to", 1, INT64_MAX, false},
     at<&broker_config::log, &log_defaults::producer_id_expiration_ms>},
    {{"log.message.timestamp.type", "string", "CreateTime", "CreateTime or LogAppendTime", INT64_MIN, INT64_MAX, true}},
    {{"num.partitions", "integer", "1", "partitions of a topic created without a count", 1, 1000000, false},
     at<&broker_config::server, &server_settings::num_partitions>},
    {{"default.replication.factor", "integer", "1", "replicas of a topic created without a factor", 1, 32767, false},
     at<&broker_config::server, &server_settings::default_replication_factor>},
    {{"min.insync.replicas", "integer", "1", "replicas that must have a record before acks=all is answered", 1, 32767,
      false},
     at<&broker_config::server, &server_settings::min_insync_replicas>},
    {{"auto.create.topics.enable", "boolean", "true", "Metadata for an unknown topic creates it"}},
    {{"compression.type", "string", "producer",
      "producer keeps the producer's codec; uncompressed, gzip, snappy, lz4, zstd rewrite batches"}},
    {{"log.cleanup.policy", "string", "delete",
      "delete (retention), compact (the latest record per key is kept) or compact,delete"}},
    {{"log.cleaner.enable", "boolean", "true", "run the cleaner, which compacts topics with cleanup.policy=compact"}},
    {{"log.cleaner.backoff.ms", "integer", "15000", "how long the cleaner sleeps when no log is due", 1, INT64_MAX,
      false},
     at<&broker_config::log, &log_defaults::cleaner_backoff_ms>},
    {{"log.cleaner.dedupe.buffer.size", "integer", "134217728",
      "memory for the cleaner's key map (24 bytes a key); a pass maps as many keys as fit and leaves the rest for the "
      "next",
      1024, INT64_MAX, false},
     at<&broker_config::log, &log_defaults::cleaner_dedupe_buffer_size>},
    {{"log.cleaner.io.max.bytes.per.second", "integer", "(no limit)",
      "the cleaner's reads and writes together stay under this rate", 1, INT64_MAX, false},
     at<&broker_config::log, &log_defaults::cleaner_io_max_bytes_per_second>},
    {{"cluster.id", "string", "(made at first start)", "the cluster's id; kept in the metadata log"}},
    {{"broker.rack", "string", "(none)",
      "the rack this broker is in, registered with it at every start (with a broker epoch one past the last start's); "
      "new partitions' replicas are spread over racks"}},
    {{"broker.session.timeout.ms", "integer", "9000",
      "the active controller fences a broker it has not heard from for this long and moves its partitions' leadership",
      100, INT32_MAX, false},
     at<&broker_config::server, &server_settings::broker_session_timeout_ms>},
    {{"replica.lag.time.max.ms", "integer", "30000",
      "a follower that has not caught up with its leader for this long leaves the ISR", 100, INT32_MAX, false},
     at<&broker_config::server, &server_settings::replica_lag_time_max_ms>},
    {{"replica.fetch.wait.max.ms", "integer", "500", "a leader holds a follower's fetch this long for new data", 0,
      60000, false},
     at<&broker_config::server, &server_settings::replica_fetch_wait_max_ms>},
    {{"replica.fetch.max.bytes", "integer", "1048576", "bytes a follower asks for per partition and fetch", 1024,
      1 << 30, false},
     at<&broker_config::server, &server_settings::replica_fetch_max_bytes>},
    {{"replication.port", "integer", "0",
      "where followers fetch from this broker (Mosaic's own protocol over kernel/rpc, on the first listener's host; 0: "
      "any free port, registered in the metadata)",
      0, 65535, false},
     at<&broker_config::server, &server_settings::replication_port>},
    {{"auto.leader.rebalance.enable", "boolean", "true",
      "the controller moves leadership back to preferred replicas (the first assigned) when a broker does not lead "
      "more than leader.imbalance.per.broker.percentage of the partitions it is preferred for"}},
    {{"leader.imbalance.check.interval.seconds", "integer", "300", "how often the controller checks that balance", 1,
      INT32_MAX, false},
     at<&broker_config::server, &server_settings::leader_imbalance_check_interval_s>},
    {{"leader.imbalance.per.broker.percentage", "integer", "10",
      "a broker leading fewer of the partitions it is preferred for than this share is rebalanced", 0, 100, false},
     at<&broker_config::server, &server_settings::leader_imbalance_percent>},
    {{"unclean.leader.election.enable", "boolean", "false",
      "a partition with no eligible replica elects any live one, which may lose acknowledged records (also a topic "
      "config)"}},
    {{"controller.quorum.voters", "list", "[] (this node alone)",
      "the metadata quorum's voters, Kafka's id@host:port; this node's entry is where it listens for the others"}},
    {{"controller.quorum.election.timeout.ms", "integer", "1000",
      "a voter that hears no leader for this long (up to twice as long, at random) starts an election"}},
    {{"metadata.log.max.record.bytes.between.snapshots", "integer", "20971520",
      "a snapshot of the metadata image is taken after this many bytes of records, or after as many as the last "
      "snapshot held if that is more"}},
    {{"socket.request.max.bytes", "integer", "104857600", "a larger request closes its connection", 1, INT32_MAX,
      false},
     at<&broker_config::server, &server_settings::socket_request_max_bytes>},
    {{"queued.max.request.bytes", "integer", "104857600",
      "request bytes read and not yet answered, all connections together; a connection whose next request would pass "
      "it waits before reading it (one request alone always fits). -1: no bound (Kafka's default)",
      -1, INT64_MAX, false},
     at<&broker_config::server, &server_settings::queued_max_request_bytes>},
    {{"max.connections", "integer", "10000", "connections over this are refused", 1, INT32_MAX, false},
     at<&broker_config::server, &server_settings::max_connections>},
    {{"telemetry.metrics", "list", "[]",
      "client metrics (KIP-714) the brokers ask clients to push, as name prefixes (org.apache.kafka.producer.); \"*\" "
      "asks for every metric; empty: none, and clients push nothing. Pushed metrics are exported on /metrics"}},
    {{"telemetry.push.interval.ms", "integer", "300000", "how often clients push the metrics telemetry.metrics names",
      100, 3600000, false},
     at<&broker_config::server, &server_settings::telemetry_push_interval_ms>},
    {{"telemetry.max.bytes", "integer", "1048576", "the largest telemetry push taken (TELEMETRY_TOO_LARGE above it)",
      1024, INT32_MAX, false},
     at<&broker_config::server, &server_settings::telemetry_max_bytes>},
    {{"telemetry.max.clients", "integer", "1000",
      "Mosaic's own: clients whose pushed metrics a broker keeps for /metrics; past it the one that pushed longest "
      "ago is dropped (a client silent for three push intervals is dropped anyway)",
      1, 1000000, false},
     at<&broker_config::server, &server_settings::telemetry_max_clients>},
    {{"connections.max.idle.ms", "integer", "600000", "idle connections are closed after this", 1, INT64_MAX, false},
     at<&broker_config::server, &server_settings::connections_max_idle_ms>},
    {{"connections.max.reauth.ms", "integer", "0",
      "a SASL session lasts at most this long (or less, if its credential expires first), then the client must "
      "re-authenticate (KIP-368) or the connection closes at its next request; 0: sessions do not expire",
      0, INT64_MAX, false},
     at<&broker_config::server, &server_settings::connections_max_reauth_ms>},
    {{"connection.failed.authentication.delay.ms", "integer", "100",
      "a failed authentication is answered (and its connection closed) this much later, to slow password guessing", 0,
      60000, false},
     at<&broker_config::server, &server_settings::failed_authentication_delay_ms>},
    {{"sasl.server.max.receive.size", "integer", "524288",
      "the largest frame a connection may send before it has authenticated; a larger one closes it", 64, INT32_MAX,
      false},
     at<&broker_config::server, &server_settings::sasl_server_max_receive_size>},
    {{"sasl.enabled.mechanisms", "list", "[]",
      "the SASL mechanisms SASL listeners offer, from the authenticator plugins loaded (empty: every one); a "
      "listener's own sasl.enabled.mechanisms overrides it"}},
    {{"ssl.keystore.location", "string", "(none)",
      "for SSL and SASL_SSL listeners: a PEM file with the broker's certificate chain and private key (a listener's "
      "own key overrides it); reloaded when it changes and on SIGHUP"}},
    {{"ssl.key.password", "string", "(none)", "the password of an encrypted private key in the keystore"}},
    {{"ssl.truststore.location", "string", "(none)",
      "a PEM file of the CA certificates that client certificates must chain to (for ssl.client.auth)"}},
    {{"ssl.client.auth", "string", "none",
      "required: a client without a valid certificate is refused; requested: one is asked for and checked if given; "
      "none"}},
    {{"ssl.enabled.protocols", "list", "[TLSv1.2, TLSv1.3]", "the TLS versions served (older ones never are)"}},
    {{"ssl.cipher.suites", "string", "(OpenSSL's default)",
      "the TLS 1.2 cipher suites, as an OpenSSL cipher list (TLS 1.3's suites are OpenSSL's)"}},
    {{"ssl.principal.mapping.rules", "list", "[DEFAULT]",
      "how a client certificate's subject (RFC 2253: CN=alice,O=Org) becomes the principal on an SSL listener, "
      "Kafka's rules: RULE:regex/replacement/ (then L or U to fold the case), the first whose regex matches the whole "
      "subject, or DEFAULT (the subject itself)"}},
    {{"security.inter.broker.protocol", "string", "PLAINTEXT",
      "how nodes talk to each other (the quorum and replication ports): PLAINTEXT, or SSL: mutual TLS with the "
      "broker's ssl.keystore.location shown both ways and ssl.truststore.location checking the other end's "
      "certificate, which must also name the host the node is reached at"}},
    {{"inter.broker.peer.principals", "list", "[]",
      "with security.inter.broker.protocol SSL: the principals (the certificate subject through "
      "ssl.principal.mapping.rules, as User:name) a node accepts connections from; empty: any certificate the "
      "truststore trusts (then keep that CA for brokers)"}},
    {{"authorizer", "string", "none",
      "acl: every request is checked against the ACLs of the metadata log (CreateAcls, `mosaic acl`), as Kafka's "
      "StandardAuthorizer does; none: every request is allowed and the ACL APIs answer SECURITY_DISABLED; a plugin "
      "id (mosaic.authz.rules, com.acme.authz.opa): that authorizer plugin decides, configured under plugins.load "
      "or built in, hot-swapped on SIGHUP, and may defer to the ACLs"}},
    {{"super.users", "list", "[]",
      "principals allowed everything whatever the ACLs say (User:admin); Kafka's semicolon-separated string works "
      "too"}},
    {{"allow.everyone.if.no.acl.found", "boolean", "false",
      "a resource that no ACL names is open to every principal (else only to super users)"}},
    {{"num.network.threads", "integer", "2", "threads serving sockets", 1, 256, false},
     at<&broker_config::server, &server_settings::num_network_threads>},
    {{"num.io.threads", "integer", "2", "threads waiting on fsync", 1, 256, false},
     at<&broker_config::server, &server_settings::num_io_threads>},
    {{"group.min.session.timeout.ms", "integer", "6000", "the shortest session a classic group member may ask for", 1,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::min_session_timeout_ms>},
    {{"group.max.session.timeout.ms", "integer", "1800000", "the longest session a classic group member may ask for", 1,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::max_session_timeout_ms>},
    {{"group.initial.rebalance.delay.ms", "integer", "3000",
      "a new classic group waits this long for more members before its first rebalance", 0, INT32_MAX, false},
     at<&broker_config::groups, &group_settings::initial_rebalance_delay_ms>},
    {{"group.max.size", "integer", "2147483647", "members a classic group may have", 1, INT32_MAX, false},
     at<&broker_config::groups, &group_settings::max_size>},
    {{"group.consumer.session.timeout.ms", "integer", "45000",
      "a consumer group (KIP-848) member that sends no heartbeat for this long is removed", 1, INT32_MAX, false},
     at<&broker_config::groups, &group_settings::consumer_session_timeout_ms>},
    {{"group.consumer.heartbeat.interval.ms", "integer", "5000", "how often consumer group members send heartbeats", 1,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::consumer_heartbeat_interval_ms>},
    {{"group.consumer.heartbeat.hold.ms", "integer", "4000",
      "Mosaic's own: the longest a consumer group member's heartbeat that brings it nothing new is held (a long poll), "
      "so that a member that must give partitions up hears of it at once; never beyond the interval the member was "
      "told less a tenth; 0 answers every heartbeat at once, as Kafka does",
      0, INT32_MAX, false},
     at<&broker_config::groups, &group_settings::consumer_heartbeat_hold_ms>},
    {{"group.consumer.max.size", "integer", "2147483647", "members a consumer group may have", 1, INT32_MAX, false},
     at<&broker_config::groups, &group_settings::consumer_max_size>},
    {{"group.consumer.assignors", "list", "[uniform, range]",
      "server-side assignors by name, from assignor plugins; the first is the default. A name no plugins.load entry "
      "provides is loaded as the built-in mosaic.assignor.<name>"}},
    {{"offset.metadata.max.bytes", "integer", "4096", "the largest metadata string an offset commit may carry", 0,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::offset_metadata_max_bytes>},
    {{"offsets.retention.minutes", "integer", "10080",
      "committed offsets of a group without members are deleted this long after its last member left (or the commit, "
      "if later); while it has members, those of topics it does not consume, this long after their commit",
      1, INT32_MAX},
     at<&broker_config::groups, &group_settings::offsets_retention_ms>,
     60000},
    {{"offsets.retention.check.interval.ms", "integer", "600000", "how often expired offsets are looked for", 1,
      INT64_MAX, false},
     at<&broker_config::groups, &group_settings::offsets_retention_check_interval_ms>},
    {{"offsets.topic.num.partitions", "integer", "50",
      "partitions of __consumer_offsets, made at the first group's need; a group's coordinator is the leader of the "
      "partition its id hashes to (Java's String.hashCode, as Kafka)",
      1, 1000, false},
     at<&broker_config::groups, &group_settings::offsets_topic_partitions>},
    {{"offsets.topic.replication.factor", "integer", "3",
      "replicas of each __consumer_offsets partition (fewer when fewer brokers are registered)", 1, 100, false},
     at<&broker_config::groups, &group_settings::offsets_topic_replication_factor>},
    {{"offsets.commit.timeout.ms", "integer", "5000",
      "how long the coordinator waits for its records to be replicated before the requests that wrote them fail", 1,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::offsets_commit_timeout_ms>},
    {{"share.coordinator.state.topic.num.partitions", "integer", "50",
      "partitions of __share_group_state, made at the first share-partition's need; a share-partition's state is "
      "served by the leader of the partition its group, topic id and partition hash to",
      1, 1000, false},
     at<&broker_config::groups, &group_settings::share_state_topic_partitions>},
    {{"share.coordinator.state.topic.replication.factor", "integer", "3",
      "replicas of each __share_group_state partition (fewer when fewer brokers are registered)", 1, 100, false},
     at<&broker_config::groups, &group_settings::share_state_topic_replication_factor>},
    {{"group.share.session.timeout.ms", "integer", "45000",
      "a share group member that sends no heartbeat for this long is removed (its locks released)", 1, INT32_MAX,
      false},
     at<&broker_config::groups, &group_settings::share_session_timeout_ms>},
    {{"group.share.heartbeat.interval.ms", "integer", "5000", "how often share group members send heartbeats", 1,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::share_heartbeat_interval_ms>},
    {{"group.share.max.size", "integer", "200", "members a share group may have", 1, 1000, false},
     at<&broker_config::groups, &group_settings::share_max_size>},
    {{"group.share.record.lock.duration.ms", "integer", "30000",
      "how long a share consumer holds a record it fetched before it is offered again", 1000, 3600000, false},
     at<&broker_config::groups, &group_settings::share_record_lock_duration_ms>},
    {{"group.share.min.record.lock.duration.ms", "integer", "15000", "the shortest lock a share group may configure",
      1000, 3600000, false},
     at<&broker_config::groups, &group_settings::share_min_record_lock_duration_ms>},
    {{"group.share.max.record.lock.duration.ms", "integer", "60000", "the longest lock a share group may configure",
      1000, 3600000, false},
     at<&broker_config::groups, &group_settings::share_max_record_lock_duration_ms>},
    {{"group.share.delivery.count.limit", "integer", "5",
      "deliveries of a record before it is archived (or dead-lettered)", 2, 10, false},
     at<&broker_config::groups, &group_settings::share_delivery_count_limit>},
    {{"group.share.min.delivery.count.limit", "integer", "2", "the lowest delivery limit a share group may configure",
      2, 10, false},
     at<&broker_config::groups, &group_settings::share_min_delivery_count_limit>},
    {{"group.share.max.delivery.count.limit", "integer", "10", "the highest delivery limit a share group may configure",
      2, 10, false},
     at<&broker_config::groups, &group_settings::share_max_delivery_count_limit>},
    {{"group.share.partition.max.record.locks", "integer", "2000", "records in flight per share-partition", 100, 10000,
      false},
     at<&broker_config::groups, &group_settings::share_partition_max_record_locks>},
    {{"group.share.min.partition.max.record.locks", "integer", "100",
      "the lowest in-flight bound a share group may configure", 100, 10000, false},
     at<&broker_config::groups, &group_settings::share_min_partition_max_record_locks>},
    {{"group.share.max.partition.max.record.locks", "integer", "4000",
      "the highest in-flight bound a share group may configure", 100, 10000, false},
     at<&broker_config::groups, &group_settings::share_max_partition_max_record_locks>},
    {{"group.share.max.share.sessions", "integer", "2000", "share sessions this broker keeps open at once", 1,
      INT32_MAX, false},
     at<&broker_config::groups, &group_settings::share_max_share_sessions>},
    {{"group.share.assignors", "list", "[simple]",
      "share group assignors by name, from assignor plugins; the first is used"}},
    {{"group.share.policy", "string", "mosaic.share_policy.default",
      "the share policy plugin (what RELEASE, REJECT, a lock timeout and RENEW lead to); SIGHUP swaps it"}},
    {{"group.share.dlq.handler", "string", "mosaic.dlq.topic",
      "the DLQ handler plugin: where a share group's dead letters go (KIP-1191); SIGHUP swaps it"}},
    {{"errors.deadletterqueue.topic.name.prefix", "string", "dlq.",
      "a share group's dead-letter topic must start with this (empty: any name but __...)"}},
    {{"errors.deadletterqueue.auto.create.topics.enable", "boolean", "false",
      "create a share group's dead-letter topic when it is first written"}},
    {{"listeners", "list of maps", "[]",
      "network listeners: {name, host, port, adapter, security.protocol, sasl.enabled.mechanisms, ssl.*}; port 0 picks "
      "a free port; adapter is a protocol adapter plugin: kafka (short for mosaic.protocol.kafka) or another's id, "
      "its library and config from its plugins.load entry; or metrics for the operator's HTTP endpoints (/metrics, "
      "/health, /ready; PLAINTEXT only); security.protocol is PLAINTEXT (the default), SASL_PLAINTEXT, SSL or "
      "SASL_SSL; a listener's "
      "ssl.* keys override the broker's"}},
    {{"plugins.search_paths", "list", "[$ORIGIN/../lib/mosaic/plugins]",
      "folders searched for plugin libraries; relative to the config file's folder; $ORIGIN is mosaicd's folder"}},
    {{"plugins.load", "list", "[]",
      "plugins to instantiate: a plugin id, or {name, library, config}; library is 'builtin', a file name or a path"}},
    {{"plugins.trust", "map", "{}",
      "which plugin libraries may be loaded (built-in ones always): folders (only from these absolute folders, "
      "which with the library and its own folder must not be group- or world-writable), sha256 (only these "
      "digests, lowercase hex: mosaic plugin digest), require_signatures (only libraries with a .sig by one of "
      "public_keys: mosaic plugin keygen and sign); a refusal is logged and names the rule"}},
    {{"plugins.hot_swap", "map", "{enabled: false}",
      "cluster-wide plugin swaps (mosaic plugin swap, promote and rollback, recorded in the metadata log): enabled "
      "(this "
      "broker validates and accepts them; the swaps the cluster made apply whatever it says), smoke_timeout_ms (a "
      "swap's validation and smoke call, in a child process, at most; 10000)"}},
    {{"plugins.interceptors", "list of maps", "[]",
      "record interceptors on the produce path: {name, library, config, topics, prefixes}, each its own instance of "
      "a record interceptor plugin, seeing the batches produced to the topics named or starting with a prefix (\"\" "
      "for every topic); a topic's chain runs in this order"}},
};

const key_row* int_row(const std::string& key) {
  for (const auto& r : rows)
    if (r.field != nullptr && key == r.p.name) return &r;
  return nullptr;
}

class parser {
 public:
  parser(std::string source, std::set<std::string> overridden)
      : source_(std::move(source)), overridden_(std::move(overridden)) {}

  // Where the value at `path` came from.
  std::string where(const YAML::Node& node, const std::string& path) const {
    for (const auto& o : overridden_)
      if (path == o || path.rfind(o + ".", 0) == 0) return "--set " + o;
    const YAML::Mark m = node.Mark();
    if (m.is_null()) return source_;
    return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& path, const std::string& what) const {
    throw config_error{where(node, path) + ": key '" + path + "': " + what};
  }

  std::string scalar(const YAML::Node& node, const std::string& path) const {
    if (!node.IsScalar()) fail(node, path, "expects a single value");
    return node.Scalar();
  }

  int64_t integer(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi) const {
    std::string text = scalar(node, path);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || node.Tag() == "!")
      fail(node, path, "expects an integer, got '" + text + "'");
    if (v < lo || v > hi)
      fail(node, path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + text);
    return v;
  }

  // A list of strings; a plain scalar is read as a comma-separated list.
  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path) const {
    std::vector<std::string> out;
    if (node.IsScalar()) return sdk::detail::split_list(node.Scalar());
    if (!node.IsSequence()) fail(node, path, "expects a list");
    for (const auto& item : node) out.push_back(scalar(item, path));
    return out;
  }

  std::string text(const YAML::Node& node, const std::string& path) const {
    std::string s = scalar(node, path);
    if (s.empty()) fail(node, path, "must not be empty");
    return s;
  }

  broker_config parse(const YAML::Node& root, const std::filesystem::path& base_dir,
                      const std::filesystem::path& origin) const {
    broker_config cfg;
    cfg.source = source_;
    cfg.plugin_search_paths = {"$ORIGIN/../lib/mosaic/plugins"};
    if (!root || root.IsNull()) return finish(cfg, base_dir, origin);
    if (!root.IsMap()) fail(root, "", "the file must be a map of keys");
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "node.id") {
        cfg.node_id = static_cast<int32_t>(integer(v, key, 0, INT32_MAX));
      } else if (key == "process.roles") {
        cfg.process_roles = string_list(v, key);
        if (cfg.process_roles.empty()) fail(v, key, "needs at least one of broker, controller");
        std::set<std::string> seen;
        for (const auto& r : cfg.process_roles) {
          if (r != "broker" && r != "controller") fail(v, key, "unknown role '" + r + "' (broker or controller)");
          if (!seen.insert(r).second) fail(v, key, "role '" + r + "' is listed twice");
        }
      } else if (key == "log.dirs") {
        auto dirs = string_list(v, key);
        if (dirs.empty()) fail(v, key, "needs at least one folder");
        cfg.log_dirs.assign(dirs.begin(), dirs.end());
      } else if (key == "log_level") {
        cfg.log_level = scalar(v, key);
        if (!log::parse_level(cfg.log_level))
          fail(v, key, "unknown level '" + cfg.log_level + "' (trace, debug, info, warn, error, off)");
      } else if (auto* row = int_row(key)) {
        *row->field(cfg) = integer(v, key, row->p.min, row->p.max) * row->scale;
      } else if (key == "group.consumer.assignors") {
        cfg.groups.consumer_assignors = string_list(v, key);
        if (cfg.groups.consumer_assignors.empty()) fail(v, key, "needs at least one assignor");
      } else if (key == "group.share.assignors") {
        cfg.groups.share_assignors = string_list(v, key);
        if (cfg.groups.share_assignors.empty()) fail(v, key, "needs at least one assignor");
      } else if (key == "group.share.policy") {
        cfg.groups.share_policy = scalar(v, key);
        if (cfg.groups.share_policy.empty())
          fail(v, key, "names a share policy plugin, such as mosaic.share_policy.default");
      } else if (key == "group.share.dlq.handler") {
        cfg.groups.dlq_handler = scalar(v, key);
        if (cfg.groups.dlq_handler.empty()) fail(v, key, "names a DLQ handler plugin, such as mosaic.dlq.topic");
      } else if (key == "errors.deadletterqueue.topic.name.prefix") {
        cfg.groups.dlq_topic_prefix = scalar(v, key);
      } else if (key == "errors.deadletterqueue.auto.create.topics.enable") {
        const std::string b = scalar(v, key);
        if (b != "true" && b != "false") fail(v, key, "expects true or false, got '" + b + "'");
        cfg.groups.dlq_auto_create_topics = b == "true";
      } else if (key == "auto.leader.rebalance.enable") {
        const std::string b = scalar(v, key);
        if (b != "true" && b != "false") fail(v, key, "expects true or false, got '" + b + "'");
        cfg.server.auto_leader_rebalance = b == "true";
      } else if (key == "unclean.leader.election.enable") {
        const std::string b = scalar(v, key);
        if (b != "true" && b != "false") fail(v, key, "expects true or false, got '" + b + "'");
        cfg.server.unclean_leader_election = b == "true";
      } else if (key == "auto.create.topics.enable") {
        const std::string b = scalar(v, key);
        if (b != "true" && b != "false") fail(v, key, "expects true or false, got '" + b + "'");
        cfg.server.auto_create_topics = b == "true";
      } else if (key == "compression.type") {
        const std::string c = scalar(v, key);
        static const std::set<std::string> known = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"};
        if (!known.count(c)) fail(v, key, "must be producer, uncompressed, gzip, snappy, lz4 or zstd, got '" + c + "'");
        cfg.server.compression_type = c;
      } else if (key == "log.cleanup.policy") {
        const std::string c = scalar(v, key);
        if (c != "delete" && c != "compact" && c != "compact,delete" && c != "delete,compact")
          fail(v, key, "must be delete, compact or compact,delete, got '" + c + "'");
        cfg.server.cleanup_policy = c;
      } else if (key == "log.cleaner.enable") {
        const std::string b = scalar(v, key);
        if (b != "true" && b != "false") fail(v, key, "expects true or false, got '" + b + "'");
        cfg.log.cleaner_enable = b == "true";
      } else if (key == "cluster.id") {
        cfg.server.cluster_id = text(v, key);
      } else if (key == "broker.rack") {
        cfg.server.rack = text(v, key);
        if (cfg.server.rack.empty()) fail(v, key, "names a rack; leave the key out for none");
      } else if (key == "controller.quorum.voters") {
        cfg.quorum.voters.clear();
        std::set<int32_t> ids;
        for (const auto& item : string_list(v, key)) {
          auto voter = parse_voter(item);
          if (!voter) fail(v, key, "'" + item + "' is not id@host:port");
          if (!ids.insert(voter->id).second) fail(v, key, "node " + std::to_string(voter->id) + " is listed twice");
          cfg.quorum.voters.push_back(*voter);
        }
      } else if (key == "controller.quorum.election.timeout.ms") {
        cfg.quorum.election_timeout_ms = integer(v, key, 10, 3600000);
      } else if (key == "metadata.log.max.record.bytes.between.snapshots") {
        cfg.quorum.snapshot_bytes = integer(v, key, 1, INT64_MAX);
      } else if (key == "log.message.timestamp.type") {
        const std::string type = scalar(v, key);
        if (type != "CreateTime" && type != "LogAppendTime")
          fail(v, key, "must be CreateTime or LogAppendTime, got '" + type + "'");
        cfg.log.log_append_time = type == "LogAppendTime";
      } else if (key == "listeners") {
        cfg.listeners = listeners(v, key);
      } else if (key.rfind("ssl.", 0) == 0) {
        if (!tls_key(key, v, key, cfg.server.tls))
          fail(kv.first, key, "unknown key (see `mosaicd --help` for the keys)");
      } else if (key == "authorizer") {
        const std::string a = scalar(v, key);
        const bool id = a.find('.') != std::string::npos && std::all_of(a.begin(), a.end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                        });
        if (a != "none" && a != "acl" && !id)
          fail(v, key, "must be none, acl or an authorizer plugin id (such as mosaic.authz.rules), got '" + a + "'");
        cfg.server.authorizer = a;
      } else if (key == "super.users") {
        cfg.server.super_users = principals(v, key);
      } else if (key == "security.inter.broker.protocol") {
        const std::string p = scalar(v, key);
        if (p != "PLAINTEXT" && p != "SSL")
          fail(v, key,
               "must be PLAINTEXT or SSL (nodes authenticate each other by certificate, not SASL), got '" + p + "'");
        cfg.server.inter_broker_protocol = p;
      } else if (key == "inter.broker.peer.principals") {
        cfg.server.inter_broker_peer_principals = principals(v, key);
      } else if (key == "allow.everyone.if.no.acl.found") {
        const std::string b = scalar(v, key);
        if (b != "true" && b != "false") fail(v, key, "expects true or false, got '" + b + "'");
        cfg.server.allow_everyone_if_no_acl = b == "true";
      } else if (key == "sasl.enabled.mechanisms") {
        cfg.server.sasl_enabled_mechanisms = string_list(v, key);
      } else if (key == "telemetry.metrics") {
        cfg.server.telemetry_metrics = string_list(v, key);
      } else if (key == "plugins") {
        plugins(v, key, cfg);
      } else {
        fail(kv.first, key, "unknown key (see `mosaicd --help` for the keys)");
      }
    }
    return finish(cfg, base_dir, origin);
  }

 private:
  std::vector<listener_config> listeners(const YAML::Node& node, const std::string& path) const {
    if (!node.IsSequence()) fail(node, path, "expects a list of {name, host, port, adapter}");
    std::vector<listener_config> out;
    for (const auto& item : node) {
      if (!item.IsMap()) fail(item, path, "each listener is a map {name, host, port, adapter}");
      listener_config l;
      bool has_port = false;
      for (const auto& kv : item) {
        const std::string k = kv.first.as<std::string>();
        const std::string p = path + "." + k;
        if (k == "name") {
          l.name = text(kv.second, p);
        } else if (k == "host") {
          l.host = text(kv.second, p);
        } else if (k == "port") {
          l.port = static_cast<uint16_t>(integer(kv.second, p, 0, 65535));
          has_port = true;
        } else if (k == "adapter") {
          l.adapter = text(kv.second, p);
        } else if (k == "security.protocol") {
          l.security_protocol = text(kv.second, p);
          if (l.security_protocol != "PLAINTEXT" && l.security_protocol != "SASL_PLAINTEXT" &&
              l.security_protocol != "SSL" && l.security_protocol != "SASL_SSL")
            fail(kv.second, p, "must be PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL, got '" + l.security_protocol + "'");
        } else if (k == "sasl.enabled.mechanisms") {
          l.sasl_mechanisms = string_list(kv.second, p);
        } else if (!tls_key(k, kv.second, p, l.tls)) {
          fail(kv.first, p,
               "unknown listener key (name, host, port, adapter, security.protocol, sasl.enabled.mechanisms, "
               "ssl.*)");
        }
      }
      if (l.name.empty()) fail(item, path, "a listener needs a name");
      if (l.host.empty()) fail(item, path, "listener '" + l.name + "' needs a host");
      if (!has_port) fail(item, path, "listener '" + l.name + "' needs a port");
      if (l.adapter.empty()) fail(item, path, "listener '" + l.name + "' needs an adapter");
      for (const auto& other : out)
        if (other.name == l.name) fail(item, path, "listener name '" + l.name + "' is used twice");
      out.push_back(std::move(l));
    }
    return out;
  }

  // Principals (Type:name), from a list or Kafka's semicolon-separated
  // string.
  std::vector<std::string> principals(const YAML::Node& v, const std::string& key) const {
    std::vector<std::string> out;
    const auto items = v.IsSequence() ? string_list(v, key) : std::vector<std::string>{scalar(v, key)};
    for (const auto& item : items) {
      size_t at = 0;
      while (at <= item.size()) {
        auto end = item.find(';', at);
        if (end == std::string::npos) end = item.size();
        auto p = item.substr(at, end - at);
        p.erase(0, p.find_first_not_of(' '));
        p.erase(p.find_last_not_of(' ') + 1);
        if (!p.empty()) {
          const auto colon = p.find(':');
          if (colon == std::string::npos || colon == 0 || colon + 1 == p.size())
            fail(v, key, "'" + p + "' is not a principal of the form Type:name (User:admin)");
          out.push_back(p);
        }
        at = end + 1;
      }
    }
    return out;
  }

  // One of the ssl.* keys, into `t`; false for another key.
  bool tls_key(const std::string& k, const YAML::Node& v, const std::string& p, tls_config& t) const {
    if (k == "ssl.keystore.location") {
      t.keystore = text(v, p);
    } else if (k == "ssl.key.password") {
      t.key_password = text(v, p);
    } else if (k == "ssl.truststore.location") {
      t.truststore = text(v, p);
    } else if (k == "ssl.client.auth") {
      t.client_auth = scalar(v, p);
      if (*t.client_auth != "required" && *t.client_auth != "requested" && *t.client_auth != "none")
        fail(v, p, "must be required, requested or none, got '" + *t.client_auth + "'");
    } else if (k == "ssl.enabled.protocols") {
      t.protocols = v.IsSequence() ? string_list(v, p) : std::vector<std::string>{scalar(v, p)};
      if (t.protocols->empty()) fail(v, p, "names at least one of TLSv1.2, TLSv1.3");
      for (const auto& proto : *t.protocols)
        if (proto != "TLSv1.2" && proto != "TLSv1.3")
          fail(v, p, "'" + proto + "' is not TLSv1.2 or TLSv1.3 (older protocols are not served)");
    } else if (k == "ssl.cipher.suites") {
      t.cipher_suites = text(v, p);
    } else if (k == "ssl.principal.mapping.rules") {
      t.principal_rules = v.IsSequence() ? string_list(v, p) : std::vector<std::string>{scalar(v, p)};
    } else {
      return false;
    }
    return true;
  }

  void plugins(const YAML::Node& node, const std::string& path, broker_config& cfg) const {
    if (!node.IsMap()) fail(node, path, "expects a map with search_paths and load");
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      const std::string p = path + "." + k;
      if (k == "search_paths") {
        auto dirs = string_list(kv.second, p);
        cfg.plugin_search_paths.assign(dirs.begin(), dirs.end());
      } else if (k == "load") {
        if (!kv.second.IsSequence()) fail(kv.second, p, "expects a list of plugins");
        for (const auto& item : kv.second) cfg.plugins.push_back(plugin(item, p));
      } else if (k == "trust") {
        trust(kv.second, p, cfg);
      } else if (k == "hot_swap") {
        hot_swap(kv.second, p, cfg);
      } else if (k == "interceptors") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsSequence()) fail(kv.second, p, "expects a list of record interceptors");
        for (const auto& item : kv.second) cfg.interceptors.push_back(interceptor(item, p));
      } else {
        fail(kv.first, p, "unknown key (search_paths, load, interceptors, trust, hot_swap)");
      }
    }
    for (size_t i = 0; i < cfg.plugins.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (cfg.plugins[i].name == cfg.plugins[j].name)
          throw config_error{cfg.plugins[i].where + ": key 'plugins.load': plugin '" + cfg.plugins[i].name +
                             "' is listed twice"};
  }

  void trust(const YAML::Node& node, const std::string& path, broker_config& cfg) const {
    if (node.IsNull()) return;
    if (!node.IsMap()) fail(node, path, "expects a map with folders, sha256, require_signatures and public_keys");
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      const std::string p = path + "." + k;
      if (k == "folders") {
        auto dirs = string_list(kv.second, p);
        cfg.plugin_trust.folders.assign(dirs.begin(), dirs.end());
      } else if (k == "sha256") {
        cfg.plugin_trust.sha256 = string_list(kv.second, p);
      } else if (k == "require_signatures") {
        if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
          fail(kv.second, p, "expects true or false");
        cfg.plugin_trust.require_signatures = kv.second.Scalar() == "true";
      } else if (k == "public_keys") {
        cfg.plugin_trust.public_keys = string_list(kv.second, p);
      } else {
        fail(kv.first, p, "unknown key (folders, sha256, require_signatures, public_keys)");
      }
    }
  }

  void hot_swap(const YAML::Node& node, const std::string& path, broker_config& cfg) const {
    if (node.IsNull()) return;
    if (!node.IsMap()) fail(node, path, "expects a map with enabled and smoke_timeout_ms");
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      const std::string p = path + "." + k;
      if (k == "enabled") {
        if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
          fail(kv.second, p, "expects true or false");
        cfg.hot_swap.enabled = kv.second.Scalar() == "true";
      } else if (k == "smoke_timeout_ms") {
        cfg.hot_swap.smoke_timeout_ms = integer(kv.second, p, 100, 600000);
      } else {
        fail(kv.first, p, "unknown key (enabled, smoke_timeout_ms)");
      }
    }
  }

  interceptor_entry interceptor(const YAML::Node& item, const std::string& path) const {
    if (!item.IsMap()) fail(item, path, "each record interceptor is a map {name, library, config, topics, prefixes}");
    interceptor_entry e;
    YAML::Node plugin_part(YAML::NodeType::Map);
    for (const auto& kv : item) {
      const std::string k = kv.first.as<std::string>();
      const std::string p = path + "." + k;
      if (k == "topics") {
        e.topics = string_list(kv.second, p);
      } else if (k == "prefixes") {
        e.prefixes = string_list(kv.second, p);
      } else if (k == "name" || k == "library" || k == "config") {
        plugin_part[k] = kv.second;
      } else {
        fail(kv.first, p, "unknown key (name, library, config, topics, prefixes)");
      }
    }
    e.plugin = plugin(plugin_part, path);
    e.plugin.where = where(item, path);
    if (e.topics.empty() && e.prefixes.empty())
      fail(item, path, "a record interceptor needs topics or prefixes (prefixes: [\"\"] for every topic)");
    for (const auto& t : e.topics)
      if (t.empty()) fail(item, path + ".topics", "a topic name is not empty");
    return e;
  }

  plugin_entry plugin(const YAML::Node& item, const std::string& path) const {
    plugin_entry e;
    e.where = where(item, path);
    if (item.IsScalar()) {
      e.name = text(item, path);
      return e;
    }
    if (!item.IsMap()) fail(item, path, "each plugin is an id or a map {name, library, config}");
    for (const auto& kv : item) {
      const std::string k = kv.first.as<std::string>();
      const std::string p = path + "." + k;
      if (k == "name") {
        e.name = text(kv.second, p);
      } else if (k == "library") {
        e.library = text(kv.second, p);
      } else if (k == "config") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) fail(kv.second, p, "expects a map of the plugin's config keys");
        for (const auto& field : kv.second) e.config.push_back(raw(field.first.as<std::string>(), field.second, p));
      } else {
        fail(kv.first, p, "unknown key (name, library, config)");
      }
    }
    if (e.name.empty()) fail(item, path, "a plugin entry needs a name");
    return e;
  }

  sdk::raw_value raw(const std::string& name, const YAML::Node& node, const std::string& path) const {
    sdk::raw_value r;
    r.name = name;
    r.where = where(node, path + "." + name);
    if (node.IsNull()) {
      r.type = sdk::raw_value::kind::null;
    } else if (node.IsScalar()) {
      r.scalar = node.Scalar();
      r.quoted = node.Tag() == "!";
    } else if (node.IsSequence()) {
      r.type = sdk::raw_value::kind::list;
      for (const auto& item : node) {
        if (!item.IsScalar()) fail(item, path + "." + name, "list items must be single values");
        r.items.push_back(item.Scalar());
      }
    } else {
      r.type = sdk::raw_value::kind::map;
    }
    return r;
  }

  static std::optional<quorum_voter> parse_voter(const std::string& s) {
    const size_t at = s.find('@');
    const size_t colon = s.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at + 2 || colon + 1 == s.size())
      return std::nullopt;
    quorum_voter q;
    int64_t id = -1;
    int64_t port = -1;
    auto num = [](std::string_view t, int64_t& out) {
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
      return ec == std::errc{} && p == t.data() + t.size();
    };
    if (!num(std::string_view(s).substr(0, at), id) || id < 0 || id > INT32_MAX) return std::nullopt;
    if (!num(std::string_view(s).substr(colon + 1), port) || port < 1 || port > 65535) return std::nullopt;
    q.id = static_cast<int32_t>(id);
    q.host = s.substr(at + 1, colon - at - 1);
    q.port = static_cast<uint16_t>(port);
    return q;
  }

  broker_config finish(broker_config& cfg, const std::filesystem::path& base_dir,
                       const std::filesystem::path& origin) const {
    const bool controller =
        std::find(cfg.process_roles.begin(), cfg.process_roles.end(), "controller") != cfg.process_roles.end();
    const bool broker =
        std::find(cfg.process_roles.begin(), cfg.process_roles.end(), "broker") != cfg.process_roles.end();
    const bool listed = std::any_of(cfg.quorum.voters.begin(), cfg.quorum.voters.end(),
                                    [&](const quorum_voter& q) { return q.id == cfg.node_id; });
    if (controller && !cfg.quorum.voters.empty() && !listed)
      throw config_error{source_ + ": this node is a controller, but controller.quorum.voters does not list node.id " +
                         std::to_string(cfg.node_id)};
    if (!controller && cfg.quorum.voters.empty())
      throw config_error{source_ +
                         ": a broker-only node (process.roles: [broker]) needs controller.quorum.voters naming the "
                         "controllers whose metadata it follows"};
    if (!controller && listed)
      throw config_error{source_ + ": node.id " + std::to_string(cfg.node_id) +
                         " is listed in controller.quorum.voters, but process.roles has no controller"};
    // A metrics listener (the operator's HTTP endpoints) serves no client.
    if (!broker && std::any_of(cfg.listeners.begin(), cfg.listeners.end(),
                               [](const listener_config& l) { return l.adapter != "metrics"; }))
      throw config_error{source_ +
                         ": a controller-only node (process.roles: [controller]) serves no clients: remove its "
                         "client listeners (a metrics listener may stay), or add broker to process.roles"};
    if (cfg.groups.min_session_timeout_ms > cfg.groups.max_session_timeout_ms)
      throw config_error{
          source_ + ": group.min.session.timeout.ms (" + std::to_string(cfg.groups.min_session_timeout_ms) +
          ") is above group.max.session.timeout.ms (" + std::to_string(cfg.groups.max_session_timeout_ms) + ")"};
    // Files named relative to the config are found beside it: the broker's
    // own (the listeners' defaults, and the links between nodes), then each
    // TLS listener's, which takes the broker's ssl.* keys it does not set.
    for (auto* f : {&cfg.server.tls.keystore, &cfg.server.tls.truststore})
      if (*f && std::filesystem::path(**f).is_relative()) **f = (base_dir / **f).lexically_normal().string();
    for (auto& l : cfg.listeners) {
      if (!l.tls_enabled()) continue;
      auto& t = l.tls;
      const auto& d = cfg.server.tls;
      if (!t.keystore) t.keystore = d.keystore;
      if (!t.key_password) t.key_password = d.key_password;
      if (!t.truststore) t.truststore = d.truststore;
      if (!t.client_auth) t.client_auth = d.client_auth;
      if (!t.protocols) t.protocols = d.protocols;
      if (!t.cipher_suites) t.cipher_suites = d.cipher_suites;
      if (!t.principal_rules) t.principal_rules = d.principal_rules;
      if (!t.keystore)
        throw config_error{source_ + ": listener " + l.name + " is " + l.security_protocol +
                           " and needs ssl.keystore.location (a PEM file with its certificate chain and key)"};
      if (t.client_auth.value_or("none") != "none" && !t.truststore)
        throw config_error{source_ + ": listener " + l.name + " asks for client certificates (ssl.client.auth: " +
                           *t.client_auth + ") and needs ssl.truststore.location (the CAs that sign them)"};
      for (auto* f : {&t.keystore, &t.truststore})
        if (*f && std::filesystem::path(**f).is_relative()) **f = (base_dir / **f).lexically_normal().string();
    }
    // Between nodes: the broker's own ssl.* keys, both ways.
    if (cfg.server.inter_broker_protocol == "SSL") {
      auto& t = cfg.server.tls;
      if (!t.keystore || !t.truststore)
        throw config_error{source_ +
                           ": security.inter.broker.protocol is SSL and needs ssl.keystore.location (this node's "
                           "certificate and key, shown to the other nodes) and ssl.truststore.location (the CAs their "
                           "certificates chain to)"};
    } else if (!cfg.server.inter_broker_peer_principals.empty()) {
      throw config_error{source_ +
                         ": inter.broker.peer.principals needs security.inter.broker.protocol: SSL (the principals "
                         "come from the peers' certificates)"};
    }
    for (auto& dir : cfg.plugin_search_paths) {
      std::string s = dir.string();
      if (s.rfind("$ORIGIN", 0) == 0) {
        dir = origin / std::filesystem::path(s.substr(std::string("$ORIGIN").size())).relative_path();
      } else if (dir.is_relative()) {
        dir = base_dir / dir;
      }
      dir = dir.lexically_normal();
    }
    return std::move(cfg);
  }

  std::string source_;
  std::set<std::string> overridden_;
};

// Sets `value` at `key` in `root`. A dotted key is first tried whole (Kafka's
// names contain dots), then as a path into a nested map.
void apply_override(YAML::Node map, const std::string& key, const YAML::Node& value) {
  if (map[key] || key.find('.') == std::string::npos) {
    map[key] = value;
    return;
  }
  for (size_t dot = key.rfind('.'); dot != std::string::npos && dot > 0; dot = key.rfind('.', dot - 1)) {
    const std::string head = key.substr(0, dot);
    const bool known_section = head == "plugins";
    if ((map[head] && map[head].IsMap()) || known_section) {
      if (!map[head] || !map[head].IsMap()) map[head] = YAML::Node(YAML::NodeType::Map);
      apply_override(map[head], key.substr(dot + 1), value);
      return;
    }
    if (dot == 0) break;
  }
  map[key] = value;
}

}  // namespace

const std::vector<property>& documented_keys() {
  static const std::vector<property> keys = [] {
    std::vector<property> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(r.p);
    return out;
  }();
  return keys;
}

result<broker_config> parse_broker_config(const std::string& yaml_text, const std::string& source_name,
                                          const std::vector<std::string>& overrides,
                                          const std::filesystem::path& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return status(errc::config, source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                    std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  std::set<std::string> overridden;
  for (const auto& o : overrides) {
    size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) return status(errc::config, "--set " + o + ": expects key=value");
    const std::string key = o.substr(0, eq);
    YAML::Node value;
    try {
      value = YAML::Load(o.substr(eq + 1));
    } catch (const YAML::ParserException& e) {
      return status(errc::config, "--set " + key + ": the value is not valid YAML: " + e.msg);
    }
    if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) return status(errc::config, source_name + ": the file must be a map of keys");
    apply_override(root, key, value);
    overridden.insert(key);
  }
  try {
    std::filesystem::path base = std::filesystem::path(source_name).parent_path();
    return parser(source_name, std::move(overridden)).parse(root, base, origin);
  } catch (const config_error& e) {
    return status(errc::config, e.message);
  } catch (const YAML::Exception& e) {
    return status(errc::config, source_name + ": " + e.what());
  }
}

result<broker_config> load_broker_config(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                                         const std::filesystem::path& origin) {
  std::ifstream in(file);
  if (!in) return status(errc::config, file.string() + ": cannot read the config file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_broker_config(text.str(), file.string(), overrides, origin);
}

}  // namespace mosaic::config
