// mosaic cluster, partitions and quorum: the cluster as its metadata describes it.
#include "tools/cli/client.h"

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

namespace mosaic::cli {

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

}  // namespace mosaic::cli
