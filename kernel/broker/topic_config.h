// Topic configs: the keys a topic may set, how each is checked, its
// broker-wide default (from the YAML), and the log settings they make.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/config/broker_config.h"
#include "kernel/log/partition_log.h"

namespace mosaic::broker {

struct topic_key {
  const char* name;
  const char* type;  // as DescribeConfigs names types: long, int, string, list
  const char* broker_key;
  const char* doc;
};
const std::vector<topic_key>& topic_keys();

// An error message for a bad value, or nullopt if `value` is good for `name`.
std::optional<std::string> check_topic_config(const std::string& name, const std::string& value);

// The broker-wide default of every topic key, as text.
std::map<std::string, std::string> topic_defaults(const config::broker_config& cfg);

// The log settings of a topic: `overrides` over the broker's defaults, plus
// the broker-wide settings of every log (producer.id.expiration.ms).
log::log_config to_log_config(const config::broker_config& cfg, const std::map<std::string, std::string>& overrides);

}  // namespace mosaic::broker
