// Topic configs: the keys a topic may set, how each is checked, its
// broker-wide default (from the YAML), and the log settings they make.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/config/broker_config.h"
#include "kernel/config/property.h"
#include "kernel/log/partition_log.h"

namespace mosaic::broker {

// A topic config: its property (the type as DescribeConfigs names types:
// long, int, double, string, list, boolean; the default Kafka's, used where
// Mosaic has no setting of its own; an integer's range), and:
struct topic_key : config::property {
  const char* broker_key = nullptr;  // the broker-wide default's key; nullptr: none
  bool honoured = true;              // false: stored and described, not acted on yet
};
const std::vector<topic_key>& topic_keys();
const topic_key* find_topic_key(const std::string& name);

// An error message for a bad value or an unknown name ("Unknown topic
// config name: ..."), or nullopt if `value` is good for `name`.
std::optional<std::string> check_topic_config(const std::string& name, const std::string& value);

// The broker-wide default of every topic key, as text: Kafka's, then the
// YAML's, then `dynamic` (dynamic broker configs, by broker key: the
// cluster-wide ones overlaid with this broker's own).
std::map<std::string, std::string> topic_defaults(const config::broker_config& cfg,
                                                  const std::map<std::string, std::string>& dynamic = {});

// The topic key whose broker-wide default `broker_key` is, if that default
// may be changed at run time (IncrementalAlterConfigs on a BROKER);
// nullptr otherwise. `why` says why not.
const topic_key* dynamic_broker_key(const std::string& broker_key, std::string& why);

// The log settings of a topic: `overrides` over `defaults` (topic_defaults),
// plus the broker-wide settings of every log (producer.id.expiration.ms).
log::log_config to_log_config(const config::broker_config& cfg, const std::map<std::string, std::string>& defaults,
                              const std::map<std::string, std::string>& overrides);
// The same over the YAML's defaults.
log::log_config to_log_config(const config::broker_config& cfg, const std::map<std::string, std::string>& overrides);

}  // namespace mosaic::broker
