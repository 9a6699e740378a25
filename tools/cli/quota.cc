// mosaic quota: client quotas (DescribeClientQuotas, AlterClientQuotas).
//
//   mosaic quota describe [--user U | --user-default] [--client-id C | --client-id-default]
//   mosaic quota alter (--user U | --user-default) and/or (--client-id C | --client-id-default)
//                      [--add KEY=VALUE]... [--delete KEY]...
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/cli/client.h"

namespace mosaic::cli {

namespace {

// The entity options: per type, a name, the default, or nothing.
struct entity_part {
  std::string type;
  std::optional<std::string> name;  // null: the default
};

std::vector<entity_part> entity_of(args& rest) {
  std::vector<entity_part> out;
  for (const char* type : {"user", "client-id"}) {
    const std::string flag = std::string("--") + type;
    auto name = rest.option(flag);
    const bool dflt = rest.flag(flag + "-default");
    if (name && dflt) usage_error(flag + " and " + flag + "-default name the same entity type twice");
    if (name) out.push_back({type, *name});
    if (dflt) out.push_back({type, std::nullopt});
  }
  return out;
}

// 1048576, not 1048576.000000.
std::string fmt_number(double v) {
  char out[64];
  std::snprintf(out, sizeof out, "%.15g", v);
  return out;
}

std::string entity_text(const std::vector<std::pair<std::string, std::optional<std::string>>>& e) {
  std::string s;
  for (const auto& [type, name] : e) s += (s.empty() ? "" : " ") + type + "=" + (name ? *name : "<default>");
  return s;
}

int describe(connection& c, args rest) {
  const auto entity = entity_of(rest);
  rest.done();
  msg::describe_client_quotas_request req;
  for (const auto& p : entity) {
    auto& comp = req.components.emplace_back();
    comp.entity_type = p.type;
    comp.match_type = p.name ? 0 : 1;
    comp.match = p.name;
  }
  auto resp = c.call<msg::describe_client_quotas_response>(48, 1, req);
  if (resp.error_code != 0) refused(resp.error_code, "", resp.error_message);
  std::printf("%-40s %s\n", "ENTITY", "QUOTAS");
  if (resp.entries)
    for (const auto& e : *resp.entries) {
      std::vector<std::pair<std::string, std::optional<std::string>>> parts;
      parts.reserve(e.entity.size());
      for (const auto& p : e.entity) parts.emplace_back(p.entity_type, p.entity_name);
      std::string values;
      for (const auto& v : e.values) values += (values.empty() ? "" : ", ") + v.key + "=" + fmt_number(v.value);
      std::printf("%-40s %s\n", entity_text(parts).c_str(), values.c_str());
    }
  return 0;
}

int alter(connection& c, args rest) {
  const auto entity = entity_of(rest);
  const auto adds = rest.options("--add");
  const auto deletes = rest.options("--delete");
  rest.done();
  if (entity.empty()) usage_error("name the entity: --user U, --user-default, --client-id C or --client-id-default");
  if (adds.empty() && deletes.empty()) usage_error("say what changes: --add KEY=VALUE or --delete KEY");
  msg::alter_client_quotas_request req;
  auto& e = req.entries.emplace_back();
  for (const auto& p : entity) e.entity.push_back({p.type, p.name, {}});
  for (const auto& a : adds) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) usage_error("--add expects KEY=VALUE, got '" + a + "'");
    char* end = nullptr;
    const double v = std::strtod(a.c_str() + eq + 1, &end);
    if (end == a.c_str() + eq + 1 || *end != '\0') usage_error("--add " + a + ": the value is not a number");
    e.ops.push_back({a.substr(0, eq), v, false, {}});
  }
  for (const auto& d : deletes) e.ops.push_back({d, 0, true, {}});
  auto resp = c.call<msg::alter_client_quotas_response>(49, 1, req);
  const auto& r = resp.entries.at(0);
  if (r.error_code != 0) refused(r.error_code, "", r.error_message);
  std::vector<std::pair<std::string, std::optional<std::string>>> parts;
  parts.reserve(entity.size());
  for (const auto& p : entity) parts.emplace_back(p.type, p.name);
  std::printf("quotas of %s altered\n", entity_text(parts).c_str());
  return 0;
}

}  // namespace

int quota_command(connection& c, const std::string& verb, args rest) {
  if (verb == "describe") return describe(c, std::move(rest));
  if (verb == "alter") return alter(c, std::move(rest));
  usage_error("unknown quota subcommand '" + verb + "' (describe, alter)");
}

}  // namespace mosaic::cli
