// Three (or four) real mosaicd processes on loopback forming a metadata
// quorum: nodes 1-3 are brokers and voters, each with its own Kafka port,
// quorum port and data folder; with `observer`, node 4 is a broker-only
// node following the quorum. `extra` settings go to every node, and
// `more_listeners` (YAML maps, port 0) beside each node's PLAINTEXT one.
#pragma once

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kafka_messages.h"
#include "tests/integration/process.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/ports.h"
#include "tests/support/shell.h"

namespace mosaic::testing {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace msg = mosaic::kafka::msg;

inline constexpr int64_t election_timeout_ms = 500;

class cluster {
 public:
  // Nodes 1-3 are brokers and voters; with `observer`, node 4 is a
  // broker-only node following the quorum.
  explicit cluster(bool observer = false, std::vector<std::string> extra = {}, std::string more_listeners = "")
      : ports_(free_ports(7)), extra_(std::move(extra)), more_listeners_(std::move(more_listeners)) {
    std::string voters = "controller.quorum.voters=[";
    for (int i = 0; i < 3; ++i)
      voters += (i ? ", " : "") + std::to_string(i + 1) + "@127.0.0.1:" + std::to_string(ports_[3 + i]);
    voters_ = voters + "]";
    for (int id = 1; id <= (observer ? 4 : 3); ++id) start(id);
  }

  void start(int id) {
    const auto kafka = std::to_string(port(id));
    std::vector<std::string> args = {
        "--config",
        "/dev/null",
        "--set",
        "node.id=" + std::to_string(id),
        "--set",
        "log.dirs=[data-" + std::to_string(id) + "]",
        "--set",
        voters_,
        "--set",
        "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + kafka + ", adapter: kafka}" +
            (more_listeners_.empty() ? "" : ", " + more_listeners_) + "]",
        "--set",
        "controller.quorum.election.timeout.ms=" + std::to_string(election_timeout_ms),
        "--set",
        "metadata.log.max.record.bytes.between.snapshots=2000",
        "--set",
        "cluster.id=three-nodes",
    };
    if (id == 4) args.insert(args.end(), {"--set", "process.roles=[broker]"});
    for (const auto& e : extra_) args.insert(args.end(), {"--set", e});
    nodes_[static_cast<size_t>(id - 1)] = std::make_unique<process>(MOSAICD_PATH, args, dir_.path());
  }
  void kill(int id) {
    nodes_[static_cast<size_t>(id - 1)]->signal(SIGKILL);
    (void)nodes_[static_cast<size_t>(id - 1)]->wait(5s);
  }
  process& node(int id) { return *nodes_[static_cast<size_t>(id - 1)]; }
  // Node `id`'s log dir.
  std::filesystem::path data_dir(int id) const { return dir_.path() / ("data-" + std::to_string(id)); }
  uint16_t port(int id) const { return id == 4 ? ports_[6] : ports_[static_cast<size_t>(id - 1)]; }
  // Voter `id`'s quorum port (1-3).
  uint16_t quorum_port(int id) const { return ports_[static_cast<size_t>(2 + id)]; }
  bool ready(int id, std::chrono::milliseconds limit = 20s) {
    // Started: listening, registered, and unfenced by the controller.
    return node(id).wait_for_log("mosaicd started", limit);
  }

  std::optional<msg::metadata_response> metadata(int id) {
    frame_client c(port(id));
    if (!c.connected()) return std::nullopt;
    msg::metadata_request req;  // every topic
    auto r = call<msg::metadata_response>(c, 3, 12, req);
    if (!r) return std::nullopt;
    return static_cast<msg::metadata_response>(*r);
  }
  std::set<std::string> topics(int id) {
    std::set<std::string> out;
    if (auto md = metadata(id))
      for (const auto& t : md->topics) out.insert(t.name.value_or(""));
    return out;
  }
  int16_t create(int id, const std::string& name, int16_t factor = 1, int32_t partitions = 1) {
    frame_client c(port(id));
    if (!c.connected()) return -2;
    msg::create_topics_request req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = factor;
    req.timeout_ms = 10000;
    auto r = call<msg::create_topics_response>(c, 19, 7, req);
    return r ? r->topics.at(0).error_code : int16_t{-2};
  }
  std::optional<msg::describe_quorum_response> quorum(int id) {
    frame_client c(port(id));
    if (!c.connected()) return std::nullopt;
    msg::describe_quorum_request req;
    req.topics.emplace_back().topic_name = "__cluster_metadata";
    req.topics[0].partitions.emplace_back().partition_index = 0;
    auto r = call<msg::describe_quorum_response>(c, 55, 2, req);
    if (!r) return std::nullopt;
    return static_cast<msg::describe_quorum_response>(*r);
  }
  // The quorum's leader, as node `asked` says in Metadata.
  int32_t controller(int asked) {
    auto md = metadata(asked);
    return md ? md->controller_id : -1;
  }

 private:
  temp_dir dir_{"mosaic_cluster"};
  std::vector<uint16_t> ports_;  // three Kafka ports, three quorum ports, the observer's Kafka port
  std::string voters_;
  std::vector<std::string> extra_;
  std::string more_listeners_;
  std::array<std::unique_ptr<process>, 4> nodes_;
};

template <class F>
inline bool eventually(F cond, std::chrono::milliseconds limit) {
  const auto until = clock_type::now() + limit;
  while (clock_type::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

}  // namespace mosaic::testing
