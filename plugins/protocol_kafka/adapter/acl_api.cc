// ACLs: CreateAcls (30), DescribeAcls (29), DeleteAcls (31). Without an
// authorizer they answer SECURITY_DISABLED, as Kafka does; with one,
// describing needs DESCRIBE on the cluster and changing needs ALTER.
#include <map>
#include <tuple>
#include <utility>

#include "plugins/protocol_kafka/adapter/connection.h"

namespace mosaic::kafka {

using adapter::acl_operation;
using adapter::acl_pattern;
using adapter::acl_permission;
using adapter::acl_resource;
using adapter::error;

namespace {

constexpr const char* disabled_message = "No authorizer is configured on the broker (authorizer: acl)";

adapter::broker::acl_filter to_filter(int8_t type, const std::optional<std::string>& name, int8_t pattern,
                                      const std::optional<std::string>& principal,
                                      const std::optional<std::string>& host, int8_t op, int8_t permission) {
  adapter::broker::acl_filter f;
  f.resource_type = static_cast<acl_resource>(type);
  f.resource_name = name;
  f.pattern = static_cast<acl_pattern>(pattern);
  f.principal = principal;
  f.host = host;
  f.operation = static_cast<acl_operation>(op);
  f.permission = static_cast<acl_permission>(permission);
  return f;
}

// A filter with an UNKNOWN part (or a value past the known ones) matches
// nothing Kafka would store: it is refused.
bool valid_filter(const adapter::broker::acl_filter& f) {
  auto in = [](auto v, int lo, int hi) { return static_cast<int>(v) >= lo && static_cast<int>(v) <= hi; };
  return in(f.resource_type, 1, 7) && in(f.pattern, 1, 4) && in(f.operation, 1, 14) && in(f.permission, 1, 3);
}

}  // namespace

std::string connection::address_of(const adapter::peer& p) {
  std::string a = p.address;
  const auto colon = a.rfind(':');
  if (colon != std::string::npos && a.find(':') == colon)
    a.resize(colon);  // IPv4 "host:port"
  else if (!a.empty() && a.front() == '[')
    a = a.substr(1, a.find(']') - 1);  // IPv6 "[addr]:port"
  return a;
}

void connection::create_acls(const request_context& rc, const msg::create_acls_request& req) {
  msg::create_acls_response resp;
  auto fail_all = [&](error e, const std::string& message) {
    for (size_t k = 0; k < req.creations.size(); ++k) {
      auto& r = resp.results.emplace_back();
      r.error_code = code(e);
      r.error_message = message;
    }
    rc.send(resp);
  };
  if (!authorizing()) return fail_all(error::security_disabled, disabled_message);
  if (!may_on_cluster(acl_operation::alter))
    return fail_all(error::cluster_authorization_failed, "Creating ACLs needs ALTER on the cluster");
  std::vector<adapter::broker::acl_binding> bindings;
  for (const auto& c : req.creations) {
    auto& b = bindings.emplace_back();
    b.resource_type = static_cast<acl_resource>(c.resource_type);
    b.resource_name = c.resource_name;
    b.pattern = static_cast<acl_pattern>(c.resource_pattern_type);
    b.principal = c.principal;
    b.host = c.host;
    b.operation = static_cast<acl_operation>(c.operation);
    b.permission = static_cast<acl_permission>(c.permission_type);
  }
  for (const auto& o : broker().create_acls(bindings)) {
    auto& r = resp.results.emplace_back();
    r.error_code = code(o.code);
    if (!o.ok()) r.error_message = o.message;
  }
  rc.send(resp);
}

void connection::describe_acls(const request_context& rc, const msg::describe_acls_request& req) {
  msg::describe_acls_response resp;
  auto fail = [&](error e, const char* message) {
    resp.error_code = code(e);
    resp.error_message = message;
    rc.send(resp);
  };
  if (!authorizing()) return fail(error::security_disabled, disabled_message);
  if (!may_on_cluster(acl_operation::describe))
    return fail(error::cluster_authorization_failed, "Describing ACLs needs DESCRIBE on the cluster");
  const auto f = to_filter(req.resource_type_filter, req.resource_name_filter, req.pattern_type_filter,
                           req.principal_filter, req.host_filter, req.operation, req.permission_type);
  if (!valid_filter(f))
    return fail(error::invalid_request,
                "The filter has an unknown resource type, pattern "
                "type, operation or permission");
  // Grouped by resource pattern, as Kafka answers.
  std::map<std::tuple<int8_t, std::string, int8_t>, std::vector<adapter::broker::acl_binding>> by_resource;
  for (auto& b : broker().describe_acls(f))
    by_resource[{static_cast<int8_t>(b.resource_type), b.resource_name, static_cast<int8_t>(b.pattern)}].push_back(
        std::move(b));
  for (auto& [key, bindings] : by_resource) {
    auto& res = resp.resources.emplace_back();
    res.resource_type = std::get<0>(key);
    res.resource_name = std::get<1>(key);
    res.pattern_type = std::get<2>(key);
    for (const auto& b : bindings) {
      auto& a = res.acls.emplace_back();
      a.principal = b.principal;
      a.host = b.host;
      a.operation = static_cast<int8_t>(b.operation);
      a.permission_type = static_cast<int8_t>(b.permission);
    }
  }
  rc.send(resp);
}

void connection::delete_acls(const request_context& rc, const msg::delete_acls_request& req) {
  msg::delete_acls_response resp;
  auto fail_all = [&](error e, const std::string& message) {
    for (size_t k = 0; k < req.filters.size(); ++k) {
      auto& r = resp.filter_results.emplace_back();
      r.error_code = code(e);
      r.error_message = message;
    }
    rc.send(resp);
  };
  if (!authorizing()) return fail_all(error::security_disabled, disabled_message);
  if (!may_on_cluster(acl_operation::alter))
    return fail_all(error::cluster_authorization_failed, "Deleting ACLs needs ALTER on the cluster");
  std::vector<adapter::broker::acl_filter> filters;
  std::vector<bool> valid;
  for (const auto& in : req.filters) {
    filters.push_back(to_filter(in.resource_type_filter, in.resource_name_filter, in.pattern_type_filter,
                                in.principal_filter, in.host_filter, in.operation, in.permission_type));
    valid.push_back(valid_filter(filters.back()));
    // An invalid filter deletes nothing: it matches no resource type.
    if (!valid.back()) filters.back().resource_type = acl_resource::unknown;
  }
  auto results = broker().delete_acls(filters);
  for (size_t k = 0; k < results.size(); ++k) {
    auto& r = resp.filter_results.emplace_back();
    auto& [o, deleted] = results[k];
    if (!valid[k]) {
      r.error_code = code(error::invalid_request);
      r.error_message = "The filter has an unknown resource type, pattern type, operation or permission";
      continue;
    }
    r.error_code = code(o.code);
    if (!o.ok()) r.error_message = o.message;
    for (const auto& b : deleted) {
      auto& m = r.matching_acls.emplace_back();
      m.resource_type = static_cast<int8_t>(b.resource_type);
      m.resource_name = b.resource_name;
      m.pattern_type = static_cast<int8_t>(b.pattern);
      m.principal = b.principal;
      m.host = b.host;
      m.operation = static_cast<int8_t>(b.operation);
      m.permission_type = static_cast<int8_t>(b.permission);
    }
  }
  rc.send(resp);
}

std::vector<api_handler> acl_apis() {
  // Creating and deleting wait for the metadata log: the admin thread.
  return {
      {msg::describe_acls_request_api_key, 1, 3, 2,
       &answer_now<msg::describe_acls_request, &connection::describe_acls>},
      {msg::create_acls_request_api_key, 1, 3, 2,
       &answer_on_admin_thread<msg::create_acls_request, &connection::create_acls>},
      {msg::delete_acls_request_api_key, 1, 3, 2,
       &answer_on_admin_thread<msg::delete_acls_request, &connection::delete_acls>},
  };
}

}  // namespace mosaic::kafka
