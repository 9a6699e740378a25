// A share group's configs (GROUP resources: KIP-932's share.* keys and
// KIP-1191's dead-letter keys): one table of name, DescribeConfigs type,
// default (the broker's setting) and check. What a group overrides is
// kept as given (for DescribeConfigs and the log) and parsed once, when
// it changes, into `share_group_config`, which the fetch and
// acknowledgement paths read: no parsing per request.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kernel/config/broker_config.h"
#include "kernel/config/property.h"
#include "kernel/groups/share_partition.h"

namespace mosaic::groups {

using share_overrides = std::map<std::string, std::string>;  // config name -> value

// A share group config: its property (type as DescribeConfigs names it:
// int, boolean or string; the default as documented; every one dynamic),
// and what the broker's settings make of it:
struct share_config_field : config::property {
  std::string (*broker_default)(const config::group_settings&) = nullptr;
  // Why `value` is not acceptable (empty: it is); an integer's bounds are
  // the broker's (group.share.min/max.*).
  std::string (*check)(const config::group_settings&, const std::string& name, const std::string& value) = nullptr;
};

// Every share group config, by name.
std::span<const share_config_field> share_config_fields();
const share_config_field* find_share_config(const std::string& name);
// A config's value for a group with `overrides`: its own, else the default.
std::string share_config_value(const share_overrides& overrides, const share_config_field& f,
                               const config::group_settings& s);

// ISO-8601 durations of the form PnDTnHnMnS (share.auto.offset.reset's
// by_duration), in ms.
std::optional<int64_t> parse_duration_ms(std::string_view s);

// A group's configs, typed.
struct share_group_config {
  share_limits limits;                       // delivery count, lock duration, record locks, renewals, DLQ
  int64_t session_timeout_ms = 45000;        // share.session.timeout.ms
  int64_t heartbeat_interval_ms = 5000;      // share.heartbeat.interval.ms
  bool read_committed = false;               // share.isolation.level
  std::string auto_offset_reset = "latest";  // share.auto.offset.reset
  std::string dlq_topic;                     // errors.deadletterqueue.topic.name
  bool dlq_copy_record = false;              // errors.deadletterqueue.copy.record.enable

  // The log timestamp a new share-partition starts from (ListOffsets'
  // latest or earliest, or a time for by_duration) at wall time `wall_ms`.
  int64_t reset_timestamp(int64_t wall_ms) const;
};

// Parses a group's overrides over the broker's defaults; an integer that
// does not parse (never stored through the checks) counts as the default.
share_group_config resolve_share_configs(const share_overrides& overrides, const config::group_settings& s);

}  // namespace mosaic::groups
