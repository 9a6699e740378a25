// mosaic topic: create, list, describe, delete, alter-config.
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

// ---- topic ----

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

}  // namespace mosaic::cli
