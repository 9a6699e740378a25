#include "kernel/broker/service.h"

#include <algorithm>
#include <chrono>

#include <fmt/ranges.h>

#include "kernel/base/log.h"
#include "kernel/base/numbers.h"
#include "kernel/broker/tls_settings.h"
#include "kernel/broker/topic_config.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/cleaner.h"
#include "kernel/log/open_files.h"
#include "kernel/log/record_batch.h"
#include "kernel/replication/controller.h"

namespace mosaic::broker {

using adapter::error;
using adapter::outcome;

namespace {

// Names clients may not create, delete, grow nor produce to.
bool reserved_name(const std::string& name) {
  return name == metadata_log_name || name == group_log_name || name == share_log_name ||
         name == share_state_topic_name;
}

// The kernel's logs that are not topics in the metadata.
bool kernel_log(const std::string& name) { return name == metadata_log_name || name == share_log_name; }

std::optional<std::string> check_topic_name(const std::string& name) {
  if (name.empty()) return "the topic name is empty";
  if (name == "." || name == "..") return "the topic name cannot be '.' or '..'";
  if (name.size() > 249) return "the topic name is longer than 249 characters";
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return "the topic name '" + name + "' has a character other than ASCII letters, digits, '.', '_' and '-'";
  if (reserved_name(name)) return "the topic name '" + name + "' is reserved";
  return std::nullopt;
}

// The topic's partitions [first, first + count) (all by default).
adapter::topic_info to_info(const metadata::topic_state& t, const metadata::image* img, size_t first = 0,
                            size_t count = SIZE_MAX) {
  adapter::topic_info info;
  info.name = t.name;
  info.id = t.id;
  info.internal = t.name.rfind("__", 0) == 0;
  const size_t end = first + std::min(count, t.partitions.size() - std::min(first, t.partitions.size()));
  info.partitions.reserve(end > first ? end - first : 0);
  for (size_t i = first; i < end; ++i) {
    const auto& p = t.partitions[i];
    adapter::partition_info pi;
    pi.partition = p.partition;
    pi.leader = p.leader;
    pi.leader_epoch = p.leader_epoch;
    pi.replicas = p.replicas;
    pi.isr = p.isr;
    pi.elr = p.elr;
    pi.last_known_elr = p.last_known_elr;
    pi.adding = p.adding;
    pi.removing = p.removing;
    if (img != nullptr)
      for (int32_t r : p.replicas) {
        auto b = img->brokers().find(r);
        if (b == img->brokers().end() || b->second.fenced) pi.offline.push_back(r);
      }
    info.partitions.push_back(std::move(pi));
  }
  return info;
}

// A kernel writer that names the leader epoch it loaded at (-1: any) and a
// partition now led at `now`: NOT_LEADER_OR_FOLLOWER if they differ.
std::optional<adapter::produce_result> epoch_moved(int32_t expected, int32_t now) {
  if (expected < 0 || expected == now) return std::nullopt;
  return adapter::produce_result{error::not_leader_or_follower, "the partition's leader epoch moved on"};
}

error batch_code(log::batch_error e) {
  switch (e) {
    case log::batch_error::corrupt: return error::corrupt_message;
    case log::batch_error::too_large: return error::message_too_large;
    case log::batch_error::out_of_order_sequence: return error::out_of_order_sequence_number;
    case log::batch_error::invalid_producer_epoch: return error::invalid_producer_epoch;
    default: return error::invalid_record;
  }
}

// The timestamp of the record at `offset`, from the batch holding it.
int64_t timestamp_at(const log::partition_log& log, int64_t offset) {
  auto read = log.read(offset, 1, log.log_end_offset());
  std::vector<uint8_t> bytes;
  if (!read || !read->copy_to(bytes)) return -1;
  int64_t ts = -1;
  log::for_each_batch(bytes, [&](const log::batch_view& b) {
    if (b.codec() != 0 || b.log_append_time()) {
      ts = b.max_timestamp();
      return false;
    }
    log::for_each_record(b, [&](const log::record_view& r) {
      if (b.base_offset() + r.offset_delta == offset) ts = b.base_timestamp() + r.timestamp_delta;
    });
    return false;
  });
  return ts;
}

// The Kafka codec id compression.type names; -1 for "producer".
int codec_id(const std::string& name) {
  static const std::map<std::string, int> ids = {
      {"uncompressed", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}};
  auto it = ids.find(name);
  return it == ids.end() ? -1 : it->second;
}

}  // namespace

service::service(const config::broker_config& cfg, log::log_manager* logs, metadata::metadata_store* store,
                 const plugin::codec_set* codecs)
    : cfg_(cfg),
      logs_(logs),
      store_(store),
      codecs_(codecs),
      codec_hooks_(codecs ? codec_hooks_of(*codecs) : log::codec_hooks{}),
      defaults_(topic_defaults(cfg)) {}

result<std::unique_ptr<service>> service::start(const config::broker_config& cfg, log::log_manager* logs,
                                                metadata::metadata_store* store, const plugin::codec_set* codecs) {
  std::unique_ptr<service> s(new service(cfg, logs, store, codecs));
  const std::string stored = store->read([](const metadata::image& i) { return i.cluster_id(); });
  if (stored.empty()) {
    std::string id =
        cfg.server.cluster_id.empty() ? metadata::to_base64(metadata::random_uuid()) : cfg.server.cluster_id;
    auto r = store->propose({metadata::cluster_record{id}});
    if (r) {
      log::info("new cluster {}", id);
    } else if (r.error().code() != errc::already_exists) {  // another voter named it first
      return r.error();
    }
  }
  const std::string now = store->read([](const metadata::image& i) { return i.cluster_id(); });
  if (!cfg.server.cluster_id.empty() && cfg.server.cluster_id != now) {
    return status(errc::config, "cluster.id is " + cfg.server.cluster_id + " but the data in " +
                                    cfg.log_dirs.front().string() + " belongs to cluster " + now);
  }
  // The single-replica partitions this broker leads get a log entry at
  // their first use (the log manager asks the metadata); those with a
  // folder on disk are declared now (their configs, so that compacted
  // ones are cleaned whether or not they are used). Nothing is opened.
  logs->set_resolver(
      [p = s.get()](const std::string& topic, int32_t partition) { return p->held_alone(topic, partition); });
  for (const auto& [topic, partition] : logs->held())
    if (auto h = s->held_alone(topic, partition)) logs->declare(topic, partition, h->config, true);
  s->assigned_seen_ = store->read([](const metadata::image& i) { return i.version(); });
  replication::manager_options mo;
  mo.self = cfg.node_id;
  mo.host = cfg.listeners.empty() ? "127.0.0.1" : cfg.listeners.front().host;
  mo.port = static_cast<uint16_t>(cfg.server.replication_port);
  auto security = inter_broker_security(cfg);
  if (!security) return security.error();
  mo.security = std::move(*security);
  mo.session_timeout_ms = cfg.server.broker_session_timeout_ms;
  mo.lag_time_max_ms = cfg.server.replica_lag_time_max_ms;
  mo.fetch_wait_max_ms = cfg.server.replica_fetch_wait_max_ms;
  mo.fetch_max_bytes = static_cast<size_t>(cfg.server.replica_fetch_max_bytes);
  mo.controller = s->controller_settings();
  mo.auto_rebalance = cfg.server.auto_leader_rebalance;
  mo.rebalance_interval_ms = cfg.server.leader_imbalance_check_interval_s * 1000;
  mo.imbalance_percent = static_cast<int>(cfg.server.leader_imbalance_percent);
  mo.log_config = [p = s.get()](const std::string& topic) {
    std::string id;
    auto overrides = p->store_->read([&](const metadata::image& i) {
      auto* t = i.find(topic);
      if (t != nullptr) id = base64url(t->id);
      return t ? t->configs : std::map<std::string, std::string>{};
    });
    auto config = p->log_config_of(overrides);
    config.topic_id = std::move(id);
    return config;
  };
  mo.on_high_watermark = [p = s.get()](const std::string& topic, int32_t partition) { p->appended(topic, partition); };
  mo.on_metadata = [p = s.get()] {
    p->open_assigned_logs();
    p->refresh_configs();
    p->leadership_may_have_moved();
  };
  auto manager = replication::replica_manager::start(std::move(mo), logs, store, &s->logs_mu_);
  if (!manager) return manager.error();
  s->replicas_ = std::move(*manager);
  // An exception out of a task (a bug) must not end the I/O thread and
  // with it the node: logged, and the next task runs.
  s->io_ = std::make_unique<sdk::task_queue>(
      static_cast<size_t>(cfg.server.num_io_threads),
      [](const std::exception& e) { log::error("I/O thread: a task failed ({}); the node carries on", e.what()); });
  s->purgatory_ = std::thread([p = s.get()] { p->purgatory_loop(); });
  return s;
}

service::~service() {
  stop();
  logs_->set_resolver(nullptr);
}

replication::controller_settings service::controller_settings() const {
  replication::controller_settings c;
  c.default_min_insync = static_cast<int>(cfg_.server.min_insync_replicas);
  c.default_unclean_election = cfg_.server.unclean_leader_election;
  return c;
}

void service::controlled_shutdown() {
  if (replicas_) replicas_->controlled_shutdown(std::chrono::milliseconds(5000));
}

void service::stop() {
  {
    std::lock_guard g(fetch_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (replicas_) replicas_->stop();
  fetch_cv_.notify_all();
  if (purgatory_.joinable()) purgatory_.join();
  if (io_) io_->stop();
}

std::string service::cluster_id() const {
  return store_->read([](const metadata::image& i) { return i.cluster_id(); });
}

std::vector<adapter::topic_info> service::topics() const {
  return store_->read([](const metadata::image& i) {
    std::vector<adapter::topic_info> out;
    for (const auto& [name, t] : i.topics()) out.push_back(to_info(t, &i));
    return out;
  });
}

std::vector<adapter::topic_info> service::topics_page(const std::string& from, int32_t first_partition,
                                                      size_t partition_limit) const {
  return store_->read([&](const metadata::image& i) {
    std::vector<adapter::topic_info> out;
    size_t left = partition_limit;
    for (auto it = i.topics().lower_bound(from); it != i.topics().end() && left > 0; ++it) {
      const size_t first = it->first == from ? static_cast<size_t>(std::max(first_partition, 0)) : 0;
      out.push_back(to_info(it->second, &i, first, left));
      left -= out.back().partitions.size();
    }
    return out;
  });
}

std::optional<adapter::topic_info> service::find_topic(const std::string& name) const {
  return store_->read([&](const metadata::image& i) -> std::optional<adapter::topic_info> {
    if (auto* t = i.find(name)) return to_info(*t, &i);
    return std::nullopt;
  });
}

std::optional<adapter::topic_info> service::find_topic(const adapter::uuid& id) const {
  return store_->read([&](const metadata::image& i) -> std::optional<adapter::topic_info> {
    if (auto* t = i.find(id)) return to_info(*t, &i);
    return std::nullopt;
  });
}

bool service::alone_here(const metadata::partition_record& p) const {
  return p.replicas.size() == 1 && p.replicas[0] == cfg_.node_id && p.leader == cfg_.node_id;
}

std::optional<log::log_manager::holding> service::held_alone(const std::string& topic, int32_t partition) const {
  std::string id;
  auto overrides = store_->read([&](const metadata::image& i) -> std::optional<std::map<std::string, std::string>> {
    const auto* t = i.find(topic);
    if (t == nullptr || partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) return std::nullopt;
    id = base64url(t->id);
    if (alone_here(t->partitions[static_cast<size_t>(partition)])) return t->configs;
    return std::nullopt;
  });
  if (!overrides) return std::nullopt;
  auto config = log_config_of(*overrides);
  config.topic_id = std::move(id);
  return log::log_manager::holding{std::move(config), true};
}

void service::open_assigned_logs() {
  // Single-replica partitions this broker leads that have a log entry
  // here are declared again when they change (a replica here before, now
  // alone); those without one get it at their first use. Only the
  // partitions that changed since the last call: the work follows the
  // metadata's changes, not its size.
  std::lock_guard g(assigned_mu_);
  struct mine {
    std::string topic;
    std::vector<int32_t> partitions;
    std::map<std::string, std::string> overrides;
    std::string id;
  };
  std::vector<mine> found;
  std::vector<std::string> removed;
  store_->read([&](const metadata::image& i) {
    const auto changes = i.changes_since(assigned_seen_);
    assigned_seen_ = changes.version;
    removed = changes.removed;
    for (const auto& name : changes.topics) {
      const auto* t = i.find(name);
      if (t == nullptr) continue;
      mine m{name, {}, t->configs, base64url(t->id)};
      for (size_t p = 0; p < t->partitions.size(); ++p)
        if (t->changed_since(p, changes.since) && alone_here(t->partitions[p]))
          m.partitions.push_back(static_cast<int32_t>(p));
      if (!m.partitions.empty()) found.push_back(std::move(m));
    }
  });
  // A removed topic's logs go here too, whichever broker deleted it. When
  // the name is back in the image (made again since), only the logs
  // stamped with the old topic's id: appends to the new topic may have
  // begun (they run under the shared lock and check the image, so with
  // the lock held and the name absent, no log of this name holds a
  // record of a topic that exists).
  if (!removed.empty()) {
    std::unique_lock logs_lock(logs_mu_);
    for (const auto& name : removed) {
      if (auto t = find_topic(name)) {
        if (size_t n = logs_->remove_other_topic(name, base64url(t->id)); n > 0)
          log::info("removed {} log(s) of a deleted topic {} (made again since)", n, name);
        continue;
      }
      if (size_t n = logs_->remove_topic(name); n > 0) log::info("removed {} log(s) of the deleted topic {}", n, name);
    }
  }
  for (const auto& m : found) {
    auto config = log_config_of(m.overrides);
    config.topic_id = m.id;
    for (int32_t p : m.partitions)
      if (logs_->known(m.topic, p)) logs_->declare(m.topic, p, config, true);
  }
}

outcome service::refused(const status& s, error raced, const std::string& raced_message) {
  switch (s.code()) {
    case errc::already_exists:
    case errc::not_found: return outcome::fail(raced, raced_message + " (" + s.message() + ")");
    case errc::unsupported: return outcome::fail(error::not_controller, "the metadata quorum: " + s.message());
    case errc::io: return outcome::fail(error::request_timed_out, "the metadata quorum: " + s.message());
    default: return outcome::fail(error::unknown_server_error, "the metadata log refused the change: " + s.message());
  }
}

service::placement service::live_brokers() const {
  return store_->read([&](const metadata::image& i) {
    placement out;
    out.view = replication::view_of(i);
    // This broker is running, registered or not yet.
    out.view.unfenced.insert(cfg_.node_id);
    for (const auto& [id, b] : i.brokers()) {
      out.registered.insert(id);
      if (!b.fenced || id == cfg_.node_id) out.live.push_back({id, b.rack});
    }
    if (!i.brokers().count(cfg_.node_id)) {
      out.registered.insert(cfg_.node_id);
      out.live.push_back({cfg_.node_id, cfg_.server.rack.empty() ? std::nullopt : std::optional(cfg_.server.rack)});
    }
    return out;
  });
}

outcome service::create_topic(const adapter::new_topic& t, bool validate_only, adapter::topic_info* created) {
  if (auto bad = check_topic_name(t.name)) return outcome::fail(error::invalid_topic_exception, *bad);
  return make_topic(t, validate_only, created);
}

result<adapter::topic_info> service::ensure_internal_topic(const std::string& name, int32_t partitions, int32_t factor,
                                                           const std::map<std::string, std::string>& configs) {
  if (auto t = find_topic(name)) return *t;
  adapter::new_topic nt;
  nt.name = name;
  nt.partitions = partitions;
  const auto registered = static_cast<int32_t>(live_brokers().registered.size());
  nt.replication_factor = static_cast<int16_t>(std::clamp(std::min(factor, registered), 1, 100));
  nt.configs.assign(configs.begin(), configs.end());
  if (nt.replication_factor == 1) nt.configs.emplace_back("flush.messages", "1");  // no other copy: the disk is it
  auto made = make_topic(nt, false, nullptr);
  if (auto t = find_topic(name)) return *t;
  return status(errc::io, "the internal topic " + name + " cannot be made now: " + made.message);
}

outcome service::make_topic(const adapter::new_topic& t, bool validate_only, adapter::topic_info* created) {
  int32_t partitions = t.partitions == -1 ? static_cast<int32_t>(cfg_.server.num_partitions) : t.partitions;
  int32_t factor =
      t.replication_factor == -1 ? static_cast<int32_t>(cfg_.server.default_replication_factor) : t.replication_factor;
  if (!t.assignments.empty()) {
    partitions = static_cast<int32_t>(t.assignments.size());
    factor = static_cast<int32_t>(t.assignments.front().size());
  }
  if (partitions <= 0) return outcome::fail(error::invalid_partitions, "Number of partitions must be larger than 0.");
  if (partitions > 100000)
    return outcome::fail(error::invalid_partitions, "Number of partitions " + std::to_string(partitions) +
                                                        " is over this broker's limit of 100000.");
  if (factor <= 0) return outcome::fail(error::invalid_replication_factor, "Replication factor must be larger than 0.");
  std::map<std::string, std::string> configs;
  for (const auto& [k, v] : t.configs) {
    if (!find_topic_key(k)) return outcome::fail(error::invalid_config, "Unknown topic config name: " + k);
    if (auto bad = check_topic_config(k, v))
      return outcome::fail(error::invalid_config, "Invalid value " + v + " for configuration " + k + ": " + *bad);
    configs[k] = v;
  }
  std::lock_guard admin(admin_mu_);
  if (auto s = catch_up(); !s) return refused(s, error::request_timed_out, "");
  if (find_topic(t.name)) return outcome::fail(error::topic_already_exists, "Topic '" + t.name + "' already exists.");
  const placement brokers = live_brokers();
  std::vector<std::vector<int32_t>> assignment = t.assignments;
  if (!assignment.empty()) {
    if (auto bad = check_assignment(assignment, brokers)) return outcome::fail(error::invalid_replica_assignment, *bad);
  } else {
    assignment = replication::place(brokers.live, 0, partitions, factor, next_placement_++);
    if (assignment.empty())
      return outcome::fail(error::invalid_replication_factor,
                           "Replication factor: " + std::to_string(factor) +
                               " larger than available brokers: " + std::to_string(brokers.live.size()) + ".");
  }
  metadata::topic_state state;
  state.name = t.name;
  state.id = validate_only ? metadata::uuid{} : metadata::random_uuid();
  std::vector<metadata::record> records{metadata::topic_record{t.name, state.id}};
  for (int32_t p = 0; p < partitions; ++p) {
    metadata::partition_record pr;
    pr.topic_id = state.id;
    pr.partition = p;
    pr = replication::to_record(pr, replication::initial_state(assignment[static_cast<size_t>(p)], brokers.view));
    state.partitions.push_back(pr);
    records.emplace_back(pr);
  }
  for (const auto& [k, v] : configs) records.emplace_back(metadata::config_record{2, t.name, k, v});
  state.configs = configs;
  if (created) *created = to_info(state, nullptr);
  if (validate_only) return {};
  if (auto r = store_->propose(records); !r)
    return refused(r.error(), error::topic_already_exists, "Topic '" + t.name + "' already exists.");
  log::info("created topic {} with {} partition(s), replication factor {}", t.name, partitions, factor);
  return {};
}

std::optional<std::string> service::check_assignment(const std::vector<std::vector<int32_t>>& assignment,
                                                     const placement& brokers) const {
  for (size_t p = 0; p < assignment.size(); ++p) {
    const auto& replicas = assignment[p];
    if (replicas.empty()) return "partition " + std::to_string(p) + " is assigned no replica";
    if (replicas.size() != assignment.front().size()) return "All partitions should have the same number of replicas";
    std::set<int32_t> seen;
    for (int32_t r : replicas) {
      if (!seen.insert(r).second)
        return "partition " + std::to_string(p) + " names broker " + std::to_string(r) + " twice";
      if (!brokers.registered.count(r))
        return "partition " + std::to_string(p) + " names broker " + std::to_string(r) + ", which is not registered";
    }
  }
  return std::nullopt;
}

outcome service::delete_topic(const std::string& name) {
  if (reserved_name(name))
    return outcome::fail(error::invalid_topic_exception, "The internal topic " + name + " cannot be deleted.");
  std::lock_guard admin(admin_mu_);
  if (auto s = catch_up(); !s) return refused(s, error::request_timed_out, "");
  auto t = find_topic(name);
  if (!t) return outcome::fail(error::unknown_topic_or_partition, "This server does not host this topic-partition.");
  if (auto r = store_->propose({metadata::remove_topic_record{t->id}}); !r)
    return refused(r.error(), error::unknown_topic_or_partition, "This server does not host this topic-partition.");
  std::unique_lock logs_lock(logs_mu_);
  for (const auto& p : t->partitions) {
    // Replicated partitions: each replica's broker removes its own log.
    if (p.leader != cfg_.node_id || p.replicas.size() > 1) continue;
    if (auto s = logs_->remove(name, p.partition); !s && s.code() != errc::not_found)  // or already gone
      log::warn("deleting partition {}-{}: {}", name, p.partition, s.message());
  }
  log::info("deleted topic {}", name);
  return {};
}

outcome service::create_partitions(const std::string& name, int32_t count,
                                   const std::vector<std::vector<int32_t>>& assignments, bool validate_only) {
  if (reserved_name(name))  // its partition count is where every group lives
    return outcome::fail(error::invalid_topic_exception, "The internal topic " + name + " cannot get partitions.");
  std::lock_guard admin(admin_mu_);
  if (auto s = catch_up(); !s) return refused(s, error::request_timed_out, "");
  auto t = find_topic(name);
  if (!t) return outcome::fail(error::unknown_topic_or_partition, "This server does not host this topic-partition.");
  const auto current = static_cast<int32_t>(t->partitions.size());
  if (count < current)
    return outcome::fail(error::invalid_partitions, "Topic currently has " + std::to_string(current) +
                                                        " partitions, which is higher than the requested " +
                                                        std::to_string(count) + ".");
  if (count == current)
    return outcome::fail(error::invalid_partitions, "Topic already has " + std::to_string(current) + " partitions.");
  if (count > 100000)
    return outcome::fail(error::invalid_partitions,
                         "Number of partitions " + std::to_string(count) + " is over this broker's limit of 100000.");
  const auto factor = static_cast<int32_t>(t->partitions.empty() ? 1 : t->partitions.front().replicas.size());
  const placement brokers = live_brokers();
  std::vector<std::vector<int32_t>> assignment;
  if (!assignments.empty()) {
    if (assignments.size() != static_cast<size_t>(count - current))
      return outcome::fail(error::invalid_replica_assignment,
                           "Increasing the number of partitions by " + std::to_string(count - current) + " but " +
                               std::to_string(assignments.size()) + " assignments provided.");
    if (auto bad = check_assignment(assignments, brokers))
      return outcome::fail(error::invalid_replica_assignment, *bad);
    if (assignments.front().size() != static_cast<size_t>(factor))
      return outcome::fail(error::invalid_replica_assignment,
                           "The new partitions need " + std::to_string(factor) + " replicas, as the others have.");
    assignment = assignments;
  } else {
    assignment = replication::place(brokers.live, current, count - current, factor, next_placement_++);
  }
  if (assignment.empty())
    return outcome::fail(error::invalid_replication_factor,
                         "Replication factor: " + std::to_string(factor) +
                             " larger than available brokers: " + std::to_string(brokers.live.size()) + ".");
  if (validate_only) return {};
  std::vector<metadata::record> records;
  for (int32_t p = current; p < count; ++p) {
    metadata::partition_record pr;
    pr.topic_id = t->id;
    pr.partition = p;
    records.emplace_back(replication::to_record(
        pr, replication::initial_state(assignment[static_cast<size_t>(p - current)], brokers.view)));
  }
  if (auto r = store_->propose(records); !r)
    return refused(r.error(), error::invalid_partitions, "The topic's partitions were changed meanwhile.");
  return {};
}

outcome service::elect_leader(const std::string& topic, int32_t partition, bool unclean) {
  const auto settings = controller_settings();
  return decide_partition(
      [&](const metadata::image& i) { return replication::elect(i, topic, partition, unclean, settings); },
      fmt::format("{} election for {}-{}", unclean ? "an unclean" : "a preferred", topic, partition));
}

outcome service::decide_partition(const std::function<replication::decision(const metadata::image&)>& decide,
                                  const std::string& done) {
  std::lock_guard admin(admin_mu_);
  if (auto s = catch_up(); !s) return refused(s, error::request_timed_out, "");
  // Decided on the image and settled by the partition epoch: a race with
  // the controller is decided again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto d = store_->read(decide);
    if (d.error != error::none) return outcome::fail(d.error, d.message);
    if (!d.record) return {};
    auto r = store_->propose({metadata::partition_change_record{*d.record}});
    if (r) {
      log::info("{}", done);
      return {};
    }
    if (r.error().code() != errc::already_exists)
      return refused(r.error(), error::unknown_topic_or_partition, "The partition is gone.");
  }
  return outcome::fail(error::request_timed_out, "the partition kept changing; try again");
}

status service::catch_up() const {
  auto* q = store_->log().quorum();
  if (q == nullptr) return {};
  if (q->leader() == cfg_.node_id) return q->barrier(std::chrono::milliseconds(5000));
  // A follower cannot confirm a read by itself: an empty entry, committed
  // through the leader and applied here, brings the image up to date.
  auto r = store_->propose({}, std::chrono::milliseconds(5000));
  return r ? status{} : r.error();
}

outcome service::reassign(const std::string& topic, int32_t partition,
                          const std::optional<std::vector<int32_t>>& target) {
  return decide_partition([&](const metadata::image& i) { return replication::reassign(i, topic, partition, target); },
                          fmt::format("{}-{}: {}", topic, partition,
                                      target ? fmt::format("reassignment to {} started", fmt::join(*target, ","))
                                             : std::string("reassignment cancelled")));
}

std::vector<adapter::broker_endpoint> service::brokers() const {
  return store_->read([](const metadata::image& i) {
    std::vector<adapter::broker_endpoint> out;
    for (const auto& [id, b] : i.brokers()) {
      auto& e = out.emplace_back(adapter::broker_endpoint{id, b.host, b.port, b.rack, b.fenced, {}});
      for (const auto& l : b.listeners) e.listeners.push_back(adapter::listener_address{l.name, l.host, l.port});
    }
    return out;
  });
}

int32_t service::controller_id() const {
  auto* q = store_->log().quorum();
  return q ? q->leader() : -1;
}

adapter::quorum_description service::describe_quorum() const {
  adapter::quorum_description out;
  auto* q = store_->log().quorum();
  if (!q) {
    out.code = error::unknown_server_error;
    out.message = "no metadata quorum";
    return out;
  }
  const auto s = q->describe();
  for (const auto& v : cfg_.quorum.voters)
    out.nodes.push_back(adapter::broker_endpoint{v.id, v.host, v.port, std::nullopt, false, {}});
  if (cfg_.quorum.voters.empty())
    out.nodes.push_back(adapter::broker_endpoint{cfg_.node_id, "127.0.0.1", q->port(), std::nullopt, false, {}});
  out.leader_id = s.leader;
  out.leader_epoch = static_cast<int32_t>(s.term);
  if (s.current != raft::role::leader) {
    // Only the leader knows where every voter is; Kafka answers
    // NOT_LEADER_OR_FOLLOWER here too.
    out.code = error::not_leader_or_follower;
    out.message = s.leader < 0 ? "no leader is known" : "node " + std::to_string(s.leader) + " leads the quorum";
    return out;
  }
  out.high_watermark = s.commit;
  const int64_t now_ms = wall_ms();
  out.voters.push_back(adapter::quorum_description::replica{cfg_.node_id, s.last_index, now_ms, now_ms});
  for (const auto& p : s.peers) {
    adapter::quorum_description::replica r{p.id, p.match, now_ms - p.since_contact_ms, -1};
    if (p.match >= s.commit) r.last_caught_up_ms = r.last_fetch_ms;
    (p.voter ? out.voters : out.observers).push_back(r);
  }
  return out;
}

status service::register_broker(const std::vector<metadata::broker_listener>& listeners) {
  // Every start registers anew: a broker epoch one past the last
  // registration's and an incarnation id of its own, so that the cluster
  // can tell this process from the one before it (KRaft's broker epoch).
  // The same entry takes this broker out of every ISR and ELR (its last
  // run may have ended uncleanly); it is fenced until the active
  // controller hears from it. A registration that lost a race with another
  // change is decided again on the newer image.
  metadata::broker_record b;
  b.id = cfg_.node_id;
  if (!listeners.empty()) {
    b.host = listeners.front().host;
    b.port = listeners.front().port;
  }
  b.listeners = listeners;
  b.incarnation = metadata::random_uuid();
  if (!cfg_.server.rack.empty()) b.rack = cfg_.server.rack;
  b.fenced = true;
  b.replication_port = replicas_ ? replicas_->port() : 0;
  const auto settings = controller_settings();
  bool done = false;
  // A proposal whose outcome is unknown (the quorum's leader changed, or
  // it timed out: an election while the quorum is busy, a big cluster's
  // restart) may still have committed: this incarnation in the image says
  // so. Otherwise it is proposed again, on the newer image, for up to a
  // minute (twice what a start waits for the quorum to form).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto registered = [&] {
    return store_->read([&](const metadata::image& i) {
      auto it = i.brokers().find(cfg_.node_id);
      return it != i.brokers().end() && it->second.incarnation == b.incarnation;
    });
  };
  // A lost race is decided again on the newer image, after a pause that
  // grows (a node that just restarted may still be applying the entries
  // that beat it; under churn many proposals race): until the deadline,
  // not a fixed count (ten quick losses stopped a restarting node in the
  // fault suite).
  for (int lost = 0; !done;) {
    auto records = store_->read([&](const metadata::image& i) {
      auto it = i.brokers().find(cfg_.node_id);
      b.epoch = 1 + (it == i.brokers().end() ? 0 : it->second.epoch);
      return replication::registration_records(i, b, settings);
    });
    auto r = store_->propose(records);
    if (r) {
      done = true;
    } else if (r.error().code() == errc::already_exists || r.error().code() == errc::not_found) {
      ++lost;  // raced another change: decided again on the newer image
      if (std::chrono::steady_clock::now() > give_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20 * lost, 500)));
    } else if (r.error().code() == errc::io || r.error().code() == errc::unsupported ||
               r.error().code() == errc::internal) {  // timed out, no leader, leader changed
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      done = registered();
      if (!done && std::chrono::steady_clock::now() > give_up) return r.error();
      if (!done) log::info("registering broker {}: {}; trying again", cfg_.node_id, r.error().message());
    } else {
      return r.error();
    }
  }
  if (!done)
    return status(errc::internal,
                  "broker " + std::to_string(cfg_.node_id) + " could not register: others kept changing the metadata");
  std::string where;
  for (const auto& l : listeners)
    where += (where.empty() ? "" : ", ") + l.name + " " + l.host + ":" + std::to_string(l.port);
  log::info("registered broker {} at {}, broker epoch {}, replication port {}", cfg_.node_id, where, b.epoch,
            b.replication_port);
  if (replicas_) replicas_->registered(b.epoch);
  // Serving starts once the controller has unfenced this registration.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max<int64_t>(cfg_.server.broker_session_timeout_ms, 5000));
  while (std::chrono::steady_clock::now() < deadline) {
    const bool unfenced = store_->read([&](const metadata::image& i) {
      auto it = i.brokers().find(cfg_.node_id);
      return it != i.brokers().end() && it->second.epoch == b.epoch && !it->second.fenced;
    });
    if (unfenced) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  log::warn("broker {} is still fenced: the active controller has not unfenced it yet", cfg_.node_id);
  return {};
}

service::partition_ref service::find_partition(const std::string& topic, int32_t partition) {
  partition_ref ref;
  auto t =
      store_->read([&](const metadata::image& i)
                       -> std::optional<std::tuple<int32_t, int32_t, std::optional<int64_t>, std::string, size_t>> {
        auto* s = i.find(topic);
        if (!s || partition < 0 || static_cast<size_t>(partition) >= s->partitions.size()) return std::nullopt;
        auto ct = s->configs.find("compression.type");
        const auto& pr = s->partitions[static_cast<size_t>(partition)];
        return std::tuple{pr.leader_epoch, pr.leader, s->min_insync_replicas,
                          ct == s->configs.end() ? std::string() : ct->second, pr.replicas.size()};
      });
  if (!t) {
    ref.code = error::unknown_topic_or_partition;
    return ref;
  }
  const auto& [epoch, leader, min_insync, compression, replicas] = *t;
  ref.replicas = replicas;
  if (leader != cfg_.node_id) {
    ref.code = error::not_leader_or_follower;  // the client's metadata is stale, or it asked the wrong broker
    return ref;
  }
  ref.leader_epoch = epoch;
  ref.min_insync = min_insync.value_or(cfg_.server.min_insync_replicas);
  ref.target_codec = codec_id(compression.empty() ? cfg_.server.compression_type : compression);
  auto log = logs_->get(topic, partition);
  if (!log) {
    // A replica the replica manager has not opened yet (the metadata made
    // this broker its leader a moment ago): retriable, as Kafka answers
    // while it becomes leader.
    ref.code = replicas > 1 ? error::not_leader_or_follower : error::kafka_storage_error;
    return ref;
  }
  ref.log = *log;
  return ref;
}

adapter::produce_result service::append(const partition_ref& p, const std::string& topic, int32_t partition,
                                        std::span<uint8_t> records, int64_t* end) {
  adapter::produce_result out;
  auto r = p.log->append(records, p.leader_epoch);
  if (end != nullptr) *end = r.last_offset + 1;
  if (r.refused) {
    out.code = batch_code(r.refused->error);
    out.message = r.refused->message;
    return out;
  }
  if (!r.io) {
    log::error("append to {}-{} failed: {}", topic, partition, r.io.message());
    out.code = error::kafka_storage_error;
    out.message = r.io.message();
    return out;
  }
  out.base_offset = r.base_offset;
  if (r.duplicate) {
    // A retry of a batch the log has: its original offsets, nothing new.
    out.log_start_offset = p.log->log_start_offset();
    return out;
  }
  out.log_append_time = r.log_append_time;
  out.log_start_offset = p.log->log_start_offset();
  if (p.replicas > 1) return out;  // the replica moves the high watermark
  p.log->advance_high_watermark(r.last_offset + 1);
  appended(topic, partition);
  return out;
}

void service::produce(const std::string& topic, int32_t partition, std::span<uint8_t> records, int16_t acks,
                      int32_t timeout_ms, std::shared_ptr<const void> owner, const adapter::produce_origin& origin,
                      std::function<void(adapter::produce_result)> done) {
  if (reserved_name(topic)) return done({error::invalid_topic_exception, "Cannot append to internal topic " + topic});
  produce_at(topic, partition, records, acks, timeout_ms, std::move(owner), -1, std::move(done), &origin);
}

void service::produce_internal(const std::string& topic, int32_t partition, std::span<uint8_t> records,
                               int32_t timeout_ms, std::shared_ptr<const void> owner, int32_t leader_epoch,
                               std::function<void(adapter::produce_result)> done) {
  produce_at(topic, partition, records, -1, timeout_ms, std::move(owner), leader_epoch, std::move(done));
}

void service::produce_at(const std::string& topic, int32_t partition, std::span<uint8_t> records, int16_t acks,
                         int32_t timeout_ms, std::shared_ptr<const void> owner, int32_t leader_epoch,
                         std::function<void(adapter::produce_result)> done, const adapter::produce_origin* origin) {
  if (acks != 0 && acks != 1 && acks != -1)
    return done({error::invalid_required_acks, "acks must be 0, 1 or -1, got " + std::to_string(acks)});
  std::shared_lock lock(logs_mu_);
  partition_ref p = find_partition(topic, partition);
  if (p.code != error::none) return done({p.code, "This server does not host this topic-partition."});
  if (p.replicas == 1)  // a replicated partition's epoch is checked under its replica's lock
    if (auto moved = epoch_moved(leader_epoch, p.leader_epoch)) return done(std::move(*moved));
  if (p.log->config().cleanup_compact)
    if (auto refused = keyless(records, topic, partition)) return done(std::move(*refused));
  // A client's produce passes the topic's record interceptors, on the
  // leader, before anything is appended.
  if (origin != nullptr && interceptors_ != nullptr && interceptors_->any()) {
    const auto chain = interceptors_->chain_for(topic);
    if (!chain.empty())
      if (auto refused = intercept(chain, topic, partition, records, owner, *origin, p.log->config().max_message_bytes))
        return done(std::move(*refused));
  }
  if (p.replicas > 1)
    return produce_replicated(p, topic, partition, records, acks, timeout_ms, leader_epoch, std::move(done));
  if (acks == -1 && p.min_insync > static_cast<int64_t>(p.replicas))
    return done({error::not_enough_replicas, "the partition has " + std::to_string(p.replicas) +
                                                 " in-sync replica(s), min.insync.replicas is " +
                                                 std::to_string(p.min_insync)});
  if (p.target_codec >= 0) {
    // compression.type names a codec: batches in another one are rewritten
    // (the one case where the broker touches records on the hot path).
    auto rewritten = std::make_shared<std::vector<uint8_t>>();
    if (auto refused = recompress(records, p.target_codec, p.log->config().max_message_bytes, *rewritten))
      return done(std::move(*refused));
    if (!rewritten->empty()) {
      records = *rewritten;
      owner = rewritten;
    }
  }
  if (p.log->config().flush_messages == INT64_MAX) return done(append(p, topic, partition, records));
  // The append may fsync (flush.messages): off the network thread.
  lock.unlock();
  run_io([this, topic, partition, records, owner = std::move(owner), leader_epoch, done = std::move(done)] {
    std::shared_lock again(logs_mu_);
    partition_ref now = find_partition(topic, partition);
    if (now.code != error::none) return done({now.code, "This server does not host this topic-partition."});
    if (auto moved = epoch_moved(leader_epoch, now.leader_epoch)) return done(std::move(*moved));
    done(append(now, topic, partition, records));
  });
}

void service::produce_replicated(const partition_ref& p, const std::string& topic, int32_t partition,
                                 std::span<uint8_t> records, int16_t acks, int32_t timeout_ms, int32_t expected_epoch,
                                 std::function<void(adapter::produce_result)> done) {
  std::vector<uint8_t> rewritten;
  if (p.target_codec >= 0) {
    if (auto refused = recompress(records, p.target_codec, p.log->config().max_message_bytes, rewritten))
      return done(std::move(*refused));
    if (!rewritten.empty()) records = rewritten;
  }
  // The append runs under the replica's lock, at the epoch it leads.
  replicas_->produce(
      topic, partition, acks, timeout_ms,
      [&](int32_t leader_epoch) {
        if (auto moved = epoch_moved(expected_epoch, leader_epoch)) return std::pair{std::move(*moved), int64_t{0}};
        partition_ref at = p;
        at.leader_epoch = leader_epoch;
        int64_t end = 0;
        auto r = append(at, topic, partition, records, &end);
        return std::pair{r, end};
      },
      std::move(done));
}

adapter::outcome service::records_of(const log::batch_view& b, plugin::byte_buffer& plain,
                                     std::span<const uint8_t>& body, const std::string& what) const {
  body = b.records();
  if (b.codec() == 0) return {};
  if (!codecs_ || !codecs_->has(b.codec()))
    return {error::unsupported_compression_type, "no codec plugin is loaded for codec " + std::to_string(b.codec())};
  plain.clear();
  if (auto s = codecs_->decompress(b.codec(), body, plain); !s)
    return {error::corrupt_message, what + " does not decompress: " + s.message()};
  body = plain.bytes();
  return {};
}

std::optional<adapter::produce_result> service::recompress(std::span<const uint8_t> records, int codec,
                                                           size_t max_batch, std::vector<uint8_t>& out) const {
  bool any = false;
  log::for_each_batch(records, [&](const log::batch_view& b) {
    any = any || (b.codec() != codec && !b.is_control());
    return !any;
  });
  if (!any) return std::nullopt;  // every batch is in the topic's codec already
  adapter::produce_result refused;
  plugin::byte_buffer plain(std::max<size_t>(max_batch, 1) * 64), packed;
  const size_t whole = log::for_each_batch(records, [&](const log::batch_view& b) {
    if (b.codec() == codec || b.is_control()) {
      out.insert(out.end(), b.bytes.begin(), b.bytes.end());
      return true;
    }
    if (auto check = log::validate_batch(b.bytes, max_batch); !check.ok()) {
      refused = {batch_code(check.error), check.message};
      return false;
    }
    std::span<const uint8_t> body;
    if (auto o = records_of(b, plain, body, "the batch"); !o.ok()) {
      refused = {o.code, o.message};
      return false;
    }
    if (codec != 0) {
      if (!codecs_ || !codecs_->has(codec)) {
        refused = {error::unsupported_compression_type,
                   "the topic's compression.type needs codec " + std::to_string(codec) + ", which is not loaded"};
        return false;
      }
      packed.clear();
      if (auto s = codecs_->compress(codec, body, packed); !s) {
        refused = {error::unknown_server_error, "recompression failed: " + s.message()};
        return false;
      }
      body = packed.bytes();
    }
    log::append_rewritten(b, body, static_cast<int16_t>((b.attributes() & ~log::attr::codec_mask) | codec),
                          b.records_count(), out);
    return true;
  });
  if (refused.code != error::none) return refused;
  if (whole != records.size())
    return adapter::produce_result{error::corrupt_message, "the records end in a torn batch"};
  return std::nullopt;
}

namespace {

// What the chain added, kept until it accepted: applied to every record.
struct stamped_header {
  std::string key;
  std::optional<std::string> value;
  bool replace = false;
};
struct stamp_sink {
  std::vector<stamped_header> headers;
  size_t bytes = 0;
  static mosaic_status_t add(void* ctx, mosaic_bytes_v1 key, mosaic_bytes_v1 value, int32_t replace) {
    auto* self = static_cast<stamp_sink*>(ctx);
    if (key.data == nullptr && key.size != 0) return MOSAIC_ERR_INVALID_ARGUMENT;
    const size_t size = key.size + (value.data ? value.size : 0);
    if (self->headers.size() >= MOSAIC_INTERCEPT_MAX_HEADERS || self->bytes + size > MOSAIC_INTERCEPT_MAX_HEADER_BYTES)
      return MOSAIC_ERR_LIMIT;
    self->bytes += size;
    stamped_header h;
    h.key.assign(reinterpret_cast<const char*>(key.data), key.size);
    if (value.data != nullptr) h.value = std::string(reinterpret_cast<const char*>(value.data), value.size);
    h.replace = replace != 0;
    self->headers.push_back(std::move(h));
    return MOSAIC_OK;
  }
};

mosaic_bytes_v1 bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
mosaic_bytes_v1 bytes_of(const std::optional<std::span<const uint8_t>>& b) {
  return b ? mosaic_bytes_v1{b->data(), b->size()} : mosaic_bytes_v1{nullptr, 0};
}

// A batch's records: as the log reads them (`raw`, for a rewrite), and as
// the interceptors that read records see them (views into the batch, or
// into its decompressed records, and the records' headers).
struct parsed_records {
  std::vector<log::record_view> raw;
  std::vector<mosaic_record_view_v1> views;
  std::vector<const mosaic_record_view_v1*> pointers;
  std::vector<std::vector<mosaic_header_view_v1>> headers;
};

bool parse_records(std::span<const uint8_t> body, int32_t count, parsed_records& out) {
  out.raw.reserve(static_cast<size_t>(count));
  const bool ok = log::for_each_record(body, count, [&](const log::record_view& r) { out.raw.push_back(r); });
  return ok && out.raw.size() == static_cast<size_t>(count);
}

bool view_records(int64_t base_timestamp, parsed_records& out) {
  out.views.resize(out.raw.size());
  out.headers.resize(out.raw.size());
  for (size_t i = 0; i < out.raw.size(); ++i) {
    const auto& r = out.raw[i];
    bool whole = log::for_each_header(r.headers, [&](std::string_view k, std::optional<std::string_view> v) {
      out.headers[i].push_back({bytes_of(k), v ? bytes_of(*v) : mosaic_bytes_v1{nullptr, 0}});
    });
    if (!whole) return false;
    auto& v = out.views[i];
    v.struct_size = sizeof(mosaic_record_view_v1);
    v.offset_delta = r.offset_delta;
    v.timestamp = base_timestamp + r.timestamp_delta;
    v.key = bytes_of(r.key);
    v.value = bytes_of(r.value);
    v.headers = out.headers[i].data();
    v.header_count = out.headers[i].size();
  }
  out.pointers.resize(out.views.size());
  for (size_t i = 0; i < out.views.size(); ++i) out.pointers[i] = &out.views[i];
  return true;
}

std::string_view as_text(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

std::optional<adapter::produce_result> service::intercept(const plugin::interceptor_set::chain& chain,
                                                          const std::string& topic, int32_t partition,
                                                          std::span<uint8_t>& records,
                                                          std::shared_ptr<const void>& owner,
                                                          const adapter::produce_origin& origin,
                                                          size_t max_batch) const {
  std::optional<adapter::produce_result> refused;
  std::shared_ptr<std::vector<uint8_t>> rewritten;  // made when a batch is stamped
  size_t copied_to = 0;                             // bytes of `records` already in `rewritten`
  plugin::byte_buffer plain(std::max<size_t>(max_batch, 1) * 64), packed;
  const size_t whole = log::for_each_batch(records, [&](const log::batch_view& b) {
    if (b.is_control()) return true;
    // The interceptors see only what the append would take.
    if (auto check = log::validate_batch(b.bytes, max_batch); !check.ok()) {
      refused = adapter::produce_result{batch_code(check.error), check.message};
      return false;
    }
    mosaic_produced_batch_v1 pb{};
    pb.struct_size = sizeof(pb);
    pb.topic = bytes_of(topic);
    pb.partition = partition;
    pb.principal = bytes_of(origin.principal);
    pb.client_id = bytes_of(origin.client_id);
    pb.producer_id = b.producer_id();
    pb.producer_epoch = b.producer_epoch();
    pb.base_sequence = b.base_sequence();
    pb.codec = b.codec();
    pb.base_timestamp = b.base_timestamp();
    pb.max_timestamp = b.max_timestamp();
    pb.record_count = b.records_count();
    // The records, decompressed and parsed once for the chain, when a link
    // reads them or a rewrite needs them.
    parsed_records parsed;
    std::span<const uint8_t> body = b.records();
    auto decode = [&]() -> bool {
      if (!parsed.raw.empty() || b.records_count() == 0) return true;
      if (auto o = records_of(b, plain, body, "the batch"); !o.ok()) {
        refused = adapter::produce_result{o.code, o.message};
        return false;
      }
      if (!parse_records(body, b.records_count(), parsed)) {
        refused = adapter::produce_result{error::corrupt_message, "the batch's records do not parse"};
        return false;
      }
      return true;
    };
    if (chain.reads_records) {
      if (!decode()) return false;
      if (!view_records(b.base_timestamp(), parsed)) {
        refused = adapter::produce_result{error::corrupt_message, "the batch's records do not parse"};
        return false;
      }
      pb.records = parsed.pointers.empty() ? nullptr : parsed.pointers.data();
    }
    stamp_sink stamps;
    for (const auto& link : chain.links) {
      char reason[1024];
      reason[0] = '\0';
      char message[512];
      message[0] = '\0';
      mosaic_intercept_result_v1 res{sizeof(res), MOSAIC_INTERCEPT_ACCEPT, -1, {reason, sizeof(reason)},
                                     &stamps,     &stamp_sink::add};
      mosaic_error_v1 err{message, sizeof(message)};
      const bool reads = (link.gen->vt().flags & MOSAIC_INTERCEPTOR_READS_RECORDS) != 0;
      mosaic_produced_batch_v1 seen = pb;
      if (!reads) seen.records = nullptr;
      const auto began = plugin::call_meter::start();
      const mosaic_status_t rc = link.gen->vt().intercept(link.gen->handle, &seen, &res, &err);
      link.gen->meter.done(began, rc == MOSAIC_OK);
      if (rc != MOSAIC_OK) {
        refused = adapter::produce_result{
            error::unknown_server_error,
            "record interceptor " + std::string(link.gen->inst->factory().name) + " failed: " + std::string(message)};
        return false;
      }
      if (res.verdict != MOSAIC_INTERCEPT_ACCEPT) {
        std::string why = reason[0] != '\0'
                              ? std::string(reason)
                              : "refused by record interceptor " + std::string(link.gen->inst->factory().name);
        refused = adapter::produce_result{error::invalid_record, why};
        if (res.record_index >= 0 && res.record_index < b.records_count())
          refused->record_errors.emplace_back(res.record_index, why);
        return false;
      }
    }
    if (stamps.headers.empty()) return true;
    // Stamped: the records again with the headers, in the batch's codec.
    if (!decode()) return false;
    std::vector<uint8_t> fresh;
    fresh.reserve(body.size() + parsed.raw.size() * (stamps.bytes + 8 * stamps.headers.size()));
    std::vector<log::record_header> keep, added;
    for (const auto& h : stamps.headers)
      added.push_back({h.key, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
    for (const auto& r : parsed.raw) {
      keep.clear();
      log::for_each_header(r.headers, [&](std::string_view k, std::optional<std::string_view> v) {
        for (const auto& h : stamps.headers)
          if (h.replace && h.key == k) return;
        keep.push_back({k, v});
      });
      log::append_record(fresh, r.timestamp_delta, r.offset_delta,
                         r.key ? std::optional<std::string_view>(as_text(*r.key)) : std::nullopt,
                         r.value ? std::optional<std::string_view>(as_text(*r.value)) : std::nullopt, keep, added);
    }
    std::span<const uint8_t> out_body = fresh;
    if (b.codec() != 0) {
      packed.clear();
      if (auto s = codecs_->compress(b.codec(), fresh, packed); !s) {
        refused = adapter::produce_result{error::unknown_server_error, "recompression failed: " + s.message()};
        return false;
      }
      out_body = packed.bytes();
    }
    if (!rewritten) {
      rewritten = std::make_shared<std::vector<uint8_t>>();
      rewritten->reserve(records.size() + fresh.size() + 64);
    }
    const size_t at = static_cast<size_t>(b.bytes.data() - records.data());
    rewritten->insert(rewritten->end(), records.begin() + static_cast<std::ptrdiff_t>(copied_to),
                      records.begin() + static_cast<std::ptrdiff_t>(at));
    log::append_rewritten(b, out_body, b.attributes(), b.records_count(), *rewritten);
    copied_to = at + b.bytes.size();
    return true;
  });
  if (refused) return refused;
  if (whole != records.size())
    return adapter::produce_result{error::corrupt_message, "the records end in a torn batch"};
  if (rewritten) {
    rewritten->insert(rewritten->end(), records.begin() + static_cast<std::ptrdiff_t>(copied_to), records.end());
    records = std::span<uint8_t>(*rewritten);
    owner = rewritten;
  }
  return std::nullopt;
}

std::vector<uint8_t> service::encode_records(const std::vector<adapter::plain_record>& records) const {
  const int64_t now = wall_ms();
  log::batch_builder b(now);
  std::vector<log::record_header> headers;
  for (const auto& r : records) {
    headers.clear();
    for (const auto& [k, v] : r.headers) headers.push_back({k, v ? std::optional<std::string_view>(*v) : std::nullopt});
    b.add(r.key ? std::optional<std::string_view>(*r.key) : std::nullopt,
          r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, r.timestamp < 0 ? now : r.timestamp,
          headers);
  }
  return b.finish();
}

adapter::outcome service::decode_records(std::span<const uint8_t> batches,
                                         std::vector<adapter::plain_record>& out) const {
  adapter::outcome failed;
  plugin::byte_buffer plain(size_t{256} << 20);  // no batch decompresses past it
  auto text = [](std::span<const uint8_t> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); };
  log::for_each_batch(batches, [&](const log::batch_view& b) {
    if (auto check = log::validate_batch(b.bytes, SIZE_MAX, log::batch_origin::log); !check.ok()) {
      failed = {error::corrupt_message, "batch at offset " + std::to_string(b.base_offset()) + ": " + check.message};
      return false;
    }
    if (b.is_control()) return true;
    std::span<const uint8_t> body;
    if (failed = records_of(b, plain, body, "batch at offset " + std::to_string(b.base_offset())); !failed.ok())
      return false;
    const bool ok = log::for_each_record(body, b.records_count(), [&](const log::record_view& r) {
      adapter::plain_record p;
      p.offset = b.base_offset() + r.offset_delta;
      p.timestamp = b.log_append_time() ? b.max_timestamp() : b.base_timestamp() + r.timestamp_delta;
      if (r.key) p.key = text(*r.key);
      if (r.value) p.value = text(*r.value);
      log::for_each_header(r.headers, [&](std::string_view k, std::optional<std::string_view> v) {
        p.headers.emplace_back(std::string(k), v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
      });
      out.push_back(std::move(p));
    });
    if (!ok) failed = {error::corrupt_message, "batch at offset " + std::to_string(b.base_offset()) + " is malformed"};
    return ok;
  });
  return failed;
}

log::codec_hooks codec_hooks_of(const plugin::codec_set& codecs) {
  auto through = [&codecs](bool pack) {
    return [&codecs, pack](int codec, std::span<const uint8_t> in, std::vector<uint8_t>& out) -> status {
      if (!codecs.has(codec)) return status(errc::unsupported, "codec " + std::to_string(codec) + " is not loaded");
      plugin::byte_buffer buf(size_t{1} << 30);
      auto s = pack ? codecs.compress(codec, in, buf) : codecs.decompress(codec, in, buf);
      if (!s.ok()) return s;
      out.assign(buf.bytes().begin(), buf.bytes().end());
      return {};
    };
  };
  return {through(false), through(true)};
}

// A compacted topic keeps records by key: one without a key is refused
// with its batch, and named (KIP-467), as Kafka refuses it.
std::optional<adapter::produce_result> service::keyless(std::span<const uint8_t> records, const std::string& topic,
                                                        int32_t partition) const {
  if (!codecs_) return std::nullopt;
  auto found = log::keyless_records(records, codec_hooks_);
  if (!found) return adapter::produce_result{error::corrupt_message, found.error().message()};
  if (found->empty()) return std::nullopt;
  const std::string why = "Compacted topic cannot accept message without key in topic partition " + topic + "-" +
                          std::to_string(partition) + ".";
  adapter::produce_result r{error::invalid_record, why};
  for (int32_t index : *found) r.record_errors.emplace_back(index, why);
  return r;
}

std::vector<adapter::fetched_partition> service::read_all(const adapter::fetch_request& req, size_t& bytes) {
  std::vector<adapter::fetched_partition> out;
  out.reserve(req.partitions.size());
  bytes = 0;
  std::shared_lock lock(logs_mu_);
  for (const auto& fp : req.partitions) {
    auto& o = out.emplace_back();
    partition_ref p = find_partition(fp.topic, fp.partition);
    if (p.code != error::none) {
      o.code = p.code;
      continue;
    }
    if (fp.current_leader_epoch >= 0 && fp.current_leader_epoch != p.leader_epoch) {
      o.code = fp.current_leader_epoch < p.leader_epoch ? error::fenced_leader_epoch : error::unknown_leader_epoch;
      continue;
    }
    o.high_watermark = p.log->high_watermark();
    o.last_stable_offset = o.high_watermark;
    o.log_start_offset = p.log->log_start_offset();
    if (fp.offset < o.log_start_offset || fp.offset > p.log->log_end_offset()) {
      o.code = error::offset_out_of_range;
      continue;
    }
    // KIP-74: only the first batch of the first partition with data may go
    // past max_bytes (the response's or the partition's); after it, what
    // does not fit waits for the next fetch.
    const size_t left = static_cast<size_t>(std::max(req.max_bytes, 0)) > bytes ? req.max_bytes - bytes : 0;
    if (fp.offset >= o.high_watermark || (left == 0 && bytes > 0)) continue;
    auto read = p.log->read(fp.offset, std::min(static_cast<size_t>(std::max(fp.max_bytes, 0)), left), o.high_watermark,
                            /*min_one=*/bytes == 0);
    if (!read) {
      o.code = read.error().code() == errc::not_found ? error::offset_out_of_range : error::kafka_storage_error;
      continue;
    }
    // A file slice holds its descriptor until the answer is sent: when the
    // segment files' descriptors are at their bound, the bytes are copied
    // instead, so a fetch of many partitions cannot exhaust them.
    if (req.zero_copy && !log::open_files::instance().crowded()) {
      for (const auto& slice : read->slices) o.files.push_back({slice.fd, slice.position, slice.length, slice.owner});
      bytes += read->bytes;
      continue;
    }
    if (auto s = read->copy_to(o.records); !s) {
      o.code = error::kafka_storage_error;
      continue;
    }
    bytes += o.records.size();
  }
  return out;
}

void service::fetch(adapter::fetch_request req, std::function<void(std::vector<adapter::fetched_partition>)> done) {
  size_t bytes = 0;
  auto results = read_all(req, bytes);
  const bool failed = std::any_of(results.begin(), results.end(), [](const auto& r) { return r.code != error::none; });
  if (failed || req.max_wait_ms <= 0 || bytes >= static_cast<size_t>(std::max(req.min_bytes, 1)) ||
      req.partitions.empty())
    return done(std::move(results));
  waiting_fetch w;
  w.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.max_wait_ms);
  for (const auto& p : req.partitions) w.partitions.emplace(p.topic, p.partition);
  w.req = std::move(req);
  w.done = std::move(done);
  {
    std::lock_guard g(fetch_mu_);
    if (!stopping_) {
      waiting_.push_back(std::move(w));
      waiting_count_.fetch_add(1);
      fetch_cv_.notify_all();
      return;
    }
  }
  w.done(std::move(results));
}

void service::appended(const std::string& topic, int32_t partition) {
  if (waiting_count_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard g(fetch_mu_);
  dirty_.emplace(topic, partition);
  fetch_cv_.notify_all();
}

void service::purgatory_loop() {
  std::unique_lock lk(fetch_mu_);
  while (!stopping_) {
    if (waiting_.empty()) {
      fetch_cv_.wait(lk, [&] { return stopping_ || !waiting_.empty(); });
      continue;
    }
    auto earliest = std::min_element(waiting_.begin(), waiting_.end(), [](const auto& a, const auto& b) {
                      return a.deadline < b.deadline;
                    })->deadline;
    fetch_cv_.wait_until(lk, earliest, [&] { return stopping_ || !dirty_.empty(); });
    if (stopping_) break;
    const auto dirty = std::move(dirty_);
    dirty_.clear();
    const auto now = std::chrono::steady_clock::now();
    std::list<waiting_fetch> due;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      bool touched = it->deadline <= now;
      for (const auto& d : dirty) touched = touched || it->partitions.count(d) > 0;
      auto next = std::next(it);
      if (touched) due.splice(due.end(), waiting_, it);
      it = next;
    }
    if (due.empty()) continue;
    lk.unlock();
    std::list<waiting_fetch> keep;
    for (auto it = due.begin(); it != due.end();) {
      auto next = std::next(it);
      size_t bytes = 0;
      auto results = read_all(it->req, bytes);
      const bool failed =
          std::any_of(results.begin(), results.end(), [](const auto& r) { return r.code != error::none; });
      if (failed || it->deadline <= now || bytes >= static_cast<size_t>(std::max(it->req.min_bytes, 1))) {
        it->done(std::move(results));
        waiting_count_.fetch_sub(1);
      } else {
        keep.splice(keep.end(), due, it);
      }
      it = next;
    }
    lk.lock();
    waiting_.splice(waiting_.end(), keep);
  }
  // Stopping: answer what is waiting with what there is.
  auto rest = std::move(waiting_);
  waiting_.clear();
  lk.unlock();
  for (auto& w : rest) {
    size_t bytes = 0;
    w.done(read_all(w.req, bytes));
  }
}

void service::run_io(std::function<void()> task) { io_->post(std::move(task)); }

adapter::offset_lookup service::list_offset(const std::string& topic, int32_t partition, int64_t timestamp) {
  adapter::offset_lookup out;
  std::shared_lock lock(logs_mu_);
  partition_ref p = find_partition(topic, partition);
  if (p.code != error::none) {
    out.code = p.code;
    return out;
  }
  out.leader_epoch = p.leader_epoch;
  const int64_t hw = p.log->high_watermark();
  if (timestamp == adapter::latest_timestamp) {
    out.offset = hw;
  } else if (timestamp == adapter::earliest_timestamp || timestamp == -4) {  // -4: earliest local
    out.offset = p.log->log_start_offset();
  } else if (timestamp == adapter::max_timestamp) {
    // The batch with the largest timestamp, scanned from the start: an
    // operator's call, not a hot path.
    // A read error ends the scan: the answer is the largest seen so far.
    (void)p.log->scan(p.log->log_start_offset(), hw, [&](std::span<const uint8_t> bytes) {
      log::for_each_batch(bytes, [&](const log::batch_view& b) {
        if (b.max_timestamp() > out.timestamp) {
          out.timestamp = b.max_timestamp();
          out.offset = b.last_offset();
          if (b.codec() == 0 && !b.log_append_time())
            log::for_each_record(b, [&](const log::record_view& r) {
              if (b.base_timestamp() + r.timestamp_delta == out.timestamp &&
                  b.base_offset() + r.offset_delta < out.offset)
                out.offset = b.base_offset() + r.offset_delta;
            });
        }
        return true;
      });
      return true;
    });
    return out;
  } else if (timestamp == -5 || timestamp == -6) {
    // Latest tiered offset (KIP-1005) and earliest pending upload (KIP-1023):
    // nothing is tiered here, so there is no such offset.
    return out;
  } else if (timestamp >= 0) {
    auto found = p.log->offset_for_timestamp(timestamp);
    if (found && *found < hw) {
      out.offset = *found;
      out.timestamp = timestamp_at(*p.log, *found);
    }
  } else {
    out.code = error::invalid_request;
  }
  return out;
}

adapter::outcome service::init_producer_id(producer_identity& identity) {
  if (identity.id >= 0 && identity.epoch >= 0 && identity.epoch < INT16_MAX) {
    identity.epoch = static_cast<int16_t>(identity.epoch + 1);  // KIP-360: same producer, next epoch
    return {};
  }
  std::lock_guard g(producer_ids_mu_);
  if (next_producer_id_ >= producer_id_block_end_) {
    constexpr int64_t block = 1000;
    // Another broker may take the same block first: then read again.
    for (int attempt = 0;; ++attempt) {
      const int64_t start = store_->read([](const metadata::image& i) { return i.next_producer_id_block(); });
      auto r = store_->propose({metadata::producer_ids_record{start + block}});
      if (r) {
        next_producer_id_ = start;
        producer_id_block_end_ = start + block;
        break;
      }
      if (r.error().code() != errc::already_exists || attempt == 10)
        return refused(r.error(), error::unknown_server_error, "no producer id block could be had");
    }
  }
  identity.id = next_producer_id_++;
  identity.epoch = 0;
  return {};
}

adapter::broker::records_deleted service::delete_records(const std::string& topic, int32_t partition, int64_t offset) {
  records_deleted out;
  std::shared_lock lock(logs_mu_);
  partition_ref p = find_partition(topic, partition);
  if (p.code != error::none) {
    out.code = p.code;
    return out;
  }
  const int64_t hw = p.log->high_watermark();
  if (offset == -1) offset = hw;
  if (offset < 0 || offset > hw) {
    out.code = error::offset_out_of_range;
    return out;
  }
  auto lso = p.log->delete_records_before(offset);
  if (!lso) {
    out.code = error::kafka_storage_error;
    return out;
  }
  out.low_watermark = *lso;
  return out;
}

adapter::broker::epoch_end service::offset_for_leader_epoch(const std::string& topic, int32_t partition,
                                                            int32_t current_leader_epoch, int32_t leader_epoch) {
  epoch_end out;
  std::shared_lock lock(logs_mu_);
  partition_ref p = find_partition(topic, partition);
  if (p.code != error::none) {
    out.code = p.code;
    return out;
  }
  if (current_leader_epoch >= 0 && current_leader_epoch != p.leader_epoch) {
    out.code = current_leader_epoch < p.leader_epoch ? error::fenced_leader_epoch : error::unknown_leader_epoch;
    return out;
  }
  std::tie(out.leader_epoch, out.end_offset) = p.log->end_offset_for_epoch(leader_epoch);
  return out;
}

adapter::outcome service::describe_producers(const std::string& topic, int32_t partition,
                                             std::vector<producer_view>& out) {
  std::shared_lock lock(logs_mu_);
  partition_ref p = find_partition(topic, partition);
  if (p.code != error::none) return outcome::fail(p.code, "This server does not host this topic-partition.");
  for (const auto& [id, e] : p.log->producers()) {
    producer_view v;
    v.id = id;
    v.epoch = e.epoch;
    v.last_sequence = e.batches.empty() ? -1 : e.batches.back().last_seq;
    v.last_timestamp = e.last_append_ms;
    out.push_back(v);
  }
  return {};
}

std::map<int32_t, int32_t> service::led_partitions(const std::string& topic) const {
  auto led = store_->read([&](const metadata::image& i) {
    std::vector<std::tuple<int32_t, int32_t, size_t>> out;  // partition, leader epoch, replicas
    if (auto* t = i.find(topic))
      for (const auto& p : t->partitions)
        if (p.leader == cfg_.node_id) out.emplace_back(p.partition, p.leader_epoch, p.replicas.size());
    return out;
  });
  std::map<int32_t, int32_t> out;
  for (const auto& [partition, epoch, replicas] : led) {
    if (replicas > 1) {
      // Led once its replica has taken the epoch up (the image may be ahead).
      if (auto e = replicas_->leading(topic, partition)) out[partition] = *e;
      continue;
    }
    std::shared_lock g(logs_mu_);  // not held around the replica's lock
    if (logs_->get(topic, partition)) out[partition] = epoch;
  }
  return out;
}

std::map<std::string, std::string> service::group_configs(const std::string& group) const {
  return store_->read([&](const metadata::image& i) {
    auto it = i.group_configs().find(group);
    return it == i.group_configs().end() ? std::map<std::string, std::string>{} : it->second;
  });
}

status service::set_group_configs(const std::string& group,
                                  const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  std::vector<metadata::record> records;
  records.reserve(changes.size());
  for (const auto& [name, value] : changes) records.emplace_back(metadata::config_record{32, group, name, value});
  if (records.empty()) return {};
  std::lock_guard admin(admin_mu_);
  if (auto r = store_->propose(records); !r) return r.error();
  return {};
}

uint64_t service::config_version() const {
  return store_->read([](const metadata::image& i) { return i.config_changes(); });
}

void service::serve_frames(int16_t first, int16_t last, replication::replica_manager::frame_handler handler) {
  if (replicas_) replicas_->serve(first, last, std::move(handler));
}

void service::send_frame(int32_t to, int16_t kind, std::vector<uint8_t> body) {
  if (replicas_) replicas_->send(to, kind, std::move(body));
}

void service::on_leadership(const void* owner, std::function<void()> changed) {
  std::lock_guard g(leadership_mu_);
  if (changed)
    leadership_listeners_[owner] = std::move(changed);
  else
    leadership_listeners_.erase(owner);
}

void service::leadership_may_have_moved() {
  // Called under the lock, so that once on_leadership({}) returns the old
  // listener is neither running nor called again (its owner may go).
  std::lock_guard g(leadership_mu_);
  for (const auto& [owner, changed] : leadership_listeners_) changed();
}

status service::scan_partition(const std::string& topic, int32_t partition,
                               const std::function<bool(std::span<const uint8_t>)>& chunk) const {
  std::shared_lock g(logs_mu_);
  auto log = logs_->get(topic, partition);
  if (!log) return log.error();
  return (*log)->scan((*log)->log_start_offset(), (*log)->log_end_offset(), chunk);
}

std::vector<adapter::broker::log_dir_usage> service::describe_log_dirs() const {
  std::vector<log_dir_usage> out;
  for (const auto& dir : logs_->dirs()) {
    auto& d = out.emplace_back();
    d.path = std::filesystem::absolute(dir).lexically_normal().string();
    std::error_code ec;
    auto space = std::filesystem::space(dir, ec);
    if (!ec) {
      d.total_bytes = static_cast<int64_t>(space.capacity);
      d.usable_bytes = static_cast<int64_t>(space.available);
    }
  }
  // The compacted topics, as their logs' settings read cleanup.policy.
  const auto defaults = current_defaults();
  const auto compacted = store_->read([&](const metadata::image& i) {
    std::set<std::string> names;
    for (const auto& [name, t] : i.topics())
      if (to_log_config(cfg_, defaults, t.configs).cleanup_compact) names.insert(name);
    return names;
  });
  for (const auto& u : logs_->usage()) {
    const auto tp = log::log_manager::parse_folder(u.folder);
    if (!tp) continue;
    const auto& [topic, partition] = *tp;
    if (kernel_log(topic)) continue;  // the metadata and share-group logs are not topics
    double dirty = -1;
    if (compacted.count(topic))
      if (auto l = logs_->get(topic, partition)) dirty = (*l)->cleaning_view().dirty_ratio;
    const std::string where = std::filesystem::absolute(u.log_dir).lexically_normal().string();
    for (auto& d : out)
      if (d.path == where) d.partitions.push_back({topic, partition, static_cast<int64_t>(u.bytes), dirty});
  }
  return out;
}

}  // namespace mosaic::broker
