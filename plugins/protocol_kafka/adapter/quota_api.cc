// Client quotas: DescribeClientQuotas (48) and AlterClientQuotas (49), in
// the metadata log; describing needs DESCRIBE_CONFIGS on the cluster and
// altering ALTER_CONFIGS, as in Kafka. Enforcement is in data_api.cc.
#include "plugins/protocol_kafka/adapter/connection.h"

namespace mosaic::kafka {

using adapter::acl_operation;
using adapter::error;

void connection::describe_client_quotas(const request_context& rc, const msg::describe_client_quotas_request& req) {
  msg::describe_client_quotas_response resp;
  if (!may_on_cluster(acl_operation::describe_configs)) {
    resp.error_code = code(error::cluster_authorization_failed);
    resp.error_message = "Describing quotas needs DESCRIBE_CONFIGS on the cluster";
    return rc.send(resp);
  }
  std::vector<adapter::broker::quota_match> components;
  for (const auto& c : req.components) components.push_back({c.entity_type, c.match_type, c.match});
  std::vector<adapter::broker::quota_entry> found;
  auto o = broker().describe_client_quotas(components, req.strict, found);
  resp.error_code = code(o.code);
  if (!o.ok()) {
    resp.error_message = o.message;
    return rc.send(resp);
  }
  resp.entries.emplace();
  for (const auto& e : found) {
    auto& out = resp.entries->emplace_back();
    for (const auto& [type, name] : e.entity) out.entity.push_back({type, name, {}});
    for (const auto& [key, value] : e.values) out.values.push_back({key, value, {}});
  }
  rc.send(resp);
}

void connection::alter_client_quotas(const request_context& rc, const msg::alter_client_quotas_request& req) {
  msg::alter_client_quotas_response resp;
  const bool allowed = may_on_cluster(acl_operation::alter_configs);
  for (const auto& e : req.entries) {
    auto& out = resp.entries.emplace_back();
    adapter::broker::quota_entity entity;
    for (const auto& part : e.entity) {
      out.entity.push_back({part.entity_type, part.entity_name, {}});
      entity.emplace_back(part.entity_type, part.entity_name);
    }
    if (!allowed) {
      out.error_code = code(error::cluster_authorization_failed);
      out.error_message = "Altering quotas needs ALTER_CONFIGS on the cluster";
      continue;
    }
    std::vector<adapter::broker::quota_change> changes;
    for (const auto& op : e.ops) changes.push_back({op.key, op.value, op.remove});
    auto o = broker().alter_client_quota(entity, changes, req.validate_only);
    out.error_code = code(o.code);
    if (!o.ok()) out.error_message = o.message;
  }
  rc.send(resp);
}

std::vector<api_handler> quota_apis() {
  return {
      {msg::describe_client_quotas_request_api_key, 0, 1, 1,
       &answer_now<msg::describe_client_quotas_request, &connection::describe_client_quotas>},
      {msg::alter_client_quotas_request_api_key, 0, 1, 1,
       &answer_on_admin_thread<msg::alter_client_quotas_request, &connection::alter_client_quotas>},
  };
}

}  // namespace mosaic::kafka
