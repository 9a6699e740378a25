// What the mosaic command line's families share (tools/cli/*.cc, one file
// per family of commands, as rpk keeps a file per verb): the blocking
// Kafka connection, the argument reader, errors, and the lookups several
// families make (Metadata, a partition's leader, ListOffsets).
#pragma once

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka_messages.h"
#include "plugins/protocol_kafka/protocol/blocking_client.h"
#include "plugins/protocol_kafka/protocol/request.h"

namespace mosaic::cli {

namespace msg = mosaic::kafka::msg;
using mosaic::kafka::bytes_ref;

struct cli_error {
  int exit_code;
  std::string message;
};

[[noreturn]] void usage_error(const std::string& what);

std::string error_name(int16_t code);

// A refusal in words a person can act on.
[[noreturn]] void refused(int16_t code, const std::string& topic, const std::optional<std::string>& message);

// How the CLI authenticates: read from --command-config (Kafka client
// properties, librdkafka's names): security.protocol=SASL_PLAINTEXT,
// sasl.mechanism=PLAIN, sasl.username, sasl.password.
struct client_security {
  std::string protocol = "PLAINTEXT";
  std::string mechanism = "PLAIN";
  std::string username;
  std::string password;
  // TLS (SSL, SASL_SSL): the CAs, the client's certificate and key, and
  // whether the broker's name is checked (ssl.endpoint.identification.algorithm).
  std::string ca_file, cert_file, key_file, key_password;
  bool check_host = true;
  bool sasl() const { return protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL"; }
  bool tls() const { return protocol == "SSL" || protocol == "SASL_SSL"; }
};
client_security& security_settings();
// Reads a properties file into security_settings(); a bad line is a usage error.
void load_command_config(const std::string& path);

// One broker connection: Kafka framing over a blocking socket. Every API
// used here is called at a flexible version (request header v2). On a SASL
// listener it authenticates first (SaslHandshake v1, SaslAuthenticate v2).
class connection {
 public:
  explicit connection(const std::string& bootstrap) : client_(host_of(bootstrap), port_of(bootstrap)) {
    if (!client_.connected())
      throw cli_error{3, "cannot connect to " + bootstrap + ": " + client_.error() +
                             " (is mosaicd running there? --bootstrap or MOSAIC_BOOTSTRAP names another broker)"};
    if (security_settings().tls()) start_tls(host_of(bootstrap));
    if (security_settings().sasl()) authenticate();
  }

  // Sends `req` and decodes the response; `raw` keeps the bytes that the
  // response's records fields point into.
  template <class Response, class Request>
  Response call(int16_t key, int16_t version, const Request& req, std::vector<uint8_t>* raw = nullptr) {
    std::vector<uint8_t> out;
    mosaic::kafka::writer w(out);
    mosaic::kafka::write_request_header(w, key, version, 2, ++correlation_, "mosaic-cli");
    req.encode(w, version);
    if (!client_.send(out)) throw cli_error{3, "the broker closed the connection"};
    auto answer = client_.receive(30000);
    if (!answer)
      throw cli_error{3, client_.error() == "the connection closed"
                             ? "the broker closed the connection (it may not support this request)"
                             : "no answer from the broker in 30 s"};
    std::vector<uint8_t> local;
    std::vector<uint8_t>& body = raw ? *raw : local;
    body = std::move(*answer);
    mosaic::kafka::reader r(body);
    msg::response_header rh;
    rh.decode(r, 1);
    Response resp;
    resp.decode(r, version);
    return resp;
  }

 private:
  void authenticate();
  void start_tls(const std::string& host);
  static std::string host_of(const std::string& bootstrap) {
    const auto colon = bootstrap.rfind(':');
    if (colon == std::string::npos) usage_error("--bootstrap wants HOST:PORT, got '" + bootstrap + "'");
    return bootstrap.substr(0, colon);
  }
  static std::string port_of(const std::string& bootstrap) { return bootstrap.substr(bootstrap.rfind(':') + 1); }

  mosaic::kafka::blocking_client client_;
  int32_t correlation_ = 0;
};

// Command-line arguments after the command words.
class args {
 public:
  args(std::vector<std::string> a) : a_(std::move(a)) {}  // NOLINT(google-explicit-constructor)
  bool empty() const { return at_ >= a_.size(); }
  bool flag(const std::string& name) {
    for (size_t i = at_; i < a_.size(); ++i)
      if (a_[i] == name) {
        a_.erase(a_.begin() + static_cast<long>(i));
        return true;
      }
    return false;
  }
  std::optional<std::string> option(const std::string& a, const std::string& b = "") {
    for (size_t i = at_; i < a_.size(); ++i)
      if (a_[i] == a || (!b.empty() && a_[i] == b)) {
        if (i + 1 >= a_.size()) usage_error(a_[i] + " needs a value");
        std::string v = a_[i + 1];
        a_.erase(a_.begin() + static_cast<long>(i), a_.begin() + static_cast<long>(i) + 2);
        return v;
      }
    return std::nullopt;
  }
  std::vector<std::string> options(const std::string& a, const std::string& b = "") {
    std::vector<std::string> out;
    while (auto v = option(a, b)) out.push_back(*v);
    return out;
  }
  std::string positional(const std::string& what) {
    if (at_ >= a_.size() || a_[at_].rfind('-', 0) == 0) usage_error("missing " + what);
    return a_[at_++];
  }
  void done() const {
    if (at_ < a_.size()) usage_error("unexpected argument '" + a_[at_] + "'");
  }

 private:
  std::vector<std::string> a_;
  size_t at_ = 0;
};

int64_t integer(const std::string& s, const std::string& what);

std::pair<std::string, std::string> key_value(const std::string& s, const std::string& what);

msg::metadata_response metadata(connection& c, std::optional<std::vector<std::string>> topics);

// The partitions of an existing topic (refused in words if it is not there).
std::vector<int32_t> partitions_of(connection& c, const std::string& topic);

// A connection to the broker at `address` (host:port), opened when first
// asked for and kept for the command's life.
connection& pooled(const std::string& address);

// The broker coordinating `group` (FindCoordinator on `boot`, asked again
// for up to 10 s while the coordinator moves or loads): its id, address,
// and a pooled connection to it.
struct coordinator_ref {
  int32_t node = -1;
  std::string address;
  connection* conn = nullptr;
};
coordinator_ref coordinator_of(connection& boot, const std::string& group);

// A group's coordinator, found at the first call and again when it moves.
struct coordinator_link {
  connection& boot;
  std::string group;
  std::optional<coordinator_ref> at;
  coordinator_ref& get() {
    if (!at) at = coordinator_of(boot, group);
    return *at;
  }
};
// Calls the group's coordinator as Kafka's clients do: NOT_COORDINATOR
// finds it again, COORDINATOR_LOAD_IN_PROGRESS waits a little, for up to
// 10 s; `code_of` gives a response's error code.
template <class Response, class Request, class CodeOf>
Response call_coordinator(coordinator_link& l, int16_t key, int16_t version, const Request& req, CodeOf code_of) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto resp = l.get().conn->call<Response>(key, version, req);
    const int16_t e = code_of(resp);
    if ((e != 14 && e != 16) || std::chrono::steady_clock::now() >= until) return resp;
    if (e == 16) l.at.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// A pooled connection to every broker of the cluster, by id.
std::map<int32_t, connection*> every_broker(connection& boot);

// A partition's leader, found through the bootstrap broker's Metadata,
// with connections to the brokers opened when first needed (and kept).
class leaders {
 public:
  leaders(connection& bootstrap, std::string topic) : boot_(bootstrap), topic_(std::move(topic)) { refresh(); }
  void refresh() {
    auto md = metadata(boot_, std::vector<std::string>{topic_});
    leader_.clear();
    for (const auto& b : md.brokers) address_[b.node_id] = b.host + ":" + std::to_string(b.port);
    if (!md.topics.empty())
      for (const auto& p : md.topics[0].partitions) leader_[p.partition_index] = p.leader_id;
  }
  int32_t leader(int32_t partition) const {
    auto it = leader_.find(partition);
    return it == leader_.end() ? -1 : it->second;
  }
  connection& of(int32_t partition) {
    const int32_t id = leader(partition);
    if (id < 0 || !address_.count(id))
      refused(5, topic_, "partition " + std::to_string(partition) + " of " + topic_ + " has no leader now");
    return pooled(address_.at(id));
  }

 private:
  connection& boot_;
  std::string topic_;
  std::map<int32_t, int32_t> leader_;
  std::map<int32_t, std::string> address_;
};

// ListOffsets on the partition's leader (the bootstrap broker first).
int64_t list_offset(connection& c, const std::string& topic, int32_t partition, int64_t timestamp);

// A compacted partition's dirty ratio, from the broker that holds it
// (DescribeLogDirs, Mosaic's tagged field); nullopt if it says none.
std::optional<double> dirty_ratio(connection& c, const std::string& topic, int32_t partition);

// What a reset-offsets covers: the partition --partition names, or every
// partition of the topic.
std::vector<int32_t> reset_partitions(connection& c, const std::string& topic, const std::optional<std::string>& only);

// The offset --to names for a partition: earliest, latest or a number.
int64_t reset_target(connection& c, const std::string& topic, int32_t partition, const std::string& to);

// Broker ids as a comma-separated list ("-" for none).
std::string ids(const std::vector<int32_t>& v);

// Every partition of the named topics (all topics when none), with
// replicas, ISR and ELR (DescribeTopicPartitions, page by page); their
// topics' names in `names` if given.
std::vector<msg::describe_topic_partitions_response_describe_topic_partitions_response_partition> describe_partitions(
    connection& c, const std::vector<std::string>& topics, std::vector<std::string>* names = nullptr);

// The command families (each in its own file).
int topic_command(connection& c, const std::string& verb, args a);
int produce_command(connection& c, args a);
int consume_command(connection& c, args a);
int groups_command(connection& c, const std::string& verb, args a);
int share_command(connection& c, const std::string& verb, args a);
int cluster_command(connection& c, const std::string& verb, const args& a);
int user_command(const std::string& bootstrap, const std::string& verb, args a);
int plugin_command(const std::string& verb, args a);
int plugin_cluster_command(const std::string& bootstrap, const std::string& verb, args a);
// What each broker runs in a plugin slot, in a line: "mosaic.share_policy.backoff
// (generation 2, a canary) on broker 2; mosaic.share_policy.default
// (generation 0) on brokers 1,3"; empty where the brokers do not say
// (not Mosaic, or MosaicPlugins refused).
std::string slot_summary(connection& boot, const std::string& slot);
int acl_command(connection& c, const std::string& verb, args a);
int quota_command(connection& c, const std::string& verb, args a);
int partitions_command(connection& c, const std::string& verb, args a);
int quorum_command(connection& c, const std::string& verb, const args& a);

}  // namespace mosaic::cli
