// Client quotas in the metadata log (Kafka's DescribeClientQuotas and
// AlterClientQuotas): one record per entity and key, applied on every node
// at the same offset; the Kafka adapter enforces them (throttle_time_ms
// and a muted connection) with quotas_for.
#include <algorithm>
#include <cmath>
#include <set>

#include "kernel/broker/service.h"

namespace mosaic::broker {

using adapter::error;
using adapter::outcome;

namespace {

const std::set<std::string> entity_types = {"user", "client-id"};
const std::set<std::string> quota_keys = {"producer_byte_rate", "consumer_byte_rate", "request_percentage"};

// Sorted by type, as the image keys them.
metadata::quota_entity sorted(adapter::broker::quota_entity e) {
  std::sort(e.begin(), e.end());
  return e;
}

}  // namespace

outcome service::describe_client_quotas(const std::vector<quota_match>& components, bool strict,
                                        std::vector<quota_entry>& out) const {
  std::set<std::string> types;
  for (const auto& c : components) {
    if (!entity_types.count(c.entity_type))
      return outcome::fail(error::invalid_request, "Unknown entity type '" + c.entity_type + "' (user, client-id)");
    if (!types.insert(c.entity_type).second)
      return outcome::fail(error::invalid_request, "Entity type '" + c.entity_type + "' is named twice");
    if (c.match_type < 0 || c.match_type > 2 || (c.match_type == 0 && !c.match))
      return outcome::fail(error::invalid_request,
                           "A component's match type must be 0 (exact name), 1 (default) "
                           "or 2 (any)");
  }
  store_->read([&](const metadata::image& i) {
    for (const auto& [entity, values] : i.client_quotas()) {
      bool ok = true;
      for (const auto& c : components) {
        auto it = std::find_if(entity.begin(), entity.end(), [&](const auto& p) { return p.first == c.entity_type; });
        if (it == entity.end()) {
          ok = false;
          break;
        }
        if (c.match_type == 0 && it->second != c.match) ok = false;
        if (c.match_type == 1 && it->second.has_value()) ok = false;
      }
      if (ok && strict && entity.size() != components.size()) ok = false;
      if (ok) out.push_back({entity, values});
    }
    return 0;
  });
  return {};
}

outcome service::alter_client_quota(const quota_entity& entity, const std::vector<quota_change>& changes,
                                    bool validate_only) {
  if (entity.empty()) return outcome::fail(error::invalid_request, "The entity names no type");
  std::set<std::string> types;
  for (const auto& [type, name] : entity) {
    if (!entity_types.count(type))
      return outcome::fail(error::invalid_request, "Unknown entity type '" + type + "' (user, client-id)");
    if (!types.insert(type).second) return outcome::fail(error::invalid_request, "Entity type '" + type + "' twice");
    if (name && name->empty()) return outcome::fail(error::invalid_request, "An entity name must not be empty");
  }
  std::vector<metadata::record> records;
  std::set<std::string> keys;
  for (const auto& c : changes) {
    if (!quota_keys.count(c.key))
      return outcome::fail(
          error::invalid_request,
          "Unknown quota key '" + c.key + "' (producer_byte_rate, consumer_byte_rate, request_percentage)");
    if (!keys.insert(c.key).second) return outcome::fail(error::invalid_request, "Quota key '" + c.key + "' twice");
    if (!c.remove && (!std::isfinite(c.value) || c.value <= 0))
      return outcome::fail(error::invalid_request, "Quota '" + c.key + "' must be a positive number");
    metadata::client_quota_record r;
    r.entity = sorted(entity);
    r.key = c.key;
    if (!c.remove) r.value = c.value;
    records.emplace_back(std::move(r));
  }
  if (validate_only || records.empty()) return {};
  std::lock_guard admin(admin_mu_);
  if (auto s = store_->propose(records); !s)
    return refused(s.error(), error::unknown_server_error, "The quota could not be stored");
  return {};
}

adapter::broker::client_quotas service::quotas_for(const std::string& user, const std::string& client_id) const {
  using opt = std::optional<std::string>;
  // Asked for every request: without quotas, nothing is looked up (and
  // the image's lock is not taken).
  if (!store_->has_client_quotas()) return {};
  return store_->read([&](const metadata::image& i) {
    client_quotas q;
    const auto& all = i.client_quotas();
    if (all.empty()) return q;
    // Kafka's precedence, most specific first.
    const metadata::quota_entity order[] = {
        {{"client-id", client_id}, {"user", user}},
        {{"client-id", opt()}, {"user", user}},
        {{"user", user}},
        {{"client-id", client_id}, {"user", opt()}},
        {{"client-id", opt()}, {"user", opt()}},
        {{"user", opt()}},
        {{"client-id", client_id}},
        {{"client-id", opt()}},
    };
    auto pick = [&](const char* key, std::optional<double>& into) {
      for (const auto& e : order) {
        auto it = all.find(e);
        if (it == all.end()) continue;
        if (auto v = it->second.find(key); v != it->second.end()) {
          into = v->second;
          return;
        }
      }
    };
    pick("producer_byte_rate", q.producer_byte_rate);
    pick("consumer_byte_rate", q.consumer_byte_rate);
    pick("request_percentage", q.request_percentage);
    return q;
  });
}

}  // namespace mosaic::broker
