// mosaic.authz.rules: an authorizer plugin that decides by an ordered list
// of rules from its config, first match wins, and otherwise defers to the
// cluster's ACLs (or allows, or denies). What a site writes when the
// decision is a policy rather than a grant per principal: "nobody writes to
// audit-* but the auditor", "the batch team reads everything from 10.1/16",
// with the ACLs still managing the rest.
//
// A rule: `allow|deny PRINCIPAL OPERATIONS RESOURCE [from HOST]`
//   PRINCIPAL   User:alice, User:* or *
//   OPERATIONS  Kafka's names, comma-separated (Read,Write), or All
//   RESOURCE    topic:NAME, topic:PREFIX*, topic:* (likewise group,
//               transactional_id, delegation_token, user), or cluster
//   HOST        an address, a CIDR range (10.0.0.0/8, 2001:db8::/32) or *
// Names, operations and resource types are case-insensitive where Kafka's
// are (operations, types); resource names and principals are exact.
//
// As Kafka's ACLs do, an allow rule for READ, WRITE, DELETE or ALTER also
// allows DESCRIBE, and one for ALTER_CONFIGS also DESCRIBE_CONFIGS. For
// "some resource of the type" (an idempotent producer's WRITE on some
// topic), an allow rule of the type decides; a deny rule decides only when
// it covers every name (`topic:*`).
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "mosaic/sdk/authorizer.h"

namespace {

using namespace mosaic;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// An address or range, as 16 bytes (IPv4 as IPv4-mapped IPv6) and a prefix.
struct host_range {
  bool any = true;
  std::array<uint8_t, 16> addr{};
  int bits = 128;

  static std::optional<std::array<uint8_t, 16>> parse_address(std::string_view text) {
    std::array<uint8_t, 16> out{};
    const std::string s(text);
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
      out[10] = out[11] = 0xff;
      std::memcpy(out.data() + 12, &v4, 4);
      return out;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
      std::memcpy(out.data(), &v6, 16);
      return out;
    }
    return std::nullopt;
  }

  static host_range parse(std::string_view text) {
    host_range r;
    if (text == "*") return r;
    r.any = false;
    const auto slash = text.find('/');
    const auto a = parse_address(text.substr(0, slash));
    if (!a) throw sdk::error(MOSAIC_ERR_CONFIG, "'" + std::string(text) + "' is not an address or a CIDR range");
    r.addr = *a;
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    r.bits = 128;
    if (slash != std::string_view::npos) {
      const std::string digits(text.substr(slash + 1));
      const int max = v4 ? 32 : 128;
      if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), ::isdigit) ||
          std::stoi(digits) > max)
        throw sdk::error(MOSAIC_ERR_CONFIG,
                         "'" + std::string(text) + "' has no prefix length from 0 to " + std::to_string(max));
      r.bits = std::stoi(digits) + (v4 ? 96 : 0);
    }
    return r;
  }

  bool covers(std::string_view client) const {
    if (any) return true;
    const auto a = parse_address(client);
    if (!a) return false;
    for (int i = 0; i < bits; ++i) {
      const int byte = i / 8, bit = 7 - i % 8;
      if (((addr[byte] >> bit) & 1) != (((*a)[byte] >> bit) & 1)) return false;
    }
    return true;
  }
};

struct rule {
  bool allow = false;
  std::string principal;    // "User:alice", "User:*" or "*"
  uint32_t operations = 0;  // bit per MOSAIC_AUTHZ_OP_*
  int32_t resource_type = 0;
  std::string name;  // resource name or prefix; "*" for every name
  bool prefix = false;
  host_range from;
  std::string text;  // as written, for messages
};

int32_t operation_code(std::string_view name) {
  const std::string n = lower(name);
  for (int32_t op = MOSAIC_AUTHZ_OP_ALL; op <= MOSAIC_AUTHZ_OP_DESCRIBE_TOKENS; ++op)
    if (lower(sdk::authz_operation_name(op)) == n) return op;
  if (n == "idempotent_write") return MOSAIC_AUTHZ_OP_IDEMPOTENT_WRITE;
  if (n == "describe_configs") return MOSAIC_AUTHZ_OP_DESCRIBE_CONFIGS;
  if (n == "alter_configs") return MOSAIC_AUTHZ_OP_ALTER_CONFIGS;
  if (n == "cluster_action") return MOSAIC_AUTHZ_OP_CLUSTER_ACTION;
  return 0;
}

int32_t resource_code(std::string_view name) {
  const std::string n = lower(name);
  if (n == "topic") return MOSAIC_AUTHZ_RESOURCE_TOPIC;
  if (n == "group") return MOSAIC_AUTHZ_RESOURCE_GROUP;
  if (n == "cluster") return MOSAIC_AUTHZ_RESOURCE_CLUSTER;
  if (n == "transactional_id" || n == "transactionalid") return MOSAIC_AUTHZ_RESOURCE_TRANSACTIONAL_ID;
  if (n == "delegation_token" || n == "delegationtoken") return MOSAIC_AUTHZ_RESOURCE_DELEGATION_TOKEN;
  if (n == "user") return MOSAIC_AUTHZ_RESOURCE_USER;
  return 0;
}

rule parse_rule(const std::string& text, size_t index) {
  const std::string where = "rules[" + std::to_string(index) + "] '" + text + "': ";
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() != 4 && !(words.size() == 6 && words[4] == "from"))
    throw sdk::error(MOSAIC_ERR_CONFIG, where + "expected 'allow|deny PRINCIPAL OPERATIONS RESOURCE [from HOST]'");
  rule r;
  r.text = text;
  if (words[0] == "allow") {
    r.allow = true;
  } else if (words[0] != "deny") {
    throw sdk::error(MOSAIC_ERR_CONFIG, where + "a rule begins with allow or deny");
  }
  r.principal = words[1];
  const auto colon = r.principal.find(':');
  if (r.principal != "*" && (colon == std::string::npos || colon == 0 || colon + 1 == r.principal.size()))
    throw sdk::error(MOSAIC_ERR_CONFIG, where + "the principal is Type:name (User:alice), Type:* or *");
  std::istringstream ops(words[2]);
  for (std::string op; std::getline(ops, op, ',');) {
    const int32_t code = operation_code(op);
    if (code == 0) throw sdk::error(MOSAIC_ERR_CONFIG, where + "unknown operation '" + op + "'");
    r.operations |= uint32_t{1} << code;
  }
  if (r.operations == 0) throw sdk::error(MOSAIC_ERR_CONFIG, where + "no operation");
  const std::string& res = words[3];
  const auto sep = res.find(':');
  r.resource_type = resource_code(res.substr(0, sep));
  if (r.resource_type == 0) throw sdk::error(MOSAIC_ERR_CONFIG, where + "unknown resource type in '" + res + "'");
  if (r.resource_type == MOSAIC_AUTHZ_RESOURCE_CLUSTER) {
    if (sep != std::string::npos && res.substr(sep + 1) != "kafka-cluster" && res.substr(sep + 1) != "*")
      throw sdk::error(MOSAIC_ERR_CONFIG, where + "the cluster has one name, kafka-cluster");
    r.name = "*";
  } else {
    if (sep == std::string::npos || sep + 1 == res.size())
      throw sdk::error(MOSAIC_ERR_CONFIG, where + "the resource is type:name (topic:orders, topic:orders-*)");
    r.name = res.substr(sep + 1);
    if (r.name != "*" && r.name.back() == '*') {
      r.prefix = true;
      r.name.pop_back();
    }
  }
  if (words.size() == 6) {
    try {
      r.from = host_range::parse(words[5]);
    } catch (const sdk::error& e) {
      throw sdk::error(MOSAIC_ERR_CONFIG, where + e.what());
    }
  }
  return r;
}

class rules_authorizer : public sdk::authorizer<rules_authorizer> {
 public:
  static constexpr const char* name = "mosaic.authz.rules";
  static constexpr const char* description =
      "decides by an ordered list of allow/deny rules, first match wins; otherwise the cluster's ACLs";
  static constexpr sdk::field config_fields[] = {
      sdk::list_field("rules", nullptr,
                      "the rules, in order: 'allow|deny PRINCIPAL OPERATIONS RESOURCE [from HOST]', e.g. "
                      "'deny * Write topic:audit-*' or 'allow User:batch Read,Describe topic:* from 10.1.0.0/16'",
                      MOSAIC_CONFIG_REQUIRED | MOSAIC_CONFIG_RECONFIGURABLE),
      sdk::string_field("otherwise", "acls",
                        "what decides when no rule matches: acls (the cluster's ACLs), allow or deny",
                        MOSAIC_CONFIG_RECONFIGURABLE)};

  rules_authorizer(const sdk::config& cfg, sdk::host host) {
    const auto texts = cfg.get_list("rules");
    for (size_t i = 0; i < texts.size(); ++i) rules_.push_back(parse_rule(texts[i], i));
    const std::string otherwise = cfg.get_string("otherwise");
    if (otherwise == "acls") {
      otherwise_ = fallback::acls;
    } else if (otherwise == "allow") {
      otherwise_ = fallback::allow;
    } else if (otherwise == "deny") {
      otherwise_ = fallback::deny;
    } else {
      throw sdk::error(MOSAIC_ERR_CONFIG, "otherwise must be acls, allow or deny, got '" + otherwise + "'");
    }
    host.info(std::to_string(rules_.size()) + " rule(s); otherwise " + otherwise);
  }

  bool authorize(const sdk::authz_action& a, const sdk::authz_host& h) const {
    // Codes the ABI does not define (ALL is a rule's, never a question).
    if (a.operation == MOSAIC_AUTHZ_OP_ALL || sdk::authz_operation_name(a.operation).empty() ||
        sdk::authz_resource_name(a.resource_type).empty())
      return false;
    for (const rule& r : rules_) {
      if (!applies(r, a)) continue;
      if (a.on_some && !r.allow && !(r.name == "*" && !r.prefix)) continue;  // denies some names, not all
      return r.allow;
    }
    switch (otherwise_) {
      case fallback::allow: return true;
      case fallback::deny: return false;
      case fallback::acls: break;
    }
    return h.acls(a);
  }

 private:
  enum class fallback { acls, allow, deny };

  static bool covers_operation(const rule& r, int32_t op) {
    if (op <= 0 || op > 31) return false;
    if ((r.operations & (uint32_t{1} << MOSAIC_AUTHZ_OP_ALL)) != 0 || (r.operations & (uint32_t{1} << op)) != 0)
      return true;
    if (!r.allow) return false;
    auto has = [&](int32_t o) { return (r.operations & (uint32_t{1} << o)) != 0; };
    if (op == MOSAIC_AUTHZ_OP_DESCRIBE)
      return has(MOSAIC_AUTHZ_OP_READ) || has(MOSAIC_AUTHZ_OP_WRITE) || has(MOSAIC_AUTHZ_OP_DELETE) ||
             has(MOSAIC_AUTHZ_OP_ALTER);
    if (op == MOSAIC_AUTHZ_OP_DESCRIBE_CONFIGS) return has(MOSAIC_AUTHZ_OP_ALTER_CONFIGS);
    return false;
  }

  static bool applies(const rule& r, const sdk::authz_action& a) {
    if (r.resource_type != a.resource_type || !covers_operation(r, a.operation)) return false;
    if (r.principal != "*") {
      const auto colon = r.principal.find(':');
      const std::string_view type(r.principal.data(), colon), who(r.principal.data() + colon + 1);
      if (type != a.principal_type || (who != "*" && who != a.principal_name)) return false;
    }
    if (!a.on_some && r.name != "*") {
      if (r.prefix ? a.resource_name.substr(0, r.name.size()) != r.name : a.resource_name != r.name) return false;
    }
    return r.from.covers(a.host);
  }

  std::vector<rule> rules_;
  fallback otherwise_ = fallback::acls;
};

}  // namespace

MOSAIC_PLUGIN("mosaic-authz-rules", "0.1.0", rules_authorizer)
