// mosaic acl: the cluster's ACLs (CreateAcls, DescribeAcls, DeleteAcls).
//
//   mosaic acl list [RESOURCE] [--principal P]
//   mosaic acl add (--allow|--deny) --principal P [--host H] --operation OP[,OP]... RESOURCE
//   mosaic acl remove RESOURCE [--principal P] [--host H] [--operation OP]... [--allow|--deny]
//
// RESOURCE: --topic NAME | --group NAME | --cluster | --transactional-id NAME,
// with --prefixed for a prefix pattern.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <string>

#include "tools/cli/client.h"

namespace mosaic::cli {

namespace {

// Kafka's AclOperation codes by name.
constexpr std::array<const char*, 15> operation_names = {
    "Unknown",         "Any",          "All",           "Read",          "Write",           "Create",
    "Delete",          "Alter",        "Describe",      "ClusterAction", "DescribeConfigs", "AlterConfigs",
    "IdempotentWrite", "CreateTokens", "DescribeTokens"};
constexpr std::array<const char*, 8> resource_names = {
    "Unknown", "Any", "Topic", "Group", "Cluster", "TransactionalId", "DelegationToken", "User"};

std::string folded(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int8_t operation(const std::string& name) {
  for (size_t k = 2; k < operation_names.size(); ++k)
    if (folded(name) == folded(operation_names[k])) return static_cast<int8_t>(k);
  usage_error("unknown operation '" + name +
              "' (All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, "
              "IdempotentWrite)");
}

std::vector<int8_t> operations(const std::vector<std::string>& options) {
  std::vector<int8_t> out;
  for (const auto& o : options) {
    size_t at = 0;
    while (at <= o.size()) {
      auto end = o.find(',', at);
      if (end == std::string::npos) end = o.size();
      if (end > at) out.push_back(operation(o.substr(at, end - at)));
      at = end + 1;
    }
  }
  return out;
}

std::string name_of(int8_t code, const auto& names) {
  if (code < 0) return std::to_string(code);
  const auto index = static_cast<size_t>(static_cast<unsigned char>(code));
  return index < names.size() ? std::string(names[index]) : std::to_string(code);
}

struct resource {
  int8_t type = 1;  // ANY
  std::optional<std::string> name;
  int8_t pattern = 1;  // ANY (a filter) or LITERAL/PREFIXED (a binding)
};

// The resource options; `required` for add and remove.
resource resource_of(args& rest, bool required, bool binding) {
  resource r;
  int given = 0;
  if (auto t = rest.option("--topic")) r.type = 2, r.name = *t, ++given;
  if (auto g = rest.option("--group")) r.type = 3, r.name = *g, ++given;
  if (rest.flag("--cluster")) r.type = 4, r.name = "kafka-cluster", ++given;
  if (auto x = rest.option("--transactional-id")) r.type = 5, r.name = *x, ++given;
  const bool prefixed = rest.flag("--prefixed");
  if (given > 1) usage_error("name one resource: --topic, --group, --cluster or --transactional-id");
  if (given == 0 && required)
    usage_error(
        "name a resource: --topic NAME, --group NAME, --cluster or "
        "--transactional-id NAME");
  if (prefixed && r.type == 4) usage_error("--prefixed does not apply to --cluster");
  r.pattern = prefixed ? 4 : (binding || given > 0 ? 3 : 1);
  return r;
}

void print_header() {
  std::printf("%-16s %-24s %-9s %-24s %-16s %-16s %s\n", "RESOURCE", "NAME", "PATTERN", "PRINCIPAL", "HOST",
              "OPERATION", "PERMISSION");
}

void print_row(int8_t type, const std::string& name, int8_t pattern, const std::string& principal,
               const std::string& host, int8_t op, int8_t permission) {
  std::printf("%-16s %-24s %-9s %-24s %-16s %-16s %s\n", name_of(type, resource_names).c_str(), name.c_str(),
              pattern == 4 ? "PREFIXED" : "LITERAL", principal.c_str(), host.c_str(),
              name_of(op, operation_names).c_str(), permission == 2 ? "DENY" : "ALLOW");
}

int list(connection& c, args rest) {
  msg::describe_acls_request req;
  const auto r = resource_of(rest, false, false);
  req.resource_type_filter = r.type;
  req.resource_name_filter = r.name;
  req.pattern_type_filter = r.pattern;
  req.principal_filter = rest.option("--principal");
  req.operation = 1;
  req.permission_type = 1;
  rest.done();
  auto resp = c.call<msg::describe_acls_response>(29, 2, req);
  if (resp.error_code != 0) refused(resp.error_code, "", resp.error_message);
  print_header();
  for (const auto& res : resp.resources)
    for (const auto& a : res.acls)
      print_row(res.resource_type, res.resource_name, res.pattern_type, a.principal, a.host, a.operation,
                a.permission_type);
  return 0;
}

int add(connection& c, args rest) {
  const bool allow = rest.flag("--allow");
  const bool deny = rest.flag("--deny");
  if (allow == deny) usage_error("say --allow or --deny");
  const auto principals = rest.options("--principal");
  if (principals.empty()) usage_error("--principal Type:name is needed (User:alice, User:*)");
  const auto hosts = rest.options("--host");
  const auto ops = operations(rest.options("--operation", "-o"));
  if (ops.empty()) usage_error("--operation is needed (Read, Write, Describe, ...)");
  const auto r = resource_of(rest, true, true);
  rest.done();
  msg::create_acls_request req;
  for (const auto& p : principals)
    for (const auto& h : hosts.empty() ? std::vector<std::string>{"*"} : hosts)
      for (int8_t op : ops) {
        auto& b = req.creations.emplace_back();
        b.resource_type = r.type;
        b.resource_name = *r.name;
        b.resource_pattern_type = r.pattern;
        b.principal = p;
        b.host = h;
        b.operation = op;
        b.permission_type = allow ? 3 : 2;
      }
  auto resp = c.call<msg::create_acls_response>(30, 2, req);
  int code = 0;
  for (size_t k = 0; k < resp.results.size() && k < req.creations.size(); ++k) {
    const auto& b = req.creations[k];
    const auto& res = resp.results[k];
    if (res.error_code != 0) {
      std::fprintf(stderr, "mosaic: %s %s on %s: %s%s%s\n", b.principal.c_str(),
                   name_of(b.operation, operation_names).c_str(), b.resource_name.c_str(),
                   error_name(res.error_code).c_str(), res.error_message ? ": " : "",
                   res.error_message ? res.error_message->c_str() : "");
      code = 1;
    } else {
      std::printf("added: %s %s %s on %s %s from %s\n", allow ? "ALLOW" : "DENY", b.principal.c_str(),
                  name_of(b.operation, operation_names).c_str(), name_of(b.resource_type, resource_names).c_str(),
                  b.resource_name.c_str(), b.host.c_str());
    }
  }
  return code;
}

int remove(connection& c, args rest) {
  const bool allow = rest.flag("--allow");
  const bool deny = rest.flag("--deny");
  const auto principal = rest.option("--principal");
  const auto host = rest.option("--host");
  auto ops = operations(rest.options("--operation", "-o"));
  const auto r = resource_of(rest, true, true);
  rest.done();
  if (ops.empty()) ops.push_back(1);  // ANY
  msg::delete_acls_request req;
  for (int8_t op : ops) {
    auto& f = req.filters.emplace_back();
    f.resource_type_filter = r.type;
    f.resource_name_filter = r.name;
    f.pattern_type_filter = r.pattern;
    f.principal_filter = principal;
    f.host_filter = host;
    f.operation = op;
    f.permission_type = allow && !deny ? 3 : deny && !allow ? 2 : 1;
  }
  auto resp = c.call<msg::delete_acls_response>(31, 2, req);
  int code = 0;
  size_t removed = 0;
  for (const auto& fr : resp.filter_results) {
    if (fr.error_code != 0) {
      std::fprintf(stderr, "mosaic: %s%s%s\n", error_name(fr.error_code).c_str(), fr.error_message ? ": " : "",
                   fr.error_message ? fr.error_message->c_str() : "");
      code = 1;
      continue;
    }
    for (const auto& m : fr.matching_acls) {
      if (removed++ == 0) print_header();
      print_row(m.resource_type, m.resource_name, m.pattern_type, m.principal, m.host, m.operation, m.permission_type);
    }
  }
  if (code == 0) std::printf("%zu ACL(s) removed\n", removed);
  return code;
}

}  // namespace

int acl_command(connection& c, const std::string& verb, args rest) {
  if (verb == "list") return list(c, std::move(rest));
  if (verb == "add") return add(c, std::move(rest));
  if (verb == "remove") return remove(c, std::move(rest));
  usage_error("unknown acl subcommand '" + verb + "' (list, add, remove)");
}

}  // namespace mosaic::cli
