// The broker service's configs: DescribeConfigs and (Incremental)AlterConfigs
// for topics and brokers, and the topic defaults the logs are opened with.
//
// Topic overrides and dynamic broker configs are config records in the
// metadata log (resource type 2 and 4). Every broker re-reads them after a
// metadata change that touched configs (refresh_configs), so a change made
// through any broker reaches the logs of all of them.
#include <algorithm>

#include "kernel/base/log.h"
#include "kernel/broker/service.h"
#include "kernel/broker/topic_config.h"

namespace mosaic::broker {

using adapter::error;
using adapter::outcome;

namespace {

// The dynamic broker configs that apply to `node`, by broker key: the
// cluster-wide ones ("") overlaid with the broker's own.
std::map<std::string, std::string> dynamic_for(const metadata::image& i, int32_t node) {
  std::map<std::string, std::string> out;
  const auto& all = i.broker_configs();
  if (auto c = all.find(""); c != all.end()) out = c->second;
  if (auto c = all.find(std::to_string(node)); c != all.end())
    for (const auto& [k, v] : c->second) out[k] = v;
  return out;
}

// The config records that take a resource's configs from `before` to
// `after`: a null value for each key that goes.
std::vector<metadata::record> config_changes(int8_t resource_type, const std::string& name,
                                             const std::map<std::string, std::string>& before,
                                             const std::map<std::string, std::string>& after) {
  std::vector<metadata::record> records;
  for (const auto& [k, v] : before)
    if (!after.count(k)) records.emplace_back(metadata::config_record{resource_type, name, k, std::nullopt});
  for (const auto& [k, v] : after) {
    auto b = before.find(k);
    if (b == before.end() || b->second != v) records.emplace_back(metadata::config_record{resource_type, name, k, v});
  }
  return records;
}

}  // namespace

std::map<std::string, std::string> service::current_defaults() const {
  std::lock_guard g(defaults_mu_);
  return defaults_;
}

log::log_config service::log_config_of(const std::map<std::string, std::string>& overrides) const {
  return to_log_config(cfg_, current_defaults(), overrides);
}

void service::refresh_configs() {
  // The topics whose configs changed since the last call; all of them
  // when the dynamic broker configs (every topic's defaults) changed.
  std::lock_guard g(configs_mu_);
  struct topic {
    std::string name;
    size_t partitions;
    std::map<std::string, std::string> overrides;
  };
  std::vector<topic> topics;
  std::optional<std::map<std::string, std::string>> dynamic;
  store_->read([&](const metadata::image& i) {
    const auto changes = i.changes_since(configs_seen_);
    configs_seen_ = changes.version;
    if (changes.broker_configs) {
      dynamic = dynamic_for(i, cfg_.node_id);
      for (const auto& [name, t] : i.topics()) topics.push_back({name, t.partitions.size(), t.configs});
      return;
    }
    for (const auto& name : changes.topics)
      if (const auto* t = i.find(name); t && t->configured > changes.since)
        topics.push_back({name, t->partitions.size(), t->configs});
  });
  if (dynamic) {
    auto defaults = topic_defaults(cfg_, *dynamic);
    std::lock_guard d(defaults_mu_);
    defaults_ = std::move(defaults);
  }
  const auto defaults = current_defaults();
  std::shared_lock logs(logs_mu_);
  for (const auto& t : topics) {
    const auto config = to_log_config(cfg_, defaults, t.overrides);
    // Open or not: a log not open takes it when it opens.
    for (size_t p = 0; p < t.partitions; ++p) logs_->set_config(t.name, static_cast<int32_t>(p), config);
  }
}

outcome service::describe_configs(adapter::resource_type type, const std::string& name,
                                  const std::vector<std::string>& names,
                                  std::vector<adapter::config_value>& out) const {
  auto wanted = [&](const std::string& key) {
    return names.empty() || std::find(names.begin(), names.end(), key) != names.end();
  };
  if (type == adapter::resource_type::broker) {
    if (!name.empty() && name != std::to_string(cfg_.node_id))
      return outcome::fail(error::invalid_request, "This node is broker " + std::to_string(cfg_.node_id) + ".");
    describe_broker_configs(name, wanted, out);
    return {};
  }
  auto t = find_topic(name);
  if (!t) return outcome::fail(error::unknown_topic_or_partition, "Topic '" + name + "' does not exist.");
  auto overrides = store_->read([&](const metadata::image& i) { return i.find(name)->configs; });
  const auto defaults = current_defaults();
  for (const auto& k : topic_keys()) {
    if (!wanted(k.name)) continue;
    auto o = overrides.find(k.name);
    adapter::config_value v{
        k.name,
        o != overrides.end() ? o->second : defaults.at(k.name),
        o != overrides.end() ? adapter::config_source::topic : adapter::config_source::default_value,
        false,
        false,
        k.type,
        k.doc};
    out.push_back(std::move(v));
  }
  return {};
}

// `name` "": the cluster-wide dynamic defaults only (as Kafka describes the
// default broker resource); this broker's id: everything it runs with,
// each value with where it comes from.
void service::describe_broker_configs(const std::string& name, const std::function<bool(const std::string&)>& wanted,
                                      std::vector<adapter::config_value>& out) const {
  const auto [cluster, own] = store_->read([&](const metadata::image& i) {
    std::map<std::string, std::string> c, o;
    const auto& all = i.broker_configs();
    if (auto it = all.find(""); it != all.end()) c = it->second;
    if (auto it = all.find(std::to_string(cfg_.node_id)); it != all.end()) o = it->second;
    return std::pair{c, o};
  });
  const auto yaml = topic_defaults(cfg_);
  for (const auto& k : topic_keys()) {
    if (k.broker_key == nullptr || !wanted(k.broker_key)) continue;
    std::string why;
    const bool dynamic = dynamic_broker_key(k.broker_key, why) != nullptr;
    auto value = yaml.at(k.name);
    auto source = adapter::config_source::static_broker;
    if (auto c = cluster.find(k.broker_key); c != cluster.end()) {
      value = c->second;
      source = adapter::config_source::dynamic_default_broker;
    } else if (name.empty()) {
      continue;
    }
    if (auto o = own.find(k.broker_key); o != own.end() && !name.empty()) {
      value = o->second;
      source = adapter::config_source::dynamic_broker;
    }
    out.push_back({k.broker_key, value, source, !dynamic, false, k.type, k.doc});
  }
  if (!name.empty()) {
    auto add = [&](const std::string& key, const std::string& value, const char* kind, const char* doc) {
      if (wanted(key)) out.push_back({key, value, adapter::config_source::static_broker, true, false, kind, doc});
    };
    add("num.partitions", std::to_string(cfg_.server.num_partitions), "int", "partitions of a new topic");
    add("default.replication.factor", std::to_string(cfg_.server.default_replication_factor), "int",
        "replicas of a new topic");
    add("auto.create.topics.enable", cfg_.server.auto_create_topics ? "true" : "false", "boolean",
        "Metadata for an unknown topic creates it");
    add("node.id", std::to_string(cfg_.node_id), "int", "this node's id");
    add("socket.request.max.bytes", std::to_string(cfg_.server.socket_request_max_bytes), "int",
        "the largest request accepted");
  }
}

outcome service::alter_configs(adapter::resource_type type, const std::string& name,
                               const std::vector<adapter::config_change>& changes, bool incremental,
                               bool validate_only) {
  if (type == adapter::resource_type::broker) return alter_broker_configs(name, changes, incremental, validate_only);
  std::lock_guard admin(admin_mu_);
  if (!find_topic(name))
    return outcome::fail(error::unknown_topic_or_partition, "Topic '" + name + "' does not exist.");
  const auto before = store_->read([&](const metadata::image& i) { return i.find(name)->configs; });
  std::map<std::string, std::string> after = incremental ? before : std::map<std::string, std::string>{};
  for (const auto& c : changes) {
    if (!find_topic_key(c.name)) return outcome::fail(error::invalid_config, "Unknown topic config name: " + c.name);
    std::optional<std::string> value = c.value;
    if (c.op == adapter::alter_op::remove || (!incremental && !c.value)) {
      after.erase(c.name);
      continue;
    }
    if (c.op == adapter::alter_op::append || c.op == adapter::alter_op::subtract) {
      if (c.name != "cleanup.policy")
        return outcome::fail(error::invalid_config, "Config value append is not allowed for config key: " + c.name);
      if (c.op == adapter::alter_op::subtract) {
        after.erase(c.name);
        continue;
      }
    }
    if (!value) return outcome::fail(error::invalid_config, "Null value not supported for : " + c.name);
    if (auto bad = check_topic_config(c.name, *value))
      return outcome::fail(error::invalid_config,
                           "Invalid value " + *value + " for configuration " + c.name + ": " + *bad);
    after[c.name] = *value;
  }
  if (validate_only) return {};
  const auto records = config_changes(2, name, before, after);
  if (records.empty()) return {};
  if (auto r = store_->propose(records); !r)
    return refused(r.error(), error::unknown_topic_or_partition, "This server does not host this topic-partition.");
  refresh_configs();
  return {};
}

// Dynamic broker configs: `name` "" for the cluster-wide default, or a
// registered broker's id for that broker alone (its own value wins). The
// topic defaults (log.retention.ms and the like) may change; keys read only
// at start-up are refused with INVALID_CONFIG, as Kafka refuses keys that
// are not dynamic.
outcome service::alter_broker_configs(const std::string& name, const std::vector<adapter::config_change>& changes,
                                      bool incremental, bool validate_only) {
  std::lock_guard admin(admin_mu_);
  if (!name.empty()) {
    const bool known = store_->read([&](const metadata::image& i) {
      for (const auto& [id, b] : i.brokers())
        if (std::to_string(id) == name) return true;
      return false;
    });
    if (!known) return outcome::fail(error::invalid_request, "There is no broker " + name + ".");
  }
  const auto before = store_->read([&](const metadata::image& i) {
    auto it = i.broker_configs().find(name);
    return it == i.broker_configs().end() ? std::map<std::string, std::string>{} : it->second;
  });
  std::map<std::string, std::string> after = incremental ? before : std::map<std::string, std::string>{};
  for (const auto& c : changes) {
    std::string why;
    const topic_key* k = dynamic_broker_key(c.name, why);
    if (k == nullptr) return outcome::fail(error::invalid_config, "Cannot update " + why);
    if (c.op == adapter::alter_op::remove || (!incremental && !c.value)) {
      after.erase(c.name);
      continue;
    }
    if (c.op == adapter::alter_op::append || c.op == adapter::alter_op::subtract)
      return outcome::fail(error::invalid_config, "Config value append is not allowed for config key: " + c.name);
    if (!c.value) return outcome::fail(error::invalid_config, "Null value not supported for : " + c.name);
    if (auto bad = check_topic_config(k->name, *c.value))
      return outcome::fail(error::invalid_config,
                           "Invalid value " + *c.value + " for configuration " + c.name + ": " + *bad);
    after[c.name] = *c.value;
  }
  if (validate_only) return {};
  const auto records = config_changes(4, name, before, after);
  if (records.empty()) return {};
  if (auto r = store_->propose(records); !r) return refused(r.error(), error::invalid_request, "");
  log::info("dynamic broker configs of {} changed: {} record(s)", name.empty() ? "the cluster" : "broker " + name,
            records.size());
  refresh_configs();
  return {};
}

}  // namespace mosaic::broker
