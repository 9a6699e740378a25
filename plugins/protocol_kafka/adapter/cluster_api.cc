// The cluster family: ApiVersions, Metadata, DescribeCluster,
// DescribeQuorum, DescribeTopicPartitions.
#include <algorithm>
#include <map>
#include <set>

#include "plugins/protocol_kafka/adapter/connection.h"
#include "plugins/protocol_kafka/protocol/mosaic_tags.h"

namespace mosaic::kafka {

bool connection::serves(int16_t api_key) const {
  if (api_key == msg::mosaic_plugins_request_api_key) return state_->plugin_swaps != nullptr;
  if (api_key != msg::get_telemetry_subscriptions_request_api_key && api_key != msg::push_telemetry_request_api_key)
    return true;
  return state_->telemetry != nullptr && !state_->telemetry->subscription().metrics.empty();
}

void connection::fill_versions(msg::api_versions_response& resp) const {
  for (const auto& a : supported_apis()) {
    if (!serves(a.api_key)) continue;
    auto& k = resp.api_keys.emplace_back();
    k.api_key = a.api_key;
    k.min_version = a.min_version;
    k.max_version = a.max_version;
  }
}

void connection::fill_topic(msg::metadata_response_metadata_response_topic& out, const adapter::topic_info& t) {
  out.name = t.name;
  out.topic_id = t.id;
  out.is_internal = t.internal;
  for (const auto& p : t.partitions) fill_partition(out.partitions.emplace_back(), p);
}

template <class Out>
void connection::fill_partition(Out& op, const adapter::partition_info& p) {
  op.partition_index = p.partition;
  op.leader_id = p.leader;
  op.leader_epoch = p.leader_epoch;
  op.replica_nodes = p.replicas;
  op.isr_nodes = p.isr;
  op.offline_replicas = p.offline;
  // No leader: the partition is offline until a replica is eligible.
  if (p.leader < 0) op.error_code = code(error::leader_not_available);
}

void connection::metadata(const request_context& rc, const msg::metadata_request& req) {
  // Auto-creation writes to the metadata log: the admin thread's work.
  const bool may_create = broker().auto_create_topics() && (rc.version < 4 || req.allow_auto_topic_creation);
  bool creates = false;
  if (may_create && req.topics)
    for (const auto& t : *req.topics)
      if (t.name && !broker().find_topic(*t.name)) creates = true;
  if (creates) return state_->admin->post([self = shared_from_this(), rc, req] { self->metadata_now(rc, req, true); });
  metadata_now(rc, req, false);
}

template <class F>
void connection::each_broker(F add) const {
  std::optional<std::string> rack;
  const auto all = broker().brokers();
  for (const auto& b : all)
    if (b.node_id == broker().node_id()) rack = b.rack;
  add(broker().node_id(), peer_.local_host, static_cast<int32_t>(peer_.local_port), rack);
  // The others on their listener of this connection's name (one without
  // it is left out, as Kafka leaves it out).
  for (const auto& b : all)
    if (b.node_id != broker().node_id() && !b.fenced)
      if (auto at = b.address_on(peer_.listener)) add(b.node_id, at->first, at->second, b.rack);
}

void connection::metadata_now(const request_context& rc, const msg::metadata_request& req, bool create) {
  msg::metadata_response resp;
  each_broker([&](int32_t id, const std::string& host, int32_t port, const std::optional<std::string>& rack) {
    auto& b = resp.brokers.emplace_back();
    b.node_id = id;
    b.host = host;
    b.port = port;
    b.rack = rack;
  });
  resp.cluster_id = broker().cluster_id();
  resp.controller_id = broker().controller_id();
  const bool all = !req.topics || (rc.version == 0 && req.topics->empty());
  if (all) {
    // Only the topics the principal may describe, as Kafka answers.
    for (const auto& t : broker().topics())
      if (may_on_topic(adapter::acl_operation::describe, t.name)) fill_topic(resp.topics.emplace_back(), t);
  } else {
    for (const auto& t : *req.topics) {
      auto& out = resp.topics.emplace_back();
      out.name = t.name;
      out.topic_id = t.topic_id;
      std::optional<adapter::topic_info> found =
          t.name ? broker().find_topic(*t.name) : broker().find_topic(adapter::uuid(t.topic_id));
      const std::string name = found ? found->name : t.name.value_or("");
      if ((found || t.name) && !may_on_topic(adapter::acl_operation::describe, name)) {
        out.error_code = code(error::topic_authorization_failed);
        continue;
      }
      if (!found && t.name && create && !may_on_cluster(adapter::acl_operation::create) &&
          !may_on_topic(adapter::acl_operation::create, *t.name)) {
        out.error_code = code(error::topic_authorization_failed);
        continue;
      }
      if (!found && t.name && create) {
        adapter::new_topic nt;
        nt.name = *t.name;
        adapter::topic_info created;
        auto o = broker().create_topic(nt, false, &created);
        if (o.ok() || o.code == error::topic_already_exists)
          found = broker().find_topic(*t.name);
        else
          out.error_code = code(o.code);
      }
      if (found)
        fill_topic(out, *found);
      else if (out.error_code == 0)
        out.error_code = code(t.name ? error::unknown_topic_or_partition : error::unknown_topic_id);
    }
  }
  if (req.include_topic_authorized_operations)
    for (auto& t : resp.topics)
      if (t.error_code == 0) t.topic_authorized_operations = topic_operations(t.name.value_or(""));
  if (req.include_cluster_authorized_operations) resp.cluster_authorized_operations = cluster_operations();
  rc.send(resp);
}

void connection::describe_cluster(const request_context& rc, const msg::describe_cluster_request& req) {
  msg::describe_cluster_response resp;
  resp.endpoint_type = req.endpoint_type;
  resp.cluster_id = broker().cluster_id();
  resp.controller_id = broker().controller_id();
  if (req.endpoint_type != 1) {
    resp.error_code = code(error::unsupported_version);
    resp.error_message = "only broker endpoints are described";
    return rc.send(resp);
  }
  each_broker([&](int32_t id, const std::string& host, int32_t port, const std::optional<std::string>& rack) {
    auto& b = resp.brokers.emplace_back();
    b.broker_id = id;
    b.host = host;
    b.port = port;
    b.rack = rack;
  });
  // v2 asks for the fenced ones too, marked as such.
  if (rc.version >= 2 && req.include_fenced_brokers)
    for (const auto& e : broker().brokers())
      if (e.fenced && e.node_id != broker().node_id())
        if (auto at = e.address_on(peer_.listener)) {
          auto& b = resp.brokers.emplace_back();
          b.broker_id = e.node_id;
          b.host = at->first;
          b.port = at->second;
          b.rack = e.rack;
          b.is_fenced = true;
        }
  if (req.include_cluster_authorized_operations) resp.cluster_authorized_operations = cluster_operations();
  rc.send(resp);
}

void connection::describe_quorum(const request_context& rc, const msg::describe_quorum_request& req) {
  msg::describe_quorum_response resp;
  if (!may_on_cluster(adapter::acl_operation::describe)) {
    resp.error_code = code(error::cluster_authorization_failed);
    resp.error_message = "Describing the quorum needs DESCRIBE on the cluster";
    return rc.send(resp);
  }
  const auto q = broker().describe_quorum();
  for (const auto& t : req.topics) {
    auto& ot = resp.topics.emplace_back();
    ot.topic_name = t.topic_name;
    for (const auto& p : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = p.partition_index;
      if (t.topic_name != "__cluster_metadata" || p.partition_index != 0) {
        op.error_code = code(error::unknown_topic_or_partition);
        op.error_message = "the metadata quorum is __cluster_metadata-0";
        continue;
      }
      op.error_code = code(q.code);
      if (q.code != error::none) op.error_message = q.message;
      op.leader_id = q.leader_id;
      op.leader_epoch = q.leader_epoch;
      op.high_watermark = q.high_watermark;
      auto fill = [](std::vector<msg::describe_quorum_response_replica_state>& out, const auto& replicas) {
        for (const auto& r : replicas) {
          auto& o = out.emplace_back();
          o.replica_id = r.id;
          o.log_end_offset = r.log_end_offset;
          o.last_fetch_timestamp = r.last_fetch_ms;
          o.last_caught_up_timestamp = r.last_caught_up_ms;
        }
      };
      fill(op.current_voters, q.voters);
      fill(op.observers, q.observers);
    }
  }
  for (const auto& n : q.nodes) {
    auto& on = resp.nodes.emplace_back();
    on.node_id = n.node_id;
    auto& l = on.listeners.emplace_back();
    l.name = "CONTROLLER";
    l.host = n.host;
    l.port = static_cast<uint16_t>(n.port);
  }
  rc.send(resp);
}

void connection::describe_topic_partitions(const request_context& rc,
                                           const msg::describe_topic_partitions_request& req) {
  msg::describe_topic_partitions_response resp;
  // Paged by partitions: from the cursor, at most response_partition_limit.
  const int32_t limit = req.response_partition_limit > 0 ? req.response_partition_limit : 2000;
  std::vector<adapter::topic_info> topics;
  if (req.topics.empty()) {
    // All topics: only this page is read from the metadata (one partition
    // more than the limit, to know whether a next page starts there).
    topics = broker().topics_page(req.cursor ? req.cursor->topic_name : std::string(),
                                  req.cursor ? req.cursor->partition_index : 0, static_cast<size_t>(limit) + 1);
  } else {
    for (const auto& t : req.topics) {
      if (!may_on_topic(adapter::acl_operation::describe, t.name)) {
        auto& out = resp.topics.emplace_back();
        out.name = t.name;
        out.error_code = code(error::topic_authorization_failed);
      } else if (auto found = broker().find_topic(t.name)) {
        topics.push_back(std::move(*found));
      } else {
        auto& out = resp.topics.emplace_back();
        out.name = t.name;
        out.error_code = code(error::unknown_topic_or_partition);
      }
    }
    std::sort(topics.begin(), topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  int32_t left = limit;
  for (const auto& t : topics) {
    if (req.cursor && t.name < req.cursor->topic_name) continue;
    if (req.topics.empty() && !may_on_topic(adapter::acl_operation::describe, t.name)) continue;
    const int32_t first = req.cursor && t.name == req.cursor->topic_name ? req.cursor->partition_index : 0;
    auto& out = resp.topics.emplace_back();
    out.name = t.name;
    out.topic_id = t.id;
    out.is_internal = t.internal;
    out.topic_authorized_operations = topic_operations(t.name);
    for (const auto& p : t.partitions) {
      if (p.partition < first) continue;
      if (left == 0) {
        resp.next_cursor.emplace();
        resp.next_cursor->topic_name = t.name;
        resp.next_cursor->partition_index = p.partition;
        break;
      }
      --left;
      auto& op = out.partitions.emplace_back();
      fill_partition(op, p);
      op.eligible_leader_replicas = p.elr;
      op.last_known_elr = p.last_known_elr;
    }
    if (resp.next_cursor) break;
  }
  rc.send(resp);
}

std::vector<api_handler> cluster_apis() {
  return {
      {msg::api_versions_request_api_key, 0, 4, 3,
       [](connection& c, const request_context& rc, reader& r, const frame_ptr&) {
         (void)decode<msg::api_versions_request>(r, rc.version);
         msg::api_versions_response resp;
         c.fill_versions(resp);
         rc.send(resp);
       }},
      {msg::metadata_request_api_key, 0, 13, 9, answer_now<msg::metadata_request, &connection::metadata>},
      {msg::describe_cluster_request_api_key, 0, 2, 0,
       answer_now<msg::describe_cluster_request, &connection::describe_cluster>},
      {msg::describe_quorum_request_api_key, 0, 2, 0,
       answer_now<msg::describe_quorum_request, &connection::describe_quorum>},
      {msg::describe_topic_partitions_request_api_key, 0, 0, 0,
       answer_now<msg::describe_topic_partitions_request, &connection::describe_topic_partitions>},
  };
}

}  // namespace mosaic::kafka
