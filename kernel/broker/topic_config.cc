#include "kernel/broker/topic_config.h"

#include <charconv>
#include <cstdint>

namespace mosaic::broker {

namespace {

std::optional<int64_t> parse_long(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct range {
  const char* name;
  int64_t lo;
  int64_t hi;
};
constexpr range ranges[] = {
    {"retention.ms", -1, INT64_MAX},  {"retention.bytes", -1, INT64_MAX},  {"segment.bytes", 14, INT32_MAX},
    {"segment.ms", 1, INT64_MAX},     {"max.message.bytes", 0, INT32_MAX}, {"min.insync.replicas", 1, INT32_MAX},
    {"flush.messages", 1, INT64_MAX}, {"flush.ms", 0, INT64_MAX},          {"index.interval.bytes", 0, INT32_MAX},
};

}  // namespace

const std::vector<topic_key>& topic_keys() {
  static const std::vector<topic_key> keys = {
      {"cleanup.policy", "list", "log.cleanup.policy", "delete (compact is not available yet)"},
      {"compression.type", "string", "compression.type",
       "producer keeps the producer's codec; uncompressed, gzip, snappy, lz4 or zstd are accepted"},
      {"retention.ms", "long", "log.retention.ms", "segments older than this are deleted; -1 keeps them"},
      {"retention.bytes", "long", "log.retention.bytes", "a partition keeps at most this much; -1: no limit"},
      {"segment.bytes", "int", "log.segment.bytes", "a segment rolls at this size"},
      {"segment.ms", "long", "log.roll.ms", "a segment rolls this long after its first append"},
      {"max.message.bytes", "int", "message.max.bytes", "the largest record batch accepted"},
      {"message.timestamp.type", "string", "log.message.timestamp.type", "CreateTime or LogAppendTime"},
      {"min.insync.replicas", "int", "min.insync.replicas", "replicas that must have a record for acks=all"},
      {"flush.messages", "long", "log.flush.interval.messages", "fsync after this many unflushed messages"},
      {"flush.ms", "long", "log.flush.interval.ms", "fsync when the oldest unflushed append is this old"},
      {"index.interval.bytes", "int", "log.index.interval.bytes", "bytes between offset index entries"},
      {"unclean.leader.election.enable", "boolean", "unclean.leader.election.enable",
       "a partition with no eligible replica elects any live one (may lose acknowledged records)"},
  };
  return keys;
}

std::optional<std::string> check_topic_config(const std::string& name, const std::string& value) {
  for (const auto& r : ranges) {
    if (name != r.name) continue;
    auto v = parse_long(value);
    if (!v) return "'" + value + "' is not an integer";
    if (*v < r.lo || *v > r.hi)
      return "must be between " + std::to_string(r.lo) + " and " + std::to_string(r.hi) + ", got " + value;
    return std::nullopt;
  }
  if (name == "cleanup.policy") {
    if (value == "delete") return std::nullopt;
    if (value.find("compact") != std::string::npos) return "compaction is not available yet; use delete";
    return "must be delete, got '" + value + "'";
  }
  if (name == "compression.type") {
    for (const char* c : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"})
      if (value == c) return std::nullopt;
    return "must be producer, uncompressed, gzip, snappy, lz4 or zstd, got '" + value + "'";
  }
  if (name == "unclean.leader.election.enable") {
    if (value == "true" || value == "false") return std::nullopt;
    return "must be true or false, got '" + value + "'";
  }
  if (name == "message.timestamp.type") {
    if (value == "CreateTime" || value == "LogAppendTime") return std::nullopt;
    return "must be CreateTime or LogAppendTime, got '" + value + "'";
  }
  return "unknown topic config";
}

std::map<std::string, std::string> topic_defaults(const config::broker_config& cfg) {
  return {
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
}

log::log_config to_log_config(const config::broker_config& cfg, const std::map<std::string, std::string>& overrides) {
  const auto defaults = topic_defaults(cfg);
  auto get = [&](const char* key) -> std::string {
    auto o = overrides.find(key);
    if (o != overrides.end()) return o->second;
    auto d = defaults.find(key);
    return d == defaults.end() ? std::string() : d->second;
  };
  auto num = [&](const char* key, int64_t fallback) { return parse_long(get(key)).value_or(fallback); };
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
  c.preallocate_bytes = static_cast<uint64_t>(cfg.log.preallocate_bytes);
  return c;
}

}  // namespace mosaic::broker
