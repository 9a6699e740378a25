// ACLs in the metadata log (Kafka's CreateAcls, DescribeAcls, DeleteAcls):
// each binding is one record with an id, applied on every node at the same
// offset; kernel/security's authorizer reads them from the image.
#include "kernel/broker/service.h"
#include "kernel/security/acls.h"

#include <algorithm>
#include <set>

namespace mosaic::broker {

using adapter::error;
using adapter::outcome;
using acl_binding = adapter::broker::acl_binding;
using acl_filter = adapter::broker::acl_filter;

namespace {

acl_binding to_binding(const metadata::acl_record& r) {
  acl_binding b;
  b.resource_type = static_cast<adapter::acl_resource>(r.resource_type);
  b.resource_name = r.resource_name;
  b.pattern = static_cast<adapter::acl_pattern>(r.pattern_type);
  b.principal = r.principal;
  b.host = r.host;
  b.operation = static_cast<adapter::acl_operation>(r.operation);
  b.permission = static_cast<adapter::acl_permission>(r.permission);
  return b;
}

metadata::acl_record to_record(const acl_binding& b) {
  metadata::acl_record r;
  r.id = metadata::random_uuid();
  r.resource_type = static_cast<int8_t>(b.resource_type);
  r.resource_name = b.resource_name;
  r.pattern_type = static_cast<int8_t>(b.pattern);
  r.principal = b.principal;
  r.host = b.host;
  r.operation = static_cast<int8_t>(b.operation);
  r.permission = static_cast<int8_t>(b.permission);
  return r;
}

}  // namespace

std::vector<outcome> service::create_acls(const std::vector<acl_binding>& bindings) {
  std::vector<outcome> out(bindings.size());
  std::vector<metadata::record> records;
  std::vector<size_t> written;  // which bindings the records are
  std::lock_guard admin(admin_mu_);
  const auto existing = describe_acls(acl_filter{});
  for (size_t k = 0; k < bindings.size(); ++k) {
    const auto& b = bindings[k];
    if (auto why = security::invalid_binding(b)) {
      out[k] = outcome::fail(error::invalid_request, *why);
      continue;
    }
    // A binding that exists already is not stored twice (Kafka answers
    // success for it too).
    bool known = std::find(existing.begin(), existing.end(), b) != existing.end();
    for (size_t j : written) known = known || bindings[j] == b;
    if (known) continue;
    records.emplace_back(to_record(b));
    written.push_back(k);
  }
  if (records.empty()) return out;
  if (auto s = store_->propose(records); !s) {
    const auto failed = refused(s.error(), error::unknown_server_error, "The ACLs could not be stored");
    for (size_t k : written) out[k] = failed;
  }
  return out;
}

std::vector<acl_binding> service::describe_acls(const acl_filter& filter) const {
  return store_->read([&](const metadata::image& i) {
    std::vector<acl_binding> out;
    for (const auto& [id, r] : i.acls()) {
      auto b = to_binding(r);
      if (security::matches(filter, b)) out.push_back(std::move(b));
    }
    return out;
  });
}

std::vector<std::pair<outcome, std::vector<acl_binding>>> service::delete_acls(const std::vector<acl_filter>& filters) {
  std::vector<std::pair<outcome, std::vector<acl_binding>>> out(filters.size());
  std::lock_guard admin(admin_mu_);
  // Each binding goes once, with the first filter that matches it.
  std::vector<metadata::record> records;
  std::set<metadata::uuid> going;
  store_->read([&](const metadata::image& i) {
    for (size_t k = 0; k < filters.size(); ++k)
      for (const auto& [id, r] : i.acls()) {
        auto b = to_binding(r);
        if (!security::matches(filters[k], b) || !going.insert(id).second) continue;
        out[k].second.push_back(std::move(b));
        records.emplace_back(metadata::remove_acl_record{id});
      }
    return 0;
  });
  if (records.empty()) return out;
  if (auto s = store_->propose(records); !s) {
    const auto failed = refused(s.error(), error::unknown_server_error, "The ACLs could not be deleted");
    for (auto& [o, deleted] : out)
      if (!deleted.empty()) {
        o = failed;
        deleted.clear();
      }
  }
  return out;
}

uint64_t service::acls_version() const { return store_->acls_version(); }

}  // namespace mosaic::broker
