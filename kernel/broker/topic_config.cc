#include "kernel/broker/topic_config.h"

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "kernel/base/numbers.h"

namespace mosaic::broker {

namespace {

bool one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (v == a) return true;
  return false;
}

// "*", or a comma-separated list of PARTITION:BROKER pairs (the replication
// throttle lists).
bool replica_list(const std::string& v) {
  if (v.empty() || v == "*") return true;
  size_t at = 0;
  while (at <= v.size()) {
    size_t comma = v.find(',', at);
    if (comma == std::string::npos) comma = v.size();
    const std::string item = v.substr(at, comma - at);
    const size_t colon = item.find(':');
    if (colon == std::string::npos || !parse_int64(item.substr(0, colon)) || !parse_int64(item.substr(colon + 1)))
      return false;
    at = comma + 1;
  }
  return true;
}

}  // namespace

// Every topic config Kafka 4 defines. Those Mosaic does not act on yet are
// stored and described all the same (their doc says so), so that tools
// written for Kafka can set them.
const std::vector<topic_key>& topic_keys() {
  static const std::vector<topic_key> keys = {
      {{"cleanup.policy", "list", "delete", "delete (retention), compact (the latest record per key is kept) or both",
        INT64_MIN, INT64_MAX, true},
       "log.cleanup.policy",
       true},
      {{"compression.type", "string", "producer",
        "producer keeps the producer's codec; uncompressed, gzip, snappy, lz4 or zstd are accepted", INT64_MIN,
        INT64_MAX, true},
       "compression.type",
       true},
      {{"compression.gzip.level", "int", "-1",
        "gzip level for compression.type=gzip (-1 or 1-9); stored, the codec plugin's level applies", INT64_MIN,
        INT64_MAX, true},
       "compression.gzip.level",
       false},
      {{"compression.lz4.level", "int", "9",
        "lz4 level for compression.type=lz4 (1-17); stored, the codec plugin's level applies", 1, 17, true},
       "compression.lz4.level",
       false},
      {{"compression.zstd.level", "int", "3",
        "zstd level for compression.type=zstd; stored, the codec plugin's level applies", -131072, 22, true},
       "compression.zstd.level",
       false},
      {{"delete.retention.ms", "long", "86400000",
        "how long a compacted topic keeps tombstones after their first cleaning", 0, INT64_MAX, true},
       "log.cleaner.delete.retention.ms",
       true},
      {{"file.delete.delay.ms", "long", "60000",
        "wait before a deleted segment's files go; Mosaic removes them at once", 0, INT64_MAX, true},
       "log.segment.delete.delay.ms",
       false},
      {{"flush.messages", "long", "9223372036854775807", "fsync after this many unflushed messages", 1, INT64_MAX,
        true},
       "log.flush.interval.messages",
       true},
      {{"flush.ms", "long", "9223372036854775807", "fsync when the oldest unflushed append is this old", 0, INT64_MAX,
        true},
       "log.flush.interval.ms",
       true},
      {{"follower.replication.throttled.replicas", "list", "",
        "replicas whose follower fetches are throttled; stored, not acted on yet", INT64_MIN, INT64_MAX, true},
       nullptr,
       false},
      {{"index.interval.bytes", "int", "4096", "bytes between offset index entries", 0, INT32_MAX, true},
       "log.index.interval.bytes",
       true},
      {{"leader.replication.throttled.replicas", "list", "",
        "replicas whose leader side is throttled; stored, not acted on yet", INT64_MIN, INT64_MAX, true},
       nullptr,
       false},
      {{"local.retention.bytes", "long", "-2",
        "local bytes kept with tiered storage; stored (Mosaic has no tiered storage)", -2, INT64_MAX, true},
       "log.local.retention.bytes",
       false},
      {{"local.retention.ms", "long", "-2",
        "local time kept with tiered storage; stored (Mosaic has no tiered storage)", -2, INT64_MAX, true},
       "log.local.retention.ms",
       false},
      {{"max.compaction.lag.ms", "long", "9223372036854775807",
        "a compacted log with records this old uncleaned is cleaned whatever its dirty ratio", 1, INT64_MAX, true},
       "log.cleaner.max.compaction.lag.ms",
       true},
      {{"max.message.bytes", "int", "1048588", "the largest record batch accepted", 0, INT32_MAX, true},
       "message.max.bytes",
       true},
      {{"message.downconversion.enable", "boolean", "true", "no-op since Kafka 4.0 (no down-conversion); accepted",
        INT64_MIN, INT64_MAX, true},
       nullptr,
       false},
      {{"message.timestamp.after.max.ms", "long", "3600000",
        "how far ahead of the broker's clock a CreateTime timestamp may be; stored, not enforced yet", 0, INT64_MAX,
        true},
       "log.message.timestamp.after.max.ms",
       false},
      {{"message.timestamp.before.max.ms", "long", "9223372036854775807",
        "how far behind the broker's clock a CreateTime timestamp may be; stored, not enforced yet", 0, INT64_MAX,
        true},
       "log.message.timestamp.before.max.ms",
       false},
      {{"message.timestamp.type", "string", "CreateTime", "CreateTime or LogAppendTime", INT64_MIN, INT64_MAX, true},
       "log.message.timestamp.type",
       true},
      {{"min.cleanable.dirty.ratio", "double", "0.5",
        "the share of a compacted log written since its last cleaning that starts a cleaning", INT64_MIN, INT64_MAX,
        true},
       "log.cleaner.min.cleanable.ratio",
       true},
      {{"min.compaction.lag.ms", "long", "0", "records younger than this are not compacted", 0, INT64_MAX, true},
       "log.cleaner.min.compaction.lag.ms",
       true},
      {{"min.insync.replicas", "int", "1", "replicas that must have a record for acks=all", 1, INT32_MAX, true},
       "min.insync.replicas",
       true},
      {{"preallocate", "boolean", "false",
        "preallocate a new segment's file; stored (log.preallocate.bytes sets it broker-wide)", INT64_MIN, INT64_MAX,
        true},
       "log.preallocate",
       false},
      {{"remote.log.copy.disable", "boolean", "false", "tiered storage; stored (Mosaic has none)", INT64_MIN, INT64_MAX,
        true},
       nullptr,
       false},
      {{"remote.log.delete.on.disable", "boolean", "false", "tiered storage; stored (Mosaic has none)", INT64_MIN,
        INT64_MAX, true},
       nullptr,
       false},
      {{"remote.storage.enable", "boolean", "false", "tiered storage; only false (Mosaic has none)", INT64_MIN,
        INT64_MAX, true},
       nullptr,
       false},
      {{"retention.bytes", "long", "-1", "a partition keeps at most this much; -1: no limit", -1, INT64_MAX, true},
       "log.retention.bytes",
       true},
      {{"retention.ms", "long", "604800000", "segments older than this are deleted; -1 keeps them", -1, INT64_MAX,
        true},
       "log.retention.ms",
       true},
      {{"segment.bytes", "int", "1073741824", "a segment rolls at this size", 14, INT32_MAX, true},
       "log.segment.bytes",
       true},
      {{"segment.index.bytes", "int", "10485760",
        "the offset index's largest size; stored, Mosaic's indexes grow as needed", 4, INT32_MAX, true},
       "log.index.size.max.bytes",
       false},
      {{"segment.jitter.ms", "long", "0", "random shortening of segment.ms; stored, not acted on yet", 0, INT64_MAX,
        true},
       "log.roll.jitter.ms",
       false},
      {{"segment.ms", "long", "604800000", "a segment rolls this long after its first append", 1, INT64_MAX, true},
       "log.roll.ms",
       true},
      {{"unclean.leader.election.enable", "boolean", "false",
        "a partition with no eligible replica elects any live one (may lose acknowledged records)", INT64_MIN,
        INT64_MAX, true},
       "unclean.leader.election.enable",
       true},
  };
  return keys;
}

const topic_key* find_topic_key(const std::string& name) {
  for (const auto& k : topic_keys())
    if (name == k.name) return &k;
  return nullptr;
}

std::optional<std::string> check_topic_config(const std::string& name, const std::string& value) {
  const topic_key* key = find_topic_key(name);
  if (!key) return "Unknown topic config name: " + name;
  if (name == "cleanup.policy") {
    if (one_of(value, {"delete", "compact", "compact,delete", "delete,compact"})) return std::nullopt;
    return "must be delete, compact or compact,delete, got '" + value + "'";
  }
  if (name == "compression.type") {
    if (one_of(value, {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"})) return std::nullopt;
    return "must be producer, uncompressed, gzip, snappy, lz4 or zstd, got '" + value + "'";
  }
  if (name == "compression.gzip.level") {
    auto v = parse_int64(value);
    if (v && (*v == -1 || (*v >= 1 && *v <= 9))) return std::nullopt;
    return "must be -1 or between 1 and 9, got " + value;
  }
  if (std::string_view(key->type) == "int" || std::string_view(key->type) == "long") {
    auto v = parse_int64(value);
    if (!v) return "'" + value + "' is not an integer";
    if (*v < key->min || *v > key->max)
      return "must be between " + std::to_string(key->min) + " and " + std::to_string(key->max) + ", got " + value;
    return std::nullopt;
  }
  if (name == "message.timestamp.type") {
    if (one_of(value, {"CreateTime", "LogAppendTime"})) return std::nullopt;
    return "must be CreateTime or LogAppendTime, got '" + value + "'";
  }
  if (name == "min.cleanable.dirty.ratio") {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !(v >= 0.0 && v <= 1.0))
      return "must be a number between 0 and 1, got '" + value + "'";
    return std::nullopt;
  }
  if (name == "remote.storage.enable") {
    if (value == "false") return std::nullopt;
    return "Mosaic has no tiered storage; only false is accepted";
  }
  if (std::string_view(key->type) == "boolean") {
    if (one_of(value, {"true", "false"})) return std::nullopt;
    return "must be true or false, got '" + value + "'";
  }
  if (name == "leader.replication.throttled.replicas" || name == "follower.replication.throttled.replicas") {
    if (replica_list(value)) return std::nullopt;
    return "must be * or a list of PARTITION:BROKER pairs, got '" + value + "'";
  }
  return std::nullopt;
}

std::map<std::string, std::string> topic_defaults(const config::broker_config& cfg,
                                                  const std::map<std::string, std::string>& dynamic) {
  std::map<std::string, std::string> out;
  for (const auto& k : topic_keys()) out[k.name] = k.default_value;
  // Where Mosaic has a setting of its own, the YAML's value.
  std::map<std::string, std::string> mine = {
      {"cleanup.policy", cfg.server.cleanup_policy},
      {"compression.type", cfg.server.compression_type},
      {"retention.ms", std::to_string(cfg.log.retention_ms)},
      {"retention.bytes", std::to_string(cfg.log.retention_bytes)},
      {"segment.bytes", std::to_string(cfg.log.segment_bytes)},
      {"segment.ms", std::to_string(cfg.log.roll_ms)},
      {"max.message.bytes", std::to_string(cfg.log.message_max_bytes)},
      {"message.timestamp.type", cfg.log.log_append_time ? "LogAppendTime" : "CreateTime"},
      {"min.insync.replicas", std::to_string(cfg.server.min_insync_replicas)},
      {"flush.messages", std::to_string(cfg.log.flush_interval_messages)},
      {"flush.ms", std::to_string(cfg.log.flush_interval_ms)},
      {"index.interval.bytes", std::to_string(cfg.log.index_interval_bytes)},
      {"unclean.leader.election.enable", cfg.server.unclean_leader_election ? "true" : "false"},
  };
  for (auto& [k, v] : mine) out[k] = std::move(v);
  for (const auto& k : topic_keys()) {
    if (k.broker_key == nullptr) continue;
    auto d = dynamic.find(k.broker_key);
    if (d != dynamic.end()) out[k.name] = d->second;
  }
  return out;
}

const topic_key* dynamic_broker_key(const std::string& broker_key, std::string& why) {
  for (const auto& k : topic_keys()) {
    if (k.broker_key == nullptr || broker_key != k.broker_key) continue;
    // Read where they are used from the YAML's value, not from the
    // metadata: dynamic in Kafka, not yet in Mosaic.
    for (const char* fixed :
         {"min.insync.replicas", "compression.type", "unclean.leader.election.enable", "cleanup.policy"})
      if (std::string_view(k.name) == fixed) {
        why = broker_key + " is not dynamic in Mosaic yet; set it in the YAML and restart";
        return nullptr;
      }
    return &k;
  }
  why = broker_key + " cannot be changed at run time; set it in the YAML and restart";
  return nullptr;
}

log::log_config to_log_config(const config::broker_config& cfg, const std::map<std::string, std::string>& overrides) {
  return to_log_config(cfg, topic_defaults(cfg), overrides);
}

log::log_config to_log_config(const config::broker_config& cfg, const std::map<std::string, std::string>& defaults,
                              const std::map<std::string, std::string>& overrides) {
  auto get = [&](const char* key) -> std::string {
    auto o = overrides.find(key);
    if (o != overrides.end()) return o->second;
    auto d = defaults.find(key);
    return d == defaults.end() ? std::string() : d->second;
  };
  auto num = [&](const char* key, int64_t fallback) { return parse_int64(get(key)).value_or(fallback); };
  log::log_config c;
  c.segment_bytes = static_cast<uint64_t>(num("segment.bytes", static_cast<int64_t>(c.segment_bytes)));
  c.segment_ms = num("segment.ms", c.segment_ms);
  c.index_interval_bytes = static_cast<size_t>(num("index.interval.bytes", 4096));
  c.max_message_bytes = static_cast<size_t>(num("max.message.bytes", static_cast<int64_t>(c.max_message_bytes)));
  c.retention_ms = num("retention.ms", c.retention_ms);
  c.retention_bytes = num("retention.bytes", c.retention_bytes);
  c.flush_messages = num("flush.messages", c.flush_messages);
  c.flush_ms = num("flush.ms", c.flush_ms);
  c.log_append_time = get("message.timestamp.type") == "LogAppendTime";
  c.producer_expiration_ms = cfg.log.producer_id_expiration_ms;
  const std::string policy = get("cleanup.policy");
  c.cleanup_compact = policy.find("compact") != std::string::npos;
  c.cleanup_delete = policy.find("delete") != std::string::npos;
  c.delete_retention_ms = num("delete.retention.ms", c.delete_retention_ms);
  c.min_compaction_lag_ms = num("min.compaction.lag.ms", c.min_compaction_lag_ms);
  c.max_compaction_lag_ms = num("max.compaction.lag.ms", c.max_compaction_lag_ms);
  c.min_cleanable_dirty_ratio = std::strtod(get("min.cleanable.dirty.ratio").c_str(), nullptr);
  c.preallocate_bytes = static_cast<uint64_t>(cfg.log.preallocate_bytes);
  return c;
}

}  // namespace mosaic::broker
