// MosaicPlugins (10000), Mosaic's own request: the cluster's plugin swaps
// for `mosaic plugin list|history|swap|promote|rollback`. Listing and the
// history need DESCRIBE on the cluster, changes ALTER on the cluster (with
// an authorizer). Served only where the node offers plugin swaps; the work
// is the node's (adapter::plugin_admin), on the admin thread since a swap's
// validation and commit take time.
#include "plugins/protocol_kafka/adapter/connection.h"

namespace mosaic::kafka {

using adapter::acl_operation;
using adapter::error;

void connection::mosaic_plugins(const request_context& rc, const msg::mosaic_plugins_request& req) {
  msg::mosaic_plugins_response resp;
  resp.broker_id = broker().node_id();
  auto* admin = state_->plugin_swaps;
  auto refuse = [&](error e, std::string message) {
    resp.error_code = code(e);
    resp.error_message = std::move(message);
    rc.send(resp);
  };
  if (req.operation == 0 || req.operation == 1) {
    if (!may_on_cluster(acl_operation::describe))
      return refuse(error::cluster_authorization_failed, "Describing plugins needs DESCRIBE on the cluster");
    if (req.operation == 0) {
      for (const auto& s : admin->slots()) {
        auto& out = resp.slots.emplace_back();
        out.slot = s.slot;
        out.plugin = s.plugin;
        out.library = s.library;
        out.sha256 = s.sha256;
        out.local_generation = static_cast<int64_t>(s.local_generation);
        out.cluster_generation = s.cluster_generation;
        out.canary = s.canary;
        out.calls = static_cast<int64_t>(s.calls);
        out.errors = static_cast<int64_t>(s.errors);
        out.p99_micros = s.p99_us;
        out.config = s.config;
        if (!s.problem.empty()) out.problem = s.problem;
      }
    } else {
      for (const auto& h : admin->history(req.slot)) {
        auto& out = resp.history.emplace_back();
        out.slot = h.slot;
        out.action = h.action;
        out.generation = h.generation;
        out.plugin = h.plugin;
        out.library = h.library;
        out.sha256 = h.sha256;
        out.config = h.config;
        out.brokers = h.brokers;
        out.principal = h.principal;
        out.time_ms = h.time_ms;
        out.reason = h.reason;
      }
    }
    return rc.send(resp);
  }
  if (req.operation < 2 || req.operation > 4)
    return refuse(error::invalid_request, "unknown operation " + std::to_string(req.operation) +
                                              " (0 list, 1 history, 2 swap, 3 promote, 4 rollback)");
  if (!may_on_cluster(acl_operation::alter))
    return refuse(error::cluster_authorization_failed, "Swapping plugins needs ALTER on the cluster");
  adapter::plugin_change c;
  c.what = req.operation == 2   ? adapter::plugin_change::kind::swap
           : req.operation == 3 ? adapter::plugin_change::kind::promote
                                : adapter::plugin_change::kind::rollback;
  c.slot = req.slot;
  c.plugin = req.plugin;
  c.library = req.library;
  for (const auto& e : req.config) c.config.emplace_back(e.key, e.value);
  c.brokers = req.brokers;
  c.expected_generation = req.generation;
  c.reason = req.reason.value_or("");
  c.principal = principal().str();
  c.validate_only = req.validate_only;
  auto done = admin->change(c);
  resp.generation = done.generation;
  resp.error_code = code(done.result.code);
  if (!done.result.ok()) resp.error_message = done.result.message;
  rc.send(resp);
}

std::vector<api_handler> plugin_apis() {
  return {
      {msg::mosaic_plugins_request_api_key, 0, 0, 0,
       &answer_on_admin_thread<msg::mosaic_plugins_request, &connection::mosaic_plugins>},
  };
}

}  // namespace mosaic::kafka
