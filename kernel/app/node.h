// One mosaicd node: its config, its data folders, the plugins the config
// names, the metadata store, the broker service and the listeners, started
// in that order and stopped in the reverse one.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/app/builtins.h"
#include "kernel/app/client_telemetry.h"
#include "kernel/app/cluster_swaps.h"
#include "kernel/app/group_io.h"
#include "kernel/app/ops_http.h"
#include "kernel/base/metrics.h"
#include "kernel/base/status.h"
#include "kernel/broker/service.h"
#include "kernel/config/broker_config.h"
#include "kernel/groups/coordinator.h"
#include "kernel/groups/dlq_handler_slot.h"
#include "kernel/groups/share_manager.h"
#include "kernel/groups/share_policy_slot.h"
#include "kernel/log/log_manager.h"
#include "kernel/metadata/metadata_log.h"
#include "kernel/net/server.h"
#include "kernel/plugin/assignors.h"
#include "kernel/plugin/audit.h"
#include "kernel/plugin/codecs.h"
#include "kernel/plugin/host.h"
#include "kernel/plugin/interceptors.h"
#include "kernel/security/authenticators.h"
#include "kernel/security/authorizer_slot.h"
#include "mosaic/version.h"

namespace mosaic::app {

// mosaicd's version (--version, the start-up line, /metrics' build info).
inline constexpr const char* mosaic_version = MOSAIC_VERSION;

// The `adapter` of a listener that serves the operator's endpoints
// (/metrics, /health, /ready: ops_http.h) instead of a client protocol.
inline constexpr const char* metrics_adapter = "metrics";

class node {
 public:
  node(config::broker_config cfg, std::vector<plugin::builtin_plugin> builtins);
  ~node();

  // Loads and creates every configured plugin, then any assignor that
  // group.consumer.assignors names and no entry provides (as the built-in
  // mosaic.assignor.<name>), and checks each listener's protocol adapter
  // (made per listener by start_services). With `dry_run` (for --validate-config) nothing
  // is published and no folder is touched.
  status load_plugins(bool dry_run = false);
  // Creates the data folders, locks them against a second process, and
  // finds the partition logs in them (opened when first used).
  status open_data_dirs();
  // Starts the metadata quorum and waits for the image to catch up, starts
  // the broker service and the listeners (each with the adapter its
  // `adapter` key names).
  status start_services();
  // Opens the metrics listeners (first, so /health answers while the
  // quorum forms); start_services calls it if it was not called before.
  status start_metrics_listeners();
  // The metadata store (after start_services).
  metadata::metadata_store& metadata() { return *store_; }
  // Stops the listeners and the service, then closes every open partition
  // log cleanly.
  status shutdown();
  // The port a listener is bound to (0 if there is no such listener).
  uint16_t bound_port(const std::string& listener) const;
  // /metrics' text and /ready's answer (any thread).
  std::string render_metrics();
  std::pair<bool, std::string> readiness() const;
  // Each slot's plugin and generation, and each listener's adapter (any
  // thread).
  std::vector<adapter::plugin_slot_info> plugin_slots() const;
  // Re-reads plugin entries from `fresh`: a plugin whose library or config
  // changed is created anew and swapped in; a failure keeps the old one.
  status reload_plugins(const config::broker_config& fresh);

  const config::broker_config& config() const noexcept { return cfg_; }
  plugin::plugin_host& plugins() noexcept { return host_; }
  plugin::codec_set& codecs() noexcept { return codecs_; }
  plugin::assignor_set& assignors() noexcept { return assignors_; }
  groups::share_policy_slot& share_policy() noexcept { return share_policy_; }
  groups::dlq_handler_slot& dlq_handler() noexcept { return dlq_handler_; }
  security::authenticators& authenticators() noexcept { return authenticators_; }
  security::authorizer_slot& authorizer() noexcept { return *authorizer_; }
  log::log_manager* logs() noexcept { return logs_.get(); }
  // What the group coordinator and the share manager see of the broker
  // (after start_services).
  groups::group_io& broker_io() noexcept { return *group_io_; }

  // The cluster's plugin swaps (after start_services; null on a
  // controller-only node).
  cluster_swaps* swaps() noexcept { return swaps_.get(); }

 private:
  friend class cluster_swaps;
  status start_plugin(const config::plugin_entry& e, bool dry_run);
  status load_plugins_once(bool dry_run);
  // plugins.trust of `cfg`, checked, then the host's rules.
  status apply_trust(const config::broker_config& cfg);
  status reload_plugins_once(const config::broker_config& fresh);
  // plugins.interceptors: every entry made anew and published.
  status start_interceptors(const std::vector<config::interceptor_entry>& list, bool dry_run);
  status start_default_assignors(bool dry_run);
  // Loads the plugin that `key` (group.share.policy, group.share.dlq.handler,
  // authorizer) names, as configured under plugins.load or built in with no
  // config, and publishes it in its slot.
  status start_named_plugin(const char* key, const std::string& id, const std::vector<config::plugin_entry>& entries,
                            bool dry_run);
  status start_parts();
  // The plugin a listener's `adapter` names, checked (its category, its
  // plugins.load entry's config); with `made`, an instance of it.
  status make_adapter(const config::listener_config& l, std::shared_ptr<plugin::instance>* made);
  status start_metadata();
  bool has_role(const std::string& role) const;
  // node_metrics.cc: each part's families, under metrics_mu_.
  void write_network_metrics(metrics::exposition& e) const;
  void write_partition_metrics(metrics::exposition& e) const;
  void write_quorum_metrics(metrics::exposition& e) const;
  void write_log_metrics(metrics::exposition& e) const;
  void write_group_metrics(metrics::exposition& e) const;
  void write_share_metrics(metrics::exposition& e) const;
  void write_plugin_metrics(metrics::exposition& e) const;

  enum class phase { starting, serving, stopping };
  std::atomic<phase> phase_{phase::starting};
  // Held by a scrape while it reads the node's parts, and by shutdown()
  // while it leaves the serving phase: no scrape reads a part going away.
  std::mutex metrics_mu_;
  int64_t started_ms_ = 0;

  config::broker_config cfg_;
  plugin::plugin_host host_;
  plugin::codec_set codecs_;
  plugin::interceptor_set interceptors_;
  plugin::audit_log audit_;  // <first log dir>/plugin-audit.log
  bool reloading_ = false;   // a SIGHUP's reload is under way (the audit's cause)
  // Held while plugins are made and published: a SIGHUP's reload, a
  // cluster swap's apply.
  std::mutex plugin_mu_;
  std::unique_ptr<cluster_swaps> swaps_;
  // An instance put in service in `slot`, for the audit log.
  void audit_installed(const std::string& slot, const plugin::instance& inst, uint64_t generation);
  void audit_refused(const std::string& what, const std::string& reason);
  plugin::assignor_set assignors_;
  groups::share_policy_slot share_policy_;
  std::string share_policy_id_;  // the plugin id group.share.policy names now
  groups::dlq_handler_slot dlq_handler_;
  std::string dlq_handler_id_;               // the plugin id group.share.dlq.handler names now
  security::authenticators authenticators_;  // SASL mechanisms (outlives the listeners that offer them)
  // `authorizer: <plugin id>`: the slot every listener asks (shared with them).
  std::shared_ptr<security::authorizer_slot> authorizer_ = std::make_shared<security::authorizer_slot>();
  std::string authorizer_id_;                   // the plugin id `authorizer` names now ("" for none or acl)
  std::map<std::string, std::string> running_;  // plugin id -> "library|config" it runs with
  std::vector<int> lock_fds_;
  std::unique_ptr<log::log_manager> logs_;
  std::unique_ptr<metadata::metadata_store> store_;
  std::unique_ptr<broker::service> service_;
  groups::group_kinds group_kinds_;            // one id, one kind of group (before the two that use it)
  std::unique_ptr<broker_group_io> group_io_;  // what both see of the broker (before the two that use it)
  std::unique_ptr<groups::coordinator> groups_;
  std::unique_ptr<groups::share_manager> shares_;
  std::unique_ptr<client_telemetry> telemetry_;  // what clients push (outlives the adapters)
  // Each listener's adapter plugin instance, then the adapter it opened
  // (destroyed first: its code lives in the instance's library).
  std::vector<std::pair<std::string, std::shared_ptr<plugin::instance>>> adapter_instances_;  // by listener
  std::vector<std::shared_ptr<adapter::protocol_adapter>> adapters_;
  std::unique_ptr<net::server> server_;
  std::unique_ptr<ops_http> ops_;  // the metrics listeners (stopped last)
};

// The plugin id a listener's `adapter` names: "kafka" is short for
// mosaic.protocol.kafka (a name without a dot, for mosaic.protocol.<name>).
std::string adapter_id(const std::string& adapter);

}  // namespace mosaic::app
