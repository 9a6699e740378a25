#include "kernel/security/acls.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace mosaic::security {

using adapter::acl_operation;
using adapter::acl_pattern;
using adapter::acl_permission;
using adapter::acl_resource;

namespace {

// An address as bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped IPv6
// address reads as its IPv4 one).
struct address {
  std::array<uint8_t, 16> bytes{};
  int size = 0;
};

std::optional<address> parse_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  address a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.size = 4;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.bytes.data(), mapped, 12) == 0) {
      std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
      a.size = 4;
    } else {
      a.size = 16;
    }
    return a;
  }
  return std::nullopt;
}

// A CIDR range "address/bits".
struct range {
  address base;
  int bits = 0;
};

std::optional<range> parse_range(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto base = parse_address(text.substr(0, slash));
  if (!base) return std::nullopt;
  const auto digits = text.substr(slash + 1);
  int bits = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  if (bits < 0 || bits > base->size * 8) return std::nullopt;
  return range{*base, bits};
}

bool in_range(const range& r, const address& a) {
  if (a.size != r.base.size) return false;
  const int whole = r.bits / 8;
  if (std::memcmp(a.bytes.data(), r.base.bytes.data(), static_cast<size_t>(whole)) != 0) return false;
  const int rest = r.bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<size_t>(whole)] & mask) == (r.base.bytes[static_cast<size_t>(whole)] & mask);
}

bool principal_matches(const std::string& pattern, const std::string& who) {
  if (pattern == who) return true;
  // "User:*" covers every principal of type User.
  const auto colon = pattern.find(':');
  return colon != std::string::npos && pattern.compare(colon + 1, std::string::npos, "*") == 0 &&
         who.compare(0, colon + 1, pattern, 0, colon + 1) == 0;
}

// Whether an ALLOW of `granted` allows `asked`.
bool allow_covers(acl_operation granted, acl_operation asked) {
  if (granted == asked || granted == acl_operation::all) return true;
  if (asked == acl_operation::describe)
    return granted == acl_operation::read || granted == acl_operation::write || granted == acl_operation::remove ||
           granted == acl_operation::alter;
  if (asked == acl_operation::describe_configs) return granted == acl_operation::alter_configs;
  return false;
}

bool in_enum(int8_t v, int8_t lo, int8_t hi) { return v >= lo && v <= hi; }

}  // namespace

bool valid_host(std::string_view pattern) {
  return pattern == "*" || parse_address(pattern).has_value() || parse_range(pattern).has_value();
}

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern == host) return true;
  auto a = parse_address(host);
  if (!a) return false;
  if (auto r = parse_range(pattern)) return in_range(*r, *a);
  auto p = parse_address(pattern);
  return p && p->size == a->size && std::memcmp(p->bytes.data(), a->bytes.data(), static_cast<size_t>(a->size)) == 0;
}

std::optional<std::string> invalid_binding(const acl_binding& b) {
  const auto type = static_cast<int8_t>(b.resource_type);
  if (!in_enum(type, 2, 7))
    return "The resource type must be a topic, group, cluster, transactional id, "
           "delegation token or user";
  if (b.pattern != acl_pattern::literal && b.pattern != acl_pattern::prefixed)
    return std::string("The pattern type must be LITERAL or PREFIXED");
  if (b.resource_name.empty()) return std::string("The resource name must not be empty");
  if (b.resource_type == acl_resource::cluster &&
      (b.resource_name != adapter::cluster_resource_name || b.pattern != acl_pattern::literal))
    return std::string("The cluster resource is the literal ") + adapter::cluster_resource_name;
  const auto op = static_cast<int8_t>(b.operation);
  if (!in_enum(op, 2, 14)) return std::string("The operation must not be ANY or UNKNOWN");
  if (b.permission != acl_permission::allow && b.permission != acl_permission::deny)
    return std::string("The permission must be ALLOW or DENY");
  const auto colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size())
    return std::string("The principal must be of the form Type:name (User:alice, User:*)");
  if (!valid_host(b.host)) return std::string("The host must be *, an IP address or a CIDR range");
  return std::nullopt;
}

bool matches(const acl_filter& f, const acl_binding& b) {
  if (f.resource_type != acl_resource::any && f.resource_type != b.resource_type) return false;
  switch (f.pattern) {
    case acl_pattern::any:
      if (f.resource_name && *f.resource_name != b.resource_name) return false;
      break;
    case acl_pattern::match:
      // The patterns that apply to the name: the literal name, the literal
      // wildcard, and every prefix of it.
      if (f.resource_name) {
        const auto& n = *f.resource_name;
        const bool applies = b.pattern == acl_pattern::literal
                                 ? b.resource_name == n || b.resource_name == "*"
                                 : n.compare(0, b.resource_name.size(), b.resource_name) == 0;
        if (!applies) return false;
      }
      break;
    default:
      if (f.pattern != b.pattern) return false;
      if (f.resource_name && *f.resource_name != b.resource_name) return false;
  }
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && *f.host != b.host) return false;
  if (f.operation != acl_operation::any && f.operation != b.operation) return false;
  if (f.permission != acl_permission::any && f.permission != b.permission) return false;
  return true;
}

acl_index::acl_index(const std::vector<acl_binding>& bindings) {
  for (const auto& b : bindings) {
    const auto t = static_cast<size_t>(b.resource_type);
    if (t >= types_.size()) continue;
    auto& by = types_[t];
    if (b.pattern == acl_pattern::prefixed)
      by.prefixed[b.resource_name].push_back(b);
    else if (b.resource_name == "*")
      by.wildcard.push_back(b);
    else
      by.literal[b.resource_name].push_back(b);
    ++size_;
  }
}

void acl_index::for_each_covering(acl_resource type, std::string_view name,
                                  const std::function<void(const acl_binding&)>& fn) const {
  const auto t = static_cast<size_t>(type);
  if (t >= types_.size()) return;
  const auto& by = types_[t];
  if (auto l = by.literal.find(std::string(name)); l != by.literal.end())
    for (const auto& b : l->second) fn(b);
  for (const auto& b : by.wildcard) fn(b);
  if (by.prefixed.empty()) return;
  for (size_t n = 1; n <= name.size(); ++n)
    if (auto p = by.prefixed.find(name.substr(0, n)); p != by.prefixed.end())
      for (const auto& b : p->second) fn(b);
}

void acl_index::for_each_of(acl_resource type, const std::function<void(const acl_binding&)>& fn) const {
  const auto t = static_cast<size_t>(type);
  if (t >= types_.size()) return;
  const auto& by = types_[t];
  for (const auto& [name, bindings] : by.literal)
    for (const auto& b : bindings) fn(b);
  for (const auto& b : by.wildcard) fn(b);
  for (const auto& [prefix, bindings] : by.prefixed)
    for (const auto& b : bindings) fn(b);
}

acl_authorizer::acl_authorizer(authorizer_options options, source from)
    : options_(std::move(options)), from_(std::move(from)) {}

std::shared_ptr<const acl_index> acl_authorizer::current() const {
  const uint64_t v = from_.version();
  std::lock_guard g(mu_);
  if (v != version_ || !index_) {
    index_ = std::make_shared<const acl_index>(from_.load());
    version_ = v;
  }
  return index_;
}

bool acl_authorizer::allowed(const adapter::principal& who, std::string_view host, acl_operation op, acl_resource type,
                             std::string_view name) const {
  const std::string principal = who.str();
  if (options_.super_users.count(principal)) return true;
  const auto index = current();
  bool any = false;
  bool deny = false;
  bool allow = false;
  index->for_each_covering(type, name, [&](const acl_binding& b) {
    any = true;
    if (!principal_matches(b.principal, principal) || !host_matches(b.host, host)) return;
    if (b.permission == acl_permission::deny) {
      if (b.operation == op || b.operation == acl_operation::all) deny = true;
    } else if (allow_covers(b.operation, op)) {
      allow = true;
    }
  });
  if (deny) return false;
  if (allow) return true;
  return !any && options_.allow_if_no_acl;
}

bool acl_authorizer::allowed_on_some(const adapter::principal& who, std::string_view host, acl_operation op,
                                     acl_resource type) const {
  const std::string principal = who.str();
  if (options_.super_users.count(principal)) return true;
  const auto index = current();
  // Some ALLOW for the principal, unless a DENY on every resource of the
  // type (the literal `*`) takes it back; with no bindings on the type at
  // all, what allow.everyone.if.no.acl.found says.
  bool any = false;
  bool allow = false;
  bool deny_all = false;
  index->for_each_of(type, [&](const acl_binding& b) {
    any = true;
    if (!principal_matches(b.principal, principal) || !host_matches(b.host, host)) return;
    if (b.permission == acl_permission::deny) {
      if ((b.operation == op || b.operation == acl_operation::all) && b.pattern == acl_pattern::literal &&
          b.resource_name == "*")
        deny_all = true;
    } else if (allow_covers(b.operation, op)) {
      allow = true;
    }
  });
  if (deny_all) return false;
  if (allow) return true;
  return !any && options_.allow_if_no_acl;
}

}  // namespace mosaic::security
