// The share group family (KIP-932): ShareGroupHeartbeat, ShareGroupDescribe,
// ShareFetch, ShareAcknowledge and the share group offsets APIs, translated
// to the share manager API (sdk/include/mosaic/adapter/shares.h). Without a
// share manager they are answered COORDINATOR_NOT_AVAILABLE.
#include "plugins/protocol_kafka/adapter/connection.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mosaic::kafka {

namespace {

using adapter::error;

template <class Batch>
std::vector<adapter::share_ack_batch> ack_batches(const std::vector<Batch>& in) {
  std::vector<adapter::share_ack_batch> out;
  out.reserve(in.size());
  for (const auto& b : in) {
    adapter::share_ack_batch a;
    a.first_offset = b.first_offset;
    a.last_offset = b.last_offset;
    a.types.reserve(b.acknowledge_types.size());
    for (int8_t t : b.acknowledge_types) a.types.push_back(static_cast<uint8_t>(t));
    out.push_back(std::move(a));
  }
  return out;
}

using adapter::acl_operation;

// The share APIs' authorization: READ on the group to be a member, fetch
// and acknowledge; DESCRIBE to describe it and its offsets; DELETE to
// delete its offsets; READ on each topic fetched or acknowledged
// (refused_group: connection.h).

// The partitions of topics (by id) the principal may not read, answered
// TOPIC_AUTHORIZATION_FAILED beside the share manager's answer.
struct refused_topics {
  std::vector<std::pair<adapter::uuid, int32_t>> partitions;
  std::set<adapter::uuid> ids;
  template <class Topics>
  refused_topics(const connection& c, const Topics& topics) {
    for (const auto& t : topics) {
      auto info = c.broker().find_topic(adapter::uuid(t.topic_id));
      if (!info || c.may_on_topic(acl_operation::read, info->name)) continue;
      ids.insert(adapter::uuid(t.topic_id));
      for (const auto& p : t.partitions) partitions.emplace_back(adapter::uuid(t.topic_id), p.partition_index);
    }
  }
  bool has(const uuid& id) const { return ids.count(adapter::uuid(id)) > 0; }
  template <class Response>
  void answer(Response& resp) const {
    for (const auto& [id, partition] : partitions) {
      auto& t = resp.responses.emplace_back();
      t.topic_id = id;
      auto& out = t.partitions.emplace_back();
      out.partition_index = partition;
      out.error_code = code(error::topic_authorization_failed);
    }
  }
};

// ---- ShareGroupHeartbeat, ShareGroupDescribe ----

void share_group_heartbeat(const request_context& rc, const msg::share_group_heartbeat_request& req,
                           adapter::share_groups& shares, const adapter::peer& peer, const connection& c) {
  if (refused_member<msg::share_group_heartbeat_response>(c, rc, req.group_id, req.subscribed_topic_names)) return;
  adapter::share_heartbeat_request h;
  h.group_id = req.group_id;
  h.member_id = req.member_id;
  h.member_epoch = req.member_epoch;
  h.rack = req.rack_id;
  h.subscribed_topic_names = req.subscribed_topic_names;
  h.client = {rc.client_id, client_host(peer)};
  shares.heartbeat(std::move(h), [rc](adapter::share_heartbeat_result r) {
    msg::share_group_heartbeat_response resp;
    fill_heartbeat(resp, r);
    rc.send(resp);
  });
}

void share_group_describe(const request_context& rc, const msg::share_group_describe_request& req,
                          adapter::share_groups& shares, adapter::broker& broker, const connection& c) {
  std::vector<std::string> allowed, denied;
  for (const auto& id : req.group_ids) (c.may_on_group(acl_operation::describe, id) ? allowed : denied).push_back(id);
  shares.describe(allowed, [rc, &broker, denied, self = c.shared_from_this(), ops = req.include_authorized_operations](
                               const std::vector<adapter::share_group_description>& ds) {
    msg::share_group_describe_response resp;
    for (const auto& id : denied) {
      auto& g = resp.groups.emplace_back();
      g.group_id = id;
      g.error_code = code(error::group_authorization_failed);
    }
    for (const auto& d : ds) {
      auto& g = resp.groups.emplace_back();
      fill_group_header(g, d, false);
      if (ops && d.code == error::none) g.authorized_operations = self->group_operations(d.group_id);
      for (const auto& m : d.members) {
        auto& om = g.members.emplace_back();
        fill_group_member(om, m);
        fill_assignment(om.assignment, m.assignment, broker);
      }
    }
    rc.send(resp);
  });
}

// ---- ShareFetch, ShareAcknowledge ----

void share_fetch(const request_context& rc, const msg::share_fetch_request& req, adapter::share_groups& shares,
                 adapter::broker& broker, const connection& c) {
  if (!req.group_id || !req.member_id || req.member_id->empty()) {
    msg::share_fetch_response resp;
    resp.error_code = code(error::invalid_request);
    resp.error_message = "GroupId and MemberId are required";
    return rc.send(resp);
  }
  if (refused_group<msg::share_fetch_response>(c, rc, *req.group_id, acl_operation::read)) return;
  auto refused = std::make_shared<const refused_topics>(c, req.topics);
  adapter::share_fetch_request f;
  f.group_id = *req.group_id;
  f.member_id = *req.member_id;
  f.session_epoch = req.share_session_epoch;
  f.max_wait_ms = req.max_wait_ms;
  f.min_bytes = req.min_bytes;
  f.max_bytes = std::max(req.max_bytes, 0);  // 0: acknowledge only, acquire nothing
  f.max_records = req.max_records;
  f.renew = req.is_renew_ack;
  for (const auto& t : req.topics)
    if (!refused->has(t.topic_id))
      for (const auto& p : t.partitions)
        f.partitions.push_back({t.topic_id, p.partition_index, ack_batches(p.acknowledgement_batches)});
  for (const auto& t : req.forgotten_topics_data) f.forgotten.push_back({t.topic_id, t.partitions});
  shares.fetch(std::move(f), [rc, &broker, refused](adapter::share_fetch_result r) {
    // The records stay alive until the response is encoded.
    auto result = std::make_shared<adapter::share_fetch_result>(std::move(r));
    msg::share_fetch_response resp;
    resp.error_code = code(result->code);
    if (!result->message.empty()) resp.error_message = result->message;
    resp.acquisition_lock_timeout_ms = result->lock_timeout_ms;
    std::map<adapter::uuid, size_t> topic_index;
    for (const auto& p : result->partitions) {
      auto [it, fresh] = topic_index.emplace(p.topic_id, resp.responses.size());
      if (fresh) resp.responses.emplace_back().topic_id = p.topic_id;
      auto& out = resp.responses[it->second].partitions.emplace_back();
      out.partition_index = p.partition;
      out.error_code = code(p.code);
      if (!p.message.empty()) out.error_message = p.message;
      out.acknowledge_error_code = code(p.ack_code);
      if (!p.ack_message.empty()) out.acknowledge_error_message = p.ack_message;
      out.current_leader.leader_id = broker.node_id();
      out.current_leader.leader_epoch = 0;
      out.records = bytes_ref::of(p.records);
      for (const auto& a : p.acquired)
        out.acquired_records.push_back({a.first_offset, a.last_offset, a.delivery_count, {}});
    }
    refused->answer(resp);
    rc.send(resp);
  });
}

void share_acknowledge(const request_context& rc, const msg::share_acknowledge_request& req,
                       adapter::share_groups& shares, adapter::broker& broker, const connection& c) {
  if (!req.group_id || !req.member_id || req.member_id->empty()) {
    msg::share_acknowledge_response resp;
    resp.error_code = code(error::invalid_request);
    resp.error_message = "GroupId and MemberId are required";
    return rc.send(resp);
  }
  if (refused_group<msg::share_acknowledge_response>(c, rc, *req.group_id, acl_operation::read)) return;
  auto refused = std::make_shared<const refused_topics>(c, req.topics);
  adapter::share_ack_request a;
  a.group_id = *req.group_id;
  a.member_id = *req.member_id;
  a.session_epoch = req.share_session_epoch;
  a.renew = req.is_renew_ack;
  for (const auto& t : req.topics)
    if (!refused->has(t.topic_id))
      for (const auto& p : t.partitions)
        a.partitions.push_back({t.topic_id, p.partition_index, ack_batches(p.acknowledgement_batches)});
  shares.acknowledge(std::move(a), [rc, &broker, refused](const adapter::share_ack_result& r) {
    msg::share_acknowledge_response resp;
    resp.error_code = code(r.code);
    if (!r.message.empty()) resp.error_message = r.message;
    resp.acquisition_lock_timeout_ms = r.lock_timeout_ms;
    std::map<adapter::uuid, size_t> topic_index;
    for (const auto& p : r.partitions) {
      auto [it, fresh] = topic_index.emplace(p.topic_id, resp.responses.size());
      if (fresh) resp.responses.emplace_back().topic_id = p.topic_id;
      auto& out = resp.responses[it->second].partitions.emplace_back();
      out.partition_index = p.partition;
      out.error_code = code(p.code);
      if (!p.message.empty()) out.error_message = p.message;
      out.current_leader.leader_id = broker.node_id();
    }
    refused->answer(resp);
    rc.send(resp);
  });
}

// ---- offsets ----

// Mosaic's own tagged field on DescribeShareGroupOffsets' partitions: the
// end offset and the in-flight records by state, five big-endian int64s
// (`mosaic share describe` shows them; other clients skip unknown tags).
constexpr uint32_t share_counts_tag = 0x4d53;

std::vector<uint8_t> counts(const adapter::share_partition_offsets& p) {
  std::vector<uint8_t> out;
  for (int64_t v : {p.end_offset, p.available, p.acquired, p.acknowledged, p.archived})
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> shift));
  return out;
}

void describe_share_group_offsets(const request_context& rc, const msg::describe_share_group_offsets_request& req,
                                  adapter::share_groups& shares, adapter::broker& broker, const connection& c) {
  std::vector<adapter::share_offsets_request> reqs;
  std::vector<std::string> denied;
  for (const auto& g : req.groups) {
    if (!c.may_on_group(acl_operation::describe, g.group_id)) {
      denied.push_back(g.group_id);
      continue;
    }
    auto& r = reqs.emplace_back();
    r.group_id = g.group_id;
    if (g.topics) {
      r.topics.emplace();
      for (const auto& t : *g.topics) r.topics->emplace_back(t.topic_name, t.partitions);
    }
  }
  shares.describe_offsets(std::move(reqs), [rc, &broker, denied](const std::vector<adapter::share_offsets_result>& rs) {
    msg::describe_share_group_offsets_response resp;
    for (const auto& id : denied) {
      auto& g = resp.groups.emplace_back();
      g.group_id = id;
      g.error_code = code(error::group_authorization_failed);
    }
    for (const auto& r : rs) {
      auto& g = resp.groups.emplace_back();
      g.group_id = r.group_id;
      g.error_code = code(r.code);
      if (!r.message.empty()) g.error_message = r.message;
      std::map<std::string, size_t> topic_index;
      for (const auto& p : r.partitions) {
        auto [it, fresh] = topic_index.emplace(p.topic, g.topics.size());
        if (fresh) {
          auto& t = g.topics.emplace_back();
          t.topic_name = p.topic;
          if (auto info = broker.find_topic(p.topic)) t.topic_id = info->id;
        }
        auto& out = g.topics[it->second].partitions.emplace_back();
        out.partition_index = p.partition;
        out.start_offset = p.start_offset;
        out.leader_epoch = 0;
        out.lag = p.lag;
        out.error_code = code(p.code);
        if (!p.message.empty()) out.error_message = p.message;
        if (p.end_offset >= 0) out.unknown_tags.push_back({share_counts_tag, counts(p)});
      }
    }
    rc.send(resp);
  });
}

void alter_share_group_offsets(const request_context& rc, const msg::alter_share_group_offsets_request& req,
                               adapter::share_groups& shares, adapter::broker& broker, const connection& c) {
  if (refused_group<msg::alter_share_group_offsets_response>(c, rc, req.group_id, acl_operation::read)) return;
  for (const auto& t : req.topics)
    if (!c.may_on_topic(acl_operation::read, t.topic_name)) {
      msg::alter_share_group_offsets_response resp;
      resp.error_code = code(error::topic_authorization_failed);
      resp.error_message = "Altering offsets needs READ on topic " + t.topic_name;
      return rc.send(resp);
    }
  std::vector<adapter::share_partition_offsets> offsets;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions) {
      adapter::share_partition_offsets o;
      o.topic = t.topic_name;
      o.partition = p.partition_index;
      o.start_offset = p.start_offset;
      offsets.push_back(std::move(o));
    }
  shares.alter_offsets(req.group_id, std::move(offsets), [rc, &broker](const adapter::share_offsets_result& r) {
    msg::alter_share_group_offsets_response resp;
    resp.error_code = code(r.code);
    if (!r.message.empty()) resp.error_message = r.message;
    std::map<std::string, size_t> topic_index;
    for (const auto& p : r.partitions) {
      auto [it, fresh] = topic_index.emplace(p.topic, resp.responses.size());
      if (fresh) {
        auto& t = resp.responses.emplace_back();
        t.topic_name = p.topic;
        if (auto info = broker.find_topic(p.topic)) t.topic_id = info->id;
      }
      auto& out = resp.responses[it->second].partitions.emplace_back();
      out.partition_index = p.partition;
      out.error_code = code(p.code);
    }
    rc.send(resp);
  });
}

void delete_share_group_offsets(const request_context& rc, const msg::delete_share_group_offsets_request& req,
                                adapter::share_groups& shares, adapter::broker& broker, const connection& c) {
  if (refused_group<msg::delete_share_group_offsets_response>(c, rc, req.group_id, acl_operation::remove)) return;
  std::vector<std::string> topics;
  for (const auto& t : req.topics) topics.push_back(t.topic_name);
  shares.delete_offsets(req.group_id, std::move(topics),
                        [rc, &broker](error e, const std::vector<std::pair<std::string, error>>& per_topic) {
                          msg::delete_share_group_offsets_response resp;
                          resp.error_code = code(e);
                          for (const auto& [name, err] : per_topic) {
                            auto& t = resp.responses.emplace_back();
                            t.topic_name = name;
                            if (auto info = broker.find_topic(name)) t.topic_id = info->id;
                            t.error_code = code(err);
                          }
                          rc.send(resp);
                        });
}

void unavailable(const request_context& rc) {
  const auto e = error::coordinator_not_available;
  switch (rc.key) {
    case msg::share_group_heartbeat_request_api_key: return send_error<msg::share_group_heartbeat_response>(rc, e);
    case msg::share_fetch_request_api_key: return send_error<msg::share_fetch_response>(rc, e);
    case msg::share_acknowledge_request_api_key: return send_error<msg::share_acknowledge_response>(rc, e);
    default: return rc.reply->close();
  }
}

// Rows of the share group APIs: answered COORDINATOR_NOT_AVAILABLE
// without a share manager.
template <class Request, void (*Answer)(const request_context&, const Request&, adapter::share_groups&,
                                        adapter::broker&, const connection&)>
void with_shares(connection& c, const request_context& rc, reader& r, const frame_ptr&) {
  if (c.shares() == nullptr) return unavailable(rc);
  Answer(rc, decode<Request>(r, rc.version), *c.shares(), c.broker(), c);
}

}  // namespace

std::vector<api_handler> share_apis() {
  return {
      {msg::share_group_heartbeat_request_api_key, 1, 1, 0,
       [](connection& c, const request_context& rc, reader& r, const frame_ptr&) {
         if (c.shares() == nullptr) return unavailable(rc);
         share_group_heartbeat(rc, decode<msg::share_group_heartbeat_request>(r, rc.version), *c.shares(), c.peer(), c);
       }},
      {msg::share_group_describe_request_api_key, 1, 1, 0,
       with_shares<msg::share_group_describe_request, share_group_describe>},
      {msg::share_fetch_request_api_key, 1, 2, 0, with_shares<msg::share_fetch_request, share_fetch>},
      {msg::share_acknowledge_request_api_key, 1, 2, 0, with_shares<msg::share_acknowledge_request, share_acknowledge>},
      {msg::describe_share_group_offsets_request_api_key, 0, 1, 0,
       with_shares<msg::describe_share_group_offsets_request, describe_share_group_offsets>},
      {msg::alter_share_group_offsets_request_api_key, 0, 0, 0,
       with_shares<msg::alter_share_group_offsets_request, alter_share_group_offsets>},
      {msg::delete_share_group_offsets_request_api_key, 0, 0, 0,
       with_shares<msg::delete_share_group_offsets_request, delete_share_group_offsets>},
  };
}

}  // namespace mosaic::kafka
