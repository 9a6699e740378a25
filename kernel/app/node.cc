#include "kernel/app/node.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include <fmt/ranges.h>

#include "kernel/base/log.h"
#include "kernel/base/numbers.h"
#include "kernel/broker/tls_settings.h"
#include "kernel/broker/topic_config.h"
#include "kernel/groups/share_state_log.h"
#include "kernel/log/open_files.h"
#include "kernel/security/acls.h"
#include "mosaic/adapter/table.h"

namespace mosaic::app {

node::node(config::broker_config cfg, std::vector<plugin::builtin_plugin> builtins)
    : started_ms_(wall_ms()), cfg_(std::move(cfg)), host_(cfg_.plugin_search_paths, std::move(builtins)) {}

node::~node() {
  (void)shutdown();
  for (int fd : lock_fds_) ::close(fd);
}

std::string adapter_id(const std::string& adapter) {
  return adapter.find('.') == std::string::npos ? "mosaic.protocol." + adapter : adapter;
}

status node::make_adapter(const config::listener_config& l, std::shared_ptr<plugin::instance>* made) {
  config::plugin_entry e;
  e.name = adapter_id(l.adapter);
  e.where = "listener " + l.name;
  for (const auto& configured : cfg_.plugins)
    if (configured.name == e.name) e = configured;  // its library and config
  if (auto s = host_.ensure(e.name, e.library); !s.ok())
    return status(errc::config, "listener " + l.name + ": adapter '" + l.adapter + "' (" + e.name +
                                    ") cannot be loaded: " + s.message());
  if (host_.find(e.name)->factory->category != MOSAIC_CATEGORY_PROTOCOL_ADAPTER)
    return status(errc::config, "listener " + l.name + ": adapter '" + l.adapter + "' names " + e.name +
                                    ", which is not a protocol adapter plugin");
  if (made == nullptr) {
    auto checked = host_.check_config(e.name, e.config, e.where);
    return checked ? status{} : checked.error();
  }
  auto inst = host_.create(e.name, e.config, e.where);
  if (!inst) return inst.error();
  *made = std::move(*inst);
  return {};
}

status node::start_metrics_listeners() {
  if (ops_) return {};
  std::vector<ops_listener> wanted;
  for (const auto& l : cfg_.listeners)
    if (l.adapter == metrics_adapter) {
      if (l.security_protocol != "PLAINTEXT")
        return status(errc::config, "listener " + l.name + ": a metrics listener is PLAINTEXT only (not " +
                                        l.security_protocol + "); bind it to an address only operators reach");
      wanted.push_back({l.name, l.host, l.port});
    }
  if (wanted.empty()) return {};
  ops_routes routes;
  routes.metrics = [this] { return render_metrics(); };
  routes.ready = [this] { return readiness(); };
  auto o = ops_http::start(wanted, std::move(routes));
  if (!o) return o.error();
  ops_ = std::move(*o);
  plugin::call_meter::set_timing(true);  // plugin calls are timed for someone now
  for (const auto& l : wanted)
    log::info("listening on {} {}:{} (metrics: /metrics, /health, /ready)", l.name, l.host, ops_->bound_port(l.name));
  return {};
}

status node::start_services() {
  if (auto s = start_metrics_listeners(); !s) return s;
  auto s = start_parts();
  // Once every part is up, the node serves (/ready says so).
  if (s.ok()) phase_.store(phase::serving);
  return s;
}

status node::start_parts() {
  // The kernel's own logs: partitions that never expire nor roll by age.
  auto internal_log = [&](const char* name, uint64_t segment_bytes, size_t max_message_bytes) {
    log::log_config c;
    c.retention_ms = -1;
    c.segment_bytes = segment_bytes;
    c.segment_ms = INT64_MAX;
    c.max_message_bytes = max_message_bytes;
    auto opened = logs_->create(name, 0, c);
    if (opened) logs_->set_config(name, 0, c);
    return opened;
  };
  if (auto s = start_metadata(); !s) return s;
  if (!has_role("broker")) {
    log::info("controller only: no broker service, no listeners");
    return {};
  }
  auto svc = broker::service::start(cfg_, logs_.get(), store_.get(), &codecs_);
  if (!svc) return svc.error();
  service_ = std::move(*svc);
  service_->set_interceptors(&interceptors_);
  // The cluster's plugin swaps, as the image holds them for this broker,
  // before anything serves.
  swaps_ = std::make_unique<cluster_swaps>(*this, store_.get());
  swaps_->set_yaml(cfg_);
  swaps_->start();
  log::info("cluster {}: {} topic(s), metadata at offset {}", service_->cluster_id(),
            store_->read([](const metadata::image& i) { return i.topics().size(); }), store_->applied_offset());

  // SCRAM credentials come from the metadata image.
  authenticators_.set_credentials([store = store_.get()](const std::string& user, int8_t mechanism) {
    return store->read([&](const metadata::image& i) -> std::optional<security::scram_secret> {
      auto u = i.scram_credentials().find(user);
      if (u == i.scram_credentials().end()) return std::nullopt;
      auto c = u->second.find(mechanism);
      if (c == u->second.end()) return std::nullopt;
      return security::scram_secret{c->second.salt, c->second.stored_key, c->second.server_key, c->second.iterations};
    });
  });

  group_io_ = std::make_unique<broker_group_io>(service_.get());
  // The group coordinator keeps its groups in the partitions of
  // __consumer_offsets (a topic, made at the first FindCoordinator) and
  // serves those this broker leads.
  groups::coordinator::options gopts;
  gopts.settings = cfg_.groups;
  gopts.io = group_io_.get();
  gopts.self = cfg_.node_id;
  gopts.kinds = &group_kinds_;
  auto coord = groups::coordinator::start(&assignors_, std::move(gopts));
  if (!coord) return coord.error();
  groups_ = std::move(*coord);

  // Share groups keep their epochs and configs in a log of their own; the
  // share-partitions' delivery state is the share coordinator's, in the
  // partitions of __share_group_state (a topic, made at first need).
  bool legacy_state = false;
  if (!service_->find_topic(broker::share_state_topic_name))
    for (const auto& u : logs_->usage())
      if (u.folder == std::string(broker::share_state_topic_name) + "-0") legacy_state = true;
  auto share_log = internal_log(broker::share_log_name, 16ull << 20, 64u << 20);
  if (!share_log) return share_log.error();
  groups::share_manager::options sopts;
  sopts.settings = cfg_.groups;
  sopts.self = cfg_.node_id;
  sopts.legacy_state = legacy_state;
  if (legacy_state) {
    // Its groups' records (their configs go to the metadata at start); the
    // share-partition states are read by the share coordinator.
    if (auto old = logs_->get(broker::share_state_topic_name, 0)) {
      groups::share_state_log reader(*old);
      groups::share_state_log::visitor v;
      v.group = [&](const std::string& id, int32_t epoch, groups::share_overrides configs,
                    const std::set<groups::uuid>&) {
        sopts.legacy_groups[id] = {epoch, std::move(configs)};
      };
      v.group_deleted = [&](const std::string& id) { sopts.legacy_groups.erase(id); };
      v.snapshot = [](const groups::sp_key&, int64_t, const std::vector<groups::state_batch>&, int32_t, int32_t) {};
      v.update = [](const groups::sp_key&, int64_t, const std::vector<groups::state_batch>&) {};
      v.partition_deleted = [](const groups::sp_key&) {};
      if (auto n = reader.load(v); !n)
        log::warn("reading the share-state log of an earlier version: {}", n.error().message());
    }
  }
  sopts.io = group_io_.get();
  sopts.policy = [slot = &share_policy_] { return slot->current(); };
  sopts.dlq = &dlq_handler_;
  sopts.kinds = &group_kinds_;
  auto shares = groups::share_manager::start(*share_log, &assignors_, std::move(sopts));
  if (!shares) return shares.error();
  shares_ = std::move(*shares);

  // The authorizer, shared by every listener: the ACLs of the metadata log,
  // or a plugin (which may defer to them).
  std::shared_ptr<const adapter::authorizer> authz;
  if (cfg_.server.authorizer != "none") {
    security::authorizer_options o;
    o.super_users.insert(cfg_.server.super_users.begin(), cfg_.server.super_users.end());
    o.allow_if_no_acl = cfg_.server.allow_everyone_if_no_acl;
    security::acl_authorizer::source from;
    from.version = [svc = service_.get()] { return svc->acls_version(); };
    from.load = [svc = service_.get()] { return svc->describe_acls(adapter::broker::acl_filter{}); };
    log::info("{}: ACLs from the metadata log, {} super user(s), a resource without ACLs is {}",
              authorizer_id_.empty() ? "authorizer" : "the ACLs the authorizer plugin may defer to",
              o.super_users.size(), o.allow_if_no_acl ? "open to all" : "closed");
    authz = std::make_shared<security::acl_authorizer>(std::move(o), std::move(from));
    if (!authorizer_id_.empty()) {
      authorizer_->set_acls(std::move(authz));
      authz = authorizer_;
    }
  }
  telemetry_ = std::make_unique<client_telemetry>(cfg_.server);
  std::vector<net::listener_spec> specs;
  for (const auto& l : cfg_.listeners) {
    if (l.adapter == metrics_adapter) continue;  // start_metrics_listeners'
    std::shared_ptr<plugin::instance> made;
    if (auto s = make_adapter(l, &made); !s) return s;
    adapter::adapter_context ctx;
    ctx.service = service_.get();
    ctx.groups = groups_.get();
    ctx.shares = shares_.get();
    ctx.telemetry = telemetry_.get();
    ctx.plugins = [this] { return plugin_slots(); };
    ctx.plugin_swaps = swaps_.get();
    ctx.log = [](adapter::log_level level, const std::string& message) {
      switch (level) {
        case adapter::log_level::debug: return log::debug("{}", message);
        case adapter::log_level::info: return log::info("{}", message);
        case adapter::log_level::warn: return log::warn("{}", message);
        case adapter::log_level::error: return log::error("{}", message);
      }
    };
    ctx.security.protocol = l.security_protocol;
    ctx.security.max_reauth_ms = cfg_.server.connections_max_reauth_ms;
    ctx.security.failed_auth_delay_ms = cfg_.server.failed_authentication_delay_ms;
    ctx.security.max_receive_bytes = static_cast<size_t>(cfg_.server.sasl_server_max_receive_size);
    ctx.security.authz = authz;
    if (ctx.security.sasl()) {
      auto wanted = l.sasl_mechanisms.empty() ? cfg_.server.sasl_enabled_mechanisms : l.sasl_mechanisms;
      ctx.security.mechanisms = authenticators_.for_listener(wanted);
      const auto offered = ctx.security.mechanisms->enabled();
      if (offered.empty())
        return status(errc::config, "listener " + l.name + " is " + l.security_protocol +
                                        " but no authenticator plugin serves " +
                                        (wanted.empty() ? std::string("any mechanism") : "the mechanisms it enables") +
                                        " (load one under plugins.load, e.g. mosaic.authn.plain)");
      for (const auto& m : wanted)
        if (std::find(offered.begin(), offered.end(), m) == offered.end())
          return status(errc::config, "listener " + l.name + " enables SASL mechanism " + m +
                                          ", which no authenticator plugin under plugins.load serves");
    }
    const auto* table = static_cast<const adapter::adapter_table_v1*>(made->vtable());
    std::string why;
    auto a = table->open(made->handle(), ctx, &why);
    if (!a)
      return status(errc::config, "listener " + l.name + ": adapter " + made->factory().name + " did not open: " + why);
    adapter_instances_.emplace_back(l.name, std::move(made));
    adapters_.push_back(a);
    specs.push_back({l.name, l.host, l.port, a, std::nullopt});
    if (l.tls_enabled()) {
      auto t = broker::tls_settings_of(l.tls);
      if (!t) return status(errc::config, "listener " + l.name + ": " + t.error().message());
      specs.back().tls = std::move(*t);
    }
  }
  net::server_options opts;
  opts.network_threads = static_cast<int>(cfg_.server.num_network_threads);
  opts.max_request_bytes = static_cast<size_t>(cfg_.server.socket_request_max_bytes);
  opts.max_queued_request_bytes =
      cfg_.server.queued_max_request_bytes < 0 ? SIZE_MAX : static_cast<size_t>(cfg_.server.queued_max_request_bytes);
  opts.max_connections = static_cast<size_t>(cfg_.server.max_connections);
  opts.idle_timeout_ms = cfg_.server.connections_max_idle_ms;
  opts.time_requests = ops_ != nullptr;  // someone can read them
  if (specs.empty()) return {};
  auto srv = net::server::start(std::move(specs), opts);
  if (!srv) return srv.error();
  server_ = std::move(*srv);
  for (const auto& l : cfg_.listeners)
    if (l.adapter != metrics_adapter)
      log::info("listening on {} {}:{} ({}{}{})", l.name, l.host, server_->bound_port(l.name), l.adapter,
                l.security_protocol == "PLAINTEXT" ? "" : ", ",
                l.security_protocol == "PLAINTEXT" ? "" : l.security_protocol);
  // Clients of other brokers learn of this one from the metadata: every
  // Kafka listener by name, so that each client is sent to the listener
  // of the name it came in on.
  std::vector<metadata::broker_listener> kafka;
  for (const auto& l : cfg_.listeners)
    if (adapter_id(l.adapter) == "mosaic.protocol.kafka")
      kafka.push_back({l.name, l.host, server_->bound_port(l.name)});
  if (!kafka.empty())
    if (auto s = service_->register_broker(kafka); !s)
      return status(s.code(), "registering this broker in the metadata: " + s.message());
  return {};
}

bool node::has_role(const std::string& role) const {
  return std::find(cfg_.process_roles.begin(), cfg_.process_roles.end(), role) != cfg_.process_roles.end();
}

status node::start_metadata() {
  metadata::raft_metadata_options o;
  raft::server_options& so = o.server;
  so.raft.id = cfg_.node_id;
  so.dir = cfg_.log_dirs.front() / broker::quorum_dir_name;
  // Ticks of a twentieth of the election timeout; heartbeats every two.
  so.raft.election_ticks = 20;
  so.raft.heartbeat_ticks = 2;
  so.tick_ms = static_cast<int>(std::max<int64_t>(1, cfg_.quorum.election_timeout_ms / 20));
  so.raft.seed = std::random_device{}();
  so.raft.snapshot_bytes = static_cast<uint64_t>(cfg_.quorum.snapshot_bytes);
  so.raft.snapshot_entries = 0;         // by bytes, as Kafka
  so.raft.snapshot_bytes_scale = true;  // a large image: snapshots after as much log as it holds
  so.raft.snapshot_trailing = 16;
  so.raft.snapshot_trailing_bytes = so.raft.snapshot_bytes;
  std::vector<int32_t> voters;
  for (const auto& v : cfg_.quorum.voters) {
    voters.push_back(v.id);
    so.peers.push_back(raft::peer_address{v.id, v.host, v.port});
    if (v.id == cfg_.node_id) {
      so.host = v.host;
      so.port = v.port;
    }
  }
  auto security = broker::inter_broker_security(cfg_);
  if (!security) return security.error();
  so.security = std::move(*security);
  if (voters.empty()) voters = {cfg_.node_id};  // this node alone
  if (has_role("controller")) {
    so.raft.bootstrap.voters = voters;
  } else {
    // A broker-only node observes the quorum: it votes for nothing and
    // counts for nothing; it tells the voters where it listens (any free
    // port, on its first listener's host) and the leader replicates to it.
    so.host = cfg_.listeners.empty() ? "127.0.0.1" : cfg_.listeners.front().host;
    so.port = 0;
  }
  // A node that kept its metadata in a partition log (before Raft) starts
  // its one-voter quorum from what that log holds.
  std::error_code ec;
  if (so.raft.bootstrap.voters == std::vector<int32_t>{cfg_.node_id} && !std::filesystem::exists(so.dir, ec)) {
    if (auto legacy = logs_->get(broker::metadata_log_name, 0)) {
      metadata::image img;
      size_t entries = 0;
      auto s = metadata::read_partition_metadata_log(*legacy, [&](const std::vector<metadata::record>& records) {
        for (const auto& r : records) img.apply(r);
        ++entries;
      });
      if (!s) return status(s.code(), "reading the metadata partition log to import it: " + s.message());
      so.raft.bootstrap_state = metadata::encode(img.to_records());
      log::info("importing {} metadata entries ({} topics) from {}-0 into the metadata quorum", entries,
                img.topics().size(), broker::metadata_log_name);
    }
  }
  // mosaicd blocks its stop signals and takes them with sigwait: one that
  // arrives while the quorum forms ends the wait.
  o.cancelled = [] {
    sigset_t pending;
    sigemptyset(&pending);
    return ::sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
  };
  store_ = std::make_unique<metadata::metadata_store>(std::make_unique<metadata::raft_metadata_log>(std::move(o)));
  if (auto s = store_->load(); !s) return status(s.code(), "starting the metadata quorum: " + s.message());
  if (auto* q = store_->log().quorum())
    log::info("metadata quorum: node {} {} voters {}, raft port {}", cfg_.node_id,
              has_role("controller") ? "one of the" : "observing the", fmt::join(voters, ","), q->port());
  return {};
}

uint16_t node::bound_port(const std::string& listener) const {
  if (ops_)
    if (auto p = ops_->bound_port(listener); p != 0) return p;
  return server_ ? server_->bound_port(listener) : 0;
}

status node::shutdown() {
  {
    // /ready says "stopping" from here; a scrape under way finishes first.
    std::lock_guard g(metrics_mu_);
    phase_.store(phase::stopping);
  }
  // Leadership moves while clients can still be told where it went.
  if (service_ && server_) service_->controlled_shutdown();
  if (swaps_) swaps_->stop();
  if (server_) server_->stop();
  server_.reset();
  adapters_.clear();
  adapter_instances_.clear();
  swaps_.reset();
  telemetry_.reset();
  if (shares_) shares_->stop();
  shares_.reset();
  if (groups_) groups_->stop();
  groups_.reset();
  if (service_) service_->stop();
  service_.reset();
  authenticators_.set_credentials({});
  store_.reset();
  status s;
  if (logs_) s = logs_->close_all();
  logs_.reset();
  if (ops_) ops_->stop();
  ops_.reset();
  return s;
}

namespace {

// What a running plugin was made from; a reload swaps it when this changes.
std::string fingerprint(const config::plugin_entry& e, const sdk::validated_config& checked) {
  return e.library.value_or("") + "|" + checked.describe(true);
}

}  // namespace

void node::audit_installed(const std::string& slot, const plugin::instance& inst, uint64_t generation) {
  plugin::audit_event a;
  a.action = reloading_ ? "swap" : "load";
  a.cause = reloading_ ? "reload" : "start";
  a.slot = slot;
  a.plugin = inst.factory().name;
  a.library = inst.lib().origin();
  a.sha256 = inst.lib().sha256();
  a.generation = generation;
  a.config = inst.config().describe();
  audit_.record(a);
}

void node::audit_refused(const std::string& what, const std::string& reason) {
  plugin::audit_event a;
  a.action = "refuse";
  a.cause = reloading_ ? "reload" : "start";
  a.plugin = what;
  a.reason = reason;
  audit_.record(a);
}

status node::start_plugin(const config::plugin_entry& e, bool dry_run) {
  if (auto s = host_.ensure(e.name, e.library); !s.ok()) return status(s.code(), e.where + ": " + s.message());
  if (host_.find(e.name)->factory->category == MOSAIC_CATEGORY_PROTOCOL_ADAPTER) {
    // Made per listener that names it (start_services); checked here.
    auto checked = host_.check_config(e.name, e.config, e.where);
    return checked ? status{} : checked.error();
  }
  auto inst = host_.create(e.name, e.config, e.where);
  if (!inst) return inst.error();
  if (dry_run) return {};
  auto& f = (*inst)->factory();
  if (reloading_ && swaps_) {
    // A slot the cluster swapped keeps the cluster's generation; the file's
    // change applies when the cluster rolls the slot back to generation 0.
    std::string slot;
    if (f.category == MOSAIC_CATEGORY_CODEC) {
      slot = plugin::codec_slot_name(static_cast<const mosaic_codec_vtable_v1*>(f.vtable)->codec_id);
    } else if (f.category == MOSAIC_CATEGORY_ASSIGNOR) {
      slot = std::string("assignor.") + static_cast<const mosaic_assignor_vtable_v1*>(f.vtable)->assignor_name;
    } else if (f.category == MOSAIC_CATEGORY_SHARE_POLICY && e.name == share_policy_id_) {
      slot = "group.share.policy";
    } else if (f.category == MOSAIC_CATEGORY_DLQ_HANDLER && e.name == dlq_handler_id_) {
      slot = "group.share.dlq.handler";
    } else if (f.category == MOSAIC_CATEGORY_AUTHENTICATOR) {
      slot = "authenticator." + e.name;
    }
    if (!slot.empty() && swaps_->owns(slot)) {
      log::info(
          "reload: slot {} runs the cluster's swap, which stays; the file's {} applies after mosaic plugin "
          "rollback to generation 0",
          slot, e.name);
      running_[e.name] = fingerprint(e, (*inst)->config());
      return {};
    }
  }
  const auto& lib = (*inst)->lib();
  const std::string settings = (*inst)->config().describe();
  if (f.category == MOSAIC_CATEGORY_CODEC) {
    auto gen = codecs_.install(*inst);
    if (!gen) return gen.error();
    audit_installed(plugin::codec_slot_name(static_cast<const mosaic_codec_vtable_v1*>(f.vtable)->codec_id), **inst,
                    *gen);
    log::info("plugin {} ({} {}, {}) is codec {} generation {}{}{}", f.name, lib.descriptor().name,
              lib.descriptor().version, lib.origin(), static_cast<const mosaic_codec_vtable_v1*>(f.vtable)->codec_id,
              *gen, settings.empty() ? "" : ": ", settings);
  } else if (f.category == MOSAIC_CATEGORY_ASSIGNOR) {
    auto gen = assignors_.install(*inst);
    if (!gen) return gen.error();
    audit_installed(std::string("assignor.") + static_cast<const mosaic_assignor_vtable_v1*>(f.vtable)->assignor_name,
                    **inst, *gen);
    log::info("plugin {} ({} {}, {}) is assignor '{}' generation {}{}{}", f.name, lib.descriptor().name,
              lib.descriptor().version, lib.origin(),
              static_cast<const mosaic_assignor_vtable_v1*>(f.vtable)->assignor_name, *gen,
              settings.empty() ? "" : ": ", settings);
  } else if (f.category == MOSAIC_CATEGORY_AUTHENTICATOR) {
    auto gen = authenticators_.install(*inst);
    if (!gen) return status(gen.error().code(), e.where + ": " + gen.error().message());
    audit_installed("authenticator", **inst, *gen);
    const auto* vt = static_cast<const mosaic_authenticator_vtable_v1*>(f.vtable);
    std::string names;
    for (size_t i = 0; i < vt->mechanism_count((*inst)->handle()); ++i)
      names += (i ? ", " : "") + std::string(vt->mechanism((*inst)->handle(), i));
    log::info("plugin {} ({} {}, {}) is the authenticator of {}, generation {}{}{}", f.name, lib.descriptor().name,
              lib.descriptor().version, lib.origin(), names, *gen, settings.empty() ? "" : ": ", settings);
  } else if (f.category == MOSAIC_CATEGORY_AUTHORIZER && e.name == authorizer_id_) {
    const uint64_t gen = authorizer_->install(*inst);
    audit_installed("authorizer", **inst, gen);
    log::info("plugin {} ({} {}, {}) is the authorizer, generation {}{}{}", f.name, lib.descriptor().name,
              lib.descriptor().version, lib.origin(), gen, settings.empty() ? "" : ": ", settings);
  } else if ((f.category == MOSAIC_CATEGORY_SHARE_POLICY && e.name == share_policy_id_) ||
             (f.category == MOSAIC_CATEGORY_DLQ_HANDLER && e.name == dlq_handler_id_)) {
    // Only the plugin group.share.policy / group.share.dlq.handler names
    // serves; others wait loaded.
    const bool policy = f.category == MOSAIC_CATEGORY_SHARE_POLICY;
    auto gen = policy ? share_policy_.install(*inst) : dlq_handler_.install(*inst);
    if (!gen) return gen.error();
    audit_installed(policy ? "group.share.policy" : "group.share.dlq.handler", **inst, *gen);
    log::info("plugin {} ({} {}, {}) is the {}, generation {}{}{}", f.name, lib.descriptor().name,
              lib.descriptor().version, lib.origin(), policy ? "share policy" : "DLQ handler", *gen,
              settings.empty() ? "" : ": ", settings);
  }
  running_[e.name] = fingerprint(e, (*inst)->config());
  return {};
}

status node::start_interceptors(const std::vector<config::interceptor_entry>& list, bool dry_run) {
  std::vector<plugin::interceptor_set::entry> made;
  std::vector<std::string> told;
  for (const auto& i : list) {
    const auto& e = i.plugin;
    if (auto s = host_.ensure(e.name, e.library); !s.ok())
      return status(errc::config,
                    e.where + ": plugins.interceptors names '" + e.name + "', which cannot be loaded: " + s.message());
    const auto* f = host_.find(e.name);
    if (f->factory->category != MOSAIC_CATEGORY_RECORD_INTERCEPTOR)
      return status(errc::config, e.where + ": plugins.interceptors names '" + e.name + "', a " +
                                      plugin::category_name(f->factory->category) +
                                      " plugin, not a record interceptor");
    auto inst = host_.create(e.name, e.config, e.where);
    if (!inst) return inst.error();
    std::string seen;
    for (const auto& t : i.topics) seen += (seen.empty() ? "" : ", ") + t;
    for (const auto& p : i.prefixes) seen += (seen.empty() ? "" : ", ") + (p.empty() ? "every topic" : p + "*");
    const auto& lib = (*inst)->lib();
    const std::string settings = (*inst)->config().describe();
    told.push_back(fmt::format("plugin {} ({} {}, {}) intercepts {}{}{}", e.name, lib.descriptor().name,
                               lib.descriptor().version, lib.origin(), seen, settings.empty() ? "" : ": ", settings));
    made.push_back({i.topics, i.prefixes, std::move(*inst)});
  }
  if (dry_run) return {};
  std::vector<std::shared_ptr<plugin::instance>> kept;
  kept.reserve(made.size());
  for (const auto& m : made) kept.push_back(m.inst);
  const auto generations = interceptors_.set(std::move(made));
  for (size_t k = 0; k < told.size(); ++k) {
    log::info("{}, generation {}", told[k], generations[k]);
    audit_installed("interceptor." + std::to_string(k), *kept[k], generations[k]);
  }
  return {};
}

namespace {

// `authorizer:` names a plugin (not none, not acl).
bool authorizer_plugin(const std::string& value) { return value != "none" && value != "acl"; }

}  // namespace

status node::apply_trust(const config::broker_config& cfg) {
  plugin::trust_policy t;
  t.folders = cfg.plugin_trust.folders;
  t.sha256.insert(cfg.plugin_trust.sha256.begin(), cfg.plugin_trust.sha256.end());
  t.require_signatures = cfg.plugin_trust.require_signatures;
  t.public_keys = cfg.plugin_trust.public_keys;
  if (auto s = plugin::validate_trust(t); !s.ok()) return s;
  host_.set_trust(std::move(t));
  return {};
}

status node::load_plugins(bool dry_run) {
  auto s = load_plugins_once(dry_run);
  if (!s.ok() && !dry_run) audit_refused("", s.message());
  return s;
}

status node::load_plugins_once(bool dry_run) {
  if (auto s = apply_trust(cfg_); !s.ok()) return s;
  share_policy_id_ = cfg_.groups.share_policy;
  dlq_handler_id_ = cfg_.groups.dlq_handler;
  authorizer_id_ = authorizer_plugin(cfg_.server.authorizer) ? cfg_.server.authorizer : "";
  for (const auto& e : cfg_.plugins)
    if (auto s = start_plugin(e, dry_run); !s.ok()) return s;
  if (auto s = start_interceptors(cfg_.interceptors, dry_run); !s.ok()) return s;
  for (const auto& l : cfg_.listeners)
    if (l.adapter != metrics_adapter)
      if (auto s = make_adapter(l, nullptr); !s.ok()) return s;
  if (auto s = start_default_assignors(dry_run); !s.ok()) return s;
  if (auto s = start_named_plugin("group.share.policy", cfg_.groups.share_policy, cfg_.plugins, dry_run); !s.ok())
    return s;
  if (!authorizer_id_.empty())
    if (auto s = start_named_plugin("authorizer", authorizer_id_, cfg_.plugins, dry_run); !s.ok()) return s;
  return start_named_plugin("group.share.dlq.handler", cfg_.groups.dlq_handler, cfg_.plugins, dry_run);
}

status node::start_named_plugin(const char* key, const std::string& id,
                                const std::vector<config::plugin_entry>& entries, bool dry_run) {
  const std::string_view k(key);
  const bool policy = k == "group.share.policy", authz = k == "authorizer";
  const int32_t category = policy  ? MOSAIC_CATEGORY_SHARE_POLICY
                           : authz ? MOSAIC_CATEGORY_AUTHORIZER
                                   : MOSAIC_CATEGORY_DLQ_HANDLER;
  const char* what = policy ? "share policy" : authz ? "authorizer" : "DLQ handler";
  std::string& current = policy ? share_policy_id_ : authz ? authorizer_id_ : dlq_handler_id_;
  config::plugin_entry e;
  e.name = id;
  e.where = key;
  for (const auto& configured : entries)
    if (configured.name == id) e = configured;
  if (auto s = host_.ensure(e.name, e.library); !s.ok())
    return status(errc::config, std::string(key) + " names '" + id + "', which cannot be loaded: " + s.message());
  const auto* f = host_.find(e.name);
  if (f->factory->category != category)
    return status(errc::config,
                  std::string(key) + " names '" + id + "', which is not " + (authz ? "an " : "a ") + what + " plugin");
  current = id;
  const std::string running = policy  ? share_policy_.current_name()
                              : authz ? authorizer_->current_name()
                                      : dlq_handler_.current_name();
  if (!dry_run && running == id && running_.count(id)) return {};  // published with its plugins.load entry
  return start_plugin(e, dry_run);
}

status node::start_default_assignors(bool dry_run) {
  std::set<std::string> provided;
  for (const auto& e : cfg_.plugins) {
    const auto* f = host_.find(e.name);
    if (f != nullptr && f->factory->category == MOSAIC_CATEGORY_ASSIGNOR)
      provided.insert(static_cast<const mosaic_assignor_vtable_v1*>(f->factory->vtable)->assignor_name);
  }
  auto add = [&](const std::string& name, const char* key) -> status {
    if (provided.count(name)) return {};
    config::plugin_entry e;
    e.name = "mosaic.assignor." + name;
    e.where = key;
    if (auto s = host_.ensure(e.name, std::nullopt); !s.ok())
      return status(errc::config, std::string(key) + " names '" + name + "', but no plugin under plugins.load " +
                                      "provides it and there is no " + e.name + " (" + s.message() + ")");
    const auto* f = host_.find(e.name);
    if (f->factory->category != MOSAIC_CATEGORY_ASSIGNOR ||
        name != static_cast<const mosaic_assignor_vtable_v1*>(f->factory->vtable)->assignor_name)
      return status(errc::config,
                    std::string(key) + " names '" + name + "', but " + e.name + " is not an assignor of that name");
    if (auto s = start_plugin(e, dry_run); !s.ok()) return s;
    provided.insert(name);
    return {};
  };
  for (const auto& name : cfg_.groups.consumer_assignors)
    if (auto s = add(name, "group.consumer.assignors"); !s.ok()) return s;
  for (const auto& name : cfg_.groups.share_assignors)
    if (auto s = add(name, "group.share.assignors"); !s.ok()) return s;
  return {};
}

status node::reload_plugins(const config::broker_config& fresh) {
  std::lock_guard plugins(plugin_mu_);
  reloading_ = true;
  auto s = reload_plugins_once(fresh);
  if (!s.ok()) audit_refused("", s.message());
  reloading_ = false;
  if (swaps_) {
    // Generation 0 is what this file says now; the cluster's generations
    // of interceptors go back on top of the list the reload made.
    swaps_->set_yaml(fresh);
    swaps_->reapply("interceptor.");
  }
  return s;
}

status node::reload_plugins_once(const config::broker_config& fresh) {
  status first_error;
  // TLS listeners read their certificate files again.
  if (server_)
    if (auto s = server_->reload_tls(); !s.ok()) {
      log::error("reload: {}", s.message());
      first_error = s;
    }
  // Trust first: what the reload loads passes the new rules.
  if (auto s = apply_trust(fresh); !s.ok()) {
    log::error("reload: {} (the running plugins stay)", s.message());
    return s;
  }
  for (const auto& e : fresh.plugins) {
    auto it = running_.find(e.name);
    if (it != running_.end()) {
      // An unchanged entry keeps its generation.
      auto checked = host_.check_config(e.name, e.config, e.where);
      if (checked && it->second == fingerprint(e, **checked)) continue;
    }
    if (auto s = start_plugin(e, false); !s.ok()) {
      log::error("reload: {} (the running generation stays)", s.message());
      if (first_error.ok()) first_error = s;
    }
  }
  // The record interceptors, made anew (a schema file edited in place is
  // read again); a refusal keeps the running chain whole.
  if (auto s = start_interceptors(fresh.interceptors, false); !s.ok()) {
    log::error("reload: {} (the running interceptors stay)", s.message());
    if (first_error.ok()) first_error = s;
  }
  // Another share policy, DLQ handler or authorizer plugin named: swap it
  // in. Turning authorization on or off, or between the ACLs and a plugin,
  // takes a restart (the listeners hold the authorizer they started with).
  const std::string fresh_authorizer = authorizer_plugin(fresh.server.authorizer) ? fresh.server.authorizer : "";
  if (fresh.server.authorizer != cfg_.server.authorizer && (fresh_authorizer.empty() || authorizer_id_.empty())) {
    auto s = status(errc::config, "authorizer: changing '" + cfg_.server.authorizer + "' to '" +
                                      fresh.server.authorizer + "' takes a restart");
    log::error("reload: {} (the running one stays)", s.message());
    if (first_error.ok()) first_error = s;
  }
  for (auto [key, wanted, current] :
       {std::tuple{"group.share.policy", &fresh.groups.share_policy, &share_policy_id_},
        std::tuple{"group.share.dlq.handler", &fresh.groups.dlq_handler, &dlq_handler_id_},
        std::tuple{"authorizer", &fresh_authorizer, &authorizer_id_}}) {
    if (*wanted == *current || wanted->empty() || current->empty()) continue;
    const std::string before = *current;
    if (auto s = start_named_plugin(key, *wanted, fresh.plugins, false); !s.ok()) {
      *current = before;
      log::error("reload: {} (the running one stays)", s.message());
      if (first_error.ok()) first_error = s;
    }
  }
  return first_error;
}

status node::open_data_dirs() {
  for (const auto& dir : cfg_.log_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return status(errc::io, "log.dirs: cannot create '" + dir.string() + "': " + ec.message());
    const auto lock_path = dir / ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return status(errc::io, "log.dirs: cannot open '" + lock_path.string() + "': " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return status(errc::already_exists, "log.dirs: '" + dir.string() + "' is in use by another mosaicd (locked " +
                                              lock_path.string() + ")");
    }
    lock_fds_.push_back(fd);
    log::info("data folder {}", std::filesystem::absolute(dir).lexically_normal().string());
  }
  if (auto s = audit_.open(cfg_.log_dirs.front() / "plugin-audit.log", cfg_.node_id); !s.ok()) return s;
  host_.set_refusal_hook([this](const std::string& library, const std::string& reason) {
    audit_refused(library, "refused by plugins.trust: " + reason);
  });
  // Segment files beyond this are closed when least recently used (the
  // bound is the process's, as the descriptor limit is).
  log::open_files::instance().set_limit(static_cast<size_t>(cfg_.log.max_open_files));
  log::log_manager_options opts;
  opts.dirs = cfg_.log_dirs;
  opts.defaults = broker::to_log_config(cfg_, {});
  opts.retention_check_ms = cfg_.log.retention_check_interval_ms;
  opts.cleaner.enabled = cfg_.log.cleaner_enable;
  opts.cleaner.backoff_ms = cfg_.log.cleaner_backoff_ms;
  opts.cleaner.dedupe_buffer_bytes = static_cast<size_t>(cfg_.log.cleaner_dedupe_buffer_size);
  opts.cleaner.io_bytes_per_second = cfg_.log.cleaner_io_max_bytes_per_second == INT64_MAX
                                         ? std::numeric_limits<double>::max()
                                         : static_cast<double>(cfg_.log.cleaner_io_max_bytes_per_second);
  // Compressed batches of compacted topics go through the codec plugins
  // (loaded after this, before the first cleaner pass can need them).
  opts.cleaner.codecs = broker::codec_hooks_of(codecs_);
  auto logs = log::log_manager::open(opts);
  if (!logs) return logs.error();
  logs_ = std::move(*logs);
  log::info("{} partition logs found (each opened when first used)", logs_->partition_count());
  return {};
}

}  // namespace mosaic::app
