#include "plugins/protocol_kafka/adapter/kafka_adapter.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "kafka_messages.h"
#include "mosaic/sdk/task_queue.h"
#include "plugins/protocol_kafka/adapter/group_api.h"
#include "plugins/protocol_kafka/adapter/request_context.h"
#include "plugins/protocol_kafka/adapter/share_api.h"
#include "plugins/protocol_kafka/protocol/mosaic_tags.h"

namespace mosaic::kafka {

namespace {

using adapter::error;

constexpr int16_t unsupported_version = 35;
constexpr int16_t fetch_session_id_not_found = 70;
constexpr int16_t invalid_fetch_session_epoch = 71;

const api_range* find_api(int16_t key) {
  for (const auto& a : supported_apis())
    if (a.api_key == key) return &a;
  return nullptr;
}

// Administrative requests wait on the metadata log's fsync: they run on
// one worker of their own (sdk::task_queue), one at a time, off the
// network threads.
using admin_worker = sdk::task_queue;

// KIP-227 fetch sessions: the partitions a client fetches, kept between
// requests so that an incremental request names only what changed and an
// incremental response carries only partitions with news.
struct session_partition {
  std::string topic;
  uuid topic_id{};
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  int32_t leader_epoch = -1;  // the client's current leader epoch
  int16_t error = 0;          // resolving the topic
  int64_t sent_hw = -2;
  int64_t sent_lso = -2;
};
using partition_key = std::pair<std::string, int32_t>;

struct fetch_session {
  int32_t epoch = 1;  // the epoch the next request must carry
  std::map<partition_key, session_partition> partitions;
  std::chrono::steady_clock::time_point used;
};

class session_cache {
 public:
  static constexpr size_t max_sessions = 1000;

  int32_t create(std::map<partition_key, session_partition> parts) {
    std::lock_guard g(mu_);
    if (sessions_.size() >= max_sessions) {
      auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      sessions_.erase(oldest);
    }
    int32_t id = 0;
    do id = next_id_ = next_id_ == INT32_MAX ? 1 : next_id_ + 1;
    while (sessions_.count(id));
    auto& s = sessions_[id];
    s.partitions = std::move(parts);
    s.used = std::chrono::steady_clock::now();
    return id;
  }
  void remove(int32_t id) {
    std::lock_guard g(mu_);
    sessions_.erase(id);
  }
  // Runs fn(session*) under the lock; nullptr if there is no such session.
  template <class F>
  auto with(int32_t id, F&& fn) {
    std::lock_guard g(mu_);
    auto it = sessions_.find(id);
    return fn(it == sessions_.end() ? nullptr : &it->second);
  }

 private:
  std::mutex mu_;
  std::map<int32_t, fetch_session> sessions_;
  int32_t next_id_ = 0;
};

struct shared_state {
  adapter::broker* broker = nullptr;
  adapter::group_coordinator* groups = nullptr;
  adapter::share_groups* shares = nullptr;
  session_cache sessions;
  admin_worker* admin = nullptr;  // owned by the adapter, which outlives every connection
};

int8_t config_type_code(const std::string& t) {
  static const std::map<std::string, int8_t> types = {{"boolean", 1}, {"string", 2}, {"int", 3},
                                                      {"short", 4},   {"long", 5},   {"double", 6},
                                                      {"list", 7},    {"class", 8},  {"password", 9}};
  auto it = types.find(t);
  return it == types.end() ? 0 : it->second;
}

// A connection's request handling. Shared so that work finishing after the
// connection closed (admin requests, long polls) still has what it uses.
class handler : public std::enable_shared_from_this<handler> {
 public:
  handler(std::shared_ptr<shared_state> state, adapter::peer peer) : state_(std::move(state)), peer_(std::move(peer)) {}

  void on_frame(std::vector<uint8_t> frame, const std::shared_ptr<adapter::responder>& reply) {
    // Responses go back in request order: a heartbeat the coordinator holds
    // must not keep this request's answer waiting.
    if (held_heartbeat_ != 0) state_->groups->release_heartbeat(std::exchange(held_heartbeat_, 0));
    try {
      reader peek(frame);
      request_context rc;
      rc.key = peek.integer<int16_t>();
      rc.version = peek.integer<int16_t>();
      rc.correlation = peek.integer<int32_t>();
      rc.reply = reply;
      const api_range* api = find_api(rc.key);
      if (api == nullptr) return rc.reply->close();  // an API this broker does not serve
      if (rc.version < api->min_version || rc.version > api->max_version) {
        // The ApiVersions rule: answer in version 0 with the error and our
        // ranges, so the client can pick a version it shares with us.
        if (rc.key == msg::api_versions_request_api_key) {
          rc.version = 0;
          msg::api_versions_response resp;
          resp.error_code = unsupported_version;
          fill_versions(resp);
          return rc.send(resp);
        }
        return rc.reply->close();
      }
      rc.flexible = rc.version >= api->first_flexible;
      auto buf = std::make_shared<std::vector<uint8_t>>(std::move(frame));
      reader r(*buf);
      msg::request_header header;
      header.decode(r, rc.flexible ? 2 : 1);
      if (header.client_id) rc.client_id = *header.client_id;
      dispatch(rc, r, buf);
    } catch (const decode_error&) {
      reply->close();  // a malformed request: Kafka closes the connection too
    }
  }

 private:
  void dispatch(const request_context& rc, reader& r, const std::shared_ptr<std::vector<uint8_t>>& buf) {
    switch (rc.key) {
      case msg::api_versions_request_api_key: {
        (void)decode<msg::api_versions_request>(r, rc.version);
        msg::api_versions_response resp;
        fill_versions(resp);
        return rc.send(resp);
      }
      case msg::metadata_request_api_key: return metadata(rc, decode<msg::metadata_request>(r, rc.version));
      case msg::produce_request_api_key: return produce(rc, decode<msg::produce_request>(r, rc.version), buf);
      case msg::fetch_request_api_key: return fetch(rc, decode<msg::fetch_request>(r, rc.version));
      case msg::list_offsets_request_api_key: return list_offsets(rc, decode<msg::list_offsets_request>(r, rc.version));
      case msg::describe_cluster_request_api_key:
        return describe_cluster(rc, decode<msg::describe_cluster_request>(r, rc.version));
      case msg::describe_quorum_request_api_key:
        return describe_quorum(rc, decode<msg::describe_quorum_request>(r, rc.version));
      case msg::describe_configs_request_api_key:
        // On the admin thread: a GROUP resource waits for the share manager.
        return on_admin_thread<msg::describe_configs_request>(rc, r, &handler::describe_configs);
      case msg::create_topics_request_api_key:
        return on_admin_thread<msg::create_topics_request>(rc, r, &handler::create_topics);
      case msg::delete_topics_request_api_key:
        return on_admin_thread<msg::delete_topics_request>(rc, r, &handler::delete_topics);
      case msg::create_partitions_request_api_key:
        return on_admin_thread<msg::create_partitions_request>(rc, r, &handler::create_partitions);
      case msg::alter_configs_request_api_key:
        return on_admin_thread<msg::alter_configs_request>(rc, r, &handler::alter_configs);
      case msg::init_producer_id_request_api_key:
        return on_admin_thread<msg::init_producer_id_request>(rc, r, &handler::init_producer_id);
      case msg::delete_records_request_api_key:
        return on_admin_thread<msg::delete_records_request>(rc, r, &handler::delete_records);
      case msg::describe_producers_request_api_key:
        return describe_producers(rc, decode<msg::describe_producers_request>(r, rc.version));
      case msg::offset_for_leader_epoch_request_api_key:
        return offset_for_leader_epoch(rc, decode<msg::offset_for_leader_epoch_request>(r, rc.version));
      case msg::describe_log_dirs_request_api_key:
        return on_admin_thread<msg::describe_log_dirs_request>(rc, r, &handler::describe_log_dirs);
      case msg::elect_leaders_request_api_key:
        return on_admin_thread<msg::elect_leaders_request>(rc, r, &handler::elect_leaders);
      case msg::alter_partition_reassignments_request_api_key:
        return on_admin_thread<msg::alter_partition_reassignments_request>(rc, r,
                                                                           &handler::alter_partition_reassignments);
      case msg::list_partition_reassignments_request_api_key:
        return list_partition_reassignments(rc, decode<msg::list_partition_reassignments_request>(r, rc.version));
      case msg::describe_topic_partitions_request_api_key:
        return describe_topic_partitions(rc, decode<msg::describe_topic_partitions_request>(r, rc.version));
      case msg::incremental_alter_configs_request_api_key:
        return on_admin_thread<msg::incremental_alter_configs_request>(rc, r, &handler::incremental_alter_configs);
      case msg::consumer_group_heartbeat_request_api_key:
        if (state_->groups != nullptr) held_heartbeat_ = next_hold_id();
        answer_group_request(rc, r, state_->groups, state_->shares, broker(), peer_, held_heartbeat_);
        return;
      default:
        if (answer_group_request(rc, r, state_->groups, state_->shares, broker(), peer_)) return;
        if (answer_share_request(rc, r, state_->shares, broker(), peer_)) return;
        return rc.reply->close();
    }
  }

  // Decodes a request now and answers it on the admin thread. The
  // connection may be gone by then: the task keeps this handler alive.
  template <class Request>
  void on_admin_thread(const request_context& rc, reader& r,
                       void (handler::*answer)(const request_context&, const Request&)) {
    state_->admin->post([self = shared_from_this(), rc, req = decode<Request>(r, rc.version), answer] {
      // The admin thread serves every connection: a request that fails
      // with an exception (a bug) costs its own connection, not the node.
      try {
        ((*self).*answer)(rc, req);
      } catch (const std::exception&) {
        rc.reply->close();
      }
    });
  }

  adapter::broker& broker() const { return *state_->broker; }

  static void fill_versions(msg::api_versions_response& resp) {
    for (const auto& a : supported_apis()) {
      auto& k = resp.api_keys.emplace_back();
      k.api_key = a.api_key;
      k.min_version = a.min_version;
      k.max_version = a.max_version;
    }
  }

  // ---- Metadata ----

  static void fill_topic(msg::metadata_response_metadata_response_topic& out, const adapter::topic_info& t) {
    out.name = t.name;
    out.topic_id = t.id;
    out.is_internal = t.internal;
    for (const auto& p : t.partitions) fill_partition(out.partitions.emplace_back(), p);
  }

  // A partition as Metadata and DescribeTopicPartitions show it.
  template <class Out>
  static void fill_partition(Out& op, const adapter::partition_info& p) {
    op.partition_index = p.partition;
    op.leader_id = p.leader;
    op.leader_epoch = p.leader_epoch;
    op.replica_nodes = p.replicas;
    op.isr_nodes = p.isr;
    op.offline_replicas = p.offline;
    // No leader: the partition is offline until a replica is eligible.
    if (p.leader < 0) op.error_code = code(error::leader_not_available);
  }

  void metadata(const request_context& rc, const msg::metadata_request& req) {
    // Auto-creation writes to the metadata log: the admin thread's work.
    const bool may_create = broker().auto_create_topics() && (rc.version < 4 || req.allow_auto_topic_creation);
    bool creates = false;
    if (may_create && req.topics)
      for (const auto& t : *req.topics)
        if (t.name && !broker().find_topic(*t.name)) creates = true;
    if (creates)
      return state_->admin->post([self = shared_from_this(), rc, req] { self->metadata_now(rc, req, true); });
    metadata_now(rc, req, false);
  }

  // The cluster's brokers: this one as the client reached it, the others as
  // they registered in the metadata.
  // Fenced brokers are left out, as Kafka leaves them out.
  template <class F>
  void each_broker(F add) const {
    std::optional<std::string> rack;
    const auto all = broker().brokers();
    for (const auto& b : all)
      if (b.node_id == broker().node_id()) rack = b.rack;
    add(broker().node_id(), peer_.local_host, static_cast<int32_t>(peer_.local_port), rack);
    for (const auto& b : all)
      if (b.node_id != broker().node_id() && !b.fenced) add(b.node_id, b.host, b.port, b.rack);
  }

  void metadata_now(const request_context& rc, const msg::metadata_request& req, bool create) {
    msg::metadata_response resp;
    each_broker([&](int32_t id, const std::string& host, int32_t port, const std::optional<std::string>& rack) {
      auto& b = resp.brokers.emplace_back();
      b.node_id = id;
      b.host = host;
      b.port = port;
      b.rack = rack;
    });
    resp.cluster_id = broker().cluster_id();
    resp.controller_id = broker().controller_id();
    const bool all = !req.topics || (rc.version == 0 && req.topics->empty());
    if (all) {
      for (const auto& t : broker().topics()) fill_topic(resp.topics.emplace_back(), t);
    } else {
      for (const auto& t : *req.topics) {
        auto& out = resp.topics.emplace_back();
        out.name = t.name;
        out.topic_id = t.topic_id;
        std::optional<adapter::topic_info> found =
            t.name ? broker().find_topic(*t.name) : broker().find_topic(adapter::uuid(t.topic_id));
        if (!found && t.name && create) {
          adapter::new_topic nt;
          nt.name = *t.name;
          adapter::topic_info created;
          auto o = broker().create_topic(nt, false, &created);
          if (o.ok() || o.code == error::topic_already_exists)
            found = broker().find_topic(*t.name);
          else
            out.error_code = code(o.code);
        }
        if (found)
          fill_topic(out, *found);
        else if (out.error_code == 0)
          out.error_code = code(t.name ? error::unknown_topic_or_partition : error::unknown_topic_id);
      }
    }
    if (req.include_topic_authorized_operations)
      for (auto& t : resp.topics)
        if (t.error_code == 0) t.topic_authorized_operations = operations::topic;
    if (req.include_cluster_authorized_operations) resp.cluster_authorized_operations = operations::cluster;
    rc.send(resp);
  }

  // ---- Produce ----

  struct produce_state {
    std::mutex mu;
    msg::produce_response resp;
    size_t remaining = 0;
    std::set<int32_t> leaders;  // named in KIP-951 hints: their endpoints go in the answer
  };

  // KIP-951: a partition refused for leadership names its current leader,
  // so the client need not wait for a Metadata round trip.
  static bool moved(error e) { return e == error::not_leader_or_follower || e == error::fenced_leader_epoch; }
  static std::optional<std::pair<int32_t, int32_t>> leader_of(adapter::broker& b, const std::string& topic,
                                                              int32_t partition) {
    auto t = b.find_topic(topic);
    if (!t || partition < 0 || static_cast<size_t>(partition) >= t->partitions.size()) return std::nullopt;
    const auto& p = t->partitions[static_cast<size_t>(partition)];
    if (p.leader < 0) return std::nullopt;
    return std::pair{p.leader, p.leader_epoch};
  }
  template <class Endpoint>
  static void endpoints_of(adapter::broker& b, const std::set<int32_t>& ids, std::vector<Endpoint>& out) {
    if (ids.empty()) return;
    for (const auto& e : b.brokers())
      if (ids.count(e.node_id)) {
        auto& n = out.emplace_back();
        n.node_id = e.node_id;
        n.host = e.host;
        n.port = e.port;
        n.rack = e.rack;
      }
  }

  void produce(const request_context& rc, const msg::produce_request& req,
               const std::shared_ptr<std::vector<uint8_t>>& buf) {
    auto st = std::make_shared<produce_state>();
    const int16_t acks = req.acks;
    std::vector<std::tuple<size_t, size_t, std::string, int32_t, bytes_ref>> work;
    for (const auto& t : req.topic_data) {
      const size_t ti = st->resp.responses.size();
      auto& rt = st->resp.responses.emplace_back();
      rt.name = t.name;
      rt.topic_id = t.topic_id;
      std::string name = t.name;
      bool unknown_id = false;
      if (rc.version >= 13) {
        auto found = broker().find_topic(adapter::uuid(t.topic_id));
        if (found)
          name = found->name;
        else
          unknown_id = true;
      }
      for (const auto& p : t.partition_data) {
        const size_t pi = rt.partition_responses.size();
        auto& rp = rt.partition_responses.emplace_back();
        rp.index = p.index;
        rp.base_offset = -1;
        if (unknown_id) {
          rp.error_code = code(error::unknown_topic_id);
        } else if (p.records.null || p.records.size == 0) {
          rp.error_code = code(error::invalid_record);
          rp.error_message = "the partition's records are empty";
        } else {
          work.emplace_back(ti, pi, name, p.index, p.records);
        }
      }
    }
    st->remaining = work.size() + 1;
    auto shared = state_;
    auto finish = [st, rc, acks, shared] {
      if (rc.version >= 10) endpoints_of(*shared->broker, st->leaders, st->resp.node_endpoints);
      if (acks == 0) {
        // No response; but an error closes the connection, as Kafka does,
        // so the producer learns something went wrong.
        for (const auto& t : st->resp.responses)
          for (const auto& p : t.partition_responses)
            if (p.error_code != 0) return rc.reply->close();
        return rc.reply->no_response();
      }
      rc.send(st->resp);
    };
    for (auto& [ti, pi, name, partition, records] : work) {
      std::span<uint8_t> bytes(const_cast<uint8_t*>(records.data), records.size);  // our own frame buffer
      broker().produce(name, partition, bytes, acks, req.timeout_ms, buf,
                       [st, ti = ti, pi = pi, finish, shared, name = name, partition = partition,
                        hints = rc.version >= 10](const adapter::produce_result& r) {
                         std::optional<std::pair<int32_t, int32_t>> leader;
                         if (hints && moved(r.code)) leader = leader_of(*shared->broker, name, partition);
                         bool last = false;
                         {
                           std::lock_guard g(st->mu);
                           auto& rp = st->resp.responses[ti].partition_responses[pi];
                           if (leader) {
                             rp.current_leader.leader_id = leader->first;
                             rp.current_leader.leader_epoch = leader->second;
                             st->leaders.insert(leader->first);
                           }
                           rp.error_code = code(r.code);
                           rp.base_offset = r.base_offset;
                           rp.log_append_time_ms = r.log_append_time;
                           rp.log_start_offset = r.log_start_offset;
                           if (!r.message.empty() && r.code != error::none) rp.error_message = r.message;
                           for (const auto& [index, why] : r.record_errors)
                             rp.record_errors.push_back({index, why, {}});
                           last = --st->remaining == 0;
                         }
                         if (last) finish();
                       });
    }
    bool last = false;
    {
      std::lock_guard g(st->mu);
      last = --st->remaining == 0;
    }
    if (last) finish();
  }

  // ---- Fetch ----

  void fetch(const request_context& rc, const msg::fetch_request& req) {
    const bool by_id = rc.version >= 13;
    std::vector<session_partition> asked;
    for (const auto& t : req.topics) {
      std::string name = t.topic;
      int16_t err = 0;
      if (by_id) {
        auto found = broker().find_topic(adapter::uuid(t.topic_id));
        if (found)
          name = found->name;
        else
          err = code(error::unknown_topic_id);
      }
      for (const auto& p : t.partitions) {
        session_partition sp;
        sp.topic = by_id && err ? "" : name;
        sp.topic_id = t.topic_id;
        sp.partition = p.partition;
        sp.offset = p.fetch_offset;
        sp.max_bytes = p.partition_max_bytes;
        sp.leader_epoch = p.current_leader_epoch;
        sp.error = err;
        asked.push_back(std::move(sp));
      }
    }
    auto key_of = [by_id](const session_partition& sp) {
      return partition_key(by_id ? to_key(sp.topic_id) : sp.topic, sp.partition);
    };

    msg::fetch_response head;
    int32_t session_id = 0;
    bool incremental = false;
    std::vector<session_partition> parts;
    if (req.session_id == 0 && req.session_epoch == 0) {
      // A new session holding the asked partitions.
      std::map<partition_key, session_partition> m;
      for (auto& sp : asked) m[key_of(sp)] = sp;
      session_id = state_->sessions.create(std::move(m));
      parts = std::move(asked);
    } else if (req.session_epoch == -1) {
      // A full fetch without a session (closing one if named).
      if (req.session_id != 0) state_->sessions.remove(req.session_id);
      parts = std::move(asked);
    } else if (req.session_id == 0) {
      head.error_code = invalid_fetch_session_epoch;
      return rc.send(head);
    } else {
      const int16_t err = state_->sessions.with(req.session_id, [&](fetch_session* s) -> int16_t {
        if (!s) return fetch_session_id_not_found;
        if (s->epoch != req.session_epoch) return invalid_fetch_session_epoch;
        s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
        s->used = std::chrono::steady_clock::now();
        for (const auto& f : req.forgotten_topics_data)
          for (int32_t p : f.partitions) s->partitions.erase(partition_key(by_id ? to_key(f.topic_id) : f.topic, p));
        for (auto& sp : asked) {
          auto& have = s->partitions[key_of(sp)];
          const int64_t hw = have.sent_hw, lso = have.sent_lso;
          have = sp;
          have.sent_hw = hw;
          have.sent_lso = lso;
        }
        for (const auto& [k, sp] : s->partitions) parts.push_back(sp);
        return 0;
      });
      if (err) {
        head.error_code = err;
        return rc.send(head);
      }
      session_id = req.session_id;
      incremental = true;
    }

    adapter::fetch_request fr;
    fr.zero_copy = true;  // plaintext: records go out with sendfile
    fr.max_wait_ms = req.max_wait_ms;
    fr.min_bytes = req.min_bytes;
    fr.max_bytes = req.max_bytes;
    std::vector<int> slot(parts.size(), -1);
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].error) continue;
      slot[i] = static_cast<int>(fr.partitions.size());
      fr.partitions.push_back(
          {parts[i].topic, parts[i].partition, parts[i].offset, parts[i].max_bytes, parts[i].leader_epoch});
    }
    auto st = state_;
    broker().fetch(std::move(fr), [st, rc, by_id, session_id, incremental, parts = std::move(parts),
                                   slot = std::move(slot)](std::vector<adapter::fetched_partition> got) {
      msg::fetch_response resp;
      resp.session_id = session_id;
      std::set<int32_t> leaders;
      std::vector<std::vector<adapter::file_range>> files;
      std::vector<bool> include(parts.size(), true);
      auto result_of = [&](size_t i) -> adapter::fetched_partition* {
        return slot[i] < 0 ? nullptr : &got[static_cast<size_t>(slot[i])];
      };
      if (session_id != 0) {
        st->sessions.with(session_id, [&](fetch_session* s) {
          for (size_t i = 0; i < parts.size(); ++i) {
            const auto* r = result_of(i);
            session_partition* sp = nullptr;
            if (s) {
              auto it = s->partitions.find(
                  partition_key(by_id ? to_key(parts[i].topic_id) : parts[i].topic, parts[i].partition));
              if (it != s->partitions.end()) sp = &it->second;
            }
            const int64_t hw = r ? r->high_watermark : -1, lso = r ? r->log_start_offset : -1;
            if (incremental && r && r->code == error::none && r->records.empty() && sp && sp->sent_hw == hw &&
                sp->sent_lso == lso)
              include[i] = false;
            if (sp) sp->sent_hw = hw, sp->sent_lso = lso;
          }
          return 0;
        });
      }
      for (size_t i = 0; i < parts.size(); ++i) {
        if (!include[i]) continue;
        const auto& sp = parts[i];
        if (resp.responses.empty() || resp.responses.back().topic != sp.topic ||
            resp.responses.back().topic_id != sp.topic_id) {
          auto& t = resp.responses.emplace_back();
          t.topic = sp.topic;
          t.topic_id = sp.topic_id;
        }
        auto& p = resp.responses.back().partitions.emplace_back();
        p.partition_index = sp.partition;
        p.aborted_transactions.emplace();
        if (auto* r = result_of(i)) {
          p.error_code = code(r->code);
          if (rc.version >= 12 && moved(r->code))
            if (auto leader = leader_of(*st->broker, sp.topic, sp.partition)) {
              p.current_leader.leader_id = leader->first;
              p.current_leader.leader_epoch = leader->second;
              leaders.insert(leader->first);
            }
          p.high_watermark = r->high_watermark;
          p.last_stable_offset = r->last_stable_offset;
          p.log_start_offset = r->log_start_offset;
          if (!r->files.empty()) {
            p.records = bytes_ref::spliced(static_cast<int32_t>(files.size()), r->size());
            files.push_back(std::move(r->files));
          } else {
            p.records = bytes_ref::of(r->records);
          }
        } else {
          p.error_code = sp.error;
          p.high_watermark = -1;
        }
      }
      if (rc.version >= 16) endpoints_of(*st->broker, leaders, resp.node_endpoints);
      rc.send_spliced(resp, files);
    });
  }

  static std::string to_key(const uuid& id) { return std::string(id.begin(), id.end()); }

  // ---- ListOffsets ----

  void list_offsets(const request_context& rc, const msg::list_offsets_request& req) {
    msg::list_offsets_response resp;
    for (const auto& t : req.topics) {
      auto& rt = resp.topics.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = p.partition_index;
        auto r = broker().list_offset(t.name, p.partition_index, p.timestamp);
        rp.error_code = code(r.code);
        rp.timestamp = r.timestamp;
        rp.offset = r.offset;
        rp.leader_epoch = r.leader_epoch;
      }
    }
    rc.send(resp);
  }

  void offset_for_leader_epoch(const request_context& rc, const msg::offset_for_leader_epoch_request& req) {
    msg::offset_for_leader_epoch_response resp;
    for (const auto& t : req.topics) {
      auto& rt = resp.topics.emplace_back();
      rt.topic = t.topic;
      for (const auto& p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition = p.partition;
        auto r = broker().offset_for_leader_epoch(t.topic, p.partition, p.current_leader_epoch, p.leader_epoch);
        rp.error_code = code(r.code);
        rp.leader_epoch = r.leader_epoch;
        rp.end_offset = r.end_offset;
      }
    }
    rc.send(resp);
  }

  // ---- Cluster and configs ----

  void describe_cluster(const request_context& rc, const msg::describe_cluster_request& req) {
    msg::describe_cluster_response resp;
    resp.endpoint_type = req.endpoint_type;
    resp.cluster_id = broker().cluster_id();
    resp.controller_id = broker().controller_id();
    if (req.endpoint_type != 1) {
      resp.error_code = code(error::unsupported_version);
      resp.error_message = "only broker endpoints are described";
      return rc.send(resp);
    }
    each_broker([&](int32_t id, const std::string& host, int32_t port, const std::optional<std::string>& rack) {
      auto& b = resp.brokers.emplace_back();
      b.broker_id = id;
      b.host = host;
      b.port = port;
      b.rack = rack;
    });
    // v2 asks for the fenced ones too, marked as such.
    if (rc.version >= 2 && req.include_fenced_brokers)
      for (const auto& e : broker().brokers())
        if (e.fenced && e.node_id != broker().node_id()) {
          auto& b = resp.brokers.emplace_back();
          b.broker_id = e.node_id;
          b.host = e.host;
          b.port = e.port;
          b.rack = e.rack;
          b.is_fenced = true;
        }
    if (req.include_cluster_authorized_operations) resp.cluster_authorized_operations = operations::cluster;
    rc.send(resp);
  }

  // The metadata quorum: one partition, __cluster_metadata-0, as in KRaft.
  void describe_quorum(const request_context& rc, const msg::describe_quorum_request& req) {
    msg::describe_quorum_response resp;
    const auto q = broker().describe_quorum();
    for (const auto& t : req.topics) {
      auto& ot = resp.topics.emplace_back();
      ot.topic_name = t.topic_name;
      for (const auto& p : t.partitions) {
        auto& op = ot.partitions.emplace_back();
        op.partition_index = p.partition_index;
        if (t.topic_name != "__cluster_metadata" || p.partition_index != 0) {
          op.error_code = code(error::unknown_topic_or_partition);
          op.error_message = "the metadata quorum is __cluster_metadata-0";
          continue;
        }
        op.error_code = code(q.code);
        if (q.code != error::none) op.error_message = q.message;
        op.leader_id = q.leader_id;
        op.leader_epoch = q.leader_epoch;
        op.high_watermark = q.high_watermark;
        auto fill = [](std::vector<msg::describe_quorum_response_replica_state>& out, const auto& replicas) {
          for (const auto& r : replicas) {
            auto& o = out.emplace_back();
            o.replica_id = r.id;
            o.log_end_offset = r.log_end_offset;
            o.last_fetch_timestamp = r.last_fetch_ms;
            o.last_caught_up_timestamp = r.last_caught_up_ms;
          }
        };
        fill(op.current_voters, q.voters);
        fill(op.observers, q.observers);
      }
    }
    for (const auto& n : q.nodes) {
      auto& on = resp.nodes.emplace_back();
      on.node_id = n.node_id;
      auto& l = on.listeners.emplace_back();
      l.name = "CONTROLLER";
      l.host = n.host;
      l.port = static_cast<uint16_t>(n.port);
    }
    rc.send(resp);
  }

  void describe_configs(const request_context& rc, const msg::describe_configs_request& req) {
    msg::describe_configs_response resp;
    for (const auto& res : req.resources) {
      auto& out = resp.results.emplace_back();
      out.resource_type = res.resource_type;
      out.resource_name = res.resource_name;
      if (res.resource_type != 2 && res.resource_type != 4 && res.resource_type != 32) {
        out.error_code = code(error::invalid_request);
        out.error_message = "only TOPIC (2), BROKER (4) and GROUP (32) configs are described";
        continue;
      }
      std::vector<adapter::config_value> values;
      adapter::outcome o;
      const auto names = res.configuration_keys.value_or(std::vector<std::string>{});
      if (res.resource_type == 32) {
        if (state_->shares == nullptr) {
          o = adapter::outcome::fail(error::invalid_request, "this node keeps no group configs");
        } else {
          std::promise<std::pair<adapter::outcome, std::vector<adapter::config_value>>> answer;
          state_->shares->describe_group_configs(
              res.resource_name, names, [&answer](adapter::outcome got, std::vector<adapter::config_value> vs) {
                answer.set_value({std::move(got), std::move(vs)});
              });
          std::tie(o, values) = answer.get_future().get();
        }
      } else {
        o = broker().describe_configs(static_cast<adapter::resource_type>(res.resource_type), res.resource_name, names,
                                      values);
      }
      out.error_code = code(o.code);
      if (!o.ok()) out.error_message = o.message;
      for (const auto& v : values) {
        auto& c = out.configs.emplace_back();
        c.name = v.name;
        c.value = v.value;
        c.read_only = v.read_only;
        c.config_source = static_cast<int8_t>(v.source);
        c.is_sensitive = v.sensitive;
        c.config_type = config_type_code(v.type);
        if (req.include_documentation) c.documentation = v.doc;
      }
    }
    rc.send(resp);
  }

  void create_topics(const request_context& rc, const msg::create_topics_request& req) {
    msg::create_topics_response resp;
    for (const auto& t : req.topics) {
      auto& out = resp.topics.emplace_back();
      out.name = t.name;
      adapter::new_topic nt;
      nt.name = t.name;
      nt.partitions = t.num_partitions;
      nt.replication_factor = t.replication_factor;
      for (const auto& c : t.configs)
        if (c.value) nt.configs.emplace_back(c.name, *c.value);
      adapter::outcome o;
      if (!t.assignments.empty()) {
        // Manual assignments, partition by partition (the broker checks
        // the brokers they name).
        if (t.num_partitions != -1 || t.replication_factor != -1)
          o = adapter::outcome::fail(error::invalid_request,
                                     "Both numPartitions or replicationFactor and replicasAssignments were set.");
        std::map<int32_t, std::vector<int32_t>> by_index;
        for (const auto& a : t.assignments)
          if (!by_index.emplace(a.partition_index, a.broker_ids).second)
            o = adapter::outcome::fail(error::invalid_replica_assignment,
                                       "partition " + std::to_string(a.partition_index) + " is assigned twice");
        int32_t expect = 0;
        for (auto& [index, ids] : by_index) {
          if (index != expect++)
            o = adapter::outcome::fail(error::invalid_replica_assignment,
                                       "assignments must number the partitions 0 to " +
                                           std::to_string(by_index.size() - 1) + " without a gap");
          nt.assignments.push_back(ids);
        }
      }
      adapter::topic_info created;
      if (o.ok()) o = broker().create_topic(nt, req.validate_only, &created);
      out.error_code = code(o.code);
      if (!o.ok()) {
        out.error_message = o.message;
        continue;
      }
      out.topic_id = created.id;
      out.num_partitions = static_cast<int32_t>(created.partitions.size());
      out.replication_factor =
          created.partitions.empty() ? int16_t{1} : static_cast<int16_t>(created.partitions.front().replicas.size());
      std::vector<adapter::config_value> values;
      if (!req.validate_only && broker().describe_configs(adapter::resource_type::topic, t.name, {}, values).ok()) {
        out.configs.emplace();
        for (const auto& v : values) {
          auto& c = out.configs->emplace_back();
          c.name = v.name;
          c.value = v.value;
          c.read_only = v.read_only;
          c.config_source = static_cast<int8_t>(v.source);
          c.is_sensitive = v.sensitive;
        }
      }
    }
    rc.send(resp);
  }

  void delete_topics(const request_context& rc, const msg::delete_topics_request& req) {
    msg::delete_topics_response resp;
    auto one = [&](const std::optional<std::string>& name, const uuid& id) {
      auto& out = resp.responses.emplace_back();
      out.name = name;
      out.topic_id = id;
      std::string target;
      if (name) {
        target = *name;
      } else if (auto t = broker().find_topic(adapter::uuid(id))) {
        target = t->name;
        out.name = target;
      } else {
        out.error_code = code(error::unknown_topic_id);
        return;
      }
      if (auto t = broker().find_topic(target)) out.topic_id = t->id;
      auto o = broker().delete_topic(target);
      out.error_code = code(o.code);
      if (!o.ok()) out.error_message = o.message;
    };
    if (rc.version >= 6)
      for (const auto& t : req.topics) one(t.name, t.topic_id);
    else
      for (const auto& n : req.topic_names) one(n, uuid{});
    rc.send(resp);
  }

  void init_producer_id(const request_context& rc, const msg::init_producer_id_request& req) {
    msg::init_producer_id_response resp;
    if (req.transactional_id) {
      // Transactions need a transaction coordinator, which this broker does
      // not have yet (FindCoordinator is not advertised either).
      resp.error_code = code(error::coordinator_not_available);
      return rc.send(resp);
    }
    adapter::broker::producer_identity id{req.producer_id, req.producer_epoch};
    auto o = broker().init_producer_id(id);
    resp.error_code = code(o.code);
    resp.producer_id = id.id;
    resp.producer_epoch = id.epoch;
    rc.send(resp);
  }

  void delete_records(const request_context& rc, const msg::delete_records_request& req) {
    msg::delete_records_response resp;
    for (const auto& t : req.topics) {
      auto& rt = resp.topics.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = p.partition_index;
        auto r = broker().delete_records(t.name, p.partition_index, p.offset);
        rp.error_code = code(r.code);
        rp.low_watermark = r.low_watermark;
      }
    }
    rc.send(resp);
  }

  void describe_producers(const request_context& rc, const msg::describe_producers_request& req) {
    msg::describe_producers_response resp;
    for (const auto& t : req.topics) {
      auto& rt = resp.topics.emplace_back();
      rt.name = t.name;
      for (int32_t p : t.partition_indexes) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = p;
        std::vector<adapter::broker::producer_view> producers;
        auto o = broker().describe_producers(t.name, p, producers);
        rp.error_code = code(o.code);
        if (!o.ok()) rp.error_message = o.message;
        for (const auto& v : producers) {
          auto& s = rp.active_producers.emplace_back();
          s.producer_id = v.id;
          s.producer_epoch = v.epoch;
          s.last_sequence = v.last_sequence;
          s.last_timestamp = v.last_timestamp;
          s.coordinator_epoch = -1;
        }
      }
    }
    rc.send(resp);
  }

  void describe_log_dirs(const request_context& rc, const msg::describe_log_dirs_request& req) {
    msg::describe_log_dirs_response resp;
    for (const auto& d : broker().describe_log_dirs()) {
      auto& out = resp.results.emplace_back();
      out.log_dir = d.path;
      out.total_bytes = d.total_bytes;
      out.usable_bytes = d.usable_bytes;
      for (const auto& p : d.partitions) {
        bool wanted = !req.topics;
        if (req.topics)
          for (const auto& t : *req.topics)
            if (t.topic == p.topic &&
                std::find(t.partitions.begin(), t.partitions.end(), p.partition) != t.partitions.end())
              wanted = true;
        if (!wanted) continue;
        if (out.topics.empty() || out.topics.back().name != p.topic) out.topics.emplace_back().name = p.topic;
        auto& op = out.topics.back().partitions.emplace_back();
        op.partition_index = p.partition;
        op.partition_size = p.bytes;
        if (p.dirty_ratio >= 0) op.unknown_tags.push_back(float64_tag(dirty_ratio_tag, p.dirty_ratio));
      }
    }
    rc.send(resp);
  }

  void create_partitions(const request_context& rc, const msg::create_partitions_request& req) {
    msg::create_partitions_response resp;
    for (const auto& t : req.topics) {
      auto& out = resp.results.emplace_back();
      out.name = t.name;
      std::vector<std::vector<int32_t>> assignments;
      if (t.assignments)
        for (const auto& a : *t.assignments) assignments.push_back(a.broker_ids);
      adapter::outcome o = broker().create_partitions(t.name, t.count, assignments, req.validate_only);
      out.error_code = code(o.code);
      if (!o.ok()) out.error_message = o.message;
    }
    rc.send(resp);
  }

  // ---- Replicas: ElectLeaders, DescribeTopicPartitions ----

  void elect_leaders(const request_context& rc, const msg::elect_leaders_request& req) {
    msg::elect_leaders_response resp;
    const bool unclean = rc.version >= 1 && req.election_type == 1;
    if (rc.version >= 1 && req.election_type != 0 && req.election_type != 1) {
      resp.error_code = code(error::invalid_request);
      return rc.send(resp);
    }
    std::vector<std::pair<std::string, std::vector<int32_t>>> asked;
    if (req.topic_partitions) {
      for (const auto& t : *req.topic_partitions) asked.emplace_back(t.topic, t.partitions);
    } else {
      // Null: every partition (a preferred election where it is needed).
      for (const auto& t : broker().topics()) {
        std::vector<int32_t> ps;
        for (const auto& p : t.partitions) ps.push_back(p.partition);
        asked.emplace_back(t.name, ps);
      }
    }
    for (const auto& [topic, partitions] : asked) {
      auto& out = resp.replica_election_results.emplace_back();
      out.topic = topic;
      for (int32_t p : partitions) {
        auto o = broker().elect_leader(topic, p, unclean);
        // Asked for every partition, a partition that needs nothing is left out.
        if (!req.topic_partitions && o.code == error::election_not_needed) continue;
        auto& r = out.partition_result.emplace_back();
        r.partition_id = p;
        r.error_code = code(o.code);
        if (!o.ok()) r.error_message = o.message;
      }
    }
    std::erase_if(resp.replica_election_results, [](const auto& t) { return t.partition_result.empty(); });
    rc.send(resp);
  }

  void alter_partition_reassignments(const request_context& rc, const msg::alter_partition_reassignments_request& req) {
    msg::alter_partition_reassignments_response resp;
    resp.allow_replication_factor_change = req.allow_replication_factor_change;
    for (const auto& t : req.topics) {
      auto& out = resp.responses.emplace_back();
      out.name = t.name;
      const auto topic = broker().find_topic(t.name);
      for (const auto& p : t.partitions) {
        auto& r = out.partitions.emplace_back();
        r.partition_index = p.partition_index;
        adapter::outcome o;
        if (rc.version >= 1 && !req.allow_replication_factor_change && p.replicas && topic && p.partition_index >= 0 &&
            static_cast<size_t>(p.partition_index) < topic->partitions.size()) {
          const auto& now = topic->partitions[static_cast<size_t>(p.partition_index)];
          if (p.replicas->size() != now.replicas.size() - now.adding.size())
            o = adapter::outcome::fail(error::invalid_replication_factor,
                                       "the reassignment would change the replication factor");
        }
        if (o.ok()) o = broker().reassign(t.name, p.partition_index, p.replicas);
        r.error_code = code(o.code);
        if (!o.ok()) r.error_message = o.message;
      }
    }
    rc.send(resp);
  }

  void list_partition_reassignments(const request_context& rc, const msg::list_partition_reassignments_request& req) {
    msg::list_partition_reassignments_response resp;
    std::vector<std::pair<adapter::topic_info, std::optional<std::vector<int32_t>>>> asked;
    if (req.topics) {
      for (const auto& t : *req.topics)
        if (auto found = broker().find_topic(t.name)) asked.emplace_back(std::move(*found), t.partition_indexes);
    } else {
      for (auto& t : broker().topics()) asked.emplace_back(std::move(t), std::nullopt);
    }
    for (const auto& [t, only] : asked) {
      msg::list_partition_reassignments_response_ongoing_topic_reassignment out;
      out.name = t.name;
      for (const auto& p : t.partitions) {
        if (p.adding.empty() && p.removing.empty()) continue;
        if (only && std::find(only->begin(), only->end(), p.partition) == only->end()) continue;
        auto& r = out.partitions.emplace_back();
        r.partition_index = p.partition;
        r.replicas = p.replicas;
        r.adding_replicas = p.adding;
        r.removing_replicas = p.removing;
      }
      if (!out.partitions.empty()) resp.topics.push_back(std::move(out));
    }
    rc.send(resp);
  }

  void describe_topic_partitions(const request_context& rc, const msg::describe_topic_partitions_request& req) {
    msg::describe_topic_partitions_response resp;
    std::vector<adapter::topic_info> topics;
    if (req.topics.empty()) {
      topics = broker().topics();
    } else {
      for (const auto& t : req.topics) {
        if (auto found = broker().find_topic(t.name)) {
          topics.push_back(std::move(*found));
        } else {
          auto& out = resp.topics.emplace_back();
          out.name = t.name;
          out.error_code = code(error::unknown_topic_or_partition);
        }
      }
      std::sort(topics.begin(), topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    }
    // Paged by partitions: from the cursor, at most response_partition_limit.
    int32_t left = req.response_partition_limit > 0 ? req.response_partition_limit : 2000;
    for (const auto& t : topics) {
      if (req.cursor && t.name < req.cursor->topic_name) continue;
      const int32_t first = req.cursor && t.name == req.cursor->topic_name ? req.cursor->partition_index : 0;
      auto& out = resp.topics.emplace_back();
      out.name = t.name;
      out.topic_id = t.id;
      out.is_internal = t.internal;
      out.topic_authorized_operations = operations::topic;
      for (const auto& p : t.partitions) {
        if (p.partition < first) continue;
        if (left == 0) {
          resp.next_cursor.emplace();
          resp.next_cursor->topic_name = t.name;
          resp.next_cursor->partition_index = p.partition;
          break;
        }
        --left;
        auto& op = out.partitions.emplace_back();
        fill_partition(op, p);
        op.eligible_leader_replicas = p.elr;
        op.last_known_elr = p.last_known_elr;
      }
      if (resp.next_cursor) break;
    }
    rc.send(resp);
  }

  template <class Out, class Resource, class Changes>
  void alter(Out& out, const Resource& res, const Changes& changes, bool incremental, bool validate_only) {
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type == 32 && incremental && state_->shares != nullptr) {
      // A share group's configs: the share manager checks and keeps them.
      std::promise<adapter::outcome> answer;
      state_->shares->alter_group_configs(res.resource_name, changes, validate_only,
                                          [&answer](adapter::outcome got) { answer.set_value(std::move(got)); });
      auto o = answer.get_future().get();
      out.error_code = code(o.code);
      if (!o.ok()) out.error_message = o.message;
      return;
    }
    if (res.resource_type != 2 && res.resource_type != 4) {
      out.error_code = code(error::invalid_request);
      out.error_message =
          "only TOPIC (2) and BROKER (4) configs can be altered (GROUP (32) with IncrementalAlterConfigs)";
      return;
    }
    auto o = broker().alter_configs(static_cast<adapter::resource_type>(res.resource_type), res.resource_name, changes,
                                    incremental, validate_only);
    out.error_code = code(o.code);
    if (!o.ok()) out.error_message = o.message;
  }

  void alter_configs(const request_context& rc, const msg::alter_configs_request& req) {
    msg::alter_configs_response resp;
    for (const auto& res : req.resources) {
      std::vector<adapter::config_change> changes;
      for (const auto& c : res.configs) changes.push_back({c.name, adapter::alter_op::set, c.value});
      alter(resp.responses.emplace_back(), res, changes, false, req.validate_only);
    }
    rc.send(resp);
  }

  void incremental_alter_configs(const request_context& rc, const msg::incremental_alter_configs_request& req) {
    msg::incremental_alter_configs_response resp;
    for (const auto& res : req.resources) {
      std::vector<adapter::config_change> changes;
      bool bad = false;
      for (const auto& c : res.configs) {
        if (c.config_operation < 0 || c.config_operation > 3) bad = true;
        changes.push_back({c.name, static_cast<adapter::alter_op>(c.config_operation), c.value});
      }
      auto& out = resp.responses.emplace_back();
      if (bad) {
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        out.error_code = code(error::invalid_request);
        out.error_message = "config operations are 0 (SET), 1 (DELETE), 2 (APPEND) and 3 (SUBTRACT)";
        continue;
      }
      alter(out, res, changes, true, req.validate_only);
    }
    rc.send(resp);
  }

  static uint64_t next_hold_id() {
    static std::atomic<uint64_t> last{0};
    return ++last;
  }

  std::shared_ptr<shared_state> state_;
  adapter::peer peer_;
  uint64_t held_heartbeat_ = 0;  // this connection's last ConsumerGroupHeartbeat, maybe held
};

class session final : public adapter::session {
 public:
  explicit session(std::shared_ptr<handler> h) : h_(std::move(h)) {}
  void on_frame(std::vector<uint8_t> frame, std::shared_ptr<adapter::responder> reply) override {
    h_->on_frame(std::move(frame), reply);
  }

 private:
  std::shared_ptr<handler> h_;
};

class kafka_adapter final : public adapter::protocol_adapter {
 public:
  explicit kafka_adapter(const adapter::adapter_context& c)
      : admin_(std::make_unique<admin_worker>(
            1,
            [](const std::exception& e) {
              std::fprintf(stderr, "kafka adapter: an administrative task failed (%s)\n", e.what());
            })),
        state_(std::make_shared<shared_state>()) {
    state_->broker = c.service;
    state_->groups = c.groups;
    state_->shares = c.shares;
    state_->admin = admin_.get();
  }
  std::unique_ptr<adapter::session> open_session(const adapter::peer& p) override {
    return std::make_unique<session>(std::make_shared<handler>(state_, p));
  }

 private:
  std::unique_ptr<admin_worker> admin_;  // joined (after its queue drains) when the adapter goes
  std::shared_ptr<shared_state> state_;
};

}  // namespace

const std::vector<api_range>& supported_apis() {
  // Kafka 4.2's ranges for the APIs implemented; the last column is the
  // first flexible version (checked against the schemas in the tests).
  static const std::vector<api_range> apis = {
      {msg::produce_request_api_key, 3, 13, 9},
      {msg::fetch_request_api_key, 4, 18, 12},
      {msg::list_offsets_request_api_key, 1, 11, 6},
      {msg::offset_for_leader_epoch_request_api_key, 2, 4, 4},
      {msg::metadata_request_api_key, 0, 13, 9},
      {msg::api_versions_request_api_key, 0, 4, 3},
      {msg::create_topics_request_api_key, 2, 7, 5},
      {msg::delete_topics_request_api_key, 1, 6, 4},
      {msg::describe_configs_request_api_key, 1, 4, 4},
      {msg::alter_configs_request_api_key, 0, 2, 2},
      {msg::create_partitions_request_api_key, 0, 3, 2},
      {msg::incremental_alter_configs_request_api_key, 0, 1, 1},
      {msg::init_producer_id_request_api_key, 0, 5, 2},
      {msg::delete_records_request_api_key, 0, 2, 2},
      {msg::describe_producers_request_api_key, 0, 0, 0},
      {msg::describe_log_dirs_request_api_key, 1, 4, 2},
      {msg::describe_cluster_request_api_key, 0, 2, 0},
      {msg::describe_quorum_request_api_key, 0, 2, 0},
      {msg::elect_leaders_request_api_key, 0, 2, 2},
      {msg::describe_topic_partitions_request_api_key, 0, 0, 0},
      {msg::alter_partition_reassignments_request_api_key, 0, 1, 0},
      {msg::list_partition_reassignments_request_api_key, 0, 0, 0},
      {msg::find_coordinator_request_api_key, 0, 6, 3},
      {msg::join_group_request_api_key, 0, 9, 6},
      {msg::sync_group_request_api_key, 0, 5, 4},
      {msg::heartbeat_request_api_key, 0, 4, 4},
      {msg::leave_group_request_api_key, 0, 5, 4},
      {msg::offset_commit_request_api_key, 2, 10, 8},
      {msg::offset_fetch_request_api_key, 1, 10, 6},
      {msg::offset_delete_request_api_key, 0, 0, 99},
      {msg::list_groups_request_api_key, 0, 5, 3},
      {msg::describe_groups_request_api_key, 0, 6, 5},
      {msg::delete_groups_request_api_key, 0, 2, 2},
      {msg::consumer_group_heartbeat_request_api_key, 0, 1, 0},
      {msg::consumer_group_describe_request_api_key, 0, 1, 0},
      {msg::share_group_heartbeat_request_api_key, 1, 1, 0},
      {msg::share_group_describe_request_api_key, 1, 1, 0},
      {msg::share_fetch_request_api_key, 1, 2, 0},
      {msg::share_acknowledge_request_api_key, 1, 2, 0},
      {msg::describe_share_group_offsets_request_api_key, 0, 1, 0},
      {msg::alter_share_group_offsets_request_api_key, 0, 0, 0},
      {msg::delete_share_group_offsets_request_api_key, 0, 0, 0},
  };
  return apis;
}

std::shared_ptr<adapter::protocol_adapter> make_adapter(const adapter::adapter_context& context) {
  return std::make_shared<kafka_adapter>(context);
}

}  // namespace mosaic::kafka

std::shared_ptr<mosaic::adapter::protocol_adapter> mosaic_builtin_adapter_kafka(
    const mosaic::adapter::adapter_context& context) {
  return mosaic::kafka::make_adapter(context);
}
