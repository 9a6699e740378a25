// The ACL authorizer: Kafka's rules over the ACLs of the metadata log.
//
// A request's principal may do an operation on a resource when it is a
// super user, or when no DENY binding and some ALLOW binding applies: a
// binding applies when its pattern covers the resource (literal name, the
// literal `*`, or a prefix), its principal is the caller's or `User:*`, its
// host covers the client's address (`*`, an address, or a CIDR range), and
// its operation is the one asked, ALL, or one that implies it (READ, WRITE,
// DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS).
// DENY wins. A resource no binding names at all is open to everyone when
// `allow.everyone.if.no.acl.found` is set, closed otherwise.
//
// The bindings live in the metadata image, applied on every node at the
// same offset; the authorizer keeps an index of them and rebuilds it when
// the image says they changed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mosaic/adapter/broker.h"
#include "mosaic/adapter/security.h"

namespace mosaic::security {

using acl_binding = adapter::broker::acl_binding;
using acl_filter = adapter::broker::acl_filter;

// Why a binding cannot be stored (a filter-only value, no principal type,
// a host that is no address or range), or nothing.
std::optional<std::string> invalid_binding(const acl_binding& b);
// Whether `filter` matches `b` (DescribeAcls and DeleteAcls).
bool matches(const acl_filter& filter, const acl_binding& b);
// Whether a binding's host pattern covers a client address: `*`, the same
// address (IPv4 or IPv6, compared as addresses), or a CIDR range.
bool host_matches(std::string_view pattern, std::string_view address);
// A host pattern that is `*`, an address or a CIDR range.
bool valid_host(std::string_view pattern);

// The bindings, indexed by resource type and pattern.
class acl_index {
 public:
  explicit acl_index(const std::vector<acl_binding>& bindings);
  // Calls fn(binding) for each binding whose resource pattern covers
  // (type, name).
  void for_each_covering(adapter::acl_resource type, std::string_view name,
                         const std::function<void(const acl_binding&)>& fn) const;
  size_t size() const { return size_; }
  // Calls fn(binding) for every binding on resources of the type.
  void for_each_of(adapter::acl_resource type, const std::function<void(const acl_binding&)>& fn) const;

 private:
  struct by_type {
    std::unordered_map<std::string, std::vector<acl_binding>> literal;
    std::vector<acl_binding> wildcard;  // literal "*"
    std::map<std::string, std::vector<acl_binding>, std::less<>> prefixed;
  };
  std::array<by_type, 8> types_;
  size_t size_ = 0;
};

struct authorizer_options {
  std::set<std::string> super_users;  // super.users: "User:admin", ...
  bool allow_if_no_acl = false;       // allow.everyone.if.no.acl.found
};

class acl_authorizer final : public adapter::authorizer {
 public:
  // `version()` tells when the bindings last changed, cheaply; `load()`
  // reads them all (called only after a change).
  struct source {
    std::function<uint64_t()> version;
    std::function<std::vector<acl_binding>()> load;
  };
  acl_authorizer(authorizer_options options, source from);

  bool allowed(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
               adapter::acl_resource type, std::string_view name) const override;
  bool allowed_on_some(const adapter::principal& who, std::string_view host, adapter::acl_operation op,
                       adapter::acl_resource type) const override;

 private:
  std::shared_ptr<const acl_index> current() const;

  authorizer_options options_;
  source from_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const acl_index> index_;
  mutable uint64_t version_ = UINT64_MAX;  // of index_ (none yet)
};

}  // namespace mosaic::security
