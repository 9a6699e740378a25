// The admin family: topics, partitions, configs, records, log dirs,
// leader elections and reassignments. Most run on the admin thread: they
// wait on the metadata log.
#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "plugins/protocol_kafka/adapter/connection.h"
#include "plugins/protocol_kafka/protocol/mosaic_tags.h"

namespace mosaic::kafka {

namespace {

int8_t config_type_code(const std::string& t) {
  static const std::map<std::string, int8_t> types = {{"boolean", 1}, {"string", 2}, {"int", 3},
                                                      {"short", 4},   {"long", 5},   {"double", 6},
                                                      {"list", 7},    {"class", 8},  {"password", 9}};
  auto it = types.find(t);
  return it == types.end() ? 0 : it->second;
}

}  // namespace

// Whether the principal may describe (or alter) a config resource's
// configs: a topic's as the topic, a broker's as the cluster, a group's as
// the group; the error to answer if not.
adapter::error connection::config_access(int8_t type, const std::string& name, bool alter) const {
  const auto op = alter ? adapter::acl_operation::alter_configs : adapter::acl_operation::describe_configs;
  switch (type) {
    case 2: return may_on_topic(op, name) ? error::none : error::topic_authorization_failed;
    case 4: return may_on_cluster(op) ? error::none : error::cluster_authorization_failed;
    case 32: return may_on_group(op, name) ? error::none : error::group_authorization_failed;
    default: return error::none;
  }
}

void connection::describe_configs(const request_context& rc, const msg::describe_configs_request& req) {
  msg::describe_configs_response resp;
  for (const auto& res : req.resources) {
    auto& out = resp.results.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type != 2 && res.resource_type != 4 && res.resource_type != 32) {
      out.error_code = code(error::invalid_request);
      out.error_message = "only TOPIC (2), BROKER (4) and GROUP (32) configs are described";
      continue;
    }
    if (auto denied = config_access(res.resource_type, res.resource_name, false); denied != error::none) {
      out.error_code = code(denied);
      continue;
    }
    std::vector<adapter::config_value> values;
    adapter::outcome o;
    const auto names = res.configuration_keys.value_or(std::vector<std::string>{});
    if (res.resource_type == 32) {
      if (state_->shares == nullptr) {
        o = adapter::outcome::fail(error::invalid_request, "this node keeps no group configs");
      } else {
        std::promise<std::pair<adapter::outcome, std::vector<adapter::config_value>>> answer;
        state_->shares->describe_group_configs(res.resource_name, names,
                                               [&answer](adapter::outcome got, std::vector<adapter::config_value> vs) {
                                                 answer.set_value({std::move(got), std::move(vs)});
                                               });
        std::tie(o, values) = answer.get_future().get();
      }
    } else {
      o = broker().describe_configs(static_cast<adapter::resource_type>(res.resource_type), res.resource_name, names,
                                    values);
    }
    out.error_code = code(o.code);
    if (!o.ok()) out.error_message = o.message;
    for (const auto& v : values) {
      auto& c = out.configs.emplace_back();
      c.name = v.name;
      c.value = v.value;
      c.read_only = v.read_only;
      c.config_source = static_cast<int8_t>(v.source);
      c.is_sensitive = v.sensitive;
      c.config_type = config_type_code(v.type);
      if (req.include_documentation) c.documentation = v.doc;
    }
  }
  rc.send(resp);
}

void connection::create_topics(const request_context& rc, const msg::create_topics_request& req) {
  msg::create_topics_response resp;
  const bool create_any = may_on_cluster(adapter::acl_operation::create);
  for (const auto& t : req.topics) {
    auto& out = resp.topics.emplace_back();
    out.name = t.name;
    if (!create_any && !may_on_topic(adapter::acl_operation::create, t.name)) {
      out.error_code = code(error::topic_authorization_failed);
      out.error_message = "Authorization failed.";
      continue;
    }
    adapter::new_topic nt;
    nt.name = t.name;
    nt.partitions = t.num_partitions;
    nt.replication_factor = t.replication_factor;
    for (const auto& c : t.configs)
      if (c.value) nt.configs.emplace_back(c.name, *c.value);
    adapter::outcome o;
    if (!t.assignments.empty()) {
      // Manual assignments, partition by partition (the broker checks
      // the brokers they name).
      if (t.num_partitions != -1 || t.replication_factor != -1)
        o = adapter::outcome::fail(error::invalid_request,
                                   "Both numPartitions or replicationFactor and replicasAssignments were set.");
      std::map<int32_t, std::vector<int32_t>> by_index;
      for (const auto& a : t.assignments)
        if (!by_index.emplace(a.partition_index, a.broker_ids).second)
          o = adapter::outcome::fail(error::invalid_replica_assignment,
                                     "partition " + std::to_string(a.partition_index) + " is assigned twice");
      int32_t expect = 0;
      for (auto& [index, ids] : by_index) {
        if (index != expect++)
          o = adapter::outcome::fail(
              error::invalid_replica_assignment,
              "assignments must number the partitions 0 to " + std::to_string(by_index.size() - 1) + " without a gap");
        nt.assignments.push_back(ids);
      }
    }
    adapter::topic_info created;
    if (o.ok()) o = broker().create_topic(nt, req.validate_only, &created);
    out.error_code = code(o.code);
    if (!o.ok()) {
      out.error_message = o.message;
      continue;
    }
    out.topic_id = created.id;
    out.num_partitions = static_cast<int32_t>(created.partitions.size());
    out.replication_factor =
        created.partitions.empty() ? int16_t{1} : static_cast<int16_t>(created.partitions.front().replicas.size());
    std::vector<adapter::config_value> values;
    if (!req.validate_only && broker().describe_configs(adapter::resource_type::topic, t.name, {}, values).ok()) {
      out.configs.emplace();
      for (const auto& v : values) {
        auto& c = out.configs->emplace_back();
        c.name = v.name;
        c.value = v.value;
        c.read_only = v.read_only;
        c.config_source = static_cast<int8_t>(v.source);
        c.is_sensitive = v.sensitive;
      }
    }
  }
  rc.send(resp);
}

void connection::delete_topics(const request_context& rc, const msg::delete_topics_request& req) {
  msg::delete_topics_response resp;
  auto one = [&](const std::optional<std::string>& name, const uuid& id) {
    auto& out = resp.responses.emplace_back();
    out.name = name;
    out.topic_id = id;
    std::string target;
    if (name) {
      target = *name;
    } else if (auto t = broker().find_topic(adapter::uuid(id))) {
      target = t->name;
      out.name = target;
    } else {
      out.error_code = code(error::unknown_topic_id);
      return;
    }
    if (!may_on_topic(adapter::acl_operation::remove, target)) {
      out.error_code = code(error::topic_authorization_failed);
      return;
    }
    if (auto t = broker().find_topic(target)) out.topic_id = t->id;
    auto o = broker().delete_topic(target);
    out.error_code = code(o.code);
    if (!o.ok()) out.error_message = o.message;
  };
  if (rc.version >= 6)
    for (const auto& t : req.topics) one(t.name, t.topic_id);
  else
    for (const auto& n : req.topic_names) one(n, uuid{});
  rc.send(resp);
}

void connection::delete_records(const request_context& rc, const msg::delete_records_request& req) {
  msg::delete_records_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.name = t.name;
    const bool denied = !may_on_topic(adapter::acl_operation::remove, t.name);
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      if (denied) {
        rp.error_code = code(error::topic_authorization_failed);
        continue;
      }
      auto r = broker().delete_records(t.name, p.partition_index, p.offset);
      rp.error_code = code(r.code);
      rp.low_watermark = r.low_watermark;
    }
  }
  rc.send(resp);
}

void connection::describe_log_dirs(const request_context& rc, const msg::describe_log_dirs_request& req) {
  msg::describe_log_dirs_response resp;
  if (!may_on_cluster(adapter::acl_operation::describe)) {
    resp.error_code = code(error::cluster_authorization_failed);
    return rc.send(resp);
  }
  for (const auto& d : broker().describe_log_dirs()) {
    auto& out = resp.results.emplace_back();
    out.log_dir = d.path;
    out.total_bytes = d.total_bytes;
    out.usable_bytes = d.usable_bytes;
    for (const auto& p : d.partitions) {
      bool wanted = !req.topics;
      if (req.topics)
        for (const auto& t : *req.topics)
          if (t.topic == p.topic &&
              std::find(t.partitions.begin(), t.partitions.end(), p.partition) != t.partitions.end())
            wanted = true;
      if (!wanted) continue;
      if (out.topics.empty() || out.topics.back().name != p.topic) out.topics.emplace_back().name = p.topic;
      auto& op = out.topics.back().partitions.emplace_back();
      op.partition_index = p.partition;
      op.partition_size = p.bytes;
      if (p.dirty_ratio >= 0) op.unknown_tags.push_back(float64_tag(dirty_ratio_tag, p.dirty_ratio));
    }
  }
  rc.send(resp);
}

void connection::create_partitions(const request_context& rc, const msg::create_partitions_request& req) {
  msg::create_partitions_response resp;
  for (const auto& t : req.topics) {
    auto& out = resp.results.emplace_back();
    out.name = t.name;
    if (!may_on_topic(adapter::acl_operation::alter, t.name)) {
      out.error_code = code(error::topic_authorization_failed);
      continue;
    }
    std::vector<std::vector<int32_t>> assignments;
    if (t.assignments)
      for (const auto& a : *t.assignments) assignments.push_back(a.broker_ids);
    adapter::outcome o = broker().create_partitions(t.name, t.count, assignments, req.validate_only);
    out.error_code = code(o.code);
    if (!o.ok()) out.error_message = o.message;
  }
  rc.send(resp);
}

void connection::elect_leaders(const request_context& rc, const msg::elect_leaders_request& req) {
  msg::elect_leaders_response resp;
  const bool unclean = rc.version >= 1 && req.election_type == 1;
  if (!may_on_cluster(adapter::acl_operation::alter)) {
    resp.error_code = code(error::cluster_authorization_failed);
    return rc.send(resp);
  }
  if (rc.version >= 1 && req.election_type != 0 && req.election_type != 1) {
    resp.error_code = code(error::invalid_request);
    return rc.send(resp);
  }
  std::vector<std::pair<std::string, std::vector<int32_t>>> asked;
  if (req.topic_partitions) {
    for (const auto& t : *req.topic_partitions) asked.emplace_back(t.topic, t.partitions);
  } else {
    // Null: every partition (a preferred election where it is needed).
    for (const auto& t : broker().topics()) {
      std::vector<int32_t> ps;
      for (const auto& p : t.partitions) ps.push_back(p.partition);
      asked.emplace_back(t.name, ps);
    }
  }
  for (const auto& [topic, partitions] : asked) {
    auto& out = resp.replica_election_results.emplace_back();
    out.topic = topic;
    for (int32_t p : partitions) {
      auto o = broker().elect_leader(topic, p, unclean);
      // Asked for every partition, a partition that needs nothing is left out.
      if (!req.topic_partitions && o.code == error::election_not_needed) continue;
      auto& r = out.partition_result.emplace_back();
      r.partition_id = p;
      r.error_code = code(o.code);
      if (!o.ok()) r.error_message = o.message;
    }
  }
  std::erase_if(resp.replica_election_results, [](const auto& t) { return t.partition_result.empty(); });
  rc.send(resp);
}

void connection::alter_partition_reassignments(const request_context& rc,
                                               const msg::alter_partition_reassignments_request& req) {
  msg::alter_partition_reassignments_response resp;
  resp.allow_replication_factor_change = req.allow_replication_factor_change;
  if (!may_on_cluster(adapter::acl_operation::alter)) {
    resp.error_code = code(error::cluster_authorization_failed);
    resp.error_message = "Reassigning partitions needs ALTER on the cluster";
    return rc.send(resp);
  }
  for (const auto& t : req.topics) {
    auto& out = resp.responses.emplace_back();
    out.name = t.name;
    const auto topic = broker().find_topic(t.name);
    for (const auto& p : t.partitions) {
      auto& r = out.partitions.emplace_back();
      r.partition_index = p.partition_index;
      adapter::outcome o;
      if (rc.version >= 1 && !req.allow_replication_factor_change && p.replicas && topic && p.partition_index >= 0 &&
          static_cast<size_t>(p.partition_index) < topic->partitions.size()) {
        const auto& now = topic->partitions[static_cast<size_t>(p.partition_index)];
        if (p.replicas->size() != now.replicas.size() - now.adding.size())
          o = adapter::outcome::fail(error::invalid_replication_factor,
                                     "the reassignment would change the replication factor");
      }
      if (o.ok()) o = broker().reassign(t.name, p.partition_index, p.replicas);
      r.error_code = code(o.code);
      if (!o.ok()) r.error_message = o.message;
    }
  }
  rc.send(resp);
}

void connection::list_partition_reassignments(const request_context& rc,
                                              const msg::list_partition_reassignments_request& req) {
  msg::list_partition_reassignments_response resp;
  if (!may_on_cluster(adapter::acl_operation::describe)) {
    resp.error_code = code(error::cluster_authorization_failed);
    resp.error_message = "Listing reassignments needs DESCRIBE on the cluster";
    return rc.send(resp);
  }
  std::vector<std::pair<adapter::topic_info, std::optional<std::vector<int32_t>>>> asked;
  if (req.topics) {
    for (const auto& t : *req.topics)
      if (auto found = broker().find_topic(t.name)) asked.emplace_back(std::move(*found), t.partition_indexes);
  } else {
    for (auto& t : broker().topics()) asked.emplace_back(std::move(t), std::nullopt);
  }
  for (const auto& [t, only] : asked) {
    msg::list_partition_reassignments_response_ongoing_topic_reassignment out;
    out.name = t.name;
    for (const auto& p : t.partitions) {
      if (p.adding.empty() && p.removing.empty()) continue;
      if (only && std::find(only->begin(), only->end(), p.partition) == only->end()) continue;
      auto& r = out.partitions.emplace_back();
      r.partition_index = p.partition;
      r.replicas = p.replicas;
      r.adding_replicas = p.adding;
      r.removing_replicas = p.removing;
    }
    if (!out.partitions.empty()) resp.topics.push_back(std::move(out));
  }
  rc.send(resp);
}

template <class Out, class Resource, class Changes>
void connection::alter(Out& out, const Resource& res, const Changes& changes, bool incremental, bool validate_only) {
  out.resource_type = res.resource_type;
  out.resource_name = res.resource_name;
  if (auto denied = config_access(res.resource_type, res.resource_name, true); denied != error::none) {
    out.error_code = code(denied);
    return;
  }
  if (res.resource_type == 32 && incremental && state_->shares != nullptr) {
    // A share group's configs: the share manager checks and keeps them.
    std::promise<adapter::outcome> answer;
    state_->shares->alter_group_configs(res.resource_name, changes, validate_only,
                                        [&answer](adapter::outcome got) { answer.set_value(std::move(got)); });
    auto o = answer.get_future().get();
    out.error_code = code(o.code);
    if (!o.ok()) out.error_message = o.message;
    return;
  }
  if (res.resource_type != 2 && res.resource_type != 4) {
    out.error_code = code(error::invalid_request);
    out.error_message =
        "only TOPIC (2) and BROKER (4) configs can be altered (GROUP (32) with IncrementalAlterConfigs)";
    return;
  }
  auto o = broker().alter_configs(static_cast<adapter::resource_type>(res.resource_type), res.resource_name, changes,
                                  incremental, validate_only);
  out.error_code = code(o.code);
  if (!o.ok()) out.error_message = o.message;
}

void connection::alter_configs(const request_context& rc, const msg::alter_configs_request& req) {
  msg::alter_configs_response resp;
  for (const auto& res : req.resources) {
    std::vector<adapter::config_change> changes;
    for (const auto& c : res.configs) changes.push_back({c.name, adapter::alter_op::set, c.value});
    alter(resp.responses.emplace_back(), res, changes, false, req.validate_only);
  }
  rc.send(resp);
}

void connection::incremental_alter_configs(const request_context& rc,
                                           const msg::incremental_alter_configs_request& req) {
  msg::incremental_alter_configs_response resp;
  for (const auto& res : req.resources) {
    std::vector<adapter::config_change> changes;
    bool bad = false;
    for (const auto& c : res.configs) {
      if (c.config_operation < 0 || c.config_operation > 3) bad = true;
      changes.push_back({c.name, static_cast<adapter::alter_op>(c.config_operation), c.value});
    }
    auto& out = resp.responses.emplace_back();
    // Authorization first, as Kafka: a refused resource learns nothing else.
    if (bad && config_access(res.resource_type, res.resource_name, true) != error::none) bad = false;
    if (bad) {
      out.resource_type = res.resource_type;
      out.resource_name = res.resource_name;
      out.error_code = code(error::invalid_request);
      out.error_message = "config operations are 0 (SET), 1 (DELETE), 2 (APPEND) and 3 (SUBTRACT)";
      continue;
    }
    alter(out, res, changes, true, req.validate_only);
  }
  rc.send(resp);
}

std::vector<api_handler> admin_apis() {
  return {
      {msg::create_topics_request_api_key, 2, 7, 5,
       answer_on_admin_thread<msg::create_topics_request, &connection::create_topics>},
      {msg::delete_topics_request_api_key, 1, 6, 4,
       answer_on_admin_thread<msg::delete_topics_request, &connection::delete_topics>},
      // On the admin thread: a GROUP resource waits for the share manager.
      {msg::describe_configs_request_api_key, 1, 4, 4,
       answer_on_admin_thread<msg::describe_configs_request, &connection::describe_configs>},
      {msg::alter_configs_request_api_key, 0, 2, 2,
       answer_on_admin_thread<msg::alter_configs_request, &connection::alter_configs>},
      {msg::create_partitions_request_api_key, 0, 3, 2,
       answer_on_admin_thread<msg::create_partitions_request, &connection::create_partitions>},
      {msg::incremental_alter_configs_request_api_key, 0, 1, 1,
       answer_on_admin_thread<msg::incremental_alter_configs_request, &connection::incremental_alter_configs>},
      {msg::delete_records_request_api_key, 0, 2, 2,
       answer_on_admin_thread<msg::delete_records_request, &connection::delete_records>},
      {msg::describe_log_dirs_request_api_key, 1, 4, 2,
       answer_on_admin_thread<msg::describe_log_dirs_request, &connection::describe_log_dirs>},
      {msg::elect_leaders_request_api_key, 0, 2, 2,
       answer_on_admin_thread<msg::elect_leaders_request, &connection::elect_leaders>},
      {msg::alter_partition_reassignments_request_api_key, 0, 1, 0,
       answer_on_admin_thread<msg::alter_partition_reassignments_request, &connection::alter_partition_reassignments>},
      {msg::list_partition_reassignments_request_api_key, 0, 0, 0,
       answer_now<msg::list_partition_reassignments_request, &connection::list_partition_reassignments>},
  };
}

}  // namespace mosaic::kafka
