// A connection of the Kafka adapter: its request handling, shared by the
// adapter's files, one per family of APIs (cluster_api.cc, data_api.cc,
// admin_api.cc, group_api.cc, share_api.cc), each with the rows it serves
// in the one table of APIs (api_handlers(), kafka_adapter.cc) from which
// both dispatch and ApiVersions are made. Not for use outside the adapter.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kafka_messages.h"
#include "mosaic/adapter/groups.h"
#include "mosaic/adapter/security.h"
#include "mosaic/adapter/shares.h"
#include "mosaic/sdk/delay_queue.h"
#include "mosaic/sdk/task_queue.h"
#include "plugins/protocol_kafka/adapter/fetch_sessions.h"
#include "plugins/protocol_kafka/adapter/kafka_adapter.h"
#include "plugins/protocol_kafka/adapter/quota_meter.h"
#include "plugins/protocol_kafka/adapter/request_context.h"

namespace mosaic::kafka {

using adapter::error;

// Administrative requests wait on the metadata log's fsync: they run on
// one worker of their own, one at a time, off the network threads.
using admin_worker = sdk::task_queue;

struct shared_state {
  adapter::broker* broker = nullptr;
  adapter::group_coordinator* groups = nullptr;
  adapter::share_groups* shares = nullptr;
  adapter::client_telemetry* telemetry = nullptr;
  adapter::plugin_admin* plugin_swaps = nullptr;  // the node's cluster swaps (MosaicPlugins), or none
  session_cache sessions;
  admin_worker* admin = nullptr;  // owned by the adapter, which outlives every connection
  // The listener's security; with SASL, the worker that steps
  // authentications (a password hash takes milliseconds) and the queue
  // that answers failed ones late.
  adapter::listener_security security;
  sdk::task_queue* auth = nullptr;
  sdk::delay_queue* delays = nullptr;
  std::atomic<uint64_t> auth_successes{0}, auth_failures{0};
  std::function<void(adapter::log_level, const std::string&)> log_to;
  quota_meter quotas;  // byte rates and request time per (user, client id)
  // The throttle `amount` (bytes, or milliseconds of a request thread)
  // earns the request's client under the quotas looked up for it (0
  // without one).
  int64_t throttle_for(const request_context& rc, quota_meter::kind k, double amount) {
    const auto& q = rc.quotas;
    std::optional<double> limit = k == quota_meter::produce ? q.producer_byte_rate
                                  : k == quota_meter::fetch ? q.consumer_byte_rate
                                                            : q.request_percentage;
    if (k == quota_meter::request && limit) *limit *= 10.0;  // p% of a thread: p x 10 ms a second
    return limit ? quotas.record(rc.user, rc.client_id, k, amount, *limit) : 0;
  }
  void log(adapter::log_level level, const std::string& message) const {
    if (log_to) log_to(level, message);
  }
};

class connection;
using frame_ptr = std::shared_ptr<std::vector<uint8_t>>;

// One API the adapter serves: the versions it is served at (Kafka 4.2's
// ranges; the first flexible version is checked against the schemas in the
// tests) and how a request is answered (`frame` holds the request's bytes:
// Produce appends from them).
struct api_handler {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible;
  void (*answer)(connection& c, const request_context& rc, reader& r, const frame_ptr& frame);
};

// Each family's rows; api_handlers() is all of them, by key.
std::vector<api_handler> cluster_apis();
std::vector<api_handler> data_apis();
std::vector<api_handler> admin_apis();
std::vector<api_handler> group_apis();
std::vector<api_handler> acl_apis();
std::vector<api_handler> quota_apis();
std::vector<api_handler> telemetry_apis();
std::vector<api_handler> share_apis();
std::vector<api_handler> sasl_apis();
std::vector<api_handler> plugin_apis();
const std::vector<api_handler>& api_handlers();

// A connection's request handling. Shared so that work finishing after the
// connection closed (admin requests, long polls) still has what it uses.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(std::shared_ptr<shared_state> state, adapter::peer peer)
      : state_(std::move(state)), peer_(std::move(peer)), host_(address_of(peer_)) {
    // On an SSL listener the client's certificate names the principal (a
    // SASL_SSL listener's SASL authentication names it again).
    if (!peer_.tls_principal.empty()) principal_.name = peer_.tls_principal;
  }

  // Reads one request frame and answers it through its row of the table.
  void on_frame(std::vector<uint8_t> frame, const std::shared_ptr<adapter::responder>& reply);

  // Decodes a request now and answers it on the admin thread. The
  // connection may be gone by then: the task keeps this connection alive.
  template <class Request>
  void on_admin_thread(const request_context& rc, reader& r,
                       void (connection::*answer)(const request_context&, const Request&));

  // Runs `task` on the admin thread; a task that throws (a bug) costs its
  // own connection.
  template <class Task>
  void on_admin_thread_with(const request_context& rc, Task task) {
    state_->admin->post([rc, task = std::move(task)]() mutable {
      try {
        task();
      } catch (const std::exception&) {
        rc.reply->close();
      }
    });
  }

  adapter::broker& broker() const { return *state_->broker; }
  adapter::group_coordinator* groups() const { return state_->groups; }
  adapter::share_groups* shares() const { return state_->shares; }
  const adapter::peer& peer() const { return peer_; }
  // A ConsumerGroupHeartbeat is about to go to the coordinator: its hold id
  // (0 without a coordinator), released when this connection sends the
  // next request, since responses go back in request order.
  uint64_t hold_heartbeat();

  // The APIs this connection's broker serves: every row of the table but
  // the telemetry APIs when no client metric is asked for (as Kafka, which
  // advertises them only with a telemetry receiver).
  void fill_versions(msg::api_versions_response& resp) const;
  bool serves(int16_t api_key) const;

  // ---- SASL (sasl_api.cc) ----

  // Whether a request with this key may be served now: on a SASL listener,
  // only ApiVersions, SaslHandshake and SaslAuthenticate before the client
  // has authenticated, and after its session expired (KIP-368).
  bool admits(int16_t api_key) const;
  // After a SaslHandshake v0 the client's next frame is a bare SASL token.
  bool expects_raw_token() const;
  void sasl_raw_token(std::vector<uint8_t> frame, const std::shared_ptr<adapter::responder>& reply);
  void sasl_handshake(const request_context& rc, const msg::sasl_handshake_request& req);
  void sasl_authenticate(const request_context& rc, const msg::sasl_authenticate_request& req);
  void describe_scram(const request_context& rc, const msg::describe_user_scram_credentials_request& req);
  void alter_scram(const request_context& rc, const msg::alter_user_scram_credentials_request& req);
  // The largest frame this connection may send now.
  size_t max_frame_bytes() const;
  const adapter::principal& principal() const { return principal_; }

  // ---- Authorization (acl_api.cc) ----

  // Whether this connection's principal may do `op` on the resource (with
  // no authorizer, anything).
  bool may(adapter::acl_operation op, adapter::acl_resource type, std::string_view name) const {
    const auto& a = state_->security.authz;
    return !a || a->allowed(principal_, host_, op, type, name);
  }
  bool may_on_topic(adapter::acl_operation op, std::string_view topic) const {
    return may(op, adapter::acl_resource::topic, topic);
  }
  bool may_on_group(adapter::acl_operation op, std::string_view group) const {
    return may(op, adapter::acl_resource::group, group);
  }
  bool may_on_cluster(adapter::acl_operation op) const {
    return may(op, adapter::acl_resource::cluster, adapter::cluster_resource_name);
  }
  // Whether it may do `op` on some resource of the type.
  bool may_on_some(adapter::acl_operation op, adapter::acl_resource type) const {
    const auto& a = state_->security.authz;
    return !a || a->allowed_on_some(principal_, host_, op, type);
  }
  bool authorizing() const { return state_->security.authz != nullptr; }
  // Kafka's authorized_operations bits for a resource.
  int32_t operations_on(adapter::acl_resource type, std::string_view name,
                        std::initializer_list<adapter::acl_operation> ops, int32_t without_authorizer) const {
    const auto& a = state_->security.authz;
    return a ? a->authorized_operations(principal_, host_, type, name, ops) : without_authorizer;
  }
  int32_t topic_operations(std::string_view topic) const {
    using op = adapter::acl_operation;
    return operations_on(
        adapter::acl_resource::topic, topic,
        {op::read, op::write, op::create, op::remove, op::alter, op::describe, op::describe_configs, op::alter_configs},
        operations::topic);
  }
  int32_t group_operations(std::string_view group) const {
    using op = adapter::acl_operation;
    return operations_on(adapter::acl_resource::group, group, {op::read, op::describe, op::remove}, operations::group);
  }
  int32_t cluster_operations() const {
    using op = adapter::acl_operation;
    return operations_on(adapter::acl_resource::cluster, adapter::cluster_resource_name,
                         {op::create, op::cluster_action, op::describe_configs, op::alter_configs, op::idempotent_write,
                          op::alter, op::describe},
                         operations::cluster);
  }
  // The client's address without its port (ACL host patterns match it).
  static std::string address_of(const adapter::peer& p);
  void create_acls(const request_context& rc, const msg::create_acls_request& req);
  void describe_acls(const request_context& rc, const msg::describe_acls_request& req);
  void delete_acls(const request_context& rc, const msg::delete_acls_request& req);
  void describe_client_quotas(const request_context& rc, const msg::describe_client_quotas_request& req);
  void alter_client_quotas(const request_context& rc, const msg::alter_client_quotas_request& req);
  // plugin_api.cc
  void mosaic_plugins(const request_context& rc, const msg::mosaic_plugins_request& req);
  // telemetry_api.cc
  void get_telemetry_subscriptions(const request_context& rc, const msg::get_telemetry_subscriptions_request& req);
  void push_telemetry(const request_context& rc, const msg::push_telemetry_request& req);

  // ---- Metadata ----

  static void fill_topic(msg::metadata_response_metadata_response_topic& out, const adapter::topic_info& t);

  // A partition as Metadata and DescribeTopicPartitions show it.
  template <class Out>
  static void fill_partition(Out& op, const adapter::partition_info& p);

  void metadata(const request_context& rc, const msg::metadata_request& req);

  // The cluster's brokers: this one as the client reached it, the others as
  // they registered in the metadata.
  // Fenced brokers are left out, as Kafka leaves them out.
  template <class F>
  void each_broker(F add) const;

  void metadata_now(const request_context& rc, const msg::metadata_request& req, bool create);

  // ---- Produce ----

  struct produce_state {
    std::mutex mu;
    msg::produce_response resp;
    size_t remaining = 0;
    std::set<int32_t> leaders;  // named in KIP-951 hints: their endpoints go in the answer
  };
  // One partition's records to append, and where its answer goes.
  struct produce_item {
    size_t ti = 0, pi = 0;  // topic and partition index in the answer
    std::string topic;
    int32_t partition = 0;
    bytes_ref records;
  };
  std::vector<produce_item> plan_produce(const request_context& rc, const msg::produce_request& req,
                                         produce_state& st) const;
  static bool produced(produce_state& st, const produce_item& item, const adapter::produce_result& r,
                       const std::optional<std::pair<int32_t, int32_t>>& leader);

  // KIP-951: a partition refused for leadership names its current leader,
  // so the client need not wait for a Metadata round trip.
  static bool moved(error e) { return e == error::not_leader_or_follower || e == error::fenced_leader_epoch; }
  static std::optional<std::pair<int32_t, int32_t>> leader_of(adapter::broker& b, const std::string& topic,
                                                              int32_t partition);
  template <class Endpoint>
  static void endpoints_of(adapter::broker& b, const std::string& listener, const std::set<int32_t>& ids,
                           std::vector<Endpoint>& out);

  void produce(const request_context& rc, const msg::produce_request& req,
               const std::shared_ptr<std::vector<uint8_t>>& buf);

  // ---- Fetch ----

  void fetch(const request_context& rc, const msg::fetch_request& req);
  // A Fetch under way: the partitions read, where each one's result is in
  // the broker's answer (-1: none, it failed before), and its session.
  struct fetch_plan {
    bool by_id = false;
    int32_t session_id = 0;
    bool incremental = false;
    std::vector<session_partition> parts;
    std::vector<int> slot;
  };
  std::vector<session_partition> asked_partitions(const msg::fetch_request& req, bool by_id) const;
  int16_t use_fetch_session(const msg::fetch_request& req, bool by_id, std::vector<session_partition> asked,
                            fetch_plan& f);
  static std::vector<bool> fetch_news(shared_state& st, const fetch_plan& f,
                                      std::vector<adapter::fetched_partition>& got);
  static void send_fetched(shared_state& st, const request_context& rc, const fetch_plan& f,
                           std::vector<adapter::fetched_partition>& got);

  static std::string to_key(const uuid& id) { return std::string(id.begin(), id.end()); }

  // ---- ListOffsets ----

  void list_offsets(const request_context& rc, const msg::list_offsets_request& req);

  void offset_for_leader_epoch(const request_context& rc, const msg::offset_for_leader_epoch_request& req);

  // ---- Cluster and configs ----

  void describe_cluster(const request_context& rc, const msg::describe_cluster_request& req);

  // The metadata quorum: one partition, __cluster_metadata-0, as in KRaft.
  void describe_quorum(const request_context& rc, const msg::describe_quorum_request& req);

  void describe_configs(const request_context& rc, const msg::describe_configs_request& req);

  void create_topics(const request_context& rc, const msg::create_topics_request& req);

  void delete_topics(const request_context& rc, const msg::delete_topics_request& req);

  void init_producer_id(const request_context& rc, const msg::init_producer_id_request& req);

  void delete_records(const request_context& rc, const msg::delete_records_request& req);

  void describe_producers(const request_context& rc, const msg::describe_producers_request& req);

  void describe_log_dirs(const request_context& rc, const msg::describe_log_dirs_request& req);

  void create_partitions(const request_context& rc, const msg::create_partitions_request& req);

  // ---- Replicas: ElectLeaders, DescribeTopicPartitions ----

  void elect_leaders(const request_context& rc, const msg::elect_leaders_request& req);

  void alter_partition_reassignments(const request_context& rc, const msg::alter_partition_reassignments_request& req);

  void list_partition_reassignments(const request_context& rc, const msg::list_partition_reassignments_request& req);

  void describe_topic_partitions(const request_context& rc, const msg::describe_topic_partitions_request& req);

  template <class Out, class Resource, class Changes>
  void alter(Out& out, const Resource& res, const Changes& changes, bool incremental, bool validate_only);

  void alter_configs(const request_context& rc, const msg::alter_configs_request& req);
  adapter::error config_access(int8_t type, const std::string& name, bool alter) const;

  void incremental_alter_configs(const request_context& rc, const msg::incremental_alter_configs_request& req);

 private:
  std::shared_ptr<shared_state> state_;
  adapter::peer peer_;
  std::string host_;             // peer_'s address without the port
  uint64_t held_heartbeat_ = 0;  // this connection's last ConsumerGroupHeartbeat, maybe held

  // SASL: where the exchange stands. Written by the network thread and
  // the auth worker, under sasl_mu_ (authenticated_ is read without it).
  enum class sasl_phase { idle, raw_token, authenticate, stepping, failed };
  void sasl_step(std::vector<uint8_t> token, const request_context& rc, bool raw);
  mutable std::mutex sasl_mu_;
  sasl_phase phase_ = sasl_phase::idle;
  std::unique_ptr<adapter::sasl_exchange> exchange_;
  std::string mechanism_;  // of the last handshake
  std::atomic<bool> authenticated_{false};
  std::atomic<int64_t> session_expiry_ms_{0};  // steady clock ms; 0: none
  adapter::principal principal_;               // written once per (re)authentication, before authenticated_
};

template <class Request>
void connection::on_admin_thread(const request_context& rc, reader& r,
                                 void (connection::*answer)(const request_context&, const Request&)) {
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

// Answers `Response` with GROUP_AUTHORIZATION_FAILED, and says so, when the
// connection's principal may not do `op` on the group.
template <class Response>
bool refused_group(const connection& c, const request_context& rc, const std::string& group,
                   adapter::acl_operation op) {
  if (c.may_on_group(op, group)) return false;
  Response resp;
  resp.error_code = code(adapter::error::group_authorization_failed);
  if constexpr (std::is_same_v<Response, msg::join_group_response>)
    if (rc.version < 7) resp.protocol_name = "";  // not nullable before v7
  rc.send(resp);
  return true;
}

// A consumer or share group heartbeat's authorization: READ on the group
// and DESCRIBE on every topic the subscription names. Answers `Response`
// with the refusal, and says so.
template <class Response>
bool refused_member(const connection& c, const request_context& rc, const std::string& group,
                    const std::optional<std::vector<std::string>>& subscribed) {
  if (refused_group<Response>(c, rc, group, adapter::acl_operation::read)) return true;
  if (!subscribed) return false;
  for (const auto& t : *subscribed)
    if (!c.may_on_topic(adapter::acl_operation::describe, t)) {
      Response resp;
      resp.error_code = code(adapter::error::topic_authorization_failed);
      resp.error_message = "The subscription names a topic the member may not describe";
      rc.send(resp);
      return true;
    }
  return false;
}

// Rows that decode the request and answer it on the network thread, or
// on the admin thread.
template <class Request, void (connection::*Answer)(const request_context&, const Request&)>
void answer_now(connection& c, const request_context& rc, reader& r, const frame_ptr&) {
  (c.*Answer)(rc, decode<Request>(r, rc.version));
}
template <class Request, void (connection::*Answer)(const request_context&, const Request&)>
void answer_on_admin_thread(connection& c, const request_context& rc, reader& r, const frame_ptr&) {
  c.on_admin_thread<Request>(rc, r, Answer);
}

}  // namespace mosaic::kafka
