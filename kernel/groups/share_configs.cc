#include "kernel/groups/share_configs.h"

#include "kernel/base/numbers.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::groups {

namespace {

std::string integer_in(const std::string& name, const std::string& value, int64_t lo, int64_t hi) {
  if (auto v = parse_int64(value); v && *v >= lo && *v <= hi) return "";
  return name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + value +
         "'";
}

std::string boolean(const config::group_settings&, const std::string& name, const std::string& value) {
  return value == "true" || value == "false" ? "" : name + " must be true or false, got '" + value + "'";
}

const share_config_field fields[] = {
    {{"errors.deadletterqueue.copy.record.enable", "boolean", "false",
      "copy the record's key, value and timestamp into its dead letter (KIP-1191)", INT64_MIN, INT64_MAX, true},
     [](const config::group_settings&) -> std::string { return "false"; },
     boolean},
    {{"errors.deadletterqueue.topic.name", "string", "(none)",
      "the topic rejected records and those at the delivery limit go to; it starts with "
      "errors.deadletterqueue.topic.name.prefix",
      INT64_MIN, INT64_MAX, true},
     [](const config::group_settings&) -> std::string { return ""; },
     [](const config::group_settings& c, const std::string&, const std::string& value) -> std::string {
       if (value.empty()) return "";
       if (value.rfind("__", 0) == 0) return "a dead-letter topic name cannot start with '__'";
       if (!c.dlq_topic_prefix.empty() && value.rfind(c.dlq_topic_prefix, 0) != 0)
         return "the dead-letter topic must start with '" + c.dlq_topic_prefix +
                "' (errors.deadletterqueue.topic.name.prefix)";
       return "";
     }},
    {{"share.auto.offset.reset", "string", "latest",
      "where a share-partition with no state starts: latest, earliest or by_duration:<ISO-8601 duration>", INT64_MIN,
      INT64_MAX, true},
     [](const config::group_settings&) -> std::string { return "latest"; },
     [](const config::group_settings&, const std::string&, const std::string& value) -> std::string {
       if (value == "latest" || value == "earliest") return "";
       if (value.rfind("by_duration:", 0) == 0 && parse_duration_ms(std::string_view(value).substr(12))) return "";
       return "share.auto.offset.reset must be latest, earliest or by_duration:<ISO-8601 duration>, got '" + value +
              "'";
     }},
    {{"share.delivery.count.limit", "int", "(group.share.delivery.count.limit)",
      "deliveries of a record before it is archived or dead-lettered, within group.share.min/max.delivery.count.limit",
      INT64_MIN, INT64_MAX, true},
     [](const config::group_settings& c) { return std::to_string(c.share_delivery_count_limit); },
     [](const config::group_settings& c, const std::string& name, const std::string& value) {
       return integer_in(name, value, c.share_min_delivery_count_limit, c.share_max_delivery_count_limit);
     }},
    {{"share.heartbeat.interval.ms", "int", "(group.share.heartbeat.interval.ms)",
      "how often members send heartbeats (100 to 3600000)", INT64_MIN, INT64_MAX, true},
     [](const config::group_settings& c) { return std::to_string(c.share_heartbeat_interval_ms); },
     [](const config::group_settings&, const std::string& name, const std::string& value) {
       return integer_in(name, value, 100, 3600000);
     }},
    {{"share.isolation.level", "string", "read_uncommitted", "read_committed acquires up to the last stable offset",
      INT64_MIN, INT64_MAX, true},
     [](const config::group_settings&) -> std::string { return "read_uncommitted"; },
     [](const config::group_settings&, const std::string&, const std::string& value) -> std::string {
       return value == "read_committed" || value == "read_uncommitted"
                  ? ""
                  : "share.isolation.level must be read_committed or read_uncommitted, got '" + value + "'";
     }},
    {{"share.partition.max.record.locks", "int", "(group.share.partition.max.record.locks)",
      "records in flight per share-partition, within group.share.min/max.partition.max.record.locks", INT64_MIN,
      INT64_MAX, true},
     [](const config::group_settings& c) { return std::to_string(c.share_partition_max_record_locks); },
     [](const config::group_settings& c, const std::string& name, const std::string& value) {
       return integer_in(name, value, c.share_min_partition_max_record_locks, c.share_max_partition_max_record_locks);
     }},
    {{"share.record.lock.duration.ms", "int", "(group.share.record.lock.duration.ms)",
      "how long a fetched record stays locked to its member, within group.share.min/max.record.lock.duration.ms",
      INT64_MIN, INT64_MAX, true},
     [](const config::group_settings& c) { return std::to_string(c.share_record_lock_duration_ms); },
     [](const config::group_settings& c, const std::string& name, const std::string& value) {
       return integer_in(name, value, c.share_min_record_lock_duration_ms, c.share_max_record_lock_duration_ms);
     }},
    {{"share.renew.acknowledge.enable", "boolean", "true", "whether RENEW (KIP-1222) may extend a lock", INT64_MIN,
      INT64_MAX, true},
     [](const config::group_settings&) -> std::string { return "true"; },
     boolean},
    {{"share.session.timeout.ms", "int", "(group.share.session.timeout.ms)",
      "a member with no heartbeat for this long is removed (1000 to 3600000)", INT64_MIN, INT64_MAX, true},
     [](const config::group_settings& c) { return std::to_string(c.share_session_timeout_ms); },
     [](const config::group_settings&, const std::string& name, const std::string& value) {
       return integer_in(name, value, 1000, 3600000);
     }},
};

}  // namespace

std::span<const share_config_field> share_config_fields() { return fields; }

const share_config_field* find_share_config(const std::string& name) {
  for (const auto& f : fields)
    if (name == f.name) return &f;
  return nullptr;
}

std::string share_config_value(const share_overrides& overrides, const share_config_field& f,
                               const config::group_settings& s) {
  auto it = overrides.find(f.name);
  return it != overrides.end() ? it->second : f.broker_default(s);
}

std::optional<int64_t> parse_duration_ms(std::string_view s) {
  if (s.empty() || s[0] != 'P') return std::nullopt;
  int64_t total = 0;
  bool time = false, any = false;
  size_t i = 1;
  while (i < s.size()) {
    if (s[i] == 'T') {
      time = true;
      ++i;
      continue;
    }
    size_t j = i;
    int64_t n = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9' && n < (int64_t{1} << 40)) n = n * 10 + (s[j++] - '0');
    if (j == i || j >= s.size()) return std::nullopt;
    const char unit = s[j];
    if (!time && unit == 'D')
      total += n * 86400000;
    else if (time && unit == 'H')
      total += n * 3600000;
    else if (time && unit == 'M')
      total += n * 60000;
    else if (time && unit == 'S')
      total += n * 1000;
    else
      return std::nullopt;
    any = true;
    i = j + 1;
  }
  if (!any) return std::nullopt;
  return total;
}

int64_t share_group_config::reset_timestamp(int64_t wall_ms) const {
  if (auto_offset_reset == "earliest") return adapter::earliest_timestamp;
  if (auto_offset_reset.rfind("by_duration:", 0) == 0)
    return wall_ms - parse_duration_ms(std::string_view(auto_offset_reset).substr(12)).value_or(0);
  return adapter::latest_timestamp;
}

share_group_config resolve_share_configs(const share_overrides& overrides, const config::group_settings& s) {
  auto value = [&](const char* name) { return share_config_value(overrides, *find_share_config(name), s); };
  auto integer = [&](const char* name) {
    if (auto v = parse_int64(value(name))) return *v;
    return parse_int64(find_share_config(name)->broker_default(s)).value_or(0);
  };
  share_group_config c;
  c.limits.delivery_limit = static_cast<int32_t>(integer("share.delivery.count.limit"));
  c.limits.lock_ms = integer("share.record.lock.duration.ms");
  c.limits.max_in_flight = static_cast<int32_t>(integer("share.partition.max.record.locks"));
  c.limits.renew_enabled = value("share.renew.acknowledge.enable") == "true";
  c.dlq_topic = value("errors.deadletterqueue.topic.name");
  c.limits.dead_letter_topic = !c.dlq_topic.empty();
  c.dlq_copy_record = value("errors.deadletterqueue.copy.record.enable") == "true";
  c.session_timeout_ms = integer("share.session.timeout.ms");
  c.heartbeat_interval_ms = integer("share.heartbeat.interval.ms");
  c.read_committed = value("share.isolation.level") == "read_committed";
  c.auto_offset_reset = value("share.auto.offset.reset");
  return c;
}

}  // namespace mosaic::groups
