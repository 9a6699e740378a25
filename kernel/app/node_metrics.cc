// What /metrics says about a node: each part of the node is asked for what
// it counts, and the families are written here (kernel/app/README.md lists
// them). Runs on the metrics listener's thread, one scrape at a time.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/app/node.h"
#include "kernel/base/metrics.h"
#include "kernel/base/numbers.h"
#include "kernel/log/record_batch.h"

namespace mosaic::app {

namespace {

// A scrape waits at most this long for the coordinators' answers.
constexpr auto ask_timeout = std::chrono::seconds(2);
// Consumer lag series per scrape, at most (cardinality bound).
constexpr size_t max_lag_series = 10000;
// The per-partition reads of one family stop after this (what is left is
// not exported this scrape): a scrape stays short however many partitions.
constexpr auto lag_budget = std::chrono::seconds(3);

template <class T>
std::optional<T> ask(const std::function<void(std::function<void(T)>)>& call) {
  auto p = std::make_shared<std::promise<T>>();
  auto f = p->get_future();
  call([p](T v) { p->set_value(std::move(v)); });
  if (f.wait_for(ask_timeout) != std::future_status::ready) return std::nullopt;
  return f.get();
}

// The timestamp of the record at `offset` in the batch that holds it, read
// from a file range a fetch gave: exact for an uncompressed batch (and for
// LogAppendTime, where every record has the batch's), the batch's first
// timestamp for a compressed one (at most the batch's span older).
std::optional<int64_t> timestamp_at(const adapter::file_range& r, int64_t offset) {
  namespace batch_layout = log::batch_layout;
  if (r.length < batch_layout::header_size) return std::nullopt;
  std::vector<uint8_t> head(batch_layout::header_size);
  if (::pread(r.fd, head.data(), head.size(), static_cast<off_t>(r.offset)) != static_cast<ssize_t>(head.size()))
    return std::nullopt;
  const size_t batch_bytes = log::framed_size(head);
  if (batch_bytes == 0 || batch_bytes > r.length) return std::nullopt;
  log::batch_view b{std::span<const uint8_t>(head)};
  if (b.log_append_time()) return b.max_timestamp();
  if (offset <= b.base_offset() || b.codec() != 0 || batch_bytes > (1 << 20)) return b.base_timestamp();
  std::vector<uint8_t> whole(batch_bytes);
  if (::pread(r.fd, whole.data(), whole.size(), static_cast<off_t>(r.offset)) != static_cast<ssize_t>(whole.size()))
    return b.base_timestamp();
  log::batch_view full{std::span<const uint8_t>(whole)};
  std::optional<int64_t> found;
  log::for_each_record(full, [&](const log::record_view& rec) {
    if (!found && full.base_offset() + rec.offset_delta >= offset) found = full.base_timestamp() + rec.timestamp_delta;
  });
  return found ? found : b.base_timestamp();
}

// Where a consumer at `offset` stands in a partition this broker leads: the
// high watermark, and the age of the record at `offset` (nullopt: not
// known; 0 when nothing is left).
struct position {
  int64_t high_watermark = -1;
  std::optional<double> age_seconds;
};

std::optional<position> position_at(broker::service& svc, const std::string& topic, int32_t partition, int64_t offset,
                                    int64_t now_ms) {
  adapter::fetch_request f;
  f.partitions.push_back({topic, partition, offset, 1, -1});
  f.max_wait_ms = 0;
  f.min_bytes = 0;
  f.max_bytes = 1;
  f.zero_copy = true;
  auto got = ask<std::vector<adapter::fetched_partition>>([&](auto done) { svc.fetch(std::move(f), std::move(done)); });
  if (!got || got->empty() || got->front().code != adapter::error::none) return std::nullopt;
  const auto& fp = got->front();
  position p;
  p.high_watermark = fp.high_watermark;
  if (fp.high_watermark <= offset) {
    p.age_seconds = 0;
  } else if (!fp.files.empty()) {
    if (auto ts = timestamp_at(fp.files.front(), offset); ts && *ts >= 0)
      p.age_seconds = static_cast<double>(std::max<int64_t>(0, now_ms - *ts)) / 1000.0;
  }
  return p;
}

}  // namespace

std::pair<bool, std::string> node::readiness() const {
  switch (phase_.load()) {
    case phase::starting: return {false, "starting: the metadata is catching up or the listeners are not open yet"};
    case phase::serving: return {true, ""};
    case phase::stopping: break;
  }
  return {false, "stopping"};
}

std::string node::render_metrics() {
  metrics::exposition e;
  e.family("mosaic_build_info", "gauge", "The running mosaicd's version and node id (always 1).");
  e.sample("mosaic_build_info", {{"version", mosaic_version}, {"node_id", std::to_string(cfg_.node_id)}}, uint64_t{1});
  e.family("mosaic_ready", "gauge", "1 while the node serves (what /ready says), 0 while it starts or stops.");
  e.sample("mosaic_ready", {}, uint64_t{readiness().first ? 1u : 0u});
  e.family("mosaic_start_time_seconds", "gauge", "When this mosaicd started, in Unix seconds.");
  e.sample("mosaic_start_time_seconds", {}, static_cast<double>(started_ms_) / 1000.0);

  // The parts below exist only while the node serves; shutdown() waits for
  // a scrape under way before it takes them down.
  std::lock_guard g(metrics_mu_);
  if (phase_.load() != phase::serving) return e.take();
  write_quorum_metrics(e);
  write_log_metrics(e);
  if (server_) write_network_metrics(e);
  if (service_) write_partition_metrics(e);
  if (groups_) write_group_metrics(e);
  if (shares_) write_share_metrics(e);
  if (telemetry_) telemetry_->write(e);
  write_plugin_metrics(e);
  return e.take();
}

void node::write_network_metrics(metrics::exposition& e) const {
  const auto all = server_->metrics();
  e.family("mosaic_request_duration_seconds", "histogram",
           "Requests by listener, API and version: time from the request's arrival to its answer.");
  for (const auto& l : all)
    for (const auto& r : l.requests) {
      const char* name = l.adapter ? l.adapter->request_name(r.kind) : nullptr;
      const std::string api = name != nullptr ? name : std::to_string(r.kind);
      e.histogram("mosaic_request_duration_seconds",
                  {{"listener", l.listener}, {"api", api}, {"version", std::to_string(r.version)}}, r.latency);
    }
  e.family("mosaic_network_received_bytes_total", "counter", "Request bytes read, by listener.");
  for (const auto& l : all)
    e.sample("mosaic_network_received_bytes_total", {{"listener", l.listener}}, l.bytes_received);
  e.family("mosaic_network_sent_bytes_total", "counter", "Response bytes written, by listener.");
  for (const auto& l : all) e.sample("mosaic_network_sent_bytes_total", {{"listener", l.listener}}, l.bytes_sent);
  e.family("mosaic_connections", "gauge", "Client connections open now, by listener.");
  for (const auto& l : all) e.sample("mosaic_connections", {{"listener", l.listener}}, l.connections_open);
  e.family("mosaic_connections_accepted_total", "counter", "Client connections accepted, by listener.");
  for (const auto& l : all)
    e.sample("mosaic_connections_accepted_total", {{"listener", l.listener}}, l.connections_accepted);
  e.family("mosaic_authentications_total", "counter",
           "SASL authentications by listener and result (re-authentications included).");
  for (const auto& l : all)
    if (l.adapter) {
      const auto a = l.adapter->stats();
      e.sample("mosaic_authentications_total", {{"listener", l.listener}, {"result", "success"}}, a.authentications);
      e.sample("mosaic_authentications_total", {{"listener", l.listener}, {"result", "failure"}},
               a.authentication_failures);
    }
  const auto s = server_->stats();
  e.family("mosaic_connections_refused_total", "counter", "Connections refused over max.connections.");
  e.sample("mosaic_connections_refused_total", {}, s.refused);
  e.family("mosaic_oversized_requests_total", "counter",
           "Connections closed for a request frame over socket.request.max.bytes.");
  e.sample("mosaic_oversized_requests_total", {}, s.oversized_frames);
  e.family("mosaic_tls_handshake_failures_total", "counter",
           "TLS handshakes that failed or timed out, and client certificates refused.");
  e.sample("mosaic_tls_handshake_failures_total", {}, s.tls_failed);
  e.family("mosaic_queued_request_bytes", "gauge",
           "Request bytes read and not yet answered (queued.max.request.bytes).");
  e.sample("mosaic_queued_request_bytes", {}, s.queued_request_bytes);
}

void node::write_partition_metrics(metrics::exposition& e) const {
  const int32_t self = cfg_.node_id;
  uint64_t leading = 0, replicas = 0, under_replicated = 0, under_min_isr = 0, offline = 0, partitions = 0;
  service_->with_image([&](const metadata::image& img) {
    for (const auto& [name, t] : img.topics()) {
      const int64_t min_isr = t.min_insync_replicas.value_or(cfg_.server.min_insync_replicas);
      for (const auto& p : t.partitions) {
        ++partitions;
        if (p.leader < 0) ++offline;
        if (std::find(p.replicas.begin(), p.replicas.end(), self) != p.replicas.end()) ++replicas;
        if (p.leader != self) continue;
        ++leading;
        // Kafka's count: the replicas a reassignment is adding are not
        // expected in sync yet.
        const auto expected = static_cast<int64_t>(p.replicas.size() - p.adding.size());
        if (static_cast<int64_t>(p.isr.size()) < expected) ++under_replicated;
        if (static_cast<int64_t>(p.isr.size()) < min_isr) ++under_min_isr;
      }
    }
  });
  e.family("mosaic_partitions", "gauge", "Partitions in the cluster, as this node's metadata image has them.");
  e.sample("mosaic_partitions", {}, partitions);
  e.family("mosaic_partition_replicas", "gauge", "Partitions with a replica on this broker.");
  e.sample("mosaic_partition_replicas", {}, replicas);
  e.family("mosaic_leader_partitions", "gauge", "Partitions this broker leads.");
  e.sample("mosaic_leader_partitions", {}, leading);
  e.family("mosaic_under_replicated_partitions", "gauge",
           "Partitions this broker leads with fewer in-sync replicas than assigned (sum over brokers).");
  e.sample("mosaic_under_replicated_partitions", {}, under_replicated);
  e.family("mosaic_under_min_isr_partitions", "gauge",
           "Partitions this broker leads with fewer in-sync replicas than min.insync.replicas.");
  e.sample("mosaic_under_min_isr_partitions", {}, under_min_isr);
  e.family("mosaic_offline_partitions", "gauge",
           "Partitions of the cluster without a leader (the same on every node: take the max, not the sum).");
  e.sample("mosaic_offline_partitions", {}, offline);
}

void node::write_quorum_metrics(metrics::exposition& e) const {
  if (!store_) return;
  e.family("mosaic_metadata_offset", "gauge", "The metadata log offset applied to this node's image.");
  e.sample("mosaic_metadata_offset", {}, store_->applied_offset());
  e.family("mosaic_metadata_commit_duration_seconds", "histogram",
           "Metadata writes this node made: from the proposal to its commit and apply here.");
  e.histogram("mosaic_metadata_commit_duration_seconds", {}, store_->log().commit_latency().snapshot());
  auto* q = store_->log().quorum();
  if (q == nullptr) return;
  const raft::quorum_state qs = q->describe();
  const bool leader = qs.current == raft::role::leader;
  e.family("mosaic_active_controller", "gauge",
           "1 on the node that leads the metadata quorum, 0 elsewhere (exactly one across a healthy cluster).");
  e.sample("mosaic_active_controller", {}, uint64_t{leader ? 1u : 0u});
  e.family("mosaic_raft_term", "gauge", "The metadata quorum's term as this node knows it.");
  e.sample("mosaic_raft_term", {}, static_cast<int64_t>(qs.term));
  e.family("mosaic_raft_commit_index", "gauge", "The last metadata entry this node knows is committed.");
  e.sample("mosaic_raft_commit_index", {}, static_cast<int64_t>(qs.commit));
  e.family("mosaic_raft_applied_index", "gauge", "The last metadata entry applied to this node's image.");
  e.sample("mosaic_raft_applied_index", {}, static_cast<int64_t>(qs.applied));
  e.family("mosaic_raft_last_index", "gauge", "The last entry of this node's metadata log.");
  e.sample("mosaic_raft_last_index", {}, static_cast<int64_t>(qs.last_index));
  if (!leader) return;
  e.family("mosaic_raft_voter_lag_entries", "gauge",
           "On the quorum's leader: entries each other voter or observer is behind the leader's log.");
  for (const auto& p : qs.peers)
    e.sample("mosaic_raft_voter_lag_entries",
             {{"node_id", std::to_string(p.id)}, {"voter", p.voter ? "true" : "false"}},
             static_cast<int64_t>(qs.last_index - p.match));
  e.family("mosaic_raft_voter_last_contact_seconds", "gauge",
           "On the quorum's leader: time since each other node last answered it.");
  for (const auto& p : qs.peers)
    e.sample("mosaic_raft_voter_last_contact_seconds",
             {{"node_id", std::to_string(p.id)}, {"voter", p.voter ? "true" : "false"}},
             static_cast<double>(p.since_contact_ms) / 1000.0);
}

void node::write_log_metrics(metrics::exposition& e) const {
  e.family("mosaic_log_flush_duration_seconds", "histogram",
           "Partition log flushes (one group commit's fdatasync of its dirty segments).");
  e.histogram("mosaic_log_flush_duration_seconds", {}, log::partition_log::flush_latency().snapshot());
  if (!logs_) return;
  e.family("mosaic_log_open_partitions", "gauge", "Partition logs open now (the rest are opened on first use).");
  e.sample("mosaic_log_open_partitions", {}, static_cast<uint64_t>(logs_->open_count()));
}

void node::write_group_metrics(metrics::exposition& e) const {
  auto groups = ask<std::vector<adapter::group_listing>>([&](auto done) { groups_->list_groups({}, {}, done); });
  if (!groups) return;
  std::vector<adapter::offset_fetch_request> reqs;
  for (const auto& g : *groups) reqs.push_back({g.group_id, std::nullopt, std::nullopt, -1});
  e.family("mosaic_consumer_groups", "gauge", "Consumer groups this broker coordinates, by state and type.");
  std::map<std::pair<std::string, std::string>, uint64_t> by_state;
  for (const auto& g : *groups) ++by_state[{g.state, g.type}];
  for (const auto& [k, n] : by_state) e.sample("mosaic_consumer_groups", {{"state", k.first}, {"type", k.second}}, n);
  if (reqs.empty()) return;
  auto offsets =
      ask<std::vector<adapter::offset_fetch_result>>([&](auto done) { groups_->fetch_offsets(std::move(reqs), done); });
  if (!offsets) return;
  struct lag_row {
    const std::string* group;
    std::string topic;
    int32_t partition;
    int64_t offsets;
    std::optional<double> seconds;
  };
  std::vector<lag_row> rows;
  const int64_t now = wall_ms();
  const auto until = std::chrono::steady_clock::now() + lag_budget;
  for (size_t i = 0; i < offsets->size() && i < groups->size(); ++i)
    for (const auto& c : (*offsets)[i].offsets) {
      if (c.code != adapter::error::none || c.offset < 0 || rows.size() >= max_lag_series ||
          std::chrono::steady_clock::now() > until)
        continue;
      // The high watermark and the batch at the committed offset, from this
      // broker's copy when it leads the partition.
      auto at = position_at(*service_, c.topic, c.partition, c.offset, now);
      if (!at) continue;
      lag_row row{&(*groups)[i].group_id, c.topic, c.partition, std::max<int64_t>(0, at->high_watermark - c.offset),
                  at->age_seconds};
      rows.push_back(std::move(row));
    }
  e.family("mosaic_consumer_group_lag_offsets", "gauge",
           "Records between a group's committed offset and the partition's high watermark (groups this broker "
           "coordinates, partitions it leads).");
  for (const auto& r : rows)
    e.sample("mosaic_consumer_group_lag_offsets",
             {{"group", *r.group}, {"topic", r.topic}, {"partition", std::to_string(r.partition)}}, r.offsets);
  e.family("mosaic_consumer_group_lag_seconds", "gauge",
           "Age of the oldest record a group has not consumed (its committed offset's timestamp to now); 0 when "
           "caught up.");
  for (const auto& r : rows)
    if (r.seconds)
      e.sample("mosaic_consumer_group_lag_seconds",
               {{"group", *r.group}, {"topic", r.topic}, {"partition", std::to_string(r.partition)}}, *r.seconds);
}

void node::write_share_metrics(metrics::exposition& e) const {
  auto groups = ask<std::vector<adapter::group_listing>>([&](auto done) { shares_->list({}, done); });
  if (!groups || groups->empty()) return;
  std::vector<adapter::share_offsets_request> reqs;
  for (const auto& g : *groups) reqs.push_back({g.group_id, std::nullopt});
  auto results = ask<std::vector<adapter::share_offsets_result>>(
      [&](auto done) { shares_->describe_offsets(std::move(reqs), done); });
  if (!results) return;
  struct family_def {
    const char* name;
    const char* help;
    int64_t adapter::share_partition_offsets::*field;
  };
  static const family_def families[] = {
      {"mosaic_share_group_lag_records", "Records of a share-partition not yet finished, up to the high watermark.",
       &adapter::share_partition_offsets::lag},
      {"mosaic_share_group_in_flight_records",
       "Records of a share-partition between its start offset and end offset not yet finished.",
       &adapter::share_partition_offsets::in_flight},
      {"mosaic_share_group_acquired_records", "Records a share-group member holds under a lock now.",
       &adapter::share_partition_offsets::acquired},
      {"mosaic_share_group_available_records", "Records of the in-flight window ready to be handed out.",
       &adapter::share_partition_offsets::available},
  };
  static const family_def counters[] = {
      {"mosaic_share_group_redelivered_records_total",
       "Records handed out again after a release, a rejection or a lock timeout (since the share coordinator took "
       "the partition on).",
       &adapter::share_partition_offsets::redelivered},
      {"mosaic_share_group_rejected_records_total", "Records a consumer acknowledged with REJECT.",
       &adapter::share_partition_offsets::rejected},
      {"mosaic_share_group_dead_lettered_records_total", "Records the share policy sent to the dead-letter queue.",
       &adapter::share_partition_offsets::dead_lettered},
  };
  // Seven samples per share-partition, bounded as the consumer lag is.
  size_t series = 0;
  const auto write = [&](const family_def& f, const char* type) {
    e.family(f.name, type, f.help);
    for (const auto& r : *results) {
      if (r.code != adapter::error::none) continue;
      for (const auto& p : r.partitions) {
        if (p.code != adapter::error::none || p.start_offset < 0 || ++series > max_lag_series * 7) continue;
        e.sample(f.name, {{"group", r.group_id}, {"topic", p.topic}, {"partition", std::to_string(p.partition)}},
                 std::max<int64_t>(0, p.*f.field));
      }
    }
  };
  for (const auto& f : counters) write(f, "counter");
  for (const auto& f : families) write(f, "gauge");
  e.family("mosaic_share_group_lag_seconds", "gauge",
           "Age of the oldest record of a share-partition not yet finished (at its start offset); 0 when none is "
           "left.");
  const int64_t now = wall_ms();
  const auto until = std::chrono::steady_clock::now() + lag_budget;
  size_t timed = 0;
  for (const auto& r : *results) {
    if (r.code != adapter::error::none) continue;
    for (const auto& p : r.partitions) {
      if (p.code != adapter::error::none || p.start_offset < 0 || ++timed > max_lag_series ||
          std::chrono::steady_clock::now() > until)
        continue;
      auto at = position_at(*service_, p.topic, p.partition, p.start_offset, now);
      if (at && at->age_seconds)
        e.sample("mosaic_share_group_lag_seconds",
                 {{"group", r.group_id}, {"topic", p.topic}, {"partition", std::to_string(p.partition)}},
                 *at->age_seconds);
    }
  }
}

std::vector<adapter::plugin_slot_info> node::plugin_slots() const {
  std::vector<adapter::plugin_slot_info> out;
  const plugin::meter_visitor collect = [&](const std::string& s, const plugin::instance& i, uint64_t g,
                                            const plugin::call_meter& m) {
    out.push_back({s, i.factory().name, g, m.calls(), m.errors()});
  };
  codecs_.visit(collect);
  assignors_.visit(collect);
  share_policy_.visit(collect);
  dlq_handler_.visit(collect);
  authorizer_->visit(collect);
  interceptors_.visit(collect);
  for (const auto& [listener, inst] : adapter_instances_)
    out.push_back({"listener " + listener, inst->factory().name, 1, 0, 0});
  return out;
}

void node::write_plugin_metrics(metrics::exposition& e) const {
  e.family("mosaic_plugin_info", "gauge", "The plugin each policy slot runs now (always 1).");
  const auto slot = [&](const char* name, const std::string& id) {
    if (!id.empty()) e.sample("mosaic_plugin_info", {{"slot", name}, {"plugin", id}}, uint64_t{1});
  };
  slot("group.share.policy", share_policy_.current_name());
  slot("group.share.dlq.handler", dlq_handler_.current_name());
  slot("authorizer", authorizer_->current_name());
  struct row {
    std::string slot, plugin, generation;
    uint64_t calls, errors;
    metrics::histogram_snapshot latency;
  };
  std::vector<row> rows;
  const plugin::meter_visitor collect = [&](const std::string& s, const plugin::instance& i, uint64_t g,
                                            const plugin::call_meter& m) {
    rows.push_back({s, i.factory().name, std::to_string(g), m.calls(), m.errors(), m.latency()});
  };
  codecs_.visit(collect);
  assignors_.visit(collect);
  share_policy_.visit(collect);
  dlq_handler_.visit(collect);
  authorizer_->visit(collect);
  interceptors_.visit(collect);
  e.family("mosaic_plugin_calls_total", "counter", "Calls into each slot's current plugin generation.");
  for (const auto& r : rows)
    e.sample("mosaic_plugin_calls_total", {{"slot", r.slot}, {"plugin", r.plugin}, {"generation", r.generation}},
             r.calls);
  e.family("mosaic_plugin_call_errors_total", "counter",
           "Calls a plugin failed (an error status or an invalid answer; the kernel's fallback then applied).");
  for (const auto& r : rows)
    e.sample("mosaic_plugin_call_errors_total", {{"slot", r.slot}, {"plugin", r.plugin}, {"generation", r.generation}},
             r.errors);
  e.family("mosaic_plugin_call_duration_seconds", "histogram", "Time spent inside each slot's plugin calls.");
  for (const auto& r : rows)
    e.histogram("mosaic_plugin_call_duration_seconds",
                {{"slot", r.slot}, {"plugin", r.plugin}, {"generation", r.generation}}, r.latency);
  e.family("mosaic_authorizer_faults_total", "counter",
           "Authorizer plugin calls that failed (a fault or an invalid answer), each one denied.");
  e.sample("mosaic_authorizer_faults_total", {}, authorizer_->faults());
}

}  // namespace mosaic::app
