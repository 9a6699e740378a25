// mosaic: the operator's command line for a Mosaic (or any Kafka) cluster,
// in the spirit of Redpanda's rpk. It speaks the Kafka protocol with the
// project's generated message code over a blocking socket.
//
//   mosaic [--bootstrap HOST:PORT] topic create|list|describe|delete|alter-config ...
//   mosaic [--bootstrap HOST:PORT] produce TOPIC ...
//   mosaic [--bootstrap HOST:PORT] consume TOPIC ...
//   mosaic [--bootstrap HOST:PORT] groups list|describe|delete|reset-offsets ...
//   mosaic [--bootstrap HOST:PORT] share consume|describe|reset-offsets ...
//   mosaic [--bootstrap HOST:PORT] cluster info
//   mosaic [--bootstrap HOST:PORT] quorum describe
//
// Exit codes: 0 done, 1 the broker refused (the message says why), 2 a bad
// command line, 3 no broker to talk to.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kafka_messages.h"
#include "kernel/app/builtins.h"
#include "kernel/base/log.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"
#include "kernel/plugin/codecs.h"
#include "kernel/plugin/host.h"
#include "mosaic/adapter/errors.h"
#include "plugins/protocol_kafka/protocol/mosaic_tags.h"
#include "plugins/protocol_kafka/protocol/request.h"

namespace {

namespace msg = mosaic::kafka::msg;
using mosaic::kafka::bytes_ref;

struct cli_error {
  int exit_code;
  std::string message;
};

[[noreturn]] void usage_error(const std::string& what) { throw cli_error{2, what + " (see --help)"}; }

std::string error_name(int16_t code) { return mosaic::adapter::error_name(code); }

// A refusal in words a person can act on.
[[noreturn]] void refused(int16_t code, const std::string& topic, const std::optional<std::string>& message) {
  if (code == 3) throw cli_error{1, "topic '" + topic + "' does not exist"};
  if (code == 36) throw cli_error{1, "topic '" + topic + "' already exists"};
  throw cli_error{1, (message && !message->empty() ? *message : error_name(code)) + " (" + error_name(code) + ")"};
}

// One broker connection: Kafka framing over a blocking socket. Every API
// used here is called at a flexible version (request header v2).
class connection {
 public:
  explicit connection(const std::string& bootstrap) {
    const auto colon = bootstrap.rfind(':');
    if (colon == std::string::npos) usage_error("--bootstrap wants HOST:PORT, got '" + bootstrap + "'");
    const std::string host = bootstrap.substr(0, colon), port = bootstrap.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
      throw cli_error{3, "cannot resolve " + bootstrap};
    for (auto* a = res; a != nullptr && fd_ < 0; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) == 0)
        fd_ = fd;
      else if (fd >= 0)
        ::close(fd);
    }
    ::freeaddrinfo(res);
    if (fd_ < 0)
      throw cli_error{3, "cannot connect to " + bootstrap + ": " + std::strerror(errno) +
                             " (is mosaicd running there? --bootstrap or MOSAIC_BOOTSTRAP names another broker)"};
  }
  ~connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Sends `req` and decodes the response; `raw` keeps the bytes that the
  // response's records fields point into.
  template <class Response, class Request>
  Response call(int16_t key, int16_t version, const Request& req, std::vector<uint8_t>* raw = nullptr) {
    std::vector<uint8_t> out(4);
    mosaic::kafka::writer w(out);
    mosaic::kafka::write_request_header(w, key, version, 2, ++correlation_, "mosaic-cli");
    req.encode(w, version);
    const auto n = static_cast<uint32_t>(out.size() - 4);
    out[0] = static_cast<uint8_t>(n >> 24), out[1] = static_cast<uint8_t>(n >> 16);
    out[2] = static_cast<uint8_t>(n >> 8), out[3] = static_cast<uint8_t>(n);
    write_all(out);
    uint8_t size[4];
    read_all(size, 4);
    std::vector<uint8_t> local;
    std::vector<uint8_t>& body = raw ? *raw : local;
    body.resize((uint32_t{size[0]} << 24) | (uint32_t{size[1]} << 16) | (uint32_t{size[2]} << 8) | size[3]);
    read_all(body.data(), body.size());
    mosaic::kafka::reader r(body);
    msg::response_header rh;
    rh.decode(r, 1);
    Response resp;
    resp.decode(r, version);
    return resp;
  }

 private:
  void write_all(const std::vector<uint8_t>& b) {
    for (size_t at = 0; at < b.size();) {
      ssize_t n = ::send(fd_, b.data() + at, b.size() - at, MSG_NOSIGNAL);
      if (n <= 0) throw cli_error{3, "the broker closed the connection"};
      at += static_cast<size_t>(n);
    }
  }
  void read_all(uint8_t* p, size_t n) {
    while (n > 0) {
      pollfd pf{fd_, POLLIN, 0};
      if (::poll(&pf, 1, 30000) <= 0) throw cli_error{3, "no answer from the broker in 30 s"};
      ssize_t got = ::recv(fd_, p, n, 0);
      if (got <= 0) throw cli_error{3, "the broker closed the connection (it may not support this request)"};
      p += got;
      n -= static_cast<size_t>(got);
    }
  }
  int fd_ = -1;
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

int64_t integer(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  usage_error(what + " wants a number, got '" + s + "'");
}

std::pair<std::string, std::string> key_value(const std::string& s, const std::string& what) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) usage_error(what + " wants KEY=VALUE, got '" + s + "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

msg::metadata_response metadata(connection& c, std::optional<std::vector<std::string>> topics) {
  msg::metadata_request req;
  req.allow_auto_topic_creation = false;
  if (topics) {
    req.topics.emplace();
    for (auto& t : *topics) req.topics->emplace_back().name = t;
  }
  return c.call<msg::metadata_response>(3, 12, req);
}

// The partitions of an existing topic (refused in words if it is not there).
std::vector<int32_t> partitions_of(connection& c, const std::string& topic) {
  auto md = metadata(c, std::vector<std::string>{topic});
  if (md.topics.empty() || md.topics[0].error_code != 0)
    refused(md.topics.empty() ? int16_t{3} : md.topics[0].error_code, topic, std::nullopt);
  std::vector<int32_t> out;
  for (const auto& p : md.topics[0].partitions) out.push_back(p.partition_index);
  std::sort(out.begin(), out.end());
  return out;
}

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
    auto& conn = connections()[address_.at(id)];
    if (!conn) conn = std::make_unique<connection>(address_.at(id));
    return *conn;
  }

 private:
  static std::map<std::string, std::unique_ptr<connection>>& connections() {
    static std::map<std::string, std::unique_ptr<connection>> open;
    return open;
  }
  connection& boot_;
  std::string topic_;
  std::map<int32_t, int32_t> leader_;
  std::map<int32_t, std::string> address_;
};

// ListOffsets on the partition's leader (the bootstrap broker first).
int64_t list_offset(connection& c, const std::string& topic, int32_t partition, int64_t timestamp) {
  msg::list_offsets_request req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = partition;
  p.timestamp = timestamp;
  auto resp = c.call<msg::list_offsets_response>(2, 7, req);
  auto r = resp.topics.at(0).partitions.at(0);
  if (r.error_code == 6) {
    leaders l(c, topic);
    r = l.of(partition).call<msg::list_offsets_response>(2, 7, req).topics.at(0).partitions.at(0);
  }
  if (r.error_code != 0) refused(r.error_code, topic, std::nullopt);
  return r.offset;
}

// A compacted partition's dirty ratio, from the broker that holds it
// (DescribeLogDirs, Mosaic's tagged field); nullopt if it says none.
std::optional<double> dirty_ratio(connection& c, const std::string& topic, int32_t partition) {
  msg::describe_log_dirs_request req;
  auto& t = req.topics.emplace();
  t.emplace_back().topic = topic;
  t.back().partitions = {partition};
  auto resp = c.call<msg::describe_log_dirs_response>(35, 4, req);
  for (const auto& dir : resp.results)
    for (const auto& rt : dir.topics)
      for (const auto& rp : rt.partitions)
        if (rt.name == topic && rp.partition_index == partition)
          return mosaic::kafka::float64_tag_value(rp.unknown_tags, mosaic::kafka::dirty_ratio_tag);
  return std::nullopt;
}

// What a reset-offsets covers: the partition --partition names, or every
// partition of the topic.
std::vector<int32_t> reset_partitions(connection& c, const std::string& topic, const std::optional<std::string>& only) {
  if (only) return {static_cast<int32_t>(integer(*only, "--partition"))};
  return partitions_of(c, topic);
}

// The offset --to names for a partition: earliest, latest or a number.
int64_t reset_target(connection& c, const std::string& topic, int32_t partition, const std::string& to) {
  if (to == "earliest") return list_offset(c, topic, partition, -2);
  if (to == "latest") return list_offset(c, topic, partition, -1);
  return integer(to, "--to");
}

// ---- topic ----

std::string ids(const std::vector<int32_t>& v) {
  if (v.empty()) return "-";
  std::string s;
  for (int32_t id : v) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// Every partition of the named topics (all topics when none), with
// replicas, ISR and ELR (DescribeTopicPartitions, page by page).
std::vector<msg::describe_topic_partitions_response_describe_topic_partitions_response_partition> describe_partitions(
    connection& c, const std::vector<std::string>& topics, std::vector<std::string>* names = nullptr) {
  std::vector<msg::describe_topic_partitions_response_describe_topic_partitions_response_partition> out;
  msg::describe_topic_partitions_request req;
  for (const auto& t : topics) req.topics.emplace_back().name = t;
  for (;;) {
    auto resp = c.call<msg::describe_topic_partitions_response>(75, 0, req);
    for (const auto& t : resp.topics) {
      if (t.error_code != 0) refused(t.error_code, t.name.value_or(""), std::nullopt);
      for (const auto& p : t.partitions) {
        out.push_back(p);
        if (names) names->push_back(t.name.value_or(""));
      }
    }
    if (!resp.next_cursor) break;
    req.cursor.emplace();
    req.cursor->topic_name = resp.next_cursor->topic_name;
    req.cursor->partition_index = resp.next_cursor->partition_index;
  }
  return out;
}

int topic_command(connection& c, const std::string& verb, args a) {
  if (verb == "list") {
    a.done();
    auto md = metadata(c, std::nullopt);
    std::sort(md.topics.begin(), md.topics.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
    std::printf("%-40s %10s\n", "NAME", "PARTITIONS");
    for (const auto& t : md.topics) std::printf("%-40s %10zu\n", t.name.value_or("").c_str(), t.partitions.size());
    return 0;
  }
  const std::string name = a.positional("topic name");
  if (verb == "create") {
    msg::create_topics_request req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = static_cast<int32_t>(integer(a.option("--partitions", "-p").value_or("-1"), "--partitions"));
    t.replication_factor =
        static_cast<int16_t>(integer(a.option("--replication-factor", "-r").value_or("-1"), "--replication-factor"));
    for (const auto& kv : a.options("--config", "-c")) {
      auto [k, v] = key_value(kv, "--config");
      auto& cfg = t.configs.emplace_back();
      cfg.name = k;
      cfg.value = v;
    }
    req.validate_only = a.flag("--dry-run");
    a.done();
    auto resp = c.call<msg::create_topics_response>(19, 7, req);
    const auto& r = resp.topics.at(0);
    if (r.error_code != 0) refused(r.error_code, name, r.error_message);
    std::printf("%s topic %s with %d partition(s)\n", req.validate_only ? "would create" : "created", name.c_str(),
                r.num_partitions);
    return 0;
  }
  if (verb == "delete") {
    a.done();
    msg::delete_topics_request req;
    req.topic_names = {name};
    req.timeout_ms = 30000;
    auto resp = c.call<msg::delete_topics_response>(20, 5, req);
    const auto& r = resp.responses.at(0);
    if (r.error_code != 0) refused(r.error_code, name, r.error_message);
    std::printf("deleted topic %s\n", name.c_str());
    return 0;
  }
  if (verb == "alter-config") {
    msg::incremental_alter_configs_request req;
    auto& res = req.resources.emplace_back();
    res.resource_type = 2;
    res.resource_name = name;
    for (const auto& kv : a.options("--set", "-s")) {
      auto [k, v] = key_value(kv, "--set");
      auto& cfg = res.configs.emplace_back();
      cfg.name = k;
      cfg.config_operation = 0;
      cfg.value = v;
    }
    for (const auto& k : a.options("--delete", "-d")) {
      auto& cfg = res.configs.emplace_back();
      cfg.name = k;
      cfg.config_operation = 1;
    }
    a.done();
    if (res.configs.empty()) usage_error("alter-config needs --set KEY=VALUE or --delete KEY");
    auto resp = c.call<msg::incremental_alter_configs_response>(44, 1, req);
    const auto& r = resp.responses.at(0);
    if (r.error_code != 0) refused(r.error_code, name, r.error_message);
    std::printf("altered %zu config(s) of topic %s\n", res.configs.size(), name.c_str());
    return 0;
  }
  if (verb == "describe") {
    a.done();
    auto md = metadata(c, std::vector<std::string>{name});
    if (md.topics.empty() || md.topics[0].error_code != 0)
      refused(md.topics.empty() ? int16_t{3} : md.topics[0].error_code, name, std::nullopt);
    const auto parts = describe_partitions(c, {name});
    msg::describe_configs_request dc;
    auto& r = dc.resources.emplace_back();
    r.resource_type = 2;
    r.resource_name = name;
    auto configs = c.call<msg::describe_configs_response>(32, 4, dc);
    bool compacted = false;
    for (const auto& v : configs.results.at(0).configs)
      compacted =
          compacted || (v.name == "cleanup.policy" && v.value.value_or("").find("compact") != std::string::npos);
    std::printf("NAME        %s\nPARTITIONS  %zu\nREPLICAS    %zu\n\n", name.c_str(), parts.size(),
                parts.empty() ? size_t{0} : parts.front().replica_nodes.size());
    leaders route(c, name);
    std::printf("%-10s %-7s %-6s %-12s %-12s %-8s %-12s %-14s%s\n", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR",
                "ELR", "LOG-START", "HIGH-WATERMARK", compacted ? " DIRTY-RATIO" : "");
    for (const auto& p : parts) {
      std::string start = "-", end = "-", dirty = "-";  // no leader: nobody to ask
      if (p.leader_id >= 0) {
        start = std::to_string(list_offset(route.of(p.partition_index), name, p.partition_index, -2));
        end = std::to_string(list_offset(route.of(p.partition_index), name, p.partition_index, -1));
        if (compacted)
          if (auto ratio = dirty_ratio(route.of(p.partition_index), name, p.partition_index))
            dirty = std::to_string(std::lround(*ratio * 100)) + "%";
      }
      std::printf("%-10d %-7s %-6d %-12s %-12s %-8s %-12s %-14s%s\n", p.partition_index,
                  p.leader_id < 0 ? "none" : std::to_string(p.leader_id).c_str(), p.leader_epoch,
                  ids(p.replica_nodes).c_str(), ids(p.isr_nodes).c_str(),
                  ids(p.eligible_leader_replicas.value_or(std::vector<int32_t>{})).c_str(), start.c_str(), end.c_str(),
                  compacted ? (" " + dirty).c_str() : "");
    }
    std::printf("\n%-26s %-22s %s\n", "CONFIG", "VALUE", "SOURCE");
    for (const auto& v : configs.results.at(0).configs)
      std::printf("%-26s %-22s %s\n", v.name.c_str(), v.value.value_or("(null)").c_str(),
                  v.config_source == 1 ? "topic" : "default");
    return 0;
  }
  usage_error("unknown topic command '" + verb + "' (create, list, describe, delete, alter-config)");
}

// ---- produce ----

// Kafka's default partitioner for keyed records: murmur2 of the key, made
// positive, modulo the partition count (so keys land where Java clients put
// them).
int32_t murmur2(const std::string& key) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto len = static_cast<uint32_t>(key.size());
  uint32_t h = 0x9747b28c ^ len;
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  size_t i = 0;
  for (; i + 4 <= key.size(); i += 4) {
    uint32_t k = uint32_t{data[i]} | (uint32_t{data[i + 1]} << 8) | (uint32_t{data[i + 2]} << 16) |
                 (uint32_t{data[i + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (key.size() - i) {
    case 3: h ^= uint32_t{data[i + 2]} << 16; [[fallthrough]];
    case 2: h ^= uint32_t{data[i + 1]} << 8; [[fallthrough]];
    case 1: h ^= uint32_t{data[i]}; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h & 0x7fffffff);
}

int produce_command(connection& c, args a) {
  const std::string topic = a.positional("topic");
  const auto partition = a.option("--partition", "-p");
  const auto fixed_key = a.option("--key", "-k");
  const auto separator = a.option("--key-separator", "-K");
  std::vector<mosaic::log::record_header> headers;
  std::vector<std::pair<std::string, std::string>> header_text;
  for (const auto& kv : a.options("--header", "-H")) header_text.push_back(key_value(kv, "--header"));
  headers.reserve(header_text.size());
  for (const auto& [k, v] : header_text) headers.push_back({k, v});
  const std::string acks_text = a.option("--acks").value_or("all");
  a.done();
  const int16_t acks =
      acks_text == "all" || acks_text == "-1" ? int16_t{-1} : static_cast<int16_t>(integer(acks_text, "--acks"));
  if (acks != -1 && acks != 1) usage_error("--acks is all or 1");
  const auto parts = partitions_of(c, topic);

  std::map<int32_t, mosaic::log::batch_builder> batches;
  size_t pending = 0, total = 0, round_robin = 0;
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  leaders route(c, topic);
  auto flush = [&] {
    if (batches.empty()) return;
    // One request per leader.
    std::map<int32_t, std::vector<int32_t>> by_leader;
    for (auto& [p, b] : batches) by_leader[route.leader(p)].push_back(p);
    std::map<int32_t, std::vector<uint8_t>> bytes;
    for (auto& [p, b] : batches) bytes[p] = b.finish();
    for (const auto& [leader, ps] : by_leader) {
      msg::produce_request req;
      req.acks = acks;
      req.timeout_ms = 30000;
      auto& t = req.topic_data.emplace_back();
      t.name = topic;
      for (int32_t p : ps) {
        auto& pd = t.partition_data.emplace_back();
        pd.index = p;
        pd.records = bytes_ref::of(bytes[p]);
      }
      auto resp = route.of(ps.front()).call<msg::produce_response>(0, 9, req);
      for (const auto& rt : resp.responses)
        for (const auto& rp : rt.partition_responses)
          if (rp.error_code != 0) refused(rp.error_code, topic, rp.error_message);
    }
    total += pending;
    pending = 0;
    batches.clear();
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    std::optional<std::string> key = fixed_key;
    std::string value = line;
    if (separator) {
      const auto at = line.find(*separator);
      if (at != std::string::npos) {
        key = line.substr(0, at);
        value = line.substr(at + separator->size());
      }
    }
    int32_t p = 0;
    if (partition)
      p = static_cast<int32_t>(integer(*partition, "--partition"));
    else if (key)
      p = parts[static_cast<size_t>(murmur2(*key)) % parts.size()];
    else
      p = parts[(round_robin++ / 100) % parts.size()];  // 100 records at a time per partition
    auto [it, fresh] = batches.try_emplace(p, now_ms());
    (void)fresh;
    it->second.add(key ? std::optional<std::string_view>(*key) : std::nullopt, value, now_ms(), headers);
    if (++pending >= 1000) flush();
  }
  flush();
  std::fprintf(stderr, "produced %zu record(s) to %s\n", total, topic.c_str());
  return 0;
}

// ---- consume ----

void print_record(const std::string& format, const std::string& topic, int32_t partition, int64_t offset,
                  int64_t timestamp, const mosaic::log::record_view& r, int delivery_count = 1) {
  auto text = [](const std::optional<std::span<const uint8_t>>& s) {
    return s ? std::string(reinterpret_cast<const char*>(s->data()), s->size()) : std::string();
  };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    const char ch = format[i];
    if (ch == '\\' && i + 1 < format.size()) {
      const char e = format[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else if (ch == '%' && i + 1 < format.size()) {
      switch (format[++i]) {
        case 't': out += topic; break;
        case 'p': out += std::to_string(partition); break;
        case 'o': out += std::to_string(offset); break;
        case 'k': out += text(r.key); break;
        case 's':
        case 'v': out += text(r.value); break;
        case 'T': out += std::to_string(timestamp); break;
        case 'd': out += std::to_string(delivery_count); break;
        case 'h': {
          std::string hs;
          mosaic::log::for_each_header(r.headers, [&](std::string_view k, std::optional<std::string_view> v) {
            if (!hs.empty()) hs += ',';
            hs += std::string(k) + "=" + std::string(v.value_or(""));
          });
          out += hs;
          break;
        }
        case '%': out += '%'; break;
        default: out += '%', out += format[i];
      }
    } else {
      out += ch;
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

// Reads the records of fetched batches, decompressing with the built-in
// codecs; control batches are skipped.
class record_reader {
 public:
  record_reader() {
    for (const char* name : {"mosaic.codec.gzip", "mosaic.codec.snappy", "mosaic.codec.lz4", "mosaic.codec.zstd"})
      if (host_.ensure(name, "builtin").ok())
        if (auto inst = host_.create(name, {})) (void)codecs_.install(*inst);
  }
  // Calls `on_record(offset, timestamp, record)` for each record and
  // `after_batch(batch)` after each batch.
  void read(std::span<const uint8_t> records,
            const std::function<void(int64_t, int64_t, const mosaic::log::record_view&)>& on_record,
            const std::function<void(const mosaic::log::batch_view&)>& after_batch = {}) {
    mosaic::log::for_each_batch(records, [&](const mosaic::log::batch_view& b) {
      std::vector<uint8_t> inflated;
      mosaic::log::batch_view view = b;
      if (b.codec() != 0) {
        plain_.clear();
        if (!codecs_.decompress(b.codec(), b.records(), plain_).ok())
          throw cli_error{1, "cannot decompress a batch at offset " + std::to_string(b.base_offset())};
        inflated.assign(b.bytes.begin(), b.bytes.begin() + mosaic::log::batch_layout::header_size);
        inflated.insert(inflated.end(), plain_.bytes().begin(), plain_.bytes().end());
        view = mosaic::log::batch_view{inflated};
      }
      if (!b.is_control())
        mosaic::log::for_each_record(view, [&](const mosaic::log::record_view& rec) {
          const int64_t ts = b.log_append_time() ? b.max_timestamp() : b.base_timestamp() + rec.timestamp_delta;
          on_record(b.base_offset() + rec.offset_delta, ts, rec);
        });
      if (after_batch) after_batch(b);
      return true;
    });
  }

 private:
  mosaic::plugin::plugin_host host_{{}, mosaic::app::builtin_plugins()};
  mosaic::plugin::codec_set codecs_;
  mosaic::plugin::byte_buffer plain_{256u << 20};
};

int consume_command(connection& c, args a) {
  const std::string topic = a.positional("topic");
  const auto only = a.option("--partition", "-p");
  const std::string from = a.option("--offset", "-o").value_or("earliest");
  const auto from_time = a.option("--from-timestamp", "-t");
  const auto count_text = a.option("--count", "-n");
  const std::string format = a.option("--format", "-f").value_or("%s\\n");
  const bool follow = a.flag("--follow");
  a.done();
  const int64_t count = count_text ? integer(*count_text, "--count") : -1;
  std::vector<int32_t> parts = partitions_of(c, topic);
  if (only) parts = {static_cast<int32_t>(integer(*only, "--partition"))};

  // Where each partition starts and (without --follow) where it ends.
  std::map<int32_t, std::pair<int64_t, int64_t>> range;
  for (int32_t p : parts) {
    int64_t start = 0;
    if (from_time) {
      start = list_offset(c, topic, p, integer(*from_time, "--from-timestamp"));
      if (start < 0) start = list_offset(c, topic, p, -1);
    } else if (from == "earliest" || from == "beginning") {
      start = list_offset(c, topic, p, -2);
    } else if (from == "latest" || from == "end") {
      start = list_offset(c, topic, p, -1);
    } else {
      const int64_t n = integer(from, "--offset");
      start = n >= 0 ? n : std::max(list_offset(c, topic, p, -1) + n, list_offset(c, topic, p, -2));
    }
    range[p] = {start, follow ? INT64_MAX : list_offset(c, topic, p, -1)};
  }

  record_reader reader;
  leaders route(c, topic);

  int64_t printed = 0;
  for (;;) {
    // A fetch per leader, each for the partitions it leads.
    std::map<int32_t, std::vector<int32_t>> by_leader;
    for (auto& [p, r] : range)
      if (r.first < r.second) by_leader[route.leader(p)].push_back(p);
    if (by_leader.empty() || (count >= 0 && printed >= count)) break;
    for (const auto& [leader, ps] : by_leader) {
      msg::fetch_request req;
      req.max_wait_ms = by_leader.size() > 1 ? 100 : 500;
      req.min_bytes = 1;
      req.max_bytes = 16 << 20;
      req.session_epoch = -1;
      auto& t = req.topics.emplace_back();
      t.topic = topic;
      for (int32_t p : ps) {
        auto& fp = t.partitions.emplace_back();
        fp.partition = p;
        fp.fetch_offset = range[p].first;
        fp.partition_max_bytes = 4 << 20;
      }
      std::vector<uint8_t> raw;
      auto resp = route.of(ps.front()).call<msg::fetch_response>(1, 12, req, &raw);
      for (const auto& rt : resp.responses)
        for (const auto& rp : rt.partitions) {
          if (rp.error_code == 6 || rp.error_code == 74) {
            route.refresh();  // leadership moved: ask again where it is
            continue;
          }
          if (rp.error_code != 0) refused(rp.error_code, topic, std::nullopt);
          auto& r = range[rp.partition_index];
          reader.read(
              rp.records.span(),
              [&](int64_t offset, int64_t ts, const mosaic::log::record_view& rec) {
                if (offset < r.first || offset >= r.second || (count >= 0 && printed >= count)) return;
                print_record(format, topic, rp.partition_index, offset, ts, rec);
                ++printed;
              },
              [&](const mosaic::log::batch_view& b) { r.first = std::max(r.first, b.last_offset() + 1); });
        }
    }
    std::fflush(stdout);
  }
  return 0;
}

// ---- groups ----

struct group_listing {
  std::string id, type, state, protocol_type;
};

std::vector<group_listing> list_groups(connection& c, std::vector<std::string> states = {},
                                       std::vector<std::string> types = {}) {
  msg::list_groups_request req;
  req.states_filter = std::move(states);
  req.types_filter = std::move(types);
  auto resp = c.call<msg::list_groups_response>(16, 5, req);
  if (resp.error_code != 0) refused(resp.error_code, "", std::nullopt);
  std::vector<group_listing> out;
  for (const auto& g : resp.groups) out.push_back({g.group_id, g.group_type, g.group_state, g.protocol_type});
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  return out;
}

std::optional<group_listing> find_group(connection& c, const std::string& id) {
  for (auto& g : list_groups(c))
    if (g.id == id) return g;
  return std::nullopt;
}

// What a member owns, as "topic-partition" keys.
using owners = std::map<std::pair<std::string, int32_t>, std::string>;

// Decodes a classic consumer's assignment (ConsumerProtocolAssignment).
void add_classic_assignment(owners& out, const bytes_ref& bytes, const std::string& member) {
  if (bytes.size < 2) return;
  try {
    mosaic::kafka::reader r(bytes.span());
    const auto version = r.integer<int16_t>();
    msg::consumer_protocol_assignment a;
    a.decode(r, std::min<int16_t>(version, msg::consumer_protocol_assignment_max_version));
    for (const auto& tp : a.assigned_partitions)
      for (int32_t p : tp.partitions) out[{tp.topic, p}] = member;
  } catch (const mosaic::kafka::decode_error&) {
    // another protocol's assignment: nothing to show per partition
  }
}

struct committed_offset {
  std::string topic;
  int32_t partition;
  int64_t offset;
};

std::vector<committed_offset> committed_offsets(connection& c, const std::string& group) {
  msg::offset_fetch_request req;
  req.groups.emplace_back().group_id = group;  // topics null: every committed offset
  auto resp = c.call<msg::offset_fetch_response>(9, 8, req);
  std::vector<committed_offset> out;
  if (resp.groups.empty()) return out;
  if (resp.groups[0].error_code != 0) refused(resp.groups[0].error_code, "", std::nullopt);
  for (const auto& t : resp.groups[0].topics)
    for (const auto& p : t.partitions)
      if (p.committed_offset >= 0) out.push_back({t.name, p.partition_index, p.committed_offset});
  return out;
}

int groups_describe(connection& c, const std::string& id) {
  auto found = find_group(c, id);
  if (!found) throw cli_error{1, "no group '" + id + "'"};
  owners owned;
  std::printf("GROUP        %s\nTYPE         %s\nSTATE        %s\n", id.c_str(), found->type.c_str(),
              found->state.c_str());
  if (found->type == "consumer") {
    msg::consumer_group_describe_request req;
    req.group_ids = {id};
    auto resp = c.call<msg::consumer_group_describe_response>(69, 1, req);
    const auto& g = resp.groups.at(0);
    if (g.error_code != 0) refused(g.error_code, "", g.error_message);
    std::printf("EPOCH        %d (assignment %d)\nASSIGNOR     %s\nMEMBERS      %zu\n", g.group_epoch,
                g.assignment_epoch, g.assignor_name.c_str(), g.members.size());
    if (!g.members.empty()) std::printf("\n%-40s %-8s %-24s %s\n", "MEMBER", "EPOCH", "CLIENT", "HOST");
    for (const auto& m : g.members) {
      std::printf("%-40s %-8d %-24s %s\n", m.member_id.c_str(), m.member_epoch, m.client_id.c_str(),
                  m.client_host.c_str());
      for (const auto& tp : m.assignment.topic_partitions)
        for (int32_t p : tp.partitions) owned[{tp.topic_name, p}] = m.member_id;
    }
  } else {
    msg::describe_groups_request req;
    req.groups = {id};
    std::vector<uint8_t> raw;
    auto resp = c.call<msg::describe_groups_response>(15, 5, req, &raw);
    const auto& g = resp.groups.at(0);
    if (g.error_code != 0) refused(g.error_code, "", g.error_message);
    std::printf("PROTOCOL     %s %s\nMEMBERS      %zu\n", g.protocol_type.c_str(), g.protocol_data.c_str(),
                g.members.size());
    if (!g.members.empty()) std::printf("\n%-40s %-24s %s\n", "MEMBER", "CLIENT", "HOST");
    for (const auto& m : g.members) {
      std::printf("%-40s %-24s %s\n", m.member_id.c_str(), m.client_id.c_str(), m.client_host.c_str());
      if (g.protocol_type == "consumer") add_classic_assignment(owned, m.member_assignment, m.member_id);
    }
  }
  // Lag: the partitions with a commit or an owner, against their end.
  std::map<std::pair<std::string, int32_t>, int64_t> rows;
  for (const auto& o : committed_offsets(c, id)) rows[{o.topic, o.partition}] = o.offset;
  for (const auto& [tp, member] : owned) rows.emplace(tp, -1);
  if (rows.empty()) {
    std::printf("\nno committed offsets\n");
    return 0;
  }
  std::printf("\n%-30s %9s %12s %12s %10s  %s\n", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER");
  int64_t total = 0;
  for (const auto& [tp, offset] : rows) {
    int64_t end = -1;
    try {
      end = list_offset(c, tp.first, tp.second, -1);
    } catch (const cli_error&) {
      // the topic is gone; its commit is still shown
    }
    const int64_t lag = end < 0 ? 0 : std::max<int64_t>(0, end - std::max<int64_t>(offset, 0));
    total += lag;
    auto who = owned.find(tp);
    std::printf("%-30s %9d %12s %12s %10lld  %s\n", tp.first.c_str(), tp.second,
                offset < 0 ? "-" : std::to_string(offset).c_str(), end < 0 ? "-" : std::to_string(end).c_str(),
                static_cast<long long>(lag), who == owned.end() ? "-" : who->second.c_str());
  }
  std::printf("\nTOTAL LAG    %lld\n", static_cast<long long>(total));
  return 0;
}

int groups_reset_offsets(connection& c, const std::string& id, args& a) {
  const auto topic = a.option("--topic", "-t");
  if (!topic) usage_error("reset-offsets needs --topic TOPIC");
  const auto partition = a.option("--partition", "-p");
  const auto to = a.option("--to");
  const auto to_timestamp = a.option("--to-timestamp");
  const bool dry_run = a.flag("--dry-run");
  a.done();
  if (!to == !to_timestamp) usage_error("reset-offsets needs one of --to earliest|latest|OFFSET and --to-timestamp MS");
  const std::vector<int32_t> parts = reset_partitions(c, *topic, partition);
  std::map<int32_t, int64_t> current;
  for (const auto& o : committed_offsets(c, id))
    if (o.topic == *topic) current[o.partition] = o.offset;
  msg::offset_commit_request req;
  req.group_id = id;
  req.generation_id_or_member_epoch = -1;  // an admin commit: only while the group has no members
  auto& t = req.topics.emplace_back();
  t.name = *topic;
  std::printf("%-30s %9s %12s %12s\n", "TOPIC", "PARTITION", "FROM", "TO");
  for (int32_t p : parts) {
    int64_t target = 0;
    if (to_timestamp) {
      target = list_offset(c, *topic, p, integer(*to_timestamp, "--to-timestamp"));
      if (target < 0) target = list_offset(c, *topic, p, -1);  // nothing that late: the end
    } else {
      target = reset_target(c, *topic, p, *to);
    }
    auto& rp = t.partitions.emplace_back();
    rp.partition_index = p;
    rp.committed_offset = target;
    auto was = current.find(p);
    std::printf("%-30s %9d %12s %12lld\n", topic->c_str(), p,
                was == current.end() ? "-" : std::to_string(was->second).c_str(), static_cast<long long>(target));
  }
  if (dry_run) {
    std::printf("(dry run: nothing committed)\n");
    return 0;
  }
  auto resp = c.call<msg::offset_commit_response>(8, 9, req);
  for (const auto& rt : resp.topics)
    for (const auto& rp : rt.partitions) {
      if (rp.error_code == 25 || rp.error_code == 22)
        throw cli_error{1, "group '" + id + "' has active members; stop them before resetting its offsets"};
      if (rp.error_code != 0) refused(rp.error_code, *topic, std::nullopt);
    }
  return 0;
}

int groups_command(connection& c, const std::string& verb, args a) {
  if (verb == "list") {
    auto states = a.options("--state", "-s");
    auto types = a.options("--type");
    a.done();
    auto all = list_groups(c, states, types);
    std::printf("%-40s %-10s %-20s %s\n", "GROUP", "TYPE", "STATE", "PROTOCOL-TYPE");
    for (const auto& g : all)
      std::printf("%-40s %-10s %-20s %s\n", g.id.c_str(), g.type.c_str(), g.state.c_str(), g.protocol_type.c_str());
    return 0;
  }
  if (verb == "describe") {
    const std::string id = a.positional("group id");
    a.done();
    return groups_describe(c, id);
  }
  if (verb == "delete") {
    std::vector<std::string> ids;
    while (!a.empty()) ids.push_back(a.positional("group id"));
    if (ids.empty()) usage_error("delete needs a group id");
    msg::delete_groups_request req;
    req.groups_names = ids;
    auto resp = c.call<msg::delete_groups_response>(42, 2, req);
    int rc = 0;
    for (const auto& r : resp.results) {
      if (r.error_code == 0) {
        std::printf("deleted group %s\n", r.group_id.c_str());
        continue;
      }
      rc = 1;
      if (r.error_code == 68)
        std::fprintf(stderr, "mosaic: group '%s' still has members; stop them first\n", r.group_id.c_str());
      else if (r.error_code == 69)
        std::fprintf(stderr, "mosaic: no group '%s'\n", r.group_id.c_str());
      else
        std::fprintf(stderr, "mosaic: group '%s': %s\n", r.group_id.c_str(), error_name(r.error_code).c_str());
    }
    return rc;
  }
  if (verb == "reset-offsets") {
    const std::string id = a.positional("group id");
    return groups_reset_offsets(c, id, a);
  }
  usage_error("unknown groups command '" + verb + "' (list, describe, delete, reset-offsets)");
}

// ---- cluster ----

// ---- share groups ----

// A member id as the Java and librdkafka share consumers make them: 16
// random bytes, base64url without padding.
std::string new_member_id() {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 22; ++i) id += alphabet[rd() % 64];
  return id;
}

struct share_topic {
  mosaic::kafka::uuid id{};
  std::vector<int32_t> partitions;
};

share_topic share_topic_of(connection& c, const std::string& topic) {
  auto md = metadata(c, std::vector<std::string>{topic});
  if (md.topics.empty() || md.topics[0].error_code != 0)
    refused(md.topics.empty() ? int16_t{3} : md.topics[0].error_code, topic, std::nullopt);
  share_topic t;
  t.id = md.topics[0].topic_id;
  for (const auto& p : md.topics[0].partitions) t.partitions.push_back(p.partition_index);
  std::sort(t.partitions.begin(), t.partitions.end());
  return t;
}

// The acknowledgements of one partition, as AcknowledgementBatches: runs
// of consecutive offsets, each with one type or one type per offset.
template <class Batch>
std::vector<Batch> ack_batches(std::map<int64_t, int8_t>& acks) {
  std::vector<Batch> out;
  for (const auto& [offset, type] : acks) {
    if (!out.empty() && out.back().last_offset + 1 == offset) {
      auto& b = out.back();
      b.last_offset = offset;
      b.acknowledge_types.push_back(type);
    } else {
      Batch b;
      b.first_offset = b.last_offset = offset;
      b.acknowledge_types = {type};
      out.push_back(std::move(b));
    }
  }
  for (auto& b : out) {
    const auto& t = b.acknowledge_types;
    if (std::all_of(t.begin(), t.end(), [&](int8_t x) { return x == t[0]; })) b.acknowledge_types.resize(1);
  }
  acks.clear();
  return out;
}

void alter_group_configs(connection& c, const std::string& group, const std::vector<std::string>& sets,
                         const std::vector<std::string>& deletes);

int8_t ack_type_named(const std::string& name) {
  if (name == "accept") return 1;
  if (name == "release") return 2;
  if (name == "reject") return 3;
  usage_error("--ack wants accept, release or reject, got '" + name + "'");
}

int share_consume(connection& c, args a) {
  const std::string topic = a.positional("topic");
  const auto group_opt = a.option("--group", "-g");
  if (!group_opt) usage_error("share consume needs --group GROUP");
  const std::string& group = *group_opt;
  const int8_t default_ack = ack_type_named(a.option("--ack").value_or("accept"));
  const auto reject_if = a.option("--reject-if");
  const auto release_if = a.option("--release-if");
  const auto hold_text = a.option("--hold");
  const auto renew_text = a.option("--renew-every");
  const auto count_text = a.option("--count", "-n");
  const auto idle_text = a.option("--idle-exit");
  const auto reset = a.option("--reset");
  const auto max_records_text = a.option("--max-records");
  const std::string format = a.option("--format", "-f").value_or("%o\\t%d\\t%s\\n");
  a.done();
  const int64_t hold_ms = hold_text ? integer(*hold_text, "--hold") : 0;
  const int64_t renew_ms = renew_text ? integer(*renew_text, "--renew-every") : 0;
  const int64_t count = count_text ? integer(*count_text, "--count") : -1;
  const int64_t idle_ms = idle_text ? integer(*idle_text, "--idle-exit") : -1;
  const auto max_records = static_cast<int32_t>(max_records_text ? integer(*max_records_text, "--max-records") : 100);
  if (reset) alter_group_configs(c, group, {"share.auto.offset.reset=" + *reset}, {});
  const share_topic t = share_topic_of(c, topic);
  const std::string member = new_member_id();
  using clock = std::chrono::steady_clock;

  int32_t member_epoch = 0;
  std::vector<int32_t> assigned;
  clock::time_point next_heartbeat{};
  auto heartbeat = [&](int32_t epoch) {
    msg::share_group_heartbeat_request req;
    req.group_id = group;
    req.member_id = member;
    req.member_epoch = epoch;
    if (epoch == 0) req.subscribed_topic_names = std::vector<std::string>{topic};
    auto resp = c.call<msg::share_group_heartbeat_response>(76, 1, req);
    if (epoch < 0) return;
    if (resp.error_code == 25 || resp.error_code == 110) {  // unknown member, fenced: join again
      member_epoch = 0;
      next_heartbeat = clock::now();
      return;
    }
    if (resp.error_code != 0) refused(resp.error_code, topic, resp.error_message);
    member_epoch = resp.member_epoch;
    if (resp.assignment) {
      assigned.clear();
      for (const auto& tp : resp.assignment->topic_partitions)
        if (tp.topic_id == t.id) assigned = tp.partitions;
    }
    next_heartbeat = clock::now() + std::chrono::milliseconds(std::max(100, resp.heartbeat_interval_ms));
  };

  record_reader reader;
  int32_t session_epoch = 0;
  std::map<int32_t, std::map<int64_t, int8_t>> pending;  // partition -> offset -> type
  int64_t printed = 0;
  auto last_record = clock::now();
  // Sends ShareAcknowledge with the acknowledgements in `acks` (emptied);
  // says on stderr which partitions refused them. Returns how many did.
  auto send_acks = [&](int32_t epoch, bool renew, std::map<int32_t, std::map<int64_t, int8_t>>& acks,
                       const char* what) {
    msg::share_acknowledge_request req;
    req.group_id = group;
    req.member_id = member;
    req.share_session_epoch = epoch;
    req.is_renew_ack = renew;
    auto& rt = req.topics.emplace_back();
    rt.topic_id = t.id;
    for (auto& [p, offsets] : acks) {
      if (offsets.empty()) continue;
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p;
      rp.acknowledgement_batches = ack_batches<msg::share_acknowledge_request_acknowledgement_batch>(offsets);
    }
    auto resp = c.call<msg::share_acknowledge_response>(79, 2, req);
    int refused = 0;
    for (const auto& r : resp.responses)
      for (const auto& p : r.partitions)
        if (p.error_code != 0) {
          std::fprintf(stderr, "mosaic: %s in partition %d refused: %s\n", what, p.partition_index,
                       (p.error_message ? *p.error_message : error_name(p.error_code)).c_str());
          ++refused;
        }
    return refused;
  };
  auto renew = [&](const std::map<int32_t, std::vector<int64_t>>& held) {
    std::map<int32_t, std::map<int64_t, int8_t>> acks;
    for (const auto& [p, offsets] : held)
      for (int64_t o : offsets) acks[p][o] = 4;  // RENEW
    send_acks(session_epoch, true, acks, "renewing locks");
    session_epoch = session_epoch == INT32_MAX ? 1 : session_epoch + 1;
  };

  while (count < 0 || printed < count) {
    if (member_epoch == 0 || clock::now() >= next_heartbeat) heartbeat(member_epoch);
    if (idle_ms >= 0 && clock::now() - last_record > std::chrono::milliseconds(idle_ms)) break;
    if (assigned.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    msg::share_fetch_request req;
    req.group_id = group;
    req.member_id = member;
    req.share_session_epoch = session_epoch;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 8 << 20;
    req.max_records = static_cast<int32_t>(count < 0 ? max_records : std::min<int64_t>(max_records, count - printed));
    req.batch_size = req.max_records;
    req.share_acquire_mode = 1;  // record_limit
    auto& ft = req.topics.emplace_back();
    ft.topic_id = t.id;
    for (int32_t p : assigned) {
      auto& fp = ft.partitions.emplace_back();
      fp.partition_index = p;
      fp.acknowledgement_batches = ack_batches<msg::share_fetch_request_acknowledgement_batch>(pending[p]);
    }
    std::vector<uint8_t> raw;
    auto resp = c.call<msg::share_fetch_response>(78, 2, req, &raw);
    if (resp.error_code != 0) refused(resp.error_code, topic, resp.error_message);
    session_epoch = session_epoch == INT32_MAX ? 1 : session_epoch + 1;
    std::map<int32_t, std::vector<int64_t>> held;
    for (const auto& rt : resp.responses)
      for (const auto& rp : rt.partitions) {
        if (rp.acknowledge_error_code != 0)
          std::fprintf(
              stderr, "mosaic: acknowledgements in partition %d refused: %s\n", rp.partition_index,
              (rp.acknowledge_error_message ? *rp.acknowledge_error_message : error_name(rp.acknowledge_error_code))
                  .c_str());
        if (rp.error_code != 0) refused(rp.error_code, topic, rp.error_message);
        reader.read(rp.records.span(), [&](int64_t offset, int64_t ts, const mosaic::log::record_view& rec) {
          int delivery = 0;
          for (const auto& ar : rp.acquired_records)
            if (offset >= ar.first_offset && offset <= ar.last_offset) delivery = ar.delivery_count;
          if (delivery == 0) return;  // not ours: only acquired records may be processed
          print_record(format, topic, rp.partition_index, offset, ts, rec, delivery);
          ++printed;
          const std::string value =
              rec.value ? std::string(reinterpret_cast<const char*>(rec.value->data()), rec.value->size())
                        : std::string();
          int8_t type = default_ack;
          if (reject_if && value.find(*reject_if) != std::string::npos) type = 3;
          if (release_if && value.find(*release_if) != std::string::npos) type = 2;
          pending[rp.partition_index][offset] = type;
          held[rp.partition_index].push_back(offset);
        });
      }
    std::fflush(stdout);
    if (!held.empty()) last_record = clock::now();
    // A slow worker: holds what it got, renewing the locks as it goes.
    if (!held.empty() && hold_ms > 0) {
      const auto until = clock::now() + std::chrono::milliseconds(hold_ms);
      while (clock::now() < until) {
        const auto step = renew_ms > 0 ? std::chrono::milliseconds(renew_ms) : until - clock::now();
        std::this_thread::sleep_for(std::min<clock::duration>(step, until - clock::now()));
        if (renew_ms > 0 && clock::now() < until) renew(held);
      }
    }
  }
  // The last acknowledgements, closing the share session; then leave.
  const int rc = session_epoch != 0 && send_acks(-1, false, pending, "the last acknowledgements") > 0 ? 1 : 0;
  heartbeat(-1);
  return rc;
}

// Mosaic's extra per-partition counts in DescribeShareGroupOffsets (a
// tagged field, which other clients skip): end offset, available,
// acquired, acknowledged, archived.
constexpr uint32_t share_counts_tag = 0x4d53;

int share_describe(connection& c, args a) {
  const std::string group = a.positional("group");
  a.done();
  msg::share_group_describe_request dreq;
  dreq.group_ids = {group};
  auto d = c.call<msg::share_group_describe_response>(77, 1, dreq);
  if (d.groups.empty()) throw cli_error{1, "no answer for share group '" + group + "'"};
  const auto& g = d.groups[0];
  if (g.error_code == 69) throw cli_error{1, "share group '" + group + "' does not exist"};
  if (g.error_code != 0) refused(g.error_code, "", g.error_message);
  std::printf("GROUP %s  STATE %s  EPOCH %d  ASSIGNOR %s  MEMBERS %zu\n", g.group_id.c_str(), g.group_state.c_str(),
              g.group_epoch, g.assignor_name.c_str(), g.members.size());
  for (const auto& m : g.members) {
    std::string parts;
    for (const auto& tp : m.assignment.topic_partitions)
      for (int32_t p : tp.partitions) parts += (parts.empty() ? "" : ",") + tp.topic_name + "-" + std::to_string(p);
    std::printf("MEMBER %s  CLIENT %s  HOST %s  EPOCH %d  ASSIGNED %s\n", m.member_id.c_str(), m.client_id.c_str(),
                m.client_host.c_str(), m.member_epoch, parts.empty() ? "-" : parts.c_str());
  }
  msg::describe_share_group_offsets_request oreq;
  oreq.groups.emplace_back().group_id = group;
  auto o = c.call<msg::describe_share_group_offsets_response>(90, 1, oreq);
  std::printf("%-24s %9s %12s %12s %9s %9s %9s %12s %9s %9s\n", "TOPIC", "PARTITION", "START-OFFSET", "END-OFFSET",
              "IN-FLIGHT", "AVAILABLE", "ACQUIRED", "ACKNOWLEDGED", "ARCHIVED", "LAG");
  for (const auto& og : o.groups)
    for (const auto& ot : og.topics)
      for (const auto& op : ot.partitions) {
        std::array<int64_t, 5> n{-1, -1, -1, -1, -1};
        for (const auto& tag : op.unknown_tags)
          if (tag.tag == share_counts_tag && tag.data.size() == 40)
            for (size_t i = 0; i < 5; ++i) n[i] = mosaic::log::load_be64(tag.data.data() + 8 * i);
        const int64_t in_flight = n[0] >= 0 ? n[0] - op.start_offset : -1;
        std::printf("%-24s %9d %12lld %12lld %9lld %9lld %9lld %12lld %9lld %9lld\n", ot.topic_name.c_str(),
                    op.partition_index, static_cast<long long>(op.start_offset), static_cast<long long>(n[0]),
                    static_cast<long long>(in_flight), static_cast<long long>(n[1]), static_cast<long long>(n[2]),
                    static_cast<long long>(n[3]), static_cast<long long>(n[4]), static_cast<long long>(op.lag));
      }
  return 0;
}

int share_reset_offsets(connection& c, const std::string& group, args& a) {
  const auto topic = a.option("--topic", "-t");
  if (!topic) usage_error("share reset-offsets needs --topic TOPIC");
  const auto only = a.option("--partition", "-p");
  const auto to = a.option("--to");
  if (!to) usage_error("share reset-offsets needs --to earliest|latest|OFFSET");
  a.done();
  const std::vector<int32_t> parts = reset_partitions(c, *topic, only);
  msg::alter_share_group_offsets_request req;
  req.group_id = group;
  auto& rt = req.topics.emplace_back();
  rt.topic_name = *topic;
  for (int32_t p : parts) {
    auto& rp = rt.partitions.emplace_back();
    rp.partition_index = p;
    rp.start_offset = reset_target(c, *topic, p, *to);
  }
  auto resp = c.call<msg::alter_share_group_offsets_response>(91, 0, req);
  if (resp.error_code == 68) throw cli_error{1, "share group '" + group + "' has members; stop them first"};
  if (resp.error_code != 0) refused(resp.error_code, *topic, resp.error_message);
  for (const auto& r : resp.responses)
    for (const auto& p : r.partitions) {
      if (p.error_code != 0) refused(p.error_code, *topic, p.error_message);
      std::printf("%s-%d reset\n", r.topic_name.c_str(), p.partition_index);
    }
  return 0;
}

int share_alter_config(connection& c, const std::string& group, args& a) {
  const auto sets = a.options("--set", "-s");
  const auto deletes = a.options("--delete", "-d");
  a.done();
  if (sets.empty() && deletes.empty()) usage_error("share alter-config needs --set KEY=VALUE or --delete KEY");
  alter_group_configs(c, group, sets, deletes);
  std::printf("share group %s: %zu config(s) changed\n", group.c_str(), sets.size() + deletes.size());
  return 0;
}

void alter_group_configs(connection& c, const std::string& group, const std::vector<std::string>& sets,
                         const std::vector<std::string>& deletes) {
  msg::incremental_alter_configs_request req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 32;  // GROUP
  r.resource_name = group;
  for (const auto& kv : sets) {
    auto [k, v] = key_value(kv, "--set");
    auto& cfg = r.configs.emplace_back();
    cfg.name = k;
    cfg.config_operation = 0;
    cfg.value = v;
  }
  for (const auto& k : deletes) {
    auto& cfg = r.configs.emplace_back();
    cfg.name = k;
    cfg.config_operation = 1;
  }
  auto resp = c.call<msg::incremental_alter_configs_response>(44, 1, req);
  if (!resp.responses.empty() && resp.responses[0].error_code != 0)
    refused(resp.responses[0].error_code, "", resp.responses[0].error_message);
}

int share_command(connection& c, const std::string& verb, args a) {
  if (verb == "consume") return share_consume(c, std::move(a));
  if (verb == "alter-config") {
    const std::string group = a.positional("group");
    return share_alter_config(c, group, a);
  }
  if (verb == "describe") return share_describe(c, std::move(a));
  if (verb == "reset-offsets") {
    const std::string group = a.positional("group");
    return share_reset_offsets(c, group, a);
  }
  usage_error("unknown share subcommand '" + verb + "'");
}

int cluster_command(connection& c, const std::string& verb, const args& a) {
  if (verb != "info") usage_error("unknown cluster command '" + verb + "' (info)");
  a.done();
  msg::describe_cluster_request req;
  req.include_fenced_brokers = true;
  auto resp = c.call<msg::describe_cluster_response>(60, 2, req);
  if (resp.error_code != 0) refused(resp.error_code, "", resp.error_message);
  auto md = metadata(c, std::nullopt);
  std::sort(resp.brokers.begin(), resp.brokers.end(),
            [](const auto& x, const auto& y) { return x.broker_id < y.broker_id; });
  std::printf("CLUSTER     %s\nCONTROLLER  %d\nTOPICS      %zu\n\n%-8s %-22s %-10s %s\n", resp.cluster_id.c_str(),
              resp.controller_id, md.topics.size(), "BROKER", "ADDRESS", "STATE", "RACK");
  for (const auto& b : resp.brokers)
    std::printf("%-8d %-22s %-10s %s\n", b.broker_id, (b.host + ":" + std::to_string(b.port)).c_str(),
                b.is_fenced ? "fenced" : "running", b.rack.value_or("-").c_str());
  return 0;
}

// ---- partitions ----

int partitions_command(connection& c, const std::string& verb, args a) {
  if (verb == "list") {
    const bool under = a.flag("--under-replicated");
    const bool offline = a.flag("--offline");
    std::vector<std::string> topics;
    while (!a.empty()) topics.push_back(a.positional("topic"));
    std::vector<std::string> names;
    const auto parts = describe_partitions(c, topics, &names);
    std::printf("%-30s %-10s %-7s %-12s %-12s %-8s %s\n", "TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "ELR",
                "OFFLINE");
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto& p = parts[i];
      if (under && p.isr_nodes.size() >= p.replica_nodes.size()) continue;
      if (offline && p.leader_id >= 0) continue;
      std::printf("%-30s %-10d %-7s %-12s %-12s %-8s %s\n", names[i].c_str(), p.partition_index,
                  p.leader_id < 0 ? "none" : std::to_string(p.leader_id).c_str(), ids(p.replica_nodes).c_str(),
                  ids(p.isr_nodes).c_str(), ids(p.eligible_leader_replicas.value_or(std::vector<int32_t>{})).c_str(),
                  ids(p.offline_replicas).c_str());
    }
    return 0;
  }
  if (verb == "elect") {
    const bool unclean = a.flag("--unclean");
    msg::elect_leaders_request req;
    req.election_type = unclean ? 1 : 0;
    req.timeout_ms = 30000;
    if (!a.empty()) req.topic_partitions.emplace();
    while (!a.empty()) {
      const std::string spec = a.positional("TOPIC[:PARTITION]");
      const auto colon = spec.rfind(':');
      const std::string topic = colon == std::string::npos ? spec : spec.substr(0, colon);
      std::vector<int32_t> ps;
      if (colon != std::string::npos)
        ps.push_back(static_cast<int32_t>(integer(spec.substr(colon + 1), "the partition")));
      else
        ps = partitions_of(c, topic);
      auto& tp = req.topic_partitions->emplace_back();
      tp.topic = topic;
      tp.partitions = ps;
    }
    if (unclean && !req.topic_partitions) usage_error("an unclean election names its partitions");
    auto resp = c.call<msg::elect_leaders_response>(43, 2, req);
    if (resp.error_code != 0) refused(resp.error_code, "", std::nullopt);
    int failed = 0;
    for (const auto& t : resp.replica_election_results)
      for (const auto& p : t.partition_result) {
        if (p.error_code == 0) {
          std::printf("%s-%d: elected\n", t.topic.c_str(), p.partition_id);
        } else {
          std::printf("%s-%d: %s (%s)\n", t.topic.c_str(), p.partition_id, error_name(p.error_code).c_str(),
                      p.error_message.value_or("").c_str());
          if (p.error_code != 84) ++failed;  // ELECTION_NOT_NEEDED is no failure
        }
      }
    return failed ? 1 : 0;
  }
  if (verb == "reassign") {
    const std::string spec = a.positional("TOPIC:PARTITION");
    const auto colon = spec.rfind(':');
    if (colon == std::string::npos) usage_error("reassign names TOPIC:PARTITION");
    const auto replicas = a.option("--replicas", "-r");
    const bool cancel = a.flag("--cancel");
    a.done();
    if (!replicas == !cancel) usage_error("reassign needs --replicas B,B,... or --cancel");
    msg::alter_partition_reassignments_request req;
    auto& t = req.topics.emplace_back();
    t.name = spec.substr(0, colon);
    auto& p = t.partitions.emplace_back();
    p.partition_index = static_cast<int32_t>(integer(spec.substr(colon + 1), "the partition"));
    if (replicas) {
      p.replicas.emplace();
      std::stringstream list(*replicas);
      for (std::string id; std::getline(list, id, ',');)
        p.replicas->push_back(static_cast<int32_t>(integer(id, "--replicas")));
    }
    auto resp = c.call<msg::alter_partition_reassignments_response>(45, 0, req);
    if (resp.error_code != 0) refused(resp.error_code, t.name, resp.error_message);
    const auto& r = resp.responses.at(0).partitions.at(0);
    if (r.error_code != 0) refused(r.error_code, t.name, r.error_message);
    std::printf("%s %s\n", spec.c_str(), cancel ? "reassignment cancelled" : "reassignment started");
    return 0;
  }
  if (verb == "reassignments") {
    a.done();
    msg::list_partition_reassignments_request req;
    auto resp = c.call<msg::list_partition_reassignments_response>(46, 0, req);
    if (resp.error_code != 0) refused(resp.error_code, "", resp.error_message);
    std::printf("%-30s %-10s %-12s %-10s %s\n", "TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING");
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions)
        std::printf("%-30s %-10d %-12s %-10s %s\n", t.name.c_str(), p.partition_index, ids(p.replicas).c_str(),
                    ids(p.adding_replicas).c_str(), ids(p.removing_replicas).c_str());
    return 0;
  }
  usage_error("unknown partitions command '" + verb + "' (list, elect, reassign, reassignments)");
}

// ---- quorum ----

// The metadata quorum as its leader sees it (DescribeQuorum, which only the
// leader answers: the bootstrap broker's Metadata says which broker that is).
int quorum_command(connection& c, const std::string& verb, const args& a) {
  if (verb != "describe") usage_error("unknown quorum command '" + verb + "' (describe)");
  a.done();
  auto md = metadata(c, std::vector<std::string>{});
  if (md.controller_id < 0)
    throw cli_error{1, "no leader of the metadata quorum is known (is a majority of voters up?)"};
  std::string where;
  for (const auto& b : md.brokers)
    if (b.node_id == md.controller_id) where = b.host + ":" + std::to_string(b.port);
  if (where.empty())
    throw cli_error{1, "the quorum's leader, node " + std::to_string(md.controller_id) + ", has no broker address"};
  connection leader(where);
  msg::describe_quorum_request req;
  req.topics.emplace_back().topic_name = "__cluster_metadata";
  req.topics[0].partitions.emplace_back().partition_index = 0;
  auto resp = leader.call<msg::describe_quorum_response>(55, 2, req);
  if (resp.error_code != 0) refused(resp.error_code, "", resp.error_message);
  if (resp.topics.empty() || resp.topics[0].partitions.empty()) throw cli_error{1, "the answer names no quorum"};
  const auto& p = resp.topics[0].partitions[0];
  if (p.error_code != 0) refused(p.error_code, "", p.error_message);
  int64_t leader_end = p.high_watermark;
  for (const auto& v : p.current_voters)
    if (v.replica_id == p.leader_id) leader_end = v.log_end_offset;
  std::map<int32_t, std::string> addresses;
  for (const auto& n : resp.nodes)
    for (const auto& l : n.listeners) addresses[n.node_id] = l.host + ":" + std::to_string(l.port);
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto ago = [&](int64_t ts) { return ts < 0 ? std::string("-") : std::to_string(std::max<int64_t>(0, now - ts)); };
  std::printf("LEADER          %d\nEPOCH           %d\nHIGH WATERMARK  %lld\nVOTERS          %zu\n\n", p.leader_id,
              p.leader_epoch, static_cast<long long>(p.high_watermark), p.current_voters.size());
  std::printf("%-6s %-9s %10s %6s %16s %20s  %s\n", "NODE", "STATUS", "LOG END", "LAG", "LAST FETCH (ms)",
              "LAST CAUGHT UP (ms)", "QUORUM ADDRESS");
  auto row = [&](const msg::describe_quorum_response_replica_state& v, const char* status) {
    std::printf("%-6d %-9s %10lld %6lld %16s %20s  %s\n", v.replica_id, status,
                static_cast<long long>(v.log_end_offset), static_cast<long long>(leader_end - v.log_end_offset),
                ago(v.last_fetch_timestamp).c_str(), ago(v.last_caught_up_timestamp).c_str(),
                addresses.count(v.replica_id) ? addresses[v.replica_id].c_str() : "-");
  };
  for (const auto& v : p.current_voters) row(v, v.replica_id == p.leader_id ? "leader" : "follower");
  for (const auto& v : p.observers) row(v, "observer");
  return 0;
}

const char* const help_main =
    "usage: mosaic [--bootstrap HOST:PORT] COMMAND ...\n"
    "\n"
    "  topic create NAME [-p PARTITIONS] [-r REPLICAS] [-c KEY=VALUE]... [--dry-run]\n"
    "  topic list\n"
    "  topic describe NAME\n"
    "  topic delete NAME\n"
    "  topic alter-config NAME [--set KEY=VALUE]... [--delete KEY]...\n"
    "  produce TOPIC [-p PARTITION] [-k KEY | -K SEPARATOR] [-H KEY=VALUE]... [--acks all|1]\n"
    "  consume TOPIC [-p PARTITION] [-o earliest|latest|OFFSET|-N] [-t TIMESTAMP_MS] [-n COUNT]\n"
    "                [-f FORMAT] [--follow]\n"
    "  groups list [--state STATE]... [--type classic|consumer]...\n"
    "  groups describe GROUP\n"
    "  groups delete GROUP...\n"
    "  groups reset-offsets GROUP --topic TOPIC [-p PARTITION] --to earliest|latest|OFFSET [--dry-run]\n"
    "  groups reset-offsets GROUP --topic TOPIC [-p PARTITION] --to-timestamp MS [--dry-run]\n"
    "  share consume TOPIC -g GROUP [--ack accept|release|reject] [--reject-if TEXT] [--release-if TEXT]\n"
    "                [--hold MS [--renew-every MS]] [-n COUNT] [--idle-exit MS] [--reset earliest|latest]\n"
    "  share describe GROUP\n"
    "  share alter-config GROUP [--set KEY=VALUE]... [--delete KEY]...\n"
    "  share reset-offsets GROUP --topic TOPIC [-p PARTITION] --to earliest|latest|OFFSET\n"
    "  partitions list [--under-replicated] [--offline] [TOPIC]...\n"
    "  partitions elect [--unclean] [TOPIC[:PARTITION]]...\n"
    "  partitions reassign TOPIC:PARTITION --replicas B,B,... | --cancel\n"
    "  partitions reassignments\n"
    "  cluster info\n"
    "  quorum describe\n"
    "\n"
    "--bootstrap defaults to $MOSAIC_BOOTSTRAP, else 127.0.0.1:9092 (configs/single-node.yaml).\n"
    "`mosaic COMMAND --help` describes a command. Exit codes: 0 done, 1 the broker refused,\n"
    "2 a bad command line, 3 no broker to talk to.\n";

const std::map<std::string, const char*> help_commands = {
    {"topic",
     "mosaic topic create NAME [-p|--partitions N] [-r|--replication-factor N] [-c|--config KEY=VALUE]... "
     "[--dry-run]\n"
     "mosaic topic list\n"
     "mosaic topic describe NAME     partitions with their leader, replicas, ISR, ELR and offsets, and every\n"
     "                               config with its source\n"
     "mosaic topic delete NAME\n"
     "mosaic topic alter-config NAME [-s|--set KEY=VALUE]... [-d|--delete KEY]...\n"
     "Without -p or -r the broker's num.partitions and default.replication.factor apply.\n"},
    {"produce",
     "mosaic produce TOPIC [options] < lines\n"
     "Each line of standard input is a record's value.\n"
     "  -p, --partition N        all records to partition N (default: by key, else 100 at a time per partition)\n"
     "  -k, --key KEY            the same key for every record\n"
     "  -K, --key-separator SEP  'KEY<SEP>VALUE' lines\n"
     "  -H, --header KEY=VALUE   a header on every record (repeatable)\n"
     "  --acks all|1             default all\n"},
    {"consume",
     "mosaic consume TOPIC [options]\n"
     "Prints records, from every partition unless -p, up to the end of each partition (the high\n"
     "watermark when it starts) unless --follow.\n"
     "  -p, --partition N\n"
     "  -o, --offset earliest|latest|N|-N    where to start (-N: N before the end); default earliest\n"
     "  -t, --from-timestamp MS              the first record at or after this time\n"
     "  -n, --count N                        stop after N records\n"
     "  -f, --format FORMAT                  %t topic, %p partition, %o offset, %k key, %s value,\n"
     "                                       %T timestamp, %h headers, \\n, \\t; default '%s\\n'\n"
     "  --follow                             keep waiting for new records\n"},
    {"share",
     "mosaic share consume TOPIC -g|--group GROUP [options]\n"
     "    a share consumer (KIP-932): prints each record it acquires with its delivery count, then\n"
     "    acknowledges it\n"
     "  --ack accept|release|reject   what every record gets (default accept)\n"
     "  --reject-if TEXT              REJECT records whose value contains TEXT\n"
     "  --release-if TEXT             RELEASE records whose value contains TEXT (offered again)\n"
     "  --hold MS                     a slow worker: keep each fetch's records MS before acknowledging\n"
     "  --renew-every MS              while holding, RENEW the locks this often (KIP-1222)\n"
     "  -n, --count N                 stop after N records\n"
     "  --idle-exit MS                stop when nothing arrives for MS\n"
     "  --max-records N               records per fetch (default 100)\n"
     "  --reset earliest|latest|by_duration:PnDTnHnMnS   set the group's share.auto.offset.reset first\n"
     "  -f, --format FORMAT           as consume's, plus %d the delivery count; default '%o\\t%d\\t%s\\n'\n"
     "mosaic share describe GROUP\n"
     "    the members and their assignment, and per partition the share-partition start offset (SPSO),\n"
     "    the end of what was handed out, the records in flight by state, and the lag\n"
     "mosaic share alter-config GROUP [-s|--set KEY=VALUE]... [-d|--delete KEY]...\n"
     "    a share group's configs: share.auto.offset.reset, share.record.lock.duration.ms,\n"
     "    share.delivery.count.limit, share.partition.max.record.locks, share.isolation.level,\n"
     "    share.renew.acknowledge.enable, share.session.timeout.ms, share.heartbeat.interval.ms,\n"
     "    errors.deadletterqueue.topic.name, errors.deadletterqueue.copy.record.enable\n"
     "mosaic share reset-offsets GROUP -t|--topic TOPIC [-p|--partition N] --to earliest|latest|OFFSET\n"
     "    moves the start offset of a share group with no members (AlterShareGroupOffsets)\n"},
    {"cluster",
     "mosaic cluster info       the cluster id, the controller, the topic count, and each broker with its\n"
     "                          state (running, or fenced: not heard from, or shutting down) and rack\n"},
    {"partitions",
     "mosaic partitions list [--under-replicated] [--offline] [TOPIC]...\n"
     "    every partition (of the named topics) with its leader, replicas, ISR, eligible leader\n"
     "    replicas (KIP-966) and replicas on fenced brokers; --under-replicated: the ISR is short of\n"
     "    the replicas; --offline: no leader\n"
     "mosaic partitions elect [--unclean] [TOPIC[:PARTITION]]...\n"
     "    a preferred leader election (the first replica leads again, if it is in sync), for every\n"
     "    partition that needs one when none is named; --unclean: a partition with no eligible\n"
     "    replica takes any live one, which may lose acknowledged records\n"
     "mosaic partitions reassign TOPIC:PARTITION -r|--replicas B,B,...\n"
     "    moves a partition to these brokers: the new replicas copy it and join the ISR, then the\n"
     "    old ones go (leadership moves first if its leader goes); --cancel instead of --replicas\n"
     "    stops a reassignment under way\n"
     "mosaic partitions reassignments     the reassignments under way\n"},
    {"quorum",
     "mosaic quorum describe\n"
     "    the metadata quorum as its leader sees it: the leader, the epoch, the high watermark, and per\n"
     "    voter its log end, its lag behind the leader and when it was last heard from and caught up\n"},
    {"groups",
     "mosaic groups list [-s|--state STATE]... [--type classic|consumer]...\n"
     "    every group (classic and KIP-848 consumer groups) with its type and state\n"
     "mosaic groups describe GROUP\n"
     "    the members and, per partition, the committed offset, the end of the partition and the\n"
     "    consumer lag between them, with the member that owns the partition\n"
     "mosaic groups delete GROUP...\n"
     "    a group without members, and its committed offsets\n"
     "mosaic groups reset-offsets GROUP -t|--topic TOPIC [-p|--partition N]\n"
     "                             (--to earliest|latest|OFFSET | --to-timestamp MS) [--dry-run]\n"
     "    commits new offsets for a group with no active members\n"},
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a broker that hangs up is an error to report, not a signal that kills
  mosaic::log::set_level(mosaic::log::level::warn);
  std::vector<std::string> all(argv + 1, argv + argc);
  std::string bootstrap = std::getenv("MOSAIC_BOOTSTRAP") ? std::getenv("MOSAIC_BOOTSTRAP") : "127.0.0.1:9092";
  try {
    for (size_t i = 0; i < all.size();) {
      if (all[i] == "--bootstrap" || all[i] == "-b") {
        if (i + 1 >= all.size()) usage_error("--bootstrap needs HOST:PORT");
        bootstrap = all[i + 1];
        all.erase(all.begin() + static_cast<long>(i), all.begin() + static_cast<long>(i) + 2);
      } else {
        ++i;
      }
    }
    if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
      std::fputs(help_main, all.empty() ? stderr : stdout);
      return all.empty() ? 2 : 0;
    }
    const std::string command = all[0];
    if (!help_commands.count(command)) usage_error("unknown command '" + command + "'");
    if (std::find(all.begin(), all.end(), "--help") != all.end() ||
        std::find(all.begin(), all.end(), "-h") != all.end()) {
      std::fputs(help_commands.at(command), stdout);
      return 0;
    }
    if (command == "topic" || command == "cluster" || command == "groups" || command == "quorum" ||
        command == "share" || command == "partitions") {
      if (all.size() < 2) usage_error(command + " needs a subcommand");
      connection c(bootstrap);
      const std::string verb = all[1];
      args rest(std::vector<std::string>(all.begin() + 2, all.end()));
      if (command == "groups") return groups_command(c, verb, std::move(rest));
      if (command == "share") return share_command(c, verb, std::move(rest));
      if (command == "quorum") return quorum_command(c, verb, rest);
      if (command == "partitions") return partitions_command(c, verb, std::move(rest));
      return command == "topic" ? topic_command(c, verb, std::move(rest)) : cluster_command(c, verb, rest);
    }
    connection c(bootstrap);
    args rest(std::vector<std::string>(all.begin() + 1, all.end()));
    return command == "produce" ? produce_command(c, std::move(rest)) : consume_command(c, std::move(rest));
  } catch (const cli_error& e) {
    std::fprintf(stderr, "mosaic: %s\n", e.message.c_str());
    return e.exit_code;
  } catch (const mosaic::kafka::decode_error& e) {
    std::fprintf(stderr, "mosaic: the broker's answer did not decode: %s\n", e.what());
    return 1;
  }
}
