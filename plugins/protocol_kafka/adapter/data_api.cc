// The data family: Produce, Fetch (with KIP-227 sessions), ListOffsets,
// OffsetForLeaderEpoch, InitProducerId, DescribeProducers.
#include <algorithm>
#include <map>
#include <set>

#include "plugins/protocol_kafka/adapter/connection.h"
#include "plugins/protocol_kafka/protocol/mosaic_tags.h"

namespace mosaic::kafka {

namespace {

constexpr int16_t fetch_session_id_not_found = 70;
constexpr int16_t invalid_fetch_session_epoch = 71;

}  // namespace

std::optional<std::pair<int32_t, int32_t>> connection::leader_of(adapter::broker& b, const std::string& topic,
                                                                 int32_t partition) {
  auto t = b.find_topic(topic);
  if (!t || partition < 0 || static_cast<size_t>(partition) >= t->partitions.size()) return std::nullopt;
  const auto& p = t->partitions[static_cast<size_t>(partition)];
  if (p.leader < 0) return std::nullopt;
  return std::pair{p.leader, p.leader_epoch};
}

template <class Endpoint>
void connection::endpoints_of(adapter::broker& b, const std::string& listener, const std::set<int32_t>& ids,
                              std::vector<Endpoint>& out) {
  if (ids.empty()) return;
  for (const auto& e : b.brokers())
    if (ids.count(e.node_id))
      if (auto at = e.address_on(listener)) {
        auto& n = out.emplace_back();
        n.node_id = e.node_id;
        n.host = at->first;
        n.port = at->second;
        n.rack = e.rack;
      }
}

// Lays out a Produce's answer, one entry per partition (those refused at
// once are answered there), and lists the partitions to append to.
std::vector<connection::produce_item> connection::plan_produce(const request_context& rc,
                                                               const msg::produce_request& req,
                                                               produce_state& st) const {
  std::vector<produce_item> work;
  for (const auto& t : req.topic_data) {
    const size_t ti = st.resp.responses.size();
    auto& rt = st.resp.responses.emplace_back();
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
    const bool denied = !unknown_id && !may_on_topic(adapter::acl_operation::write, name);
    for (const auto& p : t.partition_data) {
      const size_t pi = rt.partition_responses.size();
      auto& rp = rt.partition_responses.emplace_back();
      rp.index = p.index;
      rp.base_offset = -1;
      if (unknown_id) {
        rp.error_code = code(error::unknown_topic_id);
      } else if (denied) {
        rp.error_code = code(error::topic_authorization_failed);
      } else if (p.records.null || p.records.size == 0) {
        rp.error_code = code(error::invalid_record);
        rp.error_message = "the partition's records are empty";
      } else {
        work.push_back({ti, pi, name, p.index, p.records});
      }
    }
  }
  return work;
}

// One partition's outcome into the answer; true if it was the last awaited.
bool connection::produced(produce_state& st, const produce_item& item, const adapter::produce_result& r,
                          const std::optional<std::pair<int32_t, int32_t>>& leader) {
  std::lock_guard g(st.mu);
  auto& rp = st.resp.responses[item.ti].partition_responses[item.pi];
  if (leader) {
    rp.current_leader.leader_id = leader->first;
    rp.current_leader.leader_epoch = leader->second;
    st.leaders.insert(leader->first);
  }
  rp.error_code = code(r.code);
  rp.base_offset = r.base_offset;
  rp.log_append_time_ms = r.log_append_time;
  rp.log_start_offset = r.log_start_offset;
  if (!r.message.empty() && r.code != error::none) rp.error_message = r.message;
  for (const auto& [index, why] : r.record_errors) rp.record_errors.push_back({index, why, {}});
  return --st.remaining == 0;
}

void connection::produce(const request_context& rc, const msg::produce_request& req,
                         const std::shared_ptr<std::vector<uint8_t>>& buf) {
  auto st = std::make_shared<produce_state>();
  const int16_t acks = req.acks;
  const auto work = plan_produce(rc, req, *st);
  st->remaining = work.size() + 1;
  double bytes_in = 0;
  for (const auto& item : work) bytes_in += static_cast<double>(item.records.size);
  auto shared = state_;
  auto finish = [st, rc, acks, shared, bytes_in] {
    if (rc.version >= 10) endpoints_of(*shared->broker, rc.listener, st->leaders, st->resp.node_endpoints);
    // A producer over its byte rate: told how long to wait, and not read
    // from until then (KIP-219).
    const int64_t throttle = shared->throttle_for(rc, quota_meter::produce, bytes_in);
    st->resp.throttle_time_ms = static_cast<int32_t>(throttle);
    rc.reply->throttle(throttle);
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
  const std::string principal = "User:" + (rc.user.empty() ? std::string("ANONYMOUS") : rc.user);
  const adapter::produce_origin origin{principal, rc.client_id};
  for (const auto& item : work) {
    std::span<uint8_t> bytes(const_cast<uint8_t*>(item.records.data), item.records.size);  // our own frame buffer
    broker().produce(item.topic, item.partition, bytes, acks, req.timeout_ms, buf, origin,
                     [st, item, finish, shared, hints = rc.version >= 10](const adapter::produce_result& r) {
                       std::optional<std::pair<int32_t, int32_t>> leader;
                       if (hints && moved(r.code)) leader = leader_of(*shared->broker, item.topic, item.partition);
                       if (produced(*st, item, r, leader)) finish();
                     });
  }
  bool last = false;
  {
    std::lock_guard g(st->mu);
    last = --st->remaining == 0;
  }
  if (last) finish();
}

// The partitions a Fetch names, each with its topic resolved (v13+ by id).
std::vector<session_partition> connection::asked_partitions(const msg::fetch_request& req, bool by_id) const {
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
    if (err == 0 && !may_on_topic(adapter::acl_operation::read, name)) err = code(error::topic_authorization_failed);
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
  return asked;
}

// What a Fetch's session (KIP-227) makes of the partitions it asks for:
// the partitions to read into `f`, or the session error (0: none).
int16_t connection::use_fetch_session(const msg::fetch_request& req, bool by_id, std::vector<session_partition> asked,
                                      fetch_plan& f) {
  auto key_of = [by_id](const session_partition& sp) {
    return partition_key(by_id ? to_key(sp.topic_id) : sp.topic, sp.partition);
  };
  if (req.session_id == 0 && req.session_epoch == 0) {
    // A new session holding the asked partitions.
    std::map<partition_key, session_partition> m;
    for (auto& sp : asked) m[key_of(sp)] = sp;
    f.session_id = state_->sessions.create(std::move(m));
    f.parts = std::move(asked);
    return 0;
  }
  if (req.session_epoch == -1) {
    // A full fetch without a session (closing one if named).
    if (req.session_id != 0) state_->sessions.remove(req.session_id);
    f.parts = std::move(asked);
    return 0;
  }
  if (req.session_id == 0) return invalid_fetch_session_epoch;
  const int16_t err = state_->sessions.with(req.session_id, [&](fetch_session* s) -> int16_t {
    if (!s) return fetch_session_id_not_found;
    if (s->epoch != req.session_epoch) return invalid_fetch_session_epoch;
    s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
    s->used = std::chrono::steady_clock::now();
    for (const auto& forgotten : req.forgotten_topics_data)
      for (int32_t p : forgotten.partitions)
        s->partitions.erase(partition_key(by_id ? to_key(forgotten.topic_id) : forgotten.topic, p));
    for (auto& sp : asked) {
      auto& have = s->partitions[key_of(sp)];
      const int64_t hw = have.sent_hw, lso = have.sent_lso;
      have = sp;
      have.sent_hw = hw;
      have.sent_lso = lso;
    }
    for (const auto& [k, sp] : s->partitions) f.parts.push_back(sp);
    return 0;
  });
  if (err == 0) {
    f.session_id = req.session_id;
    f.incremental = true;
  }
  return err;
}

void connection::fetch(const request_context& rc, const msg::fetch_request& req) {
  const bool by_id = rc.version >= 13;
  auto plan = std::make_shared<fetch_plan>();
  plan->by_id = by_id;
  if (const int16_t err = use_fetch_session(req, by_id, asked_partitions(req, by_id), *plan); err != 0) {
    msg::fetch_response head;
    head.error_code = err;
    return rc.send(head);
  }
  adapter::fetch_request fr;
  fr.zero_copy = true;  // records go out with sendfile (read and encrypted on a TLS listener)
  fr.max_wait_ms = req.max_wait_ms;
  fr.min_bytes = req.min_bytes;
  fr.max_bytes = req.max_bytes;
  plan->slot.assign(plan->parts.size(), -1);
  for (size_t i = 0; i < plan->parts.size(); ++i) {
    const auto& sp = plan->parts[i];
    if (sp.error) continue;
    plan->slot[i] = static_cast<int>(fr.partitions.size());
    fr.partitions.push_back({sp.topic, sp.partition, sp.offset, sp.max_bytes, sp.leader_epoch});
  }
  broker().fetch(std::move(fr), [st = state_, rc, plan](std::vector<adapter::fetched_partition> got) {
    send_fetched(*st, rc, *plan, got);
  });
}

// Which partitions an incremental answer leaves out: those with nothing new
// since the session last sent them (no records, the same high watermark
// and log start). Records what is sent in the session.
std::vector<bool> connection::fetch_news(shared_state& st, const fetch_plan& f,
                                         std::vector<adapter::fetched_partition>& got) {
  std::vector<bool> include(f.parts.size(), true);
  if (f.session_id == 0) return include;
  st.sessions.with(f.session_id, [&](fetch_session* s) {
    for (size_t i = 0; i < f.parts.size(); ++i) {
      const auto* r = f.slot[i] < 0 ? nullptr : &got[static_cast<size_t>(f.slot[i])];
      session_partition* sp = nullptr;
      if (s) {
        auto it = s->partitions.find(
            partition_key(f.by_id ? to_key(f.parts[i].topic_id) : f.parts[i].topic, f.parts[i].partition));
        if (it != s->partitions.end()) sp = &it->second;
      }
      const int64_t hw = r ? r->high_watermark : -1, lso = r ? r->log_start_offset : -1;
      if (f.incremental && r && r->code == error::none && r->records.empty() && sp && sp->sent_hw == hw &&
          sp->sent_lso == lso)
        include[i] = false;
      if (sp) sp->sent_hw = hw, sp->sent_lso = lso;
    }
    return 0;
  });
  return include;
}

void connection::send_fetched(shared_state& st, const request_context& rc, const fetch_plan& f,
                              std::vector<adapter::fetched_partition>& got) {
  msg::fetch_response resp;
  resp.session_id = f.session_id;
  std::set<int32_t> leaders;
  std::vector<std::vector<adapter::file_range>> files;
  const auto include = fetch_news(st, f, got);
  for (size_t i = 0; i < f.parts.size(); ++i) {
    if (!include[i]) continue;
    const auto& sp = f.parts[i];
    if (resp.responses.empty() || resp.responses.back().topic != sp.topic ||
        resp.responses.back().topic_id != sp.topic_id) {
      auto& t = resp.responses.emplace_back();
      t.topic = sp.topic;
      t.topic_id = sp.topic_id;
    }
    auto& p = resp.responses.back().partitions.emplace_back();
    p.partition_index = sp.partition;
    p.aborted_transactions.emplace();
    if (f.slot[i] < 0) {
      p.error_code = sp.error;
      p.high_watermark = -1;
      continue;
    }
    auto& r = got[static_cast<size_t>(f.slot[i])];
    p.error_code = code(r.code);
    if (rc.version >= 12 && moved(r.code))
      if (auto leader = leader_of(*st.broker, sp.topic, sp.partition)) {
        p.current_leader.leader_id = leader->first;
        p.current_leader.leader_epoch = leader->second;
        leaders.insert(leader->first);
      }
    p.high_watermark = r.high_watermark;
    p.last_stable_offset = r.last_stable_offset;
    p.log_start_offset = r.log_start_offset;
    if (!r.files.empty()) {
      p.records = bytes_ref::spliced(static_cast<int32_t>(files.size()), r.size());
      files.push_back(std::move(r.files));
    } else {
      p.records = bytes_ref::of(r.records);
    }
  }
  if (rc.version >= 16) endpoints_of(*st.broker, rc.listener, leaders, resp.node_endpoints);
  // A consumer over its byte rate: the records still go (they are read
  // already), with the time to wait, and the connection is not read from
  // until then (KIP-219).
  double bytes = 0;
  for (const auto& r : got) bytes += static_cast<double>(r.size());
  const int64_t throttle = st.throttle_for(rc, quota_meter::fetch, bytes);
  resp.throttle_time_ms = static_cast<int32_t>(throttle);
  rc.reply->throttle(throttle);
  rc.send_spliced(resp, files);
}

void connection::list_offsets(const request_context& rc, const msg::list_offsets_request& req) {
  msg::list_offsets_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.name = t.name;
    const bool denied = !may_on_topic(adapter::acl_operation::describe, t.name);
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      if (denied) {
        rp.error_code = code(error::topic_authorization_failed);
        continue;
      }
      auto r = broker().list_offset(t.name, p.partition_index, p.timestamp);
      rp.error_code = code(r.code);
      rp.timestamp = r.timestamp;
      rp.offset = r.offset;
      rp.leader_epoch = r.leader_epoch;
    }
  }
  rc.send(resp);
}

void connection::offset_for_leader_epoch(const request_context& rc, const msg::offset_for_leader_epoch_request& req) {
  msg::offset_for_leader_epoch_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.topic = t.topic;
    const bool denied = !may_on_topic(adapter::acl_operation::describe, t.topic);
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition = p.partition;
      if (denied) {
        rp.error_code = code(error::topic_authorization_failed);
        continue;
      }
      auto r = broker().offset_for_leader_epoch(t.topic, p.partition, p.current_leader_epoch, p.leader_epoch);
      rp.error_code = code(r.code);
      rp.leader_epoch = r.leader_epoch;
      rp.end_offset = r.end_offset;
    }
  }
  rc.send(resp);
}

void connection::describe_producers(const request_context& rc, const msg::describe_producers_request& req) {
  msg::describe_producers_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.name = t.name;
    const bool denied = !may_on_topic(adapter::acl_operation::read, t.name);
    for (int32_t p : t.partition_indexes) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p;
      if (denied) {
        rp.error_code = code(error::topic_authorization_failed);
        continue;
      }
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

void connection::init_producer_id(const request_context& rc, const msg::init_producer_id_request& req) {
  msg::init_producer_id_response resp;
  if (req.transactional_id) {
    if (!may(adapter::acl_operation::write, adapter::acl_resource::transactional_id, *req.transactional_id)) {
      resp.error_code = code(error::transactional_id_authorization_failed);
      return rc.send(resp);
    }
    // Transactions need a transaction coordinator, which this broker does
    // not have yet (FindCoordinator is not advertised either).
    resp.error_code = code(error::coordinator_not_available);
    return rc.send(resp);
  }
  // An idempotent producer needs IDEMPOTENT_WRITE on the cluster, or WRITE
  // on some topic (KIP-679).
  if (!may_on_cluster(adapter::acl_operation::idempotent_write) &&
      !may_on_some(adapter::acl_operation::write, adapter::acl_resource::topic)) {
    resp.error_code = code(error::cluster_authorization_failed);
    return rc.send(resp);
  }
  adapter::broker::producer_identity id{req.producer_id, req.producer_epoch};
  auto o = broker().init_producer_id(id);
  resp.error_code = code(o.code);
  resp.producer_id = id.id;
  resp.producer_epoch = id.epoch;
  rc.send(resp);
}

std::vector<api_handler> data_apis() {
  return {
      {msg::produce_request_api_key, 3, 13, 9,
       [](connection& c, const request_context& rc, reader& r, const frame_ptr& frame) {
         c.produce(rc, decode<msg::produce_request>(r, rc.version), frame);
       }},
      {msg::fetch_request_api_key, 4, 18, 12, answer_now<msg::fetch_request, &connection::fetch>},
      {msg::list_offsets_request_api_key, 1, 11, 6, answer_now<msg::list_offsets_request, &connection::list_offsets>},
      {msg::offset_for_leader_epoch_request_api_key, 2, 4, 4,
       answer_now<msg::offset_for_leader_epoch_request, &connection::offset_for_leader_epoch>},
      {msg::init_producer_id_request_api_key, 0, 5, 2,
       answer_on_admin_thread<msg::init_producer_id_request, &connection::init_producer_id>},
      {msg::describe_producers_request_api_key, 0, 0, 0,
       answer_now<msg::describe_producers_request, &connection::describe_producers>},
  };
}

}  // namespace mosaic::kafka
