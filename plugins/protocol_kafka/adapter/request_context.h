// One Kafka request being answered, with what is needed to write its
// response from any thread: shared by the adapter's handlers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kafka_messages.h"
#include "mosaic/adapter/adapter.h"
#include "mosaic/adapter/broker.h"
#include "mosaic/adapter/groups.h"

namespace mosaic::kafka {

// Authorized operations as Kafka answers them (bits by AclOperation code)
// when no authorizer is configured: every operation on the resource. With
// ACLs these become the caller's own set.
namespace operations {
constexpr int32_t bit(int op) { return int32_t{1} << op; }
enum : int { read = 3, write = 4, create = 5, remove = 6, alter = 7, describe = 8, cluster_action = 9 };
enum : int { describe_configs = 10, alter_configs = 11, idempotent_write = 12 };
constexpr int32_t topic = bit(read) | bit(write) | bit(create) | bit(remove) | bit(alter) | bit(describe) |
                          bit(describe_configs) | bit(alter_configs);
constexpr int32_t cluster = bit(create) | bit(cluster_action) | bit(describe_configs) | bit(alter_configs) |
                            bit(idempotent_write) | bit(alter) | bit(describe);
constexpr int32_t group = bit(read) | bit(describe) | bit(remove);
}  // namespace operations

// One request being answered: enough to write its response from any thread.
struct request_context {
  int16_t key = 0;
  int16_t version = 0;
  int32_t correlation = 0;
  bool flexible = false;
  std::string client_id;
  std::string user;      // the connection's principal's name (quotas are per user and client id)
  std::string listener;  // the name of the listener it came in on (other brokers' addresses are on theirs)
  // The client's quotas, looked up once as the request arrives.
  adapter::broker::client_quotas quotas;
  // A client over its request_percentage quota: the wait every response
  // with a throttle_time_ms field says (at least), KIP-219.
  int32_t throttle_ms = 0;
  std::shared_ptr<adapter::responder> reply;

  template <class Response>
  void send(const Response& resp) const {
    reply->respond(encoded(resp));
  }
  // The same, then the connection closes.
  template <class Response>
  void send_then_close(const Response& resp) const {
    reply->respond_then_close(adapter::response{encoded(resp), {}});
  }
  template <class Response>
  std::vector<uint8_t> encoded(const Response& resp) const {
    if constexpr (requires { resp.throttle_time_ms; })
      if (throttle_ms > resp.throttle_time_ms) {
        Response told = resp;
        told.throttle_time_ms = throttle_ms;
        return encoded_as_is(told);
      }
    return encoded_as_is(resp);
  }
  template <class Response>
  std::vector<uint8_t> encoded_as_is(const Response& resp) const {
    std::vector<uint8_t> out;
    writer w(out);
    write_header(w);
    resp.encode(w, version);
    return out;
  }

  void write_header(writer& w) const {
    msg::response_header rh;
    rh.correlation_id = correlation;
    // ApiVersions responses always use header v0 (KIP-511).
    rh.encode(w, flexible && key != msg::api_versions_request_api_key ? 1 : 0);
  }

  // The same, for a response whose records fields are spliced file ranges:
  // `files[id]` are the ranges of the field encoded with splice id `id`.
  template <class Response>
  void send_spliced(const Response& resp, std::vector<std::vector<adapter::file_range>>& files) const {
    adapter::response out;
    std::vector<std::pair<size_t, int32_t>> splices;
    writer w(out.bytes);
    w.note_splices(&splices);
    write_header(w);
    resp.encode(w, version);
    for (const auto& [at, id] : splices)
      for (auto& range : files[static_cast<size_t>(id)]) out.files.push_back({at, std::move(range)});
    reply->respond(std::move(out));
  }
};

// A Kafka error code as the wire carries it.
constexpr int16_t code(adapter::error e) { return static_cast<int16_t>(e); }

// Answers with a response that carries only a top-level error code.
template <class Response>
void send_error(const request_context& rc, adapter::error e) {
  Response resp;
  resp.error_code = code(e);
  rc.send(resp);
}

// Decodes a request body of `version`.
template <class Request>
Request decode(reader& r, int16_t version) {
  Request req;
  req.decode(r, version);
  return req;
}

// The client's address without the port, as Kafka's group descriptions show it.
inline std::string client_host(const adapter::peer& peer) {
  const auto colon = peer.address.rfind(':');
  return "/" + (colon == std::string::npos ? peer.address : peer.address.substr(0, colon));
}

// Fills a ConsumerGroupHeartbeat or ShareGroupHeartbeat response from the
// coordinator's answer: the error, the member's id and epoch, the interval,
// and the assignment when it changed.
template <class Response>
void fill_heartbeat(Response& resp, adapter::consumer_heartbeat_result& r) {
  resp.error_code = code(r.code);
  if (!r.message.empty()) resp.error_message = r.message;
  if (!r.member_id.empty()) resp.member_id = r.member_id;
  resp.member_epoch = r.member_epoch;
  resp.heartbeat_interval_ms = r.heartbeat_interval_ms;
  if (r.code == adapter::error::none && r.assignment) {
    resp.assignment.emplace();
    for (auto& tp : *r.assignment) {
      auto& out = resp.assignment->topic_partitions.emplace_back();
      out.topic_id = tp.topic_id;
      out.partitions = std::move(tp.partitions);
    }
  }
}

// The parts a ConsumerGroupDescribe and a ShareGroupDescribe response have
// in common: a described group's header, a member's identity and
// subscription, and an assignment with topic names beside the ids.
// `with_operations`: the request asked for the authorized operations.
template <class Out, class Description>
void fill_group_header(Out& g, const Description& d, bool with_operations) {
  g.error_code = code(d.code);
  if (with_operations && d.code == adapter::error::none) g.authorized_operations = operations::group;
  if (!d.message.empty()) g.error_message = d.message;
  g.group_id = d.group_id;
  g.group_state = d.state;
  g.group_epoch = d.epoch;
  g.assignment_epoch = d.assignment_epoch;
  g.assignor_name = d.assignor;
}

template <class Out, class Member>
void fill_group_member(Out& om, const Member& m) {
  om.member_id = m.member_id;
  om.rack_id = m.rack;
  om.member_epoch = m.member_epoch;
  om.client_id = m.client.client_id;
  om.client_host = m.client.client_host;
  om.subscribed_topic_names = m.subscribed_topic_names;
}

template <class Out>
void fill_assignment(Out& out, const std::vector<adapter::topic_partitions>& in, const adapter::broker& broker) {
  for (const auto& tp : in) {
    auto& o = out.topic_partitions.emplace_back();
    o.topic_id = tp.topic_id;
    auto t = broker.find_topic(tp.topic_id);
    o.topic_name = t ? t->name : "";
    o.partitions = tp.partitions;
  }
}

}  // namespace mosaic::kafka
