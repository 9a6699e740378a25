// mosaic groups: list, describe, delete, reset-offsets (classic and KIP-848 groups).
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

// ---- groups ----

struct group_listing {
  std::string id, type, state, protocol_type;
};

// ListGroups on one broker: the groups it coordinates.
std::vector<group_listing> list_groups(connection& c, const std::vector<std::string>& states = {},
                                       const std::vector<std::string>& types = {}) {
  msg::list_groups_request req;
  req.states_filter = states;
  req.types_filter = types;
  auto resp = c.call<msg::list_groups_response>(16, 5, req);
  if (resp.error_code != 0) refused(resp.error_code, "", std::nullopt);
  std::vector<group_listing> out;
  for (const auto& g : resp.groups) out.push_back({g.group_id, g.group_type, g.group_state, g.protocol_type});
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  return out;
}

// Every broker's groups (each coordinates its own), as Kafka's admin
// clients list them.
std::vector<group_listing> list_all_groups(connection& boot, const std::vector<std::string>& states,
                                           const std::vector<std::string>& types) {
  std::map<std::string, group_listing> by_id;
  for (const auto& [id, conn] : every_broker(boot)) {
    try {
      for (auto& g : list_groups(*conn, states, types)) by_id[g.id] = std::move(g);
    } catch (const cli_error& e) {
      std::fprintf(stderr, "mosaic: broker %d: %s (its groups are not listed)\n", id, e.message.c_str());
    }
  }
  std::vector<group_listing> out;
  out.reserve(by_id.size());
  for (auto& [id, g] : by_id) out.push_back(std::move(g));
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

// `boot` for the partitions' ends, `co` for the group itself.
int groups_describe(connection& boot, const coordinator_ref& co, const std::string& id) {
  connection& c = *co.conn;
  auto found = find_group(c, id);
  if (!found) throw cli_error{1, "no group '" + id + "'"};
  owners owned;
  std::printf("GROUP        %s\nCOORDINATOR  broker %d (%s)\nTYPE         %s\nSTATE        %s\n", id.c_str(), co.node,
              co.address.c_str(), found->type.c_str(), found->state.c_str());
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
      end = list_offset(boot, tp.first, tp.second, -1);
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

int groups_reset_offsets(connection& c, connection& co, const std::string& id, args& a) {
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
  for (const auto& o : committed_offsets(co, id))
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
  auto resp = co.call<msg::offset_commit_response>(8, 9, req);
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
    auto all = list_all_groups(c, states, types);
    std::printf("%-40s %-10s %-20s %s\n", "GROUP", "TYPE", "STATE", "PROTOCOL-TYPE");
    for (const auto& g : all)
      std::printf("%-40s %-10s %-20s %s\n", g.id.c_str(), g.type.c_str(), g.state.c_str(), g.protocol_type.c_str());
    return 0;
  }
  if (verb == "describe") {
    const std::string id = a.positional("group id");
    a.done();
    return groups_describe(c, coordinator_of(c, id), id);
  }
  if (verb == "delete") {
    std::vector<std::string> ids;
    while (!a.empty()) ids.push_back(a.positional("group id"));
    if (ids.empty()) usage_error("delete needs a group id");
    // Each group on its own coordinator.
    std::vector<msg::delete_groups_response_deletable_group_result> results;
    for (const auto& id : ids) {
      msg::delete_groups_request req;
      req.groups_names = {id};
      auto resp = coordinator_of(c, id).conn->call<msg::delete_groups_response>(42, 2, req);
      for (auto& r : resp.results) results.push_back(std::move(r));
    }
    int rc = 0;
    for (const auto& r : results) {
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
    return groups_reset_offsets(c, *coordinator_of(c, id).conn, id, a);
  }
  usage_error("unknown groups command '" + verb + "' (list, describe, delete, reset-offsets)");
}

}  // namespace mosaic::cli
